# ruff: noqa: E501  (training rows are data: code on one line each reads better than re-wrapped)
"""The type-2 clone detector of ``coderank contam``: renamed and reformatted leaks, honest rows, broken code.

A renamed, re-indented, solution-only copy of a HumanEval problem shares no word 10-gram with the problem and
few shingles (the n-gram and MinHash detectors miss it); its normalised tokens are the problem's. Honest rows
that teach a benchmark task with their own code are not flagged, and broken Python does not stop the check.
The planted set of ``examples/contam_planted/`` is measured at the end.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coderank.problems import load_benchmark
from coderank.rigor.clone import FUNCTION_MIN_TOKENS, CloneIndex, code_tokens, entry_function_tokens, prose_words
from coderank.rigor.contam import Thresholds, check_contamination, flag_rows, row_text

ROOT = Path(__file__).resolve().parents[2]
PLANTED = ROOT / "examples" / "contam_planted" / "train.jsonl"


def _rename(code: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        code = re.sub(rf"\b{re.escape(old)}\b", new, code)
    return code


@pytest.fixture(scope="module")
def humaneval():
    return load_benchmark("humaneval")


@pytest.fixture(scope="module")
def mbpp():
    return load_benchmark("mbpp")


def _write(tmp_path: Path, rows: list[object]) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _hits(report, line: int) -> dict[str, object]:
    return {item.task_id: h for item in report.items for h in item.hits if h.line == line}


# ------------------------------------------------------------------------------------------ normalisation


def test_consistent_renaming_layout_and_comments_give_the_same_tokens():
    a = "def add_all(numbers, start=0):\n    total = start  # running sum\n    for x in numbers:\n        total += x\n    return total\n"
    b = "def f(xs, s=0):\n\tacc = s\n\tfor v in xs:   # loop\n\t\tacc += v\n\treturn acc\n"
    c = "def f(xs, s=0):\n  acc = s\n  for v in xs:\n    acc += v\n  return acc"
    assert code_tokens(a)[0] == code_tokens(b)[0] == code_tokens(c)[0]
    toks, _ = code_tokens(a)
    assert toks[:4] == ["def", "#v", "(", "#v"] and "for" in toks and "return" in toks


def test_literals_are_normalised_to_their_value_and_attributes_and_builtins_kept():
    assert code_tokens("x = 'a' + \"a\" + 0x10 + 16 + 1_000 + 1000.0")[0] == \
        ["#v", "=", "'a", "+", "'a", "+", "#16", "+", "#16", "+", "#1000", "+", "#1000.0"]
    assert code_tokens("return sorted(s.split())")[0] == ["return", "sorted", "(", "#v", ".", "split", "(", ")", ")"]


def test_docstrings_go_to_the_prose_channel():
    toks, docs = code_tokens('def f(a):\n    """Add one.\n    >>> f(1)\n    2\n    """\n    return a + 1\n')
    assert docs == ['"""Add one.\n    >>> f(1)\n    2\n    """'] and "'Add one." not in toks
    assert prose_words(docs[0]) == ["add", "one", "1", "2"]


def test_reformatted_examples_read_the_same():
    forms = [">>> below_zero([1, 2, -4, 5])\nTrue", "below_zero([1, 2, -4, 5]) == True",
             "Example: neg([1, 2, -4, 5]) -> True", "assert neg ([1, 2, -4, 5]) == True",
             "For example, neg([1, 2, -4, 5]) returns True."]
    assert {tuple(prose_words(f)) for f in forms} == {("1", "2", "4", "5", "true")}


# ------------------------------------------------------------------------------------------ detection


def test_renamed_solution_only_leak_is_caught_where_the_old_detectors_miss_it(humaneval, tmp_path):
    p = humaneval.problems["HumanEval/20"]
    body = _rename(p.canonical_solution, {"numbers": "vals", "closest_pair": "best", "new_distance": "d2",
                                          "distance": "gap", "idx2": "j", "idx": "i", "elem2": "y", "elem": "x"})
    leak = {"messages": [{"role": "user", "content": "Here is some code. What does it do?"},
                         {"role": "assistant", "content": "```python\ndef closest(vals):\n" + body.replace("    ", "\t") + "```"}]}
    clean = {"instruction": "Reverse the words of a sentence.", "input": "",
             "output": "def rev(s):\n    return ' '.join(reversed(s.split()))"}
    report = check_contamination(_write(tmp_path, [clean, leak]), humaneval, embeddings=False)
    hit = _hits(report, 2)["HumanEval/20"]
    th = Thresholds()
    # the old path (n-grams, MinHash) would not flag it ...
    assert hit.ngram < th.ngram and hit.jaccard < th.jaccard, hit
    # ... the clone detector does: the solution's normalised tokens are all in the row
    assert hit.flagged_by == ("clone",) and hit.clone == 1.0 and hit.clone_part == "solution"
    assert report.flagged_lines == (2,)


#: HumanEval/29's prompt only: function and parameters renamed (in the code and the examples, not in the prose),
#: examples rewritten, two-space indentation, in an instruction.
PROMPT_29 = (
    "Implement this:\n"
    "def keep_prefixed(words: list[str], start: str) -> list[str]:\n"
    '  """ Filter an input list of strings only for ones that start with a given prefix.\n'
    "  Example: keep_prefixed([], 'a') -> []\n"
    "  Example: keep_prefixed(['abc', 'bcd', 'cde', 'array'], 'a') -> ['abc', 'array']\n"
    '  """\n'
)


