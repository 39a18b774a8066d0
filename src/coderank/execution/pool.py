"""The executor: a pool of warm sandbox workers behind a small streaming interface.

``Executor.map(jobs)`` takes an iterable of :class:`Job` and yields ``(job, verdict)`` pairs as they finish,
keeping only a few jobs in flight per worker, so memory stays flat however many samples stream through.
This is the seam for scale-out: a Ray actor per node can wrap one local ``Executor`` unchanged.

Every wait has a deadline. A worker that stops answering is killed and replaced; the program it was
running is scored (as a timeout), never retried, and the jobs queued behind it go to the next worker.
"""

from __future__ import annotations

import collections
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import coderank
from coderank.errors import SandboxError, UsageError
from coderank.execution._cgroup import sweep_stale
from coderank.execution._frames import HEADER, loads, pack
from coderank.execution.sandbox import Limits, default_read_paths, hidden_modules, listable_paths, root_layout
from coderank.types import Problem, Status, Verdict

_DEPTH = 2  # jobs queued per worker: one running, one ready, so a worker never waits for the harness
_GRACE = 5.0  # seconds past a program's wall backstop before the harness gives up on its worker
_START_TIMEOUT = 60.0
_IDLE_POLL = 0.002  # seconds between asks of a source that had no job ready (a feed from a Ray driver)
_SCRATCH_PREFIX = "coderank-sandbox-"


def sweep_scratch(tmp: str | None = None) -> int:
    """Remove the scratch directories of executors whose process is gone; returns how many.

    An executor names its directory after its process id (``coderank-sandbox-<pid>-...``) and removes it when
    it closes; one that was killed (SIGKILL, a Ray actor stopped, the machine's OOM killer) could not, so the
    next executor on the host removes it. A directory whose process id is alive is left alone, whoever it is.
    """
    tmp = tmp or tempfile.gettempdir()
    removed = 0
    try:
        names = [n for n in os.listdir(tmp) if n.startswith(_SCRATCH_PREFIX)]
    except OSError:
        return 0
    for name in names:
        m = re.fullmatch(re.escape(_SCRATCH_PREFIX) + r"(\d+)-\w+", name)
        if m is None or os.path.exists(f"/proc/{m.group(1)}"):
            continue
        path = os.path.join(tmp, name)
        shutil.rmtree(path, ignore_errors=True)
        removed += not os.path.exists(path)
    return removed


@dataclass(frozen=True)
class Job:
    """One program to run against one problem's tests. ``key`` is the caller's handle, returned as is."""

    key: Any
    problem: Problem
    program: str


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    inbuf: bytearray = field(default_factory=bytearray)
    outbuf: bytearray = field(default_factory=bytearray)
    pending: collections.deque[tuple[int, Job]] = field(default_factory=collections.deque)
    known: set[str] = field(default_factory=set)
    ready: bool = False
    layers: dict[str, str] = field(default_factory=dict)
    leaving: bool = False  # said "bye": it ends after its current job, and nothing queued behind it started
    head_since: float = 0.0


def check_workers(workers: int | None, *, per_node: bool = False) -> int:
    """The number of sandbox workers to start: ``workers``, or one per CPU core when it is None.

    ``per_node``: the workers are per Ray node (``--ray``), whose cores are not this machine's: only at least 1 is
    checked here; each node's executor checks the upper bound against its own cores when it starts.

    Raises:
        UsageError: fewer than 1, or more than 8 per CPU core.
    """
    cores = os.cpu_count() or 1
    if per_node and workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1 (per Ray node), got {workers}",
                         "leave it out for one per Ray CPU of each node")
    if per_node:
        return workers or cores
    if workers is not None and not 1 <= workers <= 8 * cores:
        raise UsageError(f"--workers must be between 1 and {8 * cores} (8 per CPU core) here, got {workers}",
                         f"leave it out for one per core ({cores})")
    return workers or cores


