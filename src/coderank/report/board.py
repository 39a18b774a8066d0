"""The leaderboard: stored runs per benchmark, with reported numbers shown beside them, never mixed in.

A measured row is a finished run from the store: pass@1 (and pass@k where n allows) with its 95% interval,
samples per problem, problems, date. Runs on one benchmark are only comparable when they used the same
benchmark data (hash), the same problems, the same prompt template and the same decoding:

- A *partial* run (``--limit``, ``--tasks``, a sample file covering some problems) scored fewer problems than
  its benchmark has. Its score covers those problems only (two easy problems give 1.000 [1.000, 1.000]), so it
  is never ranked: partial rows come after the full runs, with ``partial`` set and ``rank`` None.
- Among the full-benchmark runs the *reference setting* is the one most of them share (a tie goes to the
  setting with more models, then to the one with the best run, then to the earliest). Full runs in that setting
  are ranked (``rank`` 1, 2, ...); full runs in any other setting follow, unranked, marked with how they differ
  from the reference. Partial runs never choose the reference, so one small run cannot mark every row.

A reported row comes from :mod:`coderank.report.reported`: a number with a source and date that coderank
did not measure. It has no interval (the sources give none) and is never averaged with measured rows.

A run on a derived benchmark (``coderank augment``'s harder tests, an EvalPlus file's plus tests) whose manifest
names its base benchmark and hash gets a *drop*: the same model's pass@1 on the base benchmark minus its pass@1
on the derived one, in points, over the problems both runs cover — what the stricter tests took away. The base
run must have the same model identity, prompt template and decoding; of such runs, the one sharing the most
problems with the derived run is used (the latest among equals).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from coderank.execution.sandbox import Limits
from coderank.report.reported import load_reported
from coderank.store import RunInfo, Store, canonical_json


@dataclass(frozen=True)
class BoardRow:
    """One line of the leaderboard.

    Attributes:
        kind: ``measured`` (a stored run) or ``reported`` (a number from a paper or report).
        model: Model spec (measured) or display name (reported).
        value: pass@1 as a fraction.
        low: Lower end of the 95% interval (measured only).
        high: Upper end of the 95% interval (measured only).
        pass_at_k: Every pass@k the run has, ``{"pass@10": {...}}`` (measured only).
        samples_per_problem: n (measured only).
        problems: Problems scored (measured only).
        date: Run date, or the source's date.
        run_id: The run (measured only).
        setting: Template, decoding and n (measured), or the source's own words (reported).
        template: The prompt template a measured eval run used (its name, e.g. ``chat`` or ``completion``; also
            the first word of ``setting``); None for scored external samples and reported rows.
        source: Where a reported number comes from.
        reported_by: Who measured a reported number.
        differs: How a measured run differs from the board's reference (empty: comparable): for a partial run its
            problem count first, then any setting difference.
        partial: A measured run that scored fewer problems than its benchmark has (never ranked).
        benchmark_problems: How many problems the run's benchmark has (measured only, where the manifest says).
        rank: The place among the comparable full-benchmark runs (the reference setting), from 1; None for every
            other row.
        name: The run's display name (``eval --name``, ``coderank rename``); None when it has none.
        drop: For a run on a derived benchmark: ``{"points", "base_pass@1", "pass@1", "problems", "base_run",
            "base_benchmark"}`` — base minus derived pass@1 in points on the problems both runs cover; None
            when the benchmark is not derived or the store has no matching base run.
    """

    kind: str
    model: str
    value: float
    low: float | None = None
    high: float | None = None
    pass_at_k: dict[str, Any] = field(default_factory=dict)
    samples_per_problem: int | None = None
    problems: int | None = None
    date: str = ""
    run_id: str | None = None
    setting: str = ""
    template: str | None = None
    source: str | None = None
    reported_by: str | None = None
    differs: tuple[str, ...] = ()
    drop: dict[str, Any] | None = None
    partial: bool = False
    benchmark_problems: int | None = None
    rank: int | None = None
    name: str | None = None


def _setting_key(run: RunInfo) -> dict[str, Any]:
    m = run.run_manifest
    return {
        "benchmark data": m.benchmark.sha256,
        "problems": m.benchmark.problems,
        "template": m.template.sha256,
        "decoding": tuple(sorted(m.params.items())),
    }


def _template_name(run: RunInfo) -> str | None:
    return None if run.kind == "score" else run.run_manifest.template.name


def _describe(run: RunInfo) -> str:
    if run.kind == "score":
        return "external samples (scored with coderank score)"
    p = run.run_manifest.params
    temp = p.get("temperature")
    decoding = "greedy" if temp == 0 else f"T={temp}, top_p={p.get('top_p')}"
    return f"{_template_name(run)}, {decoding}, max_tokens={p.get('max_tokens')}"


def _limits_note(run: RunInfo) -> str:
    """``, 10 s CPU, rescored from RUN`` for a run whose sandbox limits are not the defaults (they decide timeouts)."""
    m = run.run_manifest
    limits, default = m.sandbox_limits, Limits()
    notes = []
    if limits.get("cpu_seconds", default.cpu_seconds) != default.cpu_seconds:
        notes.append(f"{limits['cpu_seconds']:g} s CPU")
    if limits.get("memory_bytes", default.memory_bytes) < default.memory_bytes:
        notes.append(f"{limits['memory_bytes'] >> 20} MiB")
    if m.rescored_from is not None:
        notes.append(f"rescored from {m.rescored_from.run_id}")
    return "".join(", " + n for n in notes)


def setting_differences(run: RunInfo, reference_run: RunInfo, skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    """How ``run`` was set up differently from ``reference_run``: benchmark data, problems, template, decoding."""
    key, reference = _setting_key(run), _setting_key(reference_run)
    out = []
    m, r = run.run_manifest, reference_run.run_manifest
    for name, value in key.items():
        if value == reference[name] or name in skip:
            continue
        if name == "problems":
            out.append(f"problems: {value} vs {reference[name]}")
        elif name == "template":
            out.append(f"template: {m.template.name} vs {r.template.name}")
        elif name == "decoding":
            out.append(f"decoding: {_describe(run)} vs {_describe(reference_run)}")
        else:
            out.append("benchmark data differ (hash)")
    return tuple(out)


def _benchmark_size(run: RunInfo) -> int | None:
    """How many problems the run's benchmark has (``of`` in the manifest); None for old runs that do not say."""
    return run.run_manifest.benchmark.of


