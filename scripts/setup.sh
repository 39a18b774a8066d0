#!/usr/bin/env bash
# Create .venv and install coderank into it (editable).
#   bash scripts/setup.sh             coderank alone (score, doctor, OpenAI-compatible servers need --openai)
#   bash scripts/setup.sh --embedded  plus llama.cpp and the embedded default model (builds ~4 min on 2 cores)
#   bash scripts/setup.sh --gemma     plus llama.cpp and the second embedded model, Gemma 3 270M (base model;
#                                     ~238 MB of pinned packages; Gemma Terms of Use); combines with the others
#   bash scripts/setup.sh --qwen-1.5b plus llama.cpp and the third embedded model, Qwen2.5-Coder-1.5B-Instruct
#                                     (~1.1 GB of pinned packages; stronger, ~2x slower); combines with the others
#   bash scripts/setup.sh --train     plus evol's decontamination and fine-tuning (CPU torch, TRL, PEFT, MinHash,
#                                     the embedding model) and llama.cpp's GGUF converters
#   bash scripts/setup.sh --ray       plus Ray, for --ray ADDRESS (scoring on a cluster; run it on every node)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="openai"
train=0
llama=0
for arg in "$@"; do
  case "$arg" in
    --embedded) extras="embedded,$extras"; llama=1 ;;
    --gemma) extras="gemma,$extras"; llama=1 ;;
    --qwen-1.5b) extras="qwen-1-5b,$extras"; llama=1 ;;
    --train) extras="embedded,train,rigor,$extras"; train=1; llama=1 ;;
    --ray) extras="ray,$extras" ;;
    *) echo "unknown option $arg (use --embedded, --gemma, --qwen-1.5b, --train or --ray)" >&2; exit 2 ;;
  esac
done
python3 -m venv .venv
if [ "$train" = 1 ]; then
  # pinned first: 2.13.0 is the CPU build these machines carry; an unpinned torch pulls a CUDA build
  .venv/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
fi
if [ "$llama" = 1 ]; then
  bash scripts/install-llama.sh  # pinned, built for the same instruction set on every machine (see that script)
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[$extras]"
if [ "$train" = 1 ]; then
  # llama.cpp's convert_lora_to_gguf.py / convert_hf_to_gguf.py, unpacked once from the llama-cpp-python sdist
  .venv/bin/python -c "from coderank.train import ensure_converters; print(ensure_converters())"
fi
