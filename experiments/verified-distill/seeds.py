"""Compare the arms over every training run there is: each seed's duels, and the arms averaged over their runs.

One training of the student is one draw: CPU training is not bit-reproducible, and the seed picks the LoRA
initialisation and the order of the rows. This reads every evaluated training of arms A and B (the published
seed-0 runs in results/a-*, the replication's in replication-2026-12-07/, and results/ARM-seedN-* written by
`SEED=N run.sh eval-ARM`) with the base student C, from the summaries alone (no store needed), and prints

- each training run's problems solved (HumanEval, MBPP test, both) and its duels with C and with the other arm's
  run of the same seed: exact McNemar on the 664 paired problems, as `coderank duel` computes it;
- each arm averaged over its runs (a problem counts the fraction of runs that solved it) against C and against
  the other arm: the mean difference in points with a 95% paired-bootstrap interval over problems, and a paired
  sign-flip p-value over problems. Averaging over runs asks about the recipe, not one lucky adapter; with a
  handful of runs it still treats those runs as given, so the per-seed spread is printed beside it.

    python experiments/verified-distill/seeds.py                   # a table (runs with both benchmarks)
    python experiments/verified-distill/seeds.py --benchmarks mbpp  # MBPP's 500 test problems only
    python experiments/verified-distill/seeds.py --json            # and results/seeds[-mbpp].json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from coderank.scoring.paired import mcnemar_exact, paired_bootstrap_diff, sign_flip_p

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["humaneval", "mbpp"]  # narrowed by --benchmarks
FLIPS = 20000  # random sign assignments of the sign-flip test (its smallest p is 1 / (FLIPS + 1))


def solved(folder: Path) -> dict[str, bool]:
    """Problem id -> solved (greedy: one sample per problem) from a run folder's summary.json."""
    summary = json.loads((folder / "summary.json").read_text())
    return {task: cell["c"] > 0 for task, cell in summary["per_problem"].items()}


def training_runs(arm: str) -> list[tuple[str, dict[str, Path]]]:
    """Every evaluated training of an arm: (label, benchmark -> run folder), those with both benchmarks only."""
    found: list[tuple[str, dict[str, Path]]] = []
    candidates = [("seed 0 (published, 140 rows)", lambda b: HERE / "results" / f"{arm}-{b}"),
                  ("seed 0 (replication, 139 rows)", lambda b: HERE / "replication-2026-12-07" / f"eval-{arm}-{b}")]
    seeds = sorted({int(p.name.split("-seed")[1].split("-")[0]) for p in (HERE / "results").glob(f"{arm}-seed*-*")})
    for seed in seeds:
        candidates.append((f"seed {seed} ({_dtype(arm, seed)}140 rows)",
                           lambda b, s=seed: HERE / "results" / f"{arm}-seed{s}-{b}"))
    for label, where in candidates:
        folders = {b: where(b) for b in BENCHMARKS}
        if all((f / "summary.json").is_file() for f in folders.values()):
            found.append((label, folders))
    return found


def _dtype(arm: str, seed: int) -> str:
    """The training dtype its manifest records, as a label prefix ("fp32, "); empty when not committed."""
    try:
        manifest = json.loads((HERE / f"arm-{arm}-seed{seed}" / "manifest.json").read_text())
        return f"{manifest['hyperparameters']['dtype']}, "
    except (OSError, ValueError, KeyError):
        return ""


def pooled(folders: dict[str, Path]) -> dict[str, bool]:
    """One training run's verdicts on both benchmarks together (the 664 paired problems)."""
    out: dict[str, bool] = {}
    for b in BENCHMARKS:
        out.update(solved(folders[b]))
    return out


def duel(x: dict[str, bool], y: dict[str, bool]) -> dict[str, float]:
    """Discordant counts on the common problems and the exact McNemar p, as `coderank duel` reports them."""
    ids = sorted(x.keys() & y.keys())
    x_only = sum(x[t] and not y[t] for t in ids)
    y_only = sum(y[t] and not x[t] for t in ids)
    return {"problems": len(ids), "first_only": x_only, "second_only": y_only, "p": mcnemar_exact(x_only, y_only)}


def averaged(runs: list[dict[str, bool]], ids: list[str]) -> np.ndarray:
    """Per problem, the fraction of the runs that solved it."""
    return np.array([np.mean([r[t] for r in runs]) for t in ids], dtype=np.float64)


