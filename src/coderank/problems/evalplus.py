"""EvalPlus's HumanEval+ and MBPP+ (Liu et al., 2023), from a release file the user already has.

Nothing is downloaded: give the path of ``HumanEvalPlus.jsonl(.gz)`` or ``MbppPlus.jsonl(.gz)`` as EvalPlus
publishes them (``https://github.com/evalplus/humanevalplus_release``, ``.../mbppplus_release``):

- ``--benchmark evalplus:PATH`` — the *plus* tests: the original inputs (``base_input``) and EvalPlus's
  generated ones (``plus_input``) together, as EvalPlus's "base + extra" score requires both to pass;
- ``--benchmark evalplus-base:PATH`` — the original inputs only (EvalPlus's "base" score);
- a bare ``PATH`` ending in ``.jsonl`` or ``.jsonl.gz`` whose lines have ``base_input`` and ``plus_input``
  loads as ``evalplus:PATH``.

Each line has ``task_id``, ``prompt``, ``entry_point``, ``canonical_solution``, ``base_input`` and
``plus_input`` (lists of argument lists), ``atol``, and more that coderank keeps but does not need
(HumanEval+: ``contract``, ``test``; MBPP+: ``contract``, ``assertion``). The files hold inputs but no
outputs: as EvalPlus does, the expected outputs come from running ``prompt + canonical_solution`` on each
input — here in the coderank sandbox — and are cached under the data home keyed by the file's sha256, so
only the first load runs anything. An input on which the canonical solution raises or runs out of time is
left out and counted in the problem's metadata (``evalplus.dropped_inputs``).

Comparison is EvalPlus's: exact, or with ``atol`` (at least 1e-6 for float results); the few tasks EvalPlus
judges with a special oracle (HumanEval/32's root of a polynomial, MBPP+'s set-valued and "not None" tasks,
and four more) use the same rule here (:data:`coderank.problems.reference.ORACLES`). MBPP+ stores
tuples, sets and complex numbers as JSON lists or strings; per task they are rebuilt as EvalPlus's own loader
does (:data:`_MBPP_ARGS`; the facts come from EvalPlus's ``evalplus/data/mbpp.py``, the code is ours).

Limits: EvalPlus times each test against the canonical solution's time; coderank applies one CPU budget to the
whole program, so the canonical solution's CPU time for all inputs is recorded per problem
(``evalplus.canonical_cpu_seconds``) for choosing ``--timeout``.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coderank.digest import sha256_bytes
from coderank.errors import InputError
from coderank.execution import codec
from coderank.jsonl import json_lines
from coderank.paths import data_home, require_file, write_atomic
from coderank.problems._benchmark import Benchmark, register_format, register_scheme
from coderank.problems.reference import RUNNER_VERSION, Outcome, RunRequest, cases_test_code, contains_opaque
from coderank.types import Problem

__all__ = ["SCHEMES", "is_evalplus_file", "load_evalplus", "read_contracts"]

log = logging.getLogger(__name__)

#: Benchmark-spec prefixes and which tests they select.
SCHEMES: dict[str, str] = {"evalplus": "plus", "evalplus-base": "base"}
_REQUIRED = ("task_id", "prompt", "entry_point", "canonical_solution", "base_input", "plus_input")
_CPU_SECONDS = 10.0  # per sandboxed run of a canonical solution; a run that stops is resumed after the slow input


# --- MBPP+ argument shapes (which JSON lists were tuples, sets, complex numbers) --------------------------------

def _tuples_deep(value: Any) -> Any:
    return tuple(_tuples_deep(v) for v in value) if isinstance(value, list) else value


_SHAPES: dict[str, Callable[[list[Any]], list[Any]]] = {
    "each_tuple": lambda a: [tuple(x) for x in a],
    "each_inner_tuples": lambda a: [[tuple(y) for y in x] for x in a],
    "each_tuple_of_tuples": lambda a: [tuple(tuple(y) for y in x) for x in a],
    "first_tuple": lambda a: [tuple(a[0]), *a[1:]],
    "second_tuple": lambda a: [a[0], tuple(a[1]), *a[2:]],
    "first_inner_tuples": lambda a: [[tuple(y) for y in a[0]], *a[1:]],
    "first_items_tuple": lambda a: [tuple(tuple(y) if isinstance(y, list) else y for y in a[0]), *a[1:]],
    "first_dict_values_tuple": lambda a: [{k: tuple(v) for k, v in a[0].items()}, *a[1:]],
    "first_sets": lambda a: [[set(y) if isinstance(y, list) and y else {} for y in a[0]], *a[1:]],
    "float_complex": lambda a: [float(a[0]), complex(a[1]), *a[2:]],
    "first_complex": lambda a: [complex(a[0]), *a[1:]],
    "all_tuples": lambda a: list(_tuples_deep(a)),
}
_MBPP_ARGS: dict[int, str] = {
    **dict.fromkeys((2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726,
                     740, 744, 809), "each_tuple"),
    **dict.fromkeys((63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780), "each_inner_tuples"),
    **dict.fromkeys((75, 413, 444, 753), "first_inner_tuples"),
    **dict.fromkeys((106, 750), "second_tuple"),
    115: "first_sets",
    124: "float_complex",
    **dict.fromkeys((250, 307, 405, 446, 617, 720, 763, 808), "first_tuple"),
    **dict.fromkeys((259, 401, 445), "each_tuple_of_tuples"),
    278: "first_items_tuple",
    722: "first_dict_values_tuple",
    252: "first_complex",
    **dict.fromkeys((580, 615, 791), "all_tuples"),
}

# Tasks whose output EvalPlus does not compare with plain equality (keyed by entry point, as EvalPlus does).
_HUMANEVAL_ORACLES = {"find_zero": "poly_root"}
_MBPP_ORACLES = {
    **dict.fromkeys(("similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly", "larg_nnum",
                     "intersection_array", "find_dissimilar", "Diff"), "set"),
    **dict.fromkeys(("check_str", "text_match_three", "text_starta_endb"), "not_none"),
    "are_equivalent": "any",
    "sum_div": "or_zero",
    "surface_Area": "surface_area",
    "digit_distance_nums": "digit_distance",
}


def _dataset(task_id: str) -> str:
    if task_id.startswith("HumanEval/"):
        return "humaneval"
    if task_id.startswith("Mbpp/"):
        return "mbpp"
    return "other"


def _oracle(task_id: str, entry_point: str) -> str:
    table = {"humaneval": _HUMANEVAL_ORACLES, "mbpp": _MBPP_ORACLES}.get(_dataset(task_id), {})
    return table.get(entry_point, "equal")


def _arguments(task_id: str, raw: Any, where: str, field: str) -> list[tuple[Any, ...]]:
    if raw == {}:
        raw = []  # one MBPP+ v0.2.0 line stores its empty plus_input as {}
    if not isinstance(raw, list) or not all(isinstance(args, list) for args in raw):
        raise InputError(f"{where}: {field!r} must be a list of argument lists")
    shape = _SHAPES[_MBPP_ARGS[int(task_id.split("/")[1])]] if _dataset(task_id) == "mbpp" and \
        task_id.split("/")[1].isdigit() and int(task_id.split("/")[1]) in _MBPP_ARGS else None
    out = []
    for i, args in enumerate(raw):
        try:
            out.append(tuple(shape(args) if shape else args))
        except (TypeError, ValueError, IndexError, AttributeError) as exc:
            raise InputError(f"{where}: {field}[{i}] does not have the shape task {task_id} needs: {exc}") from exc
    return out


# --- reading the file --------------------------------------------------------------------------------------------

def _read(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file: {exc.strerror}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a valid gzip file: {exc}", "re-download the EvalPlus release file") from exc
    return raw


def is_evalplus_file(path: Path) -> bool:
    """Whether ``path`` looks like an EvalPlus release file (its first line has ``base_input`` and ``plus_input``)."""
    try:
        data = _read(path)
    except InputError:
        return False
    for line in data.splitlines():
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError:
                return False
            return isinstance(row, dict) and "base_input" in row and "plus_input" in row
    return False


def _rows(path: Path, data: bytes) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    seen: set[str] = set()
    for where, row in json_lines(data.splitlines(), str(path)):
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
        missing = [f for f in _REQUIRED if f not in row]
        if missing:
            raise InputError(f"{where}: missing field(s) {', '.join(missing)}",
                             "an EvalPlus release line has " + ", ".join(_REQUIRED) + " and atol")
        for name in ("task_id", "prompt", "entry_point", "canonical_solution"):
            if not isinstance(row[name], str) or not row[name].strip():
                raise InputError(f"{where}: field {name!r} must be a non-empty string")
        if not row["entry_point"].isidentifier():
            raise InputError(f"{where}: entry_point {row['entry_point']!r} is not a Python identifier")
        atol = row.get("atol", 0)
        if isinstance(atol, bool) or not isinstance(atol, int | float) or atol < 0:
            raise InputError(f"{where}: 'atol' must be a non-negative number, got {atol!r}")
        if row["task_id"] in seen:
            raise InputError(f"{where}: duplicate task_id {row['task_id']!r}")
        seen.add(row["task_id"])
        rows.append((where, row))
    if not rows:
        raise InputError(f"{path}: no problems in the file")
    return rows


# --- expected outputs (cached) ------------------------------------------------------------------------------------

def _cache_path(file_sha256: str) -> Path:
    return data_home() / "evalplus" / f"{file_sha256.removeprefix('sha256:')}-runner{RUNNER_VERSION}.json"


def _load_cache(path: Path) -> dict[str, list[Outcome]] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return {tid: [Outcome(s, codec.decode_node(v), c, d) for s, v, c, d in rows]
                for tid, rows in doc["tasks"].items()}
    except (OSError, ValueError, KeyError, TypeError, codec.CodecError):
        return None


def _save_cache(path: Path, outcomes: dict[str, list[Outcome]], file_sha256: str) -> None:
    doc = {"version": 1, "runner": RUNNER_VERSION, "file_sha256": file_sha256,
           "tasks": {tid: [[o.status, codec.encode_node(o.value), o.cpu_seconds, o.detail] for o in rows]
                     for tid, rows in outcomes.items()}}
    write_atomic(path, json.dumps(doc, ensure_ascii=True, separators=(",", ":")))


def _expected(requests: list[RunRequest], file_sha256: str, executor: Any,
              progress: Callable[[int, int], None] | None) -> dict[str, list[Outcome]]:
    cache = _cache_path(file_sha256)
    cached = _load_cache(cache)
    if cached is not None and all(len(cached.get(r.key, ())) == len(r.inputs) for r in requests):
        return cached
    from coderank.execution.pool import Executor
    from coderank.problems.reference import reference_limits, run_inputs

    log.info("computing EvalPlus expected outputs for %d problems in the sandbox (cached in %s)", len(requests),
             cache)
    own = executor is None
    ex = Executor(limits=reference_limits(_CPU_SECONDS)) if own else executor
    outcomes: dict[str, list[Outcome]] = {}
    try:
        tick = (lambda n: progress(n, len(requests))) if progress else None
        for req, outs in run_inputs(ex, requests, progress=tick):
            outcomes[req.key] = outs
    finally:
        if own:
            ex.close()
    _save_cache(cache, outcomes, file_sha256)
    return outcomes


def read_contracts(path: str | Path) -> dict[str, str]:
    """``task_id -> contract`` from an EvalPlus release file: the input-validity asserts EvalPlus wrote by hand.

    A contract is a few ``assert ..., "invalid inputs"`` lines meant to sit between the prompt and the canonical
    solution (``prompt + contract + canonical_solution``); tasks without one are left out.

    Raises:
        InputError: the file is unreadable or a line is malformed (naming file and line).
    """
    path = Path(path)
    out = {}
    for where, row in _rows(path, _read(path)):
        contract = row.get("contract")
        if contract is not None and not isinstance(contract, str):
            raise InputError(f"{where}: 'contract' must be a string of Python code")
        if contract and contract.strip():
            out[row["task_id"]] = contract
    return out


# --- the benchmark -----------------------------------------------------------------------------------------------

def load_evalplus(path: str | Path, tests: str = "plus", *, executor: Any = None,
                  progress: Callable[[int, int], None] | None = None) -> Benchmark:
    """Load an EvalPlus release file as a benchmark.

    Args:
        path: ``HumanEvalPlus.jsonl(.gz)``, ``MbppPlus.jsonl(.gz)`` or a file in their format.
        tests: ``plus`` (base and plus inputs) or ``base`` (base inputs only).
        executor: An :class:`~coderank.execution.pool.Executor` with a large ``output_bytes`` limit, for
            computing expected outputs on a cache miss (default: a new one).
        progress: Called as ``progress(done, total)`` while expected outputs are computed.

    Raises:
        UsageError: ``tests`` is neither ``plus`` nor ``base``.
        InputError: the file is unreadable or a line is malformed (naming file and line).
        SandboxError: the sandbox cannot start (only on a cache miss).
    """
    from coderank.errors import UsageError

    if tests not in ("plus", "base"):
        raise UsageError(f"EvalPlus tests must be 'plus' or 'base', got {tests!r}")
    path = Path(path)
    data = _read(path)
    file_sha256 = sha256_bytes(data)
    rows = _rows(path, data)
    parsed = []
    for where, row in rows:
        tid = row["task_id"]
        base = _arguments(tid, row["base_input"], where, "base_input")
        plus = _arguments(tid, row["plus_input"], where, "plus_input")
        parsed.append((where, row, base, plus))
    requests = [RunRequest(row["task_id"], row["prompt"] + row["canonical_solution"], row["entry_point"], base + plus)
                for _, row, base, plus in parsed]
    outcomes = _expected(requests, file_sha256, executor, progress)

    variants: dict[str, dict[str, Problem]] = {"base": {}, "plus": {}}
    for (where, row, base, _), req in zip(parsed, requests, strict=True):
        tid, entry = row["task_id"], row["entry_point"]
        mode = _oracle(tid, entry)
        outs = outcomes[tid]
        cases: dict[str, list[tuple[tuple[Any, ...], Any]]] = {"base": [], "plus": []}
        dropped: dict[str, int] = {"base": 0, "plus": 0}
        for i, (args, out) in enumerate(zip(req.inputs, outs, strict=True)):
            part = "base" if i < len(base) else "plus"
            if out.status != "ok" or (mode != "not_none" and contains_opaque(out.value)):
                dropped[part] += 1
                continue
            expected = out.value is not None if mode == "not_none" else out.value
            cases[part].append((args, expected))
        if sum(dropped.values()):
            log.warning("%s: %s: the canonical solution failed on %d input(s); left out", where, tid,
                        sum(dropped.values()))
        cpu = round(sum(o.cpu_seconds for o in outs), 4)
        for variant, chosen in (("base", cases["base"]), ("plus", cases["base"] + cases["plus"])):
            meta = {"source": "evalplus", "evalplus": {
                "file": str(path), "file_sha256": file_sha256, "tests": variant, "base_inputs": len(cases["base"]),
                "plus_inputs": len(cases["plus"]) if variant == "plus" else 0, "atol": row.get("atol", 0),
                "oracle": mode, "dropped_inputs": dropped["base"] + (dropped["plus"] if variant == "plus" else 0),
                "canonical_cpu_seconds": cpu}}
            note = f"EvalPlus {variant} inputs, expected outputs from the canonical solution"
            try:
                test = cases_test_code(chosen, atol=float(row.get("atol", 0)), mode=mode, note=note)
                compile(test, "<test>", "exec")
            except (TypeError, SyntaxError, RecursionError, MemoryError, ValueError) as exc:
                raise InputError(f"{where}: cannot write the tests of {tid} as Python: {exc}") from exc
            variants[variant][tid] = Problem(task_id=tid, prompt=row["prompt"], entry_point=entry, test=test,
                                             canonical_solution=row["canonical_solution"], metadata=meta)
    version = f"EvalPlus file {file_sha256[:19]}; expected outputs by coderank runner {RUNNER_VERSION}"
    base_bench = Benchmark(name=f"evalplus-base:{path}", version=version + "; base tests", problems=variants["base"],
                           source=str(path.resolve()),
                           derivation={"kind": "evalplus", "tests": "base", "file": str(path),
                                       "file_sha256": file_sha256})
    if tests == "base":
        return base_bench
    return Benchmark(name=f"evalplus:{path}", version=version + "; base + plus tests", problems=variants["plus"],
                     source=str(path.resolve()),
                     derivation={"kind": "evalplus", "tests": "plus", "file": str(path), "file_sha256": file_sha256,
                                 "base": base_bench.name, "base_sha256": base_bench.sha256})


def _scheme_loader(tests: str) -> Callable[[Path], Benchmark]:
    def load(path: Path) -> Benchmark:
        require_file(path, "EvalPlus file", "give the path of HumanEvalPlus.jsonl(.gz) or MbppPlus.jsonl(.gz) "
                     "as released by EvalPlus (coderank downloads nothing)")
        return load_evalplus(path, tests)

    return load


for _scheme, _tests in SCHEMES.items():
    register_scheme(_scheme, _scheme_loader(_tests))
register_format(lambda path: path.name.endswith((".jsonl", ".jsonl.gz")) and is_evalplus_file(path),
                lambda path: load_evalplus(path, "plus"))
