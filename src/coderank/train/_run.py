"""``coderank train``: supervised fine-tuning with TRL's ``SFTTrainer`` and PEFT (LoRA by default).

Design choices:

- **The data is tokenized here, not by TRL** (:mod:`coderank.train._data`): prompt and answer separately, the
  labels ``-100`` on the prompt, so the loss covers the answer only and the tokens match inference exactly. TRL
  gets the finished ``input_ids``/``labels`` rows (``skip_prepare_dataset``) and supplies the trainer, the
  PEFT wrapping and the padding collator.
- **One copy of the base weights.** The base loads once, in the training dtype (the embedded GGUF is
  dequantized by transformers: ~45 s); PEFT wraps it in place; GGUF conversion runs in a subprocess that reads
  only the adapter and the base's ``config.json``; the dev-set evaluations run after the torch model is freed.
  The GGUF quantizer marker is cleared right after loading — the weights are plain floats by then, and
  transformers would otherwise refuse to save them ("quantized with gguf, not serializable").
- **Checkpoints and resume.** Trainer checkpoints (adapter or model, optimizer, scheduler, RNG, step) go to
  ``DIR/checkpoints/checkpoint-N``; the last step is always saved. Running the same command again resumes
  from the latest checkpoint if the data, base and hyperparameters are the same, and refuses otherwise.
- **Outputs load as model specs**: the chosen checkpoint's adapter is copied to ``DIR`` (``hf:DIR``: base +
  adapter through transformers) and converted to ``DIR/adapter.gguf`` (``lora:DIR``: llama.cpp, the base GGUF
  plus the adapter — as fast as the base). A full fine-tune is a model directory (``hf:DIR``) and
  ``DIR/model.gguf`` (``gguf:DIR/model.gguf``, q8_0).
- **Data-parallel** under ``accelerate launch`` (or ``coderank train --num-processes N``, which runs it): the
  Trainer runs DDP; each process takes its share of the global batch ``batch_size * grad_accum``, and only the
  main process writes (manifest, base config, NOTICE, GGUF, selection, loss chart; the Trainer saves checkpoints
  from it too). See :mod:`coderank.train.distributed`.
- **Speed** (2 CPU cores, AVX-512 bf16): LoRA r=16 on q/k/v/o of the 0.5B model runs about 2.5 s per 256-token
  sequence in bf16 and 4.6 s in fp32, so ``auto`` picks bf16 where torch reports CPU bf16 support (fp32 for full
  fine-tuning, whose small updates bf16 weights would round away). Batches above 2 do not help on a CPU. On a
  machine busy with other jobs, fewer threads win: measured 4.4 s/step with ``--threads 1`` against 10-27 s with
  two oversubscribed threads (``benchmarks/train_speed.py``).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import math
import os
import resource
import shutil
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coderank.digest import sha256_file
from coderank.errors import CoderankError, UsageError, install_hint
from coderank.models.backends import ADAPTER_BASE_FILE, BaseModel, resolve_base
from coderank.train import _convert, _select, distributed
from coderank.train._data import EVAL_TEMPLATE, EncodedSet, Example, data_sha256, encode_all, read_examples
from coderank.train._manifest import TrainConfig, TrainManifest, compatibility_problems, library_versions
from coderank.train._plot import plot_loss

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
# Files of a trainer checkpoint that only resuming needs; everything else in it is the model or adapter.
_TRAINER_FILES = ("optimizer.pt", "scheduler.pt", "trainer_state.json", "training_args.bin", "README.md",
                  "adapter.gguf", "model.gguf", ADAPTER_BASE_FILE)
CPU_PLAIN_LOSS = True
"""On a CPU, use transformers' plain loss instead of TRL's fused LM head (see :func:`_plain_loss_trainer`)."""
INSTALL_HINT = install_hint("train")


@dataclass(frozen=True)
class TrainEvent:
    """A progress report (the CLI prints them to stderr).

    Attributes:
        phase: ``loading``, ``training``, ``converting``, ``selecting`` or ``done``.
        message: A human-readable line.
        step: Optimizer steps done (``training``), or candidates done (``selecting``).
        total: Steps planned, or candidates.
        loss: Training loss of the step.
        seconds_per_step: Mean wall seconds per optimizer step so far in this run of the command.
        tokens_per_second: Input tokens per second so far in this run of the command.
        eta_seconds: Estimated seconds to the last step.
    """

    phase: str
    message: str = ""
    step: int = 0
    total: int = 0
    loss: float | None = None
    seconds_per_step: float | None = None
    tokens_per_second: float | None = None
    eta_seconds: float | None = None


ProgressFn = Callable[[TrainEvent], None]


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes:
        out: The output folder.
        manifest: Its manifest, as written.
        resumed_from: The checkpoint this run continued from (None: started fresh).
        steps_this_run: Optimizer steps run by this call.
        warnings: What the CLI shows after the summary.
        is_main: False in the processes of a data-parallel run other than the main one: they trained but wrote
            nothing, and their manifest is not the final one (the CLI prints nothing for them).
    """

    out: Path
    manifest: TrainManifest
    resumed_from: str | None = None
    steps_this_run: int = 0
    warnings: list[str] = field(default_factory=list)
    is_main: bool = True

    def to_json(self) -> dict[str, Any]:
        """The document ``coderank train --json`` prints.

        Keys: ``out``, ``status``, ``method``, ``resumed_from``, ``steps_this_run``, ``steps``,
        ``tokens_seen``, ``tokens_per_second``, ``seconds_per_step``, ``peak_rss_bytes``, ``final_loss``,
        ``selection``, ``outputs`` (files, sha256, ``model_specs``, ``eval_template``), ``warnings`` and the whole
        ``manifest``.
        """
        m = self.manifest
        return {
            "out": str(self.out), "status": m.status, "method": m.method, "resumed_from": self.resumed_from,
            "steps_this_run": self.steps_this_run, "steps": m.progress.get("steps_done"),
            "tokens_seen": m.progress.get("tokens_seen"), "tokens_per_second": m.progress.get("tokens_per_second"),
            "seconds_per_step": (m.progress.get("step_seconds") or {}).get("mean"),
            "peak_rss_bytes": m.progress.get("peak_rss_bytes"),
            "final_loss": m.loss[-1][1] if m.loss else None, "selection": m.selection, "outputs": m.outputs,
            "warnings": self.warnings, "manifest": m.to_json(),
        }


