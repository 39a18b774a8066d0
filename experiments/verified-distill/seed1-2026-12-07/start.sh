#!/usr/bin/env bash
# Seed 1 of arms A and B on the published 140-row data, two streams, one thread each.
cd /work/main
export PATH=/work/main/.venv/bin:$PATH STORE=/work/seeds/store.db SEED=1 THREADS=1
( bash experiments/verified-distill/run.sh train-a && bash experiments/verified-distill/run.sh eval-a ) > /work/seeds/stream-a.log 2>&1 &
( bash experiments/verified-distill/run.sh train-b && bash experiments/verified-distill/run.sh eval-b ) > /work/seeds/stream-b.log 2>&1 &
wait
