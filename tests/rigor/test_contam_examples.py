# ruff: noqa: E501  (training rows are data: one instruction on one line reads better than re-wrapped)
"""The example-fingerprint detector of ``coderank contam`` (``examples``): paraphrased leaks by their own values.

A paraphrase restates a benchmark problem in other words but keeps its example inputs and outputs; an honest row
on the same task picks its own. The literal reader, the examples taken from docstrings and tests, the weights,
the matching rules (whole example, close together, output last), the evidence recorded per flagged row, the
speed, and the planted set's numbers (the README's) are checked here.
"""

from __future__ import annotations

import ast
import json
import math
import os
import time
from pathlib import Path

import pytest

from coderank.problems import load_benchmark
from coderank.rigor.contam import Thresholds, check_contamination, decontam_detectors, flag_rows, row_text
from coderank.rigor.fingerprint import (
    EXAMPLE_WINDOW,
    ExampleIndex,
    code_examples,
    example_scores,
    literals,
    prior_weight,
    problem_examples,
    text_examples,
)

ROOT = Path(__file__).resolve().parents[2]
PLANTED = ROOT / "examples" / "contam_planted" / "train.jsonl"

#: A paraphrase of HumanEval/5 written for this test: other words, the problem's own examples.
PARAPHRASE = {"instruction": "Put a given separator value between every two neighbouring numbers of a list and return the new list. For instance [1, 2, 3] with separator 4 turns into [1, 4, 2, 4, 3], and [5, 6, 3, 2] with 8 turns into [5, 8, 6, 8, 3, 8, 2].",
              "output": "def weave(xs, sep):\n    out = []\n    for i, x in enumerate(xs):\n        if i:\n            out.append(sep)\n        out.append(x)\n    return out"}
#: The same task taught honestly, with its own examples.
HONEST = {"instruction": "Insert a delimiter between consecutive elements of a list: with [7, 9, 11] and 0 the result is [7, 0, 9, 0, 11].",
          "output": "def join_with(items, d):\n    res = []\n    for x in items:\n        res += [x, d]\n    return res[:-1]"}


@pytest.fixture(scope="module")
def humaneval():
    return load_benchmark("humaneval")


@pytest.fixture(scope="module")
def he_index(humaneval):
    return ExampleIndex(list(humaneval))


