#!/usr/bin/env bash
# The verified-distillation experiment (issue 17), one step per argument; every step is resumable:
# run the same step again after a kill and it continues from what the store and checkpoints hold.
#   bash experiments/verified-distill/run.sh teacher     # k answers per mbpp-train problem, judged
#   bash experiments/verified-distill/run.sh data        # arm A (verified) and arm B (unverified, matched)
#   bash experiments/verified-distill/run.sh train-a|train-b
#   bash experiments/verified-distill/run.sh eval-a|eval-b|eval-c [BENCHMARK]   # default: humaneval and mbpp
#   bash experiments/verified-distill/run.sh duels
#   bash experiments/verified-distill/run.sh all         # every step, in two streams that keep both cores busy:
#        teacher, data, train-a, eval-a mbpp  |  eval-c, (waits for data) train-b, eval-b, eval-a humaneval;
#        then duels
# Environment: STORE (the store; default coderank's own), WORK (default runs/verified-distill: adapters, data),
# THREADS (default 1: two steps share a 2-core machine), K (default 2), SEED (default 0: the training seed; another
# seed trains and evaluates the arms into arm-a-seedN, eval-a-seedN-BENCH, and `seeds` compares every seed's runs).
#   SEED=1 bash experiments/verified-distill/run.sh train-a   # then eval-a; train-b, eval-b alike
# Edit this file only by replacing it (write a copy, then mv): bash reads a running script as it goes.
set -euo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."
HERE=experiments/verified-distill
STORE_OPT=(); [ -n "${STORE:-}" ] && STORE_OPT=(--store "$STORE")
WORK=${WORK:-runs/verified-distill}
THREADS=${THREADS:-1}
K=${K:-2}
SEED=${SEED:-0}
SFX=$([ "$SEED" = 0 ] && echo "" || echo "-seed$SEED")  # seed 0 keeps the published paths
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
    coderank train "$WORK/$data.jsonl" --base gemma-270m --out "$WORK/arm-$arm$SFX" --seed "$SEED" \
      --select-on mbpp-valid --threads "$THREADS"
    mkdir -p "$HERE/arm-$arm$SFX"
    cp "$WORK/arm-$arm$SFX/manifest.json" "$WORK/arm-$arm$SFX/loss.png" "$HERE/arm-$arm$SFX/" ;;
  eval-a|eval-b)  # greedy, asked in the format the student was trained on (its manifest names it: alpaca)
    arm=${step#eval-}
    for b in ${2:-humaneval mbpp}; do
      coderank eval -m "lora:$WORK/arm-$arm$SFX" -b $b --threads "$THREADS" --max-tokens 512 --stop-loops \
        "${STORE_OPT[@]}" --out "$WORK/eval-$arm$SFX-$b"
      mkdir -p "$HERE/results/$arm$SFX-$b"
      cp "$WORK/eval-$arm$SFX-$b/manifest.json" "$WORK/eval-$arm$SFX-$b/summary.json" "$HERE/results/$arm$SFX-$b/"
      gzip -9nc "$WORK/eval-$arm$SFX-$b/samples.jsonl" > "$HERE/results/$arm$SFX-$b/samples.jsonl.gz"
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
      coderank eval -m gemma-270m -b $b --threads "$THREADS" --max-tokens 512 --stop-loops "${STORE_OPT[@]}" \
        --out "$WORK/eval-c-$b"
    done ;;
  all)  # both cores busy: one thread per step, two steps at a time; each stream logs to $WORK/stream-N.log
    rm -f "$WORK/.data-done" "$WORK/.train-a-done"
    after() { until [ -e "$WORK/.$1-done" ]; do kill -0 "$2" 2>/dev/null || return 1; sleep 20; done; }
    ( bash "$SELF" teacher && bash "$SELF" data && touch "$WORK/.data-done" && bash "$SELF" train-a \
      && touch "$WORK/.train-a-done" && bash "$SELF" eval-a mbpp ) > "$WORK/stream-1.log" 2>&1 &
    one=$!
    ( bash "$SELF" eval-c && after data $one && bash "$SELF" train-b && bash "$SELF" eval-b \
      && after train-a $one && bash "$SELF" eval-a humaneval ) > "$WORK/stream-2.log" 2>&1 &
    two=$!
    wait $one || { echo "stream 1 failed: see $WORK/stream-1.log (rerun: run.sh all resumes)" >&2; exit 1; }
    wait $two || { echo "stream 2 failed: see $WORK/stream-2.log (rerun: run.sh all resumes)" >&2; exit 1; }
    bash "$SELF" duels ;;
  *) echo "unknown step $step" >&2; exit 2 ;;
esac
stamp "end $step"
