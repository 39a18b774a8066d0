#!/bin/bash
# End-to-end timing of the verified-distillation experiment (issue 17), from an empty store.
# Rerun this same script to resume after a kill (run.sh all resumes every step); stamps in work/stream-*.log
cd /work/exp
export PYTHONPATH=/work/exp/src PATH=/work/main/.venv/bin:$PATH
export STORE=/work/e2e/store.db WORK=/work/e2e/work
echo "[$(date -u +%FT%TZ)] all: start (segment) at $(git -C /work/exp rev-parse --short HEAD)" >> /work/e2e/segments.log
bash experiments/verified-distill/run.sh all >> /work/e2e/all.log 2>&1
echo "[$(date -u +%FT%TZ)] all: exit $?" >> /work/e2e/segments.log