def _libs() -> tuple[Any, Any, Any, Any, Any]:
    try:
        import datasets
        import peft
        import torch
        import transformers
        import trl
    except ImportError as exc:
        raise CoderankError(f"training needs torch, transformers, trl, peft and datasets ({exc.name} is missing)",
                            INSTALL_HINT) from exc
    return torch, transformers, trl, peft, datasets


def resolve_dtype(requested: str, full: bool, cuda: bool, torch: Any) -> tuple[str, bool]:
    """The dtype the weights are held in, and whether bf16 autocast runs on top (full fine-tuning on a GPU).

    Raises:
        UsageError: fp16 on a CPU.
    """
    if requested == "fp16" and not cuda:
        raise UsageError("--dtype fp16 needs a GPU", "use bf16 or fp32 on a CPU")
    if cuda:
        bf16_ok = bool(torch.cuda.is_bf16_supported())
    else:
        probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
        amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
        bf16_ok = bool((probe and probe()) or (amx and amx()))
    if requested != "auto":
        if requested == "bf16" and not bf16_ok:
            log.warning("bf16 requested but this %s reports no bf16 support: it will be slow", "GPU" if cuda else "CPU")
        return requested, False
    if full:  # bf16 weights would round small updates away: keep fp32 master weights
        return "fp32", bool(cuda and bf16_ok)
    return ("bf16" if bf16_ok else "fp32"), False


def loading_message(config: TrainConfig, base: BaseModel, dtype: str, cuda: bool) -> str:
    """What loading the base says: the dtype, and why it is fp32 where a user may have expected bf16."""
    notes = ["a GGUF is dequantized: ~45 s for 0.5B"] if base.gguf_file else []
    if config.dtype == "auto" and dtype == "fp32" and not cuda and not config.full:
        notes.append("this CPU has no bf16 instructions (AVX-512 BF16 or AMX), so not bf16: a step takes about "
                     "twice as long, and the adapter differs from one trained where bf16 is chosen")
    return f"base weights {config.base} as {dtype}" + "".join(f" ({n})" for n in notes)