def test_prompt_and_solution_are_separate_items(humaneval, tmp_path):
    """A row holding only the renamed prompt, with examples rewritten, matches the prompt part in full."""
    report = check_contamination(_write(tmp_path, [{"text": PROMPT_29}]), humaneval, embeddings=False)
    hit = _hits(report, 1)["HumanEval/29"]
    assert "clone" in hit.flagged_by and hit.clone_part == "prompt" and hit.clone == 1.0


def test_renaming_that_rewrites_the_prose_is_a_limit(humaneval, tmp_path):
    """Replacing the parameter names everywhere also rewrites the docstring ("list of words ... given start"):
    every 4-gram holding one of them is lost, and the clone detector does not flag the prompt-only row
    (measured 0.62). Its doctest keeps the problem's values, so the example fingerprints flag it."""
    p = humaneval.problems["HumanEval/29"]
    prompt = _rename(p.prompt, {"filter_by_prefix": "keep_prefixed", "strings": "words", "prefix": "start"})
    report = check_contamination(_write(tmp_path, [{"text": prompt}]), humaneval, embeddings=False)
    hit = _hits(report, 1)["HumanEval/29"]
    assert hit.flagged_by == ("examples",) and 0.5 < hit.clone < Thresholds().clone
    assert hit.examples_matched[0].startswith('["abc", "bcd", "cde", "array"]')


#: Rows written for this test that teach a HumanEval or MBPP-test task with their own code.
SAME_TASK = [
    ("Write a function that reverses a string.", "def reverse(s):\n    out = ''\n    for ch in s:\n        out = ch + out\n    return out"),
    ("Check whether a string is a palindrome.", "def is_pal(s):\n    return s == s[::-1]"),
    ("Return the n-th Fibonacci number.", "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a"),
    ("Is n a prime number?", "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))"),
    ("Count the vowels in a word.", "def vowels(w):\n    return sum(c in 'aeiouAEIOU' for c in w)"),
    ("Find the greatest common divisor of two integers.", "import math\n\ndef gcd2(a, b):\n    return math.gcd(a, b)"),
    ("Remove duplicates from a list, keeping the first occurrence.", "def dedupe(xs):\n    return list(dict.fromkeys(xs))"),
    ("Sort a list of tuples by their last element.", "def by_last(ts):\n    return sorted(ts, key=lambda t: t[-1])"),
]


def test_honest_same_task_rows_are_not_flagged(humaneval, mbpp, tmp_path):
    path = _write(tmp_path, [{"instruction": i, "input": "", "output": o} for i, o in SAME_TASK])
    for bench in (humaneval, mbpp):
        report = check_contamination(path, bench, embeddings=False)
        assert report.flagged_lines == (), [(i.task_id, h) for i in report.leaked for h in i.hits if h.flagged]
        assert max((h.clone for i in report.items for h in i.hits), default=0.0) < Thresholds().clone


BROKEN = [
    '"""an unterminated docstring\ndef f(:\n  return',
    "def f():\n        x = 1\n    y = 2\n  return x\n",  # inconsistent dedent: IndentationError
    "if (a and [b, {c:\n",  # unclosed brackets: EOF in multi-line statement
    "\x00\x01 def \u2028 ))) ((( ''' \\",
    "(" * 5000,
    "It's a `code` block: ```py\nprint('hi)\n```",
    "0x 1e 1_ 08 0b2 1.2.3 'a' \"b",
]


