"""Uncertainty for pass@k: bootstrap intervals over problems, and Wilson intervals for small tallies.

Design choices:

* **Resample problems, not samples.** A benchmark score is a mean over a fixed, smallish set of problems
  (164 for HumanEval), and problem difficulty dominates the variance: which problems happen to be in the
  benchmark matters far more than the sampling noise within a problem. Bootstrapping the per-problem
  pass@k values (with replacement) captures that between-problem variance, which is the uncertainty
  relevant when asking "how would this model score on a similar set of problems?".
* **Percentile bootstrap.** Per-problem pass@k values are bounded in ``[0, 1]`` and often piled up at 0
  and 1, so normal-theory intervals can spill outside ``[0, 1]`` and are poorly calibrated. The
  percentile interval needs no distributional assumption, always stays inside the range of attainable
  means, and is transparent; BCa would add a jackknife pass for little gain at these sizes.
* **Vectorised and deterministic.** All resample indices are drawn from one
  ``numpy.random.default_rng(seed)`` and reduced with array operations, in chunks of bounded size so
  memory stays flat for large benchmarks. The same seed always yields the same interval, and
  :func:`summary` reuses the seed for every k so intervals for different k come from the same resamples
  (common random numbers), which keeps them mutually consistent.
* **Wilson for single proportions.** For a small tally (e.g. x of n samples passed) the Wald interval
  collapses to zero width at 0 or n and undercovers; the Wilson score interval does not. It is computed
  with the standard library's normal quantile so SciPy is not a runtime dependency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

from coderank.scoring.passk import _as_int, ks_for, per_problem_pass_at_k

__all__ = ["Estimate", "bootstrap_ci", "summary", "wilson_interval"]

# Upper bound on resample-index entries materialised at once (8 MB of int64).
_CHUNK_ELEMENTS = 1_000_000


def _check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    return confidence


def bootstrap_ci(
    values: ArrayLike, *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval for the mean of per-problem values.

    Problems are resampled with replacement ``resamples`` times; the interval is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (linear interpolation) of the
    resampled means.

    Args:
        values: One value per problem (e.g. per-problem pass@k); must be one-dimensional and finite.
        confidence: Two-sided confidence level, strictly between 0 and 1.
        resamples: Number of bootstrap resamples (``>= 1``).
        seed: Seed for ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns:
        ``(low, high)``. A zero-width interval at the common value when there is a single value or all
        values are equal.

    Raises:
        ValueError: If ``values`` is empty, not one-dimensional or not finite, or if ``confidence`` or
            ``resamples`` is out of range.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must all be finite")
    confidence = _check_confidence(confidence)
    resamples = _as_int(resamples, "resamples")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")

    if np.all(arr == arr[0]):
        point = float(arr[0])
        return point, point

    m = arr.size
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // m)
    for start in range(0, resamples, rows_per_chunk):
        stop = min(start + rows_per_chunk, resamples)
        idx = rng.integers(0, m, size=(stop - start, m))
        means[start:stop] = arr[idx].mean(axis=1)

    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


@dataclass(frozen=True)
class Estimate:
    """A pass@k point estimate with its confidence interval.

    Attributes:
        k: The ``k`` in pass@k.
        value: Mean over problems of the per-problem unbiased pass@k.
        low: Lower end of the bootstrap confidence interval.
        high: Upper end of the bootstrap confidence interval.
        problems: Number of problems averaged over.
        samples: Total number of generated samples across all problems (sum of ``n``).
    """

    k: int
    value: float
    low: float
    high: float
    problems: int
    samples: int


def summary(
    counts: Sequence[tuple[int, int]],
    ks: Sequence[int] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[Estimate]:
    """pass@k with bootstrap intervals for each supported ``k``.

    Args:
        counts: One ``(n, c)`` pair per problem: samples generated and samples that passed.
        ks: The ``k`` values to report. ``None`` means every conventional k (1, 10, 100) that all
            problems' ``n`` allow, as chosen by :func:`coderank.scoring.passk.ks_for`.
        confidence: Two-sided confidence level of the intervals.
        resamples: Bootstrap resamples per interval.
        seed: Bootstrap seed, reused for every k.

    Returns:
        One :class:`Estimate` per k, in the order of ``ks`` (ascending when chosen automatically).

    Raises:
        ValueError: If ``counts`` is empty, a pair is invalid, or a requested k exceeds some problem's n.
    """
    if len(counts) == 0:
        raise ValueError("summary needs at least one problem's (n, c) counts")
    chosen = ks_for(n for n, _ in counts) if ks is None else [_as_int(k, "k") for k in ks]
    problems = len(counts)
    samples = sum(_as_int(n, "n") for n, _ in counts)
    estimates = []
    for k in chosen:
        per_problem = per_problem_pass_at_k(counts, k)
        low, high = bootstrap_ci(per_problem, confidence=confidence, resamples=resamples, seed=seed)
        estimates.append(
            Estimate(
                k=k,
                value=float(per_problem.mean()),
                low=low,
                high=high,
                problems=problems,
                samples=samples,
            )
        )
    return estimates


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a single binomial proportion (no continuity correction).

    Args:
        successes: Number of successes (``0 <= successes <= trials``).
        trials: Number of trials (``>= 1``).
        confidence: Two-sided confidence level, strictly between 0 and 1.

    Returns:
        ``(low, high)`` within ``[0, 1]``; ``low`` is exactly 0 when ``successes == 0`` and ``high`` is
        exactly 1 when ``successes == trials``.

    Raises:
        TypeError: If ``successes`` or ``trials`` is not an integer.
        ValueError: If ``trials < 1``, ``successes`` is outside ``[0, trials]``, or ``confidence`` is out
            of range.
    """
    x = _as_int(successes, "successes")
    n = _as_int(trials, "trials")
    confidence = _check_confidence(confidence)
    if n < 1:
        raise ValueError(f"trials must be >= 1, got {n}")
    if not 0 <= x <= n:
        raise ValueError(f"successes must be between 0 and trials={n}, got {x}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = x / n
    denom = 2.0 * (n + z * z)
    center = (2.0 * n * p + z * z) / denom
    delta = z / denom * math.sqrt(4.0 * n * p * (1.0 - p) + z * z)
    low = 0.0 if x == 0 else max(0.0, center - delta)
    high = 1.0 if x == n else min(1.0, center + delta)
    return low, high
