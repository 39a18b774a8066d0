"""Shared fixtures for the sandbox tests: executors (shared or fresh) and process inspection."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator

import pytest

from coderank.execution.pool import Executor
from coderank.execution.sandbox import Limits


@pytest.fixture
def fresh_executor() -> Iterator[Callable[..., Executor]]:
    """Factory for executors that belong to one test (for programs that could damage a shared one)."""
    made: list[Executor] = []

    def make(workers: int = 1, limits: Limits | None = None) -> Executor:
        ex = Executor(workers=workers, limits=limits or Limits(cpu_seconds=1.0, wall_seconds=3.0))
        made.append(ex)
        ex.start()
        return ex

    yield make
    for ex in made:
        ex.close()


def _sandbox_uids(ex: Executor) -> set[int]:
    """The uids this harness process gives its untrusted programs (one block of 16 per harness pid)."""
    m = re.search(r"uid (\d+)", ex.isolation.get("separate uid", ""))
    assert m, f"no separate uid reported: {ex.isolation}"
    base = int(m.group(1))
    return set(range(base, base + 16))


def _processes_of(uids: set[int]) -> list[tuple[int, int, str]]:
    """(pid, uid, cmdline) of every process on this machine (zombies included) whose real uid is in ``uids``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                status = dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        uid = int(status["Uid"].split()[0])
        if uid in uids:
            found.append((int(entry), uid, cmd))
    return found


@pytest.fixture
def sandbox_processes() -> Callable[[Executor], list[tuple[int, int, str]]]:
    """Function listing the processes that run as one of an executor's sandbox uids, seen from outside."""
    return lambda ex: _processes_of(_sandbox_uids(ex))
