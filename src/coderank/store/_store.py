"""The durable store: one SQLite file holding runs, the completion cache, and per-sample verdicts.

Why SQLite: one file, transactional, crash-safe in WAL mode, queryable with any SQLite client.

- **Runs** are keyed by a hash of their identity (model, benchmark hash, template hash, decoding, seed, n,
  tasks), so asking for the same evaluation again resumes the same run instead of starting a new one.
- **A finished run's record never changes**: its manifest, summary and verdicts stay as they were when it
  finished (:meth:`Store.finish_run` leaves a finished run alone, and writing a sample into one is a bug).
  What may change is its display name (:meth:`Store.set_name`), which is no part of the record, and the run
  may be deleted as a whole (:meth:`Store.delete_run`).
- **A run that stopped says so**: ``running`` while its process works on it, ``failed`` or ``interrupted``
  (with why) when it stopped before finishing, and ``interrupted`` when the process that ran it is gone from
  this machine without saying anything (``kill -9``); running the same command again resumes it.
- **Completions** are cached under an algorithm-tagged hash of the canonical JSON of everything that
  determines them (model identity, rendered prompt, decoding parameters, seed, sample index): re-running
  a finished run generates nothing, and a run killed halfway loses nothing it had generated.
- **Samples** are upserted by (run, task, sample index): writing the same sample twice (a retry, a
  resume, a distributed executor with at-least-once delivery) never makes a second row.
- Every text carries its sha256; :meth:`Store.verify` re-derives them all.
- Migrations are numbered and recorded; opening an old file upgrades it in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from coderank.digest import canonical_json, sha256_text
from coderank.errors import UsageError
from coderank.paths import data_home
from coderank.record import Record, RunManifest, RunSummary, plain

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            benchmark TEXT NOT NULL,
            created_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL,
            manifest TEXT NOT NULL,
            manifest_sha256 TEXT NOT NULL,
            summary TEXT
        );
        CREATE TABLE completions (
            key TEXT PRIMARY KEY,
            request TEXT NOT NULL,
            text TEXT NOT NULL,
            text_sha256 TEXT NOT NULL,
            finish_reason TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            seconds REAL,
            created_at REAL NOT NULL
        );
        CREATE TABLE samples (
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            task_id TEXT NOT NULL,
            sample_index INTEGER NOT NULL,
            completion_key TEXT,
            program TEXT,
            program_sha256 TEXT,
            extraction TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL,
            cpu_seconds REAL,
            wall_seconds REAL,
            output TEXT,
            truncated INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, task_id, sample_index)
        );
        """,
    ),
    (
        "evolution rows",
        """
        CREATE TABLE evol_rows (
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            row_id TEXT NOT NULL,
            round INTEGER NOT NULL,
            parent_id TEXT NOT NULL,
            seed_id TEXT NOT NULL,
            method TEXT NOT NULL,
            instruction TEXT NOT NULL,
            output TEXT,
            kept INTEGER NOT NULL,
            reason TEXT,
            detail TEXT,
            record TEXT NOT NULL,
            PRIMARY KEY (run_id, row_id)
        );
        """,
    ),
    (
        "run names, why a run stopped, and which process runs it",
        """
        ALTER TABLE runs ADD COLUMN name TEXT;
        ALTER TABLE runs ADD COLUMN status_detail TEXT;
        ALTER TABLE runs ADD COLUMN owner TEXT;
        """,
    ),
]

STOPPED = ("failed", "interrupted")
"""Statuses of a run that stopped before it finished (running its command again resumes it)."""


def default_path() -> Path:
    """``$CODERANK_HOME/coderank.db``, else ``$XDG_DATA_HOME/coderank/coderank.db`` (~/.local/share)."""
    return data_home() / "coderank.db"


