"""CLI command ``train``: fine-tune a model (LoRA by default) and leave something ``coderank eval`` loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from coderank.cli._common import err, escape, out


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _forwarded_args(ctx: Any, leave_out: str) -> list[str]:
    """The options the user gave (``ctx``'s parsed values) as a command line again, without ``leave_out``.

    Defaults are left out, so the launched processes work them out as this one would have.
    """
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        source = ctx.get_parameter_source(param.name)
        if (param.name == leave_out or value is None
                or getattr(source, "name", "") in ("DEFAULT", "DEFAULT_MAP")):
            continue
        if param.param_type_name == "argument":
            args.append(str(value))
        elif getattr(param, "is_flag", False):
            if value:
                args.append(param.opts[0])
            elif param.secondary_opts:
                args.append(param.secondary_opts[0])
        else:
            args += [param.opts[0], str(value)]
    return args


def _launch(ctx: Any, processes: int, threads: int | None) -> None:
    """Run this same command under ``accelerate launch`` on ``processes`` processes; exit with its status."""
    from coderank.train import distributed

    distributed.check_launchable(processes)
    try:
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:  # the launched processes say what is missing
        gpus = 0
    command = distributed.launch_command(processes, _forwarded_args(ctx, "num_processes"), gpus)
    # Each process takes its share of the machine's threads; torchrun would otherwise set 1 and say so.
    env = {**os.environ, "OMP_NUM_THREADS": str(distributed.threads_per_process(threads, processes))}
    shown = ["accelerate", "launch", *command[3:]]  # what a user would type for the same
    err.print(f"[dim]launching:[/] {escape(' '.join(shown))}", highlight=False)
    sys.stdout.flush()
    # torchrun leaves a torchelastic_* folder in the temporary directory after every launch: give the launch a
    # temporary directory of its own and remove it afterwards, so that nothing is left on the host
    with tempfile.TemporaryDirectory(prefix="coderank-launch-") as tmp:
        rc = subprocess.call(command, env={**env, "TMPDIR": tmp})
    if rc:
        err.print(f"[red]error:[/] training on {processes} processes failed (exit status {rc}): the first error "
                  "above says why; torchrun's report of the processes follows it", highlight=False)
        raise typer.Exit(rc)


def train(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="JSONL training data: {instruction, output} rows (what coderank evol "
                                         "writes), Alpaca {instruction, input, output}, or {messages: [...]}.",
                                         show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (checkpoints, adapter, adapter.gguf, "
                                          "manifest.json, loss.png). Rerunning resumes.", show_default=False)],
    base: Annotated[str, typer.Option(help="default (the embedded Qwen2.5-Coder-0.5B-Instruct GGUF), gemma-270m (the "
                                      "embedded Gemma 3 270M base model, extra 'gemma'), qwen-1.5b (the embedded "
                                      "Qwen2.5-Coder-1.5B-Instruct, extra 'qwen-1-5b'), a .gguf file, or a "
                                      "transformers model directory.")] = "default",
    full: Annotated[bool, typer.Option("--full", help="Full fine-tuning instead of LoRA (fp32; ~10 GB RAM for "
                                       "0.5B).")] = False,
    epochs: Annotated[float, typer.Option(help="Passes over the data (unless --max-steps).")] = 3.0,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps to run (overrides --epochs).",
                                                  show_default=False)] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 2e-4 LoRA, 2e-5 full); cosine "
                                             "schedule, 3% warmup.", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass (above 2 does not help on a CPU).")] = 2,
    grad_accum: Annotated[int, typer.Option(help="Forward passes per optimizer step. batch-size x grad-accum is the "
                                            "global batch, shared by the processes of --num-processes.")] = 4,
    max_len: Annotated[int, typer.Option(help="Tokens per sequence; longer answers are cut (counted in the "
                                         "manifest).")] = 512,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha (scale alpha/r).")] = 32,
    lora_dropout: Annotated[float, typer.Option(help="LoRA dropout.")] = 0.05,
    prompt_format: Annotated[str | None, typer.Option(
        help="chat (the base model's chat template; what coderank eval uses by default) or alpaca (the WizardCoder "
        "frame; evaluated with --prompt-template alpaca, or wizardcoder for WizardCoder's wording). Default: chat, "
        "or alpaca for gemma-270m, which has no chat template.", show_default=False)] = None,
    save_steps: Annotated[int | None, typer.Option(help="Checkpoint every N steps (default: about four per run; the "
                                                   "last step is always saved).", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, data order and dropout.")] = 0,
    dtype: Annotated[str, typer.Option(help="auto (bf16 where supported; fp32 for --full), bf16, fp32, or fp16 "
                                       "(GPU).")] = "auto",
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Continue from the latest checkpoint in --out "
                                         "(same data and options only); --no-resume refuses a folder with "
                                         "checkpoints.")] = True,
    select_on: Annotated[str | None, typer.Option(
        "--select-on", help="Dev set to choose the best checkpoint on (greedy pass@1 via llama.cpp): mbpp-valid, "
        "classic or a problem file. Never a benchmark you report (humaneval, mbpp).", show_default=False)] = None,
    allow_test_selection: Annotated[bool, typer.Option(
        "--allow-test-selection", help="Allow --select-on humaneval or mbpp (or a file overlapping them): tuning on "
        "the test set; the manifest records it.")] = False,
    select_max_tokens: Annotated[int, typer.Option(help="Token limit per dev problem.")] = 512,
    gguf: Annotated[bool, typer.Option("--gguf/--no-gguf", help="Convert the result to GGUF for the llama.cpp fast "
                                       "path (lora:DIR).")] = True,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores), shared by the processes of "
                                                "--num-processes.", show_default=False)] = None,
    num_processes: Annotated[int | None, typer.Option(
        "--num-processes", help="Train data-parallel on N processes: runs this command under accelerate launch "
        "(torchrun; gloo on a CPU, one process per GPU). The global batch stays --batch-size x --grad-accum; only "
        "the main process writes. The same as accelerate launch --multi_gpu --num_processes N -m coderank train ...",
        show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the summary.")] = False,
) -> None:
    """Fine-tune a code model with TRL + PEFT: LoRA by default, loss on the response tokens only.

    Writes the adapter (hf:DIR) and its GGUF (lora:DIR, applied by llama.cpp on the base GGUF, as fast as the base), checkpoints, loss.png and manifest.json (data and base hashes, hyperparameters, seed, library versions, step times, tokens/s, what the choice of checkpoint used). Interrupted? Run the same command again: it resumes from the latest checkpoint.

    Example: coderank train evol.jsonl --out runs/lora1 --max-steps 200 --select-on classic, then coderank eval -m lora:runs/lora1
    """  # noqa: E501
    from coderank.errors import InputError, UsageError
    from coderank.train import TrainConfig, TrainEvent, default_prompt_format, distributed
    from coderank.train import train as run_training

    config = TrainConfig(
        data=data, out=out_dir, base=base, full=full, epochs=epochs, max_steps=max_steps, lr=lr,
        batch_size=batch_size, grad_accum=grad_accum, max_len=max_len, lora_r=lora_r, lora_alpha=lora_alpha,
        lora_dropout=lora_dropout, prompt_format=prompt_format or default_prompt_format(base), save_steps=save_steps,
        seed=seed, dtype=dtype, resume=resume, select_on=select_on, allow_test_selection=allow_test_selection,
        select_max_tokens=select_max_tokens, gguf=gguf, threads=threads,
    )
    if num_processes is not None:
        if num_processes < 1:
            raise UsageError("--num-processes must be at least 1")
        if num_processes > 1:
            config.validate()  # refuse what every process would refuse, before starting them
            distributed.split_global_batch(batch_size, grad_accum, num_processes)
            _launch(ctx, num_processes, threads)
            return

    def on_event(e: TrainEvent) -> None:
        if e.phase == "training" and e.loss is not None:
            rate = f"{e.seconds_per_step:.2f} s/step" if e.seconds_per_step else "-"
            tps = f", {e.tokens_per_second:.0f} tok/s" if e.tokens_per_second else ""
            err.print(f"step {e.step}/{e.total}  loss {e.loss:.4f}  {rate}{tps}  eta {_duration(e.eta_seconds)}",
                      highlight=False)
        elif e.message:
            err.print(f"[dim]{e.phase}:[/] {escape(e.message)}", highlight=False)

    try:
        result = run_training(config, progress=on_event)
    except (UsageError, InputError) as exc:
        if distributed.env_rank() != 0:
            # Every process refuses alike and the main one says why; torchrun stops the others as soon as one
            # exits with an error, so give the main process time to print it first.
            time.sleep(distributed.QUIET_EXIT_DELAY_S)
            raise typer.Exit(exc.exit_code) from exc
        raise
    if not result.is_main:  # another process of a data-parallel run: the main one reports
        return
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if json_out:
        print(json.dumps(result.to_json(), indent=2))
        return
    doc = result.to_json()
    m = result.manifest
    table = Table(show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("output", str(result.out)),
        ("method", f"{m.method} ({m.hyperparameters.get('dtype')}, {m.device.get('kind')}, "
                   f"{m.device.get('threads')} threads)"),
        ("steps", f"{doc['steps']} ({doc['steps_this_run']} this run"
                  + (f", resumed from {result.resumed_from}" if result.resumed_from else "") + ")"),
        ("data", f"{m.data.get('used')} of {m.data.get('rows')} rows, {m.data.get('truncated')} cut at --max-len"),
        ("speed", f"{doc['seconds_per_step'] or 0:.2f} s/step, {doc['tokens_per_second'] or 0:.0f} tokens/s"),
        ("peak RSS", f"{(doc['peak_rss_bytes'] or 0) / 2**30:.1f} GiB"),
        ("final loss", f"{doc['final_loss']:.4f}" if doc["final_loss"] is not None else "-"),
        ("chosen", f"{m.selection.get('chosen')} — {m.selection.get('rule')}"),
    ]
    for k, v in rows:
        table.add_row(k, escape(v))
    out.print(table)
    for name, s in (m.selection.get("scores") or {}).items():
        out.print(f"  {name}: dev pass@1 {s['pass@1'] or 0:.3f} ({s['passed']}/{s['problems']})", highlight=False)
    template = m.outputs.get("eval_template", "chat")
    flag = "" if template == "chat" else f" --prompt-template {template}"
    for spec in m.outputs.get("model_specs", []):
        out.print(f"evaluate: coderank eval -m {escape(spec)}{flag}", highlight=False)
    sys.stdout.flush()
