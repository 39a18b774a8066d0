"""The trusted checker: runs the benchmark's tests against a proxy of the untrusted program.

Process layout (one per worker; the pool in :mod:`coderank.execution.pool` runs several)::

    harness --frames on stdin/stdout--> CHECKER (fresh interpreter, clean env; holds the tests)
                                           | unshare(NEWPID), fork + exec
                                           v
                                        ZYGOTE (pid 1 of its pid namespace; never sees a test or a program)
                                           | fork, one per program
                                           v
                                        UNTRUSTED CHILD (see :mod:`._zygote` for its confinement)

The verdict is decided here. The checker runs the benchmark's ``check(candidate)`` (or its asserts)
itself, where ``candidate`` is a proxy that sends the arguments to the child over a socket and rebuilds
the answer from a plain-data encoding (:mod:`._codec`). Whatever the child does — exit 0, print "passed",
patch names, walk the stack, write to inherited descriptors, kill its parent — it can only influence the
values it returns, which the trusted tests then judge. The tests never enter the child's memory.

Time: the program gets a CPU-time budget (measured from its cgroup, or from /proc where there is none, while
it runs) and a wall-clock backstop; the checker has a CPU budget of its own (see :func:`_budget_own_cpu`).
"""

from __future__ import annotations

import builtins
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
from typing import Any

from coderank.execution import _codec
from coderank.execution import _linux as lx
from coderank.execution._cgroup import ProgramGroup
from coderank.execution._frames import HEADER, loads, pack, read_exact, read_frame, write_frame

# A cap on one answer of the untrusted child. Decoding JSON can take ~30x its size in memory in the trusted
# checker (a forged answer of millions of empty lists), so the cap bounds the checker's memory too.
MAX_MESSAGE = 16 << 20
# A cap on the lists and objects in one answer, counted (as brackets) before it is parsed: rebuilding each
# costs the checker ~1 us, and 5 million empty lists fit in the message cap (3.5-7 s of the checker's CPU
# for 0.03 s of the program's).
MAX_CONTAINERS = 1_000_000
# The checker's own CPU time per program (the tests, and decoding and rebuilding answers), past which the
# kernel ends the checker (SIGXCPU): the alarm cannot interrupt C code such as a gcd of huge integers.
CHECKER_CPU_FLOOR = 10.0


# --- the trusted checker ---------------------------------------------------------------------------------

class _TimeLimit(BaseException):
    """The program used up its time; a BaseException so that test code cannot swallow it."""


class _ChildGone(BaseException):
    """The untrusted process died or closed its channel in the middle of a call."""


class _Protocol(BaseException):
    """The untrusted process sent something that is not a valid answer."""


class _Diverged(BaseException):
    """The tests made a call other than the one sent ahead (see :class:`_Session`); the run is redone."""


class _Unsendable(BaseException):
    """The tests passed the program something that is not a data value (a function, an object).

    Such a problem cannot be scored in this sandbox, whatever the program does.
    """


class _TestsFailed(BaseException):
    """An assertion of the tests failed inside one of their functions that the program called."""

    def __init__(self, error: AssertionError) -> None:
        super().__init__(str(error))
        self.error = error


class _LoadFailed(BaseException):
    """The program did not load (syntax error, exception or exit at import time)."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


_PIPELINE_LIMIT = 32 << 10  # well under a socket buffer: a write of this size never blocks
_MAX_PLAN_BYTES = 64 << 20  # calls remembered to send ahead, over all problems of one worker
CHECKER_MEMORY = 4 << 30  # address space of the checker (at least; twice the programs' limit if that is more)
_CORES = os.cpu_count() or 1  # the program may use them all, with threads or processes


class _CandidateRaised(Exception):
    """Stands for an exception of the program that has no builtin counterpart."""


class _ProgramAbort(BaseException):
    """Stands for a program's BaseException (SystemExit, ...), which ``except Exception`` must not catch."""


_BUILTIN_EXC = {
    name: obj for name, obj in vars(builtins).items() if isinstance(obj, type) and issubclass(obj, Exception)
}


