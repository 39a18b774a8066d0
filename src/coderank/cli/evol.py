"""CLI command ``evol``: Evol-Instruct data generation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from coderank.cli._common import (
    ApiKeyEnvOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    JsonOpt,
    ServedModelOpt,
    StoreOpt,
    ThreadsOpt,
    escape,
    out,
    phase_progress,
    progress,
)
from coderank.execution.sandbox import Limits
from coderank.models.backends import BackendOptions

if TYPE_CHECKING:
    from coderank.evol.evolution import EvolResult


def evol(
    seeds: Annotated[Path | None, typer.Argument(help="Seed instructions: our JSONL ({id, instruction, input}), "
                                                 "Alpaca-shaped JSONL, or a Code Alpaca / Alpaca JSON array. "
                                                 "Default: the 139 bundled seeds.", show_default=False)] = None,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="JSONL to write (id, instruction, output, round, "
                                           "method, parent_id, seed_id, source); DATA.manifest.json goes beside "
                                           "it.")] = Path("evol.jsonl"),
    model: Annotated[str, typer.Option("--model", "-m", help="default (embedded GGUF), gguf:PATH, hf:PATH or "
                                       "openai:MODEL (with --base-url for vLLM, llama.cpp server, ...).")
                     ] = "default",
    rounds: Annotated[int, typer.Option("--rounds", "-r", help="Evolution rounds.")] = 1,
    include_seeds: Annotated[bool, typer.Option("--include-seeds", help="Also answer the seeds themselves and keep "
                                                "them as round-0 rows (WizardCoder trained on seeds + evolutions)."
                                                )] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N seeds.", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seeds the method draws and every call's sampling.")] = 0,
    methods: Annotated[str | None, typer.Option(help="Comma-separated subset of: constraints, specific, reasoning, "
                                                "misdirection, complexity (default: all, complexity rarely).",
                                                show_default=False)] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature of evolution calls.")] = 0.7,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling of evolution calls.")] = 0.95,
    answer_temperature: Annotated[float, typer.Option(help="Temperature of answer calls (0 = greedy).")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Token limit of an evolution call (a cut-off instruction is "
                                            "dropped as overlong).")] = 384,
    answer_max_tokens: Annotated[int, typer.Option(help="Token limit of an answer call (a cut-off answer is "
                                                   "dropped).")] = 768,
    max_chars: Annotated[int, typer.Option(help="Longest evolved instruction kept (characters).")] = 2000,
    decontam: Annotated[list[str] | None, typer.Option("--decontam", help="Benchmark to decontaminate against "
                                                       "(repeatable; default: humaneval and mbpp, the reported "
                                                       "test sets; a name or problem file).",
                                                       show_default=False)] = None,
    no_decontam: Annotated[bool, typer.Option("--no-decontam", help="Skip decontamination (recorded in the "
                                              "manifest; not advised).")] = False,
    embeddings: Annotated[bool, typer.Option("--embeddings/--no-embeddings", help="Also use the embedding "
                                             "detector of `coderank contam` (needs coderank\\[rigor]).")] = True,
    base_url: BaseUrlOpt = None,
    served_model: ServedModelOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    concurrency: ConcurrencyOpt = 4,
    threads: ThreadsOpt = None,
    timeout: Annotated[float, typer.Option(help="Sandbox CPU seconds for running an answer's code.")] = 5.0,
    workers: Annotated[int | None, typer.Option(help="Sandbox workers (default: one per core).",
                                                show_default=False)] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Evolve code instructions (Evol-Instruct, WizardCoder recipe), answer them, keep what passes the checks.

    Each round draws one evolution method per instruction (seeded), asks the model for the harder instruction, answers it in a separate call, runs the answer's code with its own examples in the sandbox, and decontaminates against HumanEval and MBPP's test split. Dropped attempts are stored with their reason and their parent goes back into the pool. Killed? Run the same command again: every call is cached, nothing is lost or duplicated.

    Examples: coderank evol --limit 20 --rounds 2 -o evol.jsonl | coderank evol my_seeds.json -m openai:qwen --base-url http://127.0.0.1:8080/v1 --concurrency 8
    """  # noqa: E501
    from coderank.errors import UsageError
    from coderank.evol.evolution import DECONTAM_DEFAULT, EvolConfig, evolve
    from coderank.paths import check_output_file

    check_output_file(out_path, [seeds] if seeds else [])
    if methods is not None and not methods.strip(" ,"):
        raise UsageError("--methods is empty", "name at least one method, or leave --methods out for all of them")
    config = EvolConfig(
        out=out_path, model=model, seeds=seeds, rounds=rounds, include_seeds=include_seeds, limit=limit, seed=seed,
        methods=tuple(m.strip() for m in (methods or "").split(",") if m.strip()),
        temperature=temperature, top_p=top_p, answer_temperature=answer_temperature, max_tokens=max_tokens,
        answer_max_tokens=answer_max_tokens, max_chars=max_chars,
        decontam=() if no_decontam else tuple(decontam or DECONTAM_DEFAULT), embeddings=embeddings,
        limits=Limits(cpu_seconds=timeout), workers=workers,
        backend=BackendOptions(base_url=base_url, api_key_env=api_key_env, concurrency=concurrency, threads=threads,
                               served_model=served_model),
        store=store,
    )
    with progress(sys.stderr.isatty() and not json_out, "evol", "calls") as bar:
        result = evolve(config, progress=phase_progress(bar))
    if json_out:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return
    print_report(result)


def print_report(r: EvolResult) -> None:
    """The per-round table and totals of an evolution run (also used by `coderank show`)."""
    table = Table(title=f"evol {r.run_id} ({escape(r.model)})", title_justify="left", show_edge=False,
                  header_style="bold")
    for col in ("round", "attempts", "kept", "dropped by reason", "seconds"):
        table.add_column(col, justify="left" if col == "dropped by reason" else "right")
    for rep in r.rounds:
        reasons = ", ".join(f"{k} {v}" for k, v in rep["dropped"].items()) or "-"
        table.add_row(str(rep["round"]), str(rep["attempts"]), str(rep["kept"]), reasons, f"{rep['seconds']:.0f}")
    out.print(table)
    against = ", ".join(b["name"] for b in r.manifest.decontam["benchmarks"]) or "nothing (--no-decontam)"
    out.print(f"{r.rows} rows -> {escape(r.out)} (manifest {escape(r.manifest_path)}); "
              f"decontaminated against {escape(against)}: {r.leaked} leaked rows dropped", highlight=False)
    tps = r.tokens_per_second
    out.print(f"{r.generated} calls generated, {r.cached} from the cache"
              + (f", {tps} tokens/s" if tps else "") + f"; {r.wall_seconds:.0f} s"
              + (" (resumed)" if r.resumed else ""), highlight=False)
