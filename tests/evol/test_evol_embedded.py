"""`coderank evol` end to end on the embedded model: real generation, real sandbox, real decontamination,
and a real resume after SIGKILL. Loads a 0.5B model on the CPU: marked slow; CI runs it with `-m slow`.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from coderank.evol.filters import REASONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

pytest.importorskip("llama_cpp")


def _count(db, sql):
    try:
        con = sqlite3.connect(db)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_evol_tiny_run_killed_with_sigkill_resumes(tmp_path):
    env = dict(os.environ, CODERANK_HOME=str(tmp_path / "home"))
    db = tmp_path / "home" / "coderank.db"
    out = tmp_path / "evol.jsonl"
    cmd = [sys.executable, "-m", "coderank", "evol", "--limit", "3", "--rounds", "2", "-o", str(out), "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        if db.exists() and _count(db, "SELECT COUNT(*) FROM completions") >= 2:
            break
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _count(db, "SELECT COUNT(*) FROM completions")
    assert before >= 2 and not out.exists()

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["resumed"] is True and result["cached"] == before
    assert result["generated"] + result["cached"] == _count(db, "SELECT COUNT(*) FROM completions")
    # 3 seeds x 2 rounds: six attempts, each stored once, each dropped one with a known reason
    assert result["attempts"] == 6 == _count(db, "SELECT COUNT(*) FROM evol_rows")
    con = sqlite3.connect(db)
    reasons = [r[0] for r in con.execute("SELECT reason FROM evol_rows WHERE kept = 0")]
    assert all(r in REASONS for r in reasons)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == result["rows"] == 6 - len(reasons)
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert row["instruction"] and row["output"] and row["round"] in (1, 2)
    manifest = json.loads((tmp_path / "evol.manifest.json").read_text())
    assert manifest["model"]["weights_sha256"].startswith("sha256:1d9614638d18")
    assert manifest["decontam"]["benchmarks"][0]["name"] == "humaneval" and manifest["decontam"]["embeddings"]
    assert manifest["sandbox_isolation"], "the answers' code ran in the sandbox"

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert json.loads(again.stdout)["generated"] == 0
    assert out.read_text() == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
