"""What every command module shares (no commands here): consoles, escaping, progress, common options, tables.

It imports nothing from the command modules or from :mod:`coderank.cli` itself, so any command module can be
imported on its own.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from coderank.record import plain

err = Console(stderr=True, soft_wrap=True)
"""Progress, warnings and errors (stderr)."""

# Piped output (logs, CI) gets room for the wide tables instead of rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
"""The human output (stdout)."""

# C0 controls but tab and newline, DEL and C1: what a terminal would act on (ESC starts colours, cursor moves,
# title and clipboard writes, hyperlinks; CR overwrites a line).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    r"""Text made safe to print: rich markup escaped, control characters shown as ``\xNN``.

    Verdict details, program output and model answers are untrusted: a program that raises
    ``ValueError("\x1b]0;...")`` must not retitle, clear or otherwise drive the user's terminal.
    """
    return _markup_escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))


# Options that several commands take, word for word.
StoreOpt = Annotated[Path | None, typer.Option("--store", help="Database file (default: $CODERANK_HOME/coderank.db "
                                               "or ~/.local/share/coderank/coderank.db).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the human output.")]
# A model server (openai:MODEL) and a local GGUF model: eval, distill, evol (perturb takes the key and concurrency).
BaseUrlOpt = Annotated[str | None, typer.Option(help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.",
                                                show_default=False)]
ServedModelOpt = Annotated[str | None, typer.Option(
    "--served-model", metavar="NAME", show_default=False,
    help="What the --base-url servers serve, e.g. the model and revision given to `vllm serve` "
    "(Qwen/Qwen2.5-Coder-7B-Instruct@REV): the run's identity names it and the API model instead of the URLs, so "
    "the same model on other replicas or ports has the same run id and completion cache, and a run moved to "
    "other servers resumes. Every replica must answer /v1/models with the same model (checked at start); the "
    "manifest records the URLs (servers).")]
ApiKeyEnvOpt = Annotated[str, typer.Option(help="Environment variable with the API key.")]
ConcurrencyOpt = Annotated[int, typer.Option(help="Requests in flight to a server.")]
MaxRetriesOpt = Annotated[int, typer.Option(help="Retries of a failed request (429, 5xx, timeout), with "
                                            "exponential backoff.")]
ThreadsOpt = Annotated[int | None, typer.Option(help="CPU threads for a local GGUF model (default: all cores; 1 "
                                                "keeps a background job usable on a busy machine).",
                                                show_default=False)]
WallTimeoutOpt = Annotated[float, typer.Option(help="Wall-clock backstop per program for programs that sleep or "
                                               "block; 0 = max(10, 4 x timeout).")]
MemoryMbOpt = Annotated[int, typer.Option(help="Address-space limit per program, MiB.")]
# Where the sandboxed programs run: score, eval, verify, rescore, augment.
RayOpt = Annotated[str | None, typer.Option(
    "--ray", metavar="ADDRESS", show_default=False,
    help="Run the programs on a Ray cluster: one executor per node, each with every sandbox layer and the "
    "same limits, so verdicts and the run id are those of a local run. ADDRESS: HOST:6379 (the head's `ray "
    "start --head`), auto (the cluster this machine joined) or local (a one-node Ray here, to try it). This "
    "machine reads the samples (and generates, for eval) and writes the store; --workers is then per node "
    "(default: the node's Ray CPUs). Needs the ray extra on every node; see README, Scale out.")]


def progress(enabled: bool, label: str, unit: str = "samples") -> Progress:
    """A transient progress bar on stderr (``enabled=False``: one that draws nothing)."""
    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        console=err, disable=not enabled, transient=True,
    )


def phase_progress(bar: Any, every: float = 30.0) -> Any:
    """A ``progress(phase, done, total)`` callback: a live bar on a terminal, else a log line every ``every`` s."""
    tasks: dict[str, Any] = {}
    started: dict[str, float] = {}
    logged: dict[str, float] = {}

    def update(phase: str, done: int, total: int) -> None:
        if bar.disable:
            now = time.monotonic()
            start = started.setdefault(phase, now)
            if (done == total and total) or now - logged.get(phase, start) >= every:
                logged[phase] = now
                eta = (now - start) / done * (total - done) if done else None
                err.print(f"{phase}: {done}/{total}" + (f", eta {eta:.0f} s" if eta is not None and done < total
                                                        else f", {now - start:.0f} s"), highlight=False)
            return
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total, description=phase)

    return update


def when(ts: float | None) -> str:
    """A timestamp as ``2025-01-31 14:05`` (local time), ``-`` for none."""
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def print_passk(passk: Mapping[str, Any]) -> None:
    """The pass@k table: ``{"pass@1": {"value", "low", "high", "problems", "samples"}, ...}``.

    Its lines may be :class:`~coderank.record.PassAtK` records (a :class:`~coderank.record.RunSummary`'s).
    """
    table = Table(show_edge=False, header_style="bold")
    for col in ("metric", "score", "95% interval", "problems", "samples"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, line in passk.items():
        e = plain(line)
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


def engine_text(engine: dict[str, Any] | None) -> str:
    """`` on Ray (HOST:6379): 3 node(s), 48 workers`` for a Ray run, with its executor deaths; empty for a local one."""
    if not engine or engine.get("engine") != "ray":
        return ""
    nodes = engine.get("nodes") or []
    text = f" on Ray ({escape(str(engine.get('address')))}): {len(nodes)} node(s), {engine.get('workers')} workers"
    if engine.get("actor_deaths"):
        text += (f"; {engine['actor_deaths']} executor(s) died, {engine.get('jobs_retried', 0)} job(s) ran again "
                 "elsewhere")
    return text
