"""CLI commands that run a model's programs: ``eval``, ``verify``, ``export``, ``rescore``.

A finished run's record (manifest, summary, verdicts) never changes: ``rescore`` makes a new run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coderank.cli._common import (
    ApiKeyEnvOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    JsonOpt,
    MaxRetriesOpt,
    MemoryMbOpt,
    RayOpt,
    ServedModelOpt,
    StoreOpt,
    ThreadsOpt,
    WallTimeoutOpt,
    engine_text,
    err,
    escape,
    out,
    phase_progress,
    print_passk,
    print_unscorable,
    progress,
)
from coderank.errors import UsageError
from coderank.execution.sandbox import Limits
from coderank.models.backends import BackendOptions
from coderank.paths import check_output_file
from coderank.record import RunManifest

if TYPE_CHECKING:
    from coderank.evaluation import EvalResult


def eval_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help="default (embedded Qwen2.5-Coder-0.5B-Instruct GGUF), "
                                       "gemma-270m (embedded Gemma 3 270M base model; extra 'gemma'), "
                                       "qwen-1.5b (embedded Qwen2.5-Coder-1.5B-Instruct; extra 'qwen-1-5b'), "
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
    stop_loops: Annotated[bool, typer.Option(
        "--stop-loops", help="Stop an answer at its first degenerate loop (12 lines holding at most 2 different "
        "lines, digits aside: `# print(x[7])` over and over) and cut the loop off. About halves a base model's "
        "generation time here; changes only looping answers; part of the run's id. Answers already generated "
        "without it are reused, cut.")] = False,
    seed: Annotated[int, typer.Option(help="Sample i uses seed + i.")] = 0,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", help="Greedy answers of a local GGUF model decoded B at a time in one llama.cpp batch "
        "(about 1.8x faster on 2 cores with B = 8 to 16), but the batch's arithmetic changes some answers, so B > 1 "
        "is part of the model's identity (its own run id and cache). 1 = one answer at a time.")] = 1,
    limit: Annotated[int | None, typer.Option(help="Only the first K problems.", show_default=False)] = None,
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="Only this task id (repeatable).")] = None,
    prompt_template: Annotated[str | None, typer.Option(
        "--prompt-template", help="chat (the model's own chat template), completion (base models), alpaca (the chat "
        "request in the Alpaca frame: models trained with --prompt-format alpaca), wizardcoder, codellama-instruct, "
        "or a Jinja file. Default: completion for gemma-270m, the training format for a "
        "coderank train folder, chat otherwise.",
        show_default=False)] = None,
    base_url: BaseUrlOpt = None,
    served_model: ServedModelOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 4,
    max_retries: MaxRetriesOpt = 5,
    threads: ThreadsOpt = None,
    timeout: Annotated[float, typer.Option(help="Sandbox CPU seconds per program. Limits other than the defaults "
                                           "make another run (its own id); `coderank rescore RUN --timeout S` "
                                           "re-scores a stored run without the model.")] = 3.0,
    wall_timeout: WallTimeoutOpt = 0.0,
    memory_mb: MemoryMbOpt = 2048,
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
    ray: RayOpt = None,
) -> None:
    """Evaluate a model on a benchmark: generate, extract code, run it in the sandbox, score.

    Everything is stored: re-running the same command resumes an interrupted run (nothing generated twice) or shows the finished one as it was recorded. The manifest records model identity (weights sha256 or API model), benchmark hash, template hash, decoding, seed, sandbox limits and platform.

    Examples: coderank eval --limit 10 | coderank eval -m openai:gpt-4o-mini -n 10 --temperature 0.8 | coderank eval -m openai:qwen --base-url http://127.0.0.1:8080/v1
    """  # noqa: E501
    from coderank.evaluation import EvalConfig, evaluate

    check_batch_size(batch_size, model, temperature)
    config = EvalConfig(
        model=model, benchmark=benchmark, n=samples, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
        seed=seed, limit=limit, tasks=tuple(tasks or ()), template=prompt_template,
        backend=BackendOptions(base_url=base_url, api_key_env=api_key_env, concurrency=concurrency, threads=threads,
                               max_retries=max_retries, served_model=served_model,
                               extra={"batch_size": batch_size} if batch_size != 1 else {}),
        limits=Limits(cpu_seconds=timeout, wall_seconds=wall_timeout, memory_bytes=memory_mb << 20), workers=workers,
        store=store, out=out_dir, name=name, ray=ray, stop_loops=stop_loops,
    )
    with progress(sys.stderr.isatty(), "eval") as bar:
        result = evaluate(config, progress=phase_progress(bar))
    if json_out:
        print(json.dumps({k: v for k, v in result.to_json().items() if k != "per_problem"}, indent=2))
        return
    print_result(result)


def check_batch_size(batch_size: int, model: str, temperature: float) -> None:
    """Refuse a ``--batch-size`` that would not batch anything, before a model is loaded.

    Raises:
        UsageError: B outside 1 to ``MAX_BATCH``; B > 1 with a model llama.cpp does not run here, or with
            sampling (only greedy answers are batched, and B would make a run id of its own for nothing).
    """
    from coderank.models import embedded
    from coderank.models.batched import check_batch_size_range

    check_batch_size_range(batch_size)
    if batch_size == 1:
        return
    if model not in embedded.MODELS and model.partition(":")[0] != "gguf":
        raise UsageError(f"--batch-size batches local GGUF models (llama.cpp); {model!r} is not one",
                         f"use it with {', '.join(embedded.MODELS)} or gguf:PATH, or leave it out")
    if temperature > 0:
        raise UsageError("--batch-size batches greedy answers only (--temperature 0)",
                         "leave --batch-size out: sampled answers are generated one at a time")


def template_words(manifest: RunManifest | None) -> str:
    """``, template chat`` for a run's headline (empty where the manifest names none)."""
    name = manifest.template.name if manifest is not None else None
    return f", template {escape(str(name))}" if name else ""


