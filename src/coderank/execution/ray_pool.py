"""Sandboxed execution on a Ray cluster: one executor actor per node, each owning that node's sandbox pool.

:class:`RayExecutor` has the interface of the local :class:`~coderank.execution.pool.Executor` (a context manager
with ``isolation``, ``limits``, ``engine`` and a streaming ``map``), so ``score``, ``eval``, ``verify`` and
``rescore`` run on a cluster by swapping one object for another.

What runs where:

- The *driver* (the ``coderank`` process) reads the samples, extracts programs, hands out jobs and writes every
  verdict to the store. It is the store's only writer, and the store's writes are upserts keyed by (run, task,
  sample), so a job that runs twice leaves one row.
- Each *node* runs one :class:`NodeExecutor` actor, placed there with a hard node-affinity strategy. It owns a
  local :class:`~coderank.execution.pool.Executor` with the node's cores (its Ray ``CPU`` resource, or
  ``workers``) and the driver's limits, so every isolation layer of the local sandbox applies on the node
  unchanged, and its verdicts are the local ones. The actor reserves no Ray CPU: its sandbox workers use the
  cores ``ray start --num-cpus`` gave the node, and Ray's scheduler does not see them.

Flow: the driver sends jobs in batches (a problem crosses the network once per node, through Ray's object store)
and keeps at most a few batches in flight per node; it reads verdicts back with one long-poll ``collect`` call per
actor, waiting on all of them with ``ray.wait``. Jobs are read from the source only when a node has room, so
memory stays flat however many samples stream through. Inside the actor the pool is fed as it runs, so a slow
program (a timeout) holds up its own worker only, never a batch.

Faults: when an actor dies (its node left the cluster, or its process was killed), the jobs it had in flight are
*suspects*. Each suspect runs again alone, on an actor that has nothing else in flight (one actor at a time does
this), so a program that kills its executor is found out without taking the innocent jobs with it. A job whose
actor has died ``attempts`` times (3 by default) is scored ``crashed`` and not retried again, so no program can
keep a run looping. An actor that died on a live node is replaced; a node that left is dropped; when no node is
left the run fails with a :class:`~coderank.errors.SandboxError` (and ``eval``'s run stays resumable).

Limits: nodes that join after the start are not used; every node needs the same coderank (and the packages
``--allow-import`` names) installed for the same Python; the limits must be the same on every node (a node whose
hard limits clamp them lower is refused, naming the node); the cgroup and user layers need what they need locally
(root or a delegated cgroup) on each node.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from coderank.errors import CoderankError, SandboxError, UsageError, install_hint
from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.types import Problem, Status, Verdict

log = logging.getLogger(__name__)

ATTEMPTS = 3
"""Actor deaths a job may be in flight for; at the last one it is scored ``crashed`` (the issue's cap)."""

_COLLECT_WAIT = 0.5  # seconds an idle actor holds a collect call open: verdicts come back as soon as one is ready
# Once one verdict is ready, a collect waits this long for more (or for a batch's worth), so that a node finishing
# a thousand short programs a second answers in tens of calls, not a thousand; the jobs in flight cover the wait.
_LINGER = 0.02
_BATCH_PER_WORKER = 8  # jobs per batch, per sandbox worker of the node (at least _MIN_BATCH)
_MIN_BATCH = 8
_BATCHES = 3  # batches in flight per node: one running, two waiting in the node's inbox
_START_TIMEOUT = 180.0  # an actor starts a Python process and its sandbox workers; a busy node is slow at it
_STALL = 120.0  # seconds past the wall backstop before a silent actor (alive to Ray, but not answering) is given up
_REPLACEMENTS = 10  # replacements of actors that died on a live node; past this the node is dropped
_SCAN_EVERY = 5.0  # seconds between looks for nodes that joined the cluster during a run


def check_address(address: str | None) -> None:
    """Check ``--ray`` where it enters: a non-blank address, and the ray package installed.

    Raises:
        UsageError: a blank address.
        CoderankError: ray is not installed (with the command that installs it).
    """
    if address is None:
        return
    if not address.strip():
        raise UsageError("--ray needs an address", "give HOST:6379 (the head node's `ray start --head`), auto, or "
                         "local")
    _import_ray()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise CoderankError("--ray needs the ray package, which is not installed", install_hint("ray")) from exc
    return ray


class NodeExecutor:
    """The body of the actor that runs on each node (made a Ray actor at run time; this module imports no ray).

    It owns one local :class:`Executor`, fed from an inbox by a thread that runs the executor's ``map`` for the
    actor's whole life, and keeps the verdicts in an outbox until the driver collects them.

    Args:
        workers: Sandbox workers on this node (None: the node's Ray CPUs, else its cores).
        limits: The driver's resolved limits, as a dict.
        allow_imports: Installed packages programs may import.
        send_ahead: See :class:`Executor`.

    Raises:
        SandboxError: the sandbox cannot start on this node.
    """

    def __init__(self, workers: int | None, limits: dict[str, Any], allow_imports: tuple[str, ...],
                 send_ahead: bool) -> None:
        self._executor = Executor(workers=workers, limits=Limits(**limits), allow_imports=allow_imports,
                                  send_ahead=send_ahead)
        self._executor.start()
        self._problems: dict[str, Problem] = {}
        self._inbox: collections.deque[Job] = collections.deque()
        self._outbox: list[tuple[int, tuple[str, str, float, float, str]]] = []
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="coderank-sandbox-feed", daemon=True)
        self._thread.start()

    def info(self) -> dict[str, Any]:
        """Which node this is and what its sandbox offers: node id, host, workers, isolation, limits."""
        import ray

        return {"node_id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                "ip": ray.util.get_node_ip_address(), "pid": os.getpid(), "workers": self._executor.n_workers,
                "isolation": self._executor.isolation, "limits": self._executor.limits.as_dict()}

    def submit(self, batch: list[tuple[int, str, str]], problems: dict[str, Any]) -> int:
        """Queue jobs ``(id, problem sha256, program)``; ``problems`` maps a sha256 to an object ref of the problem."""
        import ray

        for sha, ref in problems.items():
            if sha not in self._problems:
                self._problems[sha] = ray.get(ref)
        self._inbox.extend(Job(jid, self._problems[sha], program) for jid, sha, program in batch)
        return len(batch)

    def collect(self, wait: float, linger: float = 0.0,
                enough: int = 1) -> list[tuple[int, tuple[str, str, float, float, str]]]:
        """The verdicts finished since the last call.

        Waits up to ``wait`` seconds for the first one, then up to ``linger`` seconds more until there are
        ``enough``.

        Raises:
            BaseException: what stopped the sandbox on this node (a :class:`SandboxError`, say).
        """
        with self._cond:
            if not self._outbox and self._error is None:
                self._cond.wait(wait)
            deadline = time.monotonic() + linger
            while self._outbox and len(self._outbox) < enough and self._error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self._error is not None:
                raise self._error
            out, self._outbox = self._outbox, []
        return out

    def close(self) -> None:
        """Finish what is running, then stop the sandbox workers."""
        self._closing = True
        self._thread.join(self._executor.limits.wall_seconds + 10)
        self._executor.close()

    def _feed(self) -> Iterator[Job | None]:
        while not self._closing:
            try:
                yield self._inbox.popleft()
            except IndexError:
                yield None

    def _serve(self) -> None:
        try:
            for job, v in self._executor.map(self._feed()):
                with self._cond:
                    self._outbox.append((job.key, (v.status.value, v.detail, v.cpu_seconds, v.wall_seconds,
                                                   v.output)))
                    self._cond.notify()
        except BaseException as exc:  # reported to the driver by the next collect
            with self._cond:
                self._error = exc
                self._cond.notify()