def _write(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ literals


def test_code_and_prose_read_as_the_same_literals():
    code = "intersperse([1, 2, 3], 4) == [1, 4, 2, 4, 3]"
    prose = "with 1, 2, 3 and the separator 4 you get 1, 4, 2, 4, 3."
    assert literals(code)[1] == literals(prose)[1] == ["[1, 2, 3]", "4", "[1, 4, 2, 4, 3]"]
    # a run in prose: commas and a final "and"
    assert literals("from 'abc', 'bacd', 'cde' and 'array' keep 'a'")[1] == ['["abc", "bacd", "cde", "array"]', '"a"']


def test_numbers_and_strings_are_normalised():
    assert literals("gives 7.0")[1] == ["7"] and literals("the 15th")[1] == ["15"]
    assert literals("x = -3; n-1")[1] == ["-3", "1"]  # a minus after a name is an operator
    assert literals("3.5 leaves 0.5.")[1] == ["3.5", "0.5"]
    found, top = literals("'abc' \"abc\" 'a\\nb' '' don't")
    assert top == ['"abc"', '"abc"', '"a\\nb"'] and found['"abc"'] == [0, 6]  # the empty string and "don't" are not literals
    assert literals("s1 = x2 + y3")[1] == [] and literals("the 2nd")[1] == ["2"]  # names are not numbers


def test_brackets_calls_and_nesting():
    found, top = literals("[(5, 6), (1, 2)]")
    assert top == ["[5, 6, 1, 2]"] and {"[5, 6]", "[1, 2]"} <= set(found)
    assert "5" not in found  # a number inside a bracket group counts only as part of its sequence
    assert literals("f(5, 3)")[1] == ["5", "3"]  # a call's arguments are separate
    assert literals("gives (5, 3)")[1] == ["[5, 3]"]  # a tuple in prose is a sequence
    assert literals('{"a": "apple", 8: "banana"}')[1] == ['["a", "apple", 8, "banana"]']
    assert literals("[" * 5000 + "1, 2" + "]" * 5000)[1] == ["[1, 2]"]  # deep nesting: no recursion error


# ------------------------------------------------------------------------------------------------ examples


def test_examples_come_from_doctests_and_test_asserts(humaneval):
    examples = problem_examples(humaneval.problems["HumanEval/5"])
    assert (("[1, 2, 3]", "4"), ("[1, 4, 2, 4, 3]",)) in examples  # the doctest
    assert (("[5, 6, 3, 2]", "8"), ("[5, 8, 6, 8, 3, 8, 2]",)) in examples  # an assert of check()
    mbpp = load_benchmark("mbpp").problems["MBPP/11"]
    assert problem_examples(mbpp)[0] == (('"hello"', '"l"'), ('"heo"',))


def test_assert_forms():
    source = ("def check(c):\n    assert abs(c(2.0) - 1.5) < 1e-6\n    assert abs(0.5 - c(3.5)) < 1e-6\n"
              "    assert c(3)\n    assert not c(4)\n    assert [1] == c(5)\n    assert c(6) == 7, 'message'\n")
    assert code_examples(source) == [(("2",), ("1.5",)), (("3.5",), ("0.5",)), (("3",), ("True",)),
                                     (("4",), ("False",)), (("5",), ("1",)), (("6",), ("7",))]
    assert code_examples("def broken(:") == []


def test_example_lines_of_prose():
    doc = ('digitSum("abAB") => 131\n'
           'For N = 150, the sum of digits will be 6 the output should be "110".\n'
           "Input: [4,2,3]\nOutput: [2, 1]\n"
           "Return 'Yes' if there is a way, and return 'No' otherwise.")  # the spec, not an example
    assert text_examples(doc) == [(('"abAB"',), ("131",)), (("150", "6"), ('"110"',)), (("[4, 2, 3]",), ()),
                                  ((), ("[2, 1]",))]


def test_weights_follow_rarity():
    assert prior_weight('"(()()) ((())) () ((())()())"') > 10 and prior_weight("[1, 4, 2, 4, 3]") > 10
    assert prior_weight("1101") > prior_weight("100") > prior_weight("2")
    assert prior_weight("[1, 2, 3]") < 3 and prior_weight("[1, 2, 3, 4, 5, 6, 7, 8]") < 3  # a progression
    assert prior_weight('"a"') <= -math.log(0.1) and prior_weight('"hello"') <= -math.log(0.1)
    assert prior_weight("True") == 0.0
    assert prior_weight("79") < prior_weight("1101")  # unseen in the background: the Zipf prior decides


# ---------------------------------------------------------------------------------------------- matching


def test_a_paraphrase_is_caught_and_an_honest_row_is_not(humaneval, tmp_path):
    report = check_contamination(_write(tmp_path, [PARAPHRASE, HONEST]), humaneval, embeddings=False)
    item = next(i for i in report.items if i.task_id == "HumanEval/5")
    hit = next(h for h in item.hits if h.line == 1)
    assert hit.flagged_by == ("examples",)  # no other detector sees it
    assert hit.examples >= Thresholds().examples
    assert hit.examples_matched[0].startswith("[5, 6, 3, 2] (") and " -> [5, 8, 6, 8, 3, 8, 2] (" in hit.examples_matched[0]
    assert any(m.startswith("[1, 2, 3] (") and m.endswith("-> [1, 4, 2, 4, 3] (11.1)") for m in hit.examples_matched)
    assert report.flagged_lines == (1,)  # the honest row, with its own examples, is not flagged for any item
    doc = report.to_json()
    [jhit] = [h for i in doc["items"] if i["task_id"] == "HumanEval/5" for h in i["hits"] if h["line"] == 1]
    assert jhit["examples_matched"] == list(hit.examples_matched) and jhit["flagged_by"] == ["examples"]


def test_flag_rows_names_the_matched_examples(humaneval):
    found = flag_rows([PARAPHRASE, HONEST], [humaneval])
    assert list(found) == [0]
    [why] = found[0]
    assert why.startswith("HumanEval/5 (examples ") and "-> [1, 4, 2, 4, 3] (11.1)" in why


def test_an_example_must_be_whole_close_and_output_last(he_index, humaneval):
    five = [p.task_id for p in humaneval].index("HumanEval/5")
    whole = he_index.matches("[1, 2, 3] and 4 give [1, 4, 2, 4, 3]")
    assert whole[five].score >= Thresholds().examples and len(whole[five].examples) == 1
    assert five not in he_index.matches("[1, 4, 2, 4, 3] is what [1, 2, 3] and 4 give")  # output first
    assert five not in he_index.matches("[1, 2, 3] and 4 give" + " and so on" * (EXAMPLE_WINDOW // 10) + " [1, 4, 2, 4, 3]")
    assert five not in he_index.matches("[1, 2, 3] and 4 give [1, 4, 2, 3]")  # another output
    # an example whose literals are all common is no evidence on its own: add(2, 3) == 5
    assert not any("2 (" in m and "-> 5" in m for match in he_index.matches("add(2, 3) == 5").values() for m in match.examples)


def test_many_literals_weigh_less(he_index, humaneval):
    five = [p.task_id for p in humaneval].index("HumanEval/5")
    alone = he_index.matches("[1, 2, 3] and 4 give [1, 4, 2, 4, 3]")[five].score
    crowded = he_index.matches("[1, 2, 3] and 4 give [1, 4, 2, 4, 3]. " + " ".join(f'"w{k}"' for k in range(90)))
    assert crowded[five].score < alone - 2 * math.log(2)  # 100 atoms: each weight lowered by ln(100 / 10)


# -------------------------------------------------------------------------------------------------- speed


def _stdlib_functions(limit: int) -> list[str]:
    lib = Path(os.__file__).parent
    out: list[str] = []
    for path in sorted(lib.glob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        lines = source.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                code = "\n".join(lines[node.lineno - 1:node.end_lineno])
                if 60 < len(code) < 6000:
                    out.append(code)
                    if len(out) == limit:
                        return out
    return out


def test_speed_and_no_flag_on_real_code(he_index):
    rows = _stdlib_functions(3000)
    assert len(rows) == 3000
    t = time.perf_counter()
    flagged = [r for r, text in enumerate(rows)
               if any(m.score >= Thresholds().examples for m in he_index.matches(text).values())]
    seconds = time.perf_counter() - t
    assert flagged == []
    # about 4,000 rows/s measured on a busy 2-core machine; 300 rows/s would still check 100k rows in 6 min
    assert 3000 / seconds > 300, seconds


# ------------------------------------------------------------------------------------------- planted set


def test_planted_set_numbers():
    """The README's numbers: paraphrases caught and clean rows flagged by the example score alone, per half."""
    rows = [json.loads(line) for line in PLANTED.read_text(encoding="utf-8").splitlines()]
    metas = [row.pop("meta") for row in rows]
    texts = [row_text(row) or "" for row in rows]
    th = Thresholds().examples
    caught: set[int] = set()
    flagged_clean: set[int] = set()
    for bench in ("humaneval", "mbpp"):
        problems = list(load_benchmark(bench))
        for (i, r), match in example_scores(problems, texts).items():
            m = metas[r]
            if match.score < th:
                continue
            if m["kind"] == "leak" and m["benchmark"] == bench and m["task_id"] == problems[i].task_id:
                caught.add(r)
            if m["kind"] in ("clean", "same-task"):
                flagged_clean.add(r)

    def count(rs: set[int], split: str, kind: str, content: str | None = None) -> tuple[int, int]:
        pool = [r for r, m in enumerate(metas) if m["split"] == split and m["kind"] == kind
                and (content is None or m["recipe"]["content"] == content)]
        return sum(r in rs for r in pool), len(pool)

    assert count(caught, "dev", "leak", "paraphrase") == (18, 20)
    assert count(caught, "test", "leak", "paraphrase") == (18, 28)  # held out: 36 of 48 together (75%)
    assert count(flagged_clean, "dev", "clean") == (1, 219) and count(flagged_clean, "test", "clean") == (1, 254)
    assert count(flagged_clean, "dev", "same-task") == (0, 33) and count(flagged_clean, "test", "same-task") == (0, 33)
    assert count(caught, "dev", "leak", "solution") == (0, 44)  # a solution alone holds no example


def test_decontamination_records_its_detectors():
    assert decontam_detectors(False) == {"ngram": 0.2, "n": 10, "jaccard": 0.4, "clone": 0.75,
                                       "function": "the item's whole function, 10+ tokens", "examples": 12.0}
    # evol and distill drop same-task rows too: the cosine alone flags at 0.8 there (not in `contam` by default)
    assert decontam_detectors(True)["cosine"] == 0.8