class SandboxPool(Protocol):
    """What the commands use of an executor: the local :class:`Executor` or the Ray one (``ray_pool``)."""

    limits: Limits
    """The per-program limits in force (resolved)."""

    def __enter__(self) -> SandboxPool: ...

    def __exit__(self, *exc: object) -> None: ...

    @property
    def isolation(self) -> dict[str, str]:
        """Isolation layer -> its state (``active ...`` or why not)."""

    @property
    def engine(self) -> dict[str, Any]:
        """Where the programs run (``{"engine": "local" | "ray", ...}``); never part of a run's identity."""

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Verdict]]:
        """Run jobs, yielding ``(job, verdict)`` as each finishes, each job exactly once (starting the pool)."""

    def close(self) -> None:
        """Stop the pool's workers (what ``__exit__`` does)."""


def open_pool(workers: int | None = None, limits: Limits | None = None, allow_imports: tuple[str, ...] = (),
              send_ahead: bool = False, ray: str | None = None) -> SandboxPool:
    """An executor for a command: this machine's :class:`Executor`, or one on a Ray cluster when ``ray`` is given.

    Args:
        workers: Sandbox workers (on Ray: per node; default: one per core, on Ray the node's Ray CPUs).
        limits: Per-program limits.
        allow_imports: Installed packages programs may import.
        send_ahead: See :class:`Executor`.
        ray: Ray cluster address (``HOST:PORT``, ``auto`` or ``local``; see
            :class:`~coderank.execution.ray_pool.RayExecutor`), or None for this machine.

    Raises:
        CoderankError: ``ray`` is given but the ray package is not installed.
    """
    if ray is None:
        return Executor(workers=workers, limits=limits, allow_imports=allow_imports, send_ahead=send_ahead)
    from coderank.execution.ray_pool import RayExecutor

    return RayExecutor(ray, workers=workers, limits=limits, allow_imports=allow_imports, send_ahead=send_ahead)


