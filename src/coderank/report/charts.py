"""PNG charts for the static report, drawn with matplotlib's Agg renderer (no display, no pyplot state).

Every function takes plain data (no store), draws one figure and writes it to ``path`` as a PNG. Figures
are built as :class:`matplotlib.figure.Figure` objects on an Agg canvas rather than through ``pyplot``: no
global figure registry, no GUI backend is ever selected, and nothing leaks between reports.

Names shown in charts come from users and models and may contain anything. Matplotlib would read ``$...$``
as math and fail on unbalanced dollars, so math parsing is switched off (``text.parse_math``), and long
names are shortened with an ellipsis (the HTML tables carry the full names).

Colours: measured runs are blue; measured runs whose setting differs from the board's reference are blue
with a hatch; reported numbers are grey with a cross-hatch and have no error bar (their sources give no
interval). Heatmaps use ``viridis`` (readable in greyscale and by colour-blind readers); the duel matrix uses
a diverging red-blue map centred on zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

MEASURED = "#2f6db5"
MEASURED_EDGE = "#1d4a80"
REPORTED = "#b9b9b9"
REPORTED_EDGE = "#6e6e6e"
DPI = 110
"""Dots per inch: 110 keeps 9-point labels crisp on screen while a chart stays well under 200 kB."""
MAX_LABEL = 44
"""Characters of a name shown in a chart; the tables show the rest."""

_RC: dict[Any, Any] = {  # typed loosely: matplotlib's stubs want literal keys
    "text.parse_math": False,
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.facecolor": "white",
}


def short(name: str, limit: int = MAX_LABEL) -> str:
    """``name`` on one line, at most ``limit`` characters: an ellipsis in the middle keeps both ends.

    The end of a model name often tells runs apart (``…-Q4_K_M``, ``… (run-1a2b3c4d5e6f)``), so it is kept.
    """
    flat = " ".join(name.split())
    if len(flat) <= limit:
        return flat
    tail = (limit - 1) // 3
    return flat[: limit - 1 - tail].rstrip() + "…" + flat[-tail:].lstrip()


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=DPI)
    return path


@dataclass(frozen=True)
class Bar:
    """One bar of the leaderboard chart.

    Attributes:
        label: Text beside the bar.
        value: pass@1.
        low: Lower end of the 95% interval (measured only).
        high: Upper end of the 95% interval (measured only).
        kind: ``measured`` or ``reported``.
        comparable: False for a measured run whose setting differs from the board's reference.
    """

    label: str
    value: float
    low: float | None = None
    high: float | None = None
    kind: str = "measured"
    comparable: bool = True


def leaderboard_chart(bars: Sequence[Bar], title: str, path: Path) -> Path:
    """Horizontal bars, best first: measured runs on top with 95% error bars, reported numbers below, apart.

    The two groups share the x axis (pass@1 from 0 to 1) so they can be read against each other, but sit in
    separate panels: a reported number is never ranked among measured ones.
    """
    measured = sorted((b for b in bars if b.kind == "measured"), key=lambda b: -b.value)
    reported = sorted((b for b in bars if b.kind == "reported"), key=lambda b: -b.value)
    groups = [(g, t) for g, t in ((measured, "measured by coderank (95% interval)"),
                                  (reported, "reported elsewhere (not measured by coderank; no interval)")) if g]
    row_h = 0.3
    height = 1.3 + sum(0.55 + row_h * len(g) for g, _ in groups)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9.5, height), layout="constrained")
        axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False,
                            gridspec_kw={"height_ratios": [len(g) + 1.2 for g, _ in groups]})[:, 0]
        for ax, (group, subtitle) in zip(axes, groups, strict=True):
            y = np.arange(len(group))[::-1]
            for yi, bar in zip(y, group, strict=True):
                if bar.kind == "measured":
                    ax.barh(yi, bar.value, height=0.7, color=MEASURED if bar.comparable else "white",
                            edgecolor=MEASURED_EDGE, hatch=None if bar.comparable else "////", linewidth=0.8)
                    if bar.low is not None and bar.high is not None:
                        ax.errorbar(bar.value, yi, xerr=[[bar.value - bar.low], [bar.high - bar.value]],
                                    fmt="none", ecolor="black", elinewidth=1.2, capsize=3)
                    end = bar.high if bar.high is not None else bar.value
                else:
                    ax.barh(yi, bar.value, height=0.7, color=REPORTED, edgecolor=REPORTED_EDGE, hatch="xx",
                            linewidth=0.6)
                    end = bar.value
                ax.text(end + 0.01, yi, f"{bar.value:.3f}", va="center", ha="left", fontsize=8,
                        color="black" if bar.kind == "measured" else "#444444")
            ax.set_yticks(y, [short(b.label) + ("  ≠" if not b.comparable else "") for b in group])
            ax.set_ylim(-0.6, len(group) - 0.4)
            ax.set_xlim(0, 1.09)  # room right of 1.0 for the value labels of intervals that reach 1
            ax.set_xticks(np.linspace(0, 1, 6))
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_title(subtitle, loc="left", fontsize=9, fontweight="normal", style="italic",
                         color="black" if group is measured else "#555555")
            if group is reported:
                for label in ax.get_yticklabels():
                    label.set_color("#555555")
        axes[-1].set_xlabel("pass@1")
        handles = [
            Patch(facecolor=MEASURED, edgecolor=MEASURED_EDGE, label="measured by coderank"),
            Line2D([], [], color="black", marker="|", markersize=8, linewidth=1.2, label="95% interval"),
        ]
        if any(not b.comparable for b in measured):
            handles.append(Patch(facecolor="white", edgecolor=MEASURED_EDGE, hatch="////",
                                 label="measured, not comparable (≠: setting differs)"))
        if reported:
            handles.append(Patch(facecolor=REPORTED, edgecolor=REPORTED_EDGE, hatch="xx",
                                 label="reported (paper / model card; no interval)"))
        fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold")
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 2), frameon=False,
                   fontsize=8)
        return _save(fig, path)


@dataclass(frozen=True)
class Curve:
    """One run's pass@k estimates: ``points`` are ``(k, value, low, high)``, sorted by k."""

    label: str
    points: tuple[tuple[int, float, float, float], ...]


