"""Memorisation probes: semantically equivalent variants of a benchmark's problems.

A model that learned a benchmark by heart scores lower on a variant that means the same but looks
different. :func:`perturb_benchmark` derives such variants; evaluating a model on the original and on the
variants and comparing (:func:`gap`) measures how much of its score depends on the surface form.

Kinds of variant (each deterministic for a seed):

``rename``
    The entry-point function gets a neutral name (``f_<n>``) and its parameters neutral one-letter names,
    consistently in the prompt (signature, body references, docstring text and examples), the canonical
    solution and the test code. Code is renamed through :mod:`ast` positions and :mod:`tokenize` tokens, never
    by blind string replacement: attribute names, keyword arguments of other callees and names in nested
    scopes that do not refer to the parameter's binding keep their meaning. Docstring prose is updated with
    word-boundary replacement (the function name always; a parameter name unless it is ``a``/``i``, which
    prose uses as words). Helper functions other than the entry point keep their names.
``examples``
    The entry-point docstring's examples (``>>>`` doctest items and ``call(...) ==> value`` style lines under
    "For example:"/"Example:") are reordered within each block and rewritten in another layout (doctest,
    ``->``, ``==`` or ``==>``); the set of (call, expected value) pairs is unchanged.
``docstring``
    The prose of the entry-point docstring (not its examples) is reworded by a fixed list of rewrites
    (:data:`REWRITES`); the rewrites applied are recorded per problem.

Every derived problem is checked in the sandbox: its (renamed) canonical solution must pass its (renamed)
tests, else it is dropped and reported with the verdict. A problem a kind cannot change (no examples, no
matching wording) is reported as ``unchanged`` and not emitted.

Output: one problem file (JSONL, :mod:`coderank.problems.problemfile`) holding all kinds, task ids
``<original id>#<kind>`` (e.g. ``HumanEval/0#rename``); each line's ``metadata.perturbation`` records the
kind, the seed, the source task id and problem hash, the source benchmark and its hash, and what changed.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import random
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coderank.errors import UsageError
from coderank.paths import write_atomic
from coderank.problems import Benchmark
from coderank.rigor import paraphrase
from coderank.rigor._docstring import (
    STYLES,
    Example,
    PerturbError,
    Unchanged,
    call_to,
    docstring_lines,
    docstring_span,
    entry_def,
    example_blocks,
)
from coderank.types import Problem

__all__ = [
    "KINDS",
    "MODEL_KINDS",
    "REWRITES",
    "GapEstimate",
    "KindCounts",
    "PerturbRecord",
    "PerturbResult",
    "extract_examples",
    "gap",
    "perturb_benchmark",
    "perturb_problem",
    "split_task_id",
    "write_problem_file",
]

KINDS: tuple[str, ...] = ("rename", "examples", "docstring")
MODEL_KINDS: tuple[str, ...] = ("paraphrase",)
"""Kinds that need a model (``coderank perturb --kinds paraphrase --model SPEC``): see
:mod:`coderank.rigor.paraphrase`."""
_SEP = "#"


# --- records ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerturbRecord:
    """What happened to one (problem, kind).

    Attributes:
        source_task_id: The original problem's task id.
        task_id: The variant's task id (``<source>#<kind>``).
        kind: ``rename``, ``examples`` or ``docstring``.
        status: ``kept`` (emitted, canonical solution passes), ``dropped`` (derived but failed the check or
            could not be derived) or ``unchanged`` (the kind found nothing to change; not emitted).
        reason: Why it was dropped or unchanged (empty when kept).
        changes: What the kind changed (renames, rewrites, example layout), as in the file's metadata.
    """

    source_task_id: str
    task_id: str
    kind: str
    status: str
    reason: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class KindCounts:
    """Per-kind tallies: ``derived = kept + dropped``; ``unchanged`` problems are not derived."""

    kind: str
    derived: int
    kept: int
    dropped: int
    unchanged: int


@dataclass(frozen=True)
class PerturbResult:
    """The derived benchmark (kept variants only) and a record for every (problem, kind).

    Attributes:
        benchmark: The kept variants, kind by kind in the source benchmark's order.
        records: One record per source problem and kind, including dropped and unchanged ones.
        kinds: The kinds asked for, in order.
        seed: The seed used.
        source: Name of the source benchmark.
        source_sha256: Hash of the source benchmark.
        isolation: The sandbox's isolation layers during the check.
    """

    benchmark: Benchmark
    records: tuple[PerturbRecord, ...]
    kinds: tuple[str, ...]
    seed: int
    source: str
    source_sha256: str
    isolation: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def counts(self) -> dict[str, KindCounts]:
        """Derived/kept/dropped/unchanged per kind."""
        result = {}
        for kind in self.kinds:
            recs = [r for r in self.records if r.kind == kind]
            kept = sum(r.status == "kept" for r in recs)
            dropped = sum(r.status == "dropped" for r in recs)
            unchanged = sum(r.status == "unchanged" for r in recs)
            result[kind] = KindCounts(kind, kept + dropped, kept, dropped, unchanged)
        return result

    def dropped(self) -> list[PerturbRecord]:
        """The dropped variants, with reasons."""
        return [r for r in self.records if r.status == "dropped"]

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` document of ``coderank perturb``."""
        return {
            "source": self.source,
            "source_sha256": self.source_sha256,
            "seed": self.seed,
            "kinds": list(self.kinds),
            "benchmark_sha256": self.benchmark.sha256,
            "problems": len(self.benchmark),
            "counts": {k: {"derived": c.derived, "kept": c.kept, "dropped": c.dropped, "unchanged": c.unchanged}
                       for k, c in self.counts().items()},
            "dropped": [{"task_id": r.task_id, "kind": r.kind, "reason": r.reason} for r in self.dropped()],
            "unchanged": [{"task_id": r.task_id, "kind": r.kind, "reason": r.reason}
                          for r in self.records if r.status == "unchanged"],
            "isolation": dict(self.isolation),
        }


