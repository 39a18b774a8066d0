"""Control groups for a worker's programs: every CPU second counted, one memory limit for all their processes.

Rlimits and /proc are per process, and both can be dodged: a program that ignores SIGCHLD has its exited
children reaped by the kernel, and their CPU time is added to nobody (/proc shows it nowhere, wait4 never
returns it); RLIMIT_AS holds each process to the limit, so 32 processes may use 32 times it, and memory in a
memfd or a tmpfs is not in any address space at all. A cgroup counts what its processes do while they do it.

The zygote joins the worker's group before it forks anything, so every program after it is inside
(no per-program move, which costs an RCU grace period on many kernels). The checker then reads:

- CPU: ``cpu.stat``'s ``usage_usec`` of the cgroup v2 hierarchy (present in every v2 cgroup, with or without
  the cpu controller, and in the hybrid layout too);
- memory: ``memory.max`` and ``memory.events`` where the v2 memory controller is available to us, else the
  v1 memory controller's ``memory.limit_in_bytes`` and ``memory.oom_control``.

Where a group cannot be made (not root, no delegation, no cgroup file system), the layer is reported as
unavailable, and the sandbox falls back to /proc and rlimits.
"""

from __future__ import annotations

import contextlib
import os
import re
import time

_PREFIX = "coderank-"


def _mounts() -> dict[str, tuple[str, str]]:
    """{'v2' or a v1 controller: (mount point, root of the mount)} from /proc/self/mountinfo."""
    found: dict[str, tuple[str, str]] = {}
    try:
        with open("/proc/self/mountinfo") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        root, point = fields[3], fields[4].replace("\\040", " ")
        if rfields[0] == "cgroup2":
            found.setdefault("v2", (point, root))
        elif rfields[0] == "cgroup":
            for opt in rfields[2].split(","):
                found.setdefault(opt, (point, root))
    return found


