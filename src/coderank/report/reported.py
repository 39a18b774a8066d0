"""Reported numbers: scores from papers and vendor reports, kept apart from what coderank measured.

A reported number is data with a source and a date, never a run. coderank bundles a small, checked table of
them (``coderank/report/data/reported.jsonl``); a user adds their own in ``user_reported_path()`` or in files
passed to ``load_reported``. Each line of such a file is one JSON object:

- ``model`` (display name), ``benchmark`` (e.g. ``"humaneval"``), ``metric`` (e.g. ``"pass@1"``);
- ``value``: a fraction in [0, 1] — 67.0% is written ``0.670``, keeping the digits the source printed;
- ``setting``: how it was obtained, as the source says (``"zero-shot, greedy"``, ``"as reported"`` …);
- ``source``: the paper or report title with its arXiv id or URL; ``source_date``: ``YYYY-MM`` or
  ``YYYY-MM-DD``; ``reported_by``: who measured it (``"OpenAI"``, ``"Meta (Code Llama paper)"`` …);
- optional: ``note`` (string), ``open_weights`` (bool).

``benchmark`` is free text, and the board groups numbers by it, so a reported number sits beside measured runs
only when it names the same problems. The bundled table uses ``humaneval`` (the 164 problems, as coderank's
``humaneval``), ``humaneval-plus`` (the same problems with EvalPlus's extra tests), ``mbpp-plus`` (EvalPlus's
MBPP+ task set with its extra tests) and ``mbpp-plus-base`` (that task set on MBPP's original tests). None of
the EvalPlus names is coderank's ``mbpp`` (MBPP's 500-problem test split): EvalPlus's MBPP+ is a subset of
about 400 tasks drawn from every split, so a paper's "MBPP" column from EvalPlus goes under ``mbpp-plus-base``,
and ``mbpp`` is kept for numbers on the test split itself.

Every line is checked on load; an error names the file, the line and the fix.
"""

from __future__ import annotations

import datetime
import importlib.resources
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coderank.errors import CoderankError, InputError, UsageError
from coderank.jsonl import json_lines
from coderank.paths import data_home

BUNDLED = "bundled"
"""The ``origin`` of the numbers that ship with coderank."""

_RESOURCE = ("data", "reported.jsonl")
_REQUIRED = ("model", "benchmark", "metric", "value", "setting", "source", "source_date", "reported_by")
_OPTIONAL = ("note", "open_weights")
_KNOWN = frozenset(_REQUIRED + _OPTIONAL)
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_HINTS = {
    "model": "the model's display name, e.g. \"Code Llama - Python 34B\"",
    "benchmark": "the benchmark, e.g. \"humaneval\"",
    "metric": "the metric, e.g. \"pass@1\"",
    "value": "a fraction in [0, 1]: write 67.0% as 0.670",
    "setting": "how the number was obtained, e.g. \"zero-shot, greedy\" (or \"as reported\")",
    "source": "where the number was published: the paper or report title with its arXiv id or URL",
    "source_date": "the date of the source as YYYY-MM or YYYY-MM-DD, e.g. 2023-08-26",
    "reported_by": "who measured the number, e.g. \"OpenAI\" or \"Meta (Code Llama paper)\"",
}


@dataclass(frozen=True, kw_only=True)
class Reported:
    """One number reported elsewhere (a paper, a model card, a vendor report) — not measured by coderank.

    Attributes:
        model: Display name of the model.
        benchmark: Benchmark name, e.g. ``"humaneval"``.
        metric: Metric name, e.g. ``"pass@1"``.
        value: The score as a fraction in [0, 1].
        setting: How the number was obtained, in the source's words.
        source: Title of the paper or report with its arXiv id or URL.
        source_date: Date of the source, ``YYYY-MM`` or ``YYYY-MM-DD``.
        reported_by: Who measured it.
        note: Anything a reader should know (optional).
        open_weights: Whether the model's weights are public (None: not stated).
        origin: ``"bundled"`` for coderank's own table, else the path of the user file it came from.
    """

    model: str
    benchmark: str = "humaneval"
    metric: str = "pass@1"
    value: float
    setting: str = "as reported"
    source: str
    source_date: str
    reported_by: str
    note: str | None = None
    open_weights: bool | None = None
    origin: str = BUNDLED

    @property
    def bundled(self) -> bool:
        """True for the numbers that ship with coderank, False for a user's own."""
        return self.origin == BUNDLED

    def to_row(self) -> dict[str, Any]:
        """The JSON object of this entry as a reported file stores it (no ``origin``; unset optionals left out)."""
        row: dict[str, Any] = {field: getattr(self, field) for field in _REQUIRED}
        for field in _OPTIONAL:
            if getattr(self, field) is not None:
                row[field] = getattr(self, field)
        return row


def user_reported_path() -> Path:
    """``$CODERANK_HOME/reported.jsonl``, else ``$XDG_DATA_HOME/coderank/reported.jsonl`` (~/.local/share)."""
    return data_home() / "reported.jsonl"


