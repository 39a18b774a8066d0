"""Where coderank keeps its data: ``$CODERANK_HOME``, else ``$XDG_DATA_HOME/coderank`` (~/.local/share)."""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    """The folder for the database and the user's own reported numbers."""
    home = os.environ.get("CODERANK_HOME")
    if home:
        return Path(home)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "coderank"
