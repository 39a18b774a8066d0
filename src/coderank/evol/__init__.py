"""Evol-Instruct groundwork: seed instructions and the code-evolution prompt methods (WizardCoder recipe)."""

from coderank.evol.methods import (
    ANSWER_TEMPLATE,
    ELIMINATION_PHRASES,
    METHODS,
    EvolMethod,
    choose_method,
    methods_sha256,
)
from coderank.evol.seeds import Seed, bundled_seeds, load_seeds

__all__ = ["ANSWER_TEMPLATE", "ELIMINATION_PHRASES", "METHODS", "EvolMethod", "Seed", "bundled_seeds",
           "choose_method", "load_seeds", "methods_sha256"]