@pytest.mark.parametrize("text", BROKEN)
def test_broken_python_gives_tokens_instead_of_an_error(text):
    toks, docs = code_tokens(text)
    assert isinstance(toks, list) and isinstance(docs, list)
    assert isinstance(prose_words(text), list)


def test_broken_rows_do_not_stop_the_check_and_a_leak_in_broken_code_is_caught(humaneval, tmp_path):
    p = humaneval.problems["HumanEval/20"]
    body = _rename(p.canonical_solution, {"numbers": "xs", "distance": "dd", "elem": "e"})
    leak = "def closest(xs):\n" + body + '    """never closed\n  bad indent\n'
    rows = [{"text": t} for t in BROKEN] + [{"text": leak}]
    report = check_contamination(_write(tmp_path, rows), humaneval, embeddings=False)
    assert report.rows == len(rows) and report.bad_lines == ()
    assert report.flagged_lines == (len(rows),)
    assert "clone" in _hits(report, len(rows))["HumanEval/20"].flagged_by


def test_flag_rows_names_the_clone_detector(humaneval):
    p = humaneval.problems["HumanEval/20"]
    body = _rename(p.canonical_solution, {"numbers": "values", "elem": "a", "elem2": "b"})
    rows = [{"instruction": "Sum a list.", "output": "def s(xs):\n    return sum(xs)"},
            {"instruction": "Finish it.", "output": "def nearest(values):\n" + body}]
    leaks = flag_rows(rows, [humaneval])
    assert list(leaks) == [1] and leaks[1] == ["HumanEval/20 (clone 1.00)"]


def test_common_ngrams_identify_no_item():
    """An n-gram found in 3 or more items is left out, so boilerplate alone cannot make a match."""
    boiler = "import re\ndef {}(text):\n  if re.search(patterns, text):\n    return 'Found a match!'\n  else:\n    return('Not matched!')\n"
    items = [(f"def f{k}(text):\n    \"\"\"Match pattern {k} in words.\"\"\"\n", boiler.format(f"f{k}").replace("patterns", f"'p{k}'"))
             for k in range(4)]
    index = CloneIndex(items)
    row = boiler.format("g").replace("patterns", "'zz'")
    assert all(score < Thresholds().clone for score, _ in index.scores(row).values())
    assert index.scores(items[2][1])[2] == (1.0, "solution")


# ------------------------------------------------------------------------------------------ whole functions

VOLUME = "def volume_cuboid(l,w,h):\n  volume=l*w*h\n  return volume\n"  # MBPP/373's reference program


def test_the_items_function_is_its_last_def_without_the_docstring(humaneval, mbpp):
    item = {p.task_id: p for p in mbpp}["MBPP/373"]
    # MBPP's prompt holds a stub of the same name (signature and docstring); the reference program defines it
    assert entry_function_tokens(item.prompt, item.canonical_solution, item.entry_point) == code_tokens(VOLUME)[0]
    he = {p.task_id: p for p in humaneval}["HumanEval/30"]  # HumanEval: the prompt's def line, the solution's body
    toks = entry_function_tokens(he.prompt, he.canonical_solution, he.entry_point)
    assert toks == code_tokens("def f(l: list):\n    return [e for e in l if e > 0]\n")[0]
    assert entry_function_tokens("no code here", None, "f") is None


def test_a_renamed_small_function_is_matched_whole_where_the_clone_score_stays_low(mbpp):
    items = [(p.prompt, p.canonical_solution) for p in mbpp]
    index = CloneIndex(items, [p.entry_point for p in mbpp])
    at = [p.task_id for p in mbpp].index("MBPP/373")
    row = "Complete it.\n```python\n# area times height\ndef box(a, b, c):\n    v = a * b * c\n    return v\n```"
    scores, whole = index.match(row)
    assert at in whole and scores.get(at, (0.0, ""))[0] < Thresholds().clone  # too small for the clone score
    assert at not in index.match(row.replace("a * b * c", "a * b + c"))[1]  # another operator: another function
    assert at not in index.match(row.replace("return v", "return v + 1"))[1]
    assert not CloneIndex(items).match(row)[1]  # no entry points given: no function index
    # a function of fewer tokens than the floor is not indexed
    assert CloneIndex([("", "def f(x):\n    return x\n")], ["f"]).functions == {}
    assert len(code_tokens("def f(x):\n    return x\n")[0]) < FUNCTION_MIN_TOKENS


