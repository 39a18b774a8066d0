"""Harder tests: derive a benchmark whose problems keep their tests and gain generated ones that catch more bugs.

For each problem (:func:`augment_benchmark`):

1. **Inputs.** The literal inputs of the problem's tests are read from its test code (parsed, never run) and
   mutated, type-aware and seeded, within the domain and invariants the original inputs show
   (:mod:`coderank.rigor._inputs`), up to ``per_problem`` new inputs.
2. **Expected outputs.** The canonical solution runs on the original and the new inputs in the sandbox
   (:func:`coderank.problems.reference.run_inputs`). The *contract filter* drops a new input when the
   canonical solution raises on it, runs out of time or memory on it, needs more than 50 ms of CPU for it,
   returns something that is not plain data (or NaN), or returns a value of another type than it returns for
   the original inputs; also when the test it makes would be very large. What no filter can see: a
   precondition the docstring states only in prose (see :mod:`coderank.rigor._inputs`) — unless the user
   gives EvalPlus's hand-written contracts (``contracts``, from a HumanEval+ release file): the reference then
   runs as ``prompt + contract + canonical solution`` and an input the contract rejects is dropped
   (``contract``). The expected outputs are the canonical solution's, its bugs included (HumanEval/140's
   canonical solution turns two spaces into one underscore; the generated test expects that too).
3. **Mutants.** Up to ``mutants`` seeded mutants of the canonical solution (:mod:`coderank.rigor.mutants`)
   run against the original tests (the *before* kill) and on every valid new input (which new test kills
   which mutant; a mutant that raises or runs out of time on an input is killed by it).
4. **Reduction.** Greedy set cover keeps the fewest new tests that kill every mutant the full set of new
   tests kills beyond the original tests (ties: the smaller test, then the first).
   The original tests always stay. When the originals already kill everything the new inputs kill, nothing
   is added and the problem is unchanged.
5. **Check and measure.** The canonical solution must pass the augmented problem in the sandbox (else the
   problem is kept as it was and reported ``failed``); the mutants run against it too, so the mutation score
   *after* is measured through the same path ``coderank eval`` uses, not predicted.

Output: a problem file (:mod:`coderank.problems.problemfile`) with the source's task ids, prompts and
canonical solutions; each test is the original test code followed by the kept cases (their ``check`` runs the
original ``check`` first). Every line's ``metadata.augmentation`` records the generator and its version, the
seed and budgets, the source task's and benchmark's names and hashes, and the per-problem counts; a file whose
lines all name the same source benchmark loads with that derivation (``Benchmark.derivation``), which goes
into run manifests and lets the board show a run's drop against the same model's run on the source.

Reproducibility: a seed fixes the generated inputs and the mutants; what survives the filter and the reduction
follows from sandbox outcomes, and only CPU-time limits (the 50 ms per input, the run budgets) depend on the
machine — an input near a limit may fall on the other side elsewhere. The derived benchmark's hash, recorded in
every run on it, says exactly which tests were used.

Cost (HumanEval, 164 problems, 2 cores): about 75 s with the defaults; most of it is mutants that loop forever
on the original tests, each stopped at its CPU budget.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from coderank.errors import UsageError
from coderank.problems import Benchmark
from coderank.problems.reference import (
    RunRequest,
    cases_test_code,
    comparator,
    contains_opaque,
    reference_limits,
    run_inputs,
    to_source,
)
from coderank.rigor._inputs import Domain, generate, read_tests
from coderank.rigor.mutants import Mutant, sample_mutants
from coderank.types import Problem

__all__ = ["GENERATOR", "AugmentRecord", "AugmentResult", "augment_benchmark"]

#: Name and version of this generator (recorded per problem; bumped when the same seed would give other tests).
GENERATOR = "coderank-augment/1"
SLOW_CALL_SECONDS = 0.05  # canonical CPU per generated input above which the input is dropped: suites stay fast
_MAX_CASE_CHARS = 4000  # a generated case (input and expected value as source) longer than this is dropped

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AugmentRecord:
    """What happened to one problem.

    Attributes:
        task_id: The problem (same id in the derived benchmark).
        status: ``augmented`` (new tests added), ``unchanged`` (no new test needed or none could be made; the
            problem is written as it was) or ``failed`` (the canonical solution failed the augmented tests; the
            problem is written as it was).
        reason: Why unchanged or failed (empty when augmented).
        tests_before: Calls of the candidate in the original tests (a loop's call counts once).
        tests_after: ``tests_before`` plus the new tests kept.
        generated: New inputs generated.
        valid: New inputs that passed the contract filter.
        kept: New tests kept by the reduction.
        filtered: Why the others were dropped: ``contract`` (a given contract rejects the input), ``raised``,
            ``timeout``, ``non_plain``, ``output_type``, ``slow``, ``large``.
        mutants: Mutants of the canonical solution used.
        killed_before: Mutants the original tests kill.
        killed_after: Mutants the augmented tests kill (measured in the sandbox).
        killed_predicted: What the selection expected the augmented tests to kill (``killed_before`` plus the
            mutants the kept tests kill in the runs on single inputs); ``killed_after`` differs only when a mutant
            behaves differently across calls (state kept between calls, time).
    """

    task_id: str
    status: str
    reason: str = ""
    tests_before: int = 0
    tests_after: int = 0
    generated: int = 0
    valid: int = 0
    kept: int = 0
    filtered: Mapping[str, int] = field(default_factory=dict)
    mutants: int = 0
    killed_before: int = 0
    killed_after: int = 0
    killed_predicted: int = 0

    @property
    def score_before(self) -> float | None:
        """Mutation score of the original tests (None without mutants)."""
        return self.killed_before / self.mutants if self.mutants else None

    @property
    def score_after(self) -> float | None:
        """Mutation score of the augmented tests (None without mutants)."""
        return self.killed_after / self.mutants if self.mutants else None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (the per-problem entry of the ``--json`` document)."""
        out = dataclasses.asdict(self)
        out["filtered"] = dict(self.filtered)
        out["score_before"], out["score_after"] = self.score_before, self.score_after
        return out


@dataclass(frozen=True)
class AugmentResult:
    """The derived benchmark (every source problem, augmented or as it was) and a record per problem.

    Attributes:
        benchmark: The derived problems, in the source's order.
        records: One per problem.
        seed: The generator's seed.
        per_problem: New inputs generated per problem (before filtering).
        mutants_per_problem: Mutants per problem.
        source: The source benchmark's name.
        source_sha256: Its hash.
        wall_seconds: How long the whole derivation took.
        isolation: The sandbox's isolation layers.
        engine: Where the programs ran (``{"engine": "local", ...}`` or, with ``ray``, the cluster's nodes).
        limits: CPU budgets used: ``cpu_seconds`` (canonical runs), ``mutant_cpu_seconds`` (mutant runs and
            checks, raised to 5x the slowest canonical solution's time on its own tests).
    """

    benchmark: Benchmark
    records: tuple[AugmentRecord, ...]
    seed: int
    per_problem: int
    mutants_per_problem: int
    source: str
    source_sha256: str
    wall_seconds: float = 0.0
    isolation: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    limits: Mapping[str, float] = field(default_factory=dict, compare=False, hash=False)
    engine: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def totals(self) -> dict[str, Any]:
        """Sums over all problems, and the overall mutation scores before and after."""
        keys = ("tests_before", "tests_after", "generated", "valid", "kept", "mutants", "killed_before", "killed_after",
                "killed_predicted")
        out: dict[str, Any] = {k: sum(getattr(r, k) for r in self.records) for k in keys}
        out["problems"] = len(self.records)
        for status in ("augmented", "unchanged", "failed"):
            out[status] = sum(r.status == status for r in self.records)
        filtered: dict[str, int] = {}
        for r in self.records:
            for k, v in r.filtered.items():
                filtered[k] = filtered.get(k, 0) + v
        out["filtered"] = dict(sorted(filtered.items()))
        out["score_before"] = out["killed_before"] / out["mutants"] if out["mutants"] else None
        out["score_after"] = out["killed_after"] / out["mutants"] if out["mutants"] else None
        return out

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` document of ``coderank augment``."""
        return {
            "source": self.source,
            "source_sha256": self.source_sha256,
            "generator": GENERATOR,
            "seed": self.seed,
            "per_problem": self.per_problem,
            "mutants_per_problem": self.mutants_per_problem,
            "benchmark_sha256": self.benchmark.sha256,
            "problems": len(self.benchmark),
            "totals": self.totals(),
            "per_problem_results": [r.as_dict() for r in self.records],
            "wall_seconds": round(self.wall_seconds, 2),
            "limits": dict(self.limits),
            "isolation": dict(self.isolation),
            "engine": dict(self.engine),
        }


@dataclass
class _Work:
    """One problem on its way through the stages."""

    problem: Problem
    mode: str = "equal"
    atol: float = 0.0
    sites: int = 0
    originals: list[tuple[Any, ...]] = field(default_factory=list)
    generated: list[tuple[Any, ...]] = field(default_factory=list)
    valid: list[tuple[tuple[Any, ...], Any, float]] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)
    mutants: list[Mutant] = field(default_factory=list)
    killed_before: set[str] = field(default_factory=set)
    kills: dict[str, set[int]] = field(default_factory=dict)
    kept: list[int] = field(default_factory=list)
    derived: Problem | None = None
    killed_after: set[str] = field(default_factory=set)
    status: str = "pending"
    reason: str = ""
    contract: str | None = None


def _has_nan(value: Any) -> bool:
    if type(value) is float:
        return math.isnan(value)
    if type(value) in (list, tuple, set, frozenset):
        return any(_has_nan(v) for v in value)
    if type(value) is dict:
        return any(_has_nan(v) for v in value.values())
    return False


def _prepare(problem: Problem, seed: int, per_problem: int) -> _Work:
    work = _Work(problem)
    if problem.canonical_solution is None:
        work.status, work.reason = "unchanged", "no canonical solution to compute expected outputs"
        return work
    try:
        read = read_tests(problem.test, problem.entry_point)
    except SyntaxError as exc:
        work.status, work.reason = "unchanged", f"the test code does not parse: {exc.msg}"
        return work
    work.mode, work.atol, work.sites = read.mode, read.atol, read.sites
    if read.uncheckable:
        work.status, work.reason = "unchanged", read.uncheckable
        return work
    if not read.inputs:
        work.status, work.reason = "unchanged", "the tests call the function on no literal input"
        return work
    arity = max(len(a) for a in read.inputs)
    work.originals = [a for a in read.inputs if len(a) == arity]
    rng = random.Random(f"coderank-augment:{seed}:{problem.task_id}")
    work.generated = generate(work.originals, per_problem, rng)
    return work


def _filter(work: _Work, outcomes: list[Any]) -> None:
    n = len(work.originals)
    base = [o for o in outcomes[:n] if o.status == "ok" and not contains_opaque(o.value)]
    if not base:
        work.status, work.reason = "unchanged", "the canonical solution gives no plain result on the original inputs"
        return
    out_domain = Domain.of(o.value for o in base)
    counts: dict[str, int] = {}
    for args, o in zip(work.generated, outcomes[n:], strict=True):
        why = ""
        if o.status == "raised":
            why = "contract" if o.detail.startswith("AssertionError: invalid input") else "raised"
        elif o.status != "ok":
            why = "timeout"
        elif contains_opaque(o.value) or _has_nan(o.value):
            why = "non_plain"
        elif not out_domain.conforms(o.value, kinds_only=True):
            why = "output_type"
        elif o.cpu_seconds > SLOW_CALL_SECONDS:
            why = "slow"
        elif len(to_source(args)) + len(to_source(o.value)) > _MAX_CASE_CHARS:
            why = "large"
        if why:
            counts[why] = counts.get(why, 0) + 1
        else:
            work.valid.append((args, o.value, o.cpu_seconds))
    work.filtered = counts


def _cover(work: _Work) -> list[int]:
    """Greedy set cover: the fewest new tests that kill what all of them kill beyond the original tests."""
    todo = {m for m, tests in work.kills.items() if tests and m not in work.killed_before}
    chosen: list[int] = []
    # Ties go to the smaller test (its source), then the first: never to a measured time, so that the same seed
    # selects the same tests on any machine.
    sizes = {t: len(to_source(args)) + len(to_source(exp)) for t, (args, exp, _) in enumerate(work.valid)}
    by_test: dict[int, set[str]] = {}
    for m in sorted(todo):
        for t in work.kills[m]:
            by_test.setdefault(t, set()).add(m)
    while todo:
        best = min(by_test, key=lambda t: (-len(by_test[t] & todo), sizes[t], t))
        chosen.append(best)
        todo -= by_test[best]
    return sorted(chosen)


def _derive(work: _Work, meta: dict[str, Any]) -> Problem:
    p = work.problem
    test = p.test
    if work.kept:
        cases = [(work.valid[i][0], work.valid[i][1]) for i in work.kept]
        keep_check = "def check(" in p.test
        extra = cases_test_code(cases, atol=work.atol, mode=work.mode, keep_check=keep_check,
                                note=f"{GENERATOR}, seed {meta['seed']}, expected outputs from the canonical solution")
        test = p.test.rstrip("\n") + "\n\n\n" + extra
    return dataclasses.replace(p, test=test, metadata={**p.metadata, "augmentation": meta})


def augment_benchmark(
    benchmark: Benchmark,
    *,
    seed: int = 0,
    per_problem: int = 50,
    mutants: int = 30,
    workers: int | None = None,
    cpu_seconds: float = 2.0,
    mutant_cpu_seconds: float = 0.5,
    limit: int | None = None,
    contracts: Mapping[str, str] | None = None,
    skip: Collection[str] = (),
    reduce: bool = True,
    progress: Progress | None = None,
    executor: Any = None,
    ray: str | None = None,
) -> AugmentResult:
    """Derive the augmented benchmark (see the module docstring for the stages).

    Args:
        benchmark: The source benchmark (problems need a canonical solution and literal test inputs).
        seed: Seed of input generation and mutant sampling.
        per_problem: New inputs generated per problem, before the contract filter.
        mutants: Mutants of the canonical solution per problem.
        workers: Sandbox workers (default: one per core).
        cpu_seconds: CPU budget of one sandboxed run of the canonical solution (a run over many inputs resumes
            after an input that exhausts it).
        mutant_cpu_seconds: CPU budget of one sandboxed run of a mutant, and of each check of the augmented
            problem; a mutant that runs out of it is killed.
        reduce: Keep only the set-cover reduction of the new tests (the default, a fast suite); False keeps
            every valid new input as a test (many more tests, slower to run, and more chances to catch model
            bugs that no mutant imitates).
        limit: Only the first ``limit`` problems (the derivation still names the whole source benchmark and its
            hash, so runs on the source compare with runs on the part).
        contracts: ``task_id -> contract`` (input-validity asserts placed between prompt and canonical solution,
            as in EvalPlus's HumanEval+ files; see :func:`coderank.problems.evalplus.read_contracts`).
        skip: Task ids to keep as they are (e.g. problems whose docstring leaves ties or order open, where the
            canonical solution's choice is one of several right answers).
        progress: Called as ``progress(stage, done, total)``; stages ``reference``, ``mutants`` (against the
            original tests), ``survivors`` (the mutants the originals miss, on the new inputs), ``check``.
        executor: A started :class:`~coderank.execution.pool.Executor` to use (give it
            :func:`~coderank.problems.reference.reference_limits`), instead of a new one.
        ray: Run the programs on this Ray cluster (``HOST:PORT``, ``auto`` or ``local``) instead of this
            machine; the verdicts, and so the derived tests, are the same.

    Raises:
        UsageError: a budget is not positive.
        SandboxError: the sandbox cannot start.
    """
    from coderank.execution.pool import Job, open_pool

    if per_problem < 1 or mutants < 1 or limit is not None and limit < 1:
        raise UsageError("--per-problem, --mutants and --limit must be at least 1",
                         "e.g. --per-problem 50 --mutants 30 --limit 20")
    for option, seconds in (("--timeout", cpu_seconds), ("--mutant-timeout", mutant_cpu_seconds)):
        if not (math.isfinite(seconds) and 0 < seconds <= 3600):
            raise UsageError(f"{option} must be a number of CPU seconds above 0 and at most 3600, got {seconds}",
                             "e.g. --timeout 2 --mutant-timeout 0.5")
    started = time.monotonic()
    same = comparator()
    unknown = sorted(set(skip) - set(benchmark.problems))
    if unknown:
        raise UsageError(f"--skip names task(s) not in {benchmark.name}: {', '.join(unknown[:5])}")
    works = [_prepare(p, seed, per_problem) if p.task_id not in skip else
             _Work(p, status="unchanged", reason="skipped (--skip)") for p in list(benchmark)[:limit]]
    live = [w for w in works if w.status == "pending"]
    own = executor is None
    ex = open_pool(workers=workers, limits=reference_limits(cpu_seconds), ray=ray) if own else executor
    mex = ex
    isolation: dict[str, str] = {}
    engine: dict[str, Any] = {}
    try:
        # Stage 0: the canonical solution must pass its own tests; its CPU time calibrates the mutants' budget.
        slowest = 0.0
        for job, verdict in ex.map(Job(w, w.problem, w.problem.program(w.problem.canonical_solution or ""))
                                   for w in live):
            slowest = max(slowest, verdict.cpu_seconds)
            if not verdict.passed:
                job.key.status = "unchanged"
                job.key.reason = f"the canonical solution fails the original tests ({verdict.status.value})"
        live = [w for w in live if w.status == "pending"]
        # A mutant that loops forever costs its whole budget in every run, so mutants get a smaller one (but
        # never so small that a mutant as fast as the slowest canonical solution runs out of it).
        mutant_cpu_seconds = round(max(mutant_cpu_seconds, 5 * slowest), 3)
        if own:
            mex = open_pool(workers=workers, limits=reference_limits(mutant_cpu_seconds), ray=ray)

        # Stage 1: the canonical solution's outputs on the original and generated inputs.
        contracts = contracts or {}
        for w in live:
            w.contract = contracts.get(w.problem.task_id)
        requests = [RunRequest(w, w.problem.prompt + contracts.get(w.problem.task_id, "")
                               + (w.problem.canonical_solution or ""), w.problem.entry_point,
                               [*w.originals, *w.generated]) for w in live]
        for req, outcomes in run_inputs(ex, requests, call_seconds=2 * SLOW_CALL_SECONDS,
                                        progress=_stage(progress, "reference", len(requests))):
            _filter(req.key, outcomes)
        live = [w for w in live if w.status == "pending"]

        # Stage 2: mutants against the original tests, and on every valid new input.
        for w in live:
            program = w.problem.prompt + (w.problem.canonical_solution or "")
            try:
                w.mutants = sample_mutants(w.problem.task_id, program, w.problem.entry_point, limit=mutants,
                                           seed=seed)
            except (SyntaxError, ValueError):
                w.mutants = []
        # Only a mutant that survives the original tests needs the new inputs (and the check after): one the
        # originals kill stays killed, as the augmented check runs the original check first.
        jobs = [Job((w, m.key), w.problem, m.program) for w in live for m in w.mutants]
        tick = _stage(progress, "mutants", len(jobs))
        for done, (job, verdict) in enumerate(mex.map(jobs), start=1):
            w, key = job.key
            if not verdict.passed:
                w.killed_before.add(key)
            if tick:
                tick(done)
        runs = [RunRequest((w, m.key), m.program, w.problem.entry_point, [v[0] for v in w.valid])
                for w in live for m in w.mutants if w.valid and m.key not in w.killed_before]
        # A kill is a wrong value, an exception, or a stop on the input run first in a program of the mutant's
        # budget (the check after runs the original tests and the kept cases in one such program). After one
        # stop the mutant is known to be killable; its other inputs are left unknown (not kills), as a mutant
        # that loops would cost a whole budget per input.
        for req, outcomes in run_inputs(mex, runs, max_stops=1, progress=_stage(progress, "survivors", len(runs))):
            w, key = req.key
            w.kills[key] = {i for i, (o, (args, exp, _)) in enumerate(zip(outcomes, w.valid, strict=True))
                            if o.status in ("raised", "timeout", "crashed", "oom")
                            or o.status == "ok" and not same(o.value, exp, args, w.atol, w.mode)}

        # Stage 3: reduce, write the derived problem, and check it in the sandbox (canonical and mutants).
        meta_common = {"generator": GENERATOR, "seed": seed, "per_problem": per_problem,
                       "mutants_per_problem": mutants, "reduced": reduce, "source_benchmark": benchmark.name,
                       "source_benchmark_sha256": benchmark.sha256}
        canon: list[Any] = []
        checks: list[Any] = []
        for w in live:
            w.kept = _cover(w) if reduce else list(range(len(w.valid)))
            w.derived = _derive(w, {**meta_common, "source_task_id": w.problem.task_id,
                                    "source_sha256": w.problem.sha256})
            w.killed_after = set(w.killed_before)
            if w.kept:
                canon.append(Job((w, "canonical"), w.derived, w.derived.program(w.problem.canonical_solution or "")))
                checks += [Job((w, m.key), w.derived, m.program) for m in w.mutants if m.key not in w.killed_before]
        tick = _stage(progress, "check", len(canon) + len(checks))
        failed: dict[int, str] = {}
        results = itertools.chain(ex.map(canon), mex.map(checks))
        for done, (job, verdict) in enumerate(results, start=1):
            w, key = job.key
            if key == "canonical":
                if not verdict.passed:
                    failed[id(w)] = f"canonical solution {verdict.status.value}: {verdict.detail}"[:300]
            elif not verdict.passed:
                w.killed_after.add(key)
            if tick:
                tick(done)
        isolation = ex.isolation if own or live else {}
        engine = ex.engine if own or live else {}
    finally:
        if own:
            ex.close()
            if mex is not ex:
                mex.close()

    records = []
    problems: dict[str, Problem] = {}
    for w in works:
        rec, problem = _finish(w, failed.get(id(w)), seed, per_problem, mutants, benchmark)
        records.append(rec)
        problems[problem.task_id] = problem
    derived = Benchmark(
        name=f"{benchmark.name}+augmented",
        version=f"{benchmark.version}; {GENERATOR} seed {seed}, {per_problem} inputs and {mutants} mutants per problem"
                + ("" if reduce else ", full suite"),
        problems=problems,
        source=f"coderank augment of {benchmark.name} ({benchmark.sha256})",
        derivation={"kind": "augment", "base": benchmark.name, "base_sha256": benchmark.sha256, "seed": seed,
                    "generator": GENERATOR, "reduced": reduce},
    )
    return AugmentResult(derived, tuple(records), seed, per_problem, mutants, benchmark.name, benchmark.sha256,
                         time.monotonic() - started, isolation, {"cpu_seconds": cpu_seconds,
                                                                 "mutant_cpu_seconds": mutant_cpu_seconds}, engine)


def _stage(progress: Progress | None, stage: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    progress(stage, 0, total)
    return lambda done: progress(stage, done, total)


def _finish(w: _Work, failure: str | None, seed: int, per_problem: int, mutants: int,
            benchmark: Benchmark) -> tuple[AugmentRecord, Problem]:
    status, reason = w.status, w.reason
    kept = len(w.kept)
    killed_after = len(w.killed_after)
    if status == "pending":
        if failure:
            status, reason, kept, killed_after = "failed", failure, 0, len(w.killed_before)
        elif not w.kept:
            status = "unchanged"
            reason = ("no valid new input" if not w.valid else
                      "the original tests already kill every mutant the new inputs kill")
        else:
            status = "augmented"
    covered = {m for m, tests in w.kills.items() if set(w.kept) & tests} if status == "augmented" else set()
    rec = AugmentRecord(
        task_id=w.problem.task_id, status=status, reason=reason, tests_before=w.sites, tests_after=w.sites + kept,
        generated=len(w.generated), valid=len(w.valid), kept=kept, filtered=dict(sorted(w.filtered.items())),
        mutants=len(w.mutants), killed_before=len(w.killed_before), killed_after=killed_after,
        killed_predicted=len(w.killed_before | covered),
    )
    meta = {"generator": GENERATOR, "seed": seed, "per_problem": per_problem, "mutants_per_problem": mutants,
            "source_benchmark": benchmark.name, "source_benchmark_sha256": benchmark.sha256,
            "source_task_id": w.problem.task_id, "source_sha256": w.problem.sha256, "mode": w.mode, "atol": w.atol,
            "contract": w.contract,
            **{k: v for k, v in rec.as_dict().items() if k != "task_id"}}
    if status == "augmented" and w.derived is not None:
        problem = dataclasses.replace(w.derived, metadata={**w.problem.metadata, "augmentation": meta})
    else:
        problem = dataclasses.replace(w.problem, metadata={**w.problem.metadata, "augmentation": meta})
    return rec, problem