def _rss_now() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _prepare_out(config: TrainConfig, data_sha: str, base: BaseModel, hp: dict[str, Any]
                 ) -> tuple[TrainManifest | None, Path | None]:
    """The old manifest to continue and the checkpoint to resume from, after the compatibility checks."""
    out = config.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", "give a folder")
    old = TrainManifest.read(out) if out.is_dir() else None
    if old is None and out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty and holds no coderank training run",
                         "choose a new or empty folder")
    found = _checkpoints(out / CHECKPOINTS)
    latest = found[-1][1] if found else None
    if old is None:
        return None, None
    problems = compatibility_problems(old, data_sha, base.sha256, hp)
    if latest is None:  # nothing to lose: start over in the same folder
        return (None if problems else old), None
    if not config.resume:
        raise UsageError(f"{out} already holds checkpoints (latest {latest.name}) and --no-resume was given",
                         "drop --no-resume to continue from them, or choose another --out")
    if problems:
        raise UsageError(f"{out} holds checkpoints of a run with other settings, so they cannot be resumed: "
                         + "; ".join(problems[:6]),
                         "rerun with the original data and options to resume, or choose another --out")
    return old, latest


def _checkpoints(root: Path) -> list[tuple[int, Path]]:
    """``(step, folder)`` of the complete checkpoints under ``root``, oldest first."""
    found = []
    if root.is_dir():
        for p in root.iterdir():
            name = p.name
            if p.is_dir() and name.startswith("checkpoint-") and name[11:].isdigit() and (
                    p / "trainer_state.json").is_file():
                found.append((int(name[11:]), p))
    return sorted(found)


def _base_record(base: BaseModel, base_gguf: Path | None) -> dict[str, Any]:
    from coderank.models.embedded import get

    if get(base.spec) is not None:  # an embedded model: found again on each machine, by its spec
        return {"version": 1, "base": base.spec, "sha256": base.sha256, "gguf": None, "gguf_sha256": None}
    spec = base.model_dir if base.gguf_file is None else str(Path(base.model_dir) / base.gguf_file)
    gguf_sha = sha256_file(base_gguf) if base_gguf is not None else None
    return {"version": 1, "base": spec, "sha256": base.sha256, "gguf": str(base_gguf) if base_gguf else None,
            "gguf_sha256": gguf_sha}


NOTICE = "NOTICE"
"""File written next to a model derived from an embedded model whose licence asks for a notice (Gemma)."""


def _write_notice(base: str, out: Path) -> None:
    """Write ``DIR/NOTICE`` (and a copy of the licence text) when the base model's licence requires them.

    The Gemma Terms of Use (section 3.1) ask that every distribution of Gemma or of a model derived from it
    carry a "Notice" text file with their notice, a copy of the terms, and a prominent note that the files were
    modified; a fine-tuned adapter or model is such a derivative, so the folder carries all three from the start.
    """
    from coderank.models.embedded import get

    model = get(base)
    if model is None or model.notice is None:
        return
    terms = model.terms_file()
    if terms is not None:
        shutil.copyfile(terms, out / terms.name)
    copy = f"A copy of the terms: {terms.name}." if terms is not None else "The terms: ai.google.dev/gemma/terms."
    (out / NOTICE).write_text(
        f"{model.notice}\n\n"
        f"This folder holds a model derived from {model.title} ({model.spec} in coderank): its weights were modified "
        "by fine-tuning with `coderank train` (see manifest.json for the data and settings). Its use and any "
        "further distribution are subject to the use restrictions in section 3.2 of those terms. "
        f"{copy}\n", encoding="utf-8")


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    import json

    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _planned_steps(config: TrainConfig, rows: int) -> int:
    if config.max_steps:
        return config.max_steps
    per_epoch = max(math.ceil(math.ceil(rows / config.batch_size) / config.grad_accum), 1)
    return max(math.ceil(config.epochs * per_epoch), 1)