class _Session:
    """The checker's view of one running untrusted program."""

    def __init__(self, chan: int, pidfd: int, out: int, limits: dict[str, Any], zygote_pid: int = 0,
                 group: ProgramGroup | None = None) -> None:
        self.chan = chan
        self.zygote_pid = zygote_pid  # every process of the program (orphans too) is below it
        # With a cgroup, its CPU counter minus what it said when the program started is the program's time:
        # every process it ran, waited for or not, and cheaper to read than a walk over /proc.
        self.group = group if group is not None and group.cpu_fd >= 0 else None
        self.cpu_base = self.group.cpu_seconds() if self.group is not None else 0.0
        self.tree_read_at = 0.0
        self.pidfd = pidfd
        self.out = out
        self.out_cap = limits["output_bytes"]
        self.out_tail = bytearray()
        self.out_total = 0
        cpu_limit, wall_limit = limits["cpu_seconds"], limits["wall_seconds"]
        self.host_pid = 0  # looked up when first needed: most programs answer before their CPU is read
        self.cpu_limit = cpu_limit
        self.deadline = time.monotonic() + wall_limit
        self.cpu_seen = 0.0
        self.killed_for = ""
        self.poller = select.poll()
        self.poller.register(chan, select.POLLIN)
        self.poller.register(pidfd, select.POLLIN)
        os.set_blocking(out, False)
        self.poller.register(out, select.POLLIN)
        self.buf = bytearray()
        self.greeted = False
        # Data only, but functions the tests pass to the program stay here and are run when it asks; the
        # program's objects are handles (_Checker._check links them to it).
        self.side = _codec.Side(strict=True, keep=[], raised=_raised)
        self.fatal: BaseException | None = None
        self.ahead: list[bytes] = []  # requests sent before the tests asked for them
        self.made: list[bytes] = []  # requests the tests actually made, in order

    def send_program(self, program: str, entry_point: str) -> None:
        """Send the untrusted child its program: the first frame on its channel, read once it is confined."""
        try:
            _write_all(self.chan, pack([program, entry_point]))
        except (BrokenPipeError, ConnectionResetError):
            raise _ChildGone from None

    def send_ahead(self, plan: list[bytes]) -> None:
        """Send the calls the tests are expected to make, all at once, before they make them.

        Most tests call the entry point with the same arguments for every sample of a problem, so the
        checker replays the calls the previous sample's tests made. The program answers them one after
        another without waiting for a round trip each: one wake-up per program instead of one per call.
        :meth:`call` checks each call the tests really make against what was sent; at the first
        difference the run is abandoned (:class:`_Diverged`) and redone one call at a time, so the tests
        only ever see answers to the calls they made, in the order they made them. Calls sent ahead that
        the tests never reach (they failed earlier) only cost the program CPU time.
        """
        data = b"".join(plan)
        try:
            _write_all(self.chan, data)  # at most _PIPELINE_LIMIT bytes into an empty socket: never blocks
        except (BrokenPipeError, ConnectionResetError):
            return  # the program already died while loading: the first call reports why
        self.ahead = plan

    def _wait(self) -> None:
        while True:
            now = time.monotonic()
            if now >= self.deadline:
                self.killed_for = "wall-clock backstop"
                raise _TimeLimit
            # CPU time grows at most as fast as wall time times the cores it can run on, so sleeping for the
            # CPU budget still left (as last measured) divided by them never overshoots by more than a tick.
            wait = max(min((self.cpu_limit - self.cpu_seen) / _CORES, self.deadline - now), 0.002)
            events = dict(self.poller.poll(wait * 1000))
            if events.get(self.out):
                self.drain_output()
            if events.get(self.chan):
                return
            if events.get(self.pidfd):
                raise _ChildGone
            if self.group is not None:
                self.cpu_seen = self.group_cpu()
            else:
                try:
                    if not self.host_pid:
                        self.host_pid = lx.host_pid_of_pidfd(self.pidfd)
                    self.cpu_seen = lx.process_cpu_seconds(self.host_pid)
                except OSError as exc:
                    raise _ChildGone from exc
            if self.group is None and self.zygote_pid and (not events or now >= self.tree_read_at + 0.05):
                # The budget is the program's, however many processes it forks. Reading them all costs more
                # than reading one, so a program that keeps printing gets it at most every 50 ms.
                self.tree_read_at = now
                self.cpu_seen = max(self.cpu_seen, lx.descendants_cpu_seconds(self.zygote_pid))
            if self.cpu_seen >= self.cpu_limit:
                self.killed_for = "CPU-time limit"
                raise _TimeLimit

    def group_cpu(self) -> float:
        """CPU seconds of every process in the program's cgroup since the program started."""
        assert self.group is not None
        return max(self.group.cpu_seconds() - self.cpu_base, 0.0)

    def drain_output(self, max_chunks: int = 16) -> None:
        """Read what the program printed so far, keeping the last ``output_bytes`` and counting the rest.

        At most ``max_chunks`` reads of 64 KiB: a program that writes as fast as it is read must not keep
        the checker from its deadlines (and, once it is dead, a daemon that escaped it from ending the run).
        """
        for _ in range(max_chunks):
            try:
                chunk = os.read(self.out, 65536)
            except BlockingIOError:
                return
            if not chunk:  # every writer is gone
                try:
                    self.poller.unregister(self.out)
                except KeyError:
                    pass
                return
            self.out_total += len(chunk)
            self.out_tail += chunk
            if len(self.out_tail) > self.out_cap:
                del self.out_tail[: len(self.out_tail) - self.out_cap]

    def output(self) -> tuple[str, int]:
        """The kept tail of the program's output and the total number of bytes it printed."""
        return self.out_tail.decode("utf-8", "replace"), self.out_total

    def _fill(self) -> None:
        self._wait()
        try:
            chunk = os.read(self.chan, 1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""  # the program died with a request unread
        if not chunk:
            raise _ChildGone
        self.buf += chunk

    def receive(self) -> list[Any]:
        """The next message of the untrusted child, as a JSON list, or raise."""
        while len(self.buf) < 4:
            self._fill()
        size = HEADER.unpack_from(self.buf)[0]
        if size > MAX_MESSAGE:
            raise _Protocol(f"an answer of {size} bytes exceeds the {MAX_MESSAGE >> 20} MiB cap")
        while len(self.buf) < 4 + size:
            self._fill()
        body = bytes(self.buf[4 : 4 + size])
        del self.buf[: 4 + size]
        if size > MAX_CONTAINERS and body.count(b"[") + body.count(b"{") > MAX_CONTAINERS:
            raise _Protocol(f"an answer of more than {MAX_CONTAINERS:,} lists and objects")
        try:
            msg = loads(body)
        except (ValueError, RecursionError) as exc:
            raise _Protocol("malformed answer") from exc
        if type(msg) is not list or not msg or type(msg[0]) is not str:
            raise _Protocol("malformed answer")
        return msg

    def greet(self) -> None:
        """Consume the child's first message: "ready", or why the program did not load."""
        if self.greeted:
            return
        first = self.receive()
        self.greeted = True
        if first[0] == "load" and len(first) == 4:
            name, msg = str(first[1])[:100], str(first[2])[:300]
            if name == "MemoryError":
                raise _LoadFailed("oom", "MemoryError while loading the program")
            if name == "SystemExit":
                raise _LoadFailed("crashed", f"the program called exit({msg}) while loading")
            raise _LoadFailed("error", f"{name} while loading the program: {msg}")
        if first != ["ready"]:
            raise _Protocol("malformed greeting")

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any], target: list[Any] | None = None) -> Any:
        """Call the program's entry point with plain-data arguments; return its plain-data answer.

        With ``target`` = [handle, op, name] the request is ``op`` (call, getattr...) on an object of the
        program that the tests hold a handle to (a :class:`~._codec.Remote`) instead.
        """
        side = self.side
        try:
            body = [_codec.encode_node(list(args), side), _codec.encode_node(kwargs, side)]
        except _codec.CodecError as exc:
            raise _Unsendable(str(exc)) from None
        request = pack(body if target is None else [*body, target])
        index = len(self.made)
        self.made.append(request)
        if index < len(self.ahead):
            if request != self.ahead[index]:
                raise _Diverged
        else:
            self._send(request)
        # The first request goes out before the greeting is read, so that loading the program and the
        # first call cost one wake-up of the child instead of two.
        self.greet()
        msg = self.receive()
        while msg[0] == "ask":  # the program runs a function the tests gave it
            self._run_for_program(msg)
            msg = self.receive()
        if msg[0] == "ok" and len(msg) == 3:
            try:
                value = _codec.decode_node(msg[1], side)
                if msg[2] is not None:
                    _codec.apply_mutations(args, kwargs, _codec.decode_node(msg[2], side))
            except _codec.CodecError as exc:
                raise _Protocol(str(exc)) from exc
            return value
        if msg[0] == "exc" and len(msg) == 4:
            raise _program_exception(msg)
        raise _Protocol("malformed answer")

    def _run_for_program(self, msg: list[Any]) -> None:
        """Run a function of the tests that the program calls (it got it as an argument), and answer.

        Only calls are run; the arguments are data and handles, as always. An exception of the function
        goes to the program like any other, except a failed assertion: that is the tests failing, which the
        program must not be able to swallow.
        """
        side = self.side
        target = msg[3] if len(msg) == 4 else None
        if type(target) is not list or len(target) != 3 or type(target[1]) is not str:
            raise _Protocol("malformed request")
        try:
            fn = _codec.decode_node({"ref": target[0]}, side)
            args = _codec.decode_node(msg[1], side)
            kwargs = _codec.decode_node(msg[2], side)
        except _codec.CodecError as exc:
            raise _Protocol(str(exc)) from exc
        if type(args) is not list or type(kwargs) is not dict or not all(type(k) is str for k in kwargs):
            raise _Protocol("malformed request")
        reply: list[Any]
        try:
            if target[1] == "call":
                result = fn(*args, **kwargs)
            elif target[1] == "bool" and not args and not kwargs:
                result = True
            elif target[1] == "str" and not args and not kwargs:
                result = repr(fn)
            else:
                raise TypeError(f"the program may only call a function of the tests, not {target[1][:20]} it")
        except AssertionError as exc:
            raise _TestsFailed(exc) from None
        except Exception as exc:
            # The program's own exception, raised through the function of the tests, goes back as itself.
            name, text = getattr(exc, "coderank_from_program", None) or (type(exc).__name__, str(exc)[:500])
            reply = ["exc", name, text, True]
        else:
            try:
                answer = _codec.encode_node(result, side)
                after = _codec.encode_node([args, kwargs], side)
            except _codec.CodecError as exc:
                raise _Unsendable(str(exc)) from None
            reply = ["ok", answer, None if after == msg[1:3] else after]
        _write_all(self.chan, pack(reply))

    def _send(self, request: bytes) -> None:
        if len(request) > _PIPELINE_LIMIT:
            self.greet()  # a large request could block on a full socket while the program still loads
        try:
            _write_all(self.chan, request)
        except (BrokenPipeError, ConnectionResetError):
            self.greet()  # the program died while loading: its greeting says why
            raise _ChildGone from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _program_exception(msg: list[Any]) -> BaseException:
    """Rebuild, from plain data, an exception the program raised, so tests can catch it by type."""
    name, text = str(msg[1])[:100], str(msg[2])[:500]
    if name in ("StopIteration", "StopAsyncIteration"):
        # Raised into the tests' own iteration (all(map(candidate, xs))) it would end the loop early and
        # pass; Python itself turns it into RuntimeError inside generators (PEP 479), and so do we.
        stop = RuntimeError(f"the program raised {name}")
        stop.coderank_from_program = (name, text)  # type: ignore[attr-defined]
        return stop
    cls = _BUILTIN_EXC.get(name)
    err: BaseException
    try:
        if cls is not None:
            err = cls(text)
        elif msg[3] is True:
            err = _CandidateRaised(f"{name}: {text}")
        else:
            err = _ProgramAbort(f"{name}: {text}")
    except Exception:
        err = _CandidateRaised(f"{name}: {text}")
    err.coderank_from_program = (name, text)  # type: ignore[attr-defined,union-attr]
    return err