def _check_date(text: str) -> bool:
    match = _DATE.match(text)
    if not match:
        return False
    year, month, day = (int(part) if part else 1 for part in match.groups())
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _entry_from_row(row: Any, where: str, origin: str, error: type[CoderankError] = InputError) -> Reported:
    """Check one parsed line (or a new entry) and build its ``Reported``; raise ``error`` naming ``where``."""
    if not isinstance(row, dict):
        raise error(f"{where}: expected a JSON object, got {type(row).__name__}",
                    "each line must be one JSON object, e.g. "
                    '{"model": "GPT-4", "benchmark": "humaneval", "metric": "pass@1", "value": 0.670, ...}')
    unknown = set(row) - _KNOWN
    if unknown:
        raise error(f"{where}: unknown field(s) {', '.join(sorted(unknown))}",
                    f"allowed fields: {', '.join(_REQUIRED + _OPTIONAL)}")
    for field in _REQUIRED:
        if row.get(field) is None:
            raise error(f"{where}: missing field {field!r}", _HINTS[field])
    for field in _REQUIRED:
        if field != "value" and (not isinstance(row[field], str) or not row[field].strip()):
            raise error(f"{where}: field {field!r} must be a non-empty string, got {row[field]!r}", _HINTS[field])
    value = row["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise error(f"{where}: 'value' must be a number, got {value!r}", _HINTS["value"])
    if not 0.0 <= value <= 1.0:
        raise error(f"{where}: 'value' {value!r} is not a fraction in [0, 1]", _HINTS["value"])
    if not _check_date(row["source_date"]):
        raise error(f"{where}: 'source_date' {row['source_date']!r} is not a date as YYYY-MM or YYYY-MM-DD",
                    _HINTS["source_date"])
    note = row.get("note")
    if note is not None and not isinstance(note, str):
        raise error(f"{where}: 'note' must be a string, got {note!r}")
    open_weights = row.get("open_weights")
    if open_weights is not None and not isinstance(open_weights, bool):
        raise error(f"{where}: 'open_weights' must be true or false, got {open_weights!r}")
    return Reported(
        model=row["model"].strip(),
        benchmark=row["benchmark"].strip(),
        metric=row["metric"].strip(),
        value=float(value),
        setting=row["setting"].strip(),
        source=row["source"].strip(),
        source_date=row["source_date"],
        reported_by=row["reported_by"].strip(),
        note=note or None,
        open_weights=open_weights,
        origin=origin,
    )


def _key(entry: Reported) -> tuple[str, ...]:
    return (entry.model, entry.benchmark, entry.metric, entry.setting, entry.source)


def _parse_lines(lines: Iterable[bytes], name: str, origin: str) -> list[Reported]:
    entries: list[Reported] = []
    seen: dict[tuple[str, ...], int] = {}
    for where, row in json_lines(lines, name):
        entry = _entry_from_row(row, where, origin)
        key = _key(entry)
        if key in seen:
            raise InputError(f"{where}: duplicate of line {seen[key]} (same model, benchmark, metric, setting and "
                             "source)", "remove one of the two lines")
        seen[key] = int(where.rsplit(":", 1)[1])
        entries.append(entry)
    return entries


def _load_bundled() -> list[Reported]:
    resource = importlib.resources.files("coderank.report").joinpath(*_RESOURCE)
    return _parse_lines(resource.read_bytes().splitlines(keepends=True), "coderank/report/" + "/".join(_RESOURCE),
                        BUNDLED)


def _load_file(path: Path) -> list[Reported]:
    try:
        with path.open("rb") as fh:
            return _parse_lines(fh, str(path), str(path))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file", "give the path of a reported-numbers JSONL file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory", "give the path of a reported-numbers JSONL file") from exc


def load_reported(paths: Sequence[Path] = ()) -> list[Reported]:
    """All reported numbers: the bundled table first, then the user's file, then ``paths`` in order.

    The user's file (``user_reported_path()``) is read when it exists; a path given twice is read once. Each
    entry's ``origin`` says where it came from: ``"bundled"`` or the user file's path.

    Raises:
        InputError: the first invalid line, naming file, line and fix; or a missing file in ``paths``.
    """
    entries = _load_bundled()
    user = user_reported_path()
    files = ([user] if user.is_file() else []) + [Path(p) for p in paths]
    read: set[Path] = set()
    for path in files:
        resolved = path.resolve()
        if resolved in read:
            continue
        read.add(resolved)
        entries.extend(_load_file(path))
    return entries


def add_reported(entry: Reported, path: Path | None = None) -> Path:
    """Check ``entry`` and append it as one line to ``path`` (default: ``user_reported_path()``).

    Returns:
        The file written to (created with its folders when missing).

    Raises:
        UsageError: the entry is invalid, or the file already holds the same number (same model, benchmark,
            metric, setting and source).
        InputError: the existing file has an invalid line.
    """
    target = Path(path) if path is not None else user_reported_path()
    checked = _entry_from_row(entry.to_row(), f"{target} (new entry for {entry.model!r})", str(target), UsageError)
    existing = _load_file(target) if target.exists() else []
    for old in existing:
        if _key(old) == _key(checked):
            raise UsageError(f"{target}: already holds {checked.model} {checked.metric} on {checked.benchmark} "
                             f"({checked.setting}) from {checked.source!r}",
                             "edit that line instead of adding a second one")
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = ""
    if target.exists() and target.stat().st_size > 0:
        with target.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                prefix = "\n"
    with target.open("a", encoding="utf-8") as fh:
        fh.write(prefix + json.dumps(checked.to_row(), ensure_ascii=False) + "\n")
    return target
