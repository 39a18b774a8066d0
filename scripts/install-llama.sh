#!/usr/bin/env bash
# Install llama-cpp-python into .venv: the pinned version, built from source for one fixed instruction set.
#
# llama.cpp's default build (-march=native) compiles the kernels of the machine that builds it: AVX-512 kernels on
# one machine, AVX2 ones on another, so one more way for greedy answers to differ between machines; on Intel CPUs
# with AMX also AMX kernels, which crash (a general protection fault in ldtilecfg) on virtual machines that report
# AMX without supporting it. So on x86-64 it is built for AVX2 + FMA + F16C + BMI2 on every machine
# (GGML_NATIVE=OFF: llama.cpp's portable set), the same kernels everywhere; two processors can still round
# differently (README, "The machine's arithmetic"). Other architectures keep llama.cpp's default.
#
# An install that already is the pinned version built that way is kept; any other is rebuilt (--no-cache-dir and
# --no-binary: a wheel pip cached from another build, or a prebuilt one, would bring other kernels back).
# setup.sh and test.sh call it:   bash scripts/install-llama.sh
set -euo pipefail
cd "$(dirname "$0")/.."
check=(.venv/bin/python src/coderank/models/llama_build.py --check)
version=$(sed -n 's/^PINNED_VERSION = "\(.*\)"$/\1/p' src/coderank/models/llama_build.py)
case "$(uname -m)" in
  x86_64 | amd64) export CMAKE_ARGS="-DGGML_NATIVE=OFF" ;;
esac
if "${check[@]}" >/dev/null 2>&1; then
  exit 0
fi
pip=(.venv/bin/pip install --quiet --disable-pip-version-check --no-cache-dir --no-binary llama-cpp-python)
if .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "llama-cpp-python: rebuilding $version for the portable instruction set (about 4 min on 2 cores):" >&2
  "${check[@]}" >&2 || true
  "${pip[@]}" --force-reinstall --no-deps "llama-cpp-python==$version"
else
  echo "llama-cpp-python: building $version from source (about 4 min on 2 cores)" >&2
  "${pip[@]}" "llama-cpp-python==$version"
fi
"${check[@]}"