def main() -> None:
    """Print the table and the averaged comparisons."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="also write results/seeds.json")
    parser.add_argument("--benchmarks", nargs="+", choices=("humaneval", "mbpp"), default=["humaneval", "mbpp"],
                        help="compare on these only; a training run is counted where it has all of them")
    args = parser.parse_args()
    BENCHMARKS[:] = args.benchmarks
    total = sum({"humaneval": 164, "mbpp": 500}[b] for b in BENCHMARKS)

    c_runs = training_runs("c")[:1]  # the base student has no training: its published run
    if not c_runs:
        raise SystemExit("no base-student run in results/c-humaneval and results/c-mbpp: run `run.sh duels` first")
    c = pooled(c_runs[0][1])
    arms = {arm: [(label, pooled(f), f) for label, f in training_runs(arm)] for arm in ("a", "b")}
    report: dict[str, object] = {"runs": [], "averaged": {}}

    heads = {"humaneval": "HumanEval", "mbpp": "MBPP test"}
    print(f"| arm | training run | {' | '.join(heads[b] for b in BENCHMARKS)} | solved of {total} | vs C | "
          "vs the other arm, same run |")
    print("|---|---|" + "---:|" * (len(BENCHMARKS) + 1) + "---|---|")
    n_c = {b: sum(solved(c_runs[0][1][b]).values()) for b in BENCHMARKS}
    print(f"| C | base student | {' | '.join(str(n_c[b]) for b in BENCHMARKS)} | {sum(c.values())} | | |")
    for arm, other in (("a", "b"), ("b", "a")):
        for label, run, folders in arms[arm]:
            per = {b: sum(solved(folders[b]).values()) for b in BENCHMARKS}
            vs_c = duel(run, c)
            twin = next((r for lab, r, _ in arms[other] if lab == label), None)
            vs_other = duel(run, twin) if twin is not None else None
            cell = (f"{vs_other['first_only']} : {vs_other['second_only']}, p = {vs_other['p']:.2g}"
                    if vs_other else "")
            print(f"| {arm.upper()} | {label} | {' | '.join(str(per[b]) for b in BENCHMARKS)} | {sum(run.values())} | "
                  f"{vs_c['first_only']} : {vs_c['second_only']}, p = {vs_c['p']:.2g} | {cell} |")
            report["runs"].append({"arm": arm, "run": label, "solved": per, "vs_c": vs_c,  # type: ignore[union-attr]
                                   "vs_other_arm": vs_other,
                                   "run_ids": {b: json.loads((folders[b] / "summary.json").read_text())["run_id"]
                                               for b in BENCHMARKS}})

    ids = sorted(c)
    c_vals = np.array([float(c[t]) for t in ids])
    means = {arm: averaged([r for _, r, _ in arms[arm]], ids) for arm in arms if arms[arm]}
    print(f"\nEach arm averaged over its training runs (points of pass@1 on the {total} problems; 95% paired-bootstrap "
          "interval; sign-flip p over problems):")
    pairs = [(a, "c") for a in means] + ([("a", "b")] if "a" in means and "b" in means else [])
    for first, second in pairs:
        x = means[first]
        y = c_vals if second == "c" else means[second]
        diff, low, high = paired_bootstrap_diff(x, y)
        p = sign_flip_p(x, y, resamples=FLIPS)
        shown = f"p = {p:.2g}" if p > 1.5 / (FLIPS + 1) else f"p <= {p:.1g} (no random sign flip of {FLIPS} reached it)"
        counts = [sum(r.values()) for _, r, _ in arms[first]]
        print(f"  {first.upper()} ({len(arms[first])} runs, solved {min(counts)}-{max(counts)}) vs {second.upper()}: "
              f"{100 * diff:+.1f} pts [{100 * low:+.1f}, {100 * high:+.1f}], {shown}")
        report["averaged"][f"{first}-{second}"] = {  # type: ignore[index]
            "runs": len(arms[first]), "diff": diff, "low": low, "high": high, "p": p}
    if args.json:
        name = "seeds.json" if len(BENCHMARKS) == 2 else f"seeds-{BENCHMARKS[0]}.json"
        (HERE / "results" / name).write_text(json.dumps({"benchmarks": BENCHMARKS, **report}, indent=1) + "\n")
        print(f"\n-> {HERE / 'results' / name}")


if __name__ == "__main__":
    main()
