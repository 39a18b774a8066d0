"""Seed instructions for Evol-Instruct: the bundled set and user files.

Formats :func:`load_seeds` reads, told apart by the first non-blank character of the file:

- **JSONL** (``{`` first): one object a line, either ours — ``{"id", "instruction", "input"?}`` — or Alpaca-shaped
  — ``{"instruction", "input"?, "output"?}`` without an ``id``. Lines without an id get ``f"{stem}-{index:05d}"``
  where ``index`` counts records from 0.
- **A JSON array** (``[`` first): the Code Alpaca / Alpaca release format, a list of
  ``{"instruction", "input", "output"}`` objects. Ids are ``f"{stem}-{index:05d}"`` by array index (an ``id``
  key, if present, wins). ``output`` is ignored: evolution rewrites instructions, and answers are generated anew.

Every error names the file and the line (JSONL) or array index (JSON) and says how to fix it.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coderank.errors import InputError
from coderank.jsonl import json_lines

_BUNDLED = ("data", "seeds.jsonl")


@dataclass(frozen=True)
class Seed:
    """One instruction to evolve.

    Attributes:
        id: Unique within its file.
        instruction: The task, in words.
        input: Optional context for the task (an example value, a schema); empty when none.
        source: Where it came from: ``bundled`` or the file's path.
    """

    id: str
    instruction: str
    input: str
    source: str

    @property
    def text(self) -> str:
        """The instruction with its input appended (Alpaca style), as evolution templates receive it."""
        return f"{self.instruction}\n\nInput:\n{self.input}" if self.input.strip() else self.instruction


def bundled_seeds() -> list[Seed]:
    """The seed instructions shipped with coderank (our own wording; no HumanEval task among them)."""
    resource = importlib.resources.files("coderank.evol").joinpath(*_BUNDLED)
    lines = resource.read_bytes().splitlines()
    return _from_records(_jsonl_records(lines, "seeds.jsonl"), stem="seed", source="bundled")


def load_seeds(path: str | Path) -> list[Seed]:
    """Read seeds from our JSONL, Alpaca-shaped JSONL, or an Alpaca / Code Alpaca JSON array.

    Raises:
        InputError: missing or unreadable file, not UTF-8, bad JSON, a record that is not an object, a missing or
            empty instruction, a non-string input, or a duplicate id, naming file and line or array index.
    """
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read seed file: {exc.strerror or exc}",
                         "pass the path of a JSONL or JSON seed file") from exc
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte order mark (Windows editors) is fine
    if data.lstrip()[:1] == b"[":
        records: Iterator[tuple[str, Any]] = _array_records(data, name)
    else:
        records = _jsonl_records(data.splitlines(), name)
    seeds = _from_records(records, stem=path.stem, source=name)
    if not seeds:
        raise InputError(f"{name}: no seed instructions in the file",
                         "write one JSON object a line, or a JSON array of {\"instruction\", \"input\"} objects")
    return seeds


def _jsonl_records(lines: list[bytes], name: str) -> Iterator[tuple[str, Any]]:
    yield from json_lines(lines, name)


def _array_records(data: bytes, name: str) -> Iterator[tuple[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{name}:{line}: not valid UTF-8 (byte {data[exc.start]:#04x})",
                         "save the file as UTF-8") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = (f"the file ends before its JSON is complete (cut off?): {exc.msg}" if exc.pos >= len(text.rstrip())
                 else f"{exc.msg} at column {exc.colno}")
        raise InputError(f"{name}:{exc.lineno}: invalid JSON: {where}",
                         "the file must be one JSON array of objects (Alpaca format) or JSONL") from exc
    if not isinstance(value, list):
        raise InputError(f"{name}: a JSON seed file must hold an array of objects",
                         "write [{\"instruction\": ..., \"input\": ..., \"output\": ...}, ...] or use JSONL")
    for index, item in enumerate(value):
        yield f"{name} [index {index}]", item


def _from_records(records: Iterator[tuple[str, Any]], *, stem: str, source: str) -> list[Seed]:
    seeds: list[Seed] = []
    first_seen: dict[str, str] = {}
    for index, (where, record) in enumerate(records):
        if not isinstance(record, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}",
                             "each seed is an object with an \"instruction\" (and optional \"id\", \"input\")")
        instruction = record.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            problem = "missing" if instruction is None else "empty" if isinstance(instruction, str) else "not a string"
            raise InputError(f"{where}: \"instruction\" is {problem}",
                             "give every seed a non-empty \"instruction\" string")
        extra = record.get("input", "")
        if extra is None:
            extra = ""
        if not isinstance(extra, str):
            raise InputError(f"{where}: \"input\" must be a string, got {type(extra).__name__}",
                             "leave \"input\" out, or make it a string (\"\" for none)")
        raw_id = record.get("id")
        if raw_id is None:
            seed_id = f"{stem}-{index:05d}"
        elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool) and str(raw_id).strip():
            seed_id = str(raw_id)
        else:
            raise InputError(f"{where}: \"id\" must be a non-empty string or integer",
                             "give each seed a distinct id, or leave \"id\" out to number them")
        if seed_id in first_seen:
            raise InputError(f"{where}: duplicate id {seed_id!r} (first at {first_seen[seed_id]})",
                             "give each seed a distinct id, or leave \"id\" out to number them")
        first_seen[seed_id] = where
        seeds.append(Seed(seed_id, instruction.strip(), extra, source))
    return seeds
