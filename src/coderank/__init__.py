"""coderank: build and judge code LLMs reproducibly.

The library's face, what the command line is a thin layer over::

    from coderank import ScoreConfig, score, EvalConfig, evaluate
    result = score(ScoreConfig(samples=Path("samples.jsonl")))   # ScoreResult: estimates, status_counts, ...
    run = evaluate(EvalConfig(model="default", limit=10))         # EvalResult: run_id, pass_at_1, manifest, ...

Each function returns a typed result whose ``to_json()`` is the document its command prints with ``--json``.
:func:`score` (a sample file) with :class:`ScoreConfig` and :class:`ScoreResult`; :func:`evaluate`,
:func:`rescore` and :func:`verify` (model runs) with :class:`EvalConfig`, :class:`RescoreConfig`,
:class:`EvalResult`, :class:`RescoreResult` and :class:`VerifyResult`; :func:`evolve` (Evol-Instruct data) with
:class:`EvolConfig` and :class:`EvolResult`; :func:`distill` (verified SFT data) with :class:`DistillConfig` and
:class:`DistillResult`; :func:`train` (fine-tuning) with :class:`TrainConfig`, :class:`TrainResult` and
:class:`TrainEvent`; the options they share (:class:`Limits`, :class:`BackendOptions`), the estimate they report
(:class:`Estimate`) and the errors they raise (:class:`CoderankError`, :class:`UsageError`,
:class:`InputError`, :class:`SandboxError`).

Nothing is imported until it is used: ``import coderank`` stays light (no numpy, no model libraries). ``train``
and ``distill`` are also the names of their subpackages; each of those modules is callable as its function,
so ``coderank.train(config)`` and ``coderank.train.TrainConfig`` both work, in any import order.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (type checkers know the name)

__version__ = "0.1.0"

# name -> the module that defines it (imported on first use).
_FACE = {
    "score": "coderank.api", "ScoreConfig": "coderank.api", "ScoreResult": "coderank.api",
    "evaluate": "coderank.evaluation", "EvalConfig": "coderank.evaluation", "EvalResult": "coderank.evaluation",
    "rescore": "coderank.evaluation", "RescoreConfig": "coderank.evaluation", "RescoreResult": "coderank.evaluation",
    "VerifyResult": "coderank.evaluation",
    "evolve": "coderank.evol.evolution", "EvolConfig": "coderank.evol.evolution",
    "EvolResult": "coderank.evol.evolution",
    "DistillConfig": "coderank.distill", "DistillResult": "coderank.distill",
    "TrainConfig": "coderank.train", "TrainResult": "coderank.train", "TrainEvent": "coderank.train",
    "Limits": "coderank.execution.sandbox", "BackendOptions": "coderank.models.backends",
    "Estimate": "coderank.scoring",
    "CoderankError": "coderank.errors", "UsageError": "coderank.errors", "InputError": "coderank.errors",
    "SandboxError": "coderank.errors",
}
_RENAMED = {"verify": ("coderank.evaluation", "verify_run")}
_CALLABLE_PACKAGES = ("train", "distill")  # the subpackage is the function (see its _CallableModule)

__all__ = [
    "BackendOptions", "CoderankError", "DistillConfig", "DistillResult", "Estimate", "EvalConfig", "EvalResult",
    "EvolConfig", "EvolResult", "InputError", "Limits", "RescoreConfig", "RescoreResult", "SandboxError",
    "ScoreConfig", "ScoreResult", "TrainConfig", "TrainEvent", "TrainResult", "UsageError", "VerifyResult",
    "__version__", "distill", "evaluate", "evolve", "rescore", "score", "train", "verify",
]

if TYPE_CHECKING:
    from typing import Any

    from coderank.api import ScoreConfig, ScoreResult, score
    from coderank.distill import DistillConfig, DistillResult, distill
    from coderank.errors import CoderankError, InputError, SandboxError, UsageError
    from coderank.evaluation import (
        EvalConfig,
        EvalResult,
        RescoreConfig,
        RescoreResult,
        VerifyResult,
        evaluate,
        rescore,
    )
    from coderank.evaluation import verify_run as verify
    from coderank.evol.evolution import EvolConfig, EvolResult, evolve
    from coderank.execution.sandbox import Limits
    from coderank.models.backends import BackendOptions
    from coderank.scoring import Estimate
    from coderank.train import TrainConfig, TrainEvent, TrainResult, train


def __getattr__(name: str) -> Any:
    import importlib

    if name in _CALLABLE_PACKAGES:
        return importlib.import_module(f"coderank.{name}")  # importing it makes it coderank.<name> for good
    if name in _FACE or name in _RENAMED:
        module, attr = _RENAMED.get(name, (_FACE.get(name, ""), name))
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
