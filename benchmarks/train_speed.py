"""Speed and memory of `coderank train` (LoRA r=16 on q/k/v/o) on the embedded 0.5B model: bf16 vs fp32.

Each configuration runs in its own process through coderank's real training path (TRL SFTTrainer + PEFT, the
GGUF dequantized by transformers), on synthetic rows that fill exactly ``--tokens`` tokens, so every step sees
``batch x tokens`` tokens. Prints seconds per optimizer step (median, first step excluded), training tokens/s,
the time to load the base, and the peak RSS of the process, next to the reference measured on this machine
type when it was idle (shared/DESIGN.md: bf16 ~2.5 s/step at 256 tokens x 1, fp32 ~4.6 s/step, 3.5-7 GiB).
Run it alone: on a busy 2-core machine the numbers are 3-5x off.

    python benchmarks/train_speed.py [--steps 4] [--tokens 256] [--batch 1] [--dtypes bf16,fp32] [--threads N]
                                     [--trl-loss]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REFERENCE = {"bf16": 2.5, "fp32": 4.6}  # s/step, 256 tokens x 1, idle machine (shared/DESIGN.md)


def one(dtype: str, steps: int, tokens: int, batch: int, trl_loss: bool, threads: int | None) -> dict:
    from coderank.train import TrainConfig, _run, train

    _run.CPU_PLAIN_LOSS = not trl_loss
    words = " ".join(f"w{i}" for i in range(tokens * 2))  # more than enough tokens; --max-len cuts each row
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "rows.jsonl"
        data.write_text("".join(json.dumps({"instruction": f"Task {i}: repeat", "output": words}) + "\n"
                                for i in range(steps * batch)))
        started = time.perf_counter()
        loaded: list[float] = []

        def on_event(e: Any) -> None:
            if e.phase == "training" and not loaded:
                loaded.append(time.perf_counter() - started)

        result = train(TrainConfig(data=data, out=Path(tmp) / "out", max_steps=steps, batch_size=batch, grad_accum=1,
                                   max_len=tokens, save_steps=steps, dtype=dtype, gguf=False, threads=threads),
                       progress=on_event)
        p = result.manifest.progress
        per_step = p["step_seconds"]["all"]
        steady = per_step[1:] or per_step
        step = statistics.median(steady)
        return {"dtype": dtype, "s_per_step": step, "tokens_per_s": batch * tokens / step,
                "first_step_s": per_step[0], "setup_s": loaded[0] if loaded else None,
                "peak_rss_gib": p["peak_rss_bytes"] / 2**30, "loss_kernel": result.manifest.device["loss_kernel"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--dtypes", default="bf16,fp32")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument("--trl-loss", action="store_true", help="use TRL's fused LM-head loss (the GPU path) on the CPU")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.tokens, args.batch, args.trl_loss, args.threads)))
        return
    print(f"LoRA r=16 q/k/v/o, embedded Qwen2.5-Coder-0.5B, {args.tokens} tokens x {args.batch} per step, "
          f"{args.steps} steps per dtype")
    for dtype in args.dtypes.split(","):
        cmd = [sys.executable, __file__, "--one", dtype, "--steps", str(args.steps), "--tokens", str(args.tokens),
               "--batch", str(args.batch)] + (["--trl-loss"] if args.trl_loss else []) + (
                   ["--threads", str(args.threads)] if args.threads else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{dtype}: failed\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        ref = REFERENCE.get(dtype) if args.tokens == 256 and args.batch == 1 else None
        vs = f"  (reference {ref} s/step: x{r['s_per_step'] / ref:.2f})" if ref else ""
        print(f"{dtype:>5}: {r['s_per_step']:.2f} s/step, {r['tokens_per_s']:.0f} tokens/s, first step "
              f"{r['first_step_s']:.1f} s, load {r['setup_s']:.0f} s, peak RSS {r['peak_rss_gib']:.1f} GiB, "
              f"loss: {r['loss_kernel']}{vs}")


if __name__ == "__main__":
    main()
