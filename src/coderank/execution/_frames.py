"""Length-prefixed JSON frames: the wire format between harness, checker, zygote and child.

Kept tiny on purpose: the zygote imports it, and every module the zygote imports makes each fork dearer.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    """Read one frame from a trusted peer (blocking); None at end of file."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, HEADER.unpack(head)[0])
    return None if body is None else json.loads(body)


def pack(obj: Any) -> bytes:
    """One frame's bytes."""
    # ASCII JSON: lone surrogates ("\ud800"), which UTF-8 cannot encode, still cross as escapes.
    data = json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()
    return HEADER.pack(len(data)) + data


def write_frame(fd: int, obj: Any) -> None:
    """Write one frame (blocking)."""
    view = memoryview(pack(obj))
    while view:
        view = view[os.write(fd, view) :]
