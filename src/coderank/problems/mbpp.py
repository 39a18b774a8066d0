"""MBPP (Austin et al., 2021): 974 crowd-sourced Python problems, from the original release bundled here.

The data is the release's ``mbpp.jsonl`` (CC BY 4.0; attribution: the MBPP authors, Google — see
``data/MBPP-NOTICE.txt``), gzip-compressed inside the package and checked against its pinned sha256 on every
load; nothing is downloaded. Three named problem sets, split as the authors define them:

- ``mbpp``: the test split, task ids 11–510 (500 problems) — the one scores are reported on;
- ``mbpp-valid``: 511–600 (90), for choosing checkpoints (``coderank train --select-on mbpp-valid``);
- ``mbpp-train``: 601–974 (374), for making training data.

Ids 1–10 (the authors' few-shot prompt problems) are not offered. Task ids read ``MBPP/11``.

How a release line becomes a :class:`~coderank.types.Problem`:

- **Entry point**: the first function the first assert of ``test_list`` calls that is not a builtin
  (``assert int(lobb_num(5, 3)) == 35`` gives ``lobb_num``); every other assert calls it too, and the reference
  defines it (both checked by the tests).
- **Prompt**: the reference's signature for the entry point (its ``def`` line, parameters as the reference
  names them) with a docstring holding the task sentence and the first assert as a usage example — the
  content of the InCoder/bigcode-evaluation-harness MBPP prompt and of EvalPlus's MBPP+ ``prompt`` field
  (a docstring with the description and one test), put inside a signature so that a base model's completion
  prompt ends where the body starts, and ``prompt + completion`` is the program as for HumanEval. The
  docstring is raw (``r\"\"\"``) where the text holds a backslash, so the source shows what the release says.
  Definitions of the reference that the tests themselves use (the ``Node`` class the setup code of tasks
  367 and 927 builds trees with, task 601's ``Pair``) come before the signature: the tests need them and a
  model must know them.
- **Tests**: ``check(candidate)`` binds the entry point's name to ``candidate`` and runs the three asserts
  verbatim; ``test_setup_code`` (tasks 367 and 927 only) runs before it at module level, and an import of the
  reference that the asserts use (task 596's ``sys``) is put at the top. ``challenge_test_list`` (harder
  asserts for 11 test-split tasks, 11–47) is not used, as in EvalPlus and bigcode; it stays in the metadata.
- **Canonical solution**: the whole reference program, line ends CRLF -> LF. It is not a body: appended to
  the prompt it redefines the stub (Python keeps the last definition), so ``prompt + canonical_solution``
  runs the reference with its imports and helpers exactly as released.

Every reference is checked against its own tests in the sandbox (``tests/problems/test_mbpp.py``); the
ones that fail are kept, not dropped, and listed with the reason in :data:`REFERENCE_FAILURES` so a score
can be read against them (no model is expected to pass a problem whose own reference does not).
"""

from __future__ import annotations

import ast
import builtins
import functools
import gzip
import hashlib
import importlib.resources
import json
import textwrap
import warnings
from typing import Any

from coderank.errors import CoderankError
from coderank.problems._benchmark import Benchmark, register
from coderank.types import Problem

__all__ = ["ATTRIBUTION", "REFERENCE_FAILURES", "SHA256", "SPLITS", "entry_point_of", "mbpp_problem", "rows"]

SHA256 = "ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f"
"""sha256 of the release's uncompressed ``mbpp.jsonl`` (as in the release folder's SHA256SUMS)."""

ATTRIBUTION = ("MBPP: Austin et al., \"Program Synthesis with Large Language Models\" (2021), Google; "
               "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)")
"""The attribution CC BY 4.0 asks for; it goes into every problem's metadata and the benchmark's source."""

BUILD = "1"
"""Version of how problems are built from the release (prompt, tests); bump it when that changes."""

SPLITS: dict[str, tuple[str, int, int]] = {
    "mbpp": ("test", 11, 510),
    "mbpp-valid": ("validation", 511, 600),
    "mbpp-train": ("train", 601, 974),
}
"""Registered name -> (split, first task id, last task id), as the MBPP authors split the release."""

