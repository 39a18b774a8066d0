"""CLI commands that make or change stored runs from other runs: ``rescore``, ``rename``, ``rm``.

A finished run's record (manifest, summary, verdicts) never changes: ``rescore`` makes a new run, ``rename``
changes only the display name, and ``rm`` deletes runs whole.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from coderank.cli import _progress, app, err, escape, out
from coderank.cli_eval import JsonOpt, StoreOpt, _phase_progress, _print_result
from coderank.errors import UsageError


@app.command()
def rescore(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix, or its name) of a finished eval or score run.",
                                       show_default=False)],
    timeout: Annotated[float | None, typer.Option(help="CPU seconds per program (default: the run's own).",
                                                  show_default=False)] = None,
    wall_timeout: Annotated[float | None, typer.Option(help="Wall-clock backstop per program; 0 = max(10, 4 x "
                                                       "timeout) (default: the run's own, or that when --timeout is "
                                                       "given).", show_default=False)] = None,
    memory_mb: Annotated[int | None, typer.Option(help="Address-space limit per program, MiB (default: the run's "
                                                  "own).", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(help="Sandbox workers (default: one per core).",
                                                show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for the new run (runs, show, board).",
                                             show_default=False)] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the new run to this folder: "
                                                 "manifest.json, summary.json, samples.jsonl.",
                                                 show_default=False)] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Score a stored run's programs again under other sandbox limits, as a new run (nothing is generated).

    The new run has its own id (the same command gives the same one) and its manifest records which run it was rescored from and under which limits; the original stays as it is. Answers without code are copied.

    Example: coderank rescore run-83a2ed5751ca --timeout 10
    """  # noqa: E501
    from coderank.pipeline import RescoreConfig
    from coderank.pipeline import rescore as rescore_run

    config = RescoreConfig(run=run, cpu_seconds=timeout, wall_seconds=wall_timeout, memory_mb=memory_mb,
                           workers=workers, store=store, out=out_dir, name=name)
    with _progress(sys.stderr.isatty(), "rescore") as bar:
        result = rescore_run(config, progress=_phase_progress(bar))
    if json_out:
        print(json.dumps({k: v for k, v in result.items() if k != "per_problem"}, indent=2))
        return
    _print_result(result)


@app.command()
def rename(run: Annotated[str, typer.Argument(help="Run id (or a unique prefix, or its current name).",
                                              show_default=False)],
           name: Annotated[str, typer.Argument(help="The new name (\"\" takes the name away).", show_default=False)],
           store: StoreOpt = None) -> None:
    """Give a run a name, shown by runs, show and board (the run's id and record stay as they are)."""
    from coderank.store import Store

    if name and not name.strip():
        raise UsageError("the name is blank", "give a name with a visible character, or \"\" to take the name away")
    with Store(store) as db:
        info = db.get_run(run)
        db.set_name(info.run_id, name or None)
    err.print(f"{info.run_id} is now named {escape(repr(name))}" if name else f"{info.run_id} has no name now",
              highlight=False)


@app.command()
def rm(runs: Annotated[list[str], typer.Argument(help="Run ids (or unique prefixes, or names).", show_default=False)],
       yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
       store: StoreOpt = None) -> None:
    """Delete runs from the store: their records and verdicts (cached model answers stay, other runs share them)."""
    from coderank.store import Store

    with Store(store) as db:
        found = {}
        for ref in runs:  # every run is looked up before any is deleted: a typo deletes nothing
            info = db.get_run(ref)
            found[info.run_id] = info
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(f"rm would delete {len(found)} run(s) and asks first, but there is no terminal to ask "
                                 "on", "add --yes to delete without asking")
            for info in found.values():
                out.print(f"{info.run_id}  {escape(info.label)} on {escape(info.benchmark)} ({info.status}, "
                          f"{info.samples} samples)", highlight=False)
            if not typer.confirm(f"delete these {len(found)} run(s)?", default=False):
                err.print("nothing deleted")
                raise typer.Exit(1)
        for run_id in found:
            db.delete_run(run_id)
    err.print(f"deleted {len(found)} run(s): {', '.join(found)}", highlight=False)