def split_task_id(task_id: str) -> tuple[str, str]:
    """``"HumanEval/0#rename"`` -> ``("HumanEval/0", "rename")``.

    Raises:
        ValueError: The id has no ``#<kind>`` suffix.
    """
    source, sep, kind = task_id.rpartition(_SEP)
    if not sep or not source or not kind:
        raise ValueError(f"task id {task_id!r} is not a perturbed task id (<source id>{_SEP}<kind>)")
    return source, kind


def _rng(seed: int, task_id: str, kind: str) -> random.Random:
    return random.Random(f"coderank-perturb:{seed}:{kind}:{task_id}")


def _replace_spans(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    parts = []
    pos = 0
    for start, end, new in sorted(edits):
        if start < pos:
            raise PerturbError("overlapping edits")
        parts.append(text[pos:start])
        parts.append(new)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


# --- examples ---------------------------------------------------------------------------------------------------

def _norm_expr(text: str) -> str:
    try:
        return ast.unparse(ast.parse(text.strip(), mode="eval"))
    except SyntaxError:
        return " ".join(text.split())


def extract_examples(problem: Problem) -> list[tuple[str, str]]:
    """The (normalised call, normalised expected output) pairs in the entry point's docstring, in order."""
    span = docstring_span(problem.prompt, problem.entry_point)
    if span is None:
        return []
    lines = problem.prompt[span[2]:span[3]].split("\n")
    return [(_norm_expr(ex.expr), _norm_expr(" ".join(ex.output)))
            for _, _, items, _ in example_blocks(lines, problem.entry_point) for ex in items]


def _render(ex: Example, style: str, indent: str, entry_point: str) -> list[str]:
    # only a plain call of the entry point with a one-line value changes layout (a comment would swallow it)
    if style == "doctest" or len(ex.output) != 1 or "#" in ex.expr or not call_to(ex.expr, entry_point):
        return [f"{indent}>>> {ex.expr}"] + [f"{indent}{o}" for o in ex.output]
    if style.startswith(">>> "):
        return [f"{indent}>>> {ex.expr} {style[4:]} {ex.output[0]}"]
    return [f"{indent}{ex.expr} {style.strip()} {ex.output[0]}"]


def _perturb_examples(problem: Problem, rng: random.Random) -> tuple[Problem, dict[str, Any]]:
    lines, body_start, body_end = docstring_lines(problem)
    blocks = example_blocks(lines, problem.entry_point)
    if not blocks:
        raise Unchanged("no examples in the docstring")
    new_lines = list(lines)
    info = []
    for start, end, items, indent in reversed(blocks):
        order = list(range(len(items)))
        reorderable = len(items) > 1 and all(ex.output for ex in items)
        if reorderable:
            rng.shuffle(order)
            if order == sorted(order):
                order = order[1:] + order[:1]
        current = {ex.style for ex in items}
        choices = [s for s in STYLES if current != {s}]
        if end < len(lines) and lines[end].strip() and current != {"doctest"}:
            choices.remove("doctest")  # the next line would read as a doctest output
        style = rng.choice(choices)
        rendered: list[str] = []
        for j in order:
            rendered.extend(_render(items[j], style, indent, problem.entry_point))
        new_lines[start:end] = rendered
        info.append({"examples": len(items), "order": order, "style": style,
                     "from_style": sorted(current)})
    new_body = "\n".join(new_lines)
    prompt = problem.prompt[:body_start] + new_body + problem.prompt[body_end:]
    if prompt == problem.prompt:
        raise Unchanged("examples already in the chosen order and layout")
    return replace(problem, prompt=prompt), {"blocks": info[::-1]}


# --- docstring rewording ----------------------------------------------------------------------------------------

#: The fixed rewrites of ``docstring``: (name, pattern, replacement), applied in one pass (each stretch of
#: text is rewritten at most once), only to the prose of the entry point's docstring, never to examples.
REWRITES: tuple[tuple[str, str, str], ...] = (
    ("you-are-given", r"\bYou are given\b", "Given"),
    ("given", r"(?:(?<=^)|(?<=[.!?]\s)|(?<=\n\s))\s*Given\b", "You are given"),
    ("return", r"\bReturn\b", "Give back"),
    ("return-lower", r"(?<![\w.>=])return\b(?!\s*[=(\[])", "give back"),
    ("returns", r"\bReturns\b", "Gives back"),
    ("returns-lower", r"\breturns\b", "gives back"),
    ("write-function", r"\b(?:Write|Create) a function\b", "Implement a function"),
    ("check-if", r"\bCheck if\b", "Determine whether"),
    ("check-if-lower", r"\bcheck if\b", "determine whether"),
    ("for-example", r"\bFor example\b", "For instance"),
    ("for-example-lower", r"\bfor example\b", "for instance"),
    ("your-task", r"\bYour task is to\b", "Your job is to"),
    ("note", r"\bNote:", "Remark:"),
    ("an-integer", r"\ban integer\b", "a whole number"),
    ("integers", r"\bintegers\b", "whole numbers"),
    ("integer", r"\binteger\b", "whole number"),
    ("find", r"\bFind\b", "Work out"),
    ("otherwise", r"\botherwise\b", "in all other cases"),
)
_REWRITE_RE = re.compile("|".join(f"(?P<r{i}>{pat})" for i, (_, pat, _) in enumerate(REWRITES)))


def _reword(text: str, applied: dict[str, int]) -> str:
    def sub(m: re.Match[str]) -> str:
        i = int(next(k for k, v in m.groupdict().items() if v is not None)[1:])
        name, _, new = REWRITES[i]
        applied[name] = applied.get(name, 0) + 1
        lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
        return lead + new

    return _REWRITE_RE.sub(sub, text)


def _perturb_docstring(problem: Problem, rng: random.Random) -> tuple[Problem, dict[str, Any]]:
    lines, body_start, body_end = docstring_lines(problem)
    example_lines = {i for start, end, _, _ in example_blocks(lines, problem.entry_point) for i in range(start, end)}
    applied: dict[str, int] = {}
    # prose = maximal runs of non-example lines, reworded as paragraphs so multi-line phrases match
    out: list[str] = []
    run: list[str] = []
    for i, line in enumerate(lines):
        if i in example_lines:
            if run:
                out.extend(_reword("\n".join(run), applied).split("\n"))
                run = []
            out.append(line)
        else:
            run.append(line)
    if run:
        out.extend(_reword("\n".join(run), applied).split("\n"))
    if not applied:
        raise Unchanged("none of the fixed rewrites matches the docstring")
    prompt = problem.prompt[:body_start] + "\n".join(out) + problem.prompt[body_end:]
    return replace(problem, prompt=prompt), {"rewrites": dict(sorted(applied.items()))}


# --- renaming ---------------------------------------------------------------------------------------------------

_PARAM_POOL = "abcdeghkmpqrstuvwxyz"
_PROSE_SKIP = {"a", "i", "A", "I"}


def _identifiers(*codes: str) -> set[str]:
    names: set[str] = set()
    for code in codes:
        names.update(re.findall(r"[A-Za-z_]\w*", code))
    return names


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


class _Offsets:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.starts = _line_starts(text)

    def char(self, lineno: int, col: int, *, byte_col: bool) -> int:
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        if byte_col:
            col = len(line.encode()[:col].decode(errors="replace"))
        return self.starts[lineno - 1] + col


def _code_edits(code: str, entry: str, new_entry: str, params: Mapping[str, str],
                scope: ast.FunctionDef | ast.AsyncFunctionDef | None, calls: set[str],
                prose: Callable[[str], str], doc_span: tuple[int, int] | None) -> list[tuple[int, int, str]]:
    """Edits ``(start, end, new)`` that rename the entry point and its parameters in ``code``.

    ``entry`` everywhere (names and text), ``params`` inside ``scope``, keyword arguments of calls to names in
    ``calls``, and the docstring span with ``prose``.
    """
    offs = _Offsets(code)
    edits: dict[int, tuple[int, str]] = {}
    tree = ast.parse(code)
    # parameters: every binding and use inside the entry point's def (nested scopes included: renaming all
    # of them to a fresh name is consistent), plus keyword arguments of calls to the entry point / candidate
    if scope is not None:
        for node in ast.walk(scope):
            if isinstance(node, ast.arg) and node.arg in params:
                edits[offs.char(node.lineno, node.col_offset, byte_col=True)] = (len(node.arg), params[node.arg])
        for stmt in scope.body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and node.id in params:
                    edits[offs.char(node.lineno, node.col_offset, byte_col=True)] = (len(node.id), params[node.id])
                elif isinstance(node, ast.Global | ast.Nonlocal) and set(node.names) & set(params):
                    raise PerturbError("a parameter is declared global/nonlocal")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in calls:
            for kw in node.keywords:
                if kw.arg is not None and kw.arg in params:
                    edits[offs.char(kw.lineno, kw.col_offset, byte_col=True)] = (len(kw.arg), params[kw.arg])
    # the entry point's name: every NAME token not after a dot; its mentions in strings and comments
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    prev = None
    for tok in tokens:
        start = offs.char(*tok.start, byte_col=False)
        if tok.type == tokenize.NAME and tok.string == entry and not (prev and prev.string == "."):
            edits[start] = (len(entry), new_entry)
        elif tok.type in (tokenize.STRING, tokenize.COMMENT):
            end = offs.char(*tok.end, byte_col=False)
            if doc_span is not None and start <= doc_span[0] < end:
                new = code[start:doc_span[0]] + prose(code[doc_span[0]:doc_span[1]]) + code[doc_span[1]:end]
            else:
                new = re.sub(rf"\b{re.escape(entry)}\b", new_entry, tok.string)
            if new != tok.string:
                edits[start] = (end - start, new)
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            prev = tok
    return [(s, s + n, new) for s, (n, new) in edits.items()]


def _perturb_rename(problem: Problem, rng: random.Random) -> tuple[Problem, dict[str, Any]]:
    if problem.canonical_solution is None:
        raise PerturbError("no canonical solution to rename and check")
    entry = problem.entry_point
    program = problem.prompt + problem.canonical_solution
    try:
        tree = ast.parse(program)
    except SyntaxError as exc:
        raise PerturbError(f"prompt + canonical solution does not parse: {exc.msg}") from exc
    fd = entry_def(tree, entry)
    a = fd.args
    param_names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    param_names += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
    taken = _identifiers(program, problem.test) | set(dir(builtins)) | set(keyword.kwlist) | {"candidate", "check"}
    number = rng.randrange(1000)
    while f"f_{number}" in taken:
        number = (number + 1) % 100_000
    new_entry = f"f_{number}"
    pool = [c for c in _PARAM_POOL if c not in taken]
    pool += [f"{c}{d}" for d in range(10) for c in _PARAM_POOL if f"{c}{d}" not in taken]
    offset = rng.randrange(len(_PARAM_POOL))
    pool = pool[offset:] + pool[:offset]
    params = dict(zip(param_names, pool, strict=False))
    if len(params) < len(param_names):
        raise PerturbError("ran out of fresh parameter names")

    prose_params = {old: new for old, new in params.items() if old not in _PROSE_SKIP}

    def prose(text: str) -> str:
        text = re.sub(rf"\b{re.escape(entry)}\b", new_entry, text)
        if prose_params:
            pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, prose_params)) + r")\b(?!\s*\()")
            text = pattern.sub(lambda m: prose_params[m.group(1)], text)
        return text

    span = docstring_span(problem.prompt, entry)
    doc = (span[2], span[3]) if span else None
    edits = _code_edits(program, entry, new_entry, params, fd, {entry}, prose, doc)
    boundary = len(problem.prompt)
    if any(s < boundary < e for s, e, _ in edits):
        raise PerturbError("an edit crosses the prompt/solution boundary")
    prompt = _replace_spans(problem.prompt, [(s, e, n) for s, e, n in edits if e <= boundary])
    solution = _replace_spans(problem.canonical_solution,
                              [(s - boundary, e - boundary, n) for s, e, n in edits if s >= boundary])
    try:
        test_edits = _code_edits(problem.test, entry, new_entry, params, None, {entry, "candidate"},
                                 lambda t: t, None)
    except SyntaxError as exc:
        raise PerturbError(f"the test code does not parse: {exc.msg}") from exc
    test = _replace_spans(problem.test, test_edits)
    for label, code in (("prompt + solution", prompt + solution), ("test", test)):
        try:
            ast.parse(code)
        except SyntaxError as exc:  # pragma: no cover - a bug in the renamer, reported as a drop
            raise PerturbError(f"renamed {label} does not parse: {exc.msg}") from exc
    new = replace(problem, prompt=prompt, canonical_solution=solution, test=test, entry_point=new_entry)
    return new, {"function": {entry: new_entry}, "parameters": params}


