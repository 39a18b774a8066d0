"""Training end to end on a tiny local Qwen2 model: checkpoints, manifest, resume, refusals, loading the result."""

import json
import shutil

import pytest

from coderank.errors import UsageError
from coderank.train import TrainConfig, train

pytest.importorskip("trl")
pytest.importorskip("peft")


def config(tiny_model, data_file, out, **kw):
    base = {"max_steps": 4, "batch_size": 2, "grad_accum": 1, "max_len": 64, "save_steps": 2, "gguf": False}
    return TrainConfig(data=data_file, out=out, base=str(tiny_model), **{**base, **kw})


@pytest.fixture(scope="module")
def trained(tiny_model, module_data_file, tmp_path_factory):
    """One uninterrupted 4-step LoRA run (shared by the read-only tests)."""
    folder = tmp_path_factory.mktemp("run")
    data = module_data_file
    events = []
    result = train(config(tiny_model, data, folder / "out"), progress=events.append)
    return result, events, data


def adapter_tensors(folder):
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def test_a_run_leaves_checkpoints_an_adapter_a_manifest_and_a_loss_curve(trained, tiny_model):
    result, events, data = trained
    out = result.out
    assert sorted(p.name for p in (out / "checkpoints").iterdir() if p.is_dir()) == ["checkpoint-2", "checkpoint-4"]
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "coderank-base.json"):
        assert (out / name).is_file(), name
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "base" / "config.json").is_file() and not list((out / "base").glob("*.safetensors"))
    m = json.loads((out / "manifest.json").read_text())
    assert m["version"] == 1 and m["status"] == "done" and m["method"] == "lora"
    assert m["data"]["sha256"].startswith("sha256:") and m["data"]["rows"] == 4 and m["data"]["used"] == 4
    assert m["base"]["sha256"].startswith("sha256:") and m["base"]["weights"]
    assert m["hyperparameters"]["lora_r"] == 16 and m["seed"] == 0 and m["hyperparameters"]["seed"] == 0
    assert all(m["libraries"][k] for k in ("torch", "transformers", "trl", "peft", "python", "cpu"))
    assert [s for s, _ in m["loss"]] == [1, 2, 3, 4]
    prog = m["progress"]
    assert prog["steps_done"] == 4 and prog["tokens_seen"] > 0 and prog["step_seconds"]["n"] == 4
    assert prog["tokens_per_second"] > 0 and prog["peak_rss_bytes"] > 0
    assert m["selection"]["chosen"] == "checkpoint-4" and "last step" in m["selection"]["rule"]
    assert m["outputs"]["model_specs"] == [f"hf:{out}"]
    assert m["outputs"]["files"]["adapter_model.safetensors"].startswith("sha256:")
    assert m["prompt_format"] == {"name": "chat", "eval_template": "chat"}
    assert [e.step for e in events if e.phase == "training" and e.loss is not None] == [1, 2, 3, 4]
    base = json.loads((out / "coderank-base.json").read_text())
    assert base["version"] == 1 and base["base"] == str(tiny_model.resolve()) and base["sha256"] == m["base"]["sha256"]
    assert result.to_json()["steps_this_run"] == 4


