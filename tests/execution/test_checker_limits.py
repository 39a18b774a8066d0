"""The trusted checker's own limits: what a program answers must never cost the checker more than a bound.

A program owns its end of the channel and can write any frame to it, so these attacks forge answers byte by
byte instead of returning values: the checker must refuse them before doing the work they ask for.
"""

from __future__ import annotations

import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.types import Problem, Status, Verdict


@pytest.fixture(scope="module")
def ex() -> Iterator[Executor]:
    with Executor(workers=1, limits=Limits(cpu_seconds=2.0, wall_seconds=6.0)) as executor:
        yield executor


PROBLEM = Problem(task_id="checker/answer", prompt="", entry_point="answer",
                  test="def check(candidate):\n    assert candidate() == 1\n")


def forge(body: str) -> str:
    """A program that answers the first call with the frame ``body`` (JSON text built by ``body``)."""
    return textwrap.dedent(f"""
        import os, socket, stat, struct, time
        def answer():
            data = ({body}).encode()
            for fd in range(3, 64):
                try:
                    if stat.S_ISSOCK(os.fstat(fd).st_mode):
                        os.write(fd, struct.pack(">I", len(data)) + data)
                except OSError:
                    pass
            time.sleep(5)
        """)


def run(ex: Executor, program: str) -> tuple[Verdict, float]:
    start = time.monotonic()
    ((_, verdict),) = list(ex.map([Job(0, Problem(**{**PROBLEM.__dict__, "task_id": uuid.uuid4().hex}), program)]))
    return verdict, time.monotonic() - start


def test_a_fraction_of_huge_integers_is_refused_before_any_gcd(ex: Executor) -> None:
    # two coprime-looking 28-Mbit integers: Fraction() would spend ~17 s in gcd, where no alarm reaches
    num, den = ("'{\"big\":\"0x' + os.urandom(3_500_000).hex() + '\"}'" for _ in range(2))
    v, wall = run(ex, forge(f"'[\"ok\",{{\"fr\":[' + {num} + ',' + {den} + ']}},null]'"))
    assert v.status is Status.ERROR and "bits" in v.detail, v
    assert wall < 3, wall


def test_millions_of_empty_lists_are_refused_before_they_are_parsed(ex: Executor) -> None:
    v, wall = run(ex, forge("'[\"ok\",[' + ','.join(['[]'] * 5_000_000) + '],null]'"))
    assert v.status is Status.ERROR and "lists and objects" in v.detail, v
    assert wall < 3, wall


def test_honest_big_answers_still_cross(ex: Executor) -> None:
    value = "[math.factorial(3000), Fraction(2**5000, 3**3000), [[]] * 200_000]"
    head = "import math\nfrom fractions import Fraction\n"
    problem = Problem(task_id="checker/big", prompt="", entry_point="answer",
                      test=f"{head}def check(candidate):\n    assert candidate() == {value}\n")
    program = f"{head}def answer():\n    return {value}\n"
    ((_, v),) = list(ex.map([Job(0, problem, program)]))
    assert v.passed, v