_PERTURBERS: dict[str, Callable[[Problem, random.Random], tuple[Problem, dict[str, Any]]]] = {
    "rename": _perturb_rename,
    "examples": _perturb_examples,
    "docstring": _perturb_docstring,
}


# --- driving ----------------------------------------------------------------------------------------------------


def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    every = ", ".join(KINDS + MODEL_KINDS)
    if not kinds:
        raise UsageError("no perturbation kinds given", f"choose from {every}")
    unknown = [k for k in kinds if k not in KINDS + MODEL_KINDS]
    if unknown:
        raise UsageError(f"unknown perturbation kind(s) {', '.join(unknown)}", f"choose from {every}")
    return tuple(dict.fromkeys(kinds))


def perturb_problem(problem: Problem, kind: str, seed: int, *, source_benchmark: str = "",
                    source_benchmark_sha256: str = "", paraphrases: Mapping[str, str] | None = None,
                    paraphrase_info: Mapping[str, Any] | None = None) -> tuple[Problem, dict[str, Any]]:
    """One variant of one problem (not yet checked in the sandbox).

    Returns:
        ``(variant, changes)``: the variant, with task id ``<id>#<kind>`` and ``metadata.perturbation``, and
        what changed.

    Raises:
        UsageError: unknown kind.
        PerturbError: the kind cannot be applied (becomes a drop).
        Unchanged: nothing to change (becomes ``unchanged``).
    """
    _check_kinds([kind])
    if kind == "paraphrase":
        variant, changes = _paraphrased(problem, paraphrases, paraphrase_info)
    else:
        variant, changes = _PERTURBERS[kind](problem, _rng(seed, problem.task_id, kind))
    meta = {
        "kind": kind,
        "seed": seed,
        "source_task_id": problem.task_id,
        "source_sha256": problem.sha256,
        "source_benchmark": source_benchmark,
        "source_benchmark_sha256": source_benchmark_sha256,
        "changes": changes,
    }
    metadata = {**problem.metadata, "perturbation": meta}
    return replace(variant, task_id=f"{problem.task_id}{_SEP}{kind}", metadata=metadata), changes