def passk_chart(curves: Sequence[Curve], title: str, path: Path) -> Path:
    """pass@k against k (log scale) with the 95% interval as a shaded band, one line per run."""
    ks = sorted({p[0] for c in curves for p in c.points})
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9.5, 4.8), layout="constrained")
        ax = fig.subplots()
        colors = matplotlib.colormaps["tab10"]
        for i, curve in enumerate(curves):
            k = [p[0] for p in curve.points]
            color = colors(i % 10)
            ax.plot(k, [p[1] for p in curve.points], marker="o", color=color, linewidth=1.8,
                    label=short(curve.label))
            ax.fill_between(k, [p[2] for p in curve.points], [p[3] for p in curve.points], color=color,
                            alpha=0.15, linewidth=0)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
        ax.set_xlim(ks[0] / 1.3, ks[-1] * 1.3)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("k (samples allowed per problem)")
        ax.set_ylabel("pass@k")
        ax.grid(color="#dddddd", linewidth=0.6)
        ax.set_title(title, loc="left")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8,
                  title="run (band: 95% interval)", title_fontsize=8)
        return _save(fig, path)


def _task_tick(task_id: str, prefix: str) -> str:
    return task_id[len(prefix):] if prefix and task_id.startswith(prefix) else task_id


def _common_prefix(task_ids: Sequence[str]) -> str:
    """The shared ``Name/`` part of task ids (``HumanEval/``), shown once in the axis label instead."""
    heads = {t.rsplit("/", 1)[0] + "/" if "/" in t else "" for t in task_ids}
    return heads.pop() if len(heads) == 1 else ""