def test_a_whole_function_match_is_flagged_when_its_run_passes_the_items_tests(tmp_path):
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(json.dumps(p) + "\n" for p in [
        {"task_id": "T/1", "prompt": "def diff(a, b):\n    \"\"\"a minus b\"\"\"\n",
         "canonical_solution": "    d = a - b\n    return d\n", "entry_point": "diff",
         "test": "def check(f):\n    assert f(5, 3) == 2\n    assert f(1, 4) == -3\n"}]))
    copy = "def sub(x, y):\n    r = x - y\n    return r\n"
    swapped = "def sub(x, y):\n    r = y - x\n    return r\n"  # the same tokens once renamed; the other difference
    path = _write(tmp_path, [{"text": copy}, {"text": swapped}])

    def by(report):
        return {h.line: (h.flagged_by, h.clone, h.clone_part) for i in report.items for h in i.hits}

    ran = by(check_contamination(path, str(problems), embeddings=False, behaviour=True))
    assert ran[1] == (("function",), 1.0, "function") and ran[2] == ((), 1.0, "function")
    listed = by(check_contamination(path, str(problems), embeddings=False))  # not run: listed, not flagged
    assert listed[1] == ((), 1.0, "function") and listed[2] == ((), 1.0, "function")
    # decontaminating training data drops both: it does not run code
    assert flag_rows([{"text": copy}, {"text": swapped}], [load_benchmark(str(problems))]) == {
        0: ["T/1 (its function)"], 1: ["T/1 (its function)"]}


def test_a_bare_body_is_matched_whole_and_flagged_when_it_passes_in_the_items_program(tmp_path):
    """A HumanEval completion is a body without its ``def``: found token for token (names aside), then run as the
    body of the item's own function; a body that continues, or computes something else, is not flagged."""
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(json.dumps(p) + "\n" for p in [
        {"task_id": "T/1", "prompt": "def last_digits(a, b):\n    \"\"\"Product of the last digits.\"\"\"\n",
         "canonical_solution": "    return abs(a % 10) * abs(b % 10)\n", "entry_point": "last_digits",
         "test": "def check(f):\n    assert f(148, 412) == 16\n    assert f(-15, 14) == 20\n"}]))
    rows = [
        {"prompt": "Here is a function I found. Can you explain it?\n",
         "completion": "        return abs(a % 10) * abs(b % 10)\n"},
        {"text": "Explain:\n```python\n    return abs(a % 10) * abs(b % 10) + 1\n```"},  # continues: not the body
        {"text": "Explain:\n    return abs(a % 10) * abs(b % 100)\n"},  # another number: another body
        {"text": "Explain:\n    return abs(x % 10) * abs(y % 10)\n"},  # renamed: same tokens, but x, y unbound
    ]
    path = _write(tmp_path, rows)
    item = json.loads(problems.read_text())
    index = CloneIndex([(item["prompt"], item["canonical_solution"])], [item["entry_point"]])
    assert [bool(index.match(row_text(r) or "")[1]) for r in rows] == [True, False, False, True]
    report = check_contamination(path, str(problems), embeddings=False, behaviour=True)
    hits = {h.line: h for i in report.items for h in i.hits}
    assert hits[1].flagged_by == ("function",) and hits[1].clone_part == "function"
    assert hits[1].behaviour is not None and hits[1].behaviour["function"] == "body"
    assert not hits[4].flagged_by  # the body ran with unbound names: nothing concluded, a function match needs "same"
    assert all(not hits[k].flagged_by for k in (2, 3) if k in hits)


# ------------------------------------------------------------------------------------------ the planted set


@pytest.fixture(scope="module")
def planted():
    """The planted set's labels and, per benchmark, the flagged (line, task) pairs with their detectors."""
    metas = [json.loads(line)["meta"] for line in PLANTED.read_text(encoding="utf-8").splitlines()]
    flagged: dict[tuple[int, str], tuple[str, ...]] = {}
    for bench in ("humaneval", "mbpp"):
        report = check_contamination(PLANTED, bench, embeddings=False)
        for item in report.leaked:
            for hit in item.hits:
                if hit.flagged:
                    flagged[(hit.line, item.task_id)] = hit.flagged_by
    return metas, flagged