def _paraphrased(problem: Problem, paraphrases: Mapping[str, str] | None,
                 info: Mapping[str, Any] | None) -> tuple[Problem, dict[str, Any]]:
    if paraphrases is None:
        raise UsageError("the paraphrase kind needs a model's paraphrases",
                         "coderank perturb --kinds paraphrase --model SPEC (any backend)")
    try:
        variant, changes = paraphrase.apply(problem, paraphrases.get(problem.task_id))
    except paraphrase.NothingToParaphrase as exc:
        raise Unchanged(str(exc)) from exc
    except paraphrase.ParaphraseError as exc:
        raise PerturbError(str(exc)) from exc
    return variant, {**changes, **(info or {})}


def perturb_benchmark(
    benchmark: Benchmark,
    kinds: Sequence[str] = KINDS,
    seed: int = 0,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Any = None,
    paraphrases: Mapping[str, str] | None = None,
    paraphrase_info: Mapping[str, Any] | None = None,
) -> PerturbResult:
    """Derive the variants of every problem for each kind and keep those whose canonical solution passes.

    Args:
        benchmark: The source benchmark.
        kinds: Which kinds (see :data:`KINDS`).
        seed: Seed for every random choice (names, orders, layouts).
        workers: Sandbox workers for the check (default: one per core).
        progress: Called as ``progress(done, total)`` while checking.
        executor: An already started :class:`~coderank.execution.pool.Executor` to use instead of a new one.
        paraphrases: For the ``paraphrase`` kind: task id -> the model's reply
            (:func:`coderank.rigor.paraphrase.generate`).
        paraphrase_info: Model and template record, added to each paraphrased variant's changes.

    Raises:
        UsageError: unknown kind.
        SandboxError: the sandbox cannot start.
    """
    from coderank.execution.pool import Executor, Job

    kinds = _check_kinds(kinds)
    records: dict[tuple[str, str], PerturbRecord] = {}
    candidates: dict[tuple[str, str], Problem] = {}
    for kind in kinds:
        for problem in benchmark:
            tid = f"{problem.task_id}{_SEP}{kind}"
            try:
                variant, changes = perturb_problem(problem, kind, seed, source_benchmark=benchmark.name,
                                                   source_benchmark_sha256=benchmark.sha256,
                                                   paraphrases=paraphrases, paraphrase_info=paraphrase_info)
            except Unchanged as exc:
                records[(kind, problem.task_id)] = PerturbRecord(problem.task_id, tid, kind, "unchanged", str(exc))
                continue
            except (PerturbError, SyntaxError, tokenize.TokenError, ValueError) as exc:
                records[(kind, problem.task_id)] = PerturbRecord(problem.task_id, tid, kind, "dropped",
                                                                 f"cannot derive: {exc}")
                continue
            if variant.canonical_solution is None:
                records[(kind, problem.task_id)] = PerturbRecord(problem.task_id, tid, kind, "dropped",
                                                                 "no canonical solution to check", changes)
                continue
            candidates[(kind, problem.task_id)] = variant
            records[(kind, problem.task_id)] = PerturbRecord(problem.task_id, tid, kind, "pending", "", changes)

    jobs = [Job(key, p, p.program(p.canonical_solution or "")) for key, p in candidates.items()]
    isolation: dict[str, str] = {}
    own = executor is None
    ex = Executor(workers=workers) if own else executor
    try:
        for done, (job, verdict) in enumerate(ex.map(jobs), start=1):
            rec = records[job.key]
            if verdict.passed:
                records[job.key] = replace(rec, status="kept")
            else:
                detail = f": {verdict.detail}" if verdict.detail else ""
                records[job.key] = replace(rec, status="dropped",
                                           reason=f"canonical solution {verdict.status.value}{detail}")
            if progress:
                progress(done, len(jobs))
        isolation = ex.isolation if jobs or not own else {}
    finally:
        if own:
            ex.close()

    kept: dict[str, Problem] = {}
    ordered: list[PerturbRecord] = []
    for kind in kinds:
        for problem in benchmark:
            rec = records[(kind, problem.task_id)]
            ordered.append(rec)
            if rec.status == "kept":
                variant = candidates[(kind, problem.task_id)]
                kept[variant.task_id] = variant
    derived = Benchmark(
        name=f"{benchmark.name}{_SEP}perturbed",
        version=f"{benchmark.version}; perturb {','.join(kinds)} seed {seed}",
        problems=kept,
        source=f"coderank perturb of {benchmark.name} ({benchmark.sha256})",
    )
    return PerturbResult(derived, tuple(ordered), kinds, seed, benchmark.name, benchmark.sha256, isolation)


