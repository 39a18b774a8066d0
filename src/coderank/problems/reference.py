"""Differential tests: expected outputs from a reference solution run in the sandbox, written as test code.

Two derived benchmarks need the same machinery: ``coderank augment`` (generated inputs for HumanEval-style
problems) and the EvalPlus loader (HumanEval+/MBPP+ files carry inputs but no outputs). Both

1. run a reference program (the canonical solution, or a mutant of it) on a list of inputs **in the
   sandbox** (:func:`run_inputs`): a small driver appended to the program calls the entry point on each
   input at load time and prints one line per input, tagged with a per-job nonce, holding the result in the
   sandbox's plain-data encoding (:mod:`coderank.execution.codec`). The trusted side parses those lines
   back into plain values; nothing of the program's objects crosses over. A program that runs out of time
   stops the driver: the inputs it did not reach are run again in a fresh program, the slow one alone first;
2. write the cases as Python test code (:func:`cases_test_code`) that the checker runs like any
   ``check(candidate)``: literal inputs and expected values, compared by :data:`COMPARE_SOURCE`.

Comparison (EvalPlus's rule): exact ``==`` first; failing that, when a tolerance applies (``atol`` > 0, or
the expected value is a float or a flat list of floats, where ``atol`` = 1e-6), same type and, element-wise,
``|out - exp| <= atol + 1e-7 * |exp|``. A few problems accept more than one answer and carry an ``oracle``
mode instead of plain equality (a polynomial's root, a set of elements, ...); see :data:`ORACLES`.
"""

from __future__ import annotations

import json
import math
import secrets
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from coderank.execution import codec
from coderank.types import Problem

__all__ = [
    "COMPARE_SOURCE",
    "ORACLES",
    "Outcome",
    "RunRequest",
    "cases_test_code",
    "comparator",
    "contains_opaque",
    "reference_limits",
    "run_inputs",
    "to_source",
]

#: Bumped whenever the driver or the encoding of results changes (part of cache keys).
RUNNER_VERSION = "1"

# The comparison, as source text: the generated test code embeds it and the trusted side execs the very same
# text (:func:`comparator`), so selecting tests and judging candidates can never disagree.
COMPARE_SOURCE = '''\
import math as _cr_math


def _cr_floats(x):
    if type(x) is float:
        return True
    return type(x) in (list, tuple) and len(x) > 0 and all(type(i) is float for i in x)


def _cr_close(out, exp, atol):
    if type(out) in (int, float) and type(exp) in (int, float):
        return abs(out - exp) <= atol + 1e-07 * abs(exp)
    if type(out) in (list, tuple) and type(out) is type(exp):
        return len(out) == len(exp) and all(_cr_close(a, b, atol) for a, b in zip(out, exp))
    return out == exp


def _cr_surface_area(base_edge, height):
    slant = _cr_math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 2 * base_edge * slant)


def _cr_digit_distance(a, b):
    x, y = str(a), str(b)
    width = max(len(x), len(y))
    return sum(abs(int(p) - int(q)) for p, q in zip(x.zfill(width), y.zfill(width)))


def _cr_same(out, exp, args, atol=0.0, mode="equal"):
    """Whether a candidate's output is acceptable; mode "equal" unless the problem accepts several answers."""
    if mode == "any":
        return True
    if mode == "poly_root":
        if type(out) not in (int, float):
            return False
        try:
            value = sum(c * _cr_math.pow(out, i) for i, c in enumerate(args[0]))
        except (OverflowError, ValueError):
            return False
        return abs(value) <= atol
    if mode == "not_none":
        return out == exp if type(out) is bool else exp == (out is not None)
    if mode in ("set", "sorted", "sequence"):
        try:
            if mode == "set":
                out, exp = set(out), set(exp)
            elif mode == "sorted":
                out, exp = sorted(out), sorted(exp)
            else:
                out = tuple(out) if type(out) in (list, tuple) else out
                exp = tuple(exp) if type(exp) in (list, tuple) else exp
        except TypeError:
            return False
    if out == exp:
        return True
    if mode == "or_zero" and out == 0:
        return True
    if mode == "surface_area" and type(out) in (int, float):
        return abs(out - _cr_surface_area(*args)) <= max(atol, 1e-6)
    if mode == "digit_distance":
        return out == _cr_digit_distance(*args)
    if atol == 0 and _cr_floats(exp):
        atol = 1e-06
    if atol == 0:
        return False
    return type(out) is type(exp) and _cr_close(out, exp, atol)


def _cr_show(value):
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
'''