def _make_callback(transformers: Any, ctx: dict[str, Any]) -> Any:
    """A TrainerCallback that times steps, records loss, saves the last step and keeps the manifest current."""

    class _Callback(transformers.TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            ctx["first_step"] = state.global_step
            ctx["first_tokens"] = state.num_input_tokens_seen
            ctx["train_start"] = ctx["mark"] = time.monotonic()
            ctx["planned"] = state.max_steps

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            # Wall time from one step's end to the next: data, forward, backward, optimizer, logging and saving.
            now = time.monotonic()
            ctx["step_seconds"].append(now - ctx["mark"])
            ctx["mark"] = now
            rss = _rss_now()
            if rss is not None:
                ctx["train_rss_max"] = max(ctx.get("train_rss_max", 0), rss)
            if state.global_step >= state.max_steps:
                control.should_save = True  # the last step is always a checkpoint (and a candidate)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if not logs or "loss" not in logs:
                return
            loss = float(logs["loss"])
            manifest: TrainManifest = ctx["manifest"]
            manifest.loss = [x for x in manifest.loss if x[0] < state.global_step] + [[state.global_step, loss]]
            elapsed = time.monotonic() - ctx["train_start"]
            done = state.global_step - ctx["first_step"]
            per_step = elapsed / done if done else None
            tokens = state.num_input_tokens_seen - ctx["first_tokens"]
            ctx["emit"](TrainEvent(
                "training", step=state.global_step, total=state.max_steps, loss=loss, seconds_per_step=per_step,
                tokens_per_second=tokens / elapsed if elapsed > 0 else None,
                eta_seconds=per_step * (state.max_steps - state.global_step) if per_step else None))

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if not state.is_world_process_zero:  # the Trainer saved the checkpoint from rank 0 as well
                return
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                _write_json(folder / ADAPTER_BASE_FILE, ctx["base_record"])
            _update_progress(ctx, state)
            ctx["manifest"].write(ctx["out"])

    return _Callback()


def _update_progress(ctx: dict[str, Any], state: Any) -> None:
    manifest: TrainManifest = ctx["manifest"]
    session = ctx["session"]
    elapsed = time.monotonic() - ctx.get("train_start", time.monotonic())
    tokens = state.num_input_tokens_seen - ctx.get("first_tokens", 0)
    session.update({"last_step": state.global_step, "seconds": round(elapsed, 2),
                    "tokens_per_second": round(tokens / elapsed, 1) if elapsed > 0 else None,
                    "peak_rss_bytes": _peak_rss(), "train_rss_max_bytes": ctx.get("train_rss_max")})
    all_steps = ctx["old_step_seconds"] + ctx["step_seconds"]
    prog = manifest.progress
    prog.update({"steps_done": state.global_step, "steps_planned": state.max_steps,
                 "tokens_seen": int(state.num_input_tokens_seen),
                 "train_seconds": round(ctx["old_train_seconds"] + elapsed, 2),
                 "peak_rss_bytes": max(prog.get("peak_rss_bytes") or 0, _peak_rss())})
    if all_steps:
        prog["step_seconds"] = {"mean": round(statistics.fmean(all_steps), 3),
                                "median": round(statistics.median(all_steps), 3),
                                "min": round(min(all_steps), 3), "max": round(max(all_steps), 3), "n": len(all_steps),
                                "all": [round(s, 3) for s in all_steps]}
    if prog["train_seconds"]:
        prog["tokens_per_second"] = round(prog["tokens_seen"] / prog["train_seconds"], 1)


def train(config: TrainConfig, progress: ProgressFn | None = None) -> TrainResult:
    """Fine-tune (or resume fine-tuning), choose the result, convert it, and write the manifest.

    Raises:
        UsageError: bad options, an incompatible output folder, or a test set as dev set.
        InputError: bad training data (naming ``FILE:LINE``).
        CoderankError: missing libraries (naming the extra), a base model that does not load, or a failed
            GGUF conversion.
    """
    config.validate()
    examples = read_examples(config.data)
    data_sha = data_sha256(config.data)
    dev = _select.check_dev_set(config.select_on, config.allow_test_selection) if config.select_on else None
    base = resolve_base(config.base)
    torch, transformers, trl, peft, datasets = _libs()
    cuda = bool(torch.cuda.is_available())
    dtype, autocast = resolve_dtype(config.dtype, config.full, cuda, torch)
    hp = config.hyperparameters(dtype + ("+bf16-autocast" if autocast else ""))
    world = distributed.World.join(cuda)
    try:
        return _train_in(world, config, progress, examples, data_sha, dev, base,
                         (torch, transformers, trl, peft, datasets), cuda, dtype, autocast, hp)
    finally:
        world.close()


def _train_in(world: distributed.World, config: TrainConfig, progress: ProgressFn | None, examples: list[Example],
              data_sha: str, dev: _select.DevSet | None, base: BaseModel, libs: tuple[Any, ...], cuda: bool,
              dtype: str, autocast: bool, hp: dict[str, Any]) -> TrainResult:
    """:func:`train` from the output folder's checks on, in one process of ``world`` (the only one, or one of many)."""
    torch, transformers, datasets = libs[0], libs[1], libs[4]
    emit: ProgressFn = (progress or (lambda e: None)) if world.is_main else (lambda e: None)
    warns = [w for w in (distributed.lone_cpu_launch_warning(),) if w and world.is_main]
    split = distributed.split_global_batch(config.batch_size, config.grad_accum, world.size)
    old, latest = _prepare_out(config, data_sha, base, hp)  # every process checks, before any of them writes
    seen = world.gather(latest.name if latest else None)
    if len(set(seen)) > 1:
        raise CoderankError(f"the processes see different checkpoints in {config.out} ({', '.join(map(str, seen))})",
                            "--out must be a folder that every process (every machine) sees, on a shared filesystem")
    if world.is_main:
        config.out.mkdir(parents=True, exist_ok=True)
    threads = distributed.threads_per_process(config.threads, world.local_size)
    torch.set_num_threads(threads)
    # transformers' and datasets' own bars and notices would interleave with our progress on stderr; quieten them
    # for the duration of the run and restore the caller's settings afterwards.
    verbosity, bars = transformers.logging.get_verbosity(), transformers.utils.logging.is_progress_bar_enabled()
    data_bars = datasets.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        result = _train(config, emit, examples, data_sha, dev, base, libs, cuda, dtype, autocast, hp, old, latest,
                        threads, world, split)
        result.warnings[:0] = warns
        return result
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()
        if data_bars:
            datasets.enable_progress_bars()


def _train(config: TrainConfig, emit: ProgressFn, examples: list[Example], data_sha: str, dev: _select.DevSet | None,
           base: BaseModel, libs: tuple[Any, ...], cuda: bool, dtype: str, autocast: bool, hp: dict[str, Any],
           old: TrainManifest | None, latest: Path | None, threads: int, world: distributed.World,
           split: tuple[int, int]) -> TrainResult:
    torch, transformers = libs[0], libs[1]
    out = config.out
    main = world.is_main
    emit(TrainEvent("loading", f"tokenizer of {config.base}"))
    gguf_kw = {"gguf_file": base.gguf_file} if base.gguf_file else {}
    tokenizer = transformers.AutoTokenizer.from_pretrained(base.model_dir, **gguf_kw)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    encoded = encode_all(examples, config.prompt_format, tokenizer, config.max_len)
    planned = _planned_steps(config, len(encoded.rows))
    save_steps = config.save_steps or max(1, math.ceil(planned / 4))

    base_gguf = base.gguf
    if base_gguf is None and config.gguf and not config.full:
        base_gguf = out / "base" / "model.gguf"
        if main and not base_gguf.is_file():
            emit(TrainEvent("converting", f"base model {base.model_dir} to GGUF (q8_0) for the llama.cpp fast path"))
            (out / "base").mkdir(exist_ok=True)
            try:
                _convert.convert_model(Path(base.model_dir), base_gguf)
            except CoderankError as exc:
                raise CoderankError(exc.message, "train with --no-gguf (the result then loads as hf:DIR only), or "
                                    "give the base as a GGUF file") from exc
    manifest = old or TrainManifest()
    _fill_manifest(manifest, config, data_sha, encoded, len(examples), base, base_gguf, hp, dtype, cuda, threads,
                   torch)
    manifest.distributed = world.record(split[0], split[1], config.batch_size * config.grad_accum, threads)
    session: dict[str, Any] = {"started_at": time.time(), "resumed_from": latest.name if latest else None,
                               "first_step": int(latest.name.split("-")[1]) if latest else 0,
                               "world_size": world.size}
    manifest.sessions.append(session)
    manifest.status = "training"
    base_record: dict[str, Any] = {}
    if main:
        (out / "base").mkdir(exist_ok=True)
        _write_notice(config.base, out)
        manifest.write(out)
        base_record = _base_record(base, base_gguf)
    world.barrier()  # the others wait while the main process prepares the folder (and converts the base)

    if latest is not None and _is_last_step(latest):
        emit(TrainEvent("training", f"{latest.name} is the last step: nothing left to train"))
        session["last_step"] = session["first_step"]
        steps_this_run = 0
    else:
        steps_this_run = _train_steps(config, libs, base, dtype, autocast, cuda, tokenizer, encoded, hp, save_steps,
                                      manifest, session, base_record, latest, emit, main, split)
        gc.collect()  # free the torch weights before llama.cpp loads the base for the dev-set evaluations

    result = TrainResult(out, manifest, latest.name if latest else None, steps_this_run, is_main=main)
    world.barrier()  # every process has written its part of the last checkpoint
    world.close()
    if main:  # choosing, converting and the final manifest: the main process alone
        _finish(config, manifest, out, dev, base_record, emit, result)
    return result


def _is_last_step(checkpoint: Path) -> bool:
    import json

    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text())
        return int(state["global_step"]) >= int(state["max_steps"]) > 0
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _train_steps(config: TrainConfig, libs: tuple[Any, ...], base: BaseModel, dtype: str, autocast: bool, cuda: bool,
                 tokenizer: Any, encoded: EncodedSet, hp: dict[str, Any], save_steps: int, manifest: TrainManifest,
                 session: dict[str, Any], base_record: dict[str, Any], latest: Path | None, emit: ProgressFn,
                 main: bool = True, split: tuple[int, int] | None = None) -> int:
    """Load the base, train (or resume) to the last step, saving checkpoints; return the steps run.

    ``main``: this process writes (the only one, or rank 0 of several); ``split``: sequences per forward pass and
    passes per step of this process (default: the config's, for one process).
    """
    torch, transformers, trl, peft, datasets = libs
    out = config.out
    emit(TrainEvent("loading", loading_message(config, base, dtype, cuda)))
    model = _load_model(transformers, torch, base, dtype)
    if not getattr(model.config, "architectures", None):  # a GGUF-loaded config lacks it; the converters need it
        model.config.architectures = [type(model).__name__]
    if main:
        model.config.save_pretrained(out / "base")  # what the converters read: config only, no weights
    # PEFT records this as the adapter's base; point it at that config rather than at the GGUF's cache folder.
    model.name_or_path = str((out / "base").resolve())
    ctx: dict[str, Any] = {"manifest": manifest, "out": out, "emit": emit, "step_seconds": [], "session": session,
                           "base_record": base_record,
                           "old_step_seconds": list((manifest.progress.get("step_seconds") or {}).get("all", [])),
                           "old_train_seconds": float(manifest.progress.get("train_seconds") or 0.0)}
    with warnings.catch_warnings():  # deprecation notices about options TRL itself sets
        warnings.simplefilter("ignore", FutureWarning)
        trainer = _make_trainer(config, trl, peft, datasets, transformers, model, tokenizer, encoded, hp,
                                save_steps, cuda, autocast, ctx, split or (config.batch_size, config.grad_accum))
    if latest is not None:
        emit(TrainEvent("training", f"resuming from {latest.name}"))
    try:
        trainer.train(resume_from_checkpoint=str(latest) if latest else None)
    except KeyboardInterrupt:
        if main:
            manifest.write(out)  # the last checkpoint stays resumable
        raise
    _update_progress(ctx, trainer.state)
    return int(trainer.state.global_step - ctx.get("first_step", 0))