@dataclass
class _Actor:
    """The driver's view of one node's actor."""

    handle: Any
    node_id: str
    info: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    inflight: set[int] = field(default_factory=set)
    collecting: Any = None  # the outstanding collect call's ref
    collect_since: float = 0.0
    quarantine: bool = False  # runs suspects one at a time, and nothing else


class RayExecutor:
    """Runs untrusted programs on a Ray cluster, one sandbox pool per node, with the local pool's verdicts.

    Args:
        address: ``HOST:PORT`` of a running cluster's head (``ray start --head`` prints it), ``auto`` (the cluster
            this machine belongs to), or ``local`` (start a private one-node Ray for this run). If this process
            is already connected to Ray (``ray.init`` was called), that connection is used as it is.
        workers: Sandbox workers per node (default: the node's Ray CPUs, ``ray start --num-cpus``).
        limits: Per-program limits, the same on every node.
        allow_imports: Installed packages (besides the standard library and numpy) programs may import; they
            must be installed on every node.
        send_ahead: See :class:`~coderank.execution.pool.Executor`.
        attempts: Actor deaths a job may be in flight for before it is scored ``crashed``.
        actor_class: The actor's body (a subclass of :class:`NodeExecutor`, for tests and instrumentation).

    Raises:
        CoderankError: ray is not installed.
        SandboxError: the cluster cannot be reached, has no node with a CPU, or a node's sandbox does not start
            (raised on first use); every node died during a run.
    """

    def __init__(self, address: str, workers: int | None = None, limits: Limits | None = None,
                 allow_imports: tuple[str, ...] = (), send_ahead: bool = False, *, attempts: int = ATTEMPTS,
                 actor_class: type[NodeExecutor] = NodeExecutor) -> None:
        check_address(address)
        if attempts < 1:
            raise UsageError(f"attempts must be at least 1, got {attempts}")
        self.address = address.strip()
        self.workers = workers
        self.limits = (limits or Limits()).resolved()
        self.allow_imports = allow_imports
        self.send_ahead = send_ahead
        self.attempts = attempts
        self._actor_class = actor_class
        self._ray: Any = None
        self._own_connection = False
        self._actors: list[_Actor] = []
        self._nodes: list[dict[str, Any]] = []
        self._replaced = 0
        self._dropped: set[str] = set()  # nodes given up on (sandbox did not start, too many deaths): not re-joined
        self.joined = 0  # nodes that joined during a run and got an executor
        self._started = False
        self.deaths = 0  # actors that died during this executor's life
        self.retried = 0  # jobs run again because their actor died

    # -- lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> RayExecutor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Connect to the cluster and start one actor per node that offers a CPU; wait until each reports.

        Raises:
            SandboxError: see the class.
        """
        if self._started:
            return
        ray = self._ray = _import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING,
                                      "configure_logging": False}
            if self.address == "local":
                kwargs["include_dashboard"] = False
            else:
                _probe(self.address)  # Ray itself retries an address where nothing listens for minutes
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SandboxError(f"cannot connect to the Ray cluster at {self.address}: {exc}",
                                   "start one with `ray start --head` on the head node and give its HOST:6379, "
                                   "or try --ray local") from exc
            self._own_connection = True
        self._started = True
        try:
            nodes = [n for n in ray.nodes() if n.get("Alive")]
            usable = [n for n in nodes if n.get("Resources", {}).get("CPU", 0) >= 1]
            if not usable:
                raise SandboxError(f"the Ray cluster at {self.address} has no node with a CPU for the sandbox",
                                   "start nodes with `ray start --address=HEAD:6379` (a node with --num-cpus 0 runs "
                                   "no programs)")
            for n in usable:
                self._actors.append(self._spawn(n["NodeID"], int(n["Resources"]["CPU"])))
            self._await_ready(self._actors)
            self._check_limits()
            self._nodes = [a.info for a in self._actors]
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop every actor (and its sandbox workers); disconnect if this executor connected."""
        ray = self._ray
        if ray is None:
            return
        with contextlib.suppress(Exception):
            refs = [a.handle.close.remote() for a in self._actors]
            ray.wait(refs, num_returns=len(refs), timeout=self.limits.wall_seconds + 15)
        for a in self._actors:
            with contextlib.suppress(Exception):
                ray.kill(a.handle, no_restart=True)
        self._actors = []
        if self._own_connection:
            with contextlib.suppress(Exception):
                ray.shutdown()
            self._own_connection = False
        self._started = False

    def _spawn(self, node_id: str, cpus: int) -> _Actor:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = self._ray.remote(self._actor_class)
        handle = remote.options(
            num_cpus=0,  # its sandbox workers use the node's cores; the actor itself mostly waits
            max_concurrency=4,  # submit and collect calls overlap; the sandbox is driven by one thread
            max_restarts=0,  # the driver replaces a dead actor itself, knowing which jobs it held
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(self.workers or cpus, self.limits.as_dict(), self.allow_imports, self.send_ahead)
        return _Actor(handle, node_id, info={"ref": handle.info.remote()})

    def _await_ready(self, actors: list[_Actor]) -> None:
        ray = self._ray
        refs = {a.info["ref"]: a for a in actors}
        ready, waiting = ray.wait(list(refs), num_returns=len(refs), timeout=_START_TIMEOUT)
        if waiting:
            raise SandboxError(f"the sandbox did not start within {_START_TIMEOUT:.0f} s on Ray node(s) "
                               + ", ".join(refs[r].node_id[:12] for r in waiting),
                               "check that coderank is installed there (`coderank doctor` on the node)")
        for ref in ready:
            self._mark_ready(refs[ref], ref)

    def _mark_ready(self, actor: _Actor, ref: Any) -> None:
        try:
            actor.info = self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            raise SandboxError(f"the sandbox did not start on Ray node {actor.node_id[:12]}: {_cause(exc)}",
                               "every node needs coderank installed for the same Python, and the sandbox working "
                               "there (`coderank doctor` on the node)") from exc
        actor.ready = True

    def _check_limits(self) -> None:
        mine = self.limits.as_dict()
        for a in self._actors:
            if not a.ready:
                continue
            theirs = a.info["limits"]
            if theirs != mine:
                diff = ", ".join(f"{k} {theirs.get(k)} there, {v} here" for k, v in mine.items() if theirs.get(k) != v)
                raise SandboxError(f"Ray node {a.info['host']} ({a.node_id[:12]}) clamps the sandbox limits to its "
                                   f"hard limits: {diff}",
                                   "verdicts must not depend on the node: give limits every node allows (e.g. a "
                                   "lower --memory-mb)")

    # -- what the run record shows ------------------------------------------------------------------------

    @property
    def isolation(self) -> dict[str, str]:
        """The isolation layers of the nodes, one text per layer, as the local pool gives them.

        A layer active on every node reads as the first node's text (with ``and alike on N more nodes`` where
        the texts differ, e.g. in the uid); a layer missing on some node reads as its missing state(s), with the
        nodes, so that it does not start with ``active``.
        """
        if not self._nodes:
            self.start()
        layers = dict.fromkeys(layer for n in self._nodes for layer in n["isolation"])
        out = {}
        for layer in layers:
            states = [(n["host"], n["isolation"].get(layer, "unknown (the node did not report it)"))
                      for n in self._nodes]
            first = states[0][1]
            if all(state.startswith("active") for _, state in states):
                others = sum(state != first for _, state in states)
                out[layer] = first + (f", and alike on {others} more node(s)" if others else "")
                continue
            by_state: dict[str, list[str]] = {}
            for host, state in states:
                if not state.startswith("active"):
                    by_state.setdefault(state, []).append(host)
            active = sum(state.startswith("active") for _, state in states)
            out[layer] = "; ".join(f"{state} on {', '.join(hosts)}" for state, hosts in by_state.items()) + (
                f"; active on {active} other node(s)" if active else "")
        return out

    @property
    def engine(self) -> dict[str, Any]:
        """Where the programs ran, for the run record (never part of a run's identity).

        ``{"engine": "ray", "ray_version", "address", "workers", "nodes": [{"node_id", "host", "ip", "workers"}],
        "actor_deaths", "jobs_retried", "nodes_joined"}``: the nodes that ran programs (those that joined the
        cluster during a run included), and (read after ``map``) how many of their actors died, how many jobs
        ran again because of it, and how many nodes joined mid-run.
        """
        if not self._nodes:
            self.start()
        nodes = [{k: n[k] for k in ("node_id", "host", "ip", "workers")} for n in self._nodes]
        return {"engine": "ray", "ray_version": self._ray.__version__, "address": self.address,
                "workers": sum(n["workers"] for n in nodes), "nodes": nodes, "actor_deaths": self.deaths,
                "jobs_retried": self.retried, "nodes_joined": self.joined}

    # -- running ---------------------------------------------------------------------------------------

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Verdict]]:
        """Run jobs on the cluster, yielding ``(job, verdict)`` as each finishes (not in input order).

        Every job is yielded exactly once, however many times its actor died.

        Raises:
            SandboxError: every node died, or a node's sandbox failed.
        """
        self.start()
        return _Run(self, iter(jobs)).run()


