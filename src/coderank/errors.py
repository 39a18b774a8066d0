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
