"""Does a flagged training row compute the benchmark item's function, or another one? Ask its tests.

MBPP's authors wrote many problems from one template: "the sum of odd factors" beside "the sum of even
factors", "count equal pairs" beside "count inversions". A training row holding one sibling shares the other's
code n-grams and example values, so the text detectors flag it, yet it teaches a different function: it is not
the item leaking. Its code can say so. Each function the row defines is run, in the sandbox, as the item's entry
point against the item's own tests:

- ``same``: a function passes every test. The row holds a working solution of the item (a copy, renamed or
  not, or an honest solution of the same task): the flag stands.
- ``different``: no function passes, and at least one ran every call without raising, returned values (not
  ``None``) and failed an assertion: the row computes something else. In an audit (``coderank contam``) the
  row is then not counted as a leak when only text-level scores (n-grams, MinHash, example values) flagged it.
- ``unknown``: no code, code that does not run, functions that raise or return nothing (a fragment of the
  solution, a helper): nothing is concluded and the flag stands.

A row that copies the item's statement but carries a wrong program of its own would read ``different``; that is
why only the text scores are overruled, never a type-2 clone of the item's code, the embedding cosine or the
judge, and why decontaminating generated training data (``evol``, ``distill``), which prefers losing a row to
keeping a leak, does not ask.

One text score needs more than that: ``function`` (the row holds a function that is, names aside, token for token
the item's, or its bare body; see :mod:`coderank.rigor.clone`) is the evidence that catches a renamed copy of a
three-line solution, and three-line solutions coincide. When the check runs it stands only on ``same``. A row that
defines no function but holds a bare body (a HumanEval completion) is run as that body: the item's own program
with its entry point's body replaced by the row's lines (:func:`body_program`), reported as function ``body``.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from coderank.models.extract import fenced_blocks
from coderank.types import Problem

TEXT_DETECTORS = frozenset({"ngram", "jaccard", "examples", "examples+cosine", "function"})
"""The scores a ``different`` behaviour overrules (they compare text, not what the code does)."""

CONFIRMED_ONLY = frozenset({"function"})
"""The scores that stand only when the check ran and said ``same`` (or did not run at all)."""

MAX_FUNCTIONS = 6
"""Functions of one row tried as the entry point (the row's own, in order; more are rarely more than helpers)."""

_CODE_START = re.compile(r"^(?:def |async def |class |import |from \S+ import )", re.M)
_PROBE = """

def __coderank_probe(*args, __coderank_f={name}, **kwargs):
    result = __coderank_f(*args, **kwargs)
    if result is None:
        raise RuntimeError("returned None")
    return result


{entry} = __coderank_probe
"""


@dataclass(frozen=True)
class Behaviour:
    """What running a row's functions against an item's tests said.

    Attributes:
        verdict: ``same``, ``different`` or ``unknown`` (see the module's description).
        function: The row's function the verdict rests on (the one that passed, or one that failed), if any.
        detail: Why, in a line: the failed assertion, or what kept the row from being judged.
    """

    verdict: str
    function: str | None = None
    detail: str = ""


def row_code(text: str) -> str | None:
    """The Python code a training row holds: its fenced blocks, else the text from its first line of code.

    Each piece is cut to its longest prefix that parses; ``None`` when no piece defines a function.
    """
    blocks = [block.code for block in fenced_blocks(text) if block.python]
    if not blocks:
        start = _CODE_START.search(text)
        blocks = [text[start.start():]] if start else []
    pieces = [code for code in map(_parse_prefix, blocks) if code]
    code = "\n\n".join(pieces)
    return code if functions(code) else None


def functions(code: str) -> list[str]:
    """The names of the module-level functions ``code`` defines, in order, each once."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    return list(dict.fromkeys(names))


def _parse_prefix(code: str) -> str:
    lines = code.splitlines()
    for end in range(len(lines), 0, -1):
        piece = "\n".join(lines[:end])
        try:
            ast.parse(piece)
        except (SyntaxError, ValueError):
            continue
        return piece + "\n"
    return ""


def probe_programs(problem: Problem, code: str) -> list[tuple[str, str]]:
    """(function, program) for each of the row's functions bound as the item's entry point."""
    return [(name, code + _PROBE.format(name=name, entry=problem.entry_point))
            for name in functions(code)[:MAX_FUNCTIONS]]


def body_program(problem: Problem, text: str, body_tokens: Sequence[str]) -> str | None:
    """The item's program with its entry point's body replaced by the bare body a row holds, or ``None``.

    The item's program and function are :func:`coderank.rigor.clone.entry_def`'s; its body is the function's
    statements after its docstring. The row's body is the first run of its lines (in its fenced blocks, else in
    its whole text) that, dedented, parses and whose normalised tokens start with ``body_tokens`` (the item's
    body, :func:`coderank.rigor.clone.entry_body_tokens`); it is cut to its longest prefix that parses. Only lines
    whose own tokens agree with the body's start are tried, so a long row costs few parses.
    """
    from coderank.rigor.clone import code_tokens, entry_def

    found = entry_def(problem.prompt, problem.canonical_solution, problem.entry_point)
    if found is None:
        return None
    program, node = found
    body = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
    if not body or body[-1].end_lineno is None:
        return None
    first, end, column = body[0].lineno - 1, body[-1].end_lineno, body[0].col_offset
    want = list(body_tokens)
    blocks = [block.code for block in fenced_blocks(text) if block.python] or [text]
    for block in blocks:
        lines = block.splitlines()
        for i, line in enumerate(lines):
            head = code_tokens(line.strip())[0]
            n = min(len(head), len(want))
            if not n or head[:n] != want[:n]:
                continue
            piece = _parse_prefix(textwrap.dedent("\n".join(lines[i:])))
            if piece and code_tokens(piece)[0][:len(want)] == want:
                item = program.splitlines()
                indented = textwrap.indent(piece, " " * max(column, 1)).rstrip("\n").splitlines()
                return "\n".join(item[:first] + indented + item[end:]) + "\n"
    return None


def decide(outcomes: Sequence[tuple[str, str, str]]) -> Behaviour:
    """The verdict from each function's ``(function, status, detail)`` (sandbox statuses)."""
    for name, status, _ in outcomes:
        if status == "passed":
            return Behaviour("same", name, "passes the item's tests")
    for name, status, detail in outcomes:
        if status == "failed":
            return Behaviour("different", name, f"fails the item's tests: {detail}"[:300])
    if not outcomes:
        return Behaviour("unknown", None, "no function to run")
    return Behaviour("unknown", None, "no function ran the tests through: " + ", ".join(
        sorted({status for _, status, _ in outcomes})))


