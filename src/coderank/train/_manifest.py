"""What a training run is (:class:`TrainConfig`) and what it leaves behind (:class:`TrainManifest`).

The manifest is written when training starts (``status: training``), after every run of the command, and
when the outputs are final (``status: done``). It is also how a second run of the same command knows whether
it may resume: the data, the base weights and every hyperparameter that changes the result must be the same
(:func:`compatibility_problems`); options that do not change the weights (how often to save, what to select
on) may differ.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import coderank
from coderank.errors import UsageError
from coderank.paths import write_atomic

MANIFEST = "manifest.json"
VERSION = 1
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
DTYPES = ("auto", "bf16", "fp32", "fp16")
_LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "safetensors", "llama-cpp-python",
              "gguf", "numpy")


@dataclass(frozen=True)
class TrainConfig:
    """One fine-tuning run.

    Attributes:
        data: JSONL training file (see :mod:`coderank.train._data` for the row formats).
        out: Output folder; checkpoints, the adapter (or model), its GGUF, ``manifest.json``, ``loss.png``.
        base: ``default`` or ``gemma-270m`` (an embedded GGUF, dequantized by transformers), a ``.gguf`` file
            (``gguf:PATH``) or a transformers model directory (``hf:DIR`` or the plain path).
        full: Full fine-tuning instead of LoRA.
        epochs: Passes over the data (ignored when ``max_steps`` is set).
        max_steps: Optimizer steps to run (None: from ``epochs``).
        lr: Peak learning rate (None: 2e-4 for LoRA, 2e-5 for full fine-tuning).
        batch_size: Sequences per forward pass (on 2 CPU cores more than 2 does not help).
        grad_accum: Forward passes per optimizer step. ``batch_size * grad_accum`` is the global batch: under a
            launcher with N processes each process takes 1/N of it (see :mod:`coderank.train.distributed`).
        max_len: Tokens per sequence; longer examples lose the end of their answer, and one whose prompt
            alone fills it is dropped (both counted in the manifest).
        lora_r: LoRA rank.
        lora_alpha: LoRA scale numerator (the update is scaled by alpha / r).
        lora_dropout: Dropout on the LoRA input.
        target_modules: Linear layers that get an adapter.
        prompt_format: ``chat`` (the base's chat template) or ``alpaca`` (the WizardCoder prompt); the CLI picks
            ``alpaca`` for ``gemma-270m``, which has no chat template (:func:`default_prompt_format`).
        save_steps: Checkpoint every this many steps (None: about four checkpoints per run); the last step is
            always saved.
        seed: Seed of initialisation, shuffling and dropout.
        dtype: ``auto`` (bf16 where the CPU or GPU supports it, fp32 for full fine-tuning), ``bf16``, ``fp32`` or
            ``fp16`` (GPU only) — the dtype the base weights are held in.
        resume: Continue from the latest compatible checkpoint in ``out``; False refuses a folder that holds one.
        select_on: Dev set to choose the best checkpoint on (``classic`` or a problem file); None: the last step.
        allow_test_selection: Permit a dev set that is (or overlaps) a reported benchmark.
        select_max_tokens: Generation limit per dev problem.
        gguf: Convert the result to GGUF for the llama.cpp fast path (``lora:DIR``).
        threads: CPU threads (default: all cores); several processes on one machine share them.
    """

    data: Path
    out: Path
    base: str = "default"
    full: bool = False
    epochs: float = 3.0
    max_steps: int | None = None
    lr: float | None = None
    batch_size: int = 2
    grad_accum: int = 4
    max_len: int = 512
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = LORA_TARGETS
    prompt_format: str = "chat"
    save_steps: int | None = None
    seed: int = 0
    dtype: str = "auto"
    resume: bool = True
    select_on: str | None = None
    allow_test_selection: bool = False
    select_max_tokens: int = 512
    gguf: bool = True
    threads: int | None = None

    def validate(self) -> None:
        """Raises: UsageError for an option out of range, naming the option."""
        checks = [
            (self.epochs > 0, "--epochs must be positive"),
            (self.max_steps is None or self.max_steps >= 1, "--max-steps must be at least 1"),
            (self.lr is None or self.lr > 0, "--lr must be positive"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.grad_accum >= 1, "--grad-accum must be at least 1"),
            (self.max_len >= 8, "--max-len must be at least 8"),
            (self.lora_r >= 1, "--lora-r must be at least 1"),
            (self.lora_alpha > 0, "--lora-alpha must be positive"),
            (0 <= self.lora_dropout < 1, "--lora-dropout must be in [0, 1)"),
            (self.save_steps is None or self.save_steps >= 1, "--save-steps must be at least 1"),
            (self.select_max_tokens >= 1, "--select-max-tokens must be at least 1"),
            (self.threads is None or self.threads >= 1, "--threads must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        if self.dtype not in DTYPES:
            raise UsageError(f"unknown --dtype {self.dtype!r}", f"use one of: {', '.join(DTYPES)}")
        if self.prompt_format not in ("chat", "alpaca"):
            raise UsageError(f"unknown --prompt-format {self.prompt_format!r}", "use chat or alpaca")

    @property
    def learning_rate(self) -> float:
        """``lr``, or the method's default."""
        return self.lr if self.lr is not None else (2e-5 if self.full else 2e-4)

    def hyperparameters(self, dtype: str) -> dict[str, Any]:
        """Everything that changes the trained weights (compared on resume), with ``dtype`` resolved."""
        hp: dict[str, Any] = {
            "method": "full" if self.full else "lora", "epochs": self.epochs, "max_steps": self.max_steps,
            "learning_rate": self.learning_rate, "lr_scheduler": "cosine", "warmup_ratio": 0.03,
            "optimizer": "adamw_torch", "weight_decay": 0.0, "batch_size": self.batch_size,
            "grad_accum": self.grad_accum, "max_len": self.max_len, "prompt_format": self.prompt_format,
            "dtype": dtype, "seed": self.seed, "loss": "response tokens only",
        }
        if not self.full:
            hp.update({"lora_r": self.lora_r, "lora_alpha": self.lora_alpha, "lora_dropout": self.lora_dropout,
                       "target_modules": list(self.target_modules)})
        return hp


@dataclass
class TrainManifest:
    """``DIR/manifest.json``: everything needed to reproduce a training run and to trust its outputs.

    Attributes:
        version: Layout version of this file (1).
        status: ``training`` until the outputs are final, then ``done``.
        coderank_version: coderank that wrote the file.
        created_at: Unix time of the first run of the command for this folder.
        updated_at: Unix time of the last write.
        data: ``path``, ``sha256`` (of the file's bytes), ``rows``, ``used`` (rows trained on), ``dropped`` (rows
            whose prompt alone fills ``max_len``) and ``dropped_lines`` (the first 100 as ``FILE:LINE``),
            ``truncated`` (rows that lost the end of their answer), ``tokens`` and ``response_tokens`` (tokens the
            loss covers) per epoch.
        base: ``spec``, ``sha256`` (tagged sha256 of the base weights: the GGUF file's, or over a directory's
            weight files), ``weights`` (file -> sha256), ``gguf`` (the GGUF llama.cpp applies the adapter to).
        method: ``lora`` or ``full``.
        hyperparameters: :meth:`TrainConfig.hyperparameters` — compared on resume.
        seed: The seed (also in ``hyperparameters``).
        prompt_format: ``name`` (``chat`` or ``alpaca``) and ``eval_template`` (the ``coderank eval
            --prompt-template`` that asks in the same format).
        libraries: Versions of Python, torch, transformers, trl, peft and the rest, the platform and the
            processor (``cpu``).
        device: ``kind`` (cpu or cuda), ``name``, ``threads`` (per process), ``dtype``.
        distributed: The processes of the latest run of the command: ``world_size``, ``processes_per_machine``,
            ``backend`` (gloo, nccl; null for one process), ``global_batch`` (sequences per optimizer step over all
            processes), ``per_device_batch_size`` and ``grad_accum_per_process`` (how each process gets its share),
            ``threads_per_process``. Empty in manifests written before coderank recorded it.
        progress: ``steps_done``, ``steps_planned``, ``tokens_seen`` (input tokens, padding excluded),
            ``train_seconds``, ``step_seconds`` (``mean``, ``median``, ``min``, ``max``, ``n`` over this folder's
            steps), ``tokens_per_second`` and ``peak_rss_bytes`` (largest of the runs).
        sessions: One entry per run of the command: ``started_at``, ``resumed_from`` (a checkpoint or null),
            ``first_step``, ``last_step``, ``world_size`` (processes), ``seconds``, ``tokens_per_second``,
            ``peak_rss_bytes`` (of the main process).
        loss: ``[step, training loss]`` pairs (averaged over the step's accumulated batches).
        checkpoints: Checkpoint folders under ``checkpoints/``, oldest first.
        selection: ``rule``; where a dev set was used also ``dev_set`` (what, its hash, test overlap and whether
            test selection was allowed), ``scores`` per checkpoint and ``chosen``.
        outputs: Files of the result and their sha256, the GGUF, the ``model_specs`` that load it, and ``notice``
            (the NOTICE file the base model's licence requires, e.g. Gemma's; absent when none is needed).
    """

    version: int = VERSION
    status: str = "training"
    coderank_version: str = coderank.__version__
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    method: str = "lora"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    prompt_format: dict[str, Any] = field(default_factory=dict)
    libraries: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    distributed: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    loss: list[list[float]] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)
    selection: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data, as written to the file."""
        return dataclasses.asdict(self)

    def write(self, folder: Path) -> None:
        """Write ``folder/manifest.json`` atomically."""
        self.updated_at = time.time()
        write_atomic(folder / MANIFEST, json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def read(cls, folder: Path) -> TrainManifest | None:
        """The manifest in ``folder``, or None if there is none.

        Raises:
            UsageError: the file is unreadable, not a training manifest, or from a newer coderank.
        """
        path = folder / MANIFEST
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: unreadable ({exc})", "delete the folder or choose another --out") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("version"), int) or "hyperparameters" not in doc:
            raise UsageError(f"{path} is not a coderank train manifest", "choose another --out")
        if doc["version"] > VERSION:
            raise UsageError(f"{path} was written by a newer coderank (manifest version {doc['version']})",
                             "upgrade coderank or choose another --out")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


def compatibility_problems(old: TrainManifest, data_sha: str, base_sha: str, hp: dict[str, Any]) -> list[str]:
    """Why a folder's checkpoints cannot be resumed with this data, base and hyperparameters (empty: they can)."""
    problems = []
    if old.data.get("sha256") != data_sha:
        problems.append(f"the data differs (sha256 {str(old.data.get('sha256'))[:19]}… then, {data_sha[:19]}… now)")
    if old.base.get("sha256") != base_sha:
        problems.append(f"the base weights differ ({str(old.base.get('sha256'))[:19]}… then, {base_sha[:19]}… now)")
    for key in sorted(set(old.hyperparameters) | set(hp)):
        if old.hyperparameters.get(key) != hp.get(key):
            problems.append(f"{key} was {old.hyperparameters.get(key)!r}, now {hp.get(key)!r}")
    return problems


def library_versions() -> dict[str, Any]:
    """Python, the platform, the processor and the versions of the libraries training depends on (None: not installed).

    The processor (``cpu``, its model name) because CPU training repeated itself bit for bit on the same kind of
    processor with the same dtype and thread count (the verified-distill experiment's seed 1): the records alone
    then tell "same hardware, same bits" from "other arithmetic".
    """
    from coderank.record import cpu_model

    versions: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform(),
                                "cpu": cpu_model(), "coderank": coderank.__version__}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
