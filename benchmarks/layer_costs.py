"""What each per-program isolation layer costs, measured one by one against a bare fork in the same run.

The zygote pays some layers once per worker (namespaces, the private root, the Landlock ruleset, the cgroup)
and others once per program. This script times the per-program ones in isolation, each as the extra time
of a fork + operation + exit + wait over a bare fork + exit + wait of this same process (so the price of the
fork itself, which every program pays, is the baseline): the fresh scratch tmpfs (mount + umount), the
pid counter reset, the out-of-memory priority, the seccomp filter, Landlock's restrict_self, and the
checker's reads of the cgroup CPU counter. Run as root (the mounts and the pid counter need it), alone:

    python benchmarks/layer_costs.py [--n 400] [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from coderank.execution import _linux as lx
from coderank.execution._cgroup import ProgramGroup


def per_fork(n: int, in_parent: Callable[[], None], in_child: Callable[[], None]) -> float:
    """Microseconds per fork, with ``in_parent`` before it and ``in_child`` in it.

    Wall time of a loop in which the parent waits for each child: on an idle machine that is the CPU time of
    both, one after the other, measured far more finely than getrusage's clock ticks would.
    """
    start = time.perf_counter()
    for _ in range(n):
        in_parent()
        pid = os.fork()
        if pid == 0:
            in_child()
            os._exit(0)
        os.waitpid(pid, 0)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="forks per measurement (default 400)")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    args = ap.parse_args()
    n, rounds = args.n, args.rounds
    if os.geteuid() != 0:
        raise SystemExit("run as root: the mounts and the pid counter reset need it")
    nothing = lambda: None  # noqa: E731
    lx.unshare(lx.CLONE_NEWNS)
    lx.mount("none", "/", None, lx.MS_REC | lx.MS_PRIVATE, None)
    scratch = tempfile.mkdtemp(prefix="coderank-layers-")
    seccomp = lx.SeccompFilter()
    landlock = lx.LandlockRuleset(lx.landlock_abi())
    landlock.allow(scratch, landlock.fs_rights)

    def scratch_tmpfs() -> None:
        lx.mount("tmpfs", scratch, "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, "size=128m,nr_inodes=10000,mode=0700")
        lx.umount(scratch)

    def oom() -> None:
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        os.write(fd, b"1000")
        os.close(fd)

    def confine() -> None:
        lx.set_no_new_privs()
        seccomp.install()

    def restrict() -> None:
        lx.set_no_new_privs()
        landlock.restrict_self()

    lx.unshare(lx.CLONE_NEWPID)  # the pid counter reset needs a pid namespace of its own: a child is its pid 1
    last_pid = {}

    def reset_pids() -> None:
        if "fd" in last_pid:
            os.pwrite(last_pid["fd"], b"1", 0)

    pid = os.fork()
    if pid == 0:  # pid 1 of the new namespace: mount its /proc to reach ns_last_pid, then measure there
        lx.mount("proc", "/proc", "proc", 0, None)
        last_pid["fd"] = os.open("/proc/sys/kernel/ns_last_pid", os.O_WRONLY)
        group = ProgramGroup(f"{os.getpid()}-layers")
        variants = [
            ("bare fork + exit + wait (the baseline)", nothing, nothing),
            ("fresh scratch tmpfs (mount + umount)", scratch_tmpfs, nothing),
            ("pid counter reset (ns_last_pid)", reset_pids, nothing),
            ("out-of-memory priority (oom_score_adj)", nothing, oom),
            ("seccomp filter (no_new_privs + install)", nothing, confine),
            ("Landlock restrict_self", nothing, restrict),
            ("the baseline again", nothing, nothing),
        ]
        # Interleaved rounds, medians: the machine's speed drifts, and each variant must meet the same drift
        samples: dict[str, list[float]] = {name: [] for name, _, _ in variants}
        for _ in range(rounds):
            for name, parent, child in variants:
                samples[name].append(per_fork(n // rounds, parent, child))
        medians = {name: statistics.median(values) for name, values in samples.items()}
        base = medians[variants[0][0]]
        rows = [(name, medians[name] - base) for name, _, _ in variants[1:-1]]
        rows.append(("(the baseline again, last in each round: the noise)", medians[variants[-1][0]] - base))
        if group.cpu_fd >= 0:
            t = time.process_time()
            for _ in range(n * 20):
                group.cpu_seconds()
            rows.append(("cgroup CPU counter read (checker, per look)", (time.process_time() - t) / (n * 20) * 1e6))
        group.remove()
        print(f"bare fork + exit + wait of this process: {base:8.1f} us "
              f"(median of {rounds} interleaved rounds, {n} forks per variant)")
        for name, cost in rows:
            print(f"{name:48s} {cost:+8.1f} us")
        os._exit(0)
    os.waitpid(pid, 0)
    os.rmdir(scratch)


if __name__ == "__main__":
    main()
