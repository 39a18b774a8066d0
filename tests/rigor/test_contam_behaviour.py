"""A row flagged by text scores alone is run against the item's tests: a sibling problem is not a leak.

MBPP/453 ("the sum of even factors of a number") has a sibling in MBPP's training split, MBPP/853 ("the sum of
odd factors"), written from the same code: the n-gram score flags it. Its function, run as MBPP/453's entry
point, fails MBPP/453's tests with a wrong number: it computes something else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coderank.problems import load_benchmark
from coderank.rigor.behaviour import Behaviour, check_behaviour, decide, functions, row_code, standing
from coderank.rigor.contam import check_contamination

ODD_FACTORS = '''import math
def sum_of_odd_Factors(n):
    res = 1
    while n % 2 == 0:
        n = n // 2
    for i in range(3,int(math.sqrt(n) + 1)):
        count = 0
        curr_sum = 1
        curr_term = 1
        while n % i == 0:
            count+=1
            n = n // i
            curr_term *= i
            curr_sum += curr_term
        res *= curr_sum
    if n >= 2:
        res *= (1 + n)
    return res
'''


@pytest.fixture(scope="module")
def mbpp():
    return {p.task_id: p for p in load_benchmark("mbpp")}


def renamed_copy(problem) -> str:
    """MBPP/453's own solution under another name: a leak whatever it is called."""
    return problem.canonical_solution.replace(problem.entry_point, "even_factor_total")


def test_row_code_reads_fences_or_the_code_after_the_prose():
    assert row_code("Write it.\n```python\ndef f(x):\n    return x\n```\nDone.") == "def f(x):\n    return x\n"
    code = row_code("Write a python function to find sum of odd factors.\n" + ODD_FACTORS)
    assert code is not None and code.startswith("import math") and functions(code) == ["sum_of_odd_Factors"]
    assert row_code("Explain what a heap is, in words.") is None
    # a cut-off answer: its longest prefix that parses
    assert functions(row_code("def g(a):\n    return a\n\ndef h(b:\n") or "") == ["g"]


def test_a_sibling_is_different_a_renamed_copy_is_the_same_and_a_fragment_is_unknown(mbpp):
    item = mbpp["MBPP/453"]
    fragment = "def even_factor_total(n):\n    if (n % 2 != 0):\n        res = 0\n"  # returns None
    sibling, copy, part, prose = check_behaviour([
        (item, "Write a python function to find sum of odd factors of a number.\n" + ODD_FACTORS),
        (item, "Here:\n```python\n" + renamed_copy(item) + "\n```"),
        (item, "Start of it:\n" + fragment),
        (item, "Write a python function to find the sum of even factors of a number."),
    ], workers=1)
    assert sibling.verdict == "different" and sibling.function == "sum_of_odd_Factors"
    assert "sumofFactors(18) == 26" in sibling.detail
    assert copy.verdict == "same" and copy.function == "even_factor_total"
    assert part.verdict == "unknown" and "error" in part.detail  # returned None: nothing concluded
    assert prose.verdict == "unknown"


def test_the_verdict_needs_a_clean_failure_and_only_overrules_text_scores():
    assert decide([("h", "error", "TypeError"), ("f", "failed", "assert f(1) == 2")]).verdict == "different"
    assert decide([("h", "failed", "x"), ("f", "passed", "")]) == Behaviour("same", "f", "passes the item's tests")
    assert decide([("f", "timeout", ""), ("g", "error", "")]).verdict == "unknown"
    different, same, unknown = Behaviour("different", "f", ""), Behaviour("same", "f", ""), Behaviour("unknown")
    assert standing(("ngram", "examples"), different) == ()
    assert standing(("ngram", "clone"), different) == ("ngram", "clone")  # a type-2 clone of the item's code stands
    assert standing(("judge",), different) == ("judge",) and standing((), different) == ()
    assert standing(("ngram",), unknown) == ("ngram",) and standing(("ngram",), None) == ("ngram",)
    # the whole small function stands on "same" only (or when nothing ran)
    assert standing(("function",), same) == ("function",) and standing(("function",), None) == ("function",)
    assert standing(("function",), unknown) == () and standing(("function", "ngram"), unknown) == ("ngram",)
    assert standing(("function", "clone"), different) == ("clone",)


def test_contam_does_not_count_a_sibling_row_but_still_counts_the_copy(mbpp, tmp_path):
    item = mbpp["MBPP/453"]
    path = tmp_path / "train.jsonl"
    rows = [{"instruction": "Write a python function to find sum of odd factors of a number.", "output": ODD_FACTORS},
            {"instruction": "Write a python function to find the sum of even factors of a number.",
             "output": renamed_copy(item)}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def hits(report):
        return {h.line: h for i in report.items if i.task_id == "MBPP/453" for h in i.hits}

    text_only = check_contamination(path, "mbpp", embeddings=False)
    by = hits(text_only)[1].flagged_by
    assert by and set(by) <= {"ngram", "jaccard"} and hits(text_only)[1].behaviour is None  # text scores only
    ran = check_contamination(path, "mbpp", embeddings=False, behaviour=True)
    sibling, copy = hits(ran)[1], hits(ran)[2]
    assert not sibling.flagged and sibling.behaviour is not None and sibling.behaviour["verdict"] == "different"
    assert copy.flagged and "clone" in copy.flagged_by and copy.behaviour is None  # a clone: never overruled
    assert ran.flagged_lines == (2,) and "behaviour" in ran.timings
    doc = json.loads(json.dumps(ran.to_json()))
    recorded = next(i for i in doc["items"] if i["task_id"] == "MBPP/453")["hits"]
    assert [(h["line"], h["behaviour"] and h["behaviour"]["verdict"]) for h in recorded][:2] == [(2, None),
                                                                                               (1, "different")]


def test_cli_runs_the_code_by_default_and_says_why_a_row_is_not_counted(cli, tmp_path: Path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"instruction": "Write a python function to find sum of odd factors of a number.",
                                "output": ODD_FACTORS}) + "\n")
    code, stdout, _ = cli("contam", str(path), "-b", "mbpp", "--no-embeddings")
    assert code == 0 and "0 of 500 mbpp items leak" in stdout
    text = " ".join(stdout.split())
    assert "not counted" in text and "MBPP/453 line 1: sum_of_odd_Factors fails the item's tests" in text
    code, stdout, _ = cli("contam", str(path), "-b", "mbpp", "--no-embeddings", "--no-run-code")
    assert code == 0 and "1 of 500 mbpp items leak" in stdout and "not counted" not in stdout


def test_cli_flags_a_renamed_one_line_solution_once_it_passes_and_says_so_when_not_run(cli, tmp_path: Path):
    path = tmp_path / "train.jsonl"  # MBPP/477's reference program, renamed: too short for the clone score
    path.write_text(json.dumps({"text": "def lower_it(s):\n  return (s.lower())\n"}) + "\n")
    code, stdout, _ = cli("contam", str(path), "-b", "mbpp", "--no-embeddings")
    text = " ".join(stdout.split())
    assert code == 0 and "1 of 500 mbpp items leak" in text and "whole function passing its tests" in text
    assert "MBPP/477" in text and "function" in text
    code, stdout, _ = cli("contam", str(path), "-b", "mbpp", "--no-embeddings", "--no-run-code")
    text = " ".join(stdout.split())
    assert code == 0 and "0 of 500 mbpp items leak" in text
    assert "1 row(s) hold an item's whole function, not flagged because their code was not run" in text