_PROBE_TIMEOUT = 10.0


def _probe(address: str) -> None:
    """Refuse at once a ``HOST:PORT`` where nothing listens (``auto`` and ``ray://`` addresses are Ray's to check).

    Raises:
        SandboxError: the connection is refused or times out.
    """
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        host, port = address, "6379"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_TIMEOUT).close()
    except OSError as exc:
        raise SandboxError(f"no Ray cluster answers at {host}:{port} ({exc.strerror or exc})",
                           "start one with `ray start --head` on the head node and give its HOST:6379, or try "
                           "--ray local") from exc


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RAISED = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception)): (.+)$")


def _cause(exc: BaseException) -> str:
    """What went wrong, in one line.

    The exception a Ray error carries (the last ``Name: message`` line of its traceback, e.g. the ``UsageError``
    an actor's ``__init__`` raised), else the error's first line.
    """
    lines = _ANSI.sub("", str(exc)).strip().splitlines()
    raised = [m for m in map(_RAISED.match, lines) if m]
    if raised:
        return f"{raised[-1].group(1)}: {raised[-1].group(2).strip()}"
    return lines[0] if lines else type(exc).__name__


class _Run:
    """One ``map`` call: the driver's bookkeeping of jobs, actors and suspects."""

    def __init__(self, owner: RayExecutor, source: Iterator[Job]) -> None:
        self.o = owner
        self.ray = owner._ray
        self.source = source
        self.exhausted = False
        self.next_id = 0
        self.jobs: dict[int, Job] = {}
        self.deaths: dict[int, int] = {}  # job id -> actor deaths it was in flight for
        self.todo: collections.deque[int] = collections.deque()  # ready to go to any actor
        self.suspects: collections.deque[int] = collections.deque()  # to run alone, one at a time
        self.refs: dict[str, Any] = {}  # problem sha256 -> object ref
        self.submits: dict[Any, _Actor] = {}
        self.starting: dict[Any, _Actor] = {}  # info ref -> replacement actor not yet ready
        self.done: collections.deque[tuple[Job, Verdict]] = collections.deque()
        self.next_scan = time.monotonic() + _SCAN_EVERY

    def run(self) -> Iterator[tuple[Job, Verdict]]:
        ray = self.ray
        while True:
            self._feed()
            while self.done:
                yield self.done.popleft()
            if self.exhausted and not self.jobs:  # every job read has been yielded
                return
            live = [a for a in self.o._actors if a.ready]
            if not live and not self.starting:
                raise SandboxError("every Ray node running the sandbox died or left the cluster; "
                                   f"{len(self.jobs)} job(s) were not run",
                                   "check the cluster (`ray status`) and run the command again: a finished "
                                   "verdict is kept, a rerun runs only the rest")
            for a in live:
                if a.collecting is None:
                    a.collecting = a.handle.collect.remote(_COLLECT_WAIT, _LINGER, self._batch_size(a))
                    a.collect_since = time.monotonic()
            waiting = {a.collecting: a for a in live}
            refs = [*waiting, *self.submits, *self.starting]
            ready, _ = ray.wait(refs, num_returns=1, timeout=1.0)
            if ready:
                more, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
                ready = list(dict.fromkeys([*ready, *more]))
            for ref in ready:
                if ref in self.starting:
                    self._started(ref)
                elif ref in self.submits:
                    self._submitted(ref)
                elif ref in waiting:
                    self._collected(waiting[ref], ref)
            self._check_stalls()
            self._scan_nodes()

    # -- sending -----------------------------------------------------------------------------------------

    def _take(self) -> int | None:
        if self.todo:
            return self.todo.popleft()
        if self.exhausted:
            return None
        try:
            job = next(self.source)
        except StopIteration:
            self.exhausted = True
            return None
        self.next_id += 1
        self.jobs[self.next_id] = job
        return self.next_id

    def _feed(self) -> None:
        live = [a for a in self.o._actors if a.ready]
        if not live:
            return
        quarantined = next((a for a in live if a.quarantine), None)
        if self.suspects and quarantined is None and len(live) > 0:
            quarantined = min(live, key=lambda a: len(a.inflight))
            quarantined.quarantine = True
        if quarantined is not None and not quarantined.inflight:
            if self.suspects:
                self._send(quarantined, [self.suspects.popleft()])
            else:
                quarantined.quarantine = False
        sent = True
        while sent:  # a batch to each node in turn, so that a short run is spread over the nodes too
            sent = False
            for a in live:
                size = self._batch_size(a)
                room = _BATCHES * size - len(a.inflight)
                if a.quarantine or room <= 0:
                    continue
                batch: list[int] = []
                while len(batch) < min(size, room):
                    jid = self._take()
                    if jid is None:
                        break
                    batch.append(jid)
                if batch:
                    self._send(a, batch)
                    sent = True

    @staticmethod
    def _batch_size(a: _Actor) -> int:
        return max(_MIN_BATCH, _BATCH_PER_WORKER * int(a.info["workers"]))

    def _send(self, a: _Actor, ids: list[int]) -> None:
        refs = {}
        batch = []
        for jid in ids:
            job = self.jobs[jid]
            sha = job.problem.sha256
            if sha not in self.refs:
                self.refs[sha] = self.ray.put(job.problem)
            refs[sha] = self.refs[sha]
            batch.append((jid, sha, job.program))
        a.inflight.update(ids)
        self.submits[a.handle.submit.remote(batch, refs)] = a

    # -- receiving ---------------------------------------------------------------------------------------

    def _submitted(self, ref: Any) -> None:
        a = self.submits.pop(ref)
        try:
            self.ray.get(ref)
        except self.ray.exceptions.RayActorError:
            self._died(a)
        except self.ray.exceptions.RayTaskError as exc:
            raise SandboxError(f"the sandbox on Ray node {a.info.get('host')} failed: {_cause(exc)}") from exc

    def _collected(self, a: _Actor, ref: Any) -> None:
        a.collecting = None
        if a not in self.o._actors:
            return
        try:
            results = self.ray.get(ref)
        except self.ray.exceptions.RayActorError:
            self._died(a)
            return
        except self.ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, CoderankError):
                raise SandboxError(f"Ray node {a.info.get('host')}: {cause.message}", cause.hint) from exc
            raise SandboxError(f"the sandbox on Ray node {a.info.get('host')} failed: {_cause(exc)}") from exc
        for jid, (status, detail, cpu, wall, output) in results:
            if jid not in a.inflight:
                continue  # a verdict for a job that was already given up on this actor: never a second row
            a.inflight.discard(jid)
            self.done.append((self.jobs.pop(jid), Verdict(Status(status), detail, cpu, wall, output)))
            self.deaths.pop(jid, None)

    def _started(self, ref: Any) -> None:
        a = self.starting.pop(ref)
        try:
            self.o._mark_ready(a, ref)
            self.o._check_limits()
        except SandboxError as exc:
            log.warning("dropping Ray node %s: %s", a.node_id[:12], exc.message)
            self.o._dropped.add(a.node_id)
            self.o._actors.remove(a)
            with contextlib.suppress(Exception):
                self.ray.kill(a.handle, no_restart=True)
            return
        if all(n["node_id"] != a.info["node_id"] for n in self.o._nodes):  # a node that joined (not a replacement)
            self.o._nodes.append(a.info)
            self.o.joined += 1
            log.info("Ray node %s joined: %s sandbox workers", a.info.get("host"), a.info.get("workers"))

    def _scan_nodes(self) -> None:
        """Every few seconds: start an executor on each node that joined the cluster since the run began."""
        now = time.monotonic()
        if now < self.next_scan:
            return
        self.next_scan = now + _SCAN_EVERY
        known = {a.node_id for a in self.o._actors} | self.o._dropped
        try:
            nodes = self.ray.nodes()
        except Exception as exc:  # the GCS busy or restarting: the run goes on with the nodes it has
            log.warning("could not list the Ray cluster's nodes: %s", exc)
            return
        for n in nodes:
            if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1 and n["NodeID"] not in known:
                new = self.o._spawn(n["NodeID"], int(n["Resources"]["CPU"]))
                self.o._actors.append(new)
                self.starting[new.info["ref"]] = new

    def _check_stalls(self) -> None:
        limit = self.o.limits.wall_seconds + _STALL
        now = time.monotonic()
        for a in list(self.o._actors):
            if a.ready and a.collecting is not None and now - a.collect_since > limit:
                log.warning("Ray node %s stopped answering for %.0f s; its jobs go elsewhere", a.node_id[:12],
                            now - a.collect_since)
                with contextlib.suppress(Exception):
                    self.ray.kill(a.handle, no_restart=True)
                self._died(a)

    def _died(self, a: _Actor) -> None:
        """An actor died: its jobs in flight become suspects (``crashed`` at the cap); replaced if its node lives."""
        if a not in self.o._actors:
            return
        self.o._actors.remove(a)
        self.o.deaths += 1
        with contextlib.suppress(Exception):
            self.ray.kill(a.handle, no_restart=True)
        for ref in [r for r, owner in self.submits.items() if owner is a]:
            del self.submits[ref]
        host = a.info.get("host", a.node_id[:12])
        for jid in sorted(a.inflight):
            n = self.deaths[jid] = self.deaths.get(jid, 0) + 1
            if n >= self.o.attempts:
                self.deaths.pop(jid)
                self.done.append((self.jobs.pop(jid), Verdict(
                    Status.CRASHED, f"the Ray executor running the program died {n} times (last on {host}); "
                    "the program was not retried again")))
            else:
                self.o.retried += 1
                self.suspects.append(jid)
        a.inflight.clear()
        alive = any(n.get("NodeID") == a.node_id and n.get("Alive") for n in self.ray.nodes())
        log.warning("the Ray executor on %s died (%s); %s", host, "its node is alive" if alive else "its node left",
                    "replacing it" if alive and self.o._replaced < _REPLACEMENTS else "not replacing it")
        if not alive or self.o._replaced >= _REPLACEMENTS:
            self.o._dropped.add(a.node_id)  # a node that comes back later joins again only in a new run
        if alive and self.o._replaced < _REPLACEMENTS:
            self.o._replaced += 1
            new = self.o._spawn(a.node_id, int(a.info.get("workers") or 1))
            self.o._actors.append(new)
            self.starting[new.info["ref"]] = new
