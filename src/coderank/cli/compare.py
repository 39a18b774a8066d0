"""CLI commands that compare models: ``board`` (and ``duel``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from coderank.cli._common import JsonOpt, StoreOpt, escape, out
from coderank.cli._tables import IdTable
from coderank.errors import UsageError
from coderank.paths import check_output_folder

OnlyBenchmarkOpt = Annotated[str | None, typer.Option("--benchmark", "-b", help="Only this benchmark.",
                                                     show_default=False)]
ReportedOpt = Annotated[bool, typer.Option(help="Show numbers reported in papers and vendor reports (apart from "
                                           "measured runs).")]
ReportedFileOpt = Annotated[list[Path] | None, typer.Option(
    "--reported-file", help="Extra JSONL file of reported numbers (repeatable); your own file in "
    "$CODERANK_HOME/reported.jsonl is always read.")]


BoardFormatOpt = Annotated[str, typer.Option("--format", help="table (for the terminal), markdown, or csv (one "
                                             "row per board row, unrounded; for spreadsheets).")]


def board(
    benchmark: OnlyBenchmarkOpt = None,
    reported: ReportedOpt = True,
    reported_file: ReportedFileOpt = None,
    fmt: BoardFormatOpt = "table",
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Leaderboard of stored runs per benchmark: pass@1 with 95% intervals, n, date; reported numbers apart.

    Only comparable runs are ranked together: full-benchmark runs in the setting most of them share (benchmark data, prompt template, decoding). Full runs in another setting follow unranked, marked with the difference spelled out. Partial runs (fewer problems than the benchmark has: --limit, --tasks) are listed apart and never ranked: their scores cover only the problems they ran. Reported numbers (with source and date) are listed below the measured runs and never averaged in.
    """  # noqa: E501
    from coderank.report.board import board_json, leaderboard
    from coderank.report.board_text import board_csv, board_markdown, board_tables
    from coderank.store import Store

    if fmt not in ("table", "markdown", "csv"):
        raise UsageError(f"unknown --format {fmt!r}", "use table, markdown or csv")
    with Store(store) as db:
        boards = leaderboard(db, benchmark, reported=reported, reported_paths=tuple(reported_file or ()))
    if json_out:
        print(json.dumps(board_json(boards), indent=2))
        return
    if fmt == "csv":
        sys.stdout.write(board_csv(boards))
        return
    if not boards:
        with Store(store) as db:
            known = db.finished_benchmarks()
        if benchmark and known:
            message = (f"no finished run of benchmark {benchmark}; benchmarks with finished runs: "
                       f"{', '.join(known)}")
        else:
            message = "no finished runs yet: try `coderank eval --limit 10`"
        if fmt == "markdown":
            print(message)
        else:
            out.print(escape(message), highlight=False)
        return
    if fmt == "markdown":
        sys.stdout.write(board_markdown(boards))
        return
    for spec in board_tables(boards):
        reported_table = spec.kind == "reported"
        dim = {"style": "dim"} if reported_table else {}
        table = IdTable(*spec.columns, right=("#", "pass@1", "drop", "n", "problems"), title=escape(spec.title),
                        title_justify="left", header_style="bold dim" if reported_table else "bold", **dim)
        for row in spec.rows:
            table.add_row(*(escape(cell) for cell in row), **dim)
        out.print(table)
        for note in spec.notes:
            out.print(escape(note), highlight=False)


