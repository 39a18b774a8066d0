"""Scoring: unbiased pass@k and its uncertainty."""

from coderank.scoring.passk import ks_for, pass_at_k, per_problem_pass_at_k
from coderank.scoring.stats import Estimate, bootstrap_ci, summary, wilson_interval

__all__ = [
    "Estimate",
    "bootstrap_ci",
    "ks_for",
    "pass_at_k",
    "per_problem_pass_at_k",
    "summary",
    "wilson_interval",
]
