"""GGUF conversion with llama.cpp's own converters, taken from the llama-cpp-python source distribution.

The PyPI ``gguf`` package reads and writes GGUF but ships no converter. The llama-cpp-python sdist vendors
llama.cpp, including ``convert_lora_to_gguf.py`` and ``convert_hf_to_gguf.py`` with the ``conversion``
package and the ``gguf-py`` they import. So on first need coderank downloads the sdist of the installed
llama-cpp-python version with pip (``pip download llama-cpp-python==VERSION --no-deps --no-binary :all:``,
~75 MB, about half a minute), unpacks just those files (~2 MB) into a cache folder and deletes the archive.
The converters are never copied into this repository; they run as scripts under the current Python (a
subprocess, so a converter's own imports and ``sys.path`` changes stay out of this process), with
``HF_HUB_OFFLINE=1`` so a missing local file is an error rather than a download.

Cache folder: ``$CODERANK_TOOLS_CACHE``, else ``data_home()/tools`` (see :mod:`coderank.paths`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

from coderank.errors import CoderankError
from coderank.paths import data_home

log = logging.getLogger(__name__)

FALLBACK_VERSION = "0.3.36"
"""The llama-cpp-python version whose converters are used when llama-cpp-python itself is not installed."""

_VENDOR = "vendor/llama.cpp/"
_KEEP = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE")
_MARKER = ".complete"
_TIMEOUT = 1800  # seconds; converting a full 0.5B model takes about a minute on 2 cores


def tools_cache() -> Path:
    """``$CODERANK_TOOLS_CACHE``, else ``data_home()/tools``."""
    explicit = os.environ.get("CODERANK_TOOLS_CACHE")
    return Path(explicit) if explicit else data_home() / "tools"


def llama_cpp_version() -> str:
    """The installed llama-cpp-python version (its converters match the llama.cpp that runs the GGUF)."""
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


def converter_dir(version: str | None = None) -> Path:
    """Where the converters of ``version`` (default: the installed llama-cpp-python) live once fetched."""
    return tools_cache() / f"llama.cpp-converters-{version or llama_cpp_version()}"


def ensure_converters(version: str | None = None) -> Path:
    """Fetch the converters once (see the module docstring) and return their folder.

    Raises:
        CoderankError: pip could not download the sdist (no network, no pip) or it lacks the converters.
    """
    version = version or llama_cpp_version()
    target = converter_dir(version)
    if (target / _MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    hint = (f"run with network access once (pip download llama-cpp-python=={version} --no-deps --no-binary :all:), "
            "or bash scripts/setup.sh --train")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        log.info("downloading the llama-cpp-python %s sdist for its GGUF converters", version)
        cmd = [sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-deps",
               "--no-binary", ":all:", "--disable-pip-version-check", "--quiet", "-d", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CoderankError(f"could not run pip to fetch llama.cpp's GGUF converters: {exc}", hint) from exc
        archives = sorted(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if proc.returncode != 0 or not archives:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise CoderankError("could not download the llama-cpp-python sdist that carries llama.cpp's GGUF "
                                f"converters: {' | '.join(tail) or 'no archive'}", hint)
        staging = Path(tmp) / "unpacked"
        sha = _extract(archives[0], staging)
        (staging / _MARKER).write_text(f"llama-cpp-python {version}\nsdist sha256:{sha}\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)  # atomic: a half-unpacked folder never carries the marker
    return target


def _extract(archive: Path, dest: Path) -> str:
    h = hashlib.sha256(archive.read_bytes()).hexdigest()
    dest.mkdir(parents=True)
    found = set()
    with tarfile.open(archive, "r:gz") as tar:
        members = []
        for m in tar.getmembers():
            _, _, rel = m.name.partition("/")
            if not rel.startswith(_VENDOR):
                continue
            rel = rel[len(_VENDOR):]
            if not any(rel == k or (k.endswith("/") and rel.startswith(k)) for k in _KEEP):
                continue
            if not (m.isfile() or m.isdir()):
                continue
            m.name = rel
            members.append(m)
            found.add(rel.split("/", 1)[0] + ("/" if "/" in rel else ""))
        missing = [k for k in _KEEP if k not in found and k != "LICENSE"]
        if missing:
            raise CoderankError(f"{archive.name} does not carry {', '.join(missing)} under {_VENDOR}",
                                "this llama-cpp-python version vendors no converters; install another")
        tar.extractall(dest, members=members, filter="data")
    return h


def _run(script: str, args: list[str], what: str) -> None:
    folder = ensure_converters()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONIOENCODING="utf-8")
    cmd = [sys.executable, str(folder / script), *args]
    log.info("converting %s: %s", what, " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CoderankError(f"converting {what} to GGUF took over {_TIMEOUT} s", "") from exc
    if proc.returncode != 0:
        lines = [x for x in (proc.stderr + proc.stdout).splitlines() if x.strip()]
        raise CoderankError(f"converting {what} to GGUF failed (exit {proc.returncode}): "
                            + " | ".join(lines[-4:])[-800:],
                            f"the command was: {' '.join(cmd)}")


def convert_lora(adapter_dir: Path, base_config_dir: Path, out_file: Path) -> Path:
    """Convert a PEFT LoRA adapter to a GGUF adapter (f32, a few MB) that llama.cpp applies on its base.

    ``base_config_dir`` needs the base model's ``config.json`` only (no weights).

    Raises:
        CoderankError: the converters are unavailable or the conversion failed.
    """
    tmp = out_file.with_name(out_file.name + ".partial")
    _run("convert_lora_to_gguf.py", ["--base", str(base_config_dir), "--outfile", str(tmp), "--outtype", "f32",
                                     str(adapter_dir)], f"adapter {adapter_dir}")
    os.replace(tmp, out_file)
    return out_file


def convert_model(model_dir: Path, out_file: Path, outtype: str = "q8_0") -> Path:
    """Convert a transformers model directory to a GGUF (``q8_0`` by default: near-lossless, half of f16).

    Raises:
        CoderankError: the converters are unavailable or the conversion failed (Qwen2-family tokenizers
            need the ``sentencepiece`` package, part of the ``train`` extra).
    """
    tmp = out_file.with_name(out_file.name + ".partial")
    _run("convert_hf_to_gguf.py", ["--outfile", str(tmp), "--outtype", outtype, str(model_dir)],
         f"model {model_dir}")
    os.replace(tmp, out_file)
    return out_file
