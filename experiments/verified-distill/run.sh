#!/usr/bin/env bash
# The verified-distillation experiment (issue 17), one step per argument; every step is resumable:
# run the same step again after a kill and it continues from what the store and checkpoints hold.
#   bash experiments/verified-distill/run.sh teacher     # k answers per mbpp-train problem, judged
#   bash experiments/verified-distill/run.sh data        # arm A (verified) and arm B (unverified, matched)
#   bash experiments/verified-distill/run.sh train-a|train-b
#   bash experiments/verified-distill/run.sh eval-a|eval-b|eval-c
#   bash experiments/verified-distill/run.sh duels
# Environment: STORE (the store; default coderank's own), WORK (default runs/verified-distill: adapters, data),
# THREADS (default 1: two steps share a 2-core machine), K (default 2).
# Edit this file only by replacing it (write a copy, then mv): bash reads a running script as it goes.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=experiments/verified-distill
STORE_OPT=(); [ -n "${STORE:-}" ] && STORE_OPT=(--store "$STORE")
WORK=${WORK:-runs/verified-distill}
THREADS=${THREADS:-1}
K=${K:-2}
mkdir -p "$WORK"
step=$1
stamp() { echo "[$(date -u +%FT%TZ)] $*"; }
stamp "start $step"
case $step in
  teacher)
    coderank distill -b mbpp-train -k "$K" --threads "$THREADS" "${STORE_OPT[@]}" -o "$WORK/verified.jsonl" ;;
  data)  # arm A: the passing answers (one per problem); arm B: the same problems, same row count, any answer
    coderank distill -b mbpp-train -k "$K" --threads "$THREADS" "${STORE_OPT[@]}" -o "$WORK/verified.jsonl"
    coderank distill -b mbpp-train -k "$K" --threads "$THREADS" "${STORE_OPT[@]}" --select unverified \
      --match "$WORK/verified.manifest.json" -o "$WORK/unverified.jsonl"
    mkdir -p "$HERE/data"
    cp "$WORK"/verified.jsonl "$WORK"/verified.manifest.json "$WORK"/unverified.jsonl \
      "$WORK"/unverified.manifest.json "$HERE/data/" ;;
  train-a|train-b)  # the student on each arm's rows; checkpoint chosen on mbpp-valid (never a test set)
    arm=${step#train-}; data=$([ "$arm" = a ] && echo verified || echo unverified)
    coderank train "$WORK/$data.jsonl" --base gemma-270m --out "$WORK/arm-$arm" --seed 0 \
      --select-on mbpp-valid --threads "$THREADS"
    mkdir -p "$HERE/arm-$arm"
    cp "$WORK/arm-$arm/manifest.json" "$WORK/arm-$arm/loss.png" "$HERE/arm-$arm/" ;;
  eval-a|eval-b)  # greedy, asked in the format the student was trained on (its manifest names it: alpaca)
    arm=${step#eval-}
    for b in humaneval mbpp; do
      coderank eval -m "lora:$WORK/arm-$arm" -b $b --threads "$THREADS" --max-tokens 512 "${STORE_OPT[@]}" \
        --out "$WORK/eval-$arm-$b"
    done ;;
  duels)  # A vs C and A vs B on the 664 paired problems (HumanEval + MBPP pooled), and per benchmark
    id() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['run_id'])" "$WORK/eval-$1-$2/summary.json"; }
    mkdir -p "$HERE/results"
    for arm in a b c; do for b in humaneval mbpp; do
      mkdir -p "$HERE/results/$arm-$b"
      cp "$WORK/eval-$arm-$b/manifest.json" "$WORK/eval-$arm-$b/summary.json" "$HERE/results/$arm-$b/"
    done; done
    for pair in "a c" "a b" "b c"; do
      set -- $pair
      coderank duel "$(id $1 humaneval)+$(id $1 mbpp)" "$(id $2 humaneval)+$(id $2 mbpp)" "${STORE_OPT[@]}" \
        --json > "$HERE/results/duel-$1-$2.json"
      coderank duel "$(id $1 humaneval)+$(id $1 mbpp)" "$(id $2 humaneval)+$(id $2 mbpp)" "${STORE_OPT[@]}"
    done ;;
  eval-c)  # the base student, asked as a base model is (completion template), greedy
    for b in humaneval mbpp; do
      coderank eval -m gemma-270m -b $b --threads "$THREADS" --max-tokens 512 "${STORE_OPT[@]}" \
        --out "$WORK/eval-c-$b"
    done ;;
  *) echo "unknown step $step" >&2; exit 2 ;;
esac
stamp "end $step"
