"""Benchmarks: named, versioned, hashed sets of problems.

A benchmark's hash is the hash of its problems' hashes in task order, so any change to a prompt, a test or
an entry point changes it; the hash goes into every result so scores on different data never mix.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from coderank.errors import UsageError
from coderank.types import Problem


@dataclass(frozen=True)
class Benchmark:
    """A set of problems.

    Attributes:
        name: Registry name (``humaneval``) or the file it was loaded from.
        version: Version of the data (package version for bundled data).
        problems: Problems by task id, in the benchmark's order.
        source: Where the data came from, for the manifest.
    """

    name: str
    version: str
    problems: dict[str, Problem]
    source: str

    @property
    def sha256(self) -> str:
        """Algorithm-tagged hash over the problems' hashes, in order."""
        h = hashlib.sha256()
        for problem in self.problems.values():
            h.update(problem.sha256.encode())
            h.update(b"\n")
        return "sha256:" + h.hexdigest()

    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems.values())


_REGISTRY: dict[str, Callable[[], Benchmark]] = {}


def register(name: str) -> Callable[[Callable[[], Benchmark]], Callable[[], Benchmark]]:
    """Register a benchmark factory under ``name`` (factories import heavy data lazily)."""

    def deco(factory: Callable[[], Benchmark]) -> Callable[[], Benchmark]:
        _REGISTRY[name] = factory
        return factory

    return deco


def names() -> list[str]:
    """Names of the registered benchmarks."""
    return sorted(_REGISTRY)


def load_benchmark(spec: str) -> Benchmark:
    """Load a benchmark by registry name, or from a problem file (``.jsonl``) if ``spec`` is a path.

    Raises:
        UsageError: unknown name (with suggestions) or missing file.
        InputError: the problem file is invalid (with file and line).
    """
    if spec in _REGISTRY:
        return _REGISTRY[spec]()
    path = Path(spec)
    if path.suffix in (".jsonl", ".json", ".yaml", ".yml") or path.exists():
        from coderank.benchmarks.problemfile import load_problem_file

        if not path.exists():
            raise UsageError(f"benchmark file {spec} does not exist")
        return load_problem_file(path)
    close = difflib.get_close_matches(spec, names(), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"known benchmarks: {', '.join(names())}"
    raise UsageError(f"unknown benchmark {spec!r}", hint + " (or give the path of a problem file, .jsonl)")
