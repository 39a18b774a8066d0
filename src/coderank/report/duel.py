"""Head-to-head comparisons of stored runs, with paired statistics instead of bare tallies.

Two runs: on the problems both ran, the tally (both / A only / B only / neither) for one-sample runs with
an exact McNemar test, the difference in pass@1 with a paired-bootstrap interval over problems, for
sampled runs the probability that A's per-problem pass rate beats B's, and a plain-language verdict that
says when the data cannot separate the two. Several runs: a Bradley-Terry ranking with bootstrap intervals
and the probability each model ranks first.

Runs on different benchmark data (different hashes) are refused: their problems are not the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coderank.errors import UsageError
from coderank.scoring import (
    bradley_terry_bootstrap,
    mcnemar_exact,
    paired_bootstrap_diff,
    paired_counts,
    paired_pass_rates,
    prob_a_better,
    sign_flip_p,
    verdict,
)
from coderank.store import SCORED, RunInfo, Store

MIN_RANKING_PROBLEMS = 10  # below this, a duel or a ranking is printed with a caution


def few_problems_caution(problems: int, what: str) -> str | None:
    """The caution for a comparison on fewer than :data:`MIN_RANKING_PROBLEMS` common problems (None otherwise)."""
    if problems >= MIN_RANKING_PROBLEMS:
        return None
    return f"only {problems} common problem(s): too few for {what} to mean much"


def _bench_sha(run: RunInfo) -> str:
    return str(run.run_manifest.benchmark.sha256)


def _check_same_benchmark(runs: list[RunInfo]) -> None:
    if len(set(map(_bench_sha, runs))) > 1:
        raise UsageError(
            "these runs used different benchmark data: " + ", ".join(
                f"{r.run_id} ({r.benchmark}, {_bench_sha(r)[:19]})" for r in runs),
            "compare runs of the same benchmark; `coderank board` lists runs per benchmark",
        )


def _side(store: Store, ref: str) -> list[RunInfo]:
    """The runs one side of a duel pools: ``RUN`` or ``RUN1+RUN2+...``, one run per benchmark, one model.

    Raises:
        UsageError: unknown runs, two runs of the same benchmark data, or runs of different models.
    """
    runs = [store.get_run(part, kinds=SCORED) for part in ref.split("+")] if "+" in ref else [
        store.get_run(ref, kinds=SCORED)]
    shas = [_bench_sha(r) for r in runs]
    if len(set(shas)) != len(shas):
        raise UsageError(f"{ref} pools two runs of the same benchmark data ({', '.join(r.run_id for r in runs)})",
                         "join with + runs of different benchmarks, e.g. a HumanEval run + an MBPP run")
    if len({r.model for r in runs}) > 1:
        raise UsageError(f"{ref} pools runs of different models ({', '.join(sorted({r.model for r in runs}))})",
                         "a side of a duel is one model: pool its runs on different benchmarks")
    return runs


def _pooled_counts(store: Store, runs: list[RunInfo]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for run in runs:
        part = store.per_problem_counts(run.run_id)
        clash = set(part) & set(counts)
        if clash:
            raise UsageError(f"{run.run_id} has task ids another pooled run has too (e.g. {min(clash)})",
                             "pool runs of benchmarks whose task ids differ")
        counts.update(part)
    return counts


def duel(store: Store, ref_a: str, ref_b: str, *, seed: int = 0) -> dict[str, Any]:
    """Compare two runs on their common problems.

    A side may pool one model's runs on several benchmarks, ``RUN1+RUN2`` (e.g. HumanEval + MBPP: 664 paired
    problems instead of 164); both sides must then pool runs of the same benchmarks, paired by benchmark data.

    Raises:
        UsageError: unknown runs, different benchmark data, or no common problems.
    """
    side_a, side_b = _side(store, ref_a), _side(store, ref_b)
    if len(side_a) > 1 or len(side_b) > 1:
        if sorted(map(_bench_sha, side_a)) != sorted(map(_bench_sha, side_b)):
            raise UsageError(
                f"the two sides pool different benchmarks: {'+'.join(r.benchmark for r in side_a)} vs "
                f"{'+'.join(r.benchmark for r in side_b)}", "pool runs of the same benchmarks on both sides")
        by_sha = {_bench_sha(r): r for r in side_b}
        side_b = [by_sha[_bench_sha(r)] for r in side_a]
    if {r.run_id for r in side_a} & {r.run_id for r in side_b}:
        raise UsageError(f"{ref_a} and {ref_b} name the same run", "a duel needs two different runs")
    for ra, rb in zip(side_a, side_b, strict=True):
        _check_same_benchmark([ra, rb])
    a, b = side_a[0], side_b[0]
    ca, cb = _pooled_counts(store, side_a), _pooled_counts(store, side_b)
    common = sorted(set(ca) & set(cb))
    if not common:
        raise UsageError(f"{a.run_id} and {b.run_id} have no problem in common")
    ids, va, vb = paired_pass_rates(ca, cb, k=1)
    diff = paired_bootstrap_diff(va, vb, seed=seed)
    greedy = all(ca[t][0] == 1 and cb[t][0] == 1 for t in common)
    result: dict[str, Any] = {
        "a": {"run_id": "+".join(r.run_id for r in side_a), "model": a.model,
              "template": a.run_manifest.template.name, "pass@1": float(va.mean())},
        "b": {"run_id": "+".join(r.run_id for r in side_b), "model": b.model,
              "template": b.run_manifest.template.name, "pass@1": float(vb.mean())},
        "benchmark": "+".join(r.benchmark for r in side_a),
        "problems": len(common),
        "diff": {"value": diff[0], "low": diff[1], "high": diff[2], "confidence": 0.95, "metric": "pass@1"},
        "per_problem": [{"task_id": t, "a": {"n": ca[t][0], "c": ca[t][1]}, "b": {"n": cb[t][0], "c": cb[t][1]}}
                        for t in ids],
    }
    name_a, name_b = "A", "B"  # the sentence refers to the A and B the header names (model names can repeat)
    if greedy:
        tally = paired_counts(ca, cb)
        p = mcnemar_exact(tally.a_only, tally.b_only)
        result["tally"] = {"both": tally.both, "a_only": tally.a_only, "b_only": tally.b_only,
                           "neither": tally.neither}
        result["mcnemar_p"] = p
        result["verdict"] = verdict(tally, p_value=p, diff=diff, name_a=name_a, name_b=name_b)
    else:
        prob = prob_a_better({t: ca[t] for t in common}, {t: cb[t] for t in common}, seed=seed)
        result["prob_a_better"] = prob
        # The decision is the paired permutation test's: exact for few problems, where a percentile bootstrap
        # interval collapses (one common problem gives [+1, +1] and would call a winner).
        p = sign_flip_p(va, vb, seed=seed)
        result["permutation_p"] = p
        result["verdict"] = verdict(diff=diff, p_value=p, prob_better=prob, name_a=name_a, name_b=name_b)
    if caution := few_problems_caution(len(common), "this comparison"):
        result["caution"] = caution
    return result


def ranking(store: Store, refs: list[str], *, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Bradley-Terry ranking of several runs on the problems they all ran.

    Raises:
        UsageError: fewer than two runs, different benchmark data, or no common problems.
    """
    if len(refs) < 2:
        raise UsageError("a ranking needs at least two runs")
    runs = [store.get_run(r, kinds=SCORED) for r in refs]
    if len({r.run_id for r in runs}) != len(runs):
        raise UsageError("the same run is named twice")
    _check_same_benchmark(runs)
    counts = [store.per_problem_counts(r.run_id) for r in runs]
    common = sorted(set.intersection(*(set(c) for c in counts)))
    if not common:
        raise UsageError("these runs have no problem in common")
    rates = np.array([[c[t][1] / c[t][0] for t in common] for c in counts])
    bt = bradley_terry_bootstrap(rates, resamples=resamples, seed=seed)
    order = np.argsort(-bt.log_strength)
    caution = few_problems_caution(len(common), "the intervals and P(first)")
    return {
        "problems": len(common),
        "benchmark": runs[0].benchmark,
        "ranking": [
            {"rank": i + 1, "run_id": runs[j].run_id, "model": runs[j].model, "pass@1": float(rates[j].mean()),
             "log_strength": float(bt.log_strength[j]), "low": float(bt.low[j]), "high": float(bt.high[j]),
             "p_first": float(bt.p_first[j])}
            for i, j in enumerate(order)
        ],
        "resamples": resamples,
        **({"caution": caution} if caution else {}),
    }