def test_planted_set_leaks_are_caught(planted):
    """Every renamed or verbatim leak is caught as a clone, except copies of a tiny part (as measured):
    solution-only copies of one- or two-line solutions (5 or fewer code n-grams, e.g. MBPP/373's
    ``volume=l*w*h``, which independent code writes too), HumanEval/38's two-sentence docstring alone, and
    about one fragment (first half of a program) in six."""
    metas, flagged = planted
    missed: dict[str, list[str]] = {}
    for line, m in enumerate(metas, start=1):
        if m["kind"] == "leak" and "clone" not in flagged.get((line, m["task_id"]), ()):
            missed.setdefault(m["recipe"]["content"], []).append(m["task_id"])
    assert not {"code", "prompt", "instruction+code"} & set(missed), missed
    assert missed["instruction"] == ["HumanEval/38"]
    assert sorted(missed["solution"]) == sorted(["HumanEval/30", "HumanEval/97", "MBPP/319", "MBPP/477", "MBPP/373",
                                                 "MBPP/77", "MBPP/313", "MBPP/499", "MBPP/213"])
    assert len(missed["fragment"]) == 20


def test_planted_set_false_positives(planted):
    metas, flagged = planted
    clean = {line for line, m in enumerate(metas, start=1) if m["kind"] in ("clean", "same-task")}
    by_clone = {line for (line, _), by in flagged.items() if line in clean and "clone" in by}
    by_any = {line for (line, _), by in flagged.items() if line in clean}
    assert len(clean) == 539
    # one honest row: a count-in-a-loop that is a type-2 clone of MBPP/446's whole solution
    assert [(metas[line - 1]["kind"], task) for (line, task) in flagged if line in by_clone] == [("same-task", "MBPP/446")]
    # the n-gram detector adds MBPP train rows built from the same template as a test problem
    by_others = {line for (line, _), by in flagged.items() if line in clean and set(by) - {"examples"}}
    assert len(by_others) / len(clean) <= 0.01
    # the example fingerprints add two MBPP train rows that state a test problem's own example: heap_sort's
    # [1, 3, 5, 7, 9, 2, 4, 6, 8, 0] -> [0, ..., 9] (MBPP/372's) and super_seq("AGGTAB", "GXTXAYB", 6, 7),
    # MBPP/187's inputs, with a 4 from the next assert after them
    by_examples = {(line, task) for (line, task), by in flagged.items() if line in clean and "examples" in by}
    assert sorted(task for _, task in by_examples) == ["MBPP/187", "MBPP/372"]
    assert all(metas[line - 1]["source"] == "mbpp-train" for line, _ in by_examples)
    assert len(by_any) == len(by_others) + 2 == 7  # 1.3% of the clean rows


def test_planted_set_with_the_code_run_catches_the_small_solutions():
    """With the rows' code run (``contam``'s default), a renamed or verbatim copy of a short solution is caught by
    its whole function, which passes the item's tests, and HumanEval/97's body without its ``def`` line by that
    body, which passes them in the item's own function. One clean row pays for it: MBPP/789's perimeter of a polygon, ``s * l``, is the
    same function as MBPP/52's and MBPP/458's areas, ``b * h``."""
    metas = [json.loads(line)["meta"] for line in PLANTED.read_text(encoding="utf-8").splitlines()]
    flagged: dict[tuple[int, str], tuple[str, ...]] = {}
    for bench in ("humaneval", "mbpp"):
        for item in check_contamination(PLANTED, bench, embeddings=False, behaviour=True).leaked:
            flagged.update({(h.line, item.task_id): h.flagged_by for h in item.hits if h.flagged})
    missed = sorted(m["task_id"] for line, m in enumerate(metas, start=1)
                    if m["kind"] == "leak" and m["recipe"]["content"] == "solution"
                    and not flagged.get((line, m["task_id"])))
    assert missed == []
    by_function = sorted((metas[line - 1]["task_id"], task) for (line, task), by in flagged.items()
                         if "function" in by and metas[line - 1]["kind"] in ("clean", "same-task"))
    assert by_function == [("MBPP/789", "MBPP/458"), ("MBPP/789", "MBPP/52")]
