"""Paired comparisons of code models on the same problems: tallies, McNemar, paired bootstrap, Bradley-Terry.

People compare code models with tallies such as "A beat B 8:5 on the problems where they differed". This
module attaches the statistics to such statements, for a two-model duel and for a many-model leaderboard.

Design choices:

* **Pair by problem.** Two runs on the same benchmark are not independent samples: both models see the same
  problems, and problem difficulty dominates the variance (see :mod:`coderank.scoring.stats`). Every
  function here compares the models problem by problem, on the task ids both runs contain, which removes
  the shared difficulty from the comparison and gives much narrower intervals than treating the two scores
  as independent.
* **Tallies only for greedy runs.** The 2x2 tally (both solved / only A / only B / neither) and the exact
  McNemar test need one pass/fail outcome per problem per model, i.e. ``n == 1``. For sampled runs
  (``n > 1``) any rule that turns ``c`` of ``n`` into "solved" throws information away and changes the
  answer with the threshold ("any pass" favours the model sampled more often, "majority" hides a 4/10 vs
  0/10 difference), so :func:`paired_counts` refuses them. Sampled runs are compared through their
  per-problem pass rates instead: :func:`paired_pass_rates` with :func:`paired_bootstrap_diff`, and
  :func:`prob_a_better`.
* **Exact McNemar.** Under the null hypothesis that the models are equally good, each discordant problem is a fair
  coin flip, so the exact test is a two-sided binomial test with ``p = 1/2``. The distribution is symmetric, so the
  p-value is ``min(1, 2 * P(X <= min(a_only, b_only)))``, computed with exact integer arithmetic (a running binomial
  coefficient) and one correctly rounded division; it matches ``scipy.stats.binomtest`` to the last bits. No
  chi-square approximation: discordant counts are small exactly when it matters.
* **Paired bootstrap.** Resampling problems jointly for both models is the same as resampling the
  per-problem differences, so :func:`paired_bootstrap_diff` bootstraps the differences with
  :func:`coderank.scoring.stats.bootstrap_ci` (percentile interval, same seed semantics). It answers "how
  would the gap look on a similar set of problems?".
* **Bayesian probability of superiority.** :func:`prob_a_better` answers a different question: given
  these problems, how sure are we that A's true per-problem pass rates average higher than B's? Each
  model's pass rate on each problem gets an independent ``Beta(1 + c, 1 + n - c)`` posterior (uniform
  prior); the probability is estimated by Monte Carlo. It conditions on the problem set, so it reflects
  sampling noise within problems but not which problems happen to be in the benchmark; use it for sampled
  runs (with ``n == 1`` the uniform prior dominates each problem's posterior).
* **Bradley-Terry with a small prior.** For a leaderboard, model ``i`` "beats" ``j`` on a problem ``i`` solves and
  ``j`` does not, and ``P(i beats j) = s_i / (s_i + s_j)``. The maximum-likelihood strengths diverge when a model is
  undefeated (or never wins), so every model also gets ``prior`` virtual wins and ``prior`` virtual losses in total,
  spread evenly over its opponents: ``prior / (m - 1)`` is added to every off-diagonal entry of the win matrix of
  ``m`` models. Every pair of models then has games both ways, so the comparison graph is strongly connected and the
  penalised maximum exists, is unique up to a common scale and is finite (Hunter 2004, Assumption 1). The
  pseudo-counts pull strengths towards each other (a log-concave prior on the differences of log-strengths, the same
  per model whatever the number of models); at the default ``prior = 0.5`` (half a win and half a loss, a
  Jeffreys-like pseudo-count) it moves well-determined strengths only slightly, next to the hundreds of real wins a
  benchmark provides. Unlike virtual games against a fixed reference model, it keeps the likelihood invariant to
  rescaling all strengths, so each iteration can be renormalised to geometric mean 1; that removes the slowly
  converging common-scale direction. The likelihood is maximised with Hunter's (2004) MM algorithm, safeguarded-Newton
  accelerated: every iteration also takes a Newton step and keeps it only when it reaches a higher likelihood than the
  MM step. Plain MM is monotone but needs tens of thousands of iterations when a model is (nearly) undefeated or
  winless, a common case (a broken run that solves nothing); the hybrid is still monotone and converges in a handful
  of iterations. Log-strengths are reported centred at 0, since only differences are identified. The fit is vectorised
  over bootstrap resamples, which are drawn over problems as everywhere else.
* **Deterministic.** Every random quantity comes from ``numpy.random.default_rng(seed)``; problems from
  mappings are put in sorted task-id order first, so the result never depends on dict insertion order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from coderank.scoring.passk import _as_int, per_problem_pass_at_k
from coderank.scoring.stats import _CHUNK_ELEMENTS, _check_confidence, bootstrap_ci

__all__ = [
    "BradleyTerryResult",
    "Tally",
    "bradley_terry",
    "bradley_terry_bootstrap",
    "mcnemar_exact",
    "paired_bootstrap_diff",
    "paired_counts",
    "paired_pass_rates",
    "prob_a_better",
    "verdict",
]

Counts = Mapping[str, tuple[int, int]]

# Two log-strengths closer than this count as tied for first place in a bootstrap resample.
_TIE_TOLERANCE = 1e-9


# --- aligning two runs ------------------------------------------------------------------------------------------


def _check_pair(n: object, c: object, where: str) -> tuple[int, int]:
    n_int = _as_int(n, "n")
    c_int = _as_int(c, "c")
    if n_int < 1:
        raise ValueError(f"{where}: n (number of samples) must be >= 1, got n={n_int}")
    if not 0 <= c_int <= n_int:
        raise ValueError(f"{where}: c (number of correct samples) must be between 0 and n={n_int}, got c={c_int}")
    return n_int, c_int


def _common_ids(a: Counts, b: Counts) -> list[str]:
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError(
            f"the two runs have no problems in common (A has {len(a)} task ids, B has {len(b)}); "
            "a paired comparison needs both models evaluated on the same problems"
        )
    return common


def _aligned(
    a: Counts | Sequence[tuple[int, int]], b: Counts | Sequence[tuple[int, int]]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Validated ``(n, c)`` pairs of both runs, aligned problem by problem."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        ids = _common_ids(a, b)
        pairs_a = [_check_pair(*a[t], where=f"run A, task {t!r}") for t in ids]
        pairs_b = [_check_pair(*b[t], where=f"run B, task {t!r}") for t in ids]
        return pairs_a, pairs_b
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        raise TypeError("pass both runs as mappings (task_id -> (n, c)) or both as aligned sequences of (n, c)")
    if len(a) != len(b):
        raise ValueError(f"the two runs must cover the same problems in the same order, got {len(a)} and {len(b)}")
    if len(a) == 0:
        raise ValueError("a paired comparison needs at least one problem")
    pairs_a = [_check_pair(n, c, where=f"run A, problem {i}") for i, (n, c) in enumerate(a)]
    pairs_b = [_check_pair(n, c, where=f"run B, problem {i}") for i, (n, c) in enumerate(b)]
    return pairs_a, pairs_b


@dataclass(frozen=True)
class Tally:
    """The 2x2 table of a paired comparison of two greedy runs.

    Attributes:
        both: Problems both models solved.
        a_only: Problems model A solved and model B did not.
        b_only: Problems model B solved and model A did not.
        neither: Problems neither model solved.
        problems: Number of problems compared (the sum of the four cells).
    """

    both: int
    a_only: int
    b_only: int
    neither: int
    problems: int

    def __post_init__(self) -> None:
        for name in ("both", "a_only", "b_only", "neither", "problems"):
            value = _as_int(getattr(self, name), name)
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        total = self.both + self.a_only + self.b_only + self.neither
        if total != self.problems:
            raise ValueError(f"the four cells sum to {total}, but problems={self.problems}")

    @property
    def discordant(self) -> int:
        """Problems exactly one of the two models solved (``a_only + b_only``)."""
        return self.a_only + self.b_only


def paired_counts(a: Counts, b: Counts) -> Tally:
    """Tally which model solved which problem, over the problems both greedy runs contain.

    Only task ids present in both runs are compared; the others are ignored. The tally is defined for greedy
    runs only (one sample per problem, ``n == 1``): for sampled runs no "solved" threshold is faithful to the
    data (see the module docstring), so compare them with :func:`paired_pass_rates` and
    :func:`paired_bootstrap_diff`, or :func:`prob_a_better`.

    Args:
        a: Run A, mapping task id to ``(n, c)``: samples generated and samples that passed.
        b: Run B, in the same form.

    Returns:
        The :class:`Tally` over the common problems.

    Raises:
        TypeError: If a count is not an integer.
        ValueError: If the runs have no task id in common, a pair is invalid, or a common problem has
            ``n != 1`` in either run.
    """
    ids = _common_ids(a, b)
    both = a_only = b_only = neither = 0
    for task in ids:
        n_a, c_a = _check_pair(*a[task], where=f"run A, task {task!r}")
        n_b, c_b = _check_pair(*b[task], where=f"run B, task {task!r}")
        if n_a != 1 or n_b != 1:
            raise ValueError(
                f"task {task!r}: a solved/unsolved tally needs greedy runs with one sample per problem, got "
                f"n={n_a} in A and n={n_b} in B; compare sampled runs with paired_pass_rates + "
                "paired_bootstrap_diff, or prob_a_better"
            )
        if c_a and c_b:
            both += 1
        elif c_a:
            a_only += 1
        elif c_b:
            b_only += 1
        else:
            neither += 1
    return Tally(both=both, a_only=a_only, b_only=b_only, neither=neither, problems=len(ids))


def paired_pass_rates(a: Counts, b: Counts, k: int = 1) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
    """Per-problem unbiased pass@k of two runs, aligned on their common task ids.

    Args:
        a: Run A, mapping task id to ``(n, c)``.
        b: Run B, in the same form.
        k: The ``k`` in pass@k; must not exceed any common problem's ``n`` in either run.

    Returns:
        ``(task_ids, a_values, b_values)``: the common task ids in sorted order and the two float64 arrays
        of per-problem pass@k in that order, ready for :func:`paired_bootstrap_diff`.

    Raises:
        ValueError: If the runs have no task id in common or a pair is invalid for pass@k.
    """
    ids = _common_ids(a, b)
    try:
        a_values = per_problem_pass_at_k([a[t] for t in ids], k)
    except ValueError as exc:
        raise ValueError(f"run A: {exc}") from exc
    try:
        b_values = per_problem_pass_at_k([b[t] for t in ids], k)
    except ValueError as exc:
        raise ValueError(f"run B: {exc}") from exc
    return ids, a_values, b_values


# --- two models ---------------------------------------------------------------------------------------------------


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts of a paired tally.

    Under the null hypothesis that both models are equally likely to be the one that solves a discordant
    problem, ``a_only ~ Binomial(a_only + b_only, 1/2)``; the p-value is that of the two-sided binomial test,
    ``min(1, 2 * P(X <= min(a_only, b_only)))``, evaluated exactly with integer arithmetic. It equals
    ``scipy.stats.binomtest(a_only, a_only + b_only, 0.5).pvalue``.

    Args:
        a_only: Problems model A solved and model B did not (``>= 0``).
        b_only: Problems model B solved and model A did not (``>= 0``).

    Returns:
        The p-value in ``(0, 1]``; exactly ``1.0`` when there are no discordant problems or the split is even.

    Raises:
        TypeError: If a count is not an integer.
        ValueError: If a count is negative.
    """
    x = _as_int(a_only, "a_only")
    y = _as_int(b_only, "b_only")
    if x < 0 or y < 0:
        raise ValueError(f"discordant counts must be >= 0, got a_only={x}, b_only={y}")
    n = x + y
    low = min(x, y)
    if 2 * low >= n:  # no discordant problems, or an even split
        return 1.0
    term = 1  # C(n, 0)
    tail = 1
    for i in range(1, low + 1):
        term = term * (n - i + 1) // i
        tail += term
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap_diff(
    a_vals: ArrayLike, b_vals: ArrayLike, *, resamples: int = 10000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Difference of mean per-problem scores (A minus B) with a paired percentile bootstrap interval.

    Problems are resampled with replacement, each resample taking both models' values for the chosen
    problems together; this is the percentile bootstrap of the mean per-problem difference, computed by
    :func:`coderank.scoring.stats.bootstrap_ci`.

    Args:
        a_vals: Model A's value per problem (e.g. per-problem pass@k), one-dimensional and finite.
        b_vals: Model B's values for the same problems in the same order.
        resamples: Number of bootstrap resamples (``>= 1``).
        confidence: Two-sided confidence level, strictly between 0 and 1.
        seed: Seed for ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns:
        ``(diff, low, high)``: ``mean(a_vals) - mean(b_vals)`` and the interval's ends.

    Raises:
        ValueError: If the inputs are empty, not one-dimensional, not finite or of different lengths, or if
            ``confidence`` or ``resamples`` is out of range.
    """
    a_arr = np.asarray(a_vals, dtype=np.float64)
    b_arr = np.asarray(b_vals, dtype=np.float64)
    if a_arr.ndim != 1 or b_arr.ndim != 1:
        raise ValueError(f"a_vals and b_vals must be one-dimensional, got shapes {a_arr.shape} and {b_arr.shape}")
    if a_arr.shape != b_arr.shape:
        raise ValueError(
            f"a_vals and b_vals must hold one value per common problem, got {a_arr.size} and {b_arr.size} values"
        )
    if a_arr.size == 0:
        raise ValueError("paired_bootstrap_diff needs at least one problem")
    if not (np.all(np.isfinite(a_arr)) and np.all(np.isfinite(b_arr))):
        raise ValueError("a_vals and b_vals must all be finite")
    diffs = a_arr - b_arr
    low, high = bootstrap_ci(diffs, confidence=confidence, resamples=resamples, seed=seed)
    return float(diffs.mean()), low, high


def sign_flip_p(a_vals: ArrayLike, b_vals: ArrayLike, *, resamples: int = 20000, seed: int = 0) -> float:
    """Two-sided p-value of the paired sign-flip (permutation) test of mean(A - B) = 0 over problems.

    Under the null hypothesis each problem's difference is as likely to have either sign, so the observed
    ``|mean(d)|`` is compared with those of the differences under every assignment of signs: exactly when
    there are at most 2**16 assignments, else over ``resamples`` random ones (seeded; the observed one is
    counted, so p is never 0). Unlike a percentile bootstrap, it is exact for few problems: with one
    problem p is 1, with five that all favour A it is 2/32 = 0.0625, never "significant" on a handful.

    Raises:
        ValueError: If the inputs are empty, not one-dimensional, not finite or of different lengths.
    """
    a_arr = np.asarray(a_vals, dtype=np.float64)
    b_arr = np.asarray(b_vals, dtype=np.float64)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape or a_arr.size == 0:
        raise ValueError("sign_flip_p needs one value per problem for each model, for at least one problem")
    if not (np.all(np.isfinite(a_arr)) and np.all(np.isfinite(b_arr))):
        raise ValueError("a_vals and b_vals must all be finite")
    d = a_arr - b_arr
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    observed = abs(d.sum()) * (1 - 1e-9)  # sums, not means: the same order, fewer roundings
    if d.size <= 16:
        signs = 1 - 2 * ((np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1)
        return float(np.mean(np.abs(signs @ d) >= observed))
    rng = np.random.default_rng(seed)
    hits = 1  # the observed assignment
    for start in range(0, resamples, 2048):
        signs = rng.choice((-1.0, 1.0), size=(min(2048, resamples - start), d.size))
        hits += int(np.sum(np.abs(signs @ d) >= observed))
    return hits / (resamples + 1)


def prob_a_better(
    a_counts: Counts | Sequence[tuple[int, int]],
    b_counts: Counts | Sequence[tuple[int, int]],
    *,
    draws: int = 20000,
    seed: int = 0,
) -> float:
    """Posterior probability that model A's mean per-problem pass rate exceeds model B's.

    Each model's pass rate on each problem gets an independent ``Beta(1 + c, 1 + n - c)`` posterior (uniform
    prior, binomial likelihood). The function draws ``draws`` joint samples of all these rates and returns
    the fraction in which A's mean over problems is larger than B's. This conditions on the problem set: it
    measures sampling noise within problems, not the luck of which problems are in the benchmark (use
    :func:`paired_bootstrap_diff` for that). It is meant for sampled runs (``n > 1``); with ``n == 1`` the
    prior weighs as much as the single outcome.

    Args:
        a_counts: Run A, as a mapping task id -> ``(n, c)`` or a sequence of ``(n, c)`` per problem.
        b_counts: Run B, of the same kind: with mappings the common task ids are compared (in sorted
            order), with sequences the problems must be aligned by position.
        draws: Number of Monte Carlo draws (``>= 1``); the standard error is at most ``0.5 / sqrt(draws)``.
        seed: Seed for ``numpy.random.default_rng``; the same seed gives the same probability.

    Returns:
        The probability, a float in ``[0, 1]``.

    Raises:
        TypeError: If one run is a mapping and the other is not, or a count is not an integer.
        ValueError: If there are no common problems, the sequences differ in length, a pair is invalid, or
            ``draws < 1``.
    """
    pairs_a, pairs_b = _aligned(a_counts, b_counts)
    draws = _as_int(draws, "draws")
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    na, ca = np.array(pairs_a, dtype=np.float64).T
    nb, cb = np.array(pairs_b, dtype=np.float64).T
    m = na.size
    rng = np.random.default_rng(seed)
    wins = 0
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // m)
    for start in range(0, draws, rows_per_chunk):
        rows = min(rows_per_chunk, draws - start)
        mean_a = rng.beta(1.0 + ca, 1.0 + na - ca, size=(rows, m)).mean(axis=1)
        mean_b = rng.beta(1.0 + cb, 1.0 + nb - cb, size=(rows, m)).mean(axis=1)
        wins += int(np.count_nonzero(mean_a > mean_b))
    return wins / draws


# --- many models --------------------------------------------------------------------------------------------------


def _bt_loglik(log_strength: NDArray[np.float64], padded: NDArray[np.float64]) -> NDArray[np.float64]:
    """Bradley-Terry log-likelihood ``sum_ij w_ij log sigmoid(theta_i - theta_j)`` per batch element."""
    gaps = log_strength[:, None, :] - log_strength[:, :, None]  # [b, i, j] = theta_j - theta_i
    result: NDArray[np.float64] = -(padded * np.logaddexp(0.0, gaps)).sum(axis=(1, 2))
    return result


def _bt_fit(wins: NDArray[np.float64], prior: float, tol: float, max_iter: int) -> NDArray[np.float64]:
    """Penalised Bradley-Terry fit for a batch of win matrices of shape ``(batch, m, m)``.

    Adds ``prior / (m - 1)`` to every off-diagonal win count. Each iteration computes Hunter's simultaneous MM
    update ``s_i <- W_i / sum_j n_ij / (s_i + s_j)`` (``W_i``: i's total wins, ``n_ij = w_ij + w_ji``) and a
    Newton step on the log-strengths, and keeps whichever reaches the higher likelihood. MM never lowers the
    likelihood, so neither does the hybrid; Newton supplies quadratic convergence where plain MM crawls (a
    nearly undefeated or winless model takes it tens of thousands of iterations). Log-strengths are kept
    centred throughout (the likelihood is invariant to a common shift). Returns the centred log-strengths.
    """
    batch, m = wins.shape[:2]
    if m == 1:
        return np.zeros((batch, 1), dtype=np.float64)
    padded = wins + prior / (m - 1) * (1.0 - np.eye(m))
    games = padded + np.swapaxes(padded, 1, 2)
    total_wins = padded.sum(axis=2)
    # The Hessian of the log-likelihood is minus a graph Laplacian, singular along the all-ones vector;
    # adding ones * ones^T / m fixes that direction without changing the step for a centred gradient.
    ones = np.full((m, m), 1.0 / m)
    theta = np.zeros((batch, m), dtype=np.float64)
    change = math.inf
    for _ in range(max_iter):
        strength = np.exp(theta)
        pair_sums = strength[:, :, None] + strength[:, None, :]
        mm = np.log(total_wins / (games / pair_sums).sum(axis=2))
        mm -= mm.mean(axis=1, keepdims=True)

        p_win = strength[:, :, None] / pair_sums  # [b, i, j] = P(i beats j)
        gradient = total_wins - (games * p_win).sum(axis=2)
        weights = games * p_win * np.swapaxes(p_win, 1, 2)
        laplacian = -weights
        idx = np.arange(m)
        laplacian[:, idx, idx] += weights.sum(axis=2)
        with np.errstate(all="ignore"):
            newton = theta + np.linalg.solve(laplacian + ones, gradient[:, :, None])[:, :, 0]
            newton -= newton.mean(axis=1, keepdims=True)
            newton_ll = _bt_loglik(newton, padded)
        newton_ll = np.where(np.isfinite(newton_ll), newton_ll, -np.inf)
        use_newton = newton_ll > _bt_loglik(mm, padded)
        new_theta = np.where(use_newton[:, None], newton, mm)

        change = float(np.max(np.abs(new_theta - theta)))
        theta = new_theta
        if change < tol:
            return theta
    raise RuntimeError(f"Bradley-Terry fit did not converge in {max_iter} iterations (last change {change:.3g})")


def _check_prior(prior: float) -> float:
    prior = float(prior)
    if not (math.isfinite(prior) and prior > 0.0):
        raise ValueError(f"prior must be a positive, finite number of virtual games, got {prior}")
    return prior


def bradley_terry(
    wins: ArrayLike, *, prior: float = 0.5, tol: float = 1e-10, max_iter: int = 1000
) -> NDArray[np.float64]:
    """Bradley-Terry log-strengths from a matrix of pairwise wins.

    Fits ``P(i beats j) = s_i / (s_i + s_j)`` by Hunter's (2004) MM algorithm after adding ``prior / (m - 1)``
    virtual wins to every ordered pair of the ``m`` models, so that each model has ``prior`` virtual wins and
    ``prior`` virtual losses in total and undefeated (or winless) models get large but finite strengths (see
    the module docstring).

    Args:
        wins: Square matrix, ``wins[i, j]`` = number of problems model ``i`` solved and model ``j`` did not.
            Non-negative and finite (fractional values, e.g. expected counts from pass rates, are allowed),
            with a zero diagonal.
        prior: Virtual wins (and losses) per model, spread evenly over its opponents; must be positive.
        tol: Convergence threshold on the largest change of a log-strength in one iteration.
        max_iter: Maximum number of MM iterations.

    Returns:
        A float64 array with one log-strength per model, centred to mean 0. ``exp(theta_i - theta_j)`` is the
        fitted odds that ``i`` solves a problem ``j`` fails rather than the reverse.

    Raises:
        ValueError: If ``wins`` is not a square matrix, has negative, non-finite or diagonal entries, or if
            ``prior``, ``tol`` or ``max_iter`` is out of range.
        RuntimeError: If the iteration does not converge within ``max_iter`` steps.
    """
    matrix = np.asarray(wins, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"wins must be a square matrix (models x models), got shape {matrix.shape}")
    if matrix.shape[0] == 0:
        raise ValueError("bradley_terry needs at least one model")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("wins must all be finite")
    if np.any(matrix < 0):
        raise ValueError("wins must be non-negative counts")
    if np.any(np.diag(matrix) != 0):
        raise ValueError("wins must have a zero diagonal (a model never beats itself)")
    prior = _check_prior(prior)
    tol, max_iter = _check_iteration(tol, max_iter)
    return _bt_fit(matrix[None, :, :], prior, tol, max_iter)[0]


def _check_iteration(tol: float, max_iter: int) -> tuple[float, int]:
    tol = float(tol)
    if not tol > 0.0:
        raise ValueError(f"tol must be positive, got {tol}")
    max_iter = _as_int(max_iter, "max_iter")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    return tol, max_iter


def _wins_from_solved(solved: NDArray[np.float64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Win matrices ``(batch, m, m)`` from solved rates ``(m, p)`` and problem weights ``(batch, p)``."""
    wins = np.einsum("ip,bp,jp->bij", solved, weights, 1.0 - solved, optimize=True)
    idx = np.arange(solved.shape[0])
    wins[:, idx, idx] = 0.0
    result: NDArray[np.float64] = np.maximum(wins, 0.0)
    return result


@dataclass(frozen=True, eq=False)
class BradleyTerryResult:
    """Bradley-Terry log-strengths of several models with bootstrap uncertainty.

    All arrays have one entry per model, in the row order of the input, and are read-only.

    Attributes:
        log_strength: Point estimates from all problems, centred to mean 0.
        low: Lower ends of the percentile bootstrap intervals of the centred log-strengths.
        high: Upper ends of those intervals.
        p_first: Fraction of bootstrap resamples in which the model has the highest strength (ties split
            evenly); sums to 1.
        confidence: Two-sided confidence level of the intervals.
        resamples: Number of bootstrap resamples.
    """

    log_strength: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    p_first: NDArray[np.float64]
    confidence: float
    resamples: int


def bradley_terry_bootstrap(
    solved: ArrayLike,
    resamples: int = 1000,
    seed: int = 0,
    *,
    confidence: float = 0.95,
    prior: float = 0.5,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> BradleyTerryResult:
    """Bradley-Terry log-strengths of several models with problem-bootstrap intervals and P(ranked first).

    Model ``i`` beats ``j`` on a problem ``i`` solves and ``j`` does not. With pass rates instead of 0/1
    outcomes, ``wins[i, j] = sum_p r_ip * (1 - r_jp)`` is the expected number of such problems when each model
    draws one sample per problem. Problems are resampled with replacement ``resamples`` times and the model is
    refitted on each resample (all resamples are fitted together, vectorised).

    Args:
        solved: Matrix of shape ``(models, problems)`` with 0/1 outcomes or per-problem pass rates in
            ``[0, 1]``.
        resamples: Number of bootstrap resamples (``>= 1``).
        seed: Seed for ``numpy.random.default_rng``; the same seed gives the same result.
        confidence: Two-sided confidence level of the intervals, strictly between 0 and 1.
        prior: Virtual wins and losses per model, as in :func:`bradley_terry`.
        tol: Convergence threshold of the MM iteration, as in :func:`bradley_terry`.
        max_iter: Maximum number of MM iterations per fit.

    Returns:
        A :class:`BradleyTerryResult`.

    Raises:
        ValueError: If ``solved`` is not a non-empty two-dimensional array of values in ``[0, 1]``, or if an
            option is out of range.
        RuntimeError: If a fit does not converge within ``max_iter`` steps.
    """
    matrix = np.asarray(solved, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"solved must be a (models x problems) matrix, got shape {matrix.shape}")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"solved needs at least one model and one problem, got shape {matrix.shape}")
    if not (np.all(np.isfinite(matrix)) and np.all((matrix >= 0.0) & (matrix <= 1.0))):
        raise ValueError("solved must hold 0/1 outcomes or pass rates in [0, 1]")
    resamples = _as_int(resamples, "resamples")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    confidence = _check_confidence(confidence)
    prior = _check_prior(prior)
    tol, max_iter = _check_iteration(tol, max_iter)

    models, problems = matrix.shape
    point = _bt_fit(_wins_from_solved(matrix, np.ones((1, problems))), prior, tol, max_iter)[0]

    rng = np.random.default_rng(seed)
    thetas = np.empty((resamples, models), dtype=np.float64)
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // max(problems, models * models))
    for start in range(0, resamples, rows_per_chunk):
        rows = min(rows_per_chunk, resamples - start)
        idx = rng.integers(0, problems, size=(rows, problems))
        flat = idx + problems * np.arange(rows)[:, None]
        weights = np.bincount(flat.ravel(), minlength=rows * problems).reshape(rows, problems).astype(np.float64)
        thetas[start : start + rows] = _bt_fit(_wins_from_solved(matrix, weights), prior, tol, max_iter)

    alpha = 1.0 - confidence
    low, high = np.quantile(thetas, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    top = thetas >= thetas.max(axis=1, keepdims=True) - _TIE_TOLERANCE
    p_first = (top / top.sum(axis=1, keepdims=True)).mean(axis=0)
    arrays = [np.array(x, dtype=np.float64) for x in (point, low, high, p_first)]
    for arr in arrays:
        arr.setflags(write=False)
    return BradleyTerryResult(
        log_strength=arrays[0],
        low=arrays[1],
        high=arrays[2],
        p_first=arrays[3],
        confidence=confidence,
        resamples=resamples,
    )


# --- plain language -------------------------------------------------------------------------------------------------


def _format_p(p: float, alpha: float) -> str:
    """``"p = 0.58"``, ``"p = 0.003"``, ``"p < 0.001"``; never rounds across ``alpha``."""
    if p < 0.001:
        return "p < 0.001"
    for digits in (2, 3, 4, 6):
        text = f"{p:.{digits}g}"
        if (float(text) < alpha) == (p < alpha):
            break
    return f"p = {text}"


def _points(x: float) -> str:
    """A difference of proportions as signed percentage points, e.g. ``"+1.8"``."""
    return f"{round(100.0 * x, 1) + 0.0:+.1f}"


def _problems(count: int) -> str:
    return f"{count} problem" if count == 1 else f"{count} problems"


def verdict(
    tally: Tally | None = None,
    *,
    p_value: float | None = None,
    diff: tuple[float, float, float] | None = None,
    prob_better: float | None = None,
    name_a: str = "A",
    name_b: str = "B",
    alpha: float = 0.05,
    confidence: float = 0.95,
    metric: str = "pass@1",
) -> str:
    """A careful plain-language summary of a paired comparison of two models.

    The decision uses the first available of: the exact McNemar test of ``tally`` (``p_value`` may pass a
    precomputed :func:`mcnemar_exact` value), a given ``p_value``, or whether the bootstrap interval in
    ``diff`` excludes zero. A non-significant result is worded as "the data cannot separate the two models",
    never as evidence that they are equal. The interval of ``diff`` and ``prob_better`` are reported when
    given.

    Args:
        tally: The paired tally of two greedy runs, from :func:`paired_counts`.
        p_value: The p-value for the comparison; with a tally, defaults to the exact McNemar p-value.
        diff: ``(diff, low, high)`` from :func:`paired_bootstrap_diff` of per-problem ``metric`` values, with
            A first.
        prob_better: Probability that A is better, e.g. from :func:`prob_a_better`; reported, not decided on.
        name_a: Display name of model A.
        name_b: Display name of model B.
        alpha: Significance level for calling one model better, strictly between 0 and 1.
        confidence: Confidence level that produced ``diff`` (used only in the wording).
        metric: Name of the metric in ``diff`` (used only in the wording).

    Returns:
        One or a few sentences.

    Raises:
        ValueError: If none of ``tally``, ``p_value`` and ``diff`` is given, or an argument is out of range.
    """
    if tally is None and p_value is None and diff is None:
        raise ValueError("verdict needs a tally, a p-value or a bootstrap difference to judge")
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
    confidence = _check_confidence(confidence)
    if p_value is None and tally is not None:
        p_value = mcnemar_exact(tally.a_only, tally.b_only)
    if p_value is not None:
        p_value = float(p_value)
        if not 0.0 <= p_value <= 1.0:
            raise ValueError(f"p_value must be between 0 and 1, got {p_value}")
    if diff is not None:
        point, low, high = (float(x) for x in diff)
        if not all(math.isfinite(x) for x in (point, low, high)) or not low <= high:
            raise ValueError(f"diff must be finite (diff, low, high) with low <= high, got {diff}")
    if prob_better is not None and not 0.0 <= float(prob_better) <= 1.0:
        raise ValueError(f"prob_better must be between 0 and 1, got {prob_better}")

    # Which way, and is it significant?
    if p_value is not None:
        significant = p_value < alpha
        if tally is not None:
            a_ahead = tally.a_only > tally.b_only
        elif diff is not None:
            a_ahead = diff[0] > 0
        else:
            raise ValueError("a bare p_value says nothing about direction; pass the tally or the difference too")
        evidence = _format_p(p_value, alpha)
        reason = "a split this lopsided would be unlikely if the two models were equally good"
        undecided = "the data cannot separate the two models."
    else:
        assert diff is not None
        significant = diff[1] > 0 or diff[2] < 0
        a_ahead = diff[1] > 0
        evidence = ""
        reason = "the interval excludes zero"
        undecided = "the data cannot separate the two models: the interval includes zero."
    winner, loser = (name_a, name_b) if a_ahead else (name_b, name_a)

    if tally is not None and tally.discordant == 0:
        head = (
            f"{name_a} and {name_b} solved exactly the same problems "
            f"(0 discordant of {tally.problems}): exact McNemar {evidence}"
        )
    elif tally is not None:
        head = (
            f"{name_a} solved {_problems(tally.a_only)} {name_b} did not, {name_b} solved {tally.b_only} "
            f"{name_a} did not ({tally.discordant} discordant of {tally.problems}): exact McNemar {evidence}"
        )
    elif p_value is not None:
        head = f"{name_a} vs {name_b}: {evidence}"
    else:
        assert diff is not None
        head = (
            f"{name_a} - {name_b} {metric}: {_points(diff[0])} points "
            f"({confidence:.0%} paired-bootstrap interval {_points(diff[1])} to {_points(diff[2])})"
        )
    parts = [f"{head} — {winner} is better than {loser}: {reason}." if significant else f"{head} — {undecided}"]

    if diff is not None and (tally is not None or p_value is not None):
        parts.append(
            f"{metric} difference ({name_a} - {name_b}): {_points(diff[0])} points, {confidence:.0%} paired-bootstrap "
            f"interval {_points(diff[1])} to {_points(diff[2])}."
        )
    if prob_better is not None:
        parts.append(
            f"Posterior probability that {name_a}'s mean pass rate on these problems exceeds {name_b}'s: "
            f"{float(prob_better):.2f}."
        )
    return " ".join(parts)
