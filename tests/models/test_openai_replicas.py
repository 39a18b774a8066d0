"""Several --base-url replicas: requests are spread over them, and the identity names them all.

Two minimal OpenAI-compatible HTTP servers (real sockets, the real SDK) count what they receive; the single
real-server path is tested against llama_cpp.server in tests/test_eval_embedded.py.
"""

import pytest

from coderank.models.backends import BackendOptions, Request, load_backend

pytest.importorskip("openai")


def _replica(name, hits):
    def answer(body):
        hits.append(body["messages"][-1]["content"])
        return name

    return answer


def test_requests_are_spread_over_replicas(chat_server):
    hits_a, hits_b = [], []
    urls = [chat_server(_replica("A", hits_a)), chat_server(_replica("B", hits_b))]
    backend = load_backend("openai:m", BackendOptions(base_url=",".join(urls), concurrency=2, max_retries=0))
    reqs = [Request("chat", None, (("user", f"q{i}"),), 8, 0.0, 1.0, (), i) for i in range(6)]
    answers = dict(backend.generate(reqs))
    backend.close()
    assert len(hits_a) == 3 and len(hits_b) == 3
    assert sorted(hits_a + hits_b) == [f"q{i}" for i in range(6)]
    assert {answers[i].text for i in range(6)} == {"A", "B"}
    assert backend.identity()["base_url"] == sorted(urls)
    single = load_backend("openai:m", BackendOptions(base_url=urls[0]))
    assert single.identity()["base_url"] == urls[0]  # one URL: the identity (and cache keys) as before
