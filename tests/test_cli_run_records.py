"""A run's record never lies: a finished run never changes, other limits make another run (``eval`` with other
limits, ``rescore``), runs can be named and deleted, and a run that stopped says so.

The model is a scripted backend; the programs are the classic benchmark's reference solutions, one of which
burns 0.6 s of CPU on its first call, so its verdict depends on the CPU limit.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from coderank.models import backends
from coderank.models.backends import Completion
from coderank.problems import load_benchmark
from coderank.store import Store

BURN = '''    if not getattr({name}, "burned", False):
        {name}.burned = True
        import time
        start = time.process_time()
        while time.process_time() - start < 0.6:
            pass
'''


def _answers():
    """Per classic problem: a chat answer with the reference solution (classic/0's burns CPU first)."""
    out = {}
    for i, p in enumerate(list(load_benchmark("classic"))[:3]):
        body = (BURN.format(name=p.entry_point) if i == 0 else "") + p.canonical_solution
        out[p.entry_point] = f"```python\n{p.prompt}{body}```"
    return out


class Scripted:
    """A backend that answers from a script; ``fail(i)`` may raise before the i-th request (0-based)."""

    def __init__(self, fail=None):
        self.spec = "default"
        self.fail = fail
        self.calls = 0
        self.answers = _answers()

    def identity(self):
        return {"backend": "scripted", "model": "test"}

    def generate(self, requests):
        for i, req in enumerate(requests):
            if self.fail is not None:
                self.fail(self.calls)
            self.calls += 1
            text = next(a for name, a in self.answers.items() if f"`{name}`" in req.messages[-1][1]
                        or f"def {name}(" in req.messages[-1][1])
            yield i, Completion(text, "stop", 10, 5, 0.01)

    def close(self):
        pass


@pytest.fixture
def scripted(monkeypatch):
    def install(fail=None):
        fake = Scripted(fail)
        monkeypatch.setitem(backends._REGISTRY, "default", lambda rest, options: fake)
        return fake

    return install


def _eval(cli, *args):
    code, out, err = cli("eval", "-b", "classic", "--limit", "3", *args, "--workers", "1", "--json")
    assert code == 0, err
    return json.loads(out)


def _row(tmp_path, run_id):
    db = sqlite3.connect(tmp_path / "coderank-home" / "coderank.db")
    db.row_factory = sqlite3.Row
    row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    samples = db.execute("SELECT task_id, status, cpu_seconds FROM samples WHERE run_id = ? ORDER BY task_id",
                         (run_id,)).fetchall()
    db.close()
    return (dict(row) if row else None), [tuple(s) for s in samples]


def _plain_id(manifest, tasks):
    """The run id as coderank computed it before limits were part of the identity (the hash without them)."""
    return Store.run_id_of({"model": manifest["model"], "benchmark": manifest["benchmark"]["sha256"], "tasks": tasks,
                            "template": manifest["template"]["sha256"], "params": manifest["params"],
                            "seed": manifest["seed"], "n": manifest["n"]})


TASKS = ["classic/0", "classic/1", "classic/2"]


def test_a_finished_run_never_changes_and_other_limits_make_another_run(cli, scripted, tmp_path):
    scripted()
    tight = _eval(cli, "--timeout", "0.3")
    assert tight["status_counts"] == {"timeout": 1, "passed": 2}
    before = _row(tmp_path, tight["run_id"])
    again = _eval(cli, "--timeout", "0.3")
    assert again["already_finished"] and again["run_id"] == tight["run_id"]
    loose = _eval(cli, "--timeout", "2")
    assert loose["run_id"] != tight["run_id"] and not loose["already_finished"]
    assert loose["status_counts"] == {"passed": 3} and (loose["generated"], loose["cached"]) == (0, 3)
    assert loose["manifest"]["sandbox_limits"]["cpu_seconds"] == 2
    assert _row(tmp_path, tight["run_id"]) == before  # manifest, its hash, summary, finished_at, verdicts
    code, out, _ = cli("show", tight["run_id"])
    assert code == 0 and "sandbox: 0.3 s CPU" in out
    code, out, _ = cli("show", loose["run_id"])
    assert code == 0 and "sandbox: 2 s CPU" in out


def test_runs_with_the_default_limits_keep_the_ids_they_always_had(cli, scripted):
    scripted()
    r = _eval(cli)
    assert r["run_id"] == _plain_id(r["manifest"], TASKS)


def test_a_run_recorded_under_other_limits_before_they_were_in_its_id_is_found_again(cli, scripted, tmp_path):
    scripted()
    r = _eval(cli, "--timeout", "2")
    plain = _plain_id(r["manifest"], TASKS)
    assert r["run_id"] != plain
    db = sqlite3.connect(tmp_path / "coderank-home" / "coderank.db")  # as the old code recorded it
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("UPDATE runs SET run_id = ? WHERE run_id = ?", (plain, r["run_id"]))
    db.execute("UPDATE samples SET run_id = ? WHERE run_id = ?", (plain, r["run_id"]))
    db.commit()
    db.close()
    old = _row(tmp_path, plain)
    again = _eval(cli, "--timeout", "2")
    assert again["run_id"] == plain and again["already_finished"]
    default = _eval(cli)  # the plain id is taken by the 2 s run: the default run gets one of its own
    assert default["run_id"] not in (plain, r["run_id"]) and not default["already_finished"]
    assert default["manifest"]["sandbox_limits"]["cpu_seconds"] == 3
    assert _row(tmp_path, plain) == old


def test_rescore_scores_the_stored_programs_under_other_limits_as_a_new_run(cli, scripted, tmp_path):
    fake = scripted()
    source = _eval(cli, "--timeout", "0.3")
    before = _row(tmp_path, source["run_id"])
    code, out, err = cli("rescore", source["run_id"], "--timeout", "2", "--workers", "1", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["run_id"] != source["run_id"] and r["rescored_from"] == source["run_id"]
    assert r["status_counts"] == {"passed": 3} and r["re_executed"] == 3 and r["generated"] == 0
    assert r["pass_at_k"]["pass@1"]["value"] == 1.0 and fake.calls == 3  # nothing asked of the model again
    m = r["manifest"]
    assert m["sandbox_limits"]["cpu_seconds"] == 2 and m["sandbox_limits"]["wall_seconds"] == 10
    assert m["rescored_from"] == {"run_id": source["run_id"], "sandbox_limits": source["manifest"]["sandbox_limits"]}
    assert _row(tmp_path, source["run_id"]) == before
    code, out, _ = cli("rescore", source["run_id"][4:10], "--timeout", "2", "--workers", "1")
    assert code == 0 and r["run_id"] in out and "already finished" in out  # the same request: the same run
    code, out, _ = cli("show", r["run_id"])
    assert f"rescored from {source['run_id']}, scored under 0.3 s CPU" in out
    code, out, err = cli("verify", r["run_id"], "--workers", "1")  # under the limits it recorded
    assert code == 0, out + err


def test_rescore_refuses_what_it_cannot_do_clearly(cli, scripted):
    scripted()
    source = _eval(cli)
    code, _, err = cli("rescore", "run-000000000000", "--timeout", "2")
    assert code == 2 and "no run run-000000000000" in err and "coderank runs" in err and "Traceback" not in err
    code, _, err = cli("rescore", source["run_id"], "--timeout", "3")
    assert code == 2 and "these are the limits" in err and "coderank verify" in err
    code, _, err = cli("rescore", source["run_id"], "--timeout", "nan")
    assert code == 2 and "--timeout" in err and "Traceback" not in err


def test_runs_can_be_named_and_renamed_and_found_by_name(cli, scripted):
    scripted()
    r = _eval(cli, "--name", "first try")
    assert r["run_id"] == _plain_id(r["manifest"], TASKS)  # the name is no part of the id
    code, out, _ = cli("runs")
    assert "name" in out and "first try" in out
    code, out, _ = cli("show", "first try")
    assert code == 0 and r["run_id"] in out and '"first try"' in out
    assert cli("rename", r["run_id"], "baseline")[0] == 0
    code, out, _ = cli("runs", "--json")
    assert [(x["run_id"], x["name"]) for x in json.loads(out)] == [(r["run_id"], "baseline")]
    code, _, err = cli("rename", r["run_id"], "   ")
    assert code == 2 and "blank" in err
    code, _, err = cli("eval", "-b", "classic", "--limit", "1", "--name", "")
    assert code == 2 and "--name is blank" in err


def test_rm_deletes_runs_and_asks_first(cli, scripted, tmp_path):
    scripted()
    a = _eval(cli)["run_id"]
    b = _eval(cli, "--timeout", "2")["run_id"]
    code, _, err = cli("rm", a)  # tests run without a terminal to ask on
    assert code == 2 and "--yes" in err and _row(tmp_path, a)[0] is not None
    code, _, err = cli("rm", a, "run-000000000000", "--yes")  # one typo: nothing is deleted
    assert code == 2 and "no run" in err and _row(tmp_path, a)[0] is not None
    code, _, err = cli("rm", a, b[:9], "--yes")
    assert code == 0 and "deleted 2 run(s)" in err
    assert _row(tmp_path, a) == (None, []) and _row(tmp_path, b) == (None, [])
    code, _, err = cli("show", a)
    assert code == 2 and "no run" in err


def _status(cli, run_id=None):
    code, out, _ = cli("runs", "--json")
    runs = json.loads(out)
    run = runs[0] if run_id is None else next(r for r in runs if r["run_id"] == run_id)
    return run["status"], run["status_detail"]


def test_an_interrupted_eval_says_so_and_a_rerun_finishes_it(cli, scripted):
    def ctrl_c(i):
        if i == 1:
            raise KeyboardInterrupt

    scripted(ctrl_c)
    code, _, err = cli("eval", "-b", "classic", "--limit", "3", "--workers", "1")
    assert code == 130 and "interrupted" in err
    assert _status(cli) == ("interrupted", "interrupted (Ctrl-C)")
    scripted()
    r = _eval(cli)
    assert r["resumed"] and (r["generated"], r["cached"]) == (2, 1)
    assert _status(cli) == ("finished", None)


def test_a_terminated_eval_says_so(cli, scripted):
    def sigterm(i):
        if i == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    handler = signal.getsignal(signal.SIGTERM)
    scripted(sigterm)
    code, _, err = cli("eval", "-b", "classic", "--limit", "3", "--workers", "1")
    assert code == 143 and "terminated" in err
    assert _status(cli) == ("interrupted", "terminated (SIGTERM)")
    assert signal.getsignal(signal.SIGTERM) == handler  # put back after the run


def test_a_failed_eval_says_why(scripted, tmp_path):
    from coderank.evaluation import EvalConfig, evaluate

    def broken(i):
        if i == 1:
            raise RuntimeError("the server fell over")

    scripted(broken)
    with pytest.raises(RuntimeError):
        evaluate(EvalConfig(benchmark="classic", limit=3, workers=1))
    with Store() as store:
        (run,) = store.runs()
    assert (run.status, run.status_detail) == ("failed", "RuntimeError: the server fell over")


def test_a_run_whose_process_died_without_a_word_reads_as_interrupted(cli, scripted, tmp_path):
    scripted()
    r = _eval(cli)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    db = sqlite3.connect(tmp_path / "coderank-home" / "coderank.db")
    owner = db.execute("SELECT owner FROM runs").fetchone()[0]
    assert owner is None  # a finished run has no process working on it
    host = __import__("socket").gethostname()
    db.execute("UPDATE runs SET status = 'running', owner = ?", (f"{host}:{dead.stdout.strip()}:1",))
    db.commit()
    db.close()
    status, detail = _status(cli, r["run_id"])
    assert status == "interrupted" and "ended without finishing it" in detail


def test_the_board_shows_names_and_limits_that_are_not_the_defaults(cli, scripted):
    scripted()
    source = _eval(cli, "--name", "tight", "--timeout", "0.3")
    code, _, err = cli("rescore", "tight", "--timeout", "2", "--name", "loose", "--workers", "1")
    assert code == 0, err
    code, out, _ = cli("board", "--no-reported")
    assert code == 0 and "tight (default)" in out and "loose (default)" in out
    code, out, _ = cli("board", "--no-reported", "--json")
    rows = {r["name"]: r for r in json.loads(out)["boards"]["classic"]["measured"]}
    assert rows["tight"]["model"] == "default" and ", 0.3 s CPU" in rows["tight"]["setting"]
    assert f"2 s CPU, rescored from {source['run_id']}" in rows["loose"]["setting"]


def test_a_run_resumed_on_another_processor_says_its_answers_came_from_both(cli, scripted, monkeypatch):
    # a local model's greedy answers can differ between processors (README, "The machine's arithmetic")
    from coderank import record

    def ctrl_c(i):
        if i == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(Scripted, "identity", lambda self: {"backend": "llama.cpp", "weights_sha256": "sha256:ab",
                                                         "chat_template_sha256": "sha256:cd"})
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU A")
    scripted(ctrl_c)
    code, _, err = cli("eval", "-b", "classic", "--limit", "3", "--workers", "1")
    assert code == 130, err
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU B")
    scripted()
    code, out, _ = cli("eval", "-b", "classic", "--limit", "3", "--workers", "1")
    assert code == 0 and "(resumed)" in out
    assert "generated on more than one machine: CPU A (where it started), then CPU B" in " ".join(out.split())
    shown = _eval(cli)  # the finished run, found again: its stored manifest
    assert shown["manifest"]["platform"]["cpu"] == "CPU A"
    assert [p["cpu"] for p in shown["manifest"]["generated_on"]] == ["CPU B"]


def test_a_run_resumed_on_the_same_processor_or_with_a_served_model_records_nothing_more(cli, scripted, monkeypatch):
    from coderank import record

    def ctrl_c(i):
        if i == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(record, "cpu_model", lambda: "CPU A")
    scripted(ctrl_c)
    assert cli("eval", "-b", "classic", "--limit", "3", "--workers", "1")[0] == 130
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU B")  # the scripted backend is not local: its server computes
    scripted()
    assert "generated_on" not in _eval(cli)["manifest"]