class Executor:
    """Runs untrusted programs in sandboxed workers and returns trusted verdicts.

    Args:
        workers: Number of worker processes (default: the number of CPU cores).
        limits: Per-program limits; clamped to this machine's hard limits.
        allow_imports: Installed packages (besides the standard library and numpy) programs may import.
        send_ahead: Send each problem's previous calls to the program before the tests make them: one
            wake-up per program instead of one per call, about 2x faster for tests with 200 calls, and the
            same verdicts. Off by default, because the program then sees the tests' later arguments before
            it answers the earlier calls; a program written to read them could use a test whose later
            argument is an earlier expected answer. Use it for outputs you do not expect to game the tests.

    Raises:
        SandboxError: the workers cannot start on this machine (raised on first use).
    """

    def __init__(self, workers: int | None = None, limits: Limits | None = None,
                 allow_imports: tuple[str, ...] = (), send_ahead: bool = False) -> None:
        self.send_ahead = send_ahead
        self.n_workers = check_workers(workers)
        self.limits = (limits or Limits()).resolved()
        self._limits = self.limits.as_dict()
        self._read_paths = default_read_paths(allow_imports)
        self._list_paths = listable_paths()
        # The same for every worker and every restart: worked out once
        self._hidden = hidden_modules(self._read_paths, self._list_paths)
        self._root = root_layout(self._read_paths)
        self._workers: list[_Worker | None] = [None] * self.n_workers
        self._sel = selectors.DefaultSelector()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._next_id = 0
        self._isolation: dict[str, str] = {}
        self._started = False
        self.restarts = 0

    # -- lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def isolation(self) -> dict[str, str]:
        """Which isolation layers are active, e.g. ``{"landlock": "active (ABI 7 ...)", ...}``."""
        self.start()
        return dict(self._isolation)

    @property
    def engine(self) -> dict[str, Any]:
        """Where the programs run: ``{"engine": "local", "workers": N}`` (a Ray pool names its nodes)."""
        return {"engine": "local", "workers": self.n_workers}

    def start(self) -> None:
        """Start the workers and wait until each reports its isolation layers.

        Raises:
            SandboxError: a worker failed to start.
        """
        if self._started:
            return
        self._started = True
        sweep_scratch()  # what killed executors on this host left behind
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-")
        for i in range(self.n_workers):
            self._spawn(i)
        deadline = time.monotonic() + _START_TIMEOUT
        while not all(w is not None and w.ready for w in self._workers):
            if time.monotonic() > deadline:
                self.close()
                raise SandboxError("sandbox workers did not start within 60 s")
            self._poll(deadline - time.monotonic(), starting=True)
        first = self._workers[0]
        assert first is not None
        self._isolation = dict(first.layers)

    def close(self) -> None:
        """Stop all workers (killing anything still running) and remove their scratch directories."""
        for i, w in enumerate(self._workers):
            if w is not None:
                self._kill(w)
                self._workers[i] = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        sweep_stale()  # the cgroups of workers that were killed before they could remove their own
        self._started = False

    def _spawn(self, index: int) -> None:
        assert self._tmp is not None
        scratch = os.path.join(self._tmp.name, f"w{index}-{self.restarts}")
        os.makedirs(scratch, mode=0o711)
        src_root = os.path.dirname(os.path.dirname(coderank.__file__))
        code = f"import sys; sys.path.insert(0, {src_root!r}); from coderank.execution._worker import main; main()"
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},  # the harness's secrets never reach a worker
            close_fds=True,
            start_new_session=True,  # Ctrl-C in the terminal goes to the harness, which then stops workers
        )
        assert proc.stdin is not None and proc.stdout is not None
        os.set_blocking(proc.stdin.fileno(), False)
        os.set_blocking(proc.stdout.fileno(), False)
        worker = _Worker(index, proc)
        uid = 200_000 + (os.getpid() % 100_000) * 16 + index if os.geteuid() == 0 else None
        cpus = sorted(os.sched_getaffinity(0))
        cpu = cpus[index] if self.n_workers <= len(cpus) else None
        cfg = {"limits": self.limits.as_dict(), "scratch": scratch, "read_paths": self._read_paths,
               "root": self._root, "hidden_modules": self._hidden,
               "list_paths": self._list_paths, "sys_path": [p for p in sys.path if p], "uid": uid,
               "cpu": cpu, "send_ahead": self.send_ahead}
        self._send(worker, cfg)
        self._workers[index] = worker
        self._sel.register(proc.stdout.fileno(), selectors.EVENT_READ, worker)

    def _kill(self, w: _Worker) -> None:
        for f in (w.proc.stdout, w.proc.stdin):
            if f is not None:
                try:
                    self._sel.unregister(f.fileno())
                except (KeyError, ValueError):
                    pass
        try:
            os.killpg(w.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        w.proc.kill()
        w.proc.wait()
        for f in (w.proc.stdout, w.proc.stdin):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    # -- running ---------------------------------------------------------------------------------------

    def map(self, jobs: Iterable[Job | None]) -> Iterator[tuple[Job, Verdict]]:
        """Run jobs, yielding ``(job, verdict)`` as each finishes (not in input order).

        A source that is fed while it runs (the Ray actor's inbox) may yield None for "no job ready yet": the
        pool goes on collecting verdicts and asks again a moment later; it ends when the source does.

        Raises:
            SandboxError: the workers cannot start, or keep dying at start-up.
        """
        self.start()
        source = iter(jobs)
        retry: collections.deque[Job] = collections.deque()
        exhausted = False
        done: collections.deque[tuple[Job, Verdict]] = collections.deque()
        while True:
            idle = False
            for w in self._workers:
                while w is not None and w.ready and len(w.pending) < _DEPTH:
                    if retry:
                        job = retry.popleft()
                    elif not exhausted:
                        try:
                            fed = next(source)
                        except StopIteration:
                            exhausted = True
                            break
                        if fed is None:
                            idle = True
                            break
                        job = fed
                    else:
                        break
                    self._submit(w, job)
            while done:
                yield done.popleft()
            if exhausted and not retry and all(w is None or not w.pending for w in self._workers):
                return
            wait = self._next_deadline()
            self._poll(min(wait, _IDLE_POLL) if idle else wait, done=done, retry=retry)

    def _submit(self, w: _Worker, job: Job) -> None:
        self._next_id += 1
        key = job.problem.sha256
        msg: dict[str, Any] = {"id": self._next_id, "p": key, "src": job.program, "limits": self._limits}
        if key not in w.known:
            p = job.problem
            msg["def"] = {"prompt": p.prompt, "test": p.test, "entry_point": p.entry_point}
            w.known.add(key)
        if not w.pending:
            w.head_since = time.monotonic()
        w.pending.append((self._next_id, job))
        self._send(w, msg)

    def _send(self, w: _Worker, obj: Any) -> None:
        w.outbuf += pack(obj)
        self._flush(w)

    def _flush(self, w: _Worker) -> None:
        assert w.proc.stdin is not None
        fd = w.proc.stdin.fileno()
        try:
            while w.outbuf:
                n = os.write(fd, w.outbuf)
                del w.outbuf[:n]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            w.outbuf.clear()  # the worker is gone; its stdout's end of file reports that
        events = selectors.EVENT_WRITE if w.outbuf else 0
        try:
            if events:
                self._sel.register(fd, events, w)
            else:
                self._sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    def _next_deadline(self) -> float:
        now = time.monotonic()
        wait = 1.0
        for w in self._workers:
            if w is not None and w.pending:
                wait = min(wait, w.head_since + self.limits.wall_seconds + _GRACE - now)
        return max(wait, 0.0)

    def _poll(self, timeout: float, *, starting: bool = False,
              done: collections.deque[tuple[Job, Verdict]] | None = None,
              retry: collections.deque[Job] | None = None) -> None:
        for key, events in self._sel.select(max(timeout, 0.0)):
            w = key.data
            if events & selectors.EVENT_WRITE:
                self._flush(w)
            if not events & selectors.EVENT_READ:
                continue
            assert w.proc.stdout is not None
            try:
                chunk = os.read(w.proc.stdout.fileno(), 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                self._replace(w, "the sandbox worker died", Status.CRASHED, starting, done, retry)
                continue
            w.inbuf += chunk
            while len(w.inbuf) >= 4:
                size = HEADER.unpack_from(w.inbuf)[0]
                if len(w.inbuf) < 4 + size:
                    break
                msg = loads(bytes(w.inbuf[4 : 4 + size]))
                del w.inbuf[: 4 + size]
                self._handle(w, msg, done)
        now = time.monotonic()
        for w in list(self._workers):
            if w is not None and w.pending and now > w.head_since + self.limits.wall_seconds + _GRACE:
                self._replace(w, "the sandbox worker stopped responding", Status.TIMEOUT, starting, done, retry)

    def _handle(self, w: _Worker, msg: dict[str, Any], done: collections.deque[tuple[Job, Verdict]] | None) -> None:
        if "fatal" in msg:
            raise SandboxError(f"sandbox worker failed to start: {msg['fatal']}")
        if "layers" in msg:
            w.ready = True
            w.layers = msg["layers"]
            return
        if "bye" in msg:  # the worker ends after its current job: what is queued behind it never started
            w.leaving = True
            return
        job_id, job = w.pending.popleft()
        if job_id != msg["id"]:
            raise SandboxError(f"sandbox protocol error: expected job {job_id}, got {msg.get('id')}")
        w.head_since = time.monotonic()
        verdict = Verdict(
            status=Status(msg["s"]), detail=msg["d"], cpu_seconds=msg["cpu"], wall_seconds=msg["wall"],
            output=msg["out"],
        )
        if done is not None:
            done.append((job, verdict))

    def _replace(self, w: _Worker, why: str, status: Status, starting: bool,
                 done: collections.deque[tuple[Job, Verdict]] | None, retry: collections.deque[Job] | None) -> None:
        self._kill(w)
        if starting or not w.ready:
            raise SandboxError(f"{why} while starting; run `coderank doctor` to see which isolation layer fails")
        if w.pending and not w.leaving:
            _, head = w.pending.popleft()
            if done is not None:
                done.append((head, Verdict(status=status, detail=f"{why}; the program was not retried")))
        if w.pending and retry is not None:
            retry.extend(job for _, job in w.pending)
        self.restarts += 1
        self._spawn(w.index)
        deadline = time.monotonic() + _START_TIMEOUT
        new = self._workers[w.index]
        while new is not None and not new.ready:
            if time.monotonic() > deadline:
                raise SandboxError("a replacement sandbox worker did not start within 60 s")
            self._poll(deadline - time.monotonic(), starting=True)
