"""CLI command ``augment``: derive a benchmark with harder tests (generated inputs, mutant-selected)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from coderank.cli._common import JsonOpt, RayOpt, err, escape, out, phase_progress, progress
from coderank.cli._tables import IdTable


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def augment(
    benchmark: Annotated[str, typer.Argument(help="Benchmark name (humaneval) or a JSONL problem file.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Problem file (JSONL) to write: every problem, "
                                           "with the same task ids; augmented ones carry the kept new tests.",
                                           show_default=False)],
    seed: Annotated[int, typer.Option(help="Seed of the input generator and the mutant sample.")] = 0,
    per_problem: Annotated[int, typer.Option("--per-problem", help="New inputs generated per problem, before the "
                                             "contract filter and the reduction.")] = 50,
    mutants: Annotated[int, typer.Option(help="Mutants of the canonical solution per problem (a seeded sample "
                                         "of all sites).")] = 30,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(help="Sandbox workers (default: one per core).",
                                                show_default=False)] = None,
    timeout: Annotated[float, typer.Option(help="CPU seconds per sandboxed run of the canonical solution.")] = 2.0,
    mutant_timeout: Annotated[float, typer.Option(help="CPU seconds per run of a mutant (raised to 5x the "
                                                  "slowest canonical solution); a mutant past it is killed.")] = 0.5,
    contracts: Annotated[Path | None, typer.Option(
        "--contracts", help="EvalPlus HumanEval+ release file (HumanEvalPlus.jsonl[.gz]) whose hand-written input "
        "contracts also filter the new inputs (the canonical solution runs with the task's contract first).",
        show_default=False)] = None,
    full_suite: Annotated[bool, typer.Option("--full-suite", help="Keep every valid new input as a test instead "
                                             "of the set-cover reduction (many more tests; slower to score).")
                          ] = False,
    skip: Annotated[list[str] | None, typer.Option(
        "--skip", help="Keep this task as it is (repeatable): e.g. a problem whose docstring leaves ties open, "
        "where the canonical solution's choice is only one right answer.", show_default=False)] = None,
    ray: RayOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Derive harder tests: generated inputs whose expected outputs come from the canonical solution.

    Per problem: the literal inputs of its tests are mutated type-aware (seeded), the canonical solution runs on them in the sandbox, inputs it rejects (raises, times out, returns another type) are dropped, and greedy set cover keeps the fewest new tests that kill every mutant of the canonical solution the new inputs kill beyond the original tests. The table shows tests and mutation score (share of mutants caught) before and after.

    The canonical solution is the oracle: where a docstring leaves several answers open (ties, order), a new test may demand the canonical one; see a failure's detail (`coderank show RUN --json`) and --skip such problems. Preconditions stated only in prose are invisible to the filter unless --contracts gives EvalPlus's.

    Evaluate on it like any benchmark (`coderank eval -b OUT.jsonl`); `coderank board` then shows a run's drop against the same model's run on the source benchmark.
    """  # noqa: E501
    from coderank.paths import check_output_file
    from coderank.problems import load_benchmark
    from coderank.problems.evalplus import read_contracts
    from coderank.rigor.augment import augment_benchmark
    from coderank.rigor.perturb import write_problem_file

    check_output_file(out_path, [benchmark.removeprefix("evalplus:"), *([contracts] if contracts else [])])
    bench = load_benchmark(benchmark)
    contract_map = read_contracts(contracts) if contracts is not None else None
    with progress(sys.stderr.isatty(), "augment") as bar:
        result = augment_benchmark(bench, seed=seed, per_problem=per_problem, mutants=mutants, workers=workers,
                                   cpu_seconds=timeout, mutant_cpu_seconds=mutant_timeout, limit=limit,
                                   contracts=contract_map, skip=tuple(skip or ()), reduce=not full_suite,
                                   progress=phase_progress(bar), ray=ray)
    write_problem_file(result.benchmark, out_path)
    if json_out:
        doc = result.to_json()
        doc["out"] = str(out_path)
        print(json.dumps(doc, indent=2))
        return
    table = IdTable("task", "tests before", "after", "new valid", "mutants", "score before", "after", "status",
                    ids=("task",), right=("tests before", "after", "new valid", "mutants", "score before"),
                    title=f"{escape(bench.name)} augmented (seed {seed}) -> {escape(str(out_path))}",
                    title_justify="left")
    for r in result.records:
        status = r.status if not r.reason else f"{r.status}: {r.reason}"
        table.add_row(escape(r.task_id), str(r.tests_before), str(r.tests_after), f"{r.valid}/{r.generated}",
                      str(r.mutants), _score(r.score_before), _score(r.score_after), escape(status))
    t = result.totals()
    table.add_section()
    table.add_row("total", str(t["tests_before"]), str(t["tests_after"]), f"{t['valid']}/{t['generated']}",
                  str(t["mutants"]), _score(t["score_before"]), _score(t["score_after"]),
                  f"{t['augmented']} augmented, {t['unchanged']} unchanged, {t['failed']} failed")
    out.print(table)
    dropped = ", ".join(f"{k} {v}" for k, v in t["filtered"].items()) or "none"
    out.print(f"new inputs dropped by the contract filter: {dropped}", highlight=False)
    out.print(f"mutation score {_score(t['score_before'])} -> {_score(t['score_after'])} "
              f"({t['killed_before']} -> {t['killed_after']} of {t['mutants']} mutants killed; some mutants are "
              f"equivalent to the canonical solution and cannot be killed)", highlight=False)
    out.print(f"{len(result.benchmark)} problems written to {escape(str(out_path))} (hash "
              f"{result.benchmark.sha256[:19]}…) in {result.wall_seconds:.0f} s", highlight=False)
    if t["failed"]:
        err.print(f"[yellow]warning:[/] {t['failed']} problem(s) kept their original tests: the canonical "
                  "solution failed the augmented ones (listed above)", highlight=False)
    sys.stdout.flush()