def write_problem_file(result: PerturbResult | Benchmark, path: str | Path) -> Path:
    """Write the kept variants as a JSONL problem file that ``coderank eval -b FILE`` loads.

    Each line has ``task_id``, ``prompt``, ``entry_point``, ``test``, ``canonical_solution``, ``language`` and
    ``metadata`` (with ``perturbation``: kind, seed, source task id and hash, source benchmark and hash, changes).
    The file is written to a temporary name and renamed into place.
    """
    bench = result.benchmark if isinstance(result, PerturbResult) else result
    path = Path(path)
    write_atomic(path, "".join(
        json.dumps({"task_id": p.task_id, "prompt": p.prompt, "entry_point": p.entry_point, "test": p.test,
                    "canonical_solution": p.canonical_solution, "language": p.language, "metadata": p.metadata},
                   ensure_ascii=False) + "\n"
        for p in bench))
    return path


# --- the gap ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapEstimate:
    """Original minus perturbed pass@k on the problems both runs cover, for one kind.

    A positive ``diff`` means the model does worse on the variants: its score leans on the original surface
    form (a memorisation signal). ``low``/``high``: paired-bootstrap interval over problems.
    """

    kind: str
    problems: int
    original: float
    perturbed: float
    diff: float
    low: float
    high: float
    confidence: float
    k: int