def _fill_manifest(manifest: TrainManifest, config: TrainConfig, data_sha: str, encoded: EncodedSet, rows: int,
                   base: BaseModel, base_gguf: Path | None, hp: dict[str, Any], dtype: str, cuda: bool, threads: int,
                   torch: Any) -> None:
    manifest.data = {"path": str(config.data), "sha256": data_sha, "rows": rows, "used": len(encoded.rows),
                     "dropped": len(encoded.dropped), "dropped_lines": encoded.dropped[:100],
                     "truncated": encoded.truncated, "tokens": encoded.tokens,
                     "response_tokens": encoded.response_tokens}
    manifest.base = {"spec": config.base, "sha256": base.sha256, "weights": base.weights,
                     "gguf": str(base_gguf) if base_gguf else None}
    manifest.method = hp["method"]
    manifest.hyperparameters = hp
    manifest.seed = config.seed
    manifest.prompt_format = {"name": config.prompt_format, "eval_template": EVAL_TEMPLATE[config.prompt_format]}
    manifest.libraries = library_versions()
    manifest.device = {"kind": "cuda" if cuda else "cpu",
                       "name": torch.cuda.get_device_name(0) if cuda else (os.uname().machine + " CPU"),
                       "threads": threads, "dtype": dtype,
                       "loss_kernel": "transformers (plain LM head)" if CPU_PLAIN_LOSS and not cuda
                       else "trl fused LM head"}


