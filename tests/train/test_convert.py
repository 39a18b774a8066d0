"""GGUF conversion with llama.cpp's converters from the llama-cpp-python sdist."""

import subprocess

import pytest

from coderank.errors import CoderankError
from coderank.train import _convert


def test_a_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CODERANK_TOOLS_CACHE", str(tmp_path / "tools"))

    def fake_run(cmd, **kw):
        assert cmd[1:4] == ["-m", "pip", "download"] and "--no-binary" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for llama-cpp-python")

    monkeypatch.setattr(_convert.subprocess, "run", fake_run)
    with pytest.raises(CoderankError) as info:
        _convert.ensure_converters("0.3.36")
    assert "No matching distribution" in info.value.message and "setup.sh --train" in info.value.hint
    assert not _convert.converter_dir("0.3.36").exists()


def test_the_cache_lives_in_the_data_home_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv("CODERANK_TOOLS_CACHE")
    monkeypatch.setenv("CODERANK_HOME", str(tmp_path / "home"))
    assert _convert.converter_dir("1.2.3") == tmp_path / "home" / "tools" / "llama.cpp-converters-1.2.3"


@pytest.mark.slow
def test_a_peft_adapter_converts_to_a_gguf_adapter(tiny_model, tmp_path):
    """Fetches the converters on first use (pip download of the sdist, ~75 MB), then converts in ~2 s."""
    pytest.importorskip("peft")
    import json

    import peft
    import torch
    import transformers
    from gguf import GGUFReader

    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model)
    lora = peft.get_peft_model(model, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                      task_type="CAUSAL_LM"))
    for name, p in lora.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.02)
    lora.save_pretrained(tmp_path / "adapter")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text((tiny_model / "config.json").read_text())
    out = _convert.convert_lora(tmp_path / "adapter", tmp_path / "base", tmp_path / "adapter.gguf")
    reader = GGUFReader(out)
    fields = {f.name: f for f in reader.fields.values()}
    assert bytes(fields["general.type"].parts[-1]).decode() == "adapter"
    assert float(fields["adapter.lora.alpha"].parts[-1][0]) == 8.0
    names = sorted(t.name for t in reader.tensors)
    assert names == sorted(f"blk.{i}.attn_{m}.weight.lora_{ab}" for i in range(2) for m in ("q", "v") for ab in "ab")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["r"] == 4
