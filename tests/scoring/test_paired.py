from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy import stats as scipy_stats

from coderank.scoring import (
    BradleyTerryResult,
    Tally,
    bradley_terry,
    bradley_terry_bootstrap,
    mcnemar_exact,
    paired_bootstrap_diff,
    paired_counts,
    paired_pass_rates,
    prob_a_better,
    verdict,
)


def greedy_run(solved: dict[str, bool]) -> dict[str, tuple[int, int]]:
    return {task: (1, int(ok)) for task, ok in solved.items()}


def tally_run(both: int, a_only: int, b_only: int, neither: int) -> tuple[dict, dict]:
    outcomes = [(1, 1)] * both + [(1, 0)] * a_only + [(0, 1)] * b_only + [(0, 0)] * neither
    a = {f"HumanEval/{i}": (1, x) for i, (x, _) in enumerate(outcomes)}
    b = {f"HumanEval/{i}": (1, y) for i, (_, y) in enumerate(outcomes)}
    return a, b


def correlated_rates(m: int, gap: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-problem pass rates of two models sharing problem difficulty, A better by ``gap`` on average."""
    rng = np.random.default_rng(seed)
    difficulty = rng.random(m)
    p_a = np.clip(difficulty + gap / 2, 0, 1)
    p_b = np.clip(difficulty - gap / 2, 0, 1)
    return difficulty, p_a, p_b


# --- paired_counts / paired_pass_rates -----------------------------------------------------------


def test_paired_counts_fills_the_four_cells() -> None:
    a = greedy_run({"t1": True, "t2": True, "t3": False, "t4": False, "t5": True})
    b = greedy_run({"t1": True, "t2": False, "t3": True, "t4": False, "t5": False})
    assert paired_counts(a, b) == Tally(both=1, a_only=2, b_only=1, neither=1, problems=5)


def test_paired_counts_uses_only_common_problems() -> None:
    a = greedy_run({"t1": True, "t2": True, "only_a": True})
    b = greedy_run({"t1": False, "t2": True, "only_b": True})
    tally = paired_counts(a, b)
    assert tally.problems == 2
    assert (tally.both, tally.a_only, tally.b_only, tally.neither) == (1, 1, 0, 0)


def test_paired_counts_without_common_problems_raises() -> None:
    with pytest.raises(ValueError, match="no problems in common"):
        paired_counts(greedy_run({"t1": True}), greedy_run({"t2": True}))


def test_paired_counts_rejects_sampled_runs() -> None:
    with pytest.raises(ValueError, match="greedy"):
        paired_counts({"t1": (10, 3)}, {"t1": (10, 7)})


def test_paired_counts_rejects_invalid_pairs() -> None:
    with pytest.raises(ValueError, match="task 't1'"):
        paired_counts({"t1": (1, 2)}, {"t1": (1, 0)})


def test_tally_rejects_cells_that_do_not_sum_to_problems() -> None:
    with pytest.raises(ValueError, match="sum to"):
        Tally(both=1, a_only=2, b_only=3, neither=4, problems=11)


def test_tally_discordant() -> None:
    assert Tally(both=60, a_only=8, b_only=5, neither=91, problems=164).discordant == 13


def test_paired_pass_rates_aligns_on_sorted_common_ids() -> None:
    a = {"t2": (10, 5), "t1": (10, 10), "only_a": (10, 0)}
    b = {"t1": (4, 1), "t2": (4, 0), "only_b": (4, 4)}
    ids, a_vals, b_vals = paired_pass_rates(a, b)
    assert ids == ["t1", "t2"]
    np.testing.assert_allclose(a_vals, [1.0, 0.5])
    np.testing.assert_allclose(b_vals, [0.25, 0.0])


def test_paired_pass_rates_names_the_run_with_bad_counts() -> None:
    with pytest.raises(ValueError, match="run B"):
        paired_pass_rates({"t1": (10, 5)}, {"t1": (4, 1)}, k=5)


# --- mcnemar_exact ---------------------------------------------------------------------------------


def test_mcnemar_matches_scipy_binomtest_on_a_grid() -> None:
    for a_only in range(31):
        for b_only in range(31):
            if a_only + b_only == 0:
                continue
            ref = scipy_stats.binomtest(a_only, a_only + b_only, 0.5).pvalue
            assert mcnemar_exact(a_only, b_only) == pytest.approx(ref, rel=1e-12), (a_only, b_only)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=600), st.integers(min_value=0, max_value=600))
def test_mcnemar_matches_scipy_binomtest_property(a_only: int, b_only: int) -> None:
    if a_only + b_only == 0:
        assert mcnemar_exact(a_only, b_only) == 1.0
        return
    ref = scipy_stats.binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert mcnemar_exact(a_only, b_only) == pytest.approx(ref, rel=1e-9, abs=1e-300)


def test_mcnemar_classic_8_to_5() -> None:
    p = mcnemar_exact(8, 5)
    assert p == pytest.approx(scipy_stats.binomtest(8, 13, 0.5).pvalue, rel=1e-12)
    assert p == pytest.approx(0.58, abs=0.005)


def test_mcnemar_lopsided_30_to_2_is_significant() -> None:
    assert mcnemar_exact(30, 2) < 0.001


def test_mcnemar_no_discordant_pairs_is_one() -> None:
    assert mcnemar_exact(0, 0) == 1.0


def test_mcnemar_is_symmetric() -> None:
    assert mcnemar_exact(3, 11) == mcnemar_exact(11, 3)


def test_mcnemar_negative_count_raises() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        mcnemar_exact(-1, 3)


def test_mcnemar_rejects_non_integers() -> None:
    with pytest.raises(TypeError):
        mcnemar_exact(2.5, 3)  # type: ignore[arg-type]


# --- paired_bootstrap_diff -------------------------------------------------------------------------


def test_paired_bootstrap_point_is_the_difference_of_means() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(50), rng.random(50)
    diff, low, high = paired_bootstrap_diff(a, b, resamples=2000)
    assert diff == pytest.approx(a.mean() - b.mean(), abs=1e-12)
    assert low < diff < high


def test_paired_bootstrap_is_deterministic_for_a_seed() -> None:
    _, p_a, p_b = correlated_rates(164, 0.05, seed=1)
    assert paired_bootstrap_diff(p_a, p_b, seed=3) == paired_bootstrap_diff(p_a, p_b, seed=3)


def test_paired_bootstrap_interval_covers_the_true_difference() -> None:
    # Many benchmarks of 164 problems drawn from one population of (difficulty, A, B) outcomes, with a known
    # population difference in pass rate of 0.06: the 95% interval should cover it about 95% of the time.
    rng = np.random.default_rng(7)
    gap, trials, hits = 0.06, 200, 0
    for trial in range(trials):
        difficulty = rng.random(164)
        u = rng.random(164)  # shared noise: the two models tend to fail the same problems
        a = (u < difficulty + gap / 2).astype(float)
        b = (u < difficulty - gap / 2).astype(float)
        _, low, high = paired_bootstrap_diff(a, b, resamples=1000, seed=trial)
        hits += low <= gap <= high
    assert 0.88 <= hits / trials <= 0.99


def test_paired_bootstrap_is_narrower_than_unpaired_for_correlated_runs() -> None:
    _, p_a, p_b = correlated_rates(164, 0.05, seed=2)
    _, low, high = paired_bootstrap_diff(p_a, p_b, resamples=4000, seed=0)

    rng = np.random.default_rng(0)
    idx_a = rng.integers(0, 164, size=(4000, 164))
    idx_b = rng.integers(0, 164, size=(4000, 164))
    unpaired = p_a[idx_a].mean(axis=1) - p_b[idx_b].mean(axis=1)
    u_low, u_high = np.quantile(unpaired, [0.025, 0.975])
    assert (high - low) < 0.5 * (u_high - u_low)


def test_paired_bootstrap_identical_runs_is_zero() -> None:
    values = np.random.default_rng(4).random(30)
    assert paired_bootstrap_diff(values, values) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="one value per common problem"):
        paired_bootstrap_diff([0.1, 0.2], [0.3])


def test_paired_bootstrap_empty_raises() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        paired_bootstrap_diff([], [])


# --- prob_a_better ---------------------------------------------------------------------------------


def test_prob_a_better_identical_counts_is_a_half() -> None:
    counts = [(10, c) for c in np.random.default_rng(0).integers(0, 11, size=100).tolist()]
    assert prob_a_better(counts, counts) == pytest.approx(0.5, abs=0.02)


def test_prob_a_better_tends_to_one_when_a_dominates() -> None:
    a = [(20, 15)] * 50
    b = [(20, 5)] * 50
    assert prob_a_better(a, b) > 0.999
    assert prob_a_better(b, a) < 0.001


@pytest.mark.parametrize(("a", "b"), [((10, 6), (10, 4)), ((5, 1), (20, 3)), ((3, 3), (8, 7))])
def test_prob_a_better_single_problem_matches_numerical_integral(a: tuple[int, int], b: tuple[int, int]) -> None:
    beta_a = scipy_stats.beta(1 + a[1], 1 + a[0] - a[1])
    beta_b = scipy_stats.beta(1 + b[1], 1 + b[0] - b[1])
    ref, _ = integrate.quad(lambda x: beta_a.pdf(x) * beta_b.cdf(x), 0.0, 1.0)
    assert prob_a_better([a], [b], draws=40000) == pytest.approx(ref, abs=0.01)


def test_prob_a_better_matches_scipy_beta_monte_carlo() -> None:
    rng = np.random.default_rng(5)
    a = [(10, int(c)) for c in rng.integers(0, 11, size=40)]
    b = [(10, max(0, c - int(d))) for (_, c), d in zip(a, rng.integers(0, 2, size=40), strict=True)]
    ref_rng = np.random.default_rng(12345)
    draws = 20000
    mean_a = np.zeros(draws)
    mean_b = np.zeros(draws)
    for (n_a, c_a), (n_b, c_b) in zip(a, b, strict=True):
        mean_a += scipy_stats.beta.rvs(1 + c_a, 1 + n_a - c_a, size=draws, random_state=ref_rng)
        mean_b += scipy_stats.beta.rvs(1 + c_b, 1 + n_b - c_b, size=draws, random_state=ref_rng)
    ref = float(np.mean(mean_a > mean_b))
    assert 0.6 < ref < 0.95  # an informative, not saturated, case
    assert prob_a_better(a, b) == pytest.approx(ref, abs=0.02)


def test_prob_a_better_is_deterministic_for_a_seed() -> None:
    a, b = [(10, 4), (10, 7), (10, 2)], [(10, 5), (10, 6), (10, 1)]
    assert prob_a_better(a, b, seed=9) == prob_a_better(a, b, seed=9)


def test_prob_a_better_mappings_align_on_common_ids_regardless_of_order() -> None:
    a = {"t1": (10, 4), "t2": (10, 7), "t3": (10, 2), "only_a": (10, 10)}
    b = {"t3": (10, 1), "t2": (10, 6), "t1": (10, 5)}
    expected = prob_a_better([(10, 4), (10, 7), (10, 2)], [(10, 5), (10, 6), (10, 1)])
    assert prob_a_better(a, b) == expected


def test_prob_a_better_mixed_argument_kinds_raise() -> None:
    with pytest.raises(TypeError, match="both"):
        prob_a_better({"t1": (10, 4)}, [(10, 5)])


def test_prob_a_better_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="same problems"):
        prob_a_better([(10, 4)], [(10, 5), (10, 6)])


# --- bradley_terry ---------------------------------------------------------------------------------


def simulate_wins(theta: np.ndarray, games: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = theta.size
    wins = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            p = 1.0 / (1.0 + np.exp(theta[j] - theta[i]))
            wins[i, j] = rng.binomial(games, p)
            wins[j, i] = games - wins[i, j]
    return wins


def neg_loglik(theta: np.ndarray, wins: np.ndarray) -> float:
    gaps = theta[None, :] - theta[:, None]  # [i, j] = theta_j - theta_i
    return float((wins * np.logaddexp(0.0, gaps)).sum())


def scipy_fit(wins: np.ndarray) -> np.ndarray:
    result = optimize.minimize(neg_loglik, np.zeros(wins.shape[0]), args=(wins,), method="BFGS", tol=1e-12)
    return result.x - result.x.mean()


def test_bradley_terry_recovers_the_order_of_simulated_strengths() -> None:
    theta = np.array([0.3, -1.2, 1.5, -0.4, 0.8])
    fitted = bradley_terry(simulate_wins(theta, games=300, seed=0))
    np.testing.assert_array_equal(np.argsort(fitted), np.argsort(theta))
    np.testing.assert_allclose(fitted, theta - theta.mean(), atol=0.2)


def test_bradley_terry_matches_penalised_likelihood_maximum_from_scipy() -> None:
    wins = simulate_wins(np.array([0.0, 0.7, -0.5, 1.1]), games=40, seed=1)
    prior, m = 0.5, 4
    padded = wins + prior / (m - 1) * (1 - np.eye(m))
    np.testing.assert_allclose(bradley_terry(wins, prior=prior), scipy_fit(padded), atol=1e-5)


def test_bradley_terry_tiny_prior_matches_the_plain_maximum_likelihood_fit() -> None:
    wins = simulate_wins(np.array([0.0, 0.7, -0.5, 1.1]), games=40, seed=1)
    mle = scipy_fit(wins)
    np.testing.assert_allclose(bradley_terry(wins, prior=1e-9), mle, atol=1e-5)
    # The default prior is small next to 40 games per pair.
    np.testing.assert_allclose(bradley_terry(wins), mle, atol=0.05)


def test_bradley_terry_undefeated_and_winless_models_stay_finite() -> None:
    wins = simulate_wins(np.array([0.0, 0.5, -0.5, 0.2]), games=30, seed=2)
    wins[0, 1:] = 30  # model 0 beats everyone on every problem ...
    wins[1:, 0] = 0  # ... and never loses
    wins[3, :] = 0  # model 3 never wins
    wins[:3, 3] = 30
    wins[0, 3] = 30
    fitted = bradley_terry(wins)
    assert np.all(np.isfinite(fitted))
    assert np.argmax(fitted) == 0
    assert np.argmin(fitted) == 3
    assert fitted[0] - fitted[3] < 30  # large, but nowhere near divergent


def test_bradley_terry_is_centred() -> None:
    fitted = bradley_terry(simulate_wins(np.array([2.0, 1.0, 0.5]), games=25, seed=3))
    assert fitted.sum() == pytest.approx(0.0, abs=1e-12)


def test_bradley_terry_no_games_gives_equal_strengths() -> None:
    np.testing.assert_allclose(bradley_terry(np.zeros((3, 3))), np.zeros(3), atol=1e-12)


def test_bradley_terry_single_model_is_zero() -> None:
    np.testing.assert_array_equal(bradley_terry(np.zeros((1, 1))), [0.0])


def test_bradley_terry_relabelling_models_permutes_the_result() -> None:
    wins = simulate_wins(np.array([0.0, 0.4, -0.9, 1.3]), games=20, seed=4)
    perm = np.array([2, 0, 3, 1])
    np.testing.assert_allclose(bradley_terry(wins[np.ix_(perm, perm)]), bradley_terry(wins)[perm], atol=1e-9)


@pytest.mark.parametrize(
    ("wins", "match"),
    [
        (np.zeros((2, 3)), "square"),
        (np.array([[0.0, -1.0], [2.0, 0.0]]), "non-negative"),
        (np.array([[1.0, 1.0], [2.0, 0.0]]), "diagonal"),
        (np.array([[0.0, np.inf], [2.0, 0.0]]), "finite"),
    ],
)
def test_bradley_terry_invalid_wins_raise(wins: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bradley_terry(wins)


def test_bradley_terry_non_positive_prior_raises() -> None:
    with pytest.raises(ValueError, match="prior"):
        bradley_terry(np.zeros((2, 2)), prior=0.0)


# --- bradley_terry_bootstrap -----------------------------------------------------------------------


def simulate_solved(theta: np.ndarray, problems: int, seed: int) -> np.ndarray:
    """0/1 outcomes: model i solves problem p with probability sigmoid(theta_i - difficulty_p)."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 1.5, size=problems)
    p = 1.0 / (1.0 + np.exp(difficulty[None, :] - theta[:, None]))
    return (rng.random((theta.size, problems)) < p).astype(float)


def test_bt_bootstrap_recovers_order_and_best_model() -> None:
    theta = np.array([-1.0, 0.5, 2.0, 0.0])
    result = bradley_terry_bootstrap(simulate_solved(theta, 400, seed=0), resamples=300)
    assert isinstance(result, BradleyTerryResult)
    np.testing.assert_array_equal(np.argsort(result.log_strength), np.argsort(theta))
    assert np.argmax(result.p_first) == 2
    assert result.p_first[2] > 0.9


def test_bt_bootstrap_point_estimate_matches_counted_wins() -> None:
    solved = simulate_solved(np.array([0.0, 1.0, -0.5]), 100, seed=1)
    wins = np.array([[np.sum((solved[i] == 1) & (solved[j] == 0)) for j in range(3)] for i in range(3)])
    result = bradley_terry_bootstrap(solved, resamples=10)
    np.testing.assert_allclose(result.log_strength, bradley_terry(wins), atol=1e-9)


def test_bt_bootstrap_intervals_bracket_point_estimates() -> None:
    result = bradley_terry_bootstrap(simulate_solved(np.array([0.0, 0.3, -0.3, 1.0]), 164, seed=2), resamples=400)
    assert np.all(result.low <= result.log_strength)
    assert np.all(result.log_strength <= result.high)
    assert np.all(result.high - result.low > 0)


def test_bt_bootstrap_p_first_sums_to_one() -> None:
    result = bradley_terry_bootstrap(simulate_solved(np.array([0.0, 0.1, 0.2]), 50, seed=3), resamples=200)
    assert result.p_first.sum() == pytest.approx(1.0)
    assert np.all(result.p_first >= 0)


def test_bt_bootstrap_splits_first_place_between_identical_models() -> None:
    solved = simulate_solved(np.array([0.0, 0.0, -2.0]), 120, seed=4)
    solved[1] = solved[0]
    result = bradley_terry_bootstrap(solved, resamples=200)
    assert result.p_first[0] == pytest.approx(0.5)
    assert result.p_first[1] == pytest.approx(0.5)


def test_bt_bootstrap_is_deterministic_for_a_seed() -> None:
    solved = simulate_solved(np.array([0.0, 0.4, -0.2]), 80, seed=5)
    r1 = bradley_terry_bootstrap(solved, resamples=100, seed=11)
    r2 = bradley_terry_bootstrap(solved, resamples=100, seed=11)
    for name in ("log_strength", "low", "high", "p_first"):
        np.testing.assert_array_equal(getattr(r1, name), getattr(r2, name))


def test_bt_bootstrap_handles_a_model_that_solves_everything() -> None:
    solved = simulate_solved(np.array([0.0, 0.4, -0.2, 0.1]), 164, seed=6)
    solved[3] = 1.0
    solved[0] = 0.0
    result = bradley_terry_bootstrap(solved, resamples=200)
    for arr in (result.log_strength, result.low, result.high, result.p_first):
        assert np.all(np.isfinite(arr))
    assert result.p_first[3] == 1.0


def test_bt_bootstrap_accepts_pass_rates() -> None:
    rates = np.random.default_rng(7).random((3, 40))
    rates[2] = np.clip(rates[2] + 0.4, 0, 1)
    result = bradley_terry_bootstrap(rates, resamples=100)
    assert np.argmax(result.log_strength) == 2


def test_bt_bootstrap_results_are_read_only() -> None:
    result = bradley_terry_bootstrap(np.eye(2), resamples=5)
    with pytest.raises(ValueError):
        result.log_strength[0] = 1.0


def test_bt_bootstrap_rejects_values_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bradley_terry_bootstrap(np.array([[0.0, 2.0], [1.0, 0.0]]))


# --- verdict ---------------------------------------------------------------------------------------


def test_verdict_classic_8_to_5_cannot_separate() -> None:
    text = verdict(Tally(both=60, a_only=8, b_only=5, neither=91, problems=164))
    assert "A solved 8 problems B did not, B solved 5 A did not (13 discordant of 164)" in text
    assert "exact McNemar p = 0.58" in text
    assert "cannot separate" in text
    assert "better" not in text
    assert "no difference" not in text


def test_verdict_lopsided_30_to_2_names_the_better_model() -> None:
    text = verdict(Tally(both=50, a_only=30, b_only=2, neither=82, problems=164), name_a="qwen", name_b="llama")
    assert "p < 0.001" in text
    assert "qwen is better than llama" in text
    assert "cannot separate" not in text


def test_verdict_names_b_when_b_is_ahead() -> None:
    text = verdict(Tally(both=50, a_only=2, b_only=30, neither=82, problems=164))
    assert "B is better than A" in text


def test_verdict_reports_the_paired_bootstrap_interval() -> None:
    text = verdict(Tally(both=60, a_only=8, b_only=5, neither=91, problems=164), diff=(0.0183, -0.0244, 0.0610))
    assert "+1.8 points" in text
    assert "-2.4 to +6.1" in text
    assert "95% paired-bootstrap interval" in text


def test_verdict_no_discordant_problems() -> None:
    text = verdict(Tally(both=70, a_only=0, b_only=0, neither=94, problems=164))
    assert "solved exactly the same problems" in text
    assert "cannot separate" in text


def test_verdict_does_not_round_p_across_alpha() -> None:
    text = verdict(Tally(both=0, a_only=9, b_only=2, neither=0, problems=11), p_value=0.0499)
    assert "p = 0.0499" in text
    assert "A is better" in text


def test_verdict_from_interval_alone() -> None:
    assert "A is better than B" in verdict(diff=(0.04, 0.01, 0.07))
    assert "cannot separate" in verdict(diff=(0.02, -0.01, 0.05))


def test_verdict_reports_prob_better() -> None:
    assert "0.91" in verdict(diff=(0.02, -0.01, 0.05), prob_better=0.912)


def test_verdict_needs_evidence() -> None:
    with pytest.raises(ValueError, match="needs"):
        verdict()


def test_duel_end_to_end_from_runs() -> None:
    a, b = tally_run(both=60, a_only=8, b_only=5, neither=91)
    tally = paired_counts(a, b)
    _, a_vals, b_vals = paired_pass_rates(a, b)
    diff = paired_bootstrap_diff(a_vals, b_vals)
    text = verdict(tally, diff=diff)
    assert tally == Tally(both=60, a_only=8, b_only=5, neither=91, problems=164)
    assert diff[0] == pytest.approx(3 / 164)
    assert "cannot separate" in text