# The same two sandbox limits stop all four: what crosses into the program is data and functions, so an object
# of a class the tests define, or a type passed as a value, cannot reach it as itself. The data is not at fault
# (each reference passes its asserts in a plain interpreter); a sandbox that carried them would shorten the list,
# and the test that checks every reference fails until the list is updated.
_OBJECTS = ("the tests pass the program {} objects{}; the sandbox carries only data and functions across its "
            "boundary, so every program's verdict is 'invalid'")
REFERENCE_FAILURES: dict[str, tuple[str, str]] = {
    "MBPP/367": ("invalid", _OBJECTS.format("Node", " (binary trees built by test_setup_code)")),
    "MBPP/533": ("error", "the tests pass builtin types (int, str, float) as arguments; the sandbox hands the "
                 "program a callable in their place, so the reference's isinstance(ele, data_type) raises TypeError"),
    "MBPP/601": ("invalid", _OBJECTS.format("Pair", "")),
    "MBPP/927": ("invalid", _OBJECTS.format("Node", " (binary trees built by test_setup_code)")),
}
"""Task ids whose reference fails its own tests in the sandbox: ``(status, why)``, measured; the problems are kept.

In the test split (``mbpp``) only 367, so 499 of its 500 problems can be passed at all; 533 in ``mbpp-valid``;
601 and 927 in ``mbpp-train``.
"""

_DATA = ("data", "mbpp.jsonl.gz")
_BUILTINS = frozenset(dir(builtins))


def _resource() -> Any:
    return importlib.resources.files("coderank.problems").joinpath(*_DATA)


def _decode(raw: bytes) -> list[dict[str, Any]]:
    """The release's lines from the compressed bytes, after checking the pinned sha256.

    Raises:
        CoderankError: the bytes are not the pinned release (a damaged or altered installation).
    """
    fix = "reinstall coderank (pip install --force-reinstall coderank); the file ships with the package"
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise CoderankError(f"the bundled MBPP data is damaged: not valid gzip ({exc})", fix) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise CoderankError(f"the bundled MBPP data is not the pinned release: sha256 {digest}, expected {SHA256}",
                            fix)
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


@functools.lru_cache(maxsize=1)
def rows() -> tuple[dict[str, Any], ...]:
    """The 974 lines of the bundled release, checked against :data:`SHA256` (read once per process).

    Raises:
        CoderankError: the data file is missing, damaged or not the pinned release.
    """
    try:
        raw = _resource().read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise CoderankError("the bundled MBPP data (coderank/problems/data/mbpp.jsonl.gz) is missing",
                            "reinstall coderank; the file ships with the package") from exc
    return tuple(_decode(raw))


def entry_point_of(assertion: str, defined: frozenset[str] | set[str] = frozenset()) -> str:
    """The function an MBPP assert tests: the first name it calls, in source order, that is not a builtin.

    A builtin's name counts where the reference defines a function of that name (``defined``): task 566's
    reference defines ``sum``, and ``assert sum(10,15) == 6`` tests it.

    Raises:
        ValueError: the assert calls no such name (not the case for any line of the release).
    """
    tree = ast.parse(assertion.strip())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        assert isinstance(call.func, ast.Name)
        if call.func.id not in _BUILTINS or call.func.id in defined:
            return call.func.id
    raise ValueError(f"the assert calls no function of its own: {assertion.strip()!r}")


def _lf(text: str) -> str:
    """Line ends as LF: the release has CRLF, and four references end in a lone CR."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse(source: str) -> ast.Module:
    """``ast.parse`` without the warnings that invalid escapes in references' regexes give (Python 3.12+)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(source)


def _bindings(tree: ast.Module) -> dict[str, list[ast.stmt]]:
    """Top-level statements of the reference by the names they bind."""
    found: dict[str, list[ast.stmt]] = {}
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        for name in names:
            found.setdefault(name, []).append(node)
    return found


def _source(code: str, node: ast.stmt) -> str:
    """A statement's source, tabs turned into four spaces where that leaves the code the same."""
    text = ast.get_source_segment(code, node, padded=True) or ast.unparse(node)
    text = "\n".join(line.rstrip() for line in textwrap.dedent(text).splitlines())
    spaced = text.expandtabs(4)
    if spaced != text and ast.dump(_parse(spaced)) == ast.dump(_parse(text)):
        text = spaced
    return text.rstrip() + "\n"