#: Comparison modes besides plain equality (with tolerance): what each accepts.
ORACLES: dict[str, str] = {
    "equal": "== (with the float tolerance)",
    "sequence": "equal as tuples (the tests accepted a list or a tuple)",
    "sorted": "equal after sorting both",
    "set": "equal as sets",
    "not_none": "the expected value says whether the result is None",
    "poly_root": "a root of the polynomial args[0], within atol",
    "any": "any answer (the task's output is not checkable)",
    "or_zero": "equal, or 0",
    "surface_area": "equal, or the alternative formula's value",
    "digit_distance": "equal, or the zero-padded digit distance",
}


def comparator() -> Callable[..., bool]:
    """``same(out, exp, args, atol=0.0, mode="equal")`` built from :data:`COMPARE_SOURCE` (trusted data only)."""
    namespace: dict[str, Any] = {}
    exec(compile(COMPARE_SOURCE, "<coderank-compare>", "exec"), namespace)  # our own constant source text
    same: Callable[..., bool] = namespace["_cr_same"]
    return same


# --- plain data as Python source ------------------------------------------------------------------------------


def to_source(value: Any) -> str:
    """Python source that evaluates to ``value`` (plain data only: the codec's closed set of types).

    Raises:
        TypeError: a value of another type (an :class:`~coderank.execution.codec.Opaque`, say).
    """
    t = _plain_type(value)
    if value is None or t is bool or t is str or t is bytes:
        return repr(value)
    if t is int:
        # Decimal literals past 4300 digits are refused by the parser; hexadecimal ones are not limited.
        return repr(value) if value.bit_length() < 10_000 else ("-" if value < 0 else "") + hex(abs(value))
    if t is float:
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if t is complex:
        return f"complex({to_source(value.real)}, {to_source(value.imag)})"
    if t is list:
        return "[" + ", ".join(to_source(v) for v in value) + "]"
    if t is tuple:
        inner = ", ".join(to_source(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if t is dict:
        return "{" + ", ".join(f"{to_source(k)}: {to_source(v)}" for k, v in value.items()) + "}"
    if t is set or t is frozenset:
        items = sorted(to_source(v) for v in value)
        if not items:
            return "set()" if t is set else "frozenset()"
        return ("{" + ", ".join(items) + "}") if t is set else "frozenset({" + ", ".join(items) + "})"
    raise TypeError(f"cannot write a value of type {t.__name__} as test data")


def contains_opaque(value: Any) -> bool:
    """Whether a decoded value holds anything :func:`to_source` cannot write as test data.

    That is an :class:`~coderank.execution.codec.Opaque`, or one of the richer types the codec also carries
    (a rebuilt iterator, a deque, a numpy array...).
    """
    t = _plain_type(value)
    if value is None or t in (bool, int, float, complex, str, bytes):
        return False
    if t in (list, tuple, set, frozenset):
        return any(contains_opaque(v) for v in value)
    if t is dict:
        return any(contains_opaque(k) or contains_opaque(v) for k, v in value.items())
    return True


def _plain_type(value: Any) -> type:
    """The type of a value, but tuple for a namedtuple and dict for Counter, OrderedDict and defaultdict.

    The codec rebuilds those as themselves; they compare equal to their base, and are written as it.
    """
    t = type(value)
    if isinstance(value, tuple) and hasattr(t, "_fields"):
        return tuple
    if t in (Counter, OrderedDict, defaultdict):
        return dict
    return t


def cases_test_code(cases: Sequence[tuple[tuple[Any, ...], Any]], *, atol: float = 0.0, mode: str = "equal",
                    keep_check: bool = False, note: str = "") -> str:
    """Test code that checks ``candidate(*args)`` against each expected value.

    Args:
        cases: ``(args, expected)`` pairs of plain data.
        atol: Absolute tolerance for float results (0: 1e-6 for floats, exact otherwise).
        mode: Comparison mode (a key of :data:`ORACLES`).
        keep_check: The code is appended to test code that defines ``check(candidate)``: run that first.
        note: One line for the header comment (where the cases came from).

    Raises:
        ValueError: unknown mode.
        TypeError: a value that is not plain data.
    """
    if mode not in ORACLES:
        raise ValueError(f"unknown comparison mode {mode!r}")
    lines = [f"# --- coderank: {len(cases)} differential test case(s){'; ' + note if note else ''} ---",
             COMPARE_SOURCE.rstrip("\n"), "", "_CR_CASES = ["]
    for args, expected in cases:
        lines.append(f"    ({to_source(tuple(args))}, {to_source(expected)}),")
    lines.append("]")
    lines.append("")
    if keep_check:
        lines.append("_cr_base_check = check")
        lines.append("")
    lines.append("")
    lines.append("def check(candidate):")
    lines.append("    import copy as _cr_copy")
    if keep_check:
        lines.append("    _cr_base_check(candidate)")
    lines.append("    for _cr_i, (_cr_args, _cr_exp) in enumerate(_CR_CASES):")
    lines.append("        _cr_out = candidate(*_cr_copy.deepcopy(_cr_args))")
    lines.append(f"        assert _cr_same(_cr_out, _cr_exp, _cr_args, {atol!r}, {mode!r}), \\")
    lines.append("            f'case {_cr_i}: input {_cr_show(_cr_args)}: expected {_cr_show(_cr_exp)}, "
                 "got {_cr_show(_cr_out)}'")
    return "\n".join(lines) + "\n"


# --- running a reference on inputs in the sandbox ----------------------------------------------------------------

_DRIVER = '''

def _cr_drive(entry, payload, mark, budget):
    import copy, io, json, os, signal, sys, time

    class OverBudget(BaseException):
        pass

    def stop(signum, frame):
        raise OverBudget

    codec = {}
    exec(compile(_CR_CODEC, "<codec>", "exec"), codec)
    fn = globals()[entry]
    inputs = codec["decode"](payload)
    if budget:
        signal.signal(signal.SIGPROF, stop)
    for index, args in enumerate(inputs):
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = io.StringIO()
        start = time.process_time()
        try:
            if budget:
                signal.setitimer(signal.ITIMER_PROF, budget)
            value = fn(*copy.deepcopy(args))
            row = [index, "ok", codec["encode_node"](value)]
        except OverBudget:
            row = [index, "timeout", "over the per-call CPU budget"]
        except BaseException as exc:
            row = [index, "raised", type(exc).__name__ + ": " + str(exc)[:200]]
        finally:
            if budget:
                signal.setitimer(signal.ITIMER_PROF, 0)
            sys.stdout, sys.stderr = saved
        row.append(round(time.process_time() - start, 6))
        try:
            line = json.dumps(row, ensure_ascii=True, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            line = json.dumps([index, "raised", "unencodable result", row[-1]])
        os.write(1, (mark + line + "\\n").encode())
'''


@dataclass(frozen=True)
class Outcome:
    """What a reference did on one input.

    Attributes:
        status: ``ok`` (returned ``value``), ``raised`` (``detail`` names the exception), ``timeout``,
            ``crashed`` or ``oom`` (the program ran out of a limit, or died, on this input), ``too_large`` (the
            result alone exceeds the output cap), ``missing`` (never reached: the program stopped on an earlier
            input and was not resumed).
        value: The decoded result (plain data; may hold :class:`~coderank.execution.codec.Opaque` parts).
        cpu_seconds: CPU time of the call (``ok``/``raised`` only).
        detail: Exception or reason.
    """

    status: str
    value: Any = None
    cpu_seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class RunRequest:
    """Run ``program`` (which defines ``entry_point``) on each of ``inputs`` (tuples of arguments)."""

    key: Any
    program: str
    entry_point: str
    inputs: Sequence[tuple[Any, ...]]


@dataclass
class _Batch:
    request: RunRequest
    indices: list[int]
    call_seconds: float | None = None
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))