def test_a_killed_run_resumes_from_its_checkpoint_and_ends_where_an_uninterrupted_one_does(trained, tiny_model,
                                                                                             tmp_path):
    import torch

    result, _, data = trained
    out = tmp_path / "out"
    shutil.copytree(result.out, out)
    # The state a crash after the step-2 checkpoint leaves: no step-4 checkpoint, no final outputs.
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")
    for f in ("adapter_model.safetensors", "adapter_config.json"):
        (out / f).unlink()
    again = train(config(tiny_model, data, out))
    assert again.resumed_from == "checkpoint-2" and again.steps_this_run == 2
    state = json.loads((out / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    m = again.manifest
    assert m.sessions[-1]["resumed_from"] == "checkpoint-2" and m.sessions[-1]["first_step"] == 2
    assert m.sessions[-1]["last_step"] == 4 and [s for s, _ in m.loss] == [1, 2, 3, 4]
    a, b = adapter_tensors(result.out), adapter_tensors(out)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-5)


def test_rerunning_a_finished_run_trains_nothing(trained, tiny_model, tmp_path):
    result, _, data = trained
    out = tmp_path / "out"
    shutil.copytree(result.out, out)
    again = train(config(tiny_model, data, out))
    assert again.steps_this_run == 0 and again.resumed_from == "checkpoint-4" and again.manifest.status == "done"


def test_resume_is_refused_when_the_settings_differ(trained, tiny_model, tmp_path):
    result, _, data = trained
    out = tmp_path / "out"
    shutil.copytree(result.out, out)
    with pytest.raises(UsageError) as info:
        train(config(tiny_model, data, out, lr=1e-3))
    assert "other settings" in info.value.message and "learning_rate was 0.0002, now 0.001" in info.value.message
    changed = tmp_path / "other.jsonl"
    changed.write_text(data.read_text() + json.dumps({"instruction": "new", "output": "row"}) + "\n")
    with pytest.raises(UsageError, match="the data differs"):
        train(config(tiny_model, changed, out))
    with pytest.raises(UsageError, match="--no-resume"):
        train(config(tiny_model, data, out, resume=False))


def test_a_non_empty_folder_without_a_manifest_is_refused(tiny_model, data_file, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        train(config(tiny_model, data_file, tmp_path / "out"))


def test_the_adapter_loads_as_hf_dir_with_base_and_adapter_in_its_identity(trained):
    from coderank.models.backends import Request, load_backend

    result, _, _ = trained
    backend = load_backend(f"hf:{result.out}")
    try:
        ident = backend.identity()
        assert list(ident["adapter"]) == ["adapter_model.safetensors"]
        assert ident["adapter"]["adapter_model.safetensors"] == result.manifest.outputs["files"][
            "adapter_model.safetensors"]
        assert ident["weights"] == result.manifest.base["weights"]
        req = Request("chat", None, (("user", "Reverse a string s."),), 8, 0.0, 1.0, (), 0)
        [(_, comp)] = list(backend.generate([req]))
        assert comp.completion_tokens is not None and comp.completion_tokens <= 8
    finally:
        backend.close()


def test_lora_spec_explains_what_is_missing(trained, tmp_path):
    from coderank.models.backends import load_backend

    result, _, _ = trained
    with pytest.raises(UsageError, match="no coderank-base.json"):
        load_backend(f"lora:{tmp_path}")
    with pytest.raises(UsageError, match="has no GGUF for llama.cpp"):  # --no-gguf on a transformers-directory base
        load_backend(f"lora:{result.out}")


def test_full_fine_tuning_writes_a_model_that_loads_as_hf_dir(tiny_model, data_file, tmp_path):
    from coderank.models.backends import Request, load_backend

    result = train(config(tiny_model, data_file, tmp_path / "out", full=True, max_steps=2))
    out = result.out
    assert result.manifest.method == "full" and result.manifest.hyperparameters["dtype"] == "fp32"
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert not (out / "adapter_config.json").exists()
    backend = load_backend(f"hf:{out}")
    try:
        assert "model.safetensors" in backend.identity()["weights"]
        req = Request("completion", "def add(a, b):", None, 4, 0.0, 1.0, (), 0)
        assert len(list(backend.generate([req]))) == 1
    finally:
        backend.close()


def test_cli_prints_one_json_document(cli, tiny_model, data_file, tmp_path):
    code, out, err = cli("train", str(data_file), "--out", str(tmp_path / "o"), "--base", str(tiny_model),
                         "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--max-len", "64", "--no-gguf",
                         "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "done" and doc["steps"] == 2 and doc["manifest"]["version"] == 1
    assert doc["outputs"]["model_specs"] == [f"hf:{tmp_path / 'o'}"]
    assert "step 2/2" in err and "loss" in err
