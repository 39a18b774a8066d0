"""``coderank eval`` on problems given as a statement plus starter code, with a scripted backend.

What is checked: the prompts sent, the token limit a run picks and records, echoes counted in the summary and
named in the status detail, the note that says a benchmark needs more tokens, and the template hash of runs
on problems without a statement.
"""

import json
from pathlib import Path

import pytest

from coderank.models import backends
from coderank.models.backends import Completion
from coderank.problems import load_benchmark

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leetcode_style.jsonl"
CHAT_HASH_BEFORE = "sha256:32d5f397bb46f13df703ce9927324a6c4efbb75a619fa21ed310476d1004c96c"


class Scripted:
    """A backend whose answer to each request is ``answer(request) -> (text, finish_reason)``."""

    def __init__(self, answer):
        self.spec = "default"
        self.answer = answer
        self.requests = []

    def identity(self):
        return {"backend": "scripted", "model": "test"}

    def generate(self, requests):
        for i, req in enumerate(requests):
            self.requests.append(req)
            text, reason = self.answer(req)
            yield i, Completion(text, reason, 10, 5, 0.01)

    def close(self):
        pass


@pytest.fixture
def scripted(monkeypatch):
    def install(answer):
        fake = Scripted(answer)
        monkeypatch.setitem(backends._REGISTRY, "default", lambda rest, options: fake)
        return fake

    return install


def _eval(cli, *args):
    code, out, err = cli("eval", *args, "--workers", "1", "--json")
    assert code == 0, err
    return json.loads(out)


def test_echoes_of_the_statement_are_counted_and_named(cli, scripted):
    # The answer copies the user message's statement into its code block and runs out of tokens.
    fake = scripted(lambda req: ("```python\n" + req.messages[-1][1].split("Start from")[0][:1200], "length"))
    r = _eval(cli, "-b", str(EXAMPLE), "--limit", "3")
    assert all('"""' not in req.messages[-1][1] for req in fake.requests)  # the statement is prose, not a docstring
    assert r["status_counts"] == {"no_code": 3} and r["truncated"] == 3
    assert r["echoes"] == {"samples": 3, "truncated": 3, "no_code": 3}
    assert (r["max_tokens"], r["max_tokens_from"]) == (512, "default")
    assert r["token_limit_note"].startswith("3 of 3 samples hit the token limit of 512 (the default): these "
                                            "problems need more; run again with --max-tokens 1024")
    assert "3 of the 3 repeated at least half of the statement (an echo)" in r["token_limit_note"]
    code, out, _ = cli("show", r["run_id"], "--samples", "--json")
    details = [s["detail"] for s in json.loads(out)["samples"]]
    assert all(d.startswith("echo: the answer repeats") and "and hit the token limit" in d for d in details), details
    code, out, _ = cli("show", r["run_id"])
    assert "of the answers that hit the token limit, 3 repeated at least half of the statement (echo); of those " \
           "with no code, 3" in out


def test_whole_classes_pass_without_echo_or_note(cli, scripted):
    bench = load_benchmark(str(EXAMPLE))
    by_method = {p.starter_code.splitlines()[-1]: p for p in bench}

    def answer(req):
        stub = next(line for line in req.messages[-1][1].splitlines() if line in by_method)
        p = by_method[stub]
        return "Here it is:\n\n```python\n" + p.starter_code.split("\n\n\n", 1)[1] + p.canonical_solution + "```", \
            "stop"

    scripted(answer)
    r = _eval(cli, "-b", str(EXAMPLE), "--limit", "4")
    assert r["status_counts"] == {"passed": 4} and r["pass_at_k"]["pass@1"]["value"] == 1.0
    assert r["echoes"] == {"samples": 0, "truncated": 0, "no_code": 0} and "token_limit_note" not in r
    assert r["manifest"]["template"]["sha256"] != CHAT_HASH_BEFORE


def test_the_token_limit_comes_from_the_problems_unless_given(cli, scripted, tmp_path):
    rows = [json.loads(line) for line in EXAMPLE.read_text().splitlines()[:3]]
    rows[1]["max_tokens"] = 1024
    path = tmp_path / "lc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    fake = scripted(lambda req: ("```python\nclass Solution:\n    pass\n```", "stop"))
    r = _eval(cli, "-b", str(path))
    assert {req.max_tokens for req in fake.requests} == {1024}
    assert r["manifest"]["params"]["max_tokens"] == 1024 and r["manifest"]["max_tokens_from"] == "problems"
    r = _eval(cli, "-b", str(path), "--tasks", "leetcode-style/1")
    assert (r["max_tokens"], r["max_tokens_from"]) == (512, "default")  # the other problems give no limit
    r = _eval(cli, "-b", str(path), "--max-tokens", "300")
    assert (r["max_tokens"], r["max_tokens_from"]) == (300, "option") and fake.requests[-1].max_tokens == 300


def test_runs_on_problems_without_a_statement_keep_the_chat_hash_and_run_id(cli, scripted):
    scripted(lambda req: ("```python\ndef f():\n    return 0\n```", "stop"))
    r = _eval(cli, "--limit", "1")
    assert r["manifest"]["template"]["sha256"] == CHAT_HASH_BEFORE
    again = _eval(cli, "--limit", "1", "--max-tokens", "512")  # the same run: 512 is what the default gave
    assert again["run_id"] == r["run_id"] and again["already_finished"]
