"""The static HTML report: one folder with ``index.html`` and its PNG charts, readable without a network.

What it holds, per benchmark: the leaderboard (measured runs with 95% intervals, n, date, setting and the
reasons a run is not comparable; reported numbers in their own table with source and date), a bar chart of
it, pass@k curves for runs with several k, a models x problems heatmap of per-problem pass rates, and for
every set of runs on the same benchmark data a duel matrix (pairwise pass@1 differences from
:func:`coderank.report.duel.duel`, significance marked) plus a Bradley-Terry ranking from three runs on.

Design choices:

- **Images are separate files referenced by relative name**, not base64 inside the HTML: the PNGs are
  wanted on their own anyway (slides, issues), the page stays small and diffable, and the folder is the unit
  to zip, serve or open from disk. Chart file names are ASCII slugs of the benchmark name.
- **Nothing is loaded from anywhere else**: CSS is inline, there are no scripts and no web fonts, and a
  Content-Security-Policy meta tag forbids any other load (``default-src 'none'``), so even a name that
  slipped past escaping could not run or fetch anything. Sources of reported numbers are shown as text,
  with plain links where they contain a URL (a link loads nothing until clicked).
- **Everything user- or model-supplied is escaped**: the template runs under Jinja's autoescape with
  ``StrictUndefined`` (a missing variable is an error, not an empty string).
- Files the report writes are overwritten on the next run; other files in the folder are left alone.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from coderank import __version__
from coderank.errors import CoderankError, UsageError
from coderank.paths import write_atomic
from coderank.report.board import BoardRow, leaderboard
from coderank.store import RunInfo, Store

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install matplotlib (it is coderank's `report` extra)"
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:)\]]")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


@dataclass
class _Section:
    """One benchmark's part of the report (what the template reads)."""

    name: str
    measured: list[dict[str, Any]] = field(default_factory=list)
    partial: list[dict[str, Any]] = field(default_factory=list)
    reported: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)
    passk_note: str = ""
    groups: list[dict[str, Any]] = field(default_factory=list)


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise CoderankError("the HTML report needs matplotlib, which is not installed", INSTALL_HINT) from exc