def _problems(run: RunInfo) -> int | None:
    scored = run.run_summary.problems if run.run_summary is not None else None
    return scored if scored is not None else run.run_manifest.benchmark.problems


def is_partial(run: RunInfo) -> bool:
    """True when the run scored fewer problems than its benchmark has (``--limit``, ``--tasks``, a partial file)."""
    of, problems = _benchmark_size(run), _problems(run)
    return of is not None and problems is not None and problems < of


def reference_setting(runs: list[RunInfo]) -> RunInfo | None:
    """A run in the board's reference setting: the setting most full-benchmark runs share.

    A tie goes to the setting with the most distinct models, then to the one whose best run scores highest (so the
    board's first row is a ranked one, never a better run left unranked below a worse one), then to the earliest.
    Partial runs never count: None when every run is partial.
    """
    full = sorted((r for r in runs if not is_partial(r)), key=lambda r: (r.created_at, r.run_id))
    if not full:
        return None
    groups: dict[str, list[RunInfo]] = {}
    for r in full:
        groups.setdefault(repr(_setting_key(r)), []).append(r)

    def weight(group: list[RunInfo]) -> tuple[int, int, float, float]:
        best = max(_pass_at_1(r) for r in group)
        return len(group), len({r.model for r in group}), best, -group[0].created_at

    return max(groups.values(), key=weight)[0]


def _pass_at_1(run: RunInfo) -> float:
    """The run's pass@1 (0 where it has none)."""
    p1 = run.run_summary.pass_at_1 if run.run_summary is not None else None
    return p1.value if p1 is not None else 0.0


def _compare(run: RunInfo, reference: RunInfo | None) -> tuple[str, ...]:
    if not is_partial(run):
        return () if reference is None else setting_differences(run, reference)
    partial = (f"partial: {_problems(run)} of {_benchmark_size(run)} problems",)
    # the problem count is said already; the rest of the setting is compared as for a full run
    return partial if reference is None else partial + setting_differences(run, reference, skip=("problems",))


def _same_model(run: RunInfo) -> str:
    m = run.run_manifest
    return repr((canonical_json(m.model), m.template.sha256, sorted(m.params.items())))


