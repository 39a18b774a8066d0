"""Degenerate loops: what counts as one, that the cut is the same however far generation ran, and that
``--stop-loops`` answers from a fresh generation and from an earlier answer without it agree."""

import json

import pytest

from coderank.generation import GenStats, cached_generate, request_key
from coderank.models import backends, loops
from coderank.models.backends import Completion, Request
from coderank.problems import load_benchmark
from coderank.store import Store

BODY = "    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"
LOOP = "".join(f"    # print(fib({i}))\n" for i in range(40))
LOOPING = BODY + LOOP + "    # print(fi"  # as a generation that hit the token limit mid-line leaves it


def test_a_loop_is_cut_where_it_begins():
    assert loops.cut_loop(LOOPING) == BODY


@pytest.mark.parametrize("loop", [
    "\n" * 30,  # runs of blank lines
    "    assert f(1) == 1\n    assert f(2) == 2\n" * 10,  # a two-line period, digits aside
    "".join(f"    elif n == {i}:\n        return {i}\n" for i in range(20)),
])
def test_kinds_of_loop(loop):
    assert loops.cut_loop(BODY + loop) == BODY


def test_no_loop_in_code_that_only_looks_regular():
    table = "".join(f"    {name} = {i}\n" for i, name in enumerate("abcdefghijklmnopqrst"))  # distinct lines
    doctest = "".join(f"    >>> f({i})\n    {i * i}\n" for i in range(5))  # ten lines of examples
    short = "    x += 1\n" * (loops.WINDOW - 1)  # one line short of a window
    for text in (BODY, table, doctest, short):
        assert loops.loop_start(text) is None


def test_no_loop_in_any_reference_solution():
    """HumanEval's and all of MBPP's reference programs hold no loop: the option never cuts correct code there."""
    checked = 0
    for name in ("humaneval", "mbpp", "mbpp-train", "mbpp-valid"):
        for p in load_benchmark(name):
            assert loops.loop_start(p.prompt + (p.canonical_solution or "") + "\n") is None, p.task_id
            checked += 1
    assert checked == 164 + 964  # MBPP's test, train and validation splits


def test_the_cut_depends_only_on_the_text_up_to_the_loop():
    """Every prefix that shows the loop cuts where the whole text cuts: a generation stopped there and one that ran
    on to the token limit give the same answer."""
    first_seen = next(n for n in range(len(LOOPING)) if loops.loop_start(LOOPING[:n]) is not None)
    assert LOOPING[first_seen - 1] == "\n"  # seen when the window's last line is complete, not before
    for n in range(first_seen, len(LOOPING) + 1):
        assert loops.cut_loop(LOOPING[:n]) == BODY


def test_requests_without_the_option_keep_their_cache_keys():
    req = Request("completion", "def f():\n", None, 64, 0.0, 1.0, ("\ndef ",), 3)
    assert req.as_dict() == {"kind": "completion", "text": "def f():\n", "messages": None, "max_tokens": 64,
                             "temperature": 0.0, "top_p": 1.0, "stop": ["\ndef "], "seed": 3}
    guarded = Request("completion", "def f():\n", None, 64, 0.0, 1.0, ("\ndef ",), 3, stop_loops=True)
    assert guarded.as_dict() == {**req.as_dict(), "stop_loops": True}


class Looper:
    """A backend whose every answer is the body, then a loop to the token limit."""

    spec = "looper"

    def __init__(self):
        self.calls = 0

    def identity(self):
        return {"backend": "looper"}

    def generate(self, requests):
        for i, _ in enumerate(requests):
            self.calls += 1
            yield i, Completion(LOOPING, "length", 10, 512, 0.5)

    def close(self):
        pass


def _req(stop_loops):
    return Request("completion", "def fib(n):\n", None, 512, 0.0, 1.0, (), 0, stop_loops=stop_loops)


def test_a_fresh_answer_is_cut_and_says_why(tmp_path):
    store = Store(tmp_path / "s.db")
    [got] = cached_generate(store, Looper(), [_req(True)], [{}])
    assert (got.text, got.finish_reason) == (BODY, "loop")
    stored = store.get_completion(got.key)
    assert (stored["text"], stored["finish_reason"]) == (BODY, "loop")


def test_an_answer_without_the_option_is_reused_cut(tmp_path):
    """Asking again with --stop-loops costs no generation: the stored answer is cut as generation would have."""
    store = Store(tmp_path / "s.db")
    model = Looper()
    [plain] = cached_generate(store, model, [_req(False)], [{"index": 0}])
    assert plain.text == LOOPING and model.calls == 1
    stats = GenStats()
    [guarded] = cached_generate(store, model, [_req(True)], [{"index": 0}], stats=stats)
    assert model.calls == 1 and stats.cached == 1 and stats.generated == 0
    assert (guarded.text, guarded.finish_reason) == (BODY, "loop")
    assert guarded.key == request_key(model.identity(), _req(True), {"index": 0})[1] != plain.key
    assert store.get_completion(guarded.key)["text"] == BODY  # under its own key, for the samples that cite it
    # the other way round is never done: a cut answer does not stand in for the whole one
    [again] = cached_generate(store, model, [_req(False)], [{"index": 1}])
    assert again.text == LOOPING and model.calls == 2


def test_eval_with_the_option_is_another_run(tmp_path, monkeypatch, cli):
    model = Looper()
    monkeypatch.setitem(backends._REGISTRY, "looper", lambda rest, options: model)
    db = str(tmp_path / "s.db")
    args = ("eval", "-m", "looper", "-b", "classic", "--limit", "2", "--prompt-template", "completion",
            "--workers", "1", "--store", db, "--json")
    code, out, err = cli(*args)
    assert code == 0, err
    plain = json.loads(out)
    code, out, err = cli(*args, "--stop-loops")
    assert code == 0, err
    guarded = json.loads(out)
    assert guarded["run_id"] != plain["run_id"]
    assert model.calls == 2  # the second run generated nothing
    assert guarded["manifest"]["params"]["stop_loops"] is True and "stop_loops" not in plain["manifest"]["params"]
    assert plain["truncated"] == 2 and guarded["truncated"] == 0
    # the run without the option does not send the user to a larger limit for answers stuck in a loop
    assert "2 of them were stuck in a loop" in plain["token_limit_note"] and "--stop-loops" in plain["token_limit_note"]
    assert "--max-tokens 1024" not in plain["token_limit_note"]
