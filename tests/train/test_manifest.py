"""The training manifest: round trip, old files still load, and what makes a folder resumable."""

import json
from pathlib import Path

import pytest

from coderank.errors import UsageError
from coderank.train import TrainConfig, TrainManifest, compatibility_problems

# A version-1 manifest as coderank 0.1.0 writes it (trimmed to the keys a reader relies on): it must keep loading.
V1 = {
    "version": 1, "status": "done", "coderank_version": "0.1.0", "created_at": 1.0, "updated_at": 2.0,
    "data": {"path": "d.jsonl", "sha256": "sha256:aa", "rows": 4, "used": 4},
    "base": {"spec": "default", "sha256": "sha256:bb"}, "method": "lora",
    "hyperparameters": {"method": "lora", "learning_rate": 0.0002, "seed": 0}, "seed": 0,
    "prompt_format": {"name": "chat", "eval_template": "chat"}, "libraries": {"torch": "2.13.0"},
    "device": {"kind": "cpu"}, "progress": {"steps_done": 4}, "sessions": [], "loss": [[1, 2.5]],
    "checkpoints": ["checkpoint-4"], "selection": {"rule": "last", "chosen": "checkpoint-4"},
    "outputs": {"model_specs": ["lora:x", "hf:x"]}, "a_key_from_the_future": 1,
}


def test_a_version_1_file_still_loads(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(V1))
    m = TrainManifest.read(tmp_path)
    assert m is not None and m.version == 1 and m.status == "done" and m.loss == [[1, 2.5]]
    assert m.outputs["model_specs"] == ["lora:x", "hf:x"]


def test_round_trip_and_refusals(tmp_path):
    assert TrainManifest.read(tmp_path) is None
    m = TrainManifest(data={"sha256": "sha256:x"}, hyperparameters={"seed": 1})
    m.write(tmp_path)
    assert TrainManifest.read(tmp_path) == TrainManifest(**json.loads((tmp_path / "manifest.json").read_text()))
    (tmp_path / "manifest.json").write_text(json.dumps({**V1, "version": 99}))
    with pytest.raises(UsageError, match="newer coderank"):
        TrainManifest.read(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 1, "run_id": "an eval manifest"}))
    with pytest.raises(UsageError, match="not a coderank train manifest"):
        TrainManifest.read(tmp_path)


def test_hyperparameters_hold_what_changes_the_weights_only():
    a = TrainConfig(data=Path("d"), out=Path("o"))
    b = TrainConfig(data=Path("d"), out=Path("o2"), save_steps=7, select_on="classic", gguf=False, threads=1)
    assert a.hyperparameters("bf16") == b.hyperparameters("bf16")
    hp = a.hyperparameters("bf16")
    assert hp["learning_rate"] == 2e-4 and hp["lora_r"] == 16 and hp["target_modules"] == ["q_proj", "k_proj",
                                                                                          "v_proj", "o_proj"]
    full = TrainConfig(data=Path("d"), out=Path("o"), full=True).hyperparameters("fp32")
    assert full["method"] == "full" and full["learning_rate"] == 2e-5 and "lora_r" not in full


def test_compatibility_names_every_difference():
    hp = TrainConfig(data=Path("d"), out=Path("o")).hyperparameters("bf16")
    old = TrainManifest(data={"sha256": "sha256:d1"}, base={"sha256": "sha256:b1"}, hyperparameters=hp)
    assert compatibility_problems(old, "sha256:d1", "sha256:b1", hp) == []
    other = TrainConfig(data=Path("d"), out=Path("o"), lr=1e-3, seed=5).hyperparameters("fp32")
    problems = compatibility_problems(old, "sha256:d2", "sha256:b1", other)
    text = "; ".join(problems)
    assert "data differs" in text and "learning_rate was 0.0002, now 0.001" in text
    assert "seed was 0, now 5" in text and "dtype was 'bf16', now 'fp32'" in text


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"max_steps": 0}, "--max-steps"), ({"lr": -1.0}, "--lr"), ({"batch_size": 0}, "--batch-size"),
    ({"max_len": 4}, "--max-len"), ({"dtype": "int8"}, "--dtype"), ({"prompt_format": "vicuna"}, "--prompt-format"),
    ({"lora_dropout": 1.0}, "--lora-dropout"), ({"save_steps": 0}, "--save-steps"),
])
def test_bad_options_are_usage_errors(kwargs, needle):
    with pytest.raises(UsageError, match=needle):
        TrainConfig(data=Path("d"), out=Path("o"), **kwargs).validate()


