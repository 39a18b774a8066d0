"""Distillation (``coderank distill``): SFT data from a teacher, each row kept for what its execution showed.

The supported API: :func:`distill` with a :class:`DistillConfig`, returning a :class:`DistillResult`;
:func:`manifest_path` and the typed :class:`DistillManifest`; the self-test pieces (:func:`split_answer`,
:func:`mutant`, :data:`MUTANTS`) for inspecting how an answer was judged.

The package is also the function: ``from coderank import distill`` (or ``coderank.distill``) gives this module, and
calling it calls :func:`distill`, so ``distill(DistillConfig(...))`` works whichever was imported first.
"""

import sys
import types
from typing import Any

from coderank.distill._pipeline import (
    DECONTAM_DEFAULT,
    MANIFEST_FIELDS,
    OUTPUT_FORMS,
    SELECTIONS,
    DistillConfig,
    DistillManifest,
    DistillResult,
    distill,
    manifest_path,
    rank,
)
from coderank.distill._selftest import MUTANTS, Split, mutant, split_answer

__all__ = ["DECONTAM_DEFAULT", "MANIFEST_FIELDS", "MUTANTS", "OUTPUT_FORMS", "SELECTIONS", "DistillConfig",
           "DistillManifest", "DistillResult", "Split", "distill", "manifest_path", "mutant", "rank", "split_answer"]


class _CallableModule(types.ModuleType):
    """The module ``coderank.distill``, which called is :func:`distill`."""

    def __call__(self, config: DistillConfig, progress: Any = None) -> DistillResult:
        return distill(config, progress)  # the module's global: a patched one is used


sys.modules[__name__].__class__ = _CallableModule
