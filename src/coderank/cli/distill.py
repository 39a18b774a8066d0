"""CLI command ``distill``: SFT data from a teacher model, kept for what its execution showed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coderank.cli._common import (
    ApiKeyEnvOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    JsonOpt,
    MaxRetriesOpt,
    ServedModelOpt,
    StoreOpt,
    ThreadsOpt,
    escape,
    out,
    phase_progress,
    print_passk,
    progress,
    when,
)
from coderank.execution.sandbox import Limits
from coderank.models.backends import BackendOptions

if TYPE_CHECKING:
    from coderank.distill import DistillResult


def distill_cmd(
    benchmark: Annotated[str | None, typer.Option("--benchmark", "-b", help="Problems with trusted tests: mbpp-train, "
                                                  "mbpp-valid, classic, or a problem file. Answers are judged by "
                                                  "these tests; rows are labelled verified. HumanEval and MBPP's "
                                                  "test split (mbpp) are refused.", show_default=False)] = None,
    instructions: Annotated[Path | None, typer.Option("--instructions", "-i", help="Instructions without tests "
                                                      "(what coderank evol writes, or a seed file): the teacher "
                                                      "also writes assert tests; rows are labelled self-verified.",
                                                      show_default=False)] = None,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="JSONL to write (id, instruction, output, label, "
                                           "evidence; what coderank train reads); DATA.manifest.json goes beside "
                                           "it.")] = Path("distill.jsonl"),
    model: Annotated[str, typer.Option("--model", "-m", help="The teacher: any model spec coderank eval -m "
                                       "accepts (default, gguf:PATH, lora:DIR, hf:PATH, openai:MODEL with "
                                       "--base-url, ...).")] = "default",
    samples: Annotated[int, typer.Option("--samples", "-k", help="Answers sampled per problem.")] = 10,
    keep: Annotated[int | None, typer.Option("--keep", help="Rows per problem at most (default 1): the passing "
                                             "answers ranked first by a seeded hash of their sample index.",
                                             show_default=False)] = None,
    select: Annotated[str, typer.Option("--select", help="verified: rows from answers that passed. unverified: "
                                        "rows from any answer with code, passing or not (the control arm of an "
                                        "experiment; same ranking).")] = "verified",
    match: Annotated[Path | None, typer.Option("--match", help="Give each problem as many rows as the data set of "
                                               "this manifest has (made from the same samples): --select "
                                               "unverified --match verified.manifest.json is the control arm with "
                                               "the same instructions and row count.", show_default=False)] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (0 only with -k 1).")] = 0.7,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling.")] = 0.95,
    max_tokens: Annotated[int, typer.Option(help="Token limit per answer.")] = 512,
    seed: Annotated[int, typer.Option(help="Answer i of a problem uses seed + i; the ranking is seeded with it "
                                      "too.")] = 0,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems or instructions.",
                                              show_default=False)] = None,
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="Only this task or instruction id "
                                                    "(repeatable).")] = None,
    prompt_template: Annotated[str | None, typer.Option(
        "--prompt-template", help="How -b problems are asked (as in coderank eval; default: the teacher's eval "
        "default, chat for instruct models).", show_default=False)] = None,
    output_form: Annotated[str, typer.Option("--output-form", help="program: a row's output is the code that ran, "
                                             "in a python block. answer: the teacher's whole reply (chat "
                                             "templates).")] = "program",
    decontam: Annotated[list[str] | None, typer.Option("--decontam", help="Benchmark to decontaminate against "
                                                       "(repeatable; default: humaneval and mbpp, the reported test "
                                                       "sets; a name or problem file).", show_default=False)] = None,
    no_decontam: Annotated[bool, typer.Option("--no-decontam", help="Skip decontamination (recorded in the "
                                              "manifest; not advised).")] = False,
    embeddings: Annotated[bool, typer.Option("--embeddings/--no-embeddings", help="Also use the embedding "
                                             "detector of `coderank contam` (needs coderank\\[rigor]).")] = True,
    base_url: BaseUrlOpt = None,
    served_model: ServedModelOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 4,
    max_retries: MaxRetriesOpt = 5,
    threads: ThreadsOpt = None,
    timeout: Annotated[float, typer.Option(help="Sandbox CPU seconds per program (for self-written tests: the "
                                           "solution and its tests together).")] = 3.0,
    workers: Annotated[int | None, typer.Option(help="Sandbox workers (default: one per core).",
                                                show_default=False)] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make SFT data from a teacher model, keeping answers for what running them showed.

    With -b (problems with trusted tests, e.g. mbpp-train) the teacher answers each problem k times through coderank eval (an ordinary eval run in the store), each answer runs against the problem's tests in the sandbox, and up to --keep passing answers per problem become rows labelled verified. With --instructions (no tests, e.g. coderank evol output) the teacher writes a solution and assert tests; both run in the sandbox, the tests must also reject mutants of the solution (returning None, raising, returning the input, returning True), and passing rows are labelled self-verified. Rows are chosen by a seeded hash of the sample index, decontaminated against HumanEval and MBPP's test split, and carry their evidence (task id, sample index, verdict, samples run). The manifest beside the data records the teacher, k, decoding, seed, per-problem pass counts, what decontamination dropped and the data's sha256. Killed? Run the same command again: every call and verdict is stored; choosing differently (--keep, --select, --match) generates nothing.

    Examples: coderank distill -b mbpp-train -k 10 -o verified.jsonl | coderank distill -b mbpp-train -k 10 --select unverified --match verified.manifest.json -o unverified.jsonl | coderank distill --instructions evol.jsonl -k 5 -o self.jsonl
    """  # noqa: E501
    from coderank.distill import DECONTAM_DEFAULT, DistillConfig, distill

    config = DistillConfig(
        out=out_path, benchmark=benchmark, instructions=instructions, model=model, k=samples, keep=keep,
        select=select, match=match, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed,
        limit=limit, tasks=tuple(tasks or ()), template=prompt_template, output_form=output_form,
        decontam=() if no_decontam else tuple(decontam or DECONTAM_DEFAULT), embeddings=embeddings,
        limits=Limits(cpu_seconds=timeout), workers=workers,
        backend=BackendOptions(base_url=base_url, api_key_env=api_key_env, concurrency=concurrency, threads=threads,
                               max_retries=max_retries, served_model=served_model),
        store=store,
    )
    with progress(sys.stderr.isatty() and not json_out, "distill", "") as bar:
        result = distill(config, progress=phase_progress(bar))
    if json_out:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return
    print_report(result)


