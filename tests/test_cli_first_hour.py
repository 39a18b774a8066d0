"""A newcomer's first hour (issue 19): --version, help that is whole at 80 columns and agrees with the README, clear
errors for empty and cut-off files, and `score --out` in the samples file's order."""

import json
import re

import pytest

from coderank import __version__
from coderank.errors import InputError
from coderank.jsonl import json_lines
from coderank.problems import load_benchmark


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out == f"coderank {__version__}\n"


def _commands() -> list[str]:
    import typer.main

    from coderank.cli import app

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


COMMANDS = _commands()


def test_every_command_is_checked():
    assert {"score", "eval", "evol", "board", "show", "runs", "contam", "perturb-gap", "train"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_never_cuts_an_option_name_at_80_columns(cli, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli(command, "--help")
    assert code == 0 and "Usage" in out
    assert "…" not in out, [line for line in out.splitlines() if "…" in line]
    assert max(len(line) for line in out.splitlines()) <= 80


def test_evol_help_names_every_option_whole(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("evol", "--help")[1]
    assert "--answer-temperature" in out  # was "--answer-temperatu…"
    assert "coderank[rigor]" in out  # not eaten as rich markup


def test_help_texts_agree_with_the_commands_and_the_readme(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    perturb = cli("perturb", "--help")[1]
    assert "coderank perturb-gap" in perturb and "coderank.rigor.perturb.gap" not in perturb
    contam = cli("contam", "--help")[1]
    assert not re.search(r"\d+ (short )?rows/s", contam)  # no speed that goes stale; the README has the measured ones
    score = " ".join(cli("score", "--help")[1].split())
    assert all(name in score for name in ("humaneval", "mbpp-valid", "mbpp-train", "classic", "evalplus:PATH"))


def test_contam_refuses_an_empty_training_file(cli, tmp_path):
    empty = tmp_path / "train.jsonl"
    empty.write_text("")
    code, _, err = cli("contam", str(empty), "--no-embeddings")
    assert code == 2 and "no training rows: the file is empty" in err and "Traceback" not in err
    empty.write_text("\n  \n")
    code, _, err = cli("contam", str(empty), "--no-embeddings")
    assert code == 2 and "blank lines only" in err


@pytest.mark.parametrize(("line", "says"), [
    (b'{"task_id": "HumanEval/0", "completion": "    return 1\n', "ends inside the string that starts at column 42"),
    (b'{"task_id": "HumanEval/0", \n', "ends after column 26 before its JSON is complete"),
    (b'{"task_id": "HumanEval/0"} trailing\n', "Extra data at column 28"),
])
def test_a_cut_off_json_line_is_reported_where_it_ends(tmp_path, line, says):
    with pytest.raises(InputError) as info:
        list(json_lines([b'{"ok": 1}\n', line], "problems.jsonl"))
    assert info.value.message.startswith("problems.jsonl:2: invalid JSON: ") and says in info.value.message
    assert "column 1)" not in info.value.message and "column 1 " not in info.value.message


def test_score_names_a_cut_off_line_and_where_it_ends(cli, tmp_path):
    problem = load_benchmark("humaneval").problems["HumanEval/0"]
    samples = tmp_path / "samples.jsonl"
    good = json.dumps({"task_id": "HumanEval/0", "completion": problem.canonical_solution})
    samples.write_text(good + "\n" + good[:50] + "\n")
    code, _, err = cli("score", str(samples), "--no-save")
    assert code == 1 and f"{samples}:2: invalid JSON: the line ends inside the string" in " ".join(err.split())


def test_score_out_keeps_the_samples_files_order(cli, tmp_path):
    problems = list(load_benchmark("humaneval"))[:6]
    slow = "\nimport time as _t\n_s = _t.process_time()\nwhile _t.process_time() - _s < 0.6:\n    pass\n"
    rows = [{"task_id": problems[0].task_id, "completion": problems[0].canonical_solution + slow}]
    rows += [{"task_id": p.task_id, "completion": p.canonical_solution} for p in problems[1:]]
    rows += [{"task_id": p.task_id, "completion": "    return None\n"} for p in problems[1:]]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results.jsonl"
    code, _, err = cli("score", str(samples), "--out", str(out), "--workers", "2", "--no-save")
    assert code == 0, err
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in written] == list(range(1, len(rows) + 1))
    assert [r["task_id"] for r in written] == [r["task_id"] for r in rows]
