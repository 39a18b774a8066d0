"""llama.cpp is installed pinned and built for one instruction set, so that greedy answers are the same on every
machine; coderank says so, warns of AMX kernels before they crash, and records the features in run manifests."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from coderank.models import llama_build
from coderank.models.llama_build import PINNED_VERSION, build_problems, parse_system_info

ROOT = Path(__file__).resolve().parents[2]
PORTABLE = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | "
            "OPENMP = 1 | REPACK = 1 | ")
# what llama-cpp-python 0.3.36 built with -march=native printed on an Intel Xeon with AMX (a virtual machine on which
# the AMX kernels then crashed in ldtilecfg)
NATIVE_AMX = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
              "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
              "OPENMP = 1 | REPACK = 1 | ")


def test_the_system_info_line_is_read_into_the_features_that_are_on():
    assert parse_system_info(PORTABLE) == ["SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2", "LLAMAFILE",
                                           "OPENMP", "REPACK"]
    assert parse_system_info("CPU : AVX2 = 1 | AVX512 = 0 | ARM_FMA = 1 |\nMetal : EMBED_LIBRARY = 1 |") == [
        "AVX2", "ARM_FMA", "EMBED_LIBRARY"]


def test_only_the_pinned_portable_build_passes_on_x86():
    assert build_problems(PINNED_VERSION, parse_system_info(PORTABLE), "x86_64") == []
    native = build_problems(PINNED_VERSION, parse_system_info(NATIVE_AMX), "x86_64")
    assert len(native) == 1 and "AVX512" in native[0] and "AMX_INT8" in native[0] and "crash" in native[0]
    old = build_problems("0.3.16", parse_system_info(PORTABLE), "x86_64")
    assert old == [f"llama-cpp-python 0.3.16 is installed; coderank pins {PINNED_VERSION}"]
    assert build_problems(PINNED_VERSION, ["SSE3", "AVX"], "x86_64") == ["built without AVX2, FMA, F16C"]
    # other architectures keep llama.cpp's own default build
    assert build_problems(PINNED_VERSION, ["NEON", "ARM_FMA", "DOTPROD"], "aarch64") == []
    assert build_problems(None, None) == ["llama-cpp-python is not installed"]


def test_amx_kernels_are_warned_of_before_a_model_loads(monkeypatch):
    monkeypatch.setattr(llama_build, "cpu_features", lambda: parse_system_info(NATIVE_AMX))
    warning = llama_build.amx_warning()
    assert warning is not None and "AMX_INT8" in warning and "segmentation fault" in warning
    assert "install-llama.sh" in warning  # the command that rebuilds it, from this checkout
    monkeypatch.setattr(llama_build, "cpu_features", lambda: parse_system_info(PORTABLE))
    assert llama_build.amx_warning() is None


@pytest.mark.skipif(sys.platform != "linux", reason="the install script is for Linux")
def test_the_installed_build_is_the_pinned_portable_one_and_the_install_script_keeps_it():
    # what setup.sh and test.sh install; a native build (pip install without the script) fails here
    described = llama_build.describe()
    assert described["problems"] == [], described
    start = time.monotonic()
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "install-llama.sh")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and time.monotonic() - start < 60  # kept as it is, not rebuilt


def test_the_pin_is_the_same_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    # the embedded, gemma and qwen-1-5b extras
    assert text.count("llama-cpp-python==") == text.count(f"llama-cpp-python=={PINNED_VERSION}") == 3
    assert text.count(f"llama-cpp-python[server]=={PINNED_VERSION}") == 1
