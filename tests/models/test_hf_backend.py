"""The transformers backend on a real model: the embedded GGUF, dequantized by transformers (slow, ~1 min)."""

import json

import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("transformers")
pytest.importorskip("accelerate")


def test_hf_backend_evaluates_the_embedded_gguf(cli):
    from coderank.models.embedded import default_model_path

    code, out, err = cli("eval", "-m", f"hf:{default_model_path()}", "--tasks", "HumanEval/0", "--max-tokens", "300",
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["manifest"]["model"]["backend"] == "transformers"
    assert list(result["manifest"]["model"]["weights"].values()) == [
        "sha256:1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"]
    assert result["samples"] == 1 and "no_code" not in result["status_counts"]


def test_hf_backend_refuses_a_missing_path_clearly(cli, tmp_path):
    code, _, err = cli("eval", "-m", f"hf:{tmp_path / 'nothing'}", "--limit", "1")
    assert code == 2 and "does not exist" in err and "Traceback" not in err


def test_hf_backend_refuses_a_folder_that_holds_no_model_clearly(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    code, _, err = cli("eval", "-m", f"hf:{tmp_path}", "--limit", "1")
    assert code == 2 and "no config.json" in err and "Traceback" not in err
