"""Where coderank keeps its data: ``$CODERANK_HOME``, else ``$XDG_DATA_HOME/coderank`` (~/.local/share)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from coderank.errors import UsageError


def data_home() -> Path:
    """The folder for the database and the user's own reported numbers."""
    home = os.environ.get("CODERANK_HOME")
    if home:
        return Path(home)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "coderank"


def source_checkout() -> Path | None:
    """The root of the coderank source tree this coderank runs from (an editable install), or None.

    A source tree has ``pyproject.toml`` and ``scripts/setup.sh`` two folders above the package; an installed
    release has neither.
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "scripts" / "setup.sh").is_file() else None


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


def check_output_file(out: Path, inputs: Iterable[Path | str] = (), option: str = "--out") -> None:
    """Refuse, before any work is done, an output file that is a folder or one of the command's input files.

    Raises:
        UsageError: naming the option, the path and the fix.
    """
    if out.is_dir():
        raise UsageError(f"{option} {out} is a folder", f"give {option} a file name, e.g. {out / 'out.jsonl'}")
    for inp in map(Path, inputs):
        if not inp.is_file():  # a benchmark's name, or nothing there to destroy
            continue
        if out.resolve() == inp.resolve() or (out.exists() and os.path.samefile(out, inp)):
            raise UsageError(f"{option} {out} is the input file {inp}: writing it would destroy the input",
                             f"give {option} a new file name")


def check_output_folder(out: Path, what: str, option: str = "--out") -> None:
    """Refuse, before any work is done, an output folder that is an existing file.

    Raises:
        UsageError: naming the option, the path and the fix.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out} is a file; {what}", f"give {option} a folder name, e.g. "
                         f"{out.with_suffix('')}-out/")


def require_file(path: Path, what: str, hint: str = "") -> None:
    """Refuse a path that is a folder or does not exist, saying which.

    Raises:
        UsageError: ``"{what} {path} is a folder, not a file"`` or ``"... does not exist"``, with ``hint``.
    """
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder, not a file", hint)
    if not path.is_file():
        raise UsageError(f"{what} {path} does not exist", hint)
