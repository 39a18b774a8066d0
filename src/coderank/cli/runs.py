"""CLI commands on stored runs: ``runs``, ``show``, ``rename``, ``rm``.

A finished run's record (manifest, summary, verdicts) never changes: ``rename`` changes only the display name,
and ``rm`` deletes runs whole (``rescore``, in :mod:`coderank.cli.eval`, makes a new run).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from coderank.cli import distill, evol
from coderank.cli._common import JsonOpt, StoreOpt, err, escape, out, print_passk, print_unscorable, when
from coderank.cli._tables import IdTable
from coderank.cli.eval import limits_text, print_echoes, template_words
from coderank.errors import UsageError


def status_text(info: Any) -> str:
    """A run's status, with why it stopped when it failed or was interrupted."""
    return f"{info.status}: {info.status_detail}" if info.status_detail else info.status


def runs(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """List stored runs, newest first."""
    from coderank.store import Store

    with Store(store) as db:
        rows = db.runs()
    if json_out:
        print(json.dumps([{"run_id": r.run_id, "name": r.name, "kind": r.kind, "model": r.model,
                           "benchmark": r.benchmark, "status": r.status, "status_detail": r.status_detail,
                           "created_at": r.created_at, "samples": r.samples,
                           "pass_at_k": _pass_at_k(r)} for r in rows], indent=2))
        return
    if not rows:
        out.print("no runs yet: try `coderank eval --limit 10`")
        return
    named = any(r.name for r in rows)
    table = IdTable("run", *(("name",) if named else ()), "model", "benchmark", "pass@1", "samples", "status",
                    "created")
    for r in rows:
        s = r.run_summary
        p1 = s.pass_at_1 if s is not None else None
        n = ((s.rows if s is not None else None) or 0) if r.kind in ("evol", "distill") else r.samples
        table.add_row(r.run_id, *((escape(r.name or ""),) if named else ()), escape(r.model), escape(r.benchmark),
                      f"{p1.value:.3f}" if p1 else "-", str(n), r.status, when(r.created_at))
    out.print(table)
    stopped = [r for r in rows if r.status_detail]
    for r in stopped[:5]:
        out.print(f"[yellow]{r.run_id} {escape(status_text(r))}[/] (the same command resumes it)", highlight=False)
    if len(stopped) > 5:
        out.print(f"[yellow]... and {len(stopped) - 5} more stopped runs[/]", highlight=False)


def _pass_at_k(info: Any) -> dict[str, Any]:
    """A run's pass@k table as plain data (empty for evol runs and unfinished ones)."""
    s = info.run_summary
    return {k: e.to_dict() for k, e in s.pass_at_k.items()} if s is not None else {}


def show(run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")], store: StoreOpt = None,
         json_out: JsonOpt = False,
         samples: Annotated[bool, typer.Option("--samples", help="Also list every sample's verdict (with --json: "
                                               "and its raw answer, program and output).")] = False,
         code: Annotated[bool, typer.Option("--code", help="With --samples: also print each sample's raw model "
                                            "answer, the program extracted from it (what ran) and its output.")
                         ] = False,
         task: Annotated[list[str] | None, typer.Option("--task", help="With --samples: only this task id "
                                                        "(repeatable).", show_default=False)] = None) -> None:
    """Show one run: manifest, score, statuses (and with --samples each verdict; for evol runs every attempt).

    With --samples --code each sample's raw answer, the program extracted from it and the program's output are printed too, so a verdict can be checked against what the model wrote: coderank show RUN --samples --code --task HumanEval/0
    """  # noqa: E501
    from coderank.store import Store

    if (code or task) and not samples:
        raise UsageError("--code and --task go with --samples", f"coderank show {run} --samples --code")
    with Store(store) as db:
        info = db.get_run(run)
        rows = [s for s in db.samples(info.run_id) if not task or s.task_id in task] if samples else []
        if task and info.kind not in ("evol", "distill") and not rows:
            raise UsageError(f"{info.run_id} has no sample of {', '.join(task)}",
                             f"task ids look like {next(iter(db.per_problem_counts(info.run_id)), 'HumanEval/0')}")
        answers = {(s.task_id, s.sample_index): db.get_completion(s.completion_key)
                   for s in rows if s.completion_key and (code or json_out)}
        evol_rows = db.evol_rows(info.run_id) if samples and info.kind == "evol" else []
    if info.kind == "evol":
        _show_evol(info, evol_rows, json_out)
        return
    if info.kind == "distill":
        distill.show_run(info, json_out)
        return
    if json_out:
        doc: dict[str, Any] = {"run_id": info.run_id, "name": info.name, "status": info.status,
                               "status_detail": info.status_detail, "manifest": info.manifest, "summary": info.summary}
        if samples:
            doc["samples"] = [{"task_id": s.task_id, "sample_index": s.sample_index, "status": s.status,
                               "detail": s.detail, "extraction": s.extraction, "truncated": s.truncated,
                               **_answer_fields(answers.get((s.task_id, s.sample_index))),
                               "program": s.program, "output": s.output}
                              for s in rows]
        print(json.dumps(doc, indent=2))
        return
    named = f" \"{escape(info.name)}\"" if info.name else ""
    out.print(f"[bold]{info.run_id}[/]{named}  {escape(info.model)} on {escape(info.benchmark)}"
              f"{template_words(info.run_manifest)} ({escape(status_text(info))}, created {when(info.created_at)})",
              highlight=False)
    m = info.run_manifest
    out.print(escape(f"model: {m.model_spec}  {json.dumps(m.model)}"), highlight=False)
    b = m.benchmark
    out.print(f"benchmark: {b.name} {b.version} {b.sha256} ({b.problems} of {b.of} problems)", highlight=False)
    t = m.template
    out.print(f"template: {t.name} ({t.kind}, {t.sha256})  params: {json.dumps(m.params)}  seed: {m.seed}  n: {m.n}",
              highlight=False)
    was = m.rescored_from
    out.print(f"sandbox: {limits_text(m.sandbox_limits)}"
              + (f"  (rescored from {was.run_id}, scored under {limits_text(was.sandbox_limits)})"
                 if was is not None else ""), highlight=False)
    if info.summary:
        scored = info.run_summary
        assert scored is not None
        print_passk(scored.pass_at_k)
        out.print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(scored.status_counts.items())),
                  highlight=False)
        print_unscorable(scored.unscorable_problems or {})
        print_echoes(scored.echoes)
    for s in rows:
        if not code:
            out.print(f"{escape(s.task_id)} #{s.sample_index}: {s.status} {escape(s.detail[:100])}", highlight=False)
            continue
        out.rule(f"{escape(s.task_id)} #{s.sample_index}: {s.status}", align="left")
        if s.detail:
            out.print(f"[bold]verdict:[/] {s.status}: {escape(s.detail)}", highlight=False)
        comp = answers.get((s.task_id, s.sample_index))
        if comp is not None:
            finish = f", finish reason {comp['finish_reason']}" if comp.get("finish_reason") else ""
            tokens = f", {comp['completion_tokens']} tokens" if comp.get("completion_tokens") else ""
            out.print(f"[bold]answer[/] (the model's raw text{tokens}{escape(finish)}"
                      f"{', hit the token limit' if s.truncated else ''}):", highlight=False)
            out.print(escape(comp["text"]), highlight=False)
        elif s.completion_key is None:
            out.print("[bold]answer:[/] none stored (the samples came from a file: the program is as given)",
                      highlight=False)
        method = s.extraction.get("method") if isinstance(s.extraction, dict) else None
        out.print(f"[bold]program[/] (what ran{f'; extraction: {escape(str(method))}' if method else ''}):",
                  highlight=False)
        out.print(escape(s.program) if s.program else "(none: no code could be extracted)", highlight=False)
        if s.output:
            out.print("[bold]output[/] (what the program printed):", highlight=False)
            out.print(escape(s.output), highlight=False)


