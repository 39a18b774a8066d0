"""Batched greedy decoding on llama.cpp (``coderank eval --batch-size B``, :mod:`coderank.models.batched`).

The option's checks run without a model. The generator itself runs the real embedded model with short answers:
with one sequence in flight it must give exactly what today's path (``create_chat_completion`` /
``create_completion``) gives, token counts included; with several, every request must come back exactly once
with the finish reason its end calls for.
"""

from dataclasses import replace

import pytest

from coderank.errors import UsageError
from coderank.generation import _cut
from coderank.models.backends import BackendOptions, LlamaCppBackend, Request
from coderank.models.batched import MAX_BATCH, lead_bytes_pending
from coderank.models.prompts import get_template
from coderank.problems import load_benchmark


def chat(text: str, max_tokens: int, stop: tuple[str, ...] = ()) -> Request:
    return Request("chat", None, (("user", text),), max_tokens, 0.0, 1.0, stop, 0)


def completion(text: str, max_tokens: int, stop: tuple[str, ...] = ()) -> Request:
    return Request("completion", text, None, max_tokens, 0.0, 1.0, stop, 0)


def humaneval_requests(n: int, max_tokens: int) -> list[Request]:
    problems = list(load_benchmark("humaneval"))[:n]
    template = get_template("chat").used_for(problems)
    out = []
    for p in problems:
        r = template.render(p)
        out.append(Request(r.kind, r.text, tuple((m["role"], m["content"]) for m in r.messages), max_tokens, 0.0,
                           1.0, tuple(r.stop), 0))
    return out


# --- without a model ---------------------------------------------------------------------------------------

def test_an_answer_ending_inside_a_utf8_character_waits_for_its_last_bytes():
    euro = "€".encode()  # three bytes: E2 82 AC
    assert lead_bytes_pending(b"abc", 0) == 0
    assert lead_bytes_pending(b"ab" + euro[:1], 0) == 2  # lead byte last: two more to come
    assert lead_bytes_pending(b"a" + euro[:2], 0) == 1
    assert lead_bytes_pending(b"x" + euro, 0) == 0  # complete: nothing to wait for
    assert lead_bytes_pending(b"abc", 1) == 1  # a count already running is kept


@pytest.mark.parametrize(("extra", "lora", "words"), [
    ({"batch_size": 0}, None, "--batch-size must be a whole number from 1"),
    ({"batch_size": MAX_BATCH + 1}, None, f"from 1 to {MAX_BATCH}"),
    ({"batch_size": "4"}, None, "--batch-size must be a whole number"),
    ({"batch_size": 4}, "adapter.gguf", "does not apply LoRA adapters"),
])
def test_the_backend_refuses_a_batch_size_it_cannot_run_before_loading_anything(tmp_path, extra, lora, words):
    with pytest.raises(UsageError, match=words):
        LlamaCppBackend(tmp_path / "missing.gguf", BackendOptions(extra=extra), "gguf:x",
                        lora=tmp_path / lora if lora else None)


@pytest.mark.parametrize(("args", "words"), [
    (["--batch-size", "0"], "--batch-size must be a whole number from 1 to 64, got 0"),
    (["--batch-size", "65"], "--batch-size must be a whole number from 1 to 64, got 65"),
    (["--batch-size", "4", "-m", "openai:gpt-4o"], "batches local GGUF models"),
    (["--batch-size", "4", "-m", "hf:./x"], "batches local GGUF models"),
    (["--batch-size", "4", "--temperature", "0.8"], "greedy answers only"),
])
def test_eval_refuses_a_batch_size_that_would_batch_nothing(cli, args, words):
    code, _, stderr = cli("eval", "--limit", "1", *args)
    assert code == 2 and words in " ".join(stderr.split()) and "Traceback" not in stderr


# --- the real embedded model -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model():
    pytest.importorskip("llama_cpp")
    from coderank.models.backends import load_backend

    backend = load_backend("default", BackendOptions(threads=2))
    yield backend
    backend.close()


def today(backend, requests):
    """Today's path from an empty KV cache (as a fresh run), in order."""
    backend.llm.reset()
    return [c for _, c in backend.generate(requests)]