@contextlib.contextmanager
def _without_bar(module: Any) -> Iterator[None]:
    """Silence a library module's own tqdm bar while the block runs.

    transformers' GGUF loader draws one on stderr whatever its logging settings say; in a log file it is one long
    line of carriage returns. Our own progress line says what is loading instead.
    """
    bar = getattr(module, "tqdm", None)
    if bar is None:
        yield
        return
    module.tqdm = lambda iterable=None, *args, **kwargs: iterable
    try:
        yield
    finally:
        module.tqdm = bar


def _gguf_loader() -> Any:
    try:
        return importlib.import_module("transformers.modeling_gguf_pytorch_utils")
    except ImportError:  # the load itself will say what is missing
        return None


def _load_model(transformers: Any, torch: Any, base: BaseModel, dtype: str) -> Any:
    torch_dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[dtype]
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if base.gguf_file:
        kwargs["gguf_file"] = base.gguf_file
        gguf_config = getattr(transformers, "GgufConfig", None)
        if gguf_config is not None:  # train plain dense weights, even where a packed-GGUF matmul kernel exists
            kwargs["quantization_config"] = gguf_config(dequantize=True)
    try:
        with _without_bar(_gguf_loader() if base.gguf_file else None):
            model = transformers.AutoModelForCausalLM.from_pretrained(base.model_dir, **kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise CoderankError(f"could not load the base model {base.spec}: {type(exc).__name__}: {exc}"[:600],
                            "give default, a GGUF transformers can read, or a saved transformers model") from exc
    # A GGUF-loaded model is plain dequantized floats, but transformers keeps a quantizer marker that makes
    # save_pretrained refuse ("quantized with gguf, not serializable"); clear it so checkpoints can be saved.
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)  # also resets model.is_quantized, which Trainer checks
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    for module in model.modules():
        if isinstance(module, transformers.PreTrainedModel):
            module.config._is_quantized = False
    model.config.use_cache = False
    return model


