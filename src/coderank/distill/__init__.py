"""Distillation (``coderank distill``): SFT data from a teacher, each row kept for what its execution showed.

The supported API: :func:`distill` with a :class:`DistillConfig`; :func:`manifest_path`; the self-test pieces
(:func:`split_answer`, :func:`mutant`, :data:`MUTANTS`) for inspecting how an answer was judged.
"""

from coderank.distill._pipeline import (
    DECONTAM_DEFAULT,
    MANIFEST_FIELDS,
    OUTPUT_FORMS,
    SELECTIONS,
    DistillConfig,
    distill,
    manifest_path,
    rank,
)
from coderank.distill._selftest import MUTANTS, Split, mutant, split_answer

__all__ = ["DECONTAM_DEFAULT", "MANIFEST_FIELDS", "MUTANTS", "OUTPUT_FORMS", "SELECTIONS", "DistillConfig", "Split",
           "distill", "manifest_path", "mutant", "rank", "split_answer"]
