"""``coderank score`` as a function (the library's face, with the other commands' functions, is :mod:`coderank`).

``score(ScoreConfig(...))`` scores a sample file: it streams the samples through the sandboxed
:class:`~coderank.execution.pool.Executor`, writes one result line per sample as verdicts arrive, and
returns the summary: pass@k with bootstrap intervals, status counts, bad input lines, and the limits and
isolation layers that were in force.
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import coderank
from coderank.digest import sha256_file
from coderank.errors import InputError, UsageError
from coderank.evaluation import recording, run_summary
from coderank.execution.pool import Job, check_workers, open_pool
from coderank.execution.ray_pool import check_address
from coderank.execution.sandbox import Limits, check_data_unreadable
from coderank.paths import check_output_file, require_file
from coderank.problems import load_benchmark
from coderank.record import BenchmarkRef, PassAtK, RunManifest, TemplateRef
from coderank.samples import BadLine, Sample, count_lines, read_samples
from coderank.scoring import Estimate, ks_for, summary
from coderank.store import Store
from coderank.types import Status


@dataclass(frozen=True)
class ScoreConfig:
    """What to score and how.

    Attributes:
        samples: JSONL sample file (human-eval ``completion`` or EvalPlus ``solution`` format).
        benchmark: Registered benchmark name or a problem file.
        workers: Sandbox workers (default: one per CPU core).
        limits: Per-program sandbox limits.
        out: Where to write one JSON line per sample, in the samples file's order (optional).
        ks: Candidate k values for pass@k; those that every problem's n allows are reported.
        allow_imports: Installed packages (beyond the standard library and numpy) programs may import.
        seed: Seed of the bootstrap intervals; a seed other than 0 is part of the stored run's identity (another
            run, whose manifest records ``bootstrap_seed``), so its stored summary has the printed intervals.
        store: Database to record the run in (None: the default database).
        save: Record the run (for ``runs``, ``show``, ``verify``, ``board``, ``duel``).
        model_name: Name of the run on the board (default: the samples file's name).
        send_ahead: Send each problem's previous test calls ahead (see :class:`Executor`): faster for tests
            with many calls, same verdicts, but the program sees later arguments early.
        ray: Run the programs on this Ray cluster (``HOST:PORT``, ``auto`` or ``local``; ``workers`` is then per
            node); None: on this machine. Where programs ran is recorded (manifest ``execution``), but it is no
            part of the run's identity: the same file scored on a cluster is the same run.
    """

    samples: Path
    benchmark: str = "humaneval"
    workers: int | None = None
    limits: Limits = field(default_factory=Limits)
    out: Path | None = None
    ks: tuple[int, ...] = (1, 10, 100)
    allow_imports: tuple[str, ...] = ()
    seed: int = 0
    store: Path | None = None
    save: bool = True
    model_name: str | None = None
    send_ahead: bool = False
    ray: str | None = None


@dataclass
class ScoreResult:
    """The outcome of :func:`score` (plain data; ``to_json()`` gives the documented JSON document)."""

    samples_file: str
    benchmark: dict[str, Any]
    samples: int
    problems_scored: int
    problems_in_benchmark: int
    estimates: list[Estimate]
    status_counts: dict[str, int]
    bad_lines: list[dict[str, Any]]
    empty_completions: int
    per_problem: dict[str, dict[str, int]]
    limits: dict[str, Any]
    isolation: dict[str, str]
    wall_seconds: float
    run_id: str | None = None
    # Problems the sandbox could not run at all (their tests pass the program an object, say): task id ->
    # why. Their samples have status "invalid" and count as not passed.
    unscorable: dict[str, str] = field(default_factory=dict)
    coderank_version: str = coderank.__version__
    platform: str = field(default_factory=platform.platform)
    # Where the programs ran: {"engine": "local", "workers"} or, on Ray, the nodes (see RayExecutor.engine)
    engine: dict[str, Any] = field(default_factory=dict)

    @property
    def samples_per_second(self) -> float:
        """Throughput of the sandbox for this run."""
        return self.samples / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``coderank score --json``.

        Keys: ``pass_at_k`` (``{"pass@1": {"k", "value", "low", "high", "problems", "samples"}}``),
        ``samples``, ``problems`` (scored), ``problems_in_benchmark``, ``status_counts``, ``bad_lines``
        (``[{"line", "message"}]``), ``empty_completions``, ``unscorable_problems`` (task id -> why the
        sandbox could not run its tests), ``benchmark`` (name, version, sha256, source),
        ``limits``, ``isolation``, ``engine`` (``{"engine": "local", "workers"}``, or on Ray the address, nodes,
        actor deaths and retried jobs), ``wall_seconds``, ``samples_per_second``, ``coderank_version``,
        ``platform``, ``samples_file``.
        """
        return {
            "pass_at_k": {f"pass@{e.k}": PassAtK.of(e).to_dict() for e in self.estimates},
            "samples": self.samples,
            "problems": self.problems_scored,
            "problems_in_benchmark": self.problems_in_benchmark,
            "status_counts": self.status_counts,
            "bad_lines": self.bad_lines,
            "empty_completions": self.empty_completions,
            "unscorable_problems": self.unscorable,
            "benchmark": self.benchmark,
            "limits": self.limits,
            "isolation": self.isolation,
            "engine": self.engine,
            "wall_seconds": round(self.wall_seconds, 3),
            "samples_per_second": round(self.samples_per_second, 1),
            "coderank_version": self.coderank_version,
            "platform": self.platform,
            "samples_file": self.samples_file,
            "run_id": self.run_id,
        }


ProgressFn = Callable[[int, int], None]


def score(config: ScoreConfig, progress: ProgressFn | None = None) -> ScoreResult:
    """Score a sample file against a benchmark in the sandbox.

    Args:
        config: What to score and how.
        progress: Called as ``progress(done, total)`` after each sample.

    Returns:
        The summary; per-sample results go to ``config.out`` in the samples file's order.

    Raises:
        UsageError: bad options, or a missing samples file.
        InputError: the file has no scorable sample at all.
        SandboxError: the sandbox cannot start on this machine.
    """
    require_file(config.samples, "samples file", "give the JSONL file of samples")
    if config.out is not None:
        check_output_file(config.out, [config.samples])
    check_workers(config.workers, per_node=config.ray is not None)
    check_address(config.ray)
    if config.model_name is not None and not config.model_name.strip():
        raise UsageError("--name is blank", "give the model's name as the board should show it, or leave --name out")
    bench = load_benchmark(config.benchmark)
    check_data_unreadable(bench.files(), config.allow_imports)
    total = count_lines(config.samples)
    bad: list[dict[str, Any]] = []
    empty = 0
    counts: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    statuses: Counter[str] = Counter()
    unscorable: dict[str, str] = {}

    def jobs() -> Any:
        nonlocal empty
        for item in read_samples(config.samples, bench):
            if isinstance(item, BadLine):
                bad.append({"line": item.line, "message": f"{config.samples}:{item.line}: {item.message}"})
                if progress:
                    progress(len(bad) + sum(statuses.values()), total)
                continue
            empty += item.empty
            submitted.append(item.line)
            yield Job(item, item.problem, item.program)

    # --out keeps the samples file's order: a verdict waits until those of the lines before it are written.
    submitted: deque[int] = deque()
    finished: dict[int, str] = {}

    store, run_id = _open_score_run(config, bench) if config.save else (None, None)
    if store is not None and run_id is not None and (stored := store.find_run(run_id)) and stored.status == "finished":
        store.close()  # the same file scored the same way before: its record is final and stays as it is
        store = None
    pending: list[tuple[Any, ...]] = []
    if config.out:
        config.out.parent.mkdir(parents=True, exist_ok=True)
    out_fh = config.out.open("w", encoding="utf-8") if config.out else None
    start = time.monotonic()
    completed = False
    engine: dict[str, Any] = {}
    recorder = recording(store, run_id) if store is not None and run_id is not None else contextlib.nullcontext()
    try:
        with recorder, open_pool(workers=config.workers, limits=config.limits, allow_imports=config.allow_imports,
                                 send_ahead=config.send_ahead, ray=config.ray) as ex:
            isolation = ex.isolation
            limits = ex.limits
            for job, verdict in ex.map(jobs()):
                sample: Sample = job.key
                statuses[verdict.status.value] += 1
                if verdict.status is Status.INVALID:
                    unscorable.setdefault(sample.task_id, verdict.detail)
                c = counts[sample.task_id]
                c[0] += 1
                c[1] += verdict.passed
                if out_fh:
                    finished[sample.line] = json.dumps({
                        "task_id": sample.task_id, "completion_id": sample.index, "passed": verdict.passed,
                        "status": verdict.status.value, "detail": verdict.detail,
                        "cpu_seconds": verdict.cpu_seconds, "wall_seconds": verdict.wall_seconds,
                        "line": sample.line,
                    }, ensure_ascii=False) + "\n"
                    while submitted and submitted[0] in finished:
                        out_fh.write(finished.pop(submitted.popleft()))
                if store is not None and run_id is not None:
                    pending.append(Store.sample_row(
                        run_id, sample.task_id, sample.index, completion_key=None, program=job.program,
                        extraction={"method": "as given", "line": sample.line}, status=verdict.status.value,
                        detail=verdict.detail, cpu_seconds=verdict.cpu_seconds, wall_seconds=verdict.wall_seconds,
                        output=verdict.output, truncated=False))
                    if len(pending) >= 500:  # batched: one transaction per 500 verdicts keeps the harness light
                        store.put_samples(pending)
                        pending.clear()
                if progress:
                    progress(len(bad) + sum(statuses.values()), total)
            isolation, engine = ex.isolation, ex.engine  # again: a Ray node may have joined mid-run
        completed = True
    finally:
        if out_fh:
            out_fh.close()
        if store is not None:
            if pending:  # kept even when interrupted (recorded as such) until a rerun completes it
                store.put_samples(pending)
            if completed and run_id is not None and counts:
                manifest = store.get_run(run_id).run_manifest
                done = run_summary(store, run_id, list(bench), seed=manifest.interval_seed)
                # The problems the file has samples for, not the benchmark's size: the board marks a run that
                # covers fewer problems than the others as not comparable.
                manifest = replace(manifest, benchmark=replace(manifest.benchmark, problems=done["problems"]))
                store.finish_run(run_id, done, manifest.finished({}, engine))
            elif completed and run_id is not None:
                store.stop_run(run_id, "failed", f"no sample of {config.samples} could be scored")
            store.close()
    wall = time.monotonic() - start
    if not counts:
        msg = f"{config.samples}: no sample could be scored"
        if bad:
            msg += f"; first problem: {bad[0]['message']}"
        raise InputError(msg, "each line needs a task_id of the benchmark and a completion or solution")
    ordered = [tid for tid in bench.problems if tid in counts]
    nc = [(counts[t][0], counts[t][1]) for t in ordered]
    ks = ks_for((n for n, _ in nc), config.ks)
    if not ks:
        raise UsageError(f"no k in {list(config.ks)} fits: some problem has only {min(n for n, _ in nc)} samples")
    estimates = summary(nc, ks=ks, seed=config.seed)
    return ScoreResult(
        samples_file=str(config.samples),
        benchmark={"name": bench.name, "version": bench.version, "sha256": bench.sha256, "source": bench.source,
                   **({"derivation": bench.derivation} if bench.derivation else {})},
        samples=sum(statuses.values()),
        problems_scored=len(ordered),
        problems_in_benchmark=len(bench),
        estimates=estimates,
        status_counts={s.value: statuses.get(s.value, 0) for s in Status if statuses.get(s.value)},
        bad_lines=bad,
        empty_completions=empty,
        per_problem={t: {"n": counts[t][0], "c": counts[t][1]} for t in ordered},
        limits=limits.as_dict(),
        isolation=isolation,
        wall_seconds=wall,
        run_id=run_id,
        unscorable=unscorable,
        engine=engine,
    )


def _open_score_run(config: ScoreConfig, bench: Any) -> tuple[Store, str]:
    """Record a score run: identified by the samples file's hash, the benchmark, the sandbox limits and the seed.

    The stored summary (what ``board`` and ``show`` display) is computed with the bootstrap seed of the call, so a
    seed other than 0 makes another run, whose manifest records it as ``bootstrap_seed``; with seed 0 neither
    the identity nor the manifest names it, as in every run recorded before.
    """
    store = Store(config.store)
    digest = sha256_file(config.samples)
    limits = config.limits.resolved().as_dict()
    name = config.model_name or config.samples.name
    seeded = {"bootstrap_seed": config.seed} if config.seed else {}
    identity = {"kind": "score", "samples": digest, "benchmark": bench.sha256, "limits": limits, "name": name,
                **seeded}
    manifest = RunManifest.create(
        kind="score", model_spec=name,
        model={"backend": "external samples", "file": str(config.samples), "sha256": digest},
        benchmark=BenchmarkRef.of_benchmark(bench, len(bench)),
        template=TemplateRef(name="unknown (external samples)", kind=None, sha256=None),
        params={}, seed=None, n=None, sandbox_limits=limits, bootstrap_seed=config.seed or None)
    run_id, _ = store.open_run(identity, manifest, kind="score", model=name, benchmark=bench.name)
    if config.model_name is not None:  # what --name says: the run's name in duels, rescore and show, as eval's
        store.set_name(run_id, config.model_name)
    return store, run_id