def print_result(r: EvalResult) -> None:
    """The human output of an eval or rescore result (or a finished run found again)."""
    from coderank.evaluation import RescoreResult

    m = r.manifest
    named = f" \"{escape(r.name)}\"" if r.name else ""
    out.print(f"[bold]{r.run_id}[/]{named}  {escape(r.model)} on {escape(r.benchmark)}"
              + template_words(m)
              + ("  (resumed)" if r.resumed else "")
              + ("  (already finished: the same run, from the store)" if r.already_finished else ""),
              highlight=False)
    print_passk(r.pass_at_k)
    out.print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(r.status_counts.items())), highlight=False)
    if m is not None and m.generated_on:
        first = m.platform.get("cpu") or m.platform.get("machine") or "?"
        others = "; ".join(escape(str(p.get("cpu") or p)) for p in m.generated_on)
        out.print(f"[yellow]answers of this run were generated on more than one machine: {escape(str(first))} "
                  f"(where it started), then {others}. A local model's greedy answers can differ between "
                  "processors (README, \"The machine's arithmetic\"); the manifest lists them (generated_on).[/]",
                  highlight=False)
    print_unscorable(r.unscorable_problems or {})
    if r.truncated:
        out.print(f"[yellow]{r.truncated} sample(s) hit the token limit of {r.max_tokens} (truncated)[/]",
                  highlight=False)
    print_echoes(r.echoes)
    if r.token_limit_note:
        out.print(f"[yellow]{escape(r.token_limit_note)}[/]", highlight=False)
    if isinstance(r, RescoreResult):
        copied = f", {r.copied} without a program copied" if r.copied else ""
        out.print(f"rescored from {r.rescored_from} under {limits_text(m.sandbox_limits)}: "
                  f"{r.re_executed} programs re-executed{copied}; {r.wall_seconds} s in all"
                  + engine_text(m.execution), highlight=False)
        return
    tps = f", {r.tokens_per_second} tokens/s" if r.tokens_per_second else ""
    out.print(f"generated {r.generated}, from cache {r.cached}; {r.wall_seconds} s in all{tps}"
              + engine_text(m.execution), highlight=False)