def check_behaviour(pairs: Sequence[tuple[Problem, str]], *, executor: Any = None,
                    workers: int | None = None) -> list[Behaviour]:
    """Each (item, row text) pair's :class:`Behaviour`, running the row's functions in the sandbox.

    Args:
        pairs: The benchmark item and the training row's text.
        executor: An open :class:`coderank.execution.pool.SandboxPool` to run on (default: one opened here, with
            the default limits, and closed again).
        workers: Sandbox workers when one is opened here.
    """
    from coderank.execution.pool import Job, open_pool
    from coderank.rigor.clone import entry_body_tokens

    jobs: list[Job] = []
    verdicts: list[Behaviour | None] = []
    bodies: dict[str, list[str]] = {}
    for index, (problem, text) in enumerate(pairs):
        code = row_code(text)
        programs = probe_programs(problem, code) if code else []
        if not programs:
            if problem.task_id not in bodies:
                bodies[problem.task_id] = entry_body_tokens(problem.prompt, problem.canonical_solution,
                                                            problem.entry_point)
            body = body_program(problem, text, bodies[problem.task_id]) if bodies[problem.task_id] else None
            if body is not None:
                entry = problem.entry_point
                programs = [("body", body + _PROBE.format(name=entry, entry=entry))]
        verdicts.append(None if programs else Behaviour("unknown", None, "the row defines no function that parses "
                                                                         "and does not hold the item's body"))
        jobs += [Job((index, name), problem, program) for name, program in programs]
    done: dict[tuple[int, str], tuple[str, str]] = {}
    if jobs:
        with open_pool(workers=workers) if executor is None else contextlib.nullcontext(executor) as pool:
            done = {job.key: (verdict.status.value, verdict.detail) for job, verdict in pool.map(jobs)}
    # each pair's outcomes in the row's own order of functions (jobs were made in that order)
    outcomes: dict[int, list[tuple[str, str, str]]] = {}
    for job in jobs:
        index, name = job.key
        outcomes.setdefault(index, []).append((name, *done[job.key]))
    return [v if v is not None else decide(outcomes[i]) for i, v in enumerate(verdicts)]


def standing(flagged_by: Sequence[str], behaviour: Behaviour | None) -> tuple[str, ...]:
    """What of ``flagged_by`` stands after ``behaviour`` (``None``: not checked, everything stands).

    A :data:`CONFIRMED_ONLY` score stands on ``same`` only; then a ``different`` row flagged by text scores alone
    (:data:`TEXT_DETECTORS`) keeps nothing.
    """
    if behaviour is None:
        return tuple(flagged_by)
    kept = tuple(by for by in flagged_by if by not in CONFIRMED_ONLY or behaviour.verdict == "same")
    if behaviour.verdict == "different" and kept and set(kept) <= TEXT_DETECTORS:
        return ()
    return kept


def as_dict(behaviour: Behaviour) -> dict[str, Any]:
    """The JSON form recorded on a hit."""
    return dataclasses.asdict(behaviour)
