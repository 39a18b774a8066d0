"""CLI commands that check a benchmark's rigor: ``contam``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coderank.cli._common import (
    ApiKeyEnvOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    StoreOpt,
    ThreadsOpt,
    err,
    escape,
    out,
)
from coderank.cli._tables import IdTable
from coderank.errors import UsageError

if TYPE_CHECKING:
    from coderank.rigor.contam import ContamReport


def contam(
    train: Annotated[Path, typer.Argument(help="JSONL training file: rows with instruction/input/output, "
                                          "prompt/completion, text or messages fields.", show_default=False)],
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="Benchmark name (humaneval, mbpp, "
                                           "mbpp-valid, mbpp-train, ...) or a JSONL problem file.")] = "humaneval",
    drop: Annotated[Path | None, typer.Option("--drop", help="Write the training file without the flagged rows "
                                              "(nor the lines that could not be checked) to this file.",
                                              show_default=False)] = None,
    ngram: Annotated[float, typer.Option(help="Flag a row holding this fraction of an item's word n-grams.")] = 0.2,
    jaccard: Annotated[float, typer.Option(help="Flag a row whose MinHash Jaccard estimate reaches this.")] = 0.4,
    cosine: Annotated[float | None, typer.Option(help="Flag a row whose embedding cosine similarity alone reaches "
                                                "this, for a human to review (off by default: rows that teach the "
                                                "same task score as high as paraphrases; the README gives the "
                                                "measured cost).", show_default=False)] = None,
    clone: Annotated[float, typer.Option(help="Flag a row whose type-2 clone containment (renamed identifiers, "
                                         "reformatted code and examples) reaches this.")] = 0.75,
    examples: Annotated[float, typer.Option(help="Flag a row holding an item's own example values (the literal "
                                            "inputs and output of its docstring examples and tests, each example "
                                            "whole and close together) whose rarity score (summed -ln p of the "
                                            "literals) reaches this.")] = 12.0,
    examples_with_cosine: Annotated[float, typer.Option(help="With embeddings: flag a row whose example score "
                                                        "reaches this weaker value when its cosine also reaches "
                                                        "--cosine-with-examples (flagged by examples+cosine).")] = 8.0,
    cosine_with_examples: Annotated[float, typer.Option(help="The cosine that goes with --examples-with-cosine.")
                                    ] = 0.55,
    n: Annotated[int, typer.Option("-n", help="Word n-gram length.")] = 10,
    embeddings: Annotated[bool, typer.Option("--embeddings/--no-embeddings", help="Run the embedding detector "
                                             "(all-MiniLM-L6-v2, offline; needs coderank\\[rigor]): by far the "
                                             "slowest of the three on a CPU; the README gives measured speeds.")
                     ] = True,
    run_code: Annotated[bool, typer.Option("--run-code/--no-run-code", help="Run the functions of each row flagged "
                                           "by text scores alone (n-grams, MinHash, example values) as the item's "
                                           "entry point against the item's own tests, in the sandbox: a row whose "
                                           "code computes something else (MBPP's sibling problems, e.g. the sum of "
                                           "odd factors beside the sum of even factors) is not counted as a leak, "
                                           "and is listed with the failed assertion.")] = True,
    top: Annotated[int, typer.Option(help="Closest rows listed per item (flagged rows are always listed).")] = 3,
    device: Annotated[str | None, typer.Option(help="Torch device of the embedding model (default: a GPU if "
                                               "there is one).", show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document (per-item hits, counts, "
                                           "thresholds, timings) instead of the table.")] = False,
    judge: Annotated[str | None, typer.Option("--judge", metavar="MODEL", help="Second stage for paraphrases: "
                                              "show each item's nearest unflagged rows (by embedding cosine) to "
                                              "this model (default = the embedded model, gguf:PATH, openai:MODEL, "
                                              "...), which answers whether the row is a rephrasing of the item; "
                                              "cached in the store. The README gives its measured accuracy.",
                                              show_default=False)] = None,
    judge_top: Annotated[int, typer.Option("--judge-top", help="Rows the judge sees per benchmark item.")] = 3,
    judge_min: Annotated[float, typer.Option("--judge-min", help="Rows less similar to an item (cosine) are not "
                                             "judged.")] = 0.5,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 4,
    threads: ThreadsOpt = None,
    store: StoreOpt = None,
) -> None:
    """Find benchmark problems that leak into a training set.

    Every benchmark item (prompt + canonical solution) is compared with every training row by five scores: the fraction of the item's word 10-grams found in the row (text lowercased, punctuation dropped, whitespace ignored), a MinHash/LSH Jaccard estimate for near-duplicates, the cosine similarity of sentence embeddings, type-2 clone containment (the prompt and the solution compared separately, in both directions, as code tokens with identifiers and literals normalised and as docstring words with examples normalised, so renamed and reformatted copies score high; a function of the row that is the item's whole function, token for token once renamed, counts when it passes the item's tests, however short), and example fingerprints for paraphrases: the item's own example inputs and outputs (from its docstring and tests) found together in the row, weighted by how rare those values are; the table then says which examples matched. A row is flagged when any score but the cosine reaches its threshold, or when a weaker example score and a weaker cosine come together (--examples-with-cosine, --cosine-with-examples); the cosine flags alone only with --cosine (rows that teach the same task score as high as paraphrased leaks). With --judge MODEL, each item's nearest rows that nothing flagged are shown to a model, which flags the rephrasings it recognises. A row flagged by text scores alone whose own functions, run against the item's tests, compute something else is not counted (--no-run-code: counted). Bad lines are reported with file and line and skipped; the exit status is then 1.
    """  # noqa: E501
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from coderank.paths import check_output_file
    from coderank.rigor.contam import Thresholds, check_contamination, drop_flagged

    if drop is not None:  # before the (long) check, not after it
        check_output_file(drop, [train], option="--drop")
    thresholds = Thresholds(ngram=ngram, jaccard=jaccard, cosine=cosine, n=n, clone=clone, examples=examples,
                            examples_with_cosine=examples_with_cosine, cosine_with_examples=cosine_with_examples)
    if top < 0:
        raise UsageError(f"--top must be 0 or more, got {top}")
    judge_model = None
    if judge is not None:
        if not embeddings:
            raise UsageError("--judge needs the embedding detector: the judge sees each item's nearest rows by "
                             "cosine", "drop --no-embeddings")
        from coderank.models.backends import BackendOptions
        from coderank.rigor.judge import Judge

        judge_model = Judge(judge, options=BackendOptions(base_url=base_url, api_key_env=api_key_env,
                                                          concurrency=concurrency, threads=threads),
                            store_path=store, top_k=judge_top, min_cosine=judge_min)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:
            report = check_contamination(train, benchmark, thresholds=thresholds, embeddings=embeddings, top_k=top,
                                         device=device, progress=progress, judge=judge_model, behaviour=run_code)
        finally:
            if judge_model is not None:
                judge_model.close()
    for bad in report.bad_lines:
        err.print(f"skipped {escape(str(bad))}", highlight=False)
    dropped = drop_flagged(report, drop) if drop is not None else None
    if json_out:
        doc = report.to_json()
        if drop is not None:
            doc["dropped"] = {"path": str(drop), "rows": dropped}
        print(json.dumps(doc, indent=2))
    else:
        _print_report(report, top)
        if drop is not None:
            unchecked = f" and the {len(report.bad_lines)} unchecked line(s)" if report.bad_lines else ""
            out.print(f"wrote {escape(str(drop))} without the {len(report.flagged_lines)} flagged rows{unchecked}",
                      highlight=False)
    if report.bad_lines:
        raise typer.Exit(1)


def _print_report(report: ContamReport, top: int) -> None:
    th = report.thresholds
    leaked = report.leaked
    detectors = (f"{th.n}-gram overlap >= {th.ngram}, MinHash Jaccard >= {th.jaccard}, clone >= {th.clone}, "
                 + ("the item's whole function passing its tests, " if report.functions == "passing" else "")
                 + f"examples >= {th.examples:g}")
    detectors += (f", examples >= {th.examples_with_cosine:g} with cosine >= {th.cosine_with_examples}"
                  + (f", cosine >= {th.cosine}" if th.cosine is not None else "")
                  if report.embeddings else " (embeddings off)")
    if report.judge is not None:
        j = report.judge
        detectors += (f", judge {escape(j['model'])} on each item's top {j['top_k']} unflagged rows with cosine >= "
                      f"{j['min_cosine']} ({j['pairs']} pairs, {j['calls']} calls, {j['cached']} cached)")
    ran = [(item.task_id, h) for item in report.items for h in item.hits if h.behaviour is not None]
    other = [(task, h) for task, h in ran if not h.flagged and h.behaviour and h.behaviour["verdict"] == "different"]
    if ran:
        detectors += (f"; {len(ran)} row(s) flagged by text alone ran as the item against its tests: {len(other)} "
                      "compute something else, not counted")
    unrun = {h.line for item in report.items for h in item.hits if h.clone_part == "function" and not h.flagged}
    if report.functions == "never" and unrun:
        detectors += (f"; {len(unrun)} row(s) hold an item's whole function, not flagged because their code was not "
                      "run (--run-code checks them)")
    out.print(f"{len(leaked)} of {len(report.items)} {escape(report.benchmark)} items leak into "
              f"{report.rows} training rows ({len(report.flagged_lines)} rows flagged; {detectors})",
              highlight=False)
    if other:
        out.print("not counted: the row's own code computes something else than the item (MBPP's sibling problems "
                  "share text and example values):", highlight=False)
        for task, h in other:
            assert h.behaviour is not None
            out.print(f"  {task} line {h.line}: {escape(str(h.behaviour['function']))} "
                      f"{escape(h.behaviour['detail'])}", highlight=False)
    if not leaked:
        return
    judged = report.judge is not None
    cols = ("task", "line", "ngram", "jaccard", "cosine", "clone", "examples") + (("judge",) if judged else ()) + (
        "flagged by", "row")
    table = IdTable(*cols, ids=("task",), right=("line", "ngram", "jaccard", "cosine", "clone", "examples"))
    why: list[str] = []
    for item in leaked:
        for h in item.hits[:max(top, 1)] if top else [h for h in item.hits if h.flagged]:
            cells = [item.task_id, str(h.line), f"{h.ngram:.2f}", f"{h.jaccard:.2f}",
                     "-" if h.cosine is None else f"{h.cosine:.2f}", f"{h.clone:.2f}", f"{h.examples:.1f}"]
            if judged:
                cells.append(h.judge["verdict"] if h.judge else "-")
            table.add_row(*cells, ", ".join(h.flagged_by) or "-", escape(h.preview[:60]))
            if {"examples", "examples+cosine"} & set(h.flagged_by):
                why.append(f"{item.task_id} line {h.line}: " + "; ".join(h.examples_matched))
    out.print(table)
    if why:
        out.print("examples matched (literal, its weight in nats):", highlight=False)
        for line in why:
            out.print("  " + escape(line), highlight=False)
    out.print(f"{report.timings.get('total', 0.0):.1f} s", highlight=False)