def natural_key(text: str) -> list[Any]:
    """Sort key that puts ``HumanEval/2`` before ``HumanEval/10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def problem_heatmap(labels: Sequence[str], task_ids: Sequence[str], rates: np.ndarray, title: str,
                    path: Path) -> Path:
    """Models (rows) x problems (columns), coloured by the fraction of samples that passed.

    ``rates`` has one row per label and one column per task id; NaN marks a problem the run did not attempt
    (drawn grey). Up to 40 problems every column is labelled; beyond that, every ``step``-th.
    """
    n_models, n_tasks = rates.shape
    prefix = _common_prefix(task_ids)
    # Capped at 14 inches so a 164-problem benchmark still fits a page without shrinking its labels to dust.
    width = min(max(7.5, 3.2 + 0.11 * n_tasks), 14.0)
    height = max(2.8, 1.6 + 0.36 * n_models)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.subplots()
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
        image = ax.imshow(np.ma.masked_invalid(rates), aspect="auto", cmap=cmap, vmin=0, vmax=1,
                          interpolation="nearest")
        ax.set_yticks(np.arange(n_models), [short(x) for x in labels])
        if n_tasks <= 40:
            ax.set_xticks(np.arange(n_tasks), [_task_tick(t, prefix) for t in task_ids],
                          rotation=90 if max(len(_task_tick(t, prefix)) for t in task_ids) > 3 else 0)
        else:
            step = 10 if n_tasks <= 250 else 25
            ticks = list(range(0, n_tasks, step))
            names = [_task_tick(task_ids[i], prefix) for i in ticks]
            ax.set_xticks(ticks, names, rotation=90 if max(len(x) for x in names) > 4 else 0)
        ax.tick_params(axis="x", labelsize=7 if n_tasks > 20 else 8, length=2)
        ax.set_xticks(np.arange(n_tasks + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(n_models + 1) - 0.5, minor=True)
        ax.tick_params(which="minor", length=0)
        if n_tasks <= 80:
            ax.grid(which="minor", color="white", linewidth=0.6)
        else:
            ax.grid(which="minor", axis="y", color="white", linewidth=1.0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel(f"problem ({prefix.rstrip('/') + ' ' if prefix else ''}task id; grey: not run)")
        ax.set_title(title, loc="left")
        bar = fig.colorbar(image, ax=ax, fraction=0.04 if width > 10 else 0.05, pad=0.01)
        bar.set_label("pass rate (passed / samples)")
        return _save(fig, path)


def duel_chart(labels: Sequence[str], diff: np.ndarray, significant: np.ndarray, title: str, path: Path) -> Path:
    """The pairwise pass@1 differences, row minus column, with significant cells marked ``*`` in bold.

    ``diff`` is square with NaN on the diagonal and wherever two runs share no problem.
    """
    n = len(labels)
    finite = diff[np.isfinite(diff)]
    span = max(0.05, float(np.abs(finite).max()) if finite.size else 0.05)
    size = max(4.8, 2.6 + 0.62 * n)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(size + 2.2, size), layout="constrained")
        ax = fig.subplots()
        cmap = matplotlib.colormaps["RdBu"].with_extremes(bad="#f2f2f2")
        image = ax.imshow(np.ma.masked_invalid(diff), cmap=cmap, norm=TwoSlopeNorm(0.0, -span, span),
                          interpolation="nearest")
        names = [short(x, 30) for x in labels]
        ax.set_yticks(np.arange(n), names)
        ax.set_xticks(np.arange(n), names, rotation=35, ha="right", rotation_mode="anchor")
        fontsize = 9 if n <= 6 else 7.5 if n <= 10 else 6
        for i in range(n):
            for j in range(n):
                value = diff[i, j]
                if i == j:
                    ax.text(j, i, "—", ha="center", va="center", color="#999999", fontsize=fontsize)
                elif not math.isfinite(value):
                    ax.text(j, i, "n/a", ha="center", va="center", color="#999999", fontsize=fontsize)
                else:
                    dark = abs(value) > 0.6 * span
                    text = "0.000" if abs(value) < 5e-4 else f"{value:+.3f}"
                    ax.text(j, i, text + ("*" if significant[i, j] else ""), ha="center", va="center",
                            fontsize=fontsize, fontweight="bold" if significant[i, j] else "normal",
                            color="white" if dark else ("black" if significant[i, j] else "#555555"))
        ax.set_xticks(np.arange(n + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="minor", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel("row (A)")
        ax.set_xlabel("column (B)\n\n* significant at the 5% level (exact McNemar test for one-sample runs,\n"
                      "otherwise the paired-bootstrap 95% interval excludes 0)", fontsize=8)
        ax.set_title(title, loc="left")
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.set_label("pass@1 difference A − B on common problems")
        return _save(fig, path)
