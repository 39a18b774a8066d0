import json

import pytest

from coderank.problems import load_benchmark


@pytest.fixture
def scored_run(cli, tmp_path):
    bench = load_benchmark("humaneval")
    path = tmp_path / "s.jsonl"
    rows = []
    for i, p in enumerate(list(bench)[:6]):
        rows.append({"task_id": p.task_id, "completion": p.canonical_solution if i % 3 else "    return 0\n"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, _ = cli("score", str(path), "--json")
    assert code == 0
    return json.loads(out)


@pytest.mark.parametrize("fmt", ["human-eval", "evalplus"])
def test_export_then_rescore_gives_the_same_score(cli, scored_run, tmp_path, fmt):
    exported = tmp_path / f"{fmt}.jsonl"
    code, _, _ = cli("export", scored_run["run_id"], "--out", str(exported), "--format", fmt)
    assert code == 0
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(rows) == 6 and all(("solution" if fmt == "evalplus" else "completion") in r for r in rows)
    code, out, _ = cli("score", str(exported), "--json", "--no-save")
    assert json.loads(out)["pass_at_k"]["pass@1"]["value"] == scored_run["pass_at_k"]["pass@1"]["value"]


def test_show_prints_the_manifest_and_each_verdict(cli, scored_run):
    code, out, _ = cli("show", scored_run["run_id"][4:12], "--samples")
    assert code == 0 and scored_run["run_id"] in out
    assert out.count("HumanEval/") >= 6 and "failed" in out


def test_unknown_run_is_a_clear_error(cli):
    code, _, err = cli("show", "run-000000000000")
    assert code == 2 and "no run" in err and "coderank runs" in err


def test_what_a_program_says_cannot_drive_the_terminal(cli, tmp_path):
    # Escape sequences in an exception message: clear the screen, set the window title, ring the bell.
    path = tmp_path / "esc.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0",
                                "completion": '    raise ValueError("\\x1b[2J\\x1b]0;owned\\x07\\r tail")\n'}) + "\n")
    code, out, _ = cli("score", str(path), "--json")
    run_id = json.loads(out)["run_id"]
    code, out, _ = cli("show", run_id, "--samples")
    assert code == 0 and "owned" in out
    assert not any(c in out for c in "\x1b\x07\r")
    assert "\\x1b[2J\\x1b]0;owned\\x07\\x0d tail" in out  # shown, visibly


def _evol_run(tmp_path):
    from coderank.store import Store

    with Store(tmp_path / "coderank-home" / "coderank.db") as store:
        run_id, _ = store.open_run({"kind": "evol", "x": 1}, {"version": 1, "kind": "evol", "seeds": {}},
                                   kind="evol", model="default", benchmark="evol")
    return run_id


@pytest.mark.parametrize("command", [["verify", "{run}"], ["export", "{run}", "--out", "{tmp}/x.jsonl"],
                                     ["duel", "{run}", "{other}"], ["perturb-gap", "{other}", "{run}"]])
def test_commands_that_need_a_scored_run_refuse_an_evol_run_clearly(cli, scored_run, tmp_path, command):
    run = _evol_run(tmp_path)
    args = [a.format(run=run, other=scored_run["run_id"], tmp=tmp_path) for a in command]
    code, _, err = cli(*args)
    assert code == 2 and "is an evol run" in err and "Traceback" not in err


def test_run_prefixes_are_plain_prefixes_not_patterns(cli, scored_run):
    run_id = scored_run["run_id"]
    assert cli("show", run_id[:8])[0] == 0
    for pattern in ("run-_" + run_id[5:8], "run-%", run_id[:6] + "_"):
        code, _, err = cli("show", pattern)
        assert code == 2 and "no run" in err


def _tamper(tmp_path, sql, *args):
    import sqlite3

    db = sqlite3.connect(tmp_path / "coderank-home" / "coderank.db")
    db.execute(sql, args)
    db.commit()
    db.close()


def test_verify_confirms_the_score_itself(cli, scored_run, tmp_path):
    run_id = scored_run["run_id"]
    assert cli("verify", run_id)[0] == 0
    summary = dict(scored_run, pass_at_k={"pass@1": dict(scored_run["pass_at_k"]["pass@1"], value=0.95)})
    summary = {k: summary[k] for k in ("pass_at_k", "samples", "problems", "status_counts", "per_problem")
               if k in summary}
    _tamper(tmp_path, "UPDATE runs SET summary = ? WHERE run_id = ?", json.dumps(summary), run_id)
    code, out, _ = cli("verify", run_id)
    assert code == 1 and "pass@1: stored 0.95" in out


def test_verify_notices_a_missing_sample_and_an_unfinished_run(cli, scored_run, tmp_path):
    run_id = scored_run["run_id"]
    _tamper(tmp_path, "DELETE FROM samples WHERE run_id = ? AND task_id = 'HumanEval/1'", run_id)
    code, out, _ = cli("verify", run_id)
    assert code == 1 and "samples: stored 6, the stored verdicts give 5" in out
    _tamper(tmp_path, "UPDATE runs SET status = 'running' WHERE run_id = ?", run_id)
    code, out, _ = cli("verify", run_id)
    assert code == 1 and "not finished" in out