_NOOP_TEST = "def check(candidate):\n    pass\n"


def _job_for(batch: _Batch) -> Any:
    from coderank.execution.pool import Job

    req = batch.request
    payload = codec.encode([list(req.inputs[i]) for i in batch.indices])
    mark = f"\x1fCR{batch.nonce}\x1f"
    program = (req.program.rstrip("\n") + "\n" + f"\n_CR_CODEC = {codec.source()!r}\n" + _DRIVER
               + f"\n_cr_drive({req.entry_point!r}, {payload!r}, {mark!r}, {batch.call_seconds!r})\n")
    problem = Problem(task_id=f"reference:{req.entry_point}", prompt="", entry_point=req.entry_point,
                      test=_NOOP_TEST)
    return Job(batch, problem, program)




def _parse(batch: _Batch, output: str) -> dict[int, Outcome]:
    mark = f"\x1fCR{batch.nonce}\x1f"
    found: dict[int, Outcome] = {}
    for line in output.split("\n"):
        at = line.find(mark)
        if at < 0:
            continue
        try:
            row = json.loads(line[at + len(mark):])
            position, status, body, cpu = row
            index = batch.indices[position]
            if status == "ok":
                found[index] = Outcome("ok", codec.decode_node(body), float(cpu))
            else:
                found[index] = Outcome("timeout" if status == "timeout" else "raised", None, float(cpu), str(body))
        except (ValueError, TypeError, IndexError, codec.CodecError):
            continue  # a line cut by the output cap: that input counts as not reached
    return found