def limits_text(limits: dict[str, Any] | None) -> str:
    """``3 s CPU, 12 s wall, 2048 MiB`` from a manifest's ``sandbox_limits``."""
    if not limits:
        return "unknown limits"
    return (f"{limits.get('cpu_seconds'):g} s CPU, {limits.get('wall_seconds'):g} s wall, "
            f"{int(limits.get('memory_bytes', 0)) >> 20} MiB")


def print_echoes(echoes: Mapping[str, int] | None) -> None:
    """Say how many answers repeated the statement, when that explains truncated or empty answers.

    ``echoes`` is a summary's (:attr:`~coderank.record.RunSummary.echoes`; None or empty for runs before it).
    """
    echoes = echoes or {}
    # Only these: a chat prompt that shows the problem as code asks for its docstring back, so most complete
    # answers repeat the statement, and saying so of all of them would only alarm.
    if echoes.get("truncated") or echoes.get("no_code"):
        out.print(f"[yellow]of the answers that hit the token limit, {echoes['truncated']} repeated at least half of "
                  f"the statement (echo); of those with no code, {echoes['no_code']}[/]", highlight=False)


def verify(run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")], store: StoreOpt = None,
           workers: Annotated[int | None, typer.Option(help="Sandbox workers.", show_default=False)] = None,
           json_out: JsonOpt = False, ray: RayOpt = None) -> None:
    """Re-execute a stored run's programs and confirm every verdict, the score, and every stored hash."""
    from coderank.evaluation import verify_run

    with progress(sys.stderr.isatty(), "verify") as bar:
        result = verify_run(run, store, workers, progress=phase_progress(bar), ray=ray)
    if json_out:
        print(json.dumps(result.to_json(), indent=2))
    elif result.ok:
        out.print(f"[green]verified[/] {result.run_id}: {result.re_executed} programs re-executed, every "
                  "verdict, the score and every hash match", highlight=False)
    else:
        for m in result.mismatches[:20]:
            out.print(f"[red]mismatch[/] {escape(m['task_id'])} #{m['sample_index']}: stored {m['stored']}, "
                      f"now {m['now']} {escape(m['detail'][:100])}", highlight=False)
        for h in result.hash_problems[:20]:
            out.print(f"[red]hash[/] {h}", highlight=False)
        for s in result.score_problems:
            out.print(f"[red]score[/] {escape(s)}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


def export(run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
           output: Annotated[Path, typer.Option("--out", "-o", help="JSONL file to write.")],
           fmt: Annotated[str, typer.Option("--format", help="human-eval ({task_id, completion}) or evalplus "
                                            "({task_id, solution}).")] = "human-eval",
           store: StoreOpt = None) -> None:
    """Export a run's samples as human-eval or EvalPlus JSONL, to score them with other harnesses."""
    from coderank.problems import load_benchmark
    from coderank.store import SCORED, Store

    if fmt not in ("human-eval", "evalplus"):
        raise UsageError(f"unknown --format {fmt!r}", "use human-eval or evalplus")
    with Store(store) as db:
        check_output_file(output, [db.path])
        info = db.get_run(run, kinds=SCORED)
        bench = load_benchmark(str(info.run_manifest.benchmark.name))
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
    ray: RayOpt = None,
) -> None:
    """Score a stored run's programs again under other sandbox limits, as a new run (nothing is generated).

    The new run has its own id (the same command gives the same one) and its manifest records which run it was rescored from and under which limits; the original stays as it is. Answers without code are copied.

    Example: coderank rescore run-83a2ed5751ca --timeout 10
    """  # noqa: E501
    from coderank.evaluation import RescoreConfig
    from coderank.evaluation import rescore as rescore_run

    config = RescoreConfig(run=run, cpu_seconds=timeout, wall_seconds=wall_timeout, memory_mb=memory_mb,
                           workers=workers, store=store, out=out_dir, name=name, ray=ray)
    with progress(sys.stderr.isatty(), "rescore") as bar:
        result = rescore_run(config, progress=phase_progress(bar))
    if json_out:
        print(json.dumps({k: v for k, v in result.to_json().items() if k != "per_problem"}, indent=2))
        return
    print_result(result)
