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


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` so that readers see the old file or the new one, never half.

    The data goes to a uniquely named temporary file in the same folder (created if missing), which is then
    renamed over ``path``; on any failure the temporary file is removed. The file is created mode 0644.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