def batched(backend, requests, size):
    from coderank.models.batched import BatchedGreedy

    seen: dict[int, object] = {}
    for i, comp in BatchedGreedy(backend.llm, size).generate(requests, backend._one):
        assert i not in seen, f"request {i} answered twice"
        seen[i] = comp
    assert sorted(seen) == list(range(len(requests)))
    return [seen[i] for i in range(len(requests))]


def fields(c):
    return c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens


@pytest.mark.slow
def test_one_sequence_in_flight_gives_todays_answers_exactly(model):
    # chat prompts that share a prefix (the KV cache reuse chain), a completion prompt with a stop sequence,
    # one that ends on the model's end-of-turn token, and one stopped by a loop (streamed today)
    requests = humaneval_requests(3, 40) + [
        completion("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n", 40, stop=("\ndef ",)),
        chat("Answer with one word: what colour is the sky on a clear day?", 40),
        replace(completion("".join(f"print({i})\n" for i in range(3)) + "x = 1\n" * 12, 90), stop_loops=True),
    ]
    expected = today(model, requests)
    got = batched(model, requests, 1)
    assert [fields(c) for c in got] == [fields(c) for c in expected]
    reasons = [c.finish_reason for c in got]
    assert reasons[:3] == ["length"] * 3 and reasons[3] == reasons[4] == "stop"
    assert "\ndef " not in got[3].text and got[4].completion_tokens < 40
    assert reasons[5] == "loop" and _cut(got[5]).text == _cut(expected[5]).text


@pytest.mark.slow
def test_several_in_flight_finish_every_request_once_with_the_right_reason(model):
    requests = [
        completion("def add(a, b):\n", 30, stop=("\n",)),  # the first line ends it
        chat("Write a Python function that reverses a string.", 12),  # cut by the token limit
        chat("Answer with one word: what colour is the sky on a clear day?", 40),  # its own end-of-turn token
        completion("# numbers\n" + "".join(f"n{i} = {i}\n" for i in range(5)), 7),
        chat("Say hello.", 1),
        completion("def mul(a, b):\n", 25, stop=("return", "\n\n")),
    ]
    got = batched(model, requests, 3)
    assert [c.finish_reason for c in got] == ["stop", "length", "stop", "length", "length", "stop"]
    assert "\n" not in got[0].text and got[0].completion_tokens < 30
    assert got[1].completion_tokens == 12 and got[3].completion_tokens == 7 and got[4].completion_tokens == 1
    assert got[2].completion_tokens < 40 and got[2].text.strip()
    assert "return" not in got[5].text and "\n\n" not in got[5].text
    assert all(c.prompt_tokens and c.prompt_tokens > 3 for c in got)
    assert sum(c.seconds for c in got) > 0 and all(c.seconds >= 0 for c in got)
    # the first token of each answer comes from its prompt alone, so the one-token answer is today's
    assert got[4].text == today(model, [requests[4]])[0].text


@pytest.mark.slow
def test_more_requests_than_sequences_and_sampled_ones_on_todays_path(model):
    greedy = humaneval_requests(5, 16)
    sampled = replace(greedy[0], temperature=0.7, seed=3)
    requests = [*greedy[:2], sampled, *greedy[2:]]
    model.llm.reset()  # the sampled request runs first, from an empty cache
    got = batched(model, requests, 2)
    assert [c.finish_reason for c in got] == ["length"] * 6
    assert all(c.completion_tokens == 16 for c in got)
    model.llm.reset()
    [(_, alone)] = model.generate([sampled])
    assert got[2].text == alone.text  # the sampled request went through create_chat_completion


@pytest.mark.slow
def test_the_batch_size_is_part_of_the_identity_only_above_one():
    pytest.importorskip("llama_cpp")
    from coderank.models.backends import load_backend

    one = load_backend("default", BackendOptions(threads=2))
    four = load_backend("default", BackendOptions(threads=2, extra={"batch_size": 4}))
    try:
        assert "batch_size" not in one.identity()
        assert four.identity() == {**one.identity(), "batch_size": 4}
        requests = humaneval_requests(2, 8)
        assert sorted(i for i, _ in four.generate(requests)) == [0, 1]
    finally:
        one.close()
        four.close()
