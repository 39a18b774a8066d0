"""How ``--help`` is laid out: option names are never cut (no commands here).

typer renders each command's options as a rich table whose columns are added implicitly, and rich shortens any
column that does not fit with an ellipsis: at 80 columns ``coderank evol --help`` showed ``--answer-temperatu…``,
a name nobody can type. :func:`install` makes typer's options tables keep the name, switch and type columns whole
(they are short) and give the squeeze to the help text, which wraps, folding a word longer than its column (a
URL, a path) instead of cutting it.

It works on typer's ``rich_utils`` module, which draws these panels; a typer without it (or without rich) keeps its
own layout, so nothing here can break ``--help``.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text


class _OptionsTable(Table):
    """typer's options table with its layout fixed: every column but the last (the help text) never wraps."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        implicit = not self.columns  # typer's options table adds no columns itself; its commands table does
        if renderables and not self.show_header:
            # The help cell is a rich Columns of Texts (help, [default: ...]); a Text's own overflow wins over its
            # column's, so each folds a long word (a URL, a path) instead of cutting it.
            for part in getattr(renderables[-1], "renderables", [renderables[-1]]):
                if isinstance(part, Text) and part.overflow in (None, "ellipsis"):
                    part.overflow = "fold"
        super().add_row(*renderables, **kwargs)
        if implicit and not self.show_header and len(self.columns) >= 2:
            for column in self.columns[:-1]:
                column.no_wrap = True
            self.columns[-1].overflow = "fold"


def install() -> None:
    """Make typer's ``--help`` keep option names whole (idempotent; a no-op where typer draws help otherwise)."""
    try:
        from typer import rich_utils
    except ImportError:  # typer without rich: click's plain help, which never cuts a name
        return
    if getattr(rich_utils, "Table", None) is Table:
        rich_utils.Table = _OptionsTable  # type: ignore[misc]
