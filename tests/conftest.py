"""Every test gets its own coderank home (database) in a tmp dir; the model cache stays shared."""

import os

import pytest

from coderank.models.embedded import cache_dir

_MODEL_CACHE = str(cache_dir())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CODERANK_HOME", str(tmp_path / "coderank-home"))
    monkeypatch.setenv("CODERANK_MODEL_CACHE", os.environ.get("CODERANK_MODEL_CACHE", _MODEL_CACHE))


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run the coderank CLI in-process: ``code, stdout, stderr = cli("score", "f.jsonl", "--json")``."""
    from coderank.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.argv", ["coderank", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