def _process_start(pid: int) -> str:
    """When a process started, in clock ticks since boot ("" where /proc cannot tell): tells a pid reused apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _this_process() -> str:
    """``host:pid:start`` of this process: what ``runs.owner`` holds while it works on a run."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def _owner_gone(owner: str | None) -> bool:
    """Whether the process named by an ``owner`` value is known to be gone (only processes of this host are known)."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    return bool(start) and _process_start(pid) not in ("", start)


@dataclass(frozen=True)
class RunInfo:
    """One stored run.

    Attributes:
        status: ``running``, ``finished``, ``failed`` or ``interrupted``; a run recorded as running whose process is
            gone from this machine reads as ``interrupted``.
        status_detail: Why a failed or interrupted run stopped (None otherwise).
        name: The display name given with ``--name`` or ``coderank rename`` (no part of the run id or manifest).
    """

    run_id: str
    kind: str
    model: str
    benchmark: str
    created_at: float
    finished_at: float | None
    status: str
    manifest: dict[str, Any]
    summary: dict[str, Any] | None
    samples: int
    status_detail: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """What to call the run in tables: its name, else its model."""
        return self.name or self.model

    @cached_property
    def run_manifest(self) -> RunManifest:
        """The manifest, typed (an evol or distill run's own keys are in its ``extra``); ``manifest`` is the dict."""
        return RunManifest.from_dict(self.manifest)

    @cached_property
    def run_summary(self) -> RunSummary | None:
        """The summary, typed (None for an unfinished run); ``summary`` is the dict."""
        return RunSummary.from_dict(self.summary) if self.summary is not None else None


@dataclass(frozen=True)
class SampleRow:
    """One stored sample with its verdict."""

    task_id: str
    sample_index: int
    completion_key: str | None
    program: str | None
    extraction: dict[str, Any]
    status: str
    detail: str
    cpu_seconds: float | None
    wall_seconds: float | None
    output: str | None
    truncated: bool


SCORED = ("eval", "score")
"""Kinds of run that hold a verdict per sample and a pass@k (an evol run holds generated data instead)."""


class Store:
    """A coderank database. Safe to open from several processes; writes are transactions.

    Args:
        path: The SQLite file (created with its folder if missing); ``":memory:"`` for tests.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = str(path or default_path())
        hint = "give --store the path of a coderank database file (a new name creates one)"
        if self.path != ":memory:":
            if Path(self.path).is_dir():
                raise UsageError(f"database {self.path} is a folder, not a file", hint)
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:  # OperationalError too: a file SQLite cannot open or read
            raise UsageError(f"database {self.path} cannot be used: {exc}", hint) from exc

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT, applied_at REAL)")
        done = {row[0] for row in self.db.execute("SELECT id FROM migrations")}
        for number, (name, sql) in enumerate(MIGRATIONS, start=1):
            if number in done:
                continue
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT INTO migrations VALUES (?, ?, ?)", (number, name, time.time()))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # -- runs ------------------------------------------------------------------------------------------

    @staticmethod
    def run_id_of(identity: dict[str, Any]) -> str:
        """The run id of an identity: ``run-`` and 12 hex digits of the sha256 of its canonical JSON."""
        return "run-" + hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:12]

    def open_run(self, identity: dict[str, Any], manifest: dict[str, Any] | Record, *, kind: str, model: str,
                 benchmark: str, run_id: str | None = None) -> tuple[str, bool]:
        """Create the run for ``identity``, or find it again to resume it.

        The manifest is written when the run is created; a run found again keeps its own. An unfinished run
        found again is marked ``running`` by this process; a finished one is left as it is.

        Args:
            identity: What makes the run this run; its hash is the run id.
            manifest: The run's record (stored when the run is created): a typed record or its dict.
            kind: ``eval``, ``score``, ``evol``, ...
            model: Model spec (or samples name) shown in tables.
            benchmark: Benchmark name.
            run_id: The id to use instead of :meth:`run_id_of` ``(identity)`` (a caller that keeps old ids).

        Returns:
            ``(run_id, resumed)``.

        Raises:
            UsageError: another process on this machine is working on the same run now.
        """
        run_id = run_id or self.run_id_of(identity)
        text = canonical_json(plain(manifest))
        me = _this_process()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT status, owner FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                self.db.execute(
                    "INSERT INTO runs (run_id, kind, model, benchmark, created_at, status, manifest, manifest_sha256,"
                    " owner) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    (run_id, kind, model, benchmark, time.time(), text, sha256_text(text), me),
                )
            elif row["status"] != "finished":
                owner = row["owner"]
                if row["status"] == "running" and owner and owner != me and not _owner_gone(owner) \
                        and owner.partition(":")[0] == socket.gethostname():
                    raise UsageError(f"{run_id} is being run now by process {owner.split(':')[1]} on this machine",
                                     "wait for it to finish, or stop it; then run the same command again to resume")
                self.db.execute("UPDATE runs SET status = 'running', status_detail = NULL, owner = ? WHERE run_id = ?",
                                (me, run_id))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return run_id, row is not None

    def find_run(self, run_id: str) -> RunInfo | None:
        """The run with exactly this id, or None."""
        row = self.db.execute(
            "SELECT r.*, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.run_id) AS n FROM runs r WHERE run_id = ?",
            (run_id,)).fetchone()
        return self._run_info(row) if row else None

    def finish_run(self, run_id: str, summary: dict[str, Any] | Record,
                   manifest: dict[str, Any] | Record | None = None) -> bool:
        """Mark a run finished and store its summary (and its completed manifest, re-hashed).

        A run that is already finished is left exactly as it is: its record never changes.

        Returns:
            Whether the run was finished now (False: it already was).
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None or row[0] == "finished":
                self.db.execute("COMMIT")
                return False
            if manifest is not None:
                text = canonical_json(plain(manifest))
                self.db.execute("UPDATE runs SET manifest = ?, manifest_sha256 = ? WHERE run_id = ?",
                                (text, sha256_text(text), run_id))
            self.db.execute(
                "UPDATE runs SET status = 'finished', finished_at = ?, summary = ?, status_detail = NULL, owner = NULL"
                " WHERE run_id = ?", (time.time(), canonical_json(plain(summary)), run_id),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return True

    def stop_run(self, run_id: str, status: str, detail: str) -> None:
        """Record that an unfinished run stopped: ``status`` is ``failed`` or ``interrupted``, ``detail`` says why.

        A finished run is left as it is.
        """
        if status not in STOPPED:
            raise ValueError(f"a stopped run is {' or '.join(STOPPED)}, not {status!r}")
        self.db.execute("UPDATE runs SET status = ?, status_detail = ?, owner = NULL "
                        "WHERE run_id = ? AND status != 'finished'", (status, detail[:500], run_id))

    def set_name(self, run_id: str, name: str | None) -> None:
        """Give a run a display name (None: none). The name is no part of the run id or of the manifest."""
        self.db.execute("UPDATE runs SET name = ? WHERE run_id = ?", (name, run_id))

    def delete_run(self, run_id: str) -> None:
        """Delete a run with its samples and evolution rows (cached completions stay: other runs share them).

        Raises:
            UsageError: a process on this machine is working on the run now.
        """
        row = self.db.execute("SELECT status, owner FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is not None and row["status"] == "running" and row["owner"] and row["owner"] != _this_process() \
                and not _owner_gone(row["owner"]) and row["owner"].partition(":")[0] == socket.gethostname():
            raise UsageError(f"{run_id} is being run now by process {row['owner'].split(':')[1]} on this machine",
                             "stop that process first, or wait for it to finish")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("samples", "evol_rows", "runs"):
                self.db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))  # noqa: S608 (fixed names)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def runs(self) -> list[RunInfo]:
        """All runs, newest first."""
        rows = self.db.execute(
            "SELECT r.*, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.run_id) AS n FROM runs r "
            "ORDER BY created_at DESC"
        ).fetchall()
        return [self._run_info(row) for row in rows]

    def finished_benchmarks(self) -> list[str]:
        """The benchmarks that have a finished run of a :data:`SCORED` kind, sorted."""
        return sorted({r.benchmark for r in self.runs() if r.status == "finished" and r.kind in SCORED})

    def get_run(self, ref: str, *, kinds: tuple[str, ...] = ()) -> RunInfo:
        """A run by id or unique id prefix (``run-`` may be left out), else by its exact name.

        With ``kinds``, only a run of one of those kinds is accepted.

        Raises:
            UsageError: no run, or several runs, match; or the run is not of one of ``kinds``.
        """
        full = ref if ref.startswith("run-") else "run-" + ref
        select = "SELECT r.*, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.run_id) AS n FROM runs r "
        rows = self.db.execute(  # a plain prefix: "_" and "%" in what the user typed are not wildcards
            select + "WHERE substr(run_id, 1, ?) = ? ORDER BY created_at DESC", (len(full), full)
        ).fetchall()
        if not rows:
            rows = self.db.execute(select + "WHERE name = ? ORDER BY created_at DESC", (ref,)).fetchall()
            if len(rows) > 1:
                raise UsageError(f"{len(rows)} runs are named {ref!r}: {', '.join(r['run_id'] for r in rows[:5])}",
                                 "give the run id instead (`coderank runs` lists them)")
        if not rows:
            raise UsageError(f"no run {full} in {self.path}", "`coderank runs` lists the stored runs")
        if len(rows) > 1:
            raise UsageError(f"{full} matches {len(rows)} runs: {', '.join(r['run_id'] for r in rows[:5])}",
                             "give more characters of the run id")
        run = self._run_info(rows[0])
        if kinds and run.kind not in kinds:
            article = "an" if run.kind[:1] in "aeiou" else "a"
            raise UsageError(f"{run.run_id} is {article} {run.kind} run; this command needs {' or '.join(kinds)} runs",
                             "`coderank runs` lists the stored runs with their kinds")
        return run

    @staticmethod
    def _run_info(row: sqlite3.Row) -> RunInfo:
        status, detail = row["status"], row["status_detail"]
        if status == "running" and not row["owner"]:
            # every coderank that records a run as running also records its process; a running run without one
            # was left by a version that did not (before owners were tracked), so no process can be running it
            status = "interrupted"
            detail = ("recorded as running by a coderank older than process tracking (its samples are kept: "
                      "running its command again resumes it)")
        elif status == "running" and _owner_gone(row["owner"]):
            status = "interrupted"
            detail = f"the process that ran it (pid {row['owner'].split(':')[1]}) ended without finishing it"
        return RunInfo(
            run_id=row["run_id"], kind=row["kind"], model=row["model"], benchmark=row["benchmark"],
            created_at=row["created_at"], finished_at=row["finished_at"], status=status,
            manifest=json.loads(row["manifest"]), summary=json.loads(row["summary"]) if row["summary"] else None,
            samples=row["n"], status_detail=detail, name=row["name"],
        )

    # -- completions -----------------------------------------------------------------------------------

    @staticmethod
    def completion_key(request: dict[str, Any]) -> str:
        """The cache key of a generation request (everything that determines its output)."""
        return sha256_text(canonical_json(request))

    def get_completion(self, key: str) -> dict[str, Any] | None:
        """A cached completion, or None."""
        row = self.db.execute("SELECT * FROM completions WHERE key = ?", (key,)).fetchone()
        return dict(row) if row else None

    def put_completion(self, key: str, request: dict[str, Any], text: str, *, finish_reason: str | None,
                       prompt_tokens: int | None, completion_tokens: int | None, seconds: float | None) -> None:
        """Cache a completion (the first one stored under a key wins)."""
        self.db.execute(
            "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, canonical_json(request), text, sha256_text(text), finish_reason, prompt_tokens,
             completion_tokens, seconds, time.time()),
        )

    # -- samples ---------------------------------------------------------------------------------------

    _UPSERT_SAMPLE = (
        "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, task_id, sample_index) DO UPDATE SET completion_key = excluded.completion_key, "
        "program = excluded.program, program_sha256 = excluded.program_sha256, extraction = excluded.extraction, "
        "status = excluded.status, detail = excluded.detail, cpu_seconds = excluded.cpu_seconds, "
        "wall_seconds = excluded.wall_seconds, output = excluded.output, truncated = excluded.truncated"
    )

    @staticmethod
    def sample_row(run_id: str, task_id: str, index: int, *, completion_key: str | None, program: str | None,
                   extraction: dict[str, Any], status: str, detail: str, cpu_seconds: float | None,
                   wall_seconds: float | None, output: str | None, truncated: bool) -> tuple[Any, ...]:
        """The stored form of one sample (for :meth:`put_samples`)."""
        return (run_id, task_id, index, completion_key, program,
                sha256_text(program) if program is not None else None, canonical_json(extraction), status, detail,
                cpu_seconds, wall_seconds, output, int(truncated))

    def _check_unfinished(self, run_ids: set[str]) -> None:
        for run_id in run_ids:
            row = self.db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is not None and row[0] == "finished":
                raise RuntimeError(f"bug: a sample written into {run_id}, which is finished (its record is final)")

    def put_sample(self, run_id: str, task_id: str, index: int, **fields: Any) -> None:
        """Store one sample's verdict; the same (run, task, index) again replaces it, never duplicates.

        Raises:
            RuntimeError: the run is finished (a bug in the caller: a finished record never changes).
        """
        self._check_unfinished({run_id})
        self.db.execute(self._UPSERT_SAMPLE, self.sample_row(run_id, task_id, index, **fields))

    def put_samples(self, rows: list[tuple[Any, ...]]) -> None:
        """Store many samples (rows from :meth:`sample_row`) in one transaction.

        Raises:
            RuntimeError: a run is finished (a bug in the caller: a finished record never changes).
        """
        self._check_unfinished({row[0] for row in rows})
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(self._UPSERT_SAMPLE, rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def samples(self, run_id: str) -> Iterator[SampleRow]:
        """The run's samples, by task then index."""
        for row in self.db.execute(
            "SELECT * FROM samples WHERE run_id = ? ORDER BY task_id, sample_index", (run_id,)
        ):
            yield SampleRow(
                task_id=row["task_id"], sample_index=row["sample_index"], completion_key=row["completion_key"],
                program=row["program"], extraction=json.loads(row["extraction"]), status=row["status"],
                detail=row["detail"], cpu_seconds=row["cpu_seconds"], wall_seconds=row["wall_seconds"],
                output=row["output"], truncated=bool(row["truncated"]),
            )

    def per_problem_counts(self, run_id: str) -> dict[str, tuple[int, int]]:
        """``{task_id: (samples, passed)}`` of a run."""
        return {row[0]: (row[1], row[2]) for row in self.db.execute(
            "SELECT task_id, COUNT(*), SUM(status = 'passed') FROM samples WHERE run_id = ? GROUP BY task_id",
            (run_id,))}

    def done_keys(self, run_id: str) -> set[tuple[str, int]]:
        """(task, index) pairs the run already has verdicts for."""
        return {(r[0], r[1]) for r in self.db.execute(
            "SELECT task_id, sample_index FROM samples WHERE run_id = ?", (run_id,))}

    # -- evolution rows --------------------------------------------------------------------------------

    _UPSERT_EVOL = (
        "INSERT INTO evol_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, row_id) DO UPDATE SET round = excluded.round, parent_id = excluded.parent_id, "
        "seed_id = excluded.seed_id, method = excluded.method, instruction = excluded.instruction, "
        "output = excluded.output, kept = excluded.kept, reason = excluded.reason, detail = excluded.detail, "
        "record = excluded.record"
    )

    def put_evol_rows(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        """Store evolution attempts (kept or dropped) in one transaction; a row id seen again is replaced.

        Each row has ``id``, ``round``, ``parent_id``, ``seed_id``, ``method``, ``instruction``, ``output``,
        ``kept``, ``reason`` and ``detail``; the whole dict is kept as ``record``.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(self._UPSERT_EVOL, [
                (run_id, r["id"], r["round"], r["parent_id"], r["seed_id"], r["method"], r["instruction"],
                 r.get("output"), int(bool(r["kept"])), r.get("reason"), r.get("detail"), canonical_json(r))
                for r in rows])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def evol_rows(self, run_id: str, *, kept: bool | None = None) -> list[dict[str, Any]]:
        """A run's evolution attempts (all, or only kept / dropped ones), by round then row id."""
        sql = "SELECT record FROM evol_rows WHERE run_id = ?"
        args: tuple[Any, ...] = (run_id,)
        if kept is not None:
            sql += " AND kept = ?"
            args += (int(kept),)
        return [json.loads(r[0]) for r in self.db.execute(sql + " ORDER BY round, row_id", args)]

    # -- integrity -------------------------------------------------------------------------------------

    def verify_hashes(self) -> list[str]:
        """Re-derive every stored hash; return a description of each mismatch (empty: all good)."""
        problems = []
        for row in self.db.execute("SELECT run_id, manifest, manifest_sha256 FROM runs"):
            if sha256_text(row[1]) != row[2]:
                problems.append(f"run {row[0]}: manifest does not match its hash")
        for row in self.db.execute("SELECT key, request, text, text_sha256 FROM completions"):
            if sha256_text(row[2]) != row[3]:
                problems.append(f"completion {row[0][:19]}: text does not match its hash")
            if sha256_text(row[1]) != row[0]:
                problems.append(f"completion {row[0][:19]}: request does not match its key")
        for row in self.db.execute("SELECT run_id, task_id, sample_index, program, program_sha256 FROM samples"):
            if row[3] is not None and sha256_text(row[3]) != row[4]:
                problems.append(f"sample {row[0]} {row[1]} #{row[2]}: program does not match its hash")
        return problems