def gap(
    original_counts: Mapping[str, tuple[int, int]],
    perturbed_counts: Mapping[str, tuple[int, int]],
    *,
    k: int = 1,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, GapEstimate]:
    """Per-kind pass@k gap between a run on the original benchmark and a run on its perturbed file.

    Args:
        original_counts: ``task id -> (n, c)`` of the run on the original benchmark.
        perturbed_counts: ``task id -> (n, c)`` of the run on the perturbed file (ids ``<source>#<kind>``).
        k: The ``k`` of pass@k.
        resamples: Bootstrap resamples.
        confidence: Interval level.
        seed: Bootstrap seed.

    Returns:
        ``kind -> GapEstimate``, kinds in sorted order; each compares the problems present in both runs.

    Raises:
        ValueError: a perturbed id has no ``#<kind>`` suffix, or a kind shares no problem with the original run.
    """
    from coderank.scoring import paired_bootstrap_diff, paired_pass_rates

    by_kind: dict[str, dict[str, tuple[int, int]]] = {}
    for task_id, nc in perturbed_counts.items():
        source, kind = split_task_id(task_id)
        by_kind.setdefault(kind, {})[source] = nc
    result = {}
    for kind in sorted(by_kind):
        ids, a, b = paired_pass_rates(original_counts, by_kind[kind], k=k)
        diff, low, high = paired_bootstrap_diff(a, b, resamples=resamples, confidence=confidence, seed=seed)
        result[kind] = GapEstimate(kind, len(ids), float(a.mean()), float(b.mean()), diff, low, high, confidence, k)
    return result