def _drop(store: Store, run: RunInfo, runs: list[RunInfo]) -> dict[str, Any] | None:
    base_sha = (run.run_manifest.benchmark.derivation or {}).get("base_sha256")
    if not base_sha:
        return None
    identity = _same_model(run)
    bases = [r for r in runs if r.run_id != run.run_id and r.run_manifest.benchmark.sha256 == base_sha
             and _same_model(r) == identity]
    if not bases:
        return None
    ours = store.per_problem_counts(run.run_id)
    best: tuple[int, float, RunInfo, list[str], dict[str, tuple[int, int]]] | None = None
    for candidate in bases:  # the base run sharing the most problems; among those, the latest
        theirs = store.per_problem_counts(candidate.run_id)
        shared = [t for t in ours if t in theirs and ours[t][0] and theirs[t][0]]
        if shared and (best is None or (len(shared), candidate.created_at) > best[:2]):
            best = (len(shared), candidate.created_at, candidate, shared, theirs)
    if best is None:
        return None
    _, _, base, common, theirs = best
    derived = sum(ours[t][1] / ours[t][0] for t in common) / len(common)
    original = sum(theirs[t][1] / theirs[t][0] for t in common) / len(common)
    return {"points": round(100 * (original - derived), 2), "base_pass@1": original, "pass@1": derived,
            "problems": len(common), "base_run": base.run_id, "base_benchmark": base.benchmark}


def leaderboard(store: Store, benchmark: str | None = None, *, reported: bool = True,
                reported_paths: tuple[Path, ...] = ()) -> dict[str, list[BoardRow]]:
    """Leaderboard rows per benchmark name: measured rows (best first), then reported rows (best first).

    Args:
        store: The run store.
        benchmark: Only this benchmark (by name).
        reported: Include reported numbers.
        reported_paths: Extra files of reported numbers.
    """
    runs = [r for r in store.runs() if r.status == "finished" and r.run_summary and r.run_summary.pass_at_k]
    runs_all = runs
    if benchmark:
        runs = [r for r in runs if r.benchmark == benchmark]
    boards: dict[str, list[BoardRow]] = {}
    for name in sorted({r.benchmark for r in runs}):
        group = [r for r in runs if r.benchmark == name]
        reference = reference_setting(group)
        reference_key = repr(_setting_key(reference)) if reference is not None else None
        rows = []
        for r in group:
            s = r.run_summary
            assert s is not None
            p1 = s.pass_at_1
            rows.append(BoardRow(
                kind="measured", model=r.model, value=p1.value if p1 else 0.0, low=p1.low if p1 else None,
                high=p1.high if p1 else None, pass_at_k={k: e.to_dict() for k, e in s.pass_at_k.items()},
                samples_per_problem=r.run_manifest.n or min((v["n"] for v in s.per_problem.values()), default=None),
                problems=s.problems,
                date=_dt.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d"), run_id=r.run_id,
                setting=_describe(r) + _limits_note(r), template=_template_name(r), differs=_compare(r, reference),
                drop=_drop(store, r, runs_all), partial=is_partial(r), benchmark_problems=_benchmark_size(r),
                name=r.name,
            ))
        in_reference = [not row.partial and repr(_setting_key(r)) == reference_key
                        for row, r in zip(rows, group, strict=True)]
        ranked = sorted((row for row, ok in zip(rows, in_reference, strict=True) if ok), key=lambda row: -row.value)
        others = sorted((row for row, ok in zip(rows, in_reference, strict=True) if not ok and not row.partial),
                        key=lambda row: -row.value)
        partial = sorted((row for row in rows if row.partial), key=lambda row: (-(row.problems or 0), -row.value))
        boards[name] = [replace(row, rank=i) for i, row in enumerate(ranked, start=1)] + others + partial
    if reported:
        for entry in load_reported(list(reported_paths)):
            if benchmark and entry.benchmark != benchmark:
                continue
            if entry.metric != "pass@1":
                continue
            boards.setdefault(entry.benchmark, []).append(BoardRow(
                kind="reported", model=entry.model, value=entry.value, date=entry.source_date,
                setting=entry.setting, source=entry.source, reported_by=entry.reported_by,
            ))
        for name, rows in boards.items():
            measured = [r for r in rows if r.kind == "measured"]
            others = sorted((r for r in rows if r.kind == "reported"), key=lambda row: -row.value)
            boards[name] = measured + others
    return boards


def board_json(boards: dict[str, list[BoardRow]]) -> dict[str, Any]:
    """The documented JSON form: ``{"boards": {benchmark: {"measured": [...], "reported": [...]}}}``."""
    return {"boards": {
        name: {
            "measured": [asdict(r) for r in rows if r.kind == "measured"],
            "reported": [asdict(r) for r in rows if r.kind == "reported"],
        }
        for name, rows in boards.items()
    }}
