"""Durable SQLite store of runs, cached completions and verdicts."""

from coderank.store._store import (
    SCORED,
    STOPPED,
    RunInfo,
    SampleRow,
    Store,
    canonical_json,
    default_path,
    sha256_text,
)

__all__ = ["SCORED", "STOPPED", "RunInfo", "SampleRow", "Store", "canonical_json", "default_path", "sha256_text"]
