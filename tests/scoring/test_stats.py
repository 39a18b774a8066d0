from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from coderank.scoring import Estimate, bootstrap_ci, pass_at_k, summary, wilson_interval


def bernoulli(m: int, p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(m) < p).astype(np.float64)


# --- bootstrap_ci --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=60),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_bootstrap_contains_the_mean(values: list[float], seed: int) -> None:
    low, high = bootstrap_ci(np.array(values), resamples=500, seed=seed)
    mean = float(np.mean(values))
    assert low - 1e-12 <= mean <= high + 1e-12


def test_bootstrap_interval_is_ordered_and_within_data_range() -> None:
    values = np.random.default_rng(3).random(50)
    low, high = bootstrap_ci(values)
    assert values.min() <= low < high <= values.max()


def test_bootstrap_deterministic_for_a_seed() -> None:
    values = bernoulli(164, 0.4, seed=1)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)


def test_bootstrap_seed_changes_the_interval() -> None:
    # Continuous values: with 0/1 data the quantiles can land on the same grid point for two seeds.
    values = np.random.default_rng(1).random(164)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_bootstrap_narrows_as_problems_grow() -> None:
    widths = []
    for m in (20, 164, 2000):
        low, high = bootstrap_ci(bernoulli(m, 0.5, seed=m))
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # Width scales like 1/sqrt(m): 2000 problems should be roughly 10x narrower than 20.
    assert widths[2] < widths[0] / 5


def test_bootstrap_widens_with_confidence() -> None:
    values = bernoulli(164, 0.3, seed=2)
    low90, high90 = bootstrap_ci(values, confidence=0.90)
    low99, high99 = bootstrap_ci(values, confidence=0.99)
    assert low99 < low90 and high90 < high99


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_bootstrap_agrees_with_scipy_percentile(p: float) -> None:
    values = bernoulli(164, p, seed=11)
    ours = bootstrap_ci(values, confidence=0.95, resamples=5000, seed=0)
    ref = scipy_stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=0.95,
        n_resamples=5000,
        method="percentile",
        random_state=np.random.default_rng(123),
    ).confidence_interval
    assert ours[0] == pytest.approx(ref.low, abs=0.01)
    assert ours[1] == pytest.approx(ref.high, abs=0.01)


def test_bootstrap_agrees_with_normal_theory_for_large_sample() -> None:
    values = bernoulli(2000, 0.5, seed=5)
    low, high = bootstrap_ci(values, resamples=4000)
    se = values.std(ddof=0) / np.sqrt(values.size)
    assert high - low == pytest.approx(2 * 1.959964 * se, rel=0.1)


def test_bootstrap_chunking_does_not_change_the_distribution() -> None:
    # Enough problems that resamples are drawn in several chunks; still centred on the mean.
    values = bernoulli(20_000, 0.25, seed=9)
    low, high = bootstrap_ci(values, resamples=200)
    assert low < values.mean() < high
    assert high - low < 0.02


def test_bootstrap_single_value_is_zero_width() -> None:
    assert bootstrap_ci(np.array([0.37])) == (0.37, 0.37)


@pytest.mark.parametrize("value", [0.0, 0.1, 1.0])
def test_bootstrap_all_equal_is_zero_width_at_the_value(value: float) -> None:
    assert bootstrap_ci(np.full(164, value)) == (value, value)


def test_bootstrap_accepts_a_list() -> None:
    assert bootstrap_ci([0.0, 1.0, 1.0, 0.0]) == bootstrap_ci(np.array([0.0, 1.0, 1.0, 0.0]))


def test_bootstrap_empty_raises() -> None:
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_ci(np.array([]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"values": np.ones((2, 2))}, "one-dimensional"),
        ({"values": np.array([0.1, np.nan])}, "finite"),
        ({"values": np.array([0.1, 0.2]), "confidence": 1.0}, "confidence"),
        ({"values": np.array([0.1, 0.2]), "confidence": 0.0}, "confidence"),
        ({"values": np.array([0.1, 0.2]), "resamples": 0}, "resamples"),
    ],
)
def test_bootstrap_invalid_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    values = kwargs.pop("values")
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(values, **kwargs)  # type: ignore[arg-type]


