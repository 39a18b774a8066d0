"""Splitting a teacher's answer into solution and tests, and the mutants the tests must reject (no sandbox here)."""

import ast

import pytest

from coderank.distill import MUTANTS, mutant, split_answer
from coderank.distill._selftest import failure_detail, program


def answer(solution, tests=None):
    text = f"Here you go:\n\n```python\n{solution}\n```\n"
    return text + (f"\nTests:\n\n```python\n{tests}\n```\n" if tests is not None else "")


def test_solution_and_tests_in_two_blocks():
    s = split_answer(answer("import math\n\ndef area(r):\n    return math.pi * r * r\n\nprint(area(2))",
                            "assert area(0) == 0\nassert abs(area(1) - 3.14159) < 1e-3"))
    assert s.status == "" and s.solution == "import math\n\n\ndef area(r):\n    return math.pi * r * r"
    assert s.tests == "assert area(0) == 0\nassert abs(area(1) - 3.14159) < 1e-3"


def test_tests_inside_the_solution_block_are_split_off():
    s = split_answer(answer("def add(a, b):\n    return a + b\n\n# tests\nassert add(1, 2) == 3\nx = add(2, 2)\n"
                            "assert x == 4"))
    assert s.status == "" and s.solution == "def add(a, b):\n    return a + b"
    assert s.tests == "# tests\nassert add(1, 2) == 3\nx = add(2, 2)\nassert x == 4"


def test_the_tests_own_copy_of_the_solution_is_removed():
    s = split_answer(answer("def add(a, b):\n    return a - b",
                            "from solution import add\n\ndef add(a, b):\n    return a + b\n\nassert add(1, 2) == 3"))
    assert s.status == "" and "def add" not in s.tests and "import" not in s.tests
    assert s.tests.strip() == "assert add(1, 2) == 3"


@pytest.mark.parametrize("text, status, why", [
    ("I would loop over the items.", "no_code", "no Python code block"),
    (answer("x = 1"), "no_code", "defines a function"),
    (answer("def f(x):\n    return x"), "invalid", "no tests"),
    (answer("def f(x):\n    return x", "assert 1 + 1 == 2"), "invalid", "never use the solution"),
    (answer("def f(x):\n    return x", "f(1)\nprint(f(2))"), "invalid", "no assert"),
    (answer("def f(x):\n    return x", "def f(x):\n    return x"), "invalid", "no tests"),
    (answer("def f(x):\n    return x", "def f(x):\n    assert x\n    return x"), "invalid", "no tests left"),
])
def test_unusable_answers_say_why(text, status, why):
    s = split_answer(text)
    assert s.status == status and why in s.detail


@pytest.mark.parametrize("kind, expect", [("none", None), ("identity", 7), ("true", True)])
def test_mutants_replace_every_body(kind, expect):
    src = ("class Box:\n    def get(self, x):\n        return x * 2\n    @staticmethod\n    def make(y):\n"
           "        return [y]\nsquare = lambda z: z * z\ndef f(a, b=1):\n    return a + b\n")
    ns = {}
    exec(mutant(src, kind), ns)
    assert ns["f"](7) == expect and ns["square"](7) == expect and ns["Box"]().get(7) == expect
    assert ns["Box"].make(7) == expect


def test_the_raise_mutant_raises_everywhere():
    ns = {}
    exec(mutant("def f(a):\n    return a\ng = lambda: 1\n", "raise"), ns)
    for fn in (lambda: ns["f"](1), ns["g"]):
        with pytest.raises(NotImplementedError):
            fn()
    assert set(MUTANTS) == {"none", "raise", "identity", "true"}


def test_the_program_runs_the_tests_and_reports_the_failing_line():
    ns = {}
    exec(program("def add(a, b):\n    return a - b", "assert add(0, 0) == 0\nassert add(1, 2) == 3, 'sum'"), ns)
    out = ns["_coderank_selftest"]()
    assert out == "a test failed at tests line 2: assert add(1, 2) == 3, 'sum' (sum)"
    ns = {}
    exec(program("def add(a, b):\n    return a + b", "def test_it():\n    assert add(1, 2) == 3"), ns)
    assert ns["_coderank_selftest"]() is True
    ns = {}
    exec(program("def add(a, b):\n    return a + b", "def test_it():\n    assert add(1, 2) == 4"), ns)
    assert ns["_coderank_selftest"]().startswith("a test failed at tests line 2")
    ast.parse(program("def f():\n    pass", "assert f() is None"))
    assert failure_detail("test line 3 failed: assert outcome is True, outcome (a test failed at tests line 1: "
                          "assert f(1) == 2)") == "a test failed at tests line 1: assert f(1) == 2"


def test_a_test_function_in_the_solution_block_and_its_call_are_the_tests():
    s = split_answer(answer("from typing import List\n\ndef rev(words: List[str]) -> str:\n"
                            "    return ' '.join(reversed(words))\n\n# Tests\ndef test_rev():\n"
                            "    assert rev(['a', 'b']) == 'b a', 'case 1'\n    print('ok')\n\n# Run the tests\n"
                            "test_rev()"))
    assert s.status == "" and s.solution == ("from typing import List\n\n\ndef rev(words: List[str]) -> str:\n"
                                             "    return ' '.join(reversed(words))")
    assert s.tests.startswith("# Tests\ndef test_rev():") and s.tests.endswith("# Run the tests\ntest_rev()")
    ns = {}
    exec(program(s.solution, s.tests), ns)
    assert ns["_coderank_selftest"]() is True
