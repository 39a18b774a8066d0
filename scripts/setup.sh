#!/usr/bin/env bash
# Create .venv and install coderank into it (editable).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e .