# --- wilson_interval -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_matches_scipy(xn: tuple[int, int], confidence: float) -> None:
    x, n = xn
    ref = scipy_stats.binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson_interval(x, n, confidence)
    assert low == pytest.approx(ref.low, abs=1e-9)
    assert high == pytest.approx(ref.high, abs=1e-9)


def test_wilson_known_value() -> None:
    # 5/10 at 95%: centre 0.5, half-width z*sqrt(n*p*q + z^2/4)/(n + z^2) with z = 1.959964.
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2365931, abs=1e-6)
    assert high == pytest.approx(0.7634069, abs=1e-6)


def test_wilson_endpoints_are_exact_at_extremes() -> None:
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0
    assert 0.0 < wilson_interval(0, 7)[1] < 1.0
    assert 0.0 < wilson_interval(7, 7)[0] < 1.0


@pytest.mark.parametrize(
    ("successes", "trials", "confidence"),
    [(0, 0, 0.95), (-1, 5, 0.95), (6, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0)],
)
def test_wilson_invalid_arguments_raise(successes: int, trials: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, trials, confidence)


# --- summary -------------------------------------------------------------------------------------


def test_summary_picks_k_1_and_10_when_min_n_is_20() -> None:
    counts = [(20, 3), (50, 10), (200, 0)]
    assert [e.k for e in summary(counts)] == [1, 10]


def test_summary_picks_only_k_1_when_min_n_is_5() -> None:
    counts = [(5, 1), (200, 100)]
    assert [e.k for e in summary(counts)] == [1]


def test_summary_picks_all_ks_when_min_n_is_200() -> None:
    counts = [(200, c) for c in range(0, 200, 10)]
    assert [e.k for e in summary(counts)] == [1, 10, 100]


def test_summary_uses_given_ks() -> None:
    counts = [(20, 3), (20, 10)]
    assert [e.k for e in summary(counts, ks=[5, 2])] == [5, 2]


def test_summary_given_k_above_min_n_raises() -> None:
    with pytest.raises(ValueError, match="n=5 < k=10"):
        summary([(20, 3), (5, 1)], ks=[10])


def test_summary_empty_raises() -> None:
    with pytest.raises(ValueError, match="at least one"):
        summary([])


def test_summary_value_is_mean_of_per_problem_pass_at_k() -> None:
    counts = [(20, 0), (20, 1), (20, 10), (20, 20)]
    by_k = {e.k: e for e in summary(counts)}
    for k in (1, 10):
        expected = np.mean([pass_at_k(n, c, k) for n, c in counts])
        assert by_k[k].value == pytest.approx(expected, abs=1e-12)


def test_summary_counts_problems_and_samples() -> None:
    est = summary([(20, 3), (50, 10), (30, 0)])[0]
    assert (est.problems, est.samples) == (3, 100)


def test_summary_interval_matches_bootstrap_of_per_problem_values() -> None:
    counts = [(10, c) for c in (0, 1, 2, 5, 9, 10, 3, 0, 0, 7)]
    (est,) = summary(counts, ks=[1], confidence=0.9, resamples=500, seed=4)
    per_problem = np.array([c / n for n, c in counts])
    assert (est.low, est.high) == bootstrap_ci(per_problem, confidence=0.9, resamples=500, seed=4)
    assert est.low <= est.value <= est.high


def test_summary_is_deterministic() -> None:
    counts = [(20, c) for c in (0, 4, 9, 20, 1)]
    assert summary(counts, seed=3) == summary(counts, seed=3)


def test_estimate_is_frozen() -> None:
    est = Estimate(k=1, value=0.5, low=0.4, high=0.6, problems=10, samples=100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.value = 0.9  # type: ignore[misc]