def print_report(r: DistillResult) -> None:
    """What a distillation made: the teacher's pass rates, the rows, decontamination (also for `coderank show`)."""
    m = r.manifest
    how = f"keep {m.keep}" if m.keep else f"rows as in {(m.match or {}).get('path')}"
    out.print(f"[bold]{r.run_id}[/]  {escape(r.model)} on {escape(r.source)} "
              f"({r.tests} tests), k={m.k}, {escape(how)}, select {r.select}"
              + ("  (resumed)" if r.resumed else ""), highlight=False)
    if r.pass_at_k:
        print_passk(r.pass_at_k)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(r.status_counts.items()))
    rate = f" ({r.pass_rate:.0%})" if r.pass_rate is not None else ""
    out.print(f"samples {r.samples}: passed {r.passed}{rate}; statuses: {counts or '-'}", highlight=False)
    out.print(f"{r.problems_with_pass} of {r.problems} problems have a passing answer; "
              f"{r.rows} rows ({r.label}) from {r.problems_with_rows} problems -> "
              f"{escape(r.out)} (manifest {escape(r.manifest_path)})", highlight=False)
    against = ", ".join(b["name"] for b in m.decontam["benchmarks"]) or "nothing (--no-decontam)"
    lost = len(m.decontam["problems_lost"])
    out.print(f"decontaminated against {escape(against)}: {r.leaked} candidate(s) dropped"
              + (f", {lost} problem(s) got fewer rows for it" if lost else ""), highlight=False)
    if r.truncated:
        out.print(f"[yellow]{r.truncated} answer(s) hit --max-tokens (truncated)[/]", highlight=False)
    if not r.rows:
        out.print("[yellow]no rows: no answer was eligible (see the statuses above)[/]", highlight=False)
    tps = r.tokens_per_second
    made = (f"{r.generated} answers generated, {r.cached} from the cache"
            if r.generated or r.cached else "nothing generated or run (the samples were complete)")
    out.print(made + (f", {tps} tokens/s" if tps else "") + f"; {r.wall_seconds:.0f} s; samples run "
              f"{r.samples_run}", highlight=False)


def show_run(info: Any, json_out: bool) -> None:
    """``coderank show`` of a distill run: its manifest and what it made."""
    if json_out:
        print(json.dumps({"run_id": info.run_id, "status": info.status, "manifest": info.manifest,
                          "summary": info.summary}, indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{info.run_id}[/] (distill, {info.status}, created {when(info.created_at)})", highlight=False)
    from coderank.distill import DistillManifest, DistillResult

    m = DistillManifest.from_dict(info.manifest)
    out.print(escape(f"teacher: {m.teacher['spec']}  {json.dumps(m.teacher['identity'])}"), highlight=False)
    out.print(f"source: {escape(str(m.source.name))} ({m.source.problems} of {m.source.of}, {m.source.sha256})  "
              f"decoding: {json.dumps(m.decoding)}  seed: {m.seed}", highlight=False)
    if info.summary:  # the stored summary is the result less its manifest
        print_report(DistillResult.from_dict({**info.summary, "manifest": info.manifest}))