class _FakeTorch:
    """Just the capability probes resolve_dtype reads."""

    def __init__(self, cpu_bf16: bool, cuda_bf16: bool = False):
        self.cpu = type("cpu", (), {"_is_avx512_bf16_supported": staticmethod(lambda: cpu_bf16),
                                    "_is_amx_tile_supported": staticmethod(lambda: False)})
        self.cuda = type("cuda", (), {"is_bf16_supported": staticmethod(lambda: cuda_bf16)})


@pytest.mark.parametrize(("requested", "full", "cuda", "cpu_bf16", "expected"), [
    ("auto", False, False, True, ("bf16", False)),
    ("auto", False, False, False, ("fp32", False)),
    ("auto", True, False, True, ("fp32", False)),  # full fine-tuning keeps fp32 master weights
    ("auto", True, True, False, ("fp32", False)),
    ("fp32", False, False, True, ("fp32", False)),
])
def test_dtype_auto_picks_bf16_only_where_supported_and_never_for_full_weights(requested, full, cuda, cpu_bf16,
                                                                                expected):
    from coderank.train._run import resolve_dtype

    assert resolve_dtype(requested, full, cuda, _FakeTorch(cpu_bf16, cuda_bf16=cuda and cpu_bf16)) == expected


def test_full_fine_tuning_on_a_bf16_gpu_autocasts_and_fp16_needs_a_gpu():
    from coderank.train._run import resolve_dtype

    assert resolve_dtype("auto", True, True, _FakeTorch(False, cuda_bf16=True)) == ("fp32", True)
    with pytest.raises(UsageError, match="fp16 needs a GPU"):
        resolve_dtype("fp16", False, False, _FakeTorch(True))


@pytest.mark.parametrize(("requested", "dtype", "cuda", "full", "says_why"), [
    ("auto", "fp32", False, False, True),   # a CPU without bf16: the user should know why steps are slow
    ("auto", "bf16", False, False, False),
    ("fp32", "fp32", False, False, False),  # asked for: nothing to explain
    ("auto", "fp32", False, True, False),   # full fine-tuning is always fp32
    ("auto", "fp32", True, False, False),
])
def test_loading_says_when_a_cpu_without_bf16_made_auto_fp32(requested, dtype, cuda, full, says_why):
    from coderank.models.backends import BaseModel
    from coderank.train._run import loading_message

    base = BaseModel(spec="gemma-270m", model_dir="/m", gguf_file="m.gguf", weights={}, sha256="sha256:0",
                     gguf=None)
    config = TrainConfig(data=Path("d"), out=Path("o"), base="gemma-270m", dtype=requested, full=full)
    message = loading_message(config, base, dtype, cuda)
    assert message.startswith(f"base weights gemma-270m as {dtype} (a GGUF is dequantized")
    assert ("no bf16 instructions" in message) is says_why


def test_a_library_bar_is_silenced_only_while_loading():
    import types

    from coderank.train._run import _without_bar

    drawn: list[object] = []

    def bar(iterable=None, *args, **kwargs):
        drawn.append(iterable)
        return iterable

    module = types.SimpleNamespace(tqdm=bar)
    with _without_bar(module):
        assert list(module.tqdm([1, 2], desc="Converting")) == [1, 2]
    assert drawn == [] and module.tqdm is bar
    with _without_bar(None):  # no such module: nothing to do
        pass
