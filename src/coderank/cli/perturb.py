"""CLI command ``perturb``: write semantically equivalent variants of a benchmark (memorisation probes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from coderank.cli._common import (
    ApiKeyEnvOpt,
    ConcurrencyOpt,
    ServedModelOpt,
    err,
    escape,
    out,
    phase_progress,
    progress,
)
from coderank.errors import UsageError


def perturb(
    benchmark: Annotated[str, typer.Argument(help="Benchmark name (humaneval) or a JSONL problem file.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Problem file (JSONL) to write; task ids get a "
                                           "#<kind> suffix, e.g. HumanEval/0#rename.", show_default=False)],
    kinds: Annotated[str, typer.Option("--kinds", help="Comma-separated: rename (neutral function/parameter "
                                       "names), examples (reordered, reformatted docstring examples), docstring "
                                       "(fixed rewordings); paraphrase (a model rewrites the docstring prose; "
                                       "needs --model).")] = "rename,examples,docstring",
    seed: Annotated[int, typer.Option(help="Seed for names, orders and layouts.")] = 0,
    model: Annotated[str | None, typer.Option("--model", "-m", help="For --kinds paraphrase: the model that "
                                              "paraphrases each docstring (default, gguf:PATH, hf:PATH, "
                                              "openai:MODEL).", show_default=False)] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server for --model openai:...",
                                                 show_default=False)] = None,
    served_model: ServedModelOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 4,
    temperature: Annotated[float, typer.Option(help="Paraphrase sampling temperature (0 = greedy).")] = 0.0,
    store: Annotated[Path | None, typer.Option("--store", help="Database whose completion cache keeps the "
                                               "paraphrases.", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(help="Sandbox workers for the check (default: one per core).",
                                                show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the table.")] = False,
) -> None:
    """Derive equivalent variants of a benchmark and write them as a problem file.

    With --kinds paraphrase a model (any backend) rewrites each docstring's prose; paraphrases that lose a number or a name, contain code or change length too much are dropped with the reason.

    Every variant's canonical solution must still pass its tests in the sandbox, else the variant is dropped and listed. Measure a model's gap by evaluating both, `coderank eval -b humaneval` and `coderank eval -b OUT.jsonl`, then compare them per kind: `coderank perturb-gap ORIGINAL_RUN PERTURBED_RUN`.
    """  # noqa: E501
    from coderank.paths import check_output_file
    from coderank.problems import load_benchmark
    from coderank.rigor.perturb import perturb_benchmark, write_problem_file

    check_output_file(out_path, [benchmark.removeprefix("evalplus:")])
    bench = load_benchmark(benchmark)
    kind_list = [k.strip() for k in kinds.split(",") if k.strip()]
    replies, info = None, None
    if "paraphrase" in kind_list:
        if model is None:
            raise UsageError("--kinds paraphrase needs --model", "e.g. --model default (the embedded model), or "
                             "--model openai:NAME --base-url http://127.0.0.1:8000/v1")
        from coderank.models.backends import BackendOptions
        from coderank.rigor import paraphrase

        options = BackendOptions(base_url=base_url, api_key_env=api_key_env, concurrency=concurrency,
                                 served_model=served_model)
        with progress(sys.stderr.isatty() and not json_out, "perturb", "calls") as bar:
            replies, info = paraphrase.generate(bench, model, options=options, store_path=store, seed=seed,
                                                temperature=temperature, progress=phase_progress(bar))
    result = perturb_benchmark(bench, kind_list, seed, workers=workers, paraphrases=replies, paraphrase_info=info)
    if not len(result.benchmark):
        reasons = "; ".join(f"{c.kind}: {c.derived} derived, {c.dropped} dropped, {c.unchanged} unchanged"
                            for c in result.counts().values())
        raise UsageError(f"no variant to write: every one was dropped or unchanged ({reasons}); {out_path} was not "
                         "written", "try other --kinds, or a benchmark whose problems have docstrings to vary")
    write_problem_file(result, out_path)
    if json_out:
        doc = result.to_json()
        doc["out"] = str(out_path)
        print(json.dumps(doc, indent=2))
        return
    table = Table(title=f"{bench.name} perturbed (seed {seed}) -> {escape(str(out_path))}", title_justify="left",
                  show_edge=False, header_style="bold")
    for col in ("kind", "derived", "kept", "dropped", "unchanged"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for c in result.counts().values():
        table.add_row(c.kind, str(c.derived), str(c.kept), str(c.dropped), str(c.unchanged))
    out.print(table)
    for rec in result.dropped():
        out.print(f"dropped {escape(rec.task_id)}: {escape(rec.reason)}", highlight=False)
    out.print(f"{len(result.benchmark)} problems written to {escape(str(out_path))} "
              f"(hash {result.benchmark.sha256[:19]}…); unchanged = nothing for the kind to change, not written",
              highlight=False)
    if result.dropped():
        err.print(f"[yellow]warning:[/] {len(result.dropped())} variant(s) dropped (listed above)", highlight=False)
    sys.stdout.flush()


def perturb_gap(
    original: Annotated[str, typer.Argument(help="Run on the original benchmark (id or unique prefix).")],
    perturbed: Annotated[str, typer.Argument(help="Run on the file `coderank perturb` wrote.")],
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    store: Annotated[Path | None, typer.Option("--store", help="Database file.", show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the table.")] = False,
) -> None:
    """Memorisation probe: pass@1 on the original problems minus pass@1 on their perturbed variants, per kind.

    A model that memorised the benchmark drops more on equivalent variants. Each gap has a paired-bootstrap 95% interval over the problems both runs cover.
    """  # noqa: E501
    from dataclasses import asdict

    from coderank.errors import UsageError
    from coderank.report.board import setting_differences
    from coderank.rigor.perturb import gap
    from coderank.store import SCORED, Store

    with Store(store) as db:
        a, b = db.get_run(original, kinds=SCORED), db.get_run(perturbed, kinds=SCORED)
        if a.kind == b.kind == "eval" and a.run_manifest.model != b.run_manifest.model:
            raise UsageError(f"{a.run_id} and {b.run_id} are runs of different models ({a.model} vs {b.model})",
                             "the gap compares one model with itself: evaluate the same model on both benchmarks")
        if a.model != b.model:
            err.print(f"[yellow]warning: the runs name different models ({escape(a.model)} vs {escape(b.model)}); "
                      "the gap means something only for one model on both[/]", highlight=False)
        # the problems differ by design (the variants); how they were asked must not
        for what in setting_differences(a, b, skip=("benchmark data", "problems")):
            err.print(f"[yellow]warning: the runs were asked differently ({escape(what)}); the gap then measures "
                      "that difference too, not only the surface form of the problems[/]", highlight=False)
        try:
            gaps = gap(db.per_problem_counts(a.run_id), db.per_problem_counts(b.run_id), seed=seed)
        except ValueError as exc:
            raise UsageError(str(exc), "the second run must be an eval of a file written by `coderank perturb`, "
                             "the first an eval of its source benchmark") from exc
    if json_out:
        print(json.dumps({"original": a.run_id, "perturbed": b.run_id,
                          "gaps": {k: asdict(v) for k, v in gaps.items()}}, indent=2))
        return
    table = Table(title=f"{escape(a.model)}: {a.run_id} (original) vs {b.run_id} (perturbed)", title_justify="left",
                  show_edge=False, header_style="bold")
    for col in ("kind", "problems", "original pass@1", "perturbed pass@1", "gap", "95% interval"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for g in gaps.values():
        table.add_row(g.kind, str(g.problems), f"{g.original:.3f}", f"{g.perturbed:.3f}", f"{g.diff:+.3f}",
                      f"[{g.low:+.3f}, {g.high:+.3f}]")
    out.print(table)
    out.print("gap = original - perturbed; an interval that excludes 0 means the surface form mattered",
              highlight=False)