def run_inputs(executor: Any, requests: Iterable[RunRequest], *, resume: bool = True,
               call_seconds: float | None = None, max_stops: int | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[tuple[RunRequest, list[Outcome]]]:
    """Run each request's program on its inputs in the sandbox; yield ``(request, outcomes)`` as each finishes.

    Args:
        executor: A :class:`~coderank.execution.pool.Executor`; give it a large ``output_bytes`` limit
            (results travel as the program's output), e.g. :func:`reference_limits`.
        requests: What to run.
        resume: When a program stops on an input (time, memory, a crash), run the inputs it did not reach
            in a new program, starting with the one it stopped on: an input gets a stop status (``timeout``,
            ``crashed``, ``oom``) only when it stopped a program it was the first input of, so a stop always
            belongs to its input, never to the inputs before it. Without resuming, the input a program stopped on
            gets the stop's status (which may then be the total of the inputs before it) and the rest ``missing``.
        max_stops: With ``resume``, after this many inputs of a request got a stop status, mark the rest
            ``missing`` instead of running them (a program that loops forever costs a whole budget per input).
        call_seconds: CPU budget of one call (a timer in the program interrupts the call and the driver goes on
            with the next input; the call's outcome is ``timeout``). None: only the program's budget applies.
        progress: Called with the number of requests finished so far.

    Raises:
        SandboxError: the sandbox cannot start.
    """
    results: dict[int, dict[int, Outcome]] = {}
    stops: dict[int, int] = {}
    pending: list[_Batch] = []
    order: dict[int, RunRequest] = {}
    for req in requests:
        order[id(req)] = req
        results[id(req)] = {}
        if req.inputs:
            pending.append(_Batch(req, list(range(len(req.inputs))), call_seconds))
    finished = 0
    for req in [r for r in order.values() if not r.inputs]:
        finished += 1
        if progress:
            progress(finished)
        yield req, []
    while pending:
        jobs = [_job_for(b) for b in pending]
        pending = []
        for job, verdict in executor.map(jobs):
            batch: _Batch = job.key
            req = batch.request
            done = results[id(req)]
            got = _parse(batch, verdict.output)
            done.update(got)
            left = [i for i in batch.indices if i not in got]
            if left:
                # Passed with inputs unreported: their lines were cut by the output cap.
                stop = verdict.status.value if not verdict.passed else "too_large"
                culprit = left[0]
                if not resume:
                    done[culprit] = Outcome(stop, detail=verdict.detail)
                    done.update({i: Outcome("missing") for i in left[1:]})
                elif culprit == batch.indices[0]:
                    done[culprit] = Outcome(stop, detail=verdict.detail)
                    stops[id(req)] = stops.get(id(req), 0) + 1
                    if max_stops is not None and stops[id(req)] >= max_stops:
                        done.update({i: Outcome("missing") for i in left[1:]})
                    elif left[1:]:
                        pending.append(_Batch(req, left[1:], call_seconds))
                else:
                    # The stop may be the batch's total, not this input's: run again from it, on a fresh budget.
                    pending.append(_Batch(req, left, call_seconds))
            if len(done) == len(req.inputs):
                finished += 1
                if progress:
                    progress(finished)
                yield req, [done[i] for i in range(len(req.inputs))]


def reference_limits(cpu_seconds: float = 3.0) -> Any:
    """Sandbox limits for :func:`run_inputs`: results travel as output, so keep up to 64 MiB of it."""
    from coderank.execution.sandbox import Limits, MiB

    return Limits(cpu_seconds=cpu_seconds, output_bytes=64 * MiB)
