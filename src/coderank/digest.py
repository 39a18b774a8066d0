"""Algorithm-tagged digests (``sha256:<hex>``) and the canonical JSON they are taken over.

Run ids, completion keys, manifests, benchmark, template and data hashes are all spelled with these, so the
spelling lives in one place: a stored hash must never change, or old stores stop resuming. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

PREFIX = "sha256:"
"""The algorithm tag every stored digest starts with."""


def tagged(hexdigest: str) -> str:
    """``sha256:`` + a hex sha256 (for digests computed elsewhere: incrementally, or pinned)."""
    return PREFIX + hexdigest


def sha256_bytes(data: bytes) -> str:
    """Tagged sha256 of bytes."""
    return PREFIX + hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """Tagged sha256 of a text (its UTF-8 bytes)."""
    return PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex (untagged) sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """Tagged sha256 of a file, read in 1 MiB blocks."""
    return PREFIX + file_sha256(path)


def canonical_json(obj: Any) -> str:
    """The one JSON spelling of a value that hashes are taken over (sorted keys, no spaces, UTF-8 as is)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
