"""What the commands that make training data (``evol``, ``distill``) are configured by in common.

:class:`DataGenConfig` holds the options they share: where the rows go, the model that writes them and how it
samples, which benchmarks the rows are checked against, and where the work runs and is stored.
:class:`~coderank.evol.evolution.EvolConfig` and :class:`~coderank.distill.DistillConfig` add their own.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

from coderank.models.backends import BackendOptions

DECONTAM_DEFAULT = ("humaneval", "mbpp")
"""The benchmarks coderank reports scores on (HumanEval, MBPP's test split): rows are checked against them."""


@dataclass(frozen=True)
class DataGenConfig:
    """The options of a data-making run that ``evol`` and ``distill`` share.

    Only the output file may be given without its name; every other option is a keyword.

    Attributes:
        out: The JSONL file to write (``DATA.manifest.json`` is written beside ``DATA.jsonl``).
        model: The spec of the model that writes the rows (anything ``coderank eval -m`` accepts).
        temperature: Sampling temperature of the model's calls.
        top_p: Nucleus sampling of the model's calls.
        seed: The run seed (how each command uses it: its config's).
        limit: Only the first N inputs (seeds, problems or instructions).
        decontam: Benchmarks the rows are checked against (names or problem files; default
            :data:`DECONTAM_DEFAULT`); empty: none (not advised).
        embeddings: Use the embedding detector of ``coderank contam`` too (needs ``coderank[rigor]``).
        workers: Sandbox workers.
        backend: Backend options (server URL, concurrency, threads, ...).
        store: Database file (default: the data home's).
    """

    out: Path
    _: KW_ONLY
    model: str = "default"
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0
    limit: int | None = None
    decontam: tuple[str, ...] = DECONTAM_DEFAULT
    embeddings: bool = True
    workers: int | None = None
    backend: BackendOptions = field(default_factory=BackendOptions)
    store: Path | None = None
