"""User problem files: one JSON object per line (JSONL).

Fields of each line:

- ``task_id`` (string, unique), ``prompt`` (string: the text a model continues, e.g. a signature and
  docstring), ``entry_point`` (string: the function the tests call);
- tests, at least one of: ``test`` (Python code that defines ``check(candidate)`` or asserts that call the
  entry point by name) and ``cases`` (a list of ``{"input": [arg, ...], "output": value}`` objects,
  optionally with ``"kwargs": {...}``; compared with ``==``);
- optional: ``canonical_solution`` (a completion of ``prompt`` that passes the tests), ``metadata`` (object),
  ``max_tokens`` (how many tokens an answer to this problem may need; ``coderank eval`` without ``--max-tokens``
  uses the largest such value of the problems it runs, kept in ``metadata["max_tokens"]``).

Instead of ``prompt``, a problem can give its statement and its starter code apart, as LiveCodeBench does:
``question`` (the statement in prose) and ``starter_code`` (e.g. ``class Solution:`` with a method's signature,
the ``def`` line last and no body). The ``prompt`` is then derived: the starter code with the statement as the
last function's docstring (:func:`docstring_prompt`), which is what completion templates send and what a
``canonical_solution`` continues. Chat templates show the statement as prose and only the starter code as code.
A ``prompt`` given as well is used as it is.

Every problem is checked on load; an error names the file, the line and the fix.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from coderank.errors import InputError
from coderank.jsonl import json_lines, open_lines
from coderank.problems._benchmark import Benchmark, register_format
from coderank.types import Problem

_KNOWN = {"task_id", "prompt", "entry_point", "test", "cases", "canonical_solution", "metadata", "language",
          "question", "starter_code", "max_tokens"}

# A token limit beyond this is a typo, not a need: the longest answers seen here are a few thousand tokens.
MAX_TOKENS_CAP = 32768
_DEF_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]")
_STARTER_HINT = ("starter_code is the code the answer starts from, ending with the signature of the function to "
                 "write and no body, e.g. \"class Solution:\\n    def twoSum(self, nums: List[int], target: int) "
                 "-> List[int]:\\n\"")


def docstring_prompt(question: str, starter_code: str) -> str:
    """The completion prompt for a statement and starter code: the starter code with the statement as docstring.

    The docstring goes into the last function of ``starter_code`` (its ``def`` line must come last), indented
    like that function's body, so a base model continues with the body as it does for HumanEval. Backslashes and
    triple quotes in the statement are escaped so that the docstring's text is the statement.

    Raises:
        ValueError: ``starter_code`` has no ``def`` line.
    """
    lines = starter_code.rstrip().splitlines()
    for line in reversed(lines):
        m = _DEF_LINE.match(line)
        if m:
            break
    else:
        raise ValueError("starter_code has no def line")
    indent = m["indent"].expandtabs(4) + "    "
    text = question.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    body = "\n".join(indent + line.rstrip() if line.strip() else "" for line in text.splitlines())
    return "\n".join(lines) + "\n" + indent + '"""\n' + body + "\n" + indent + '"""\n'


def _check_starter(where: str, question: Any, starter: Any, entry_point: str) -> str:
    """The derived prompt of a ``question`` + ``starter_code`` problem, after checking both."""
    for name, value in (("question", question), ("starter_code", starter)):
        if not isinstance(value, str) or not value.strip():
            other = "starter_code" if name == "question" else "question"
            raise InputError(f"{where}: field {name!r} is missing or not a non-empty string (it comes with "
                             f"{other!r})", "give both question (the statement) and starter_code, or a prompt")
    try:
        prompt = docstring_prompt(question, starter)
    except ValueError:
        raise InputError(f"{where}: starter_code has no def line to write the body of", _STARTER_HINT) from None
    body_indent = prompt.splitlines()[-1][:-3]  # the closing quotes sit where the body starts
    try:
        tree = ast.parse(prompt + body_indent + "pass\n", "<starter_code>")
    except SyntaxError as exc:
        raise InputError(f"{where}: starter_code does not parse once a body is added: {exc.msg} (starter_code line "
                         f"{exc.lineno}); the def line of the function to write must come last",
                         _STARTER_HINT) from exc
    last = _last_def(tree)
    docstring_line = len(starter.rstrip().splitlines()) + 1
    if last is None or last.end_lineno != len(prompt.splitlines()) + 1 or last.body[0].lineno != docstring_line:
        raise InputError(f"{where}: starter_code must end with the signature of the function to write (its def "
                         "line last, no body after it)", _STARTER_HINT)
    names = {node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef,
                                                                      ast.AsyncFunctionDef))}
    if entry_point not in names:
        raise InputError(f"{where}: starter_code defines no class or function named {entry_point!r} (the "
                         "entry_point)", f"entry_point is what the tests call: one of {', '.join(sorted(names))}"
                         if names else _STARTER_HINT)
    return prompt


def _last_def(tree: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function defined last (a module's, or inside a class defined last), if that is where the code ends."""
    node: ast.AST | None = tree.body[-1] if tree.body else None
    while isinstance(node, ast.ClassDef):
        node = node.body[-1] if node.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


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
    split = "question" in row or "starter_code" in row
    for field in ("task_id", "entry_point") + (() if split and "prompt" not in row else ("prompt",)):
        if not isinstance(row.get(field), str) or not row[field].strip():
            hint = ("give a prompt (the code a model continues), or question and starter_code"
                    if field == "prompt" else "")
            raise InputError(f"{where}: field {field!r} is missing or not a non-empty string", hint)
    if not row["entry_point"].isidentifier():
        raise InputError(f"{where}: entry_point {row['entry_point']!r} is not a Python identifier")
    prompt = _check_starter(where, row.get("question"), row.get("starter_code"), row["entry_point"]) if split else ""
    if "prompt" in row:
        prompt = row["prompt"]
    metadata = row.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InputError(f"{where}: 'metadata' must be a JSON object")
    metadata = dict(metadata)
    if "max_tokens" in row:
        metadata["max_tokens"] = row["max_tokens"]
    if "max_tokens" in metadata:
        limit = metadata["max_tokens"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TOKENS_CAP:
            raise InputError(f"{where}: max_tokens must be a whole number from 1 to {MAX_TOKENS_CAP}, got "
                             f"{json.dumps(limit)}", "it is how many tokens an answer to this problem may need, "
                             "e.g. 1024")
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
        prompt=prompt,
        entry_point=row["entry_point"],
        test="\n".join(parts),
        canonical_solution=solution,
        language=row.get("language", "python"),
        metadata=metadata,
        question=row.get("question") if split else None,
        starter_code=row.get("starter_code") if split else None,
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


register_format(lambda path: True, load_problem_file, fallback=True)
