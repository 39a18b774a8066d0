#!/usr/bin/env bash
# Set up a virtual environment with coderank and its dev tools, then run the checks CI runs:
# ruff, mypy, the default test suite, then the slow tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# torch first, pinned: 2.13.0 is the CPU build these machines carry; an unpinned torch pulls a CUDA build.
.venv/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
bash scripts/install-llama.sh  # llama.cpp, pinned, built for the same instruction set on every machine
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check src tests benchmarks examples experiments
.venv/bin/mypy
.venv/bin/pytest -q
bash scripts/install-chromium.sh  # Debian's chromium, for the report's browser tests
# llama.cpp's GGUF converters (from the llama-cpp-python sdist on PyPI), for the fine-tuning tests
.venv/bin/python -c "from coderank.train import ensure_converters; ensure_converters()"
.venv/bin/pytest -q -m slow || [ $? -eq 5 ]  # 5: no slow tests selected