def _answer_fields(comp: dict[str, Any] | None) -> dict[str, Any]:
    """The raw answer of a sample for ``show --json``: its text and finish reason (None for scored files)."""
    return {"answer": comp["text"] if comp else None, "finish_reason": comp.get("finish_reason") if comp else None}


def _show_evol(info: Any, rows: list[dict[str, Any]], json_out: bool) -> None:
    if json_out:
        doc: dict[str, Any] = {"run_id": info.run_id, "status": info.status, "manifest": info.manifest,
                               "summary": info.summary}
        if rows:
            doc["rows"] = rows
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{info.run_id}[/] (evol, {info.status}, created {when(info.created_at)})", highlight=False)
    from coderank.evol.evolution import EvolManifest, EvolResult

    m = EvolManifest.from_dict(info.manifest)
    out.print(escape(f"model: {m.model_spec}  {json.dumps(m.model)}"), highlight=False)
    out.print(f"seeds: {m.seeds['source']} ({m.seeds['count']}, {m.seeds['sha256']})  methods v"
              f"{m.methods['version']} {m.methods['sha256']}  seed: {m.seed}  rounds: {m.rounds}", highlight=False)
    if info.summary:  # the stored summary is the result less its manifest
        evol.print_report(EvolResult.from_dict({**info.summary, "manifest": info.manifest}))
    for r in rows:
        verdict = "kept" if r["kept"] else f"{r['reason']}: {r['detail']}"
        out.print(f"{escape(r['id'])} ({r['method']}, parent {escape(r['parent_id'])}): {escape(verdict[:120])}",
                  highlight=False)


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
