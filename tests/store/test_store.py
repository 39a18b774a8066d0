import sqlite3

import pytest

from coderank.errors import UsageError
from coderank.store import Store
from coderank.store._store import MIGRATIONS


def test_migrating_a_blank_database_creates_the_schema_and_records_it():
    store = Store(":memory:")
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "completions", "samples", "migrations"} <= tables
    assert [r[0] for r in store.db.execute("SELECT id FROM migrations")] == list(range(1, len(MIGRATIONS) + 1))
    cols = {r[1] for r in store.db.execute("PRAGMA table_info(samples)")}
    assert {"run_id", "task_id", "sample_index", "status", "truncated", "program_sha256"} <= cols


def test_reopening_a_file_does_not_migrate_twice(tmp_path):
    path = tmp_path / "db.sqlite"
    Store(path).close()
    store = Store(path)
    assert store.db.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _run(store, identity=None):
    return store.open_run(identity or {"model": "m", "n": 1}, {"version": 1}, kind="eval", model="m",
                          benchmark="b")


def test_the_same_identity_resumes_the_same_run():
    store = Store(":memory:")
    run_id, resumed = _run(store)
    again, resumed_again = _run(store)
    other, _ = _run(store, {"model": "m", "n": 2})
    assert (resumed, resumed_again) == (False, True)
    assert again == run_id != other


def _put(store, run_id, status="passed", program="def f(): pass\n"):
    store.put_sample(run_id, "t/0", 0, completion_key=None, program=program, extraction={"method": "x"},
                     status=status, detail="", cpu_seconds=0.1, wall_seconds=0.1, output="", truncated=False)


def test_writing_a_sample_twice_replaces_it_and_never_duplicates():
    store = Store(":memory:")
    run_id, _ = _run(store)
    _put(store, run_id, "failed")
    _put(store, run_id, "passed")
    rows = list(store.samples(run_id))
    assert len(rows) == 1 and rows[0].status == "passed"
    assert store.done_keys(run_id) == {("t/0", 0)}


def test_completion_cache_keeps_the_first_text_under_a_key():
    store = Store(":memory:")
    key = Store.completion_key({"a": 1})
    assert store.get_completion(key) is None
    store.put_completion(key, {"a": 1}, "first", finish_reason="stop", prompt_tokens=1, completion_tokens=2,
                         seconds=0.5)
    store.put_completion(key, {"a": 1}, "second", finish_reason="stop", prompt_tokens=1, completion_tokens=2,
                         seconds=0.5)
    assert store.get_completion(key)["text"] == "first"
    assert Store.completion_key({"a": 1}) == key != Store.completion_key({"a": 2})


