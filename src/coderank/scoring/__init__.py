"""Scoring: unbiased pass@k and its uncertainty."""

from coderank.scoring.paired import (
    BradleyTerryResult,
    Tally,
    bradley_terry,
    bradley_terry_bootstrap,
    mcnemar_exact,
    paired_bootstrap_diff,
    paired_counts,
    paired_pass_rates,
    prob_a_better,
    sign_flip_p,
    verdict,
)
from coderank.scoring.passk import ks_for, pass_at_k, per_problem_pass_at_k
from coderank.scoring.stats import Estimate, bootstrap_ci, summary, wilson_interval

__all__ = [
    "BradleyTerryResult",
    "Estimate",
    "Tally",
    "bootstrap_ci",
    "bradley_terry",
    "bradley_terry_bootstrap",
    "ks_for",
    "mcnemar_exact",
    "paired_bootstrap_diff",
    "paired_counts",
    "paired_pass_rates",
    "pass_at_k",
    "per_problem_pass_at_k",
    "prob_a_better",
    "sign_flip_p",
    "summary",
    "verdict",
    "wilson_interval",
]
