"""Reading trusted-format JSONL files (problem files, reported numbers) with errors that name file and line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from coderank.errors import InputError


def json_lines(lines: Iterable[bytes], name: str) -> Iterator[tuple[str, Any]]:
    """Yield ``("FILE:LINE", value)`` for each non-empty line.

    Raises:
        InputError: a line that is not UTF-8 or not JSON, naming the file, the line and the fix.
    """
    for lineno, raw in enumerate(lines, start=1):
        where = f"{name}:{lineno}"
        try:
            text = raw.decode("utf-8")
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