def slug(name: str) -> str:
    """A file-name-safe ASCII form of a benchmark name; names that needed changes get a short hash."""
    if _SAFE_NAME.fullmatch(name):
        return name
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:32] or "benchmark"
    return f"{clean}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _linkify(text: str) -> Markup:
    """``text`` escaped, with each http(s) URL in it turned into a plain link."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        url = match.group(0)
        out.append(Markup('<a href="{0}" rel="noopener noreferrer">{0}</a>').format(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _interval(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return ""
    return f"[{low:+.3f}, {high:+.3f}]" if signed else f"[{low:.3f}, {high:.3f}]"


def _labels(runs: list[RunInfo]) -> dict[str, str]:
    """Display label per run id: the model name, with the run id added where a model ran more than once."""
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.model] = counts.get(r.model, 0) + 1
    return {r.run_id: r.model if counts[r.model] == 1 else f"{r.model} ({r.run_id})" for r in runs}


def _reported_labels(rows: list[BoardRow]) -> list[str]:
    """``model, YYYY-MM`` per reported row; who reported it is added where that alone is ambiguous."""
    plain = [f"{r.model}, {r.date[:7]}" for r in rows]
    return [p if plain.count(p) == 1 else f"{p}, {r.reported_by or 'reported'}" for p, r in zip(plain, rows,
                                                                                                strict=True)]


def _measured_row(row: BoardRow) -> dict[str, Any]:
    others = []
    for key, est in sorted(row.pass_at_k.items(), key=lambda kv: int(kv[0].split("@")[1])):
        if key != "pass@1":
            others.append(f"{key} {est['value']:.3f} {_interval(est.get('low'), est.get('high'))}")
    return {
        "rank": "–" if row.rank is None else row.rank, "model": row.model, "value": f"{row.value:.3f}",
        "interval": _interval(row.low, row.high),
        "others": others, "n": "" if row.samples_per_problem is None else str(row.samples_per_problem),
        "problems": "" if row.problems is None else str(row.problems) + (
            f" of {row.benchmark_problems}" if row.partial else ""), "date": row.date, "setting": row.setting,
        "run_id": row.run_id or "", "differs": list(row.differs),
    }


def _reported_row(row: BoardRow) -> dict[str, Any]:
    return {"model": row.model, "value": f"{row.value:.3f}", "setting": row.setting,
            "reported_by": row.reported_by or "", "source": _linkify(row.source or ""), "date": row.date}


def _duel_group(store: Store, runs: list[RunInfo], labels: dict[str, str], seed: int,
                ranked: set[str]) -> dict[str, Any]:
    """Pairwise duels of runs that share benchmark data, and a ranking of those among them in ``ranked``.

    Only the comparable runs (``ranked``: full-benchmark runs in the board's reference setting) are ranked together,
    from three of them on; a duel or ranking on few common problems carries the duel's caution.
    """
    from coderank.report.duel import duel, ranking

    n = len(runs)
    cells: list[list[dict[str, Any] | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            try:
                result = duel(store, runs[i].run_id, runs[j].run_id, seed=seed)
            except UsageError as exc:  # no problem in common: the cell says so instead of failing the report
                log.info("no duel of %s and %s: %s", runs[i].run_id, runs[j].run_id, exc.message)
                continue
            d = result["diff"]
            p = result.get("mcnemar_p")
            significant = p < 0.05 if p is not None else result["permutation_p"] < 0.05
            test = f"exact McNemar p = {p:.3g}" if p is not None else \
                f"permutation p = {result['permutation_p']:.3g}, P(A better) = {result['prob_a_better']:.2f}"
            for a, b, sign in ((i, j, 1.0), (j, i, -1.0)):
                low, high = (d["low"], d["high"]) if sign > 0 else (-d["high"], -d["low"])
                cells[a][b] = {"diff": sign * d["value"], "low": low, "high": high, "significant": significant,
                               "problems": result["problems"], "test": test if sign > 0 else
                               test.replace("P(A better)", "P(B better)"), "verdict": result["verdict"],
                               "caution": result.get("caution", "")}
    group: dict[str, Any] = {
        "runs": [{"label": labels[r.run_id], "run_id": r.run_id} for r in runs],
        "sha": runs[0].run_manifest.benchmark.sha256 or "",
        "cells": [[None if c is None else {
            "text": f"{c['diff']:+.3f}", "interval": _interval(c["low"], c["high"], signed=True),
            "significant": c["significant"], "sign": "pos" if c["diff"] > 0 else "neg" if c["diff"] < 0 else "zero",
            "few": f"{c['problems']} common problem(s)" if c["caution"] else "",
            "title": f"{c['test']}; {c['problems']} common problems. {c['verdict']}"
                     + (f" Caution: {c['caution']}." if c["caution"] else "")} for c in row] for row in cells],
        "matrix": cells,
        "ranking": None,
    }
    comparable = [r.run_id for r in runs if r.run_id in ranked]
    if len(comparable) >= 3:
        try:
            rank = ranking(store, comparable, seed=seed)
        except UsageError as exc:
            group["ranking_note"] = exc.message
        else:
            group["ranking"] = {"problems": rank["problems"], "caution": rank.get("caution", ""), "rows": [
                {"rank": r["rank"], "model": labels[r["run_id"]], "run_id": r["run_id"], "pass1": f"{r['pass@1']:.3f}",
                 "strength": f"{r['log_strength']:+.2f}", "interval": _interval(r["low"], r["high"], signed=True),
                 "p_first": f"{r['p_first']:.2f}"} for r in rank["ranking"]]}
    group.setdefault("ranking_note", "" if len(comparable) >= 3 else
                      "a ranking needs three or more comparable runs (full-benchmark runs in the leaderboard's ranked "
                      f"setting); {len(comparable)} of these {n} are")
    return group


def _section(store: Store, name: str, rows: list[BoardRow], out_dir: Path, seed: int) -> _Section:
    import numpy as np

    from coderank.report import charts

    sec = _Section(name=name)
    base = slug(name)
    measured = [r for r in rows if r.kind == "measured"]
    full = [r for r in measured if not r.partial]
    reported = [r for r in rows if r.kind == "reported"]
    sec.measured = [_measured_row(r) for r in full]
    sec.partial = [_measured_row(r) for r in measured if r.partial]
    sec.reported = [_reported_row(r) for r in reported]
    runs = [store.get_run(r.run_id) for r in measured if r.run_id]
    labels = _labels(runs)
    for r in measured:
        if r.partial and r.run_id:
            labels[r.run_id] += f" (partial: {r.problems} of {r.benchmark_problems})"
    ranked = {r.run_id for r in full if r.rank is not None and r.run_id}

    # Partial runs stay off the bar chart: a score on two problems is not a bar beside full runs.
    bars = [charts.Bar(label=labels[r.run_id] if r.run_id else r.model, value=r.value, low=r.low, high=r.high,
                       comparable=not r.differs) for r in full]
    bars += [charts.Bar(label=label, value=r.value, kind="reported") for r, label in zip(
        reported, _reported_labels(reported), strict=True)]
    if bars:
        file = f"{base}-leaderboard.png"
        charts.leaderboard_chart(bars, f"{name}: pass@1", out_dir / file)
        sec.charts["leaderboard"] = file

    curves = []
    for r in full:
        pts = sorted((int(key.split("@")[1]), e["value"], e.get("low", e["value"]), e.get("high", e["value"]))
                     for key, e in r.pass_at_k.items())
        if len(pts) >= 2 and r.run_id:
            curves.append(charts.Curve(label=labels[r.run_id], points=tuple(pts)))
    if curves:
        file = f"{base}-passk.png"
        charts.passk_chart(curves, f"{name}: pass@k", out_dir / file)
        sec.charts["passk"] = file
    elif measured:
        sec.passk_note = ("no pass@k curve: every run has one sample per problem (pass@1 only); runs with "
                          "n >= 10 samples per problem get pass@10 and a curve")

    if runs:
        per = {run.run_id: store.per_problem_counts(run.run_id) for run in runs}
        tasks = sorted({t for counts in per.values() for t in counts}, key=charts.natural_key)
        rates = np.full((len(runs), len(tasks)), math.nan)
        index = {t: k for k, t in enumerate(tasks)}
        for i, run in enumerate(runs):
            for t, (n, c) in per[run.run_id].items():
                rates[i, index[t]] = c / n if n else math.nan
        if tasks:
            file = f"{base}-problems.png"
            charts.problem_heatmap([labels[run.run_id] for run in runs], tasks, rates,
                                   f"{name}: pass rate per problem", out_dir / file)
            sec.charts["problems"] = file

    by_data: dict[str, list[RunInfo]] = {}
    for run in runs:
        by_data.setdefault(run.run_manifest.benchmark.sha256 or "", []).append(run)
    for number, (sha, group_runs) in enumerate(by_data.items(), start=1):
        if len(group_runs) < 2:
            continue
        group = _duel_group(store, group_runs, labels, seed, ranked)
        suffix = "" if len(by_data) == 1 else f"-{number}"
        file = f"{base}-duel{suffix}.png"
        matrix = group.pop("matrix")
        diff = np.array([[math.nan if c is None else c["diff"] for c in row] for row in matrix])
        significant = np.array([[c is not None and c["significant"] for c in row] for row in matrix])
        title = f"{name}: duel matrix" + (f" (data {sha[:15]}…)" if len(by_data) > 1 else "")
        charts.duel_chart([g["label"] for g in group["runs"]], diff, significant, title, out_dir / file)
        group["chart"] = file
        sec.groups.append(group)
    return sec


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("coderank.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def render(sections: list[_Section], *, generated: str, store_path: str, benchmark: str | None,
           reported: bool) -> str:
    """The HTML text of a report (autoescaped, strict about missing variables)."""
    template = _environment().get_template("report.html.j2")
    return template.render(sections=sections, generated=generated, version=__version__, store_path=store_path,
                           benchmark=benchmark, reported=reported)


@dataclass(frozen=True)
class Report:
    """What :func:`build_report` wrote.

    Attributes:
        index: The ``index.html`` path.
        charts: The PNG files it references, by name relative to the index.
        benchmarks: The benchmarks shown, in order.
    """

    index: Path
    charts: tuple[str, ...]
    benchmarks: tuple[str, ...]


def build_report(store: Store, out_dir: Path | str, benchmark: str | None = None, reported: bool = True, *,
                 reported_paths: tuple[Path, ...] = (), seed: int = 0) -> Report:
    """Write the static report (``index.html`` plus PNG charts) into ``out_dir``.

    Args:
        store: The run store.
        out_dir: Folder to write into (created if missing); files of an earlier report are overwritten.
        benchmark: Only this benchmark (by name).
        reported: Include numbers reported in papers and model cards (shown apart from measured runs).
        reported_paths: Extra files of reported numbers.
        seed: Seed of the duel and ranking bootstraps.

    Raises:
        CoderankError: matplotlib is not installed.
        UsageError: ``benchmark`` names a benchmark with no finished run (and no reported number).
    """
    _require_matplotlib()
    out = Path(out_dir)
    boards = leaderboard(store, benchmark, reported=reported, reported_paths=reported_paths)
    if benchmark and benchmark not in boards:
        known = store.finished_benchmarks()
        raise UsageError(f"no finished run of benchmark {benchmark!r} in {store.path}",
                         "benchmarks with finished runs: " + (", ".join(known) or "none yet"))
    out.mkdir(parents=True, exist_ok=True)
    sections = [_section(store, name, rows, out, seed) for name, rows in boards.items()]
    html = render(sections, generated=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                  store_path=store.path, benchmark=benchmark, reported=reported)
    index = out / "index.html"
    write_atomic(index, html)
    charts = [*(f for sec in sections for f in sec.charts.values()),
              *(g["chart"] for sec in sections for g in sec.groups)]
    return Report(index=index, charts=tuple(charts), benchmarks=tuple(sec.name for sec in sections))


def write_report(store: Store, out_dir: Path | str, benchmark: str | None = None, reported: bool = True, *,
                 reported_paths: tuple[Path, ...] = (), seed: int = 0) -> Path:
    """Write the static report into ``out_dir`` and return the ``index.html`` path (see :func:`build_report`).

    Raises:
        CoderankError: matplotlib is not installed.
        UsageError: ``benchmark`` names a benchmark with no finished run (and no reported number).
    """
    return build_report(store, out_dir, benchmark, reported, reported_paths=reported_paths, seed=seed).index
