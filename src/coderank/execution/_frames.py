"""Length-prefixed JSON frames: the wire format between harness, checker, zygote and child.

Kept tiny on purpose: the zygote imports it, and every module the zygote imports makes each fork dearer.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")


def _unencodable(obj: Any) -> Any:
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


# The C encoder and scanner that json.dumps/json.loads use, built once: json.dumps with any option builds
# a fresh encoder on every call, which costs more than encoding a small frame (and, in a forked child,
# touches more memory to copy).
_ENCODE = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _unencodable, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
) if json.encoder.c_make_encoder is not None else None  # type: ignore[attr-defined]
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def dumps(obj: Any) -> str:
    """Compact ASCII JSON, as ``json.dumps(obj, ensure_ascii=True, separators=(",", ":"))``."""
    if _ENCODE is None:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    return "".join(_ENCODE(obj, 0))


def loads(data: bytes) -> Any:
    """Parse one JSON document that must fill all of ``data`` (UTF-8).

    Raises:
        ValueError: not valid UTF-8, not JSON, or something after the document.
    """
    text = data.decode("utf-8")
    try:
        obj, end = _SCAN(text, 0)
    except StopIteration as exc:
        raise ValueError(f"not a JSON document (at {exc.value})") from None
    if end != len(text):
        raise ValueError(f"extra data after the JSON document (at {end})")
    return obj


def read_exact(fd: int, n: int) -> bytes | None:
    """Read exactly ``n`` bytes (blocking); None at end of file."""
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
    head = read_exact(fd, 4)
    if head is None:
        return None
    body = read_exact(fd, HEADER.unpack(head)[0])
    return None if body is None else loads(body)


def pack(obj: Any) -> bytes:
    """One frame's bytes."""
    # ASCII JSON: lone surrogates ("\ud800"), which UTF-8 cannot encode, still cross as escapes.
    data = dumps(obj).encode()
    return HEADER.pack(len(data)) + data


def write_frame(fd: int, obj: Any) -> None:
    """Write one frame (blocking)."""
    view = memoryview(pack(obj))
    while view:
        view = view[os.write(fd, view) :]
