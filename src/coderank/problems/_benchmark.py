"""Benchmarks: named, versioned, hashed sets of problems.

A benchmark's hash is the hash of its problems' hashes in task order, so any change to a prompt, a test or
an entry point changes it; the hash goes into every result so scores on different data never mix.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coderank.digest import tagged
from coderank.errors import UsageError
from coderank.paths import require_file
from coderank.types import Problem


@dataclass(frozen=True)
class Benchmark:
    """A set of problems.

    Attributes:
        name: Registry name (``humaneval``) or the file it was loaded from.
        version: Version of the data (package version for bundled data).
        problems: Problems by task id, in the benchmark's order.
        source: Where the data came from, for the manifest.
        derivation: For a benchmark derived from another (``coderank augment``, ``coderank perturb``, an EvalPlus
            file's plus tests): ``kind``, and where there is one, the ``base`` benchmark's name and its hash
            ``base_sha256``, the generator's ``seed`` and version; it goes into run manifests. None otherwise.
    """

    name: str
    version: str
    problems: dict[str, Problem]
    source: str
    derivation: dict[str, Any] | None = field(default=None, compare=False)
    data_file: str | None = field(default=None, compare=False)

    def files(self) -> list[str]:
        """The files holding this benchmark's tests and solutions (which programs must not be able to read)."""
        found = [self.data_file] if self.data_file else []
        return found + ([self.source] if Path(self.source).is_file() else [])

    @property
    def sha256(self) -> str:
        """Algorithm-tagged hash over the problems' hashes, in order."""
        h = hashlib.sha256()
        for problem in self.problems.values():
            h.update(problem.sha256.encode())
            h.update(b"\n")
        return tagged(h.hexdigest())

    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems.values())


_REGISTRY: dict[str, Callable[[], Benchmark]] = {}
_SCHEMES: dict[str, Callable[[Path], Benchmark]] = {}
_FORMATS: list[tuple[Callable[[Path], bool], Callable[[Path], Benchmark]]] = []
_FALLBACK: list[Callable[[Path], Benchmark]] = []


def register(name: str) -> Callable[[Callable[[], Benchmark]], Callable[[], Benchmark]]:
    """Register a benchmark factory under ``name`` (factories import heavy data lazily)."""

    def deco(factory: Callable[[], Benchmark]) -> Callable[[], Benchmark]:
        _REGISTRY[name] = factory
        return factory

    return deco


def register_scheme(scheme: str, load: Callable[[Path], Benchmark]) -> None:
    """Load ``SCHEME:PATH`` benchmark specs with ``load(PATH)`` (e.g. ``evalplus:HumanEvalPlus.jsonl``)."""
    _SCHEMES[scheme] = load


def register_format(detect: Callable[[Path], bool], load: Callable[[Path], Benchmark], *,
                    fallback: bool = False) -> None:
    """Load a benchmark file given by bare path with ``load`` when ``detect(path)`` holds.

    Formats are tried in registration order; the ``fallback`` loader (the problem file) takes any other file.
    """
    if fallback:
        _FALLBACK[:] = [load]
    else:
        _FORMATS.append((detect, load))


def names() -> list[str]:
    """Names of the registered benchmarks."""
    return sorted(_REGISTRY)


def load_benchmark(spec: str) -> Benchmark:
    """Load a benchmark by registry name, from a problem file (``.jsonl``), or from an EvalPlus release file.

    ``evalplus:PATH`` and ``evalplus-base:PATH`` load EvalPlus's HumanEval+/MBPP+ files with their plus or base
    tests (:mod:`coderank.problems.evalplus`); a bare path to a ``.jsonl``/``.jsonl.gz`` file in EvalPlus's
    format loads as ``evalplus:PATH``; any other path is a problem file. Schemes and file formats are registered
    by the modules that read them (:func:`register_scheme`, :func:`register_format`).

    Raises:
        UsageError: unknown name (with suggestions) or missing file.
        InputError: the problem file is invalid (with file and line).
        SandboxError: an EvalPlus file's expected outputs must be computed and the sandbox cannot start.
    """
    if spec in _REGISTRY:
        return _REGISTRY[spec]()
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in _SCHEMES:
        return _SCHEMES[scheme](Path(rest))
    path = Path(spec)
    if path.suffix in (".jsonl", ".json", ".yaml", ".yml", ".gz") or path.exists():
        require_file(path, "benchmark file", "give a problem file (.jsonl), or a benchmark name: "
                     + ", ".join(names()))
        for detect, load in _FORMATS:
            if detect(path):
                return load(path)
        return _FALLBACK[0](path)
    close = difflib.get_close_matches(spec, names(), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"known benchmarks: {', '.join(names())}"
    raise UsageError(f"unknown benchmark {spec!r}", hint + " (or give the path of a problem file, .jsonl, or "
                     "evalplus:PATH for an EvalPlus release file)")