def _make_trainer(config: TrainConfig, trl: Any, peft: Any, datasets: Any, transformers: Any, model: Any,
                  tokenizer: Any, encoded: EncodedSet, hp: dict[str, Any], save_steps: int, cuda: bool,
                  autocast: bool, ctx: dict[str, Any], split: tuple[int, int]) -> Any:
    # ``split``: this process's sequences per forward pass and passes per step; over all processes they make the
    # global batch the user asked for (:func:`coderank.train.distributed.split_global_batch`). Every LoRA parameter gets
    # a gradient, so DDP need not look for unused ones (it would warn that it found none); a full fine-tune keeps
    # the Trainer's default, as a model may hold weights its forward pass does not use.
    args = trl.SFTConfig(
        output_dir=str(config.out / CHECKPOINTS), num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1, per_device_train_batch_size=split[0],
        gradient_accumulation_steps=split[1], ddp_find_unused_parameters=None if config.full else False,
        learning_rate=hp["learning_rate"], lr_scheduler_type=hp["lr_scheduler"], warmup_steps=hp["warmup_ratio"],
        weight_decay=hp["weight_decay"],
        optim=hp["optimizer"], logging_steps=1, save_strategy="steps", save_steps=save_steps, seed=config.seed,
        data_seed=config.seed, report_to="none", disable_tqdm=True, gradient_checkpointing=False,
        bf16=autocast, fp16=False, use_cpu=not cuda, dataloader_num_workers=0, dataloader_pin_memory=cuda,
        max_length=config.max_len, dataset_kwargs={"skip_prepare_dataset": True},
        include_num_input_tokens_seen="non_padding", packing=False, save_only_model=False,
    )
    peft_config = None
    if not config.full:
        peft_config = peft.LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                      lora_dropout=config.lora_dropout, target_modules=list(config.target_modules),
                                      bias="none", task_type="CAUSAL_LM")
    dataset = datasets.Dataset.from_list(encoded.rows)
    trainer_class = _plain_loss_trainer(trl, transformers) if CPU_PLAIN_LOSS and not cuda else trl.SFTTrainer
    trainer = trainer_class(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=peft_config, callbacks=[_make_callback(transformers, ctx)])
    trainer.remove_callback(transformers.PrinterCallback)  # it prints every log dict to stdout; we report ourselves
    return trainer


