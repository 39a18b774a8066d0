"""The floor under any fork-per-program sandbox on this machine: what a page fault and a bare fork cost.

Prints, for a Python process holding the same modules as coderank's zygote (gc frozen, as there):

1. the CPU cost of one page fault, zero-fill and copy-on-write;
2. fork() + os._exit(0) + waitpid: CPU of parent and child per program, and their page faults;
3. the same with the child compiling and running a one-line program and its test.

Whatever a sandbox does on top (rlimits, namespaces, Landlock, the tests in another process), a fresh
process per program costs at least (2) per sample; the README's speed section uses these numbers.

Run alone on an idle machine:  python benchmarks/fork_floor.py
"""

from __future__ import annotations

import gc
import mmap
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

from coderank.execution import _codec, _zygote  # noqa: F401  (the zygote's image: its modules, loaded)

PAGE = mmap.PAGESIZE


def fault_cost(pages: int = 20000) -> tuple[float, float]:
    """Microseconds per zero-fill fault and per copy-on-write fault (touching one byte per page)."""
    area = mmap.mmap(-1, pages * PAGE)
    t = time.perf_counter()
    for i in range(0, pages * PAGE, PAGE):
        area[i] = 1
    first = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, pages * PAGE, PAGE):  # the same loop without faults: its own cost, subtracted
        area[i] = 2
    loop = time.perf_counter() - t
    zero_fill = (first - loop) / pages * 1e6
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        t = time.perf_counter()
        for i in range(0, pages * PAGE, PAGE):
            area[i] = 3
        os.write(w, repr(((time.perf_counter() - t) - loop) / pages * 1e6).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    cow = float(os.read(r, 100))
    area.close()
    return zero_fill, cow


def fork_cost(child: Callable[[], None], n: int) -> tuple[float, float, float, float]:
    """Per program: parent CPU ms, child CPU ms, parent faults, child faults."""
    r0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            child()
            os._exit(0)
        os.waitpid(pid, 0)
    r1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = lambda a, b: (b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime) / n * 1e3  # noqa: E731
    return cpu(r0, r1), cpu(c0, c1), (r1.ru_minflt - r0.ru_minflt) / n, (c1.ru_minflt - c0.ru_minflt) / n


def nothing() -> None:
    pass


ONE_LINE = "def f(x):\n    return x + 1\nassert f(1) == 2\n"


def one_line() -> None:
    exec(compile(ONE_LINE, "<program>", "exec", dont_inherit=True), {})


def main() -> None:
    compile("def g(y):\n    return y * 3\n", "<warm-up>", "exec")  # as the zygote warms up its compiler
    gc.freeze()
    rss = int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 2**20
    print(f"machine: {os.cpu_count()} cores; this process {rss:.1f} MiB resident")
    zero_fill, cow = fault_cost()
    print(f"page fault: zero-fill {zero_fill:.2f} us, copy-on-write {cow:.2f} us")
    for name, child in (("bare fork + exit + wait", nothing), ("fork + compile and run a one-liner", one_line)):
        fork_cost(child, 200)  # warm
        parent, kid, pf, cf = fork_cost(child, 2000)
        print(f"{name}: {parent + kid:.3f} ms CPU per program (parent {parent:.3f}, child {kid:.3f}); "
              f"page faults: parent {pf:.0f}, child {cf:.0f}")


if __name__ == "__main__":
    main()
