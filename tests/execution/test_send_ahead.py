"""Calls sent ahead: the checker replays a problem's previous calls without waiting for each answer.

Whatever the programs do, each verdict must be the one the program gets when its calls are made one at a
time: the reference is the same jobs, in the same order, through an executor without ``send_ahead`` (the
default).
"""

from __future__ import annotations

import pytest

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.types import Problem, Status

DOUBLE = Problem(
    task_id="ahead/double",
    prompt="def f(x):\n",
    entry_point="f",
    test=(
        "def check(candidate):\n"
        "    assert candidate(0) == 0\n"
        "    assert candidate(1) == 2\n"
        "    assert candidate(2) == 4\n"
        "    xs = [3, 1, 2]\n"
        "    assert candidate(xs) == [3, 1, 2, 3, 1, 2]\n"
        "    assert candidate(x=5) == 10\n"
    ),
)

PROGRAMS = {
    "correct": "    return x * 2\n",
    "wrong first": "    return x * 2 + 1\n",
    "wrong third": "    return 5 if x == 2 else x * 2\n",
    "raises on second": "    if x == 1:\n        raise ValueError('no')\n    return x * 2\n",
    "loops on second": "    while x == 1:\n        pass\n    return x * 2\n",
    "exits on third": "    import os\n    if x == 2:\n        os._exit(0)\n    return x * 2\n",
    "mutates the list": "    if isinstance(x, list):\n        x.sort()\n    return x * 2\n",
    "fails to load": "    return (\n",
    "exits at load": "    return x * 2\nraise SystemExit(3)\n",
    "prints a lot": "    print('y' * 10000)\n    return x * 2\n",
    "stateful": "    global n\n    n = globals().get('n', 0) + 1\n    return x * 2 if n < 3 else -1\n",
}


@pytest.fixture(scope="module")
def ex():
    # One worker: every job of a problem goes through the same checker, so plans are used.
    with Executor(workers=1, limits=Limits(cpu_seconds=0.5, wall_seconds=3), send_ahead=True) as executor:
        yield executor


@pytest.fixture(scope="module")
def one_at_a_time():
    with Executor(workers=1, limits=Limits(cpu_seconds=0.5, wall_seconds=3)) as executor:  # the default
        yield executor


def _run(ex: Executor, jobs: list[Job]) -> dict[object, object]:
    return {job.key: v for job, v in ex.map(jobs)}


def test_verdicts_with_a_plan_equal_those_made_one_call_at_a_time(ex: Executor, one_at_a_time: Executor) -> None:
    names = list(PROGRAMS)
    order = ["correct", *names, "correct", *reversed(names)]  # plans made by passing and failing programs
    jobs = [Job((i, n), DOUBLE, DOUBLE.prompt + PROGRAMS[n]) for i, n in enumerate(order)]
    ahead, plain = _run(ex, jobs), _run(one_at_a_time, jobs)
    for key, v in ahead.items():
        ref = plain[key]
        assert (v.status, v.detail) == (ref.status, ref.detail), key  # type: ignore[attr-defined]
    statuses = {name: v.status for (_, name), v in plain.items()}  # type: ignore[attr-defined,misc]
    assert statuses["correct"] == Status.PASSED and statuses["mutates the list"] == Status.FAILED
    assert statuses["wrong third"] == Status.FAILED and statuses["stateful"] == Status.FAILED
    assert statuses["loops on second"] == Status.TIMEOUT and statuses["exits on third"] == Status.CRASHED


def test_a_call_sent_ahead_that_loops_does_not_turn_a_failure_into_a_timeout(ex: Executor) -> None:
    # The tests stop at the first call (wrong answer); the second call, sent ahead, never returns.
    program = DOUBLE.prompt + "    while x == 1:\n        pass\n    return 7\n"
    _run(ex, [Job("plan", DOUBLE, DOUBLE.prompt + PROGRAMS["correct"])])
    [v] = _run(ex, [Job("v", DOUBLE, program)]).values()
    assert v.status == Status.FAILED, v  # decided on the first answer, not a timeout  # type: ignore[attr-defined]
    assert "candidate(0) == 0" in v.detail  # type: ignore[attr-defined]


RANDOM = Problem(
    task_id="ahead/random",
    prompt="def f(x):\n",
    entry_point="f",
    test=(
        "import random\n"
        "def check(candidate):\n"
        "    for _ in range(5):\n"
        "        x = random.randint(0, 10**9)\n"
        "        assert candidate(x) == x + 1\n"
    ),
)
CHAINED = Problem(  # the second call's argument is the first call's answer
    task_id="ahead/chained",
    prompt="def f(x):\n",
    entry_point="f",
    test="def check(candidate):\n    r = candidate(1)\n    assert candidate(r) == 4\n",
)


@pytest.mark.parametrize(
    ("problem", "programs"),
    [
        (RANDOM, ["    return x + 1\n", "    return x + 2\n", "    return x + 1\n", "    return x + 1\n"]),
        # The second program answers the planned second call (2) with the right value, but the tests ask
        # it about 5: only a checker that compares each call with the plan gets this one right.
        (CHAINED, ["    return x * 2\n", "    return {1: 5, 2: 4}.get(x, 0)\n", "    return x + 1\n",
                   "    return x * 2\n"]),
    ],
)
def test_tests_whose_calls_change_between_programs_still_judge_each_program(
    ex: Executor, problem: Problem, programs: list[str]
) -> None:
    jobs = [Job(i, problem, problem.prompt + body) for i, body in enumerate(programs)]
    got = [v.status for _, v in sorted(_run(ex, jobs).items())]  # type: ignore[attr-defined]
    want = [Status.PASSED, Status.FAILED, Status.FAILED, Status.PASSED]
    if problem is RANDOM:
        want = [Status.PASSED, Status.FAILED, Status.PASSED, Status.PASSED]
    assert got == want


def test_richer_values_handles_and_functions_of_the_tests_get_the_same_verdicts_sent_ahead() -> None:
    # Every program of test_values (iterators, numpy, classes, closures, functions the tests pass,
    # dataclasses), three samples each so that plans are made and replayed.
    from test_values import CASES

    jobs = [Job((name, i), Problem(task_id=name, prompt="", entry_point="f", test=test), program)
            for name, (program, test) in CASES.items() for i in range(3)]
    verdicts = []
    for ahead in (False, True):
        with Executor(workers=2, limits=Limits(cpu_seconds=2.0, wall_seconds=10.0), send_ahead=ahead) as ex:
            verdicts.append({job.key: (v.status, v.detail) for job, v in ex.map(jobs)})
    assert verdicts[0] == verdicts[1]
