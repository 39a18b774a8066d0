#!/usr/bin/env bash
# Seed 1: after each arm's training (and checkpoint choice), its MBPP eval only (time: HumanEval next session).
cd /work/main
export PATH=/work/main/.venv/bin:$PATH STORE=/work/seeds/store.db SEED=1 THREADS=1
( while kill -0 3534 2>/dev/null; do sleep 15; done
  [ -e experiments/verified-distill/arm-a-seed1/manifest.json ] && bash experiments/verified-distill/run.sh eval-a mbpp ) >> /work/seeds/stream-a.log 2>&1 &
( while kill -0 3535 2>/dev/null; do sleep 15; done
  [ -e experiments/verified-distill/arm-b-seed1/manifest.json ] && bash experiments/verified-distill/run.sh eval-b mbpp ) >> /work/seeds/stream-b.log 2>&1 &
wait