def _own_paths() -> dict[str, str]:
    """The cgroup of the calling process, per hierarchy: {'v2' or a v1 controller: path} from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if not controllers:
                paths["v2"] = path
            for name in controllers.split(","):
                paths.setdefault(name, path)
    return paths


def _dir_for(kind: str, mounts: dict[str, tuple[str, str]], own: dict[str, str]) -> str | None:
    if kind not in mounts or kind not in own:
        return None
    point, root = mounts[kind]
    rel = own[kind]
    if root != "/" and rel.startswith(root):
        rel = rel[len(root):]
    return os.path.join(point, rel.lstrip("/"))


class ProgramGroup:
    """The cgroups one worker's zygote and programs run in.

    Attributes:
        report: {"cpu accounting": ..., "memory limit": ...}: what is active and how, for the run record.
    """

    def __init__(self, name: str) -> None:
        self.name = _PREFIX + name
        self.dirs: list[str] = []
        self.cpu_fd = -1
        self.mem_dir: str | None = None
        self.mem_v2 = False
        self.base_memory = 0  # what the zygote itself uses, under the programs' limit
        self._limit = -1
        self.report: dict[str, str] = {}
        mounts, own = _mounts(), _own_paths()
        v2 = _dir_for("v2", mounts, own)
        why = "no cgroup v2 file system"
        if v2 is not None:
            try:
                path = self._make(v2)
                self.cpu_fd = os.open(os.path.join(path, "cpu.stat"), os.O_RDONLY | os.O_CLOEXEC)
                self.report["cpu accounting"] = ("active (cgroup v2 cpu.stat: every CPU second of every process "
                                                 "of the program, reaped or not)")
                with open(os.path.join(path, "cgroup.controllers")) as fh:
                    if "memory" in fh.read().split():
                        self.mem_dir, self.mem_v2 = path, True
            except OSError as exc:
                why = exc.strerror or str(exc)
        if self.cpu_fd < 0:
            self.report["cpu accounting"] = (f"unavailable ({why}): CPU time is read from /proc, where the time of "
                                             "children reaped without a wait is lost")
        if self.mem_dir is None:
            v1 = _dir_for("memory", mounts, own)
            why = "no memory controller we may use"
            if v1 is not None:
                try:
                    self.mem_dir = self._make(v1)
                except OSError as exc:
                    why = exc.strerror or str(exc)
        if self.mem_dir is None:
            self.report["memory limit"] = (f"unavailable ({why}): memory is limited per process (RLIMIT_AS), so a "
                                           "program of many processes can use a multiple of it")

    def _make(self, parent: str) -> str:
        path = os.path.join(parent, self.name)
        os.mkdir(path)
        self.dirs.append(path)
        return path

    def join(self) -> None:
        """Move the calling process into the group (the zygote, before it execs)."""
        for path in self.dirs:
            with open(os.path.join(path, "cgroup.procs"), "w") as fh:
                fh.write("0")

    def limit_memory(self, limit: int) -> None:
        """Hold all processes of the group to ``limit`` bytes together; reports the layer as active or not."""
        if self.mem_dir is None or limit == self._limit:
            return
        name = "memory.max" if self.mem_v2 else "memory.limit_in_bytes"
        try:
            with open(os.path.join(self.mem_dir, name), "w") as fh:
                fh.write(str(limit))
            self._limit = limit
            kind = "cgroup v2 memory.max" if self.mem_v2 else "cgroup v1 memory.limit_in_bytes"
            self.report["memory limit"] = (f"active ({kind}: all processes of a program together, memfd and "
                                           "scratch files included)")
        except OSError as exc:
            self.mem_dir = None
            self.report["memory limit"] = f"unavailable ({exc.strerror}): memory is limited per process (RLIMIT_AS)"

    def _memory_file(self, v2_name: str, v1_name: str) -> str:
        """The text of one of the memory group's files ('' without a memory group, or if it cannot be read)."""
        if self.mem_dir is None:
            return ""
        try:
            with open(os.path.join(self.mem_dir, v2_name if self.mem_v2 else v1_name)) as fh:
                return fh.read()
        except OSError:
            return ""

    def memory_in_use(self) -> int:
        """Bytes the group's processes use now (0 if there is no memory group)."""
        text = self._memory_file("memory.current", "memory.usage_in_bytes").strip()
        return int(text) if text.isdigit() else 0

    def cpu_seconds(self) -> float:
        """CPU seconds used by every process that ever ran in the group; -1.0 without CPU accounting."""
        if self.cpu_fd < 0:
            return -1.0
        data = os.pread(self.cpu_fd, 4096, 0)
        m = re.search(rb"usage_usec (\d+)", data)
        return int(m.group(1)) / 1e6 if m else -1.0

    def oom_kills(self) -> int:
        """How many processes the kernel killed for the group's memory limit so far."""
        m = re.search(r"^oom_kill (\d+)", self._memory_file("memory.events", "memory.oom_control"), re.M)
        return int(m.group(1)) if m else 0

    def remove(self) -> None:
        """Remove the group's folders (once its processes are gone; retried briefly while they exit)."""
        if self.cpu_fd >= 0:
            os.close(self.cpu_fd)
            self.cpu_fd = -1
        for path in self.dirs:
            _rmdir_soon(path)
        self.dirs = []


def _rmdir_soon(path: str, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


def sweep_stale() -> int:
    """Remove the empty groups of coderank workers that died without removing theirs; returns how many."""
    removed = 0
    mounts, own = _mounts(), _own_paths()
    for kind in ("v2", "memory"):
        parent = _dir_for(kind, mounts, own)
        if parent is None:
            continue
        try:
            names = [n for n in os.listdir(parent) if n.startswith(_PREFIX)]
        except OSError:
            continue
        for name in names:
            m = re.match(re.escape(_PREFIX) + r"(\d+)(?:-|$)", name)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                path = os.path.join(parent, name)
                _rmdir_soon(path, within=1.0)  # its last processes may still be exiting
                removed += not os.path.exists(path)
    return removed
