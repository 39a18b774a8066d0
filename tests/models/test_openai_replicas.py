"""Several --base-url replicas: requests are spread over them, and the identity names them all (or, with
--served-model, what they serve, once they agree on it).

Two minimal OpenAI-compatible HTTP servers (real sockets, the real SDK) count what they receive; the single
real-server path is tested against llama_cpp.server in tests/test_eval_embedded.py.
"""

import pytest

from coderank.errors import CoderankError, UsageError
from coderank.models.backends import BackendOptions, Request, load_backend, served_by

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


# --- --served-model: the identity names what the replicas serve, and they must agree on it ------------------


def test_without_served_model_the_identity_is_exactly_as_before(chat_server):
    urls = [chat_server(_replica("A", [])), chat_server(_replica("B", []))]
    two = load_backend("openai:m", BackendOptions(base_url=f"{urls[1]}, {urls[0]}"))
    one = load_backend("openai:m", BackendOptions(base_url=urls[0]))
    # the dicts run ids and cache keys were made of before the option existed, key for key
    assert two.identity() == {"backend": "openai-compatible", "model": "m", "base_url": sorted(urls)}
    assert one.identity() == {"backend": "openai-compatible", "model": "m", "base_url": urls[0]}
    assert served_by(two) is None and served_by(one) is None  # the URLs are in the identity, not beside it


def test_served_model_names_the_model_not_the_urls(chat_server):
    urls = [chat_server(_replica(n, []), models=["m", "other"]) for n in "ABC"]
    two = load_backend("openai:m", BackendOptions(base_url=",".join(urls[:2]), served_model="Qwen/Q@abc"))
    moved = load_backend("openai:m", BackendOptions(base_url=urls[2], served_model=" Qwen/Q@abc "))
    assert two.identity() == moved.identity() == {"backend": "openai-compatible", "model": "m",
                                                  "served_model": "Qwen/Q@abc"}
    assert served_by(two) == sorted(urls[:2]) and served_by(moved) == [urls[2]]
    other = load_backend("openai:m", BackendOptions(base_url=urls[2], served_model="Qwen/Q@def"))
    assert other.identity() != moved.identity()


def test_replicas_that_serve_another_model_are_named(chat_server):
    good = [chat_server(_replica("A", []), models=["m"]) for _ in range(2)]
    odd = chat_server(_replica("B", []), models=["other"])
    with pytest.raises(CoderankError) as info:
        load_backend("openai:m", BackendOptions(base_url=",".join([odd, *good]), served_model="w"))
    message = info.value.message
    # the odd one is named even when it comes first: the others agree with each other
    assert f"{odd} serves 'other'" in message and f"{good[0]} and 1 more serve 'm'" in message
    assert good[1] not in message and "--served-model" in info.value.hint


def test_replicas_started_from_other_weights_under_one_name_are_named(chat_server):
    a = chat_server(_replica("A", []), models=[{"id": "m", "root": "/models/qwen-7b"}])
    b = chat_server(_replica("B", []), models=[{"id": "m", "root": "/models/qwen-1.5b"}])
    with pytest.raises(CoderankError) as info:
        load_backend("openai:m", BackendOptions(base_url=f"{a},{b}", served_model="w"))
    assert f"{b} serves 'm' (root '/models/qwen-1.5b'), where {a} serves 'm' (root '/models/qwen-7b')" \
        in info.value.message
    same = load_backend("openai:m", BackendOptions(base_url=f"{a},{a}", served_model="w"))
    assert same.served == "'m' (root '/models/qwen-7b')"


def test_a_server_that_ignores_the_model_name_is_compared_by_what_it_lists(chat_server):
    # llama.cpp's server answers any model name and lists its file (or --alias): replicas agree on that list
    a = chat_server(_replica("A", []), models=["/models/q.gguf"])
    b = chat_server(_replica("B", []), models=["/models/q.gguf"])
    c = chat_server(_replica("C", []), models=["/models/other.gguf"])
    assert load_backend("openai:local", BackendOptions(base_url=f"{a},{b}", served_model="q")).served \
        == "'/models/q.gguf'"
    with pytest.raises(CoderankError, match=f"{c} serves '/models/other.gguf'"):
        load_backend("openai:local", BackendOptions(base_url=f"{a},{c}", served_model="q"))


def test_a_replica_without_a_model_list_is_named(chat_server):
    a = chat_server(_replica("A", []), models=["m"])
    no_list = chat_server(_replica("B", []))  # answers GET /v1/models with 404
    empty = chat_server(_replica("C", []), models=[])
    with pytest.raises(CoderankError) as info:
        load_backend("openai:m", BackendOptions(base_url=f"{a},{no_list}", served_model="w", max_retries=0))
    assert f"replica {no_list} did not answer GET {no_list}/models: NotFoundError" in info.value.message
    with pytest.raises(CoderankError, match=f"replica {empty} serves no model"):
        load_backend("openai:m", BackendOptions(base_url=f"{a},{empty}", served_model="w", max_retries=0))


def test_served_model_needs_servers():
    with pytest.raises(UsageError, match="no --base-url was given"):
        load_backend("openai:m", BackendOptions(served_model="w"))
    with pytest.raises(UsageError, match="'default' is not served"):
        load_backend("default", BackendOptions(served_model="w"))
    with pytest.raises(UsageError, match="--served-model is empty"):
        BackendOptions(base_url="http://127.0.0.1:1/v1", served_model="  ")
