"""Tables for the command line (no commands here): ids are never cut, everything else wraps.

Run ids (and task ids) are what every other command takes, so a table must never shorten one to ``run-da9b5…``,
however narrow the terminal: their columns do not wrap and are at least as wide as their longest id. Every other
column wraps, folding a word longer than the column instead of cutting it off with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text


class IdTable(Table):
    """A rich table whose id columns are never cut or wrapped; the other columns fold.

    Args:
        columns: Column headers, in order.
        ids: Headers of the id columns (kept whole).
        right: Headers of right-justified columns.
        **kwargs: Passed to :class:`rich.table.Table` (``show_edge`` defaults to False, ``header_style`` to bold).
    """

    def __init__(self, *columns: str, ids: Collection[str] = ("run",), right: Collection[str] = (),
                 **kwargs: Any) -> None:
        kwargs.setdefault("show_edge", False)
        kwargs.setdefault("header_style", "bold")
        super().__init__(**kwargs)
        self._id_columns: list[int] = []
        for index, name in enumerate(columns):
            justify: JustifyMethod = "right" if name in right else "left"
            if name in ids:
                self.add_column(name, justify=justify, no_wrap=True, min_width=max(cell_len(name), 1))
                self._id_columns.append(index)
            else:
                self.add_column(name, justify=justify, overflow="fold")

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        """Add a row; an id column grows to hold its longest id whole."""
        for index in self._id_columns:
            cell = renderables[index] if index < len(renderables) else None
            if isinstance(cell, (str, Text)):
                width = cell_len(Text.from_markup(cell).plain if isinstance(cell, str) else cell.plain)
                column = self.columns[index]
                column.min_width = max(column.min_width or 0, width)
        super().add_row(*renderables, **kwargs)
