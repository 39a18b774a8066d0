"""Fine-tuning (``coderank train``): LoRA or full SFT with TRL + PEFT, on the CPU or a GPU.

The supported API: :func:`train` with a :class:`TrainConfig`; the data helpers (:func:`read_examples`,
:func:`format_example`, :func:`encode`); the dev-set guard (:func:`check_dev_set`); the GGUF converters
(:func:`ensure_converters`, :func:`convert_lora`, :func:`convert_model`). Heavy libraries (torch,
transformers, trl, peft) are imported only when training starts.

The package is also the function: ``from coderank import train`` (or ``coderank.train``) gives this module, and
calling it calls :func:`train`, so ``train(TrainConfig(...))`` works whichever was imported first.
"""

import sys
import types
from typing import Any

from coderank.train._convert import convert_lora, convert_model, ensure_converters
from coderank.train._data import (
    ALPACA,
    EVAL_TEMPLATE,
    FORMATS,
    IGNORE_INDEX,
    Example,
    default_prompt_format,
    encode,
    format_example,
    read_examples,
)
from coderank.train._manifest import TrainConfig, TrainManifest, compatibility_problems
from coderank.train._run import TrainEvent, TrainResult, train
from coderank.train._select import TEST_BENCHMARKS, DevSet, check_dev_set, test_overlap

__all__ = [
    "ALPACA", "EVAL_TEMPLATE", "FORMATS", "IGNORE_INDEX", "TEST_BENCHMARKS", "DevSet", "Example", "TrainConfig",
    "TrainEvent", "TrainManifest", "TrainResult", "check_dev_set", "compatibility_problems", "convert_lora",
    "convert_model", "default_prompt_format", "encode", "ensure_converters", "format_example", "read_examples",
    "test_overlap", "train",
]


class _CallableModule(types.ModuleType):
    """The module ``coderank.train``, which called is :func:`train`."""

    def __call__(self, config: TrainConfig, progress: Any = None) -> TrainResult:
        return train(config, progress)  # the module's global: a patched one is used


sys.modules[__name__].__class__ = _CallableModule
