"""CLI commands that compare models: ``board`` (and ``duel``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from coderank.cli import app, out
from coderank.cli_eval import JsonOpt, StoreOpt


@app.command()
def board(
    benchmark: Annotated[str | None, typer.Option("--benchmark", "-b", help="Only this benchmark.",
                                                  show_default=False)] = None,
    reported: Annotated[bool, typer.Option(help="Show numbers reported in papers and vendor reports (apart from "
                                           "measured runs).")] = True,
    reported_file: Annotated[list[Path] | None, typer.Option(
        "--reported-file", help="Extra JSONL file of reported numbers (repeatable); your own file in "
        "$CODERANK_HOME/reported.jsonl is always read.")] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Leaderboard of stored runs per benchmark: pass@1 with 95% intervals, n, date; reported numbers apart.

    Runs whose benchmark data, problems, prompt template or decoding differ from the setting most runs share are marked, with the difference spelled out: their scores are not comparable. Reported numbers (with source and date) are listed below the measured runs and never averaged in.
    """  # noqa: E501
    from coderank.report.board import board_json, leaderboard
    from coderank.store import Store

    with Store(store) as db:
        boards = leaderboard(db, benchmark, reported=reported, reported_paths=tuple(reported_file or ()))
    if json_out:
        print(json.dumps(board_json(boards), indent=2))
        return
    if not boards:
        out.print("no finished runs yet: try `coderank eval --limit 10`")
        return
    for name, rows in boards.items():
        measured = [r for r in rows if r.kind == "measured"]
        others = [r for r in rows if r.kind == "reported"]
        table = Table(title=f"{name}: measured by coderank", title_justify="left", show_edge=False,
                      header_style="bold")
        for col in ("#", "model", "pass@1", "95% interval", "n", "problems", "date", "setting", "run", ""):
            table.add_column(col, justify="right" if col in ("#", "pass@1", "n", "problems") else "left")
        notes = []
        for i, r in enumerate(measured, start=1):
            mark = ""
            if r.differs:
                notes.append(f"[{len(notes) + 1}] {r.run_id}: not comparable: " + "; ".join(r.differs))
                mark = f"≠ [{len(notes)}]"
            table.add_row(str(i), r.model, f"{r.value:.3f}", f"[{r.low:.3f}, {r.high:.3f}]",
                          str(r.samples_per_problem), str(r.problems), r.date, r.setting, r.run_id or "", mark)
        if measured:
            out.print(table)
            for note in notes:
                out.print(note, highlight=False)
        if others:
            rep = Table(title=f"{name}: reported elsewhere (not measured by coderank; no intervals given)",
                        title_justify="left", show_edge=False, header_style="bold dim", style="dim")
            for col in ("model", "pass@1", "setting", "reported by", "source", "date"):
                rep.add_column(col, justify="right" if col == "pass@1" else "left")
            for r in others:
                source = r.source or ""
                rep.add_row(r.model, f"{r.value:.3f}", r.setting, r.reported_by or "",
                            source if len(source) <= 60 else source[:59] + "…", r.date, style="dim")
            out.print(rep)
