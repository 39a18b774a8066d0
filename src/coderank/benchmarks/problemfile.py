"""User problem files: one JSON object per line (JSONL).

Fields of each line:

- ``task_id`` (string, unique), ``prompt`` (string: the text a model continues, e.g. a signature and
  docstring), ``entry_point`` (string: the function the tests call);
- tests, at least one of: ``test`` (Python code that defines ``check(candidate)`` or asserts that call the
  entry point by name) and ``cases`` (a list of ``{"input": [arg, ...], "output": value}`` objects,
  optionally with ``"kwargs": {...}``; compared with ``==``);
- optional: ``canonical_solution`` (a completion of ``prompt`` that passes the tests), ``metadata`` (object).

Every problem is checked on load; an error names the file, the line and the fix.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from coderank.benchmarks._benchmark import Benchmark
from coderank.errors import InputError
from coderank.jsonl import json_lines, open_lines
from coderank.types import Problem

_KNOWN = {"task_id", "prompt", "entry_point", "test", "cases", "canonical_solution", "metadata", "language"}


def cases_to_test(cases: list[dict[str, Any]]) -> str:
    """Python test code that checks input/output cases (kept as JSON text inside the code)."""
    payload = json.dumps(cases, ensure_ascii=False)
    return (
        "import json as _json\n"
        f"_CASES = _json.loads({payload!r})\n\n"
        "def check(candidate):\n"
        "    for _i, _case in enumerate(_CASES):\n"
        "        _got = candidate(*_case['input'], **_case.get('kwargs', {}))\n"
        "        assert _got == _case['output'], f\"case {_i}: input {_case['input']!r}: expected \" \\\n"
        "            f\"{_case['output']!r}, got {_got!r}\"\n"
    )


def _problem_from_row(row: Any, where: str) -> Problem:
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
    unknown = set(row) - _KNOWN
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}",
                         f"allowed fields: {', '.join(sorted(_KNOWN))}")
    for field in ("task_id", "prompt", "entry_point"):
        if not isinstance(row.get(field), str) or not row[field].strip():
            raise InputError(f"{where}: field {field!r} is missing or not a non-empty string")
    if not row["entry_point"].isidentifier():
        raise InputError(f"{where}: entry_point {row['entry_point']!r} is not a Python identifier")
    test = row.get("test")
    cases = row.get("cases")
    if test is None and cases is None:
        raise InputError(f"{where}: no tests", "add a 'test' (Python code with check(candidate)) or 'cases'")
    parts = []
    if test is not None:
        if not isinstance(test, str):
            raise InputError(f"{where}: 'test' must be a string of Python code")
        try:
            tree = ast.parse(test, "<test>")
        except SyntaxError as exc:
            raise InputError(f"{where}: 'test' is not valid Python: {exc.msg} (test line {exc.lineno})") from exc
        if cases is None and not _calls_the_program(tree, row["entry_point"]):
            raise InputError(f"{where}: the test never calls the program: it defines no check(candidate) function "
                             f"and never names {row['entry_point']!r}, so every program would pass",
                             "define def check(candidate): with asserts on candidate(...), or assert on "
                             f"{row['entry_point']}(...) directly")
        parts.append(test)
    if cases is not None:
        if not isinstance(cases, list) or not cases:
            raise InputError(f"{where}: 'cases' must be a non-empty list")
        for i, case in enumerate(cases):
            if not isinstance(case, dict) or not isinstance(case.get("input"), list) or "output" not in case:
                raise InputError(f"{where}: cases[{i}] must be an object with 'input' (a list of arguments) and "
                                 "'output'", 'example: {"input": ["hello world"], "output": "world hello"}')
        if test is not None and "def check(" in test:
            raise InputError(f"{where}: give either a check() function or 'cases', not both")
        parts.append(cases_to_test(cases))
    solution = row.get("canonical_solution")
    if solution is not None and not isinstance(solution, str):
        raise InputError(f"{where}: 'canonical_solution' must be a string")
    return Problem(
        task_id=row["task_id"],
        prompt=row["prompt"],
        entry_point=row["entry_point"],
        test="\n".join(parts),
        canonical_solution=solution,
        language=row.get("language", "python"),
        metadata=dict(row.get("metadata") or {}),
    )


def _calls_the_program(tree: ast.AST, entry_point: str) -> bool:
    """Whether test code can reach the program: a check() function (called with it), or its name used."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "check":
            return True
        if isinstance(node, ast.Name) and node.id == entry_point:
            return True
    return False


def load_problem_file(path: Path) -> Benchmark:
    """Load and validate a JSONL problem file.

    Raises:
        InputError: the first invalid line, naming file, line and fix.
    """
    if path.suffix in (".yaml", ".yml"):
        raise InputError(f"{path}: YAML problem files are not supported yet", "convert it to JSONL (one object a line)")
    problems: dict[str, Problem] = {}
    with open_lines(path) as fh:
        for where, row in json_lines(fh, str(path)):
            problem = _problem_from_row(row, where)
            if problem.task_id in problems:
                raise InputError(f"{where}: duplicate task_id {problem.task_id!r}")
            problems[problem.task_id] = problem
    if not problems:
        raise InputError(f"{path}: no problems in the file")
    return Benchmark(name=str(path), version="file", problems=problems, source=str(path.resolve()),
                     derivation=derivation_of(problems.values()))


# The metadata key each deriving command writes on every line, and the derivation kind it stands for.
_DERIVED_BY = {"augmentation": "augment", "perturbation": "perturb"}


def derivation_of(problems: Iterable[Problem]) -> dict[str, Any] | None:
    """The benchmark-level derivation a file written by ``coderank augment``/``perturb`` records on every line.

    Returns ``{"kind", "base", "base_sha256", "seed", "generator"}`` when every problem's metadata names the
    same source benchmark (and hash) and seed under the same key; None for any other file.
    """
    found: set[tuple[Any, ...]] = set()
    for p in problems:
        hits = [(kind, p.metadata[key]) for key, kind in _DERIVED_BY.items() if isinstance(p.metadata.get(key), dict)]
        if len(hits) != 1:
            return None
        kind, meta = hits[0]
        found.add((kind, meta.get("source_benchmark"), meta.get("source_benchmark_sha256"), meta.get("seed"),
                   meta.get("generator")))
    if len(found) != 1:
        return None
    kind, base, base_sha256, seed, generator = found.pop()
    if not base or not base_sha256:
        return None
    return {"kind": kind, "base": base, "base_sha256": base_sha256, "seed": seed, "generator": generator}
