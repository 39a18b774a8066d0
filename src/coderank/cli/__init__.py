"""The ``coderank`` command line: parses, calls the library, prints.

One module per command group (:mod:`~coderank.cli.score`, :mod:`~coderank.cli.eval`, :mod:`~coderank.cli.runs`,
...), each importable on its own; what they share (consoles, escaping, progress, options) is in
:mod:`coderank.cli._common`, and :mod:`coderank.cli._app` puts the commands on the typer app, in the order
``coderank --help`` lists them. :func:`main` is the console script (``coderank = "coderank.cli:main"``) and
``python -m coderank``.

User errors (:class:`~coderank.errors.CoderankError`) are printed without a traceback and exit non-zero
(2 for usage and input errors, 3 when the sandbox cannot start, 130 on Ctrl-C, 143 on SIGTERM during a run);
anything else is a bug.
With ``--json`` the human output goes away and one JSON document is printed on stdout; progress and
warnings go to stderr.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

import typer

from coderank.cli._common import err, escape, out
from coderank.errors import CoderankError, Terminated

if TYPE_CHECKING:
    app: typer.Typer

__all__ = ["app", "err", "escape", "main", "out"]


def __getattr__(name: str) -> Any:
    """``coderank.cli.app``, the typer app with every command, made on first use."""
    if name == "app":
        from coderank.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    from coderank.cli._app import app

    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            if rc == 130:  # newer typer releases turn Ctrl-C into this exit status themselves
                err.print("interrupted")
            sys.exit(rc)
    except CoderankError as exc:
        err.print("[red]error:[/] " + escape(exc.message), highlight=False)
        if exc.hint:
            err.print("  hint: " + escape(exc.hint), highlight=False)
        sys.exit(exc.exit_code)
    except Terminated:
        err.print("terminated")
        sys.exit(143)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click's own usage errors (a missing argument, an unknown option)
        usage, abort = _click_errors()
        if isinstance(exc, usage):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, abort):  # click turns Ctrl-C into Abort
            err.print("interrupted")
            sys.exit(130)
        raise


def _click_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Click's usage-error and abort classes.

    Both those of click itself and those of the copy of click that newer typer releases carry inside them
    (``typer._click``): they are different classes, and either may be the one raised.
    """
    usage: list[type[BaseException]] = []
    abort: list[type[BaseException]] = [typer.Abort]
    for name in ("click.exceptions", "typer._click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        usage += [c for c in (getattr(module, "ClickException", None),) if isinstance(c, type)]
        abort += [c for c in (getattr(module, "Abort", None),) if isinstance(c, type)]
    return tuple(usage), tuple(abort)