def _plain_loss_trainer(trl: Any, transformers: Any) -> Any:
    """SFTTrainer with transformers' own loss instead of TRL's fused, chunked LM head.

    The fused head saves GPU memory, but on a CPU it scores every position in chunks and adds entropy and
    accuracy metrics, at no gain: on the 0.5B model (bf16, 256 tokens, one thread, a busy machine) a bare
    forward+backward took 6.5 s with it and 4.1-4.7 s without, and a whole step of this trainer 4.8 s with it
    and 4.4 s without. The loss is the same: summed over the response tokens, divided by their number.
    """

    class PlainLossSFTTrainer(trl.SFTTrainer):  # type: ignore[misc]
        def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            inputs["use_cache"] = False
            return transformers.Trainer.compute_loss(self, model, inputs, return_outputs=return_outputs,
                                                     num_items_in_batch=num_items_in_batch)

    return PlainLossSFTTrainer


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _gguf_of(ckpt: Path, config: TrainConfig, out: Path, emit: ProgressFn) -> Path:
    """The checkpoint's GGUF (converted once and kept next to it)."""
    target = ckpt / ("model.gguf" if config.full else "adapter.gguf")
    if not target.is_file():
        emit(TrainEvent("converting", f"{ckpt.name} to GGUF"))
        if config.full:
            _convert.convert_model(ckpt, target)
        else:
            _convert.convert_lora(ckpt, out / "base", target)
    return target


def _finish(config: TrainConfig, manifest: TrainManifest, out: Path, dev: _select.DevSet | None,
            base_record: dict[str, Any], emit: ProgressFn, result: TrainResult) -> None:

    ckpts = _checkpoints(out / CHECKPOINTS)
    if not ckpts:
        raise CoderankError(f"training wrote no checkpoint under {out / CHECKPOINTS}", "")
    manifest.checkpoints = [p.name for _, p in ckpts]
    template = EVAL_TEMPLATE[config.prompt_format]
    scores: dict[str, dict[str, Any]] = {}
    if dev is not None:
        candidates = []
        for step, ckpt in ckpts:
            if config.gguf:
                gguf = _gguf_of(ckpt, config, out, emit)
                spec = f"gguf:{gguf}" if config.full else f"lora:{ckpt}"
            else:
                spec = f"hf:{ckpt}"
            candidates.append((ckpt.name, step, spec))

        def on_eval(phase: str, done: int, total: int) -> None:
            emit(TrainEvent("selecting", phase, step=done, total=total))

        scores = _select.score_checkpoints(candidates, dev, template, out / "selection.db", config.select_max_tokens,
                                           on_eval, threads=config.threads)
        chosen = _select.choose(scores)
        manifest.selection = {"rule": _select.RULE, "dev_set": dev.record(), "template": template,
                              "max_tokens": config.select_max_tokens, "scores": scores, "chosen": chosen}
    else:
        chosen = ckpts[-1][1].name
        manifest.selection = {"rule": "the last step (no --select-on dev set given)", "chosen": chosen}
    chosen_dir = out / CHECKPOINTS / chosen
    for f in chosen_dir.iterdir():
        if f.is_file() and f.name not in _TRAINER_FILES and not f.name.startswith("rng_state"):
            _link_or_copy(f, out / f.name)
    _write_json(out / ADAPTER_BASE_FILE, base_record)
    outputs: dict[str, Any] = {"from_checkpoint": chosen, "eval_template": template}
    weights = sorted(out.glob("adapter_model.*" if not config.full else "model*.safetensors"))
    outputs["files"] = {f.name: sha256_file(f) for f in weights}
    specs = [f"hf:{out}"]
    if config.gguf:
        gguf = _gguf_of(chosen_dir, config, out, emit)
        final = out / gguf.name
        _link_or_copy(gguf, final)
        outputs["gguf"] = {"file": final.name, "sha256": sha256_file(final)}
        specs.insert(0, f"gguf:{final}" if config.full else f"lora:{out}")
    outputs["model_specs"] = specs
    if (out / NOTICE).is_file():
        outputs["notice"] = NOTICE
    manifest.outputs = outputs
    title = (f"{manifest.method} on {config.data.name}: {manifest.progress.get('steps_done')} steps, "
             f"{manifest.hyperparameters.get('dtype')}, lr {manifest.hyperparameters.get('learning_rate')}")
    try:
        plot_loss(manifest.loss, scores, chosen if scores else None, title, out / "loss.png")
        outputs["loss_png"] = "loss.png"
    except CoderankError as exc:
        result.warnings.append(exc.message)
    manifest.status = "done"
    manifest.write(out)
    emit(TrainEvent("done", f"{out}: {', '.join(specs)}"))