def duel(
    runs: Annotated[list[str], typer.Argument(help="Two run ids (or unique prefixes) for a duel; three or more "
                                              "for a Bradley-Terry ranking. A side of a duel may pool one model's "
                                              "runs on several benchmarks: RUN_HE+RUN_MBPP.", show_default=False)],
    problems: Annotated[bool, typer.Option("--problems", help="List every problem's outcome.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstraps.")] = 0,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare runs on the same problems with paired statistics, not bare tallies.

    Two runs: the tally (A only / B only / both / neither), the pass@1 difference with a paired-bootstrap 95% interval, an exact McNemar test for one-sample runs (for sampled runs a paired sign-flip permutation test over problems, exact for few of them, and the probability that A's per-problem pass rate beats B's), and a verdict that says when the data cannot separate them ("8:5 on 13 problems is not evidence"). Join runs with + to pool a model's benchmarks (coderank duel A_HE+A_MBPP B_HE+B_MBPP: 664 paired problems). Three or more runs: a Bradley-Terry ranking with bootstrap intervals and P(ranked first).
    """  # noqa: E501
    from coderank.report.duel import duel as duel_runs
    from coderank.report.duel import ranking
    from coderank.store import Store

    with Store(store) as db:
        result = duel_runs(db, runs[0], runs[1], seed=seed) if len(runs) == 2 else ranking(db, runs, seed=seed)
    if json_out:
        print(json.dumps(result, indent=2))
        return
    if "ranking" in result:
        table = IdTable("#", "model", "run", "pass@1", "log-strength", "95% interval", "P(first)",
                        right=("#", "pass@1", "log-strength", "95% interval", "P(first)"),
                        title=f"{result['benchmark']}: Bradley-Terry ranking on {result['problems']} common problems",
                        title_justify="left")
        for r in result["ranking"]:
            table.add_row(str(r["rank"]), escape(r["model"]), r["run_id"], f"{r['pass@1']:.3f}",
                          f"{r['log_strength']:+.2f}", f"[{r['low']:+.2f}, {r['high']:+.2f}]", f"{r['p_first']:.2f}")
        out.print(table)
        if "caution" in result:
            out.print(f"[yellow]{escape(result['caution'])}[/]", highlight=False)
        return
    a, b = result["a"], result["b"]
    for side, run in (("A", a), ("B", b)):
        out.print(escape(f"{side} = {run['model']} ({run['run_id']}, template {run['template']}): "
                         f"pass@1 {run['pass@1']:.3f}"), highlight=False)
    out.print(f"{result['problems']} common problems of {result['benchmark']}", highlight=False)
    if "tally" in result:
        t = result["tally"]
        out.print(f"tally: A only {t['a_only']}, B only {t['b_only']}, both {t['both']}, neither {t['neither']};"
                  f" exact McNemar p = {result['mcnemar_p']:.3g}", highlight=False)
    else:
        out.print(f"P(A's per-problem pass rate > B's) = {result['prob_a_better']:.3f}; paired sign-flip "
                  f"permutation test over problems p = {result['permutation_p']:.3g}", highlight=False)
    d = result["diff"]
    out.print(f"pass@1 difference A - B: {d['value']:+.3f}, 95% paired-bootstrap interval "
              f"[{d['low']:+.3f}, {d['high']:+.3f}]", highlight=False)
    out.print(f"[bold]{escape(result['verdict'])}[/]", highlight=False)
    if "caution" in result:
        out.print(f"[yellow]{escape(result['caution'])}[/]", highlight=False)
    if problems:
        table = IdTable("task", "A passed", "B passed", ids=("task",))
        for row in result["per_problem"]:
            table.add_row(row["task_id"], f"{row['a']['c']}/{row['a']['n']}", f"{row['b']['c']}/{row['b']['n']}")
        out.print(table)


def report(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for index.html and the PNG charts (created "
                                          "if missing; an earlier report there is overwritten).",
                                          show_default=False)],
    benchmark: OnlyBenchmarkOpt = None,
    reported: ReportedOpt = True,
    reported_file: ReportedFileOpt = None,
    seed: Annotated[int, typer.Option(help="Seed of the duel and ranking bootstraps.")] = 0,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a static HTML report with PNG charts: leaderboard, pass@k curves, per-problem heatmap, duels.

    The folder holds index.html and its PNG files (referenced by relative name) and opens without a network: no scripts, no fonts or styles from elsewhere. Per benchmark: the leaderboard table (intervals, n, date, setting, not-comparable marks; reported numbers apart with source and date) and its bar chart, pass@k curves for runs with several k, a models x problems heatmap of pass rates, and for runs on the same benchmark data a matrix of pairwise pass@1 differences with significance, plus a Bradley-Terry ranking from three runs on. Needs matplotlib: the `report` extra of coderank (or pip install matplotlib).

    Example: coderank report --out report/ && xdg-open report/index.html
    """  # noqa: E501
    from coderank.report.html import build_report
    from coderank.store import Store

    check_output_folder(out_dir, "the report is a folder (index.html and its charts)")
    with Store(store) as db:
        result = build_report(db, out_dir, benchmark, reported, reported_paths=tuple(reported_file or ()), seed=seed)
    if json_out:
        print(json.dumps({"index": str(result.index), "charts": [str(result.index.parent / c) for c in result.charts],
                          "benchmarks": list(result.benchmarks)}, indent=2))
        return
    if not result.benchmarks:
        out.print("no finished runs yet (the report says so): try `coderank eval --limit 10`", highlight=False)
    out.print(f"wrote {result.index} ({len(result.charts)} charts, {len(result.benchmarks)} benchmarks)",
              highlight=False)