def _raised(name: str, text: str, is_exception: bool) -> BaseException:
    """What a rebuilt iterator of the program raises where the program's own iterator raised."""
    return _program_exception(["exc", name, text, is_exception])


class _Checker:
    def __init__(self, zsock: socket.socket, default_limits: dict[str, Any], send_ahead: bool = False,
                 zygote_pid: int = 0, group: ProgramGroup | None = None) -> None:
        self.zsock = zsock
        self.zygote_pid = zygote_pid
        self.group = group
        self.zygote_gone = False  # set when the zygote cannot run another program
        self.default_limits = default_limits
        self.send_ahead = send_ahead
        self.problems: dict[str, tuple[Any, Any, str, str]] = {}
        self.broken: dict[str, str] = {}  # problems whose tests do not compile, and why
        # Per problem, the calls its tests made last time, to send ahead (see _Session.send_ahead); None
        # once they made different calls for two programs (random inputs, inputs built from answers).
        self.plans: dict[str, list[bytes] | None] = {}
        self.plan_bytes = 0

    def define(self, key: str, spec: dict[str, Any]) -> None:
        """Compile a problem's prompt (for the helpers the tests use) and its tests, once per worker."""
        prompt = spec["prompt"]
        # A prompt may end in a bare signature ("def f(x):"); give it a body so its helpers still load.
        for text in (prompt, prompt + "    pass\n", ""):
            try:
                prompt_code = compile(text, "<prompt>", "exec", dont_inherit=True)
                break
            except SyntaxError:
                continue
        try:
            test_code = compile(spec["test"], "<test>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:  # the problem's fault, not the program's: each job says so
            where = f" (test line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
            msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            self.broken[key] = f"the problem's tests are not valid Python{where}: {msg}"[:500]
            return
        self.problems[key] = (prompt_code, test_code, spec["entry_point"], spec["test"])

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        key = job["p"]
        if key in self.broken:
            return {"s": "invalid", "d": self.broken[key], "cpu": 0, "wall": 0, "out": ""}
        plan = self.plans.get(key, []) if self.send_ahead else None
        if plan is not None:
            result, made = self._run_once(job, plan)
            if made is not None and any(b'{"h":' in request for request in made):
                # The tests pass the program a function, which it may call back while it answers: its later
                # requests must not be waiting in its channel then. One call at a time for this problem.
                self.plans[key] = None
                return result
            if made is not None:
                self._remember(key, plan, made)
                return result
            self.plans[key] = None  # the tests' calls differ between programs: one call at a time from now on
        return self._run_once(job, [])[0]

    def _remember(self, key: str, plan: list[bytes], made: list[bytes]) -> None:
        """Keep the longer of the old plan and the calls just made (one is a prefix of the other)."""
        if len(made) <= len(plan):
            return
        total = 0
        for n, request in enumerate(made):
            total += len(request)
            if total > _PIPELINE_LIMIT:
                made = made[:n]
                break
        if self.plan_bytes < _MAX_PLAN_BYTES:
            self.plan_bytes += sum(map(len, made)) - sum(map(len, plan))
            self.plans[key] = made

    def _run_once(self, job: dict[str, Any], plan: list[bytes]) -> tuple[dict[str, Any], list[bytes] | None]:
        """One program run; also the calls the tests made, or None if they left the plan sent ahead."""
        prompt_code, test_code, entry_point, test_src = self.problems[job["p"]]
        limits = job["limits"]
        start = time.monotonic()
        zfd = self.zsock.fileno()
        # The zygote gets the limits only, never the program: every program is forked from its memory.
        request = {} if limits == self.default_limits else {"limits": limits}
        oom_kills = 0
        if self.group is not None:
            oom_kills = self.group.oom_kills()
            self.group.limit_memory(self.group.base_memory + limits["memory_bytes"] + limits["scratch_bytes"])
        _budget_own_cpu(max(CHECKER_CPU_FLOOR, 4 * limits["cpu_seconds"]))
        write_frame(zfd, request)
        _, fds, _, _ = socket.recv_fds(self.zsock, 16, 3)
        chan, pidfd, out_fd = fds
        status, detail = "passed", ""
        session = None
        diverged = False
        try:
            session = _Session(chan, pidfd, out_fd, limits, self.zygote_pid, self.group)
            session.send_program(job["src"], entry_point)
            if plan:
                session.send_ahead(plan)
            status, detail = self._check(session, prompt_code, test_code, entry_point, test_src)
        except _Diverged:
            diverged = True
        except _TimeLimit:
            status = "timeout"
        except _ChildGone:
            status = "crashed"
        except _Protocol as exc:
            status, detail = "error", f"invalid answer from the program: {exc}"
        finally:
            os.close(chan)
            os.close(pidfd)
        write_frame(zfd, {"done": True})
        record = read_exact(zfd, lx.ExitRecord.SIZE)
        exit_status, exit_cpu, unclean = 0, session.cpu_seen if session is not None else 0.0, True
        if record is not None:
            exit_status, exit_cpu, _, unclean = lx.parse_exit_record(record)
        if unclean:
            # The zygote could not clean up after this program (or died doing it). The program's verdict
            # stands; the worker ends after reporting it, and the pool starts a fresh one for the next.
            self.zygote_gone = True
        try:
            if session is not None:
                session.drain_output()  # the program is dead: the rest of its output, without blocking
        finally:
            os.close(out_fd)
        if diverged:
            return {}, None
        assert session is not None
        if session.group is not None:  # every process is dead now: what they all used, to the last tick
            session.cpu_seen = max(session.cpu_seen, session.group_cpu())
        cpu = max(exit_cpu, session.cpu_seen)  # the latter counts the program's other processes too
        if status == "passed" and cpu > limits["cpu_seconds"]:
            # Between two looks at the counter the program's processes together went over the budget.
            status, session.killed_for = "timeout", "CPU-time limit"
        output, output_bytes = session.output()
        wall = time.monotonic() - start
        if status == "timeout":
            reason = session.killed_for if session and session.killed_for else "time limit"
            detail = f"{reason} reached ({limits['cpu_seconds']:g} s CPU, {limits['wall_seconds']:g} s wall)"
        elif status == "crashed" and not detail:
            st = exit_status
            over_budget = cpu >= limits["cpu_seconds"]
            if os.WIFSIGNALED(st) and (os.WTERMSIG(st) == signal.SIGXCPU or (os.WTERMSIG(st) == signal.SIGKILL
                                                                              and over_budget)):
                status, detail = "timeout", f"CPU-time limit reached ({limits['cpu_seconds']:g} s)"
            elif self.group is not None and self.group.oom_kills() > oom_kills:
                status = "oom"
                detail = (f"the program's processes together went over the memory limit "
                          f"({limits['memory_bytes'] >> 20} MiB); the kernel stopped one of them")
            else:
                detail = _describe_exit(st, output)
        out = output
        if output_bytes > len(out.encode("utf-8", "replace")):
            out = f"[... {output_bytes} bytes of output; the last {len(out)} characters:]\n" + out
        result = {"s": status, "d": detail[:500], "cpu": round(cpu, 4), "wall": round(wall, 4), "out": out}
        return result, session.made

    def _check(self, session: _Session, prompt_code: Any, test_code: Any, entry_point: str,
               test_src: str) -> tuple[str, str]:
        def ask(args: tuple[Any, ...], kwargs: dict[str, Any], target: list[Any] | None) -> Any:
            if session.fatal is not None:
                raise session.fatal
            try:
                return session.call(args, kwargs, target)
            except (_TimeLimit, _ChildGone, _Protocol, _LoadFailed, _Diverged, _Unsendable, _TestsFailed) as exc:
                session.fatal = exc  # remembered, in case the test code swallows it
                raise

        def candidate(*args: Any, **kwargs: Any) -> Any:
            return ask(args, kwargs, None)

        def link(handle: int, op: str, name: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return ask(args, kwargs, [handle, op, name])  # a Remote: an object of the program, used by the tests

        session.side.link = link

        namespace: dict[str, Any] = {}
        session.side.names = namespace  # the prompt's and the tests' classes rebuild the program's dataclasses
        _ALARM[0] = False
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, max(session.deadline - time.monotonic(), 0.001))
        try:
            exec(prompt_code, namespace)  # trusted benchmark code: helpers the tests use
            namespace[entry_point] = candidate
            exec(test_code, namespace)  # trusted test code
            check = namespace.get("check")
            if callable(check):
                check(candidate)
            if _ALARM[0]:
                raise _TimeLimit
            if session.fatal is not None:
                raise session.fatal
            session.greet()  # tests that never call the program still need it to have loaded
            if not session.made:
                return "invalid", ("the tests never called the program (no check(candidate) function, or one that "
                                   "does not call candidate): nothing was tested, so this problem cannot be scored")
        except _LoadFailed as exc:
            return exc.status, exc.detail
        except _TestsFailed as exc:
            return "failed", _assert_detail(exc.error, test_src)
        except _Unsendable as exc:
            found = _test_line(exc, test_src)
            where = f" (line {found[0]}: {found[1][:200]})" if found else ""
            return "invalid", (f"the tests{where} pass the program {exc}; this problem cannot be scored in the "
                               "sandbox, whatever the program does")
        except _TimeLimit:
            if _ALARM[0] and not session.killed_for:
                session.killed_for = "wall-clock backstop"
            raise
        except (_ChildGone, _Protocol, _Diverged):
            raise
        except BaseException as exc:
            origin = getattr(exc, "coderank_from_program", None)
            if origin:
                if origin[0] == "MemoryError":
                    return "oom", "MemoryError"
                if origin[0] == "SystemExit":
                    return "crashed", f"the program called exit({origin[1]})"
                return "error", f"{origin[0]}: {origin[1]}"
            if isinstance(exc, AssertionError):
                return "failed", _assert_detail(exc, test_src)
            return "failed", f"{type(exc).__name__} in the tests: {exc}"[:500]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        return "passed", ""


_ALARM = [False]


def _alarm(signum: int, frame: Any) -> None:
    _ALARM[0] = True  # remembered, in case the test code swallows the exception
    raise _TimeLimit


def _test_line(exc: BaseException, test_src: str) -> tuple[int, str] | None:
    """(N, source of line N) for the innermost line of the test code an exception passed through."""
    lines = test_src.splitlines()
    for frame, lineno in reversed(list(traceback.walk_tb(exc.__traceback__))):
        if frame.f_code.co_filename == "<test>" and 0 < lineno <= len(lines):
            return lineno, lines[lineno - 1].strip()
    return None


def _assert_detail(exc: AssertionError, test_src: str) -> str:
    found = _test_line(exc, test_src)
    if found is None:
        return f"assertion failed: {exc}"[:300]
    msg = f" ({exc})" if str(exc) else ""
    return f"test line {found[0]} failed: {found[1][:300]}{msg}"


def _describe_exit(status: int, output: str) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by {name}"
    code = os.WEXITSTATUS(status)
    if code == 113 and "sandbox setup failed" in output:
        return output.strip().splitlines()[-1][:300]
    return f"the program ended its process (exit status {code}) before the tests finished"


# --- worker entry point ---------------------------------------------------------------------------------

def _start_zygote(cfg: dict[str, Any]) -> tuple[socket.socket, int]:
    zsock, zchild = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    os.set_inheritable(zchild.fileno(), True)
    src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (f"import sys; sys.path.insert(0, {src_root!r}); from coderank.execution._zygote import main; "
            f"main({zchild.fileno()}, sys.argv[1])")
    argv = [sys.executable, "-I", "-S", "-c", code, json.dumps(cfg)]
    pid = os.fork()
    if pid == 0:  # becomes pid 1 of the new pid namespace, if unshare worked
        try:
            zsock.close()
            devnull = os.open("/dev/null", os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.execve(sys.executable, argv, {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        finally:
            os._exit(127)
    zchild.close()
    return zsock, pid


def _budget_own_cpu(seconds: float) -> None:
    """Let the kernel end this checker if this program's run costs it more than ``seconds`` of CPU.

    The pool then scores the program as crashed (never as a pass) and starts a fresh worker.
    """
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + seconds) + 1
    try:
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


def _cap_own_memory(program_bytes: int) -> None:
    """Bound the checker's own address space (after the zygote started: the programs' limits are their own).

    The tests run here on what programs answer, and a wrong answer can make them build something huge:
    ``list(candidate(x))`` on ``range(5 * 10**8)`` would take ~18 GB and 12 s. Capped, it is a MemoryError,
    so a failed test, within seconds; the checker itself needs a few hundred MB at most.
    """
    cap = max(CHECKER_MEMORY, 2 * program_bytes)
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ValueError, OSError):
        pass


def main() -> None:
    """Entry point of a worker process (started by the pool with a clean environment)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    cfg = read_frame(0)
    if cfg is None:
        return
    if cfg.get("cpu") is not None:
        # The checker and its untrusted child talk in a tight request/response loop; on one core a round
        # trip costs a quarter of what it costs across cores (no inter-processor wake-up).
        try:
            os.sched_setaffinity(0, {cfg["cpu"]})
        except OSError:
            pass
    try:
        lx.unshare(lx.CLONE_NEWPID)
    except OSError:
        pass  # the zygote reports the pid namespace as unavailable
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a checker ended for its CPU budget leaves no core file
    group = ProgramGroup(str(os.getpid()))
    try:
        _serve_jobs(cfg, group)
    finally:
        group.remove()


def _serve_jobs(cfg: dict[str, Any], group: ProgramGroup) -> None:
    zsock, pid = _start_zygote(cfg)
    try:
        for path in group.dirs:  # before the zygote forks its first program: everything after it is inside
            with open(os.path.join(path, "cgroup.procs"), "w") as fh:
                fh.write(str(pid))
    except OSError as exc:
        group.remove()
        group.report = {"cpu accounting": f"unavailable ({exc.strerror})",
                        "memory limit": f"unavailable ({exc.strerror})"}
    hello = read_frame(zsock.fileno())
    if hello is None:
        write_frame(1, {"fatal": "the sandbox zygote failed to start (see the messages above)"})
        return
    limits = cfg["limits"]
    # The zygote's own memory, then the programs': their address space and their scratch files
    group.base_memory = group.memory_in_use()
    group.limit_memory(group.base_memory + limits["memory_bytes"] + limits["scratch_bytes"])
    write_frame(1, {"layers": {**hello["layers"], **group.report}, "pid": os.getpid()})
    _cap_own_memory(limits["memory_bytes"])
    checker = _Checker(zsock, limits, send_ahead=cfg.get("send_ahead", False), zygote_pid=pid,
                       group=group if group.dirs else None)
    while True:
        job = read_frame(0)
        if job is None:
            break
        try:
            if "def" in job:
                checker.define(job["p"], job["def"])
            result = checker.run(job)
        except BaseException as exc:  # a bug in the checker: reported, never as a pass, and the worker ends
            traceback.print_exc()
            result = {"s": "error", "d": f"internal sandbox error: {exc!r}"[:500], "cpu": 0, "wall": 0, "out": ""}
            write_frame(1, dict(result, id=job["id"]))
            write_frame(1, {"bye": True})  # the jobs queued behind this one never started
            break
        result["id"] = job["id"]
        write_frame(1, result)
        if checker.zygote_gone:
            write_frame(1, {"bye": True})
            break
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