def test_verify_finds_tampered_rows(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    run_id, _ = _run(store)
    _put(store, run_id)
    key = Store.completion_key({"a": 1})
    store.put_completion(key, {"a": 1}, "text", finish_reason=None, prompt_tokens=None, completion_tokens=None,
                         seconds=None)
    assert store.verify_hashes() == []
    raw = sqlite3.connect(tmp_path / "db.sqlite")
    raw.execute("UPDATE samples SET program = 'def f(): return 1\n'")
    raw.execute("UPDATE completions SET text = 'other'")
    raw.commit()
    problems = store.verify_hashes()
    assert any("program does not match" in p for p in problems)
    assert any("text does not match" in p for p in problems)


def test_runs_are_found_by_unique_prefix_and_errors_are_clear():
    store = Store(":memory:")
    run_id, _ = _run(store)
    assert store.get_run(run_id[4:10]).run_id == run_id
    with pytest.raises(UsageError, match="no run"):
        store.get_run("run-ffffffffffff")


def test_a_finished_run_is_never_rewritten():
    store = Store(":memory:")
    run_id, _ = _run(store)
    _put(store, run_id)
    assert store.finish_run(run_id, {"score": 1}, {"version": 1, "limits": 3})
    record = store.db.execute("SELECT manifest, manifest_sha256, summary, finished_at FROM runs").fetchone()
    assert not store.finish_run(run_id, {"score": 0}, {"version": 1, "limits": 10})
    store.stop_run(run_id, "failed", "late")
    assert store.db.execute("SELECT manifest, manifest_sha256, summary, finished_at FROM runs").fetchone() == record
    assert store.get_run(run_id).status == "finished"
    with pytest.raises(RuntimeError, match="finished"):
        _put(store, run_id, "failed")
    with pytest.raises(RuntimeError, match="finished"):
        store.put_samples([Store.sample_row(run_id, "t/1", 0, completion_key=None, program=None, extraction={},
                                            status="no_code", detail="", cpu_seconds=None, wall_seconds=None,
                                            output=None, truncated=False)])
    _run(store)  # found again: still finished, untouched
    assert store.get_run(run_id).status == "finished" and [r.status for r in store.samples(run_id)] == ["passed"]


def test_a_stopped_run_says_why_until_it_is_resumed():
    store = Store(":memory:")
    run_id, _ = _run(store)
    store.stop_run(run_id, "interrupted", "interrupted (Ctrl-C)")
    run = store.get_run(run_id)
    assert (run.status, run.status_detail) == ("interrupted", "interrupted (Ctrl-C)")
    assert _run(store) == (run_id, True)
    run = store.get_run(run_id)
    assert (run.status, run.status_detail) == ("running", None)


def test_a_running_run_left_without_an_owner_by_an_older_version_reads_as_interrupted():
    store = Store(":memory:")
    run_id, _ = _run(store)
    assert store.get_run(run_id).status == "running"
    store.db.execute("UPDATE runs SET owner = NULL WHERE run_id = ?", (run_id,))
    run = store.get_run(run_id)
    assert run.status == "interrupted" and "older than process tracking" in (run.status_detail or "")
    assert _run(store) == (run_id, True)  # its command resumes it, now with this process as owner
    assert store.get_run(run_id).status == "running"


def test_names_label_runs_without_touching_their_record():
    store = Store(":memory:")
    run_id, _ = _run(store)
    record = store.db.execute("SELECT manifest, manifest_sha256 FROM runs").fetchone()
    store.set_name(run_id, "baseline")
    assert store.get_run("baseline").run_id == run_id and store.get_run(run_id).label == "baseline"
    assert store.db.execute("SELECT manifest, manifest_sha256 FROM runs").fetchone() == record
    other, _ = _run(store, {"model": "m", "n": 2})
    store.set_name(other, "baseline")
    with pytest.raises(UsageError, match="2 runs are named 'baseline'"):
        store.get_run("baseline")


def test_deleting_a_run_takes_its_samples_and_leaves_other_runs_and_the_cache():
    store = Store(":memory:")
    run_id, _ = _run(store)
    other, _ = _run(store, {"model": "m", "n": 2})
    _put(store, run_id)
    _put(store, other)
    key = Store.completion_key({"a": 1})
    store.put_completion(key, {"a": 1}, "text", finish_reason=None, prompt_tokens=None, completion_tokens=None,
                         seconds=None)
    store.delete_run(run_id)
    assert store.find_run(run_id) is None and list(store.samples(run_id)) == []
    assert store.find_run(other) is not None and len(list(store.samples(other))) == 1
    assert store.get_completion(key) is not None


def test_a_store_made_before_run_names_opens_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT, applied_at REAL)")
    for number, (name, sql) in enumerate(MIGRATIONS[:2], start=1):
        raw.executescript(sql)
        raw.execute("INSERT INTO migrations VALUES (?, ?, 0)", (number, name))
    raw.execute("INSERT INTO runs VALUES ('run-0123456789ab', 'eval', 'm', 'b', 1.0, NULL, 'running', '{}', 'x', NULL)")
    raw.commit()
    raw.close()
    store = Store(path)
    run = store.get_run("run-0123456789ab")
    assert (run.name, run.status) == (None, "interrupted")  # running, but no process recorded: an older version's
    assert "older than process tracking" in (run.status_detail or "")


def test_a_run_another_live_process_works_on_is_neither_joined_nor_deleted():
    import os
    import socket

    store = Store(":memory:")
    run_id, _ = _run(store)
    parent = os.getppid()  # alive, and not this process
    store.db.execute("UPDATE runs SET owner = ?", (f"{socket.gethostname()}:{parent}:",))
    with pytest.raises(UsageError, match=f"being run now by process {parent}"):
        _run(store)
    with pytest.raises(UsageError, match=f"being run now by process {parent}"):
        store.delete_run(run_id)
    assert store.get_run(run_id).status == "running"
