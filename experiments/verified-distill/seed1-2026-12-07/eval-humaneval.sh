#!/usr/bin/env bash
# HumanEval for a seed-1 arm from its retrained chosen checkpoint (same adapter sha256 as the MBPP run's).
set -uo pipefail
cd /work/main
export PATH=/work/main/.venv/bin:$PATH
arm=$1; step=$2; WORK=runs/verified-distill; ck=$WORK/arm-$arm-seed1/checkpoints/checkpoint-$step
echo "[$(date -u +%FT%TZ)] eval humaneval $ck"
sha256sum "$ck/adapter.gguf"
coderank eval -m "lora:$ck" --prompt-template alpaca -b humaneval --threads 1 --max-tokens 512 --stop-loops \
  --store /work/seeds/store.db --out "$WORK/eval-$arm-seed1-humaneval"
echo "[$(date -u +%FT%TZ)] done"
