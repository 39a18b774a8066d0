"""An executor that is killed cannot remove its scratch directory: the next one on the host does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from coderank.execution.pool import Executor, sweep_scratch

_HOLD = """
import sys
from coderank.execution.pool import Executor
ex = Executor(workers=1)
ex.start()
print(ex._tmp.name, flush=True)
sys.stdin.read()  # until killed
"""


def test_a_killed_executors_scratch_directory_is_removed_by_the_next_executor(tmp_path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", _HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                            text=True)
    try:
        scratch = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert scratch and os.path.isdir(scratch), scratch
        assert os.path.basename(scratch).startswith(f"coderank-sandbox-{proc.pid}-")
        # a live executor's directory is left alone
        assert sweep_scratch(str(tmp_path)) == 0 and os.path.isdir(scratch)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert os.path.isdir(scratch)  # SIGKILL: no clean-up ran
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{proc.pid}") and time.monotonic() < deadline:  # reaped above; be sure
        time.sleep(0.05)
    # a directory not named after a process (someone else's) is never touched
    other = tmp_path / "coderank-sandbox-notours"
    other.mkdir()
    assert sweep_scratch(str(tmp_path)) == 1
    assert not os.path.exists(scratch) and other.is_dir()


def test_starting_an_executor_sweeps_and_closing_one_leaves_nothing(tmp_path, monkeypatch) -> None:
    dead = tmp_path / "coderank-sandbox-999999999-abc_12"  # above any pid_max: no such process
    (dead / "w0-0").mkdir(parents=True)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with Executor(workers=1) as ex:
        assert ex._tmp is not None and os.path.dirname(ex._tmp.name) == str(tmp_path)
        assert not dead.exists()
    assert [p.name for p in tmp_path.iterdir()] == []
