#!/usr/bin/env bash
# Seed 1 again, to its chosen checkpoint only (A: 14, B: 42), for the HumanEval evals the first session lacked.
# Training stops once the checkpoint is saved (the cosine schedule is set by the planned 54 steps, so steps 1-N
# are those of the full run); its adapter.gguf's sha256 is then compared with the one the MBPP run names.
# Ran 2026-12-07 08:23 UTC, both arms at once, one thread each (the eval step below then refused the checkpoint
# folder, which had no template of its own; eval-humaneval.sh ran it, and `coderank eval` now reads the
# training's format for a checkpoint folder).
# usage: retrain.sh a 14 | retrain.sh b 42
set -uo pipefail
cd /work/main
export PATH=/work/main/.venv/bin:$PATH
arm=$1; step=$2; data=$([ "$arm" = a ] && echo verified || echo unverified)
WORK=runs/verified-distill; out=$WORK/arm-$arm-seed1; ck=$out/checkpoints/checkpoint-$step
stamp() { echo "[$(date -u +%FT%TZ)] $*"; }
stamp "train $arm to checkpoint-$step"
if [ ! -f "$ck/trainer_state.json" ]; then
  setsid coderank train "$WORK/$data.jsonl" --base gemma-270m --out "$out" --seed 1 \
    --select-on mbpp-valid --threads 1 &
  pid=$!
  until [ -f "$ck/trainer_state.json" ] || ! kill -0 $pid 2>/dev/null; do sleep 5; done
  sleep 20
  kill -- -$pid 2>/dev/null; wait $pid
fi
stamp "checkpoint-$step saved; converting"
python - "$ck" "$out" <<'PY'
import sys
from pathlib import Path
from coderank.train import _convert
ck, out = Path(sys.argv[1]), Path(sys.argv[2])
if not (ck / "adapter.gguf").is_file():
    _convert.convert_lora(ck, out / "base", ck / "adapter.gguf")
PY
sha256sum "$ck"/adapter_model.safetensors "$ck"/adapter.gguf
stamp "eval humaneval"
coderank eval -m "lora:$ck" -b humaneval --threads 1 --max-tokens 512 --stop-loops --store /work/seeds/store.db \
  --out "$WORK/eval-$arm-seed1-humaneval"
stamp "done"