def mbpp_problem(row: dict[str, Any]) -> Problem:
    """Build the problem for one line of the release (see the module docstring for how).

    Raises:
        ValueError: the line does not have the release's shape (a packaging bug; never for the bundled file).
    """
    number = row["task_id"]
    code = _lf(row["code"])
    asserts = [_lf(t).strip() for t in row["test_list"]]
    setup = _lf(row["test_setup_code"]).strip()
    tree = _parse(code)
    bound = _bindings(tree)
    entry = entry_point_of(asserts[0], {name for name, nodes in bound.items()
                                        if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in nodes)})
    defs = [n for n in bound.get(entry, []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not defs:
        raise ValueError(f"MBPP task {number}: the reference does not define {entry}() at top level")
    signature = defs[-1]
    # Names the tests use that the reference defines: imports go into the tests, definitions into the prompt.
    used: set[str] = set()
    for text in [setup, *asserts]:
        used |= {n.id for n in ast.walk(_parse(text)) if isinstance(n, ast.Name)}
    imports: list[str] = []
    helpers: list[str] = []
    for name in sorted(used & set(bound) - {entry}, key=lambda n: bound[n][0].lineno):
        node = bound[name][-1]
        (imports if isinstance(node, (ast.Import, ast.ImportFrom)) else helpers).append(_source(code, node))
    text = row["text"].strip()
    doc = f"{text}\n{asserts[0]}"
    if '"""' in doc:
        raise ValueError(f"MBPP task {number}: the task text or first assert holds a triple quote")
    opener = 'r"""' if "\\" in doc else '"""'
    stub = (f"{'async ' if isinstance(signature, ast.AsyncFunctionDef) else ''}def {entry}"
            f"({ast.unparse(signature.args)}):\n    {opener}{textwrap.indent(doc, '    ').lstrip()}\n    \"\"\"\n")
    prompt = "".join(h + "\n\n" for h in helpers) + stub
    header = f"# MBPP task {number}: the release's test_list, run with {entry} bound to the program\n"
    test = header + "".join(imports) + (f"\n{setup}\n" if setup else "") + "\n\ndef check(candidate):\n" \
        + f"    {entry} = candidate\n" + "".join(f"    {a}\n" for a in asserts)
    split = next((s for s, first, last in SPLITS.values() if first <= number <= last), "prompt")
    metadata: dict[str, Any] = {"source": "mbpp", "split": split, "mbpp_task_id": number, "text": text,
                                "challenge_test_list": list(row.get("challenge_test_list") or []),
                                "attribution": ATTRIBUTION}
    failure = REFERENCE_FAILURES.get(f"MBPP/{number}")
    if failure:
        metadata["reference_fails"] = {"status": failure[0], "why": failure[1]}
    return Problem(task_id=f"MBPP/{number}", prompt=prompt, entry_point=entry, test=test,
                   canonical_solution=code.rstrip("\n") + "\n", metadata=metadata)


def _benchmark(name: str) -> Benchmark:
    split, first, last = SPLITS[name]
    problems = {p.task_id: p for p in (mbpp_problem(r) for r in rows() if first <= r["task_id"] <= last)}
    return Benchmark(name=name, version=f"MBPP release sha256:{SHA256[:16]}; coderank build {BUILD}",
                     problems=problems,
                     source=f"coderank package data (problems/{'/'.join(_DATA)}): MBPP {split} split, task ids "
                            f"{first}-{last}; {ATTRIBUTION}",
                     data_file=str(_resource()))


@register("mbpp")
def mbpp() -> Benchmark:
    """MBPP's test split: task ids 11–510, 500 problems (the set scores are reported on).

    Raises:
        CoderankError: the bundled data is missing, damaged or not the pinned release.
    """
    return _benchmark("mbpp")


@register("mbpp-valid")
def mbpp_valid() -> Benchmark:
    """MBPP's validation split: task ids 511–600, 90 problems, for choosing checkpoints.

    Raises:
        CoderankError: the bundled data is missing, damaged or not the pinned release.
    """
    return _benchmark("mbpp-valid")


@register("mbpp-train")
def mbpp_train() -> Benchmark:
    """MBPP's train split: task ids 601–974, 374 problems, for making training data.

    Raises:
        CoderankError: the bundled data is missing, damaged or not the pinned release.
    """
    return _benchmark("mbpp-train")
