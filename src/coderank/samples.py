"""Reading sample files: the JSONL formats of OpenAI's human-eval and of EvalPlus.

- human-eval: ``{"task_id": ..., "completion": ...}``; the program is the problem's prompt + completion.
- EvalPlus: ``{"task_id": ..., "solution": ...}``; the solution is the whole program.
- coderank's own run folders (``eval --out``, ``export``): ``{"task_id": ..., "program": ...}``; the program is
  what ran (``null`` where no code could be extracted), so a run's verdicts can be re-judged without its store.

Lines are read one at a time (a file of any size streams in constant memory). A bad line becomes a
:class:`BadLine` naming the file, the line and what is wrong; the other lines are still scored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coderank.jsonl import DamagedGzip, json_error, numbered_lines, open_lines
from coderank.problems import Benchmark
from coderank.types import Problem


@dataclass(frozen=True)
class Sample:
    """One program to score: ``index`` counts the samples of the same task in file order, from 0."""

    task_id: str
    index: int
    program: str
    line: int
    problem: Problem
    empty: bool = False


@dataclass(frozen=True)
class BadLine:
    """A line that could not be turned into a program."""

    line: int
    message: str


def count_lines(path: Path) -> int:
    """Number of non-empty lines (for progress bars); a damaged gzip file counts the lines before the damage."""
    n = 0
    with open_lines(path) as fh:
        try:
            for _, raw in numbered_lines(fh, str(path)):
                n += bool(raw.strip())
        except DamagedGzip:
            pass
    return n


def read_samples(path: Path, benchmark: Benchmark) -> Iterator[Sample | BadLine]:
    """Yield a Sample or a BadLine for every non-empty line of ``path`` (plain or gzip-compressed JSONL)."""
    seen: defaultdict[str, int] = defaultdict(int)
    with open_lines(path) as fh:
        try:
            for lineno, raw in numbered_lines(fh, str(path)):
                if raw.strip():
                    yield _sample(lineno, raw, benchmark, seen)
        except DamagedGzip as exc:
            yield BadLine(exc.line, f"the gzip data is damaged from here on ({exc.reason}); the lines before it "
                          "are scored")


def _sample(lineno: int, raw: bytes, benchmark: Benchmark, seen: defaultdict[str, int]) -> Sample | BadLine:
    """One line as a Sample (counting it in ``seen``, samples per task so far) or as the BadLine it is."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadLine(lineno, f"not valid UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})")
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadLine(lineno, f"invalid JSON: {json_error(exc, text)}")
    if not isinstance(row, dict):
        return BadLine(lineno, f"expected a JSON object, got {type(row).__name__}")
    task_id = row.get("task_id")
    if not isinstance(task_id, str):
        return BadLine(lineno, "no 'task_id' string")
    problem = benchmark.problems.get(task_id)
    if problem is None:
        return BadLine(lineno, f"unknown task_id {task_id!r} for benchmark {benchmark.name}")
    if isinstance(row.get("solution"), str):
        program, empty = row["solution"], not row["solution"].strip()
    elif isinstance(row.get("completion"), str):
        program, empty = problem.program(row["completion"]), not row["completion"].strip()
    elif "program" in row and (row["program"] is None or isinstance(row["program"], str)):
        program = row["program"] or ""
        empty = not program.strip()
    else:
        return BadLine(lineno, "no 'completion' (human-eval format), 'solution' (EvalPlus format) or 'program' "
                       "(a coderank run folder's samples.jsonl) string")
    index = seen[task_id]
    seen[task_id] += 1
    return Sample(task_id, index, program, lineno, problem, empty)
