"""The leaderboard as text: the tables ``coderank board`` prints, as Markdown, and as CSV.

:func:`board_tables` lays the rows of :func:`coderank.report.board.leaderboard` out once, as plain cells, per
benchmark: the ranked full-benchmark runs (with the not-comparable ones after them, unranked), the partial runs
apart, then the reported numbers. The terminal table (``coderank.cli.compare``) and :func:`board_markdown` both
render those; :func:`board_csv` is one flat table with a row per board row, for spreadsheets and scripts.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from coderank.report.board import BoardRow


@dataclass
class BoardTable:
    """One table of the board: a title, its columns, plain-text rows and the notes printed under it.

    Attributes:
        kind: ``measured`` (full-benchmark runs), ``partial`` or ``reported``.
    """

    kind: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _interval(row: BoardRow) -> str:
    return "" if row.low is None or row.high is None else f"[{row.low:.3f}, {row.high:.3f}]"


def _more_k(row: BoardRow) -> str:
    return ", ".join(f"{k} {v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for k, v in row.pass_at_k.items()
                     if k != "pass@1")


def _label(row: BoardRow) -> str:
    """A measured row's model column: the run's name with its model spec, or the spec."""
    return f"{row.name} ({row.model})" if row.name else row.model


def _of(rows: list[BoardRow]) -> int | None:
    sizes = Counter(r.benchmark_problems for r in rows if r.benchmark_problems is not None)
    return sizes.most_common(1)[0][0] if sizes else None


def board_tables(boards: dict[str, list[BoardRow]]) -> list[BoardTable]:
    """The board's tables, in print order (per benchmark: full runs, partial runs, reported numbers)."""
    tables: list[BoardTable] = []
    for name, rows in boards.items():
        full = [r for r in rows if r.kind == "measured" and not r.partial]
        partial = [r for r in rows if r.kind == "measured" and r.partial]
        reported = [r for r in rows if r.kind == "reported"]
        if full:
            tables.append(_full_table(name, full))
        if partial:
            tables.append(_partial_table(name, partial, full))
        if reported:
            table = BoardTable("reported", f"{name}: reported elsewhere (not measured by coderank; no intervals given)",
                               ("model", "pass@1", "setting", "reported by", "source", "date"))
            for r in reported:
                source = r.source or ""
                table.rows.append((r.model, f"{r.value:.3f}", r.setting, r.reported_by or "",
                                   source if len(source) <= 60 else source[:59] + "…", r.date))
            tables.append(table)
    return tables


def _full_table(name: str, rows: list[BoardRow]) -> BoardTable:
    of = _of(rows)
    ranked = [r for r in rows if r.rank is not None]
    drops = any(r.drop for r in rows)
    more = any(len(r.pass_at_k) > 1 for r in rows)
    marks = any(r.differs for r in rows)
    table = BoardTable("measured", f"{name}: measured by coderank" + (f" on all {of} problems" if of else ""),
                       ("#", "model", "pass@1", "95% interval", *(("drop",) if drops else ()),
                        *(("more k",) if more else ()), "n", "problems", "date", "setting", "run",
                        *(("",) if marks else ())))
    for r in rows:
        mark: tuple[str, ...] = ()
        if marks:
            mark = ("",)
            if r.differs:
                table.notes.append(f"[{len(table.notes) + 1}] {r.run_id}: not comparable: " + "; ".join(r.differs))
                mark = (f"≠ [{len(table.notes)}]",)
        table.rows.append((
            str(r.rank) if r.rank is not None else "-", _label(r), f"{r.value:.3f}", _interval(r),
            *((f"{r.drop['points']:.1f}" if r.drop else "",) if drops else ()), *((_more_k(r),) if more else ()),
            str(r.samples_per_problem or ""), str(r.problems or ""), r.date, r.setting, r.run_id or "", *mark))
    if ranked and len(ranked) < len(rows):
        table.notes.insert(0, f"ranked (#): the runs in the reference setting, {ranked[0].setting} (the one most "
                              "full-benchmark runs share); ≠ runs ran another setting and are not ranked with them")
    for r in rows:
        if r.drop:
            d = r.drop
            table.notes.append(f"drop {r.run_id}: {d['base_pass@1']:.3f} on {d['base_benchmark']} (run {d['base_run']})"
                               f" - {d['pass@1']:.3f} here = {d['points']:.1f} points, same model and setting, "
                               f"{d['problems']} common problems")
    return table


def _partial_table(name: str, rows: list[BoardRow], full: list[BoardRow]) -> BoardTable:
    of = _of(rows)
    more = any(len(r.pass_at_k) > 1 for r in rows)
    table = BoardTable("partial", f"{name}: partial runs, fewer problems than the benchmark's {of or '?'}: not ranked",
                       ("model", "pass@1", "95% interval", *(("more k",) if more else ()), "n", "problems", "date",
                        "setting", "run"))
    for r in rows:
        table.rows.append((_label(r), f"{r.value:.3f}", _interval(r), *((_more_k(r),) if more else ()),
                           str(r.samples_per_problem or ""), f"{r.problems} of {r.benchmark_problems}", r.date,
                           r.setting, r.run_id or ""))
    table.notes.append("each score covers only the problems that run scored, so it is "
                       + ("comparable neither with the full runs above nor with " if full else "not comparable with ")
                       + "another partial run (unless both ran the same problems): `coderank duel RUN_A RUN_B` "
                       "compares two on their common problems")
    return table


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def board_markdown(boards: dict[str, list[BoardRow]]) -> str:
    """The board as Markdown: a heading, a pipe table and its notes per table."""
    parts = []
    for table in board_tables(boards):
        right = {"#", "pass@1", "drop", "n", "problems"}
        lines = [f"### {_md_cell(table.title)}", "",
                 "| " + " | ".join(_md_cell(c) for c in table.columns) + " |",
                 "|" + "|".join("---:" if c in right else "---" for c in table.columns) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
        if table.notes:
            lines += [""] + [f"- {_md_cell(n)}" for n in table.notes]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n" if parts else ""


CSV_COLUMNS = ("benchmark", "section", "rank", "model", "pass@1", "low", "high", "n", "problems", "of", "date",
               "setting", "template", "run_id", "differs", "drop_points", "reported_by", "source")
"""The columns of :func:`board_csv`; ``section`` is ``ranked``, ``not comparable``, ``partial`` or ``reported``."""


def board_csv(boards: dict[str, list[BoardRow]]) -> str:
    """The board as one CSV table, a row per board row (measured and reported), values unrounded."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for name, rows in boards.items():
        for r in rows:
            section = ("reported" if r.kind == "reported" else "partial" if r.partial else
                       "ranked" if r.rank is not None else "not comparable")
            writer.writerow((name, section, "" if r.rank is None else r.rank, r.model, r.value,
                             "" if r.low is None else r.low, "" if r.high is None else r.high,
                             r.samples_per_problem or "", r.problems or "", r.benchmark_problems or "", r.date,
                             r.setting, r.template or "", r.run_id or "", "; ".join(r.differs),
                             "" if not r.drop else r.drop["points"], r.reported_by or "", r.source or ""))
    return buf.getvalue()
