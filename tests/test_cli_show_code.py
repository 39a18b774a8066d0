"""``coderank show RUN --samples --code``: the raw answer, the program that ran and the verdict, side by side; the
run's headline names its prompt template; ``runs`` never cuts a run id. A scripted backend stands in for the model."""

import json

import pytest

from coderank.models import backends
from coderank.models.backends import Completion
from coderank.problems import load_benchmark

PROBLEMS = list(load_benchmark("classic"))[:2]


class Scripted:
    """Answers every request with prose around a fenced program that prints a marker and returns None."""

    spec = "default"

    def identity(self):
        return {"backend": "scripted", "model": "test"}

    def generate(self, requests):
        for i, req in enumerate(requests):
            text = req.messages[-1][1]
            entry = next(p.entry_point for p in PROBLEMS if f"`{p.entry_point}`" in text or p.entry_point in text)
            yield i, Completion(f"Sure! PROSE-MARKER before the code.\n```python\ndef {entry}(*args, **kwargs):\n"
                                "    print('OUTPUT-MARKER')\n    return None\n```\nAnd some words after.", "stop",
                                10, 5, 0.01)

    def close(self):
        pass


@pytest.fixture
def run_id(cli, monkeypatch):
    monkeypatch.setitem(backends._REGISTRY, "default", lambda rest, options: Scripted())
    code, out, err = cli("eval", "-b", "classic", "--limit", "2", "--workers", "1", "--json")
    assert code == 0, err
    return json.loads(out)["run_id"]


def test_show_samples_code_prints_the_answer_the_program_and_the_verdict(cli, run_id):
    code, out, _ = cli("show", run_id, "--samples", "--code")
    assert code == 0
    assert out.count("PROSE-MARKER") == 2 and out.count("And some words after.") == 2  # the raw answers
    assert out.count("print('OUTPUT-MARKER')") >= 4  # in each answer and each program
    assert "extraction:" in out and "finish reason stop" in out and "failed" in out
    program = out.split("program (what ran")[1]
    assert "PROSE-MARKER" not in program.split("answer")[0]  # the program is the code only
    code, plain, _ = cli("show", run_id, "--samples")
    assert code == 0 and "PROSE-MARKER" not in plain and plain.count(PROBLEMS[0].task_id) == 1


def test_show_task_picks_one_problem(cli, run_id):
    code, out, _ = cli("show", run_id, "--samples", "--code", "--task", PROBLEMS[1].task_id)
    assert code == 0 and PROBLEMS[1].task_id in out and f"{PROBLEMS[0].task_id} #0" not in out
    code, _, err = cli("show", run_id, "--samples", "--task", "classic/nope")
    assert code == 2 and "no sample of classic/nope" in err
    code, _, err = cli("show", run_id, "--code")
    assert code == 2 and "--code and --task go with --samples" in err


def test_show_json_samples_carry_answer_and_program(cli, run_id):
    code, out, _ = cli("show", run_id, "--samples", "--json")
    samples = json.loads(out)["samples"]
    assert code == 0 and len(samples) == 2
    for s in samples:
        assert "PROSE-MARKER" in s["answer"] and s["finish_reason"] == "stop"
        assert "OUTPUT-MARKER" in s["program"] and "PROSE-MARKER" not in s["program"]
        assert s["status"] == "failed" and "extraction" in s


def test_eval_and_show_headlines_name_the_prompt_template(cli, run_id):
    code, out, _ = cli("eval", "-b", "classic", "--limit", "2", "--workers", "1")
    first = out.splitlines()[0]
    assert code == 0 and run_id in first and "template chat" in first
    code, out, _ = cli("show", run_id)
    first = out.splitlines()[0]
    assert code == 0 and run_id in first and "template chat" in first


def test_runs_never_cuts_a_run_id_at_80_columns(cli, run_id, monkeypatch):
    from coderank import cli as cli_module

    monkeypatch.setattr(cli_module.out, "width", 80)
    code, out, _ = cli("runs")
    assert code == 0 and run_id in out and "…" not in out
