"""Differential-test machinery: reference outputs from the sandbox, test data as source, one comparison rule."""

from __future__ import annotations

import math

import pytest

from coderank.execution.codec import Opaque
from coderank.execution.pool import Executor, Job
from coderank.problems.reference import (
    RunRequest,
    cases_test_code,
    comparator,
    reference_limits,
    run_inputs,
    to_source,
)
from coderank.types import Problem


@pytest.mark.parametrize("value", [
    None, True, 0, -7, 10 ** 5000, -(10 ** 5000), 1.5, -0.0, float("inf"), float("-inf"), "a'\"\n\u00e9\ud800",
    b"\x00\xff", 1 + 2j, [], [1, [2, (3,)]], (), (1,), {"k": [1.0]}, {1: {2: 3}}, set(), {1, 2}, frozenset({"a"}),
], ids=lambda v: type(v).__name__)
def test_to_source_round_trips_plain_data(value):
    back = eval(to_source(value))  # our own output, in a test
    assert back == value and type(back) is type(value)


def test_to_source_writes_nan_and_refuses_other_types():
    assert math.isnan(eval(to_source(float("nan"))))
    with pytest.raises(TypeError):
        to_source(Opaque("re.Match", "<re.Match>"))


def test_comparison_follows_evalplus():
    same = comparator()
    assert same(1.0000001, 1.0, ())  # float result: atol 1e-6 by default
    assert not same(1.01, 1.0, ())
    assert same(1.01, 1.0, (), 0.1)
    assert not same(1, 1.0000001, ())  # not equal, and an int is not a float
    assert same([1.0, 2.0000001], [1.0, 2.0], ())
    assert not same((1.0,), [1.0], ())  # a tuple is not a list ...
    assert same((1, 2), [1, 2], (), 0.0, "sequence")  # ... unless the tests accepted both
    assert same([3, 1], (1, 3), (), 0.0, "set") and not same([3], (1, 3), (), 0.0, "set")
    assert same(2.0, 0.0, ([-4, 2],), 1e-4, "poly_root") and not same(1.0, 0.0, ([-4, 2],), 1e-4, "poly_root")
    assert same(Opaque("re.Match", "m"), True, (), 0.0, "not_none") and not same(None, True, (), 0.0, "not_none")
    assert not same(Opaque("x", "y"), Opaque("x", "y"), ())  # nothing of unknown type is ever equal
    assert not same(float("nan"), float("nan"), ())


def test_cases_test_code_keeps_the_original_check_and_reports_the_case():
    code = "def check(candidate):\n    assert candidate(1) == 2\n"
    code += "\n" + cases_test_code([((2,), 4), ((3,), 6)], keep_check=True, note="n")
    namespace: dict = {}
    exec(code, namespace)
    namespace["check"](lambda x: 2 * x)
    with pytest.raises(AssertionError, match=r"case 1: input \(3,\): expected 6, got 7"):
        namespace["check"](lambda x: 2 * x if x < 3 else 7)
    with pytest.raises(AssertionError):
        namespace["check"](lambda x: 2 * x if x > 1 else 0)  # the original check still runs first


NOISY = '''
def f(x):
    print("noise that must not be taken for a result")
    if x == 3:
        while True:
            pass
    if x == 4:
        raise ValueError("four")
    if x == 5:
        return object()
    return {"x": (x, [x * 1.5])}
'''


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=2, limits=reference_limits(0.5)) as executor:
        yield executor


def test_run_inputs_returns_plain_values_and_resumes_after_a_slow_input(ex):
    req = RunRequest("k", NOISY, "f", [(1,), (3,), (4,), (5,), (6,)])
    [(got, outs)] = list(run_inputs(ex, [req]))
    assert got is req
    assert [o.status for o in outs] == ["ok", "timeout", "raised", "ok", "ok"]
    assert outs[0].value == {"x": (1, [1.5])} and outs[4].value == {"x": (6, [9.0])}
    assert "ValueError: four" in outs[2].detail
    assert isinstance(outs[3].value, Opaque)  # an object of the program never reaches the trusted side


def test_run_inputs_without_resume_marks_the_rest_missing(ex):
    [(_, outs)] = list(run_inputs(ex, [RunRequest("k", NOISY, "f", [(1,), (3,), (6,)])], resume=False))
    assert [o.status for o in outs] == ["ok", "timeout", "missing"]


def test_a_per_call_budget_stops_only_that_call(ex):
    [(_, outs)] = list(run_inputs(ex, [RunRequest("k", NOISY, "f", [(3,), (6,), (3,), (7,)])], call_seconds=0.05,
                                  resume=False))
    assert [o.status for o in outs] == ["timeout", "ok", "timeout", "ok"]


def test_generated_tests_judge_in_the_sandbox_like_any_test(ex):
    test = cases_test_code([((2,), [2.0, 3.0]), ((6,), [6.0, 9.0000001]), ((1,), {"x": (1, [1.5])})])
    problem = Problem("t/0", "", "f", test)
    right = "def f(x):\n    return [float(x), x * 1.5] if x > 1 else {'x': (x, [x * 1.5])}\n"
    wrong = "def f(x):\n    return [float(x), x * 1.5] if x > 1 else {'x': [x, [x * 1.5]]}\n"
    verdicts = {job.key: v for job, v in ex.map([Job("right", problem, right), Job("wrong", problem, wrong)])}
    assert verdicts["right"].passed  # 9.0 is within 1e-6 of 9.0000001: a flat list of floats has a tolerance
    assert not verdicts["wrong"].passed and "case 2" in verdicts["wrong"].detail
