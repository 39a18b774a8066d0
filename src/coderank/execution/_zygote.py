"""The zygote and the untrusted child: the only code that ever runs next to model-written programs.

The zygote is exec'd afresh by its checker (see :mod:`._worker`) as pid 1 of a new pid namespace, so it
holds no test, no secret and as few modules as possible (each imported module makes every fork dearer).
It moves into new mount, network and IPC namespaces, pivots into a root that holds only what programs may
read (all of it read-only), mounts a private /proc that shows a program only its own processes, builds
the Landlock ruleset once, pre-imports the modules most programs use, warms up CPython's lazily built
state and puts itself under no_new_privs and the seccomp filter (no sockets, ptrace, namespaces, SysV IPC
and the other kernel objects that outlive a process), which every child inherits. Then it forks one child
per program.

**Nothing of one program reaches the next.** Every program is forked from the zygote's memory, so the
zygote must never hold anything a program gave or left: not its text, not its answers, not its exit status,
not the names of its files, and it must not branch on anything the program did. The program's text goes
from the checker straight to the confined child over the child's own channel. Per program the zygote
mounts a fresh tmpfs as the scratch directory (fresh inode numbers, nothing left by another program),
resets its pid namespace's pid counter (every program gets the same pids), forks the child, and afterwards
kills every process in the namespace (``kill(-1)`` from pid 1 reaches double-forked daemons too), reaps
them (the kernel writes the program's exit status and CPU time into a buffer that goes to the checker
as it is and is zeroed; the others are reaped without a status) and unmounts the scratch.

The child drops everything else it can before running the program: its own process group, rlimits, the
first place in the out-of-memory killer's queue, another uid, Landlock (filesystem, TCP, signals; per
child, so that the zygote stays outside the children's domain), stdin from /dev/null and
stdout/stderr into a pipe the checker drains and caps; the environment is the zygote's scrubbed one. Then
it reads its program from the checker, runs it, and answers calls of the entry point with plain-data
values until the checker hangs up.
"""

from __future__ import annotations

import _socket
import array
import gc
import json
import os
import resource
import signal
import sys
from importlib.machinery import PathFinder
from typing import Any

from coderank.execution import _codec
from coderank.execution import _linux as lx
from coderank.execution._frames import loads, pack, read_frame, write_frame

# Files and folders a program may have in its scratch directory at once.
SCRATCH_FILES = 10_000

# Modules nearly every HumanEval-style program imports; importing them once here saves each child the
# disk reads. Heavier ones (hashlib pulls in OpenSSL) are left to the programs that need them.
PRELOAD = ("math", "re", "string", "collections", "itertools", "functools", "heapq", "bisect", "typing")


class Layers:
    """The isolation layers this zygote could set up, and a report saying which are active."""

    def __init__(self) -> None:
        self.landlock: lx.LandlockRuleset | None = None
        self.seccomp: lx.SeccompFilter | None = None
        self.fresh_scratch = False  # a tmpfs of its own for every program (else the folder is wiped)
        self.last_pid_fd = -1  # /proc/sys/kernel/ns_last_pid of the zygote's pid namespace, if writable
        self.in_pid_ns = False  # the zygote is pid 1 of its own pid namespace
        self.report: dict[str, str] = {}


def _setup(cfg: dict[str, Any]) -> Layers:
    layers = Layers()
    rep = layers.report
    in_pid_ns = layers.in_pid_ns = os.getpid() == 1
    rep["pid namespace"] = "active (every process a program starts is killed after it)" if in_pid_ns else (
        "unavailable (daemonised processes could outlive their program)")
    scratch = cfg["scratch"]
    try:
        lx.unshare(lx.CLONE_NEWNS | lx.CLONE_NEWNET)
        rep["network namespace"] = "active (no network interfaces)"
        lx.mount("none", "/", None, lx.MS_REC | lx.MS_PRIVATE, None)
        # A private tmpfs over the worker's scratch folder, to build the programs' root in
        lx.mount("tmpfs", scratch, "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, "size=4m,nr_inodes=4096,mode=0711")
        if in_pid_ns:
            _open_pid_counter(layers)
        try:
            _private_root(cfg, os.path.join(scratch, "root"))
            rep["private root"] = ("active (the root file system holds only what programs may read: nothing else "
                                   "can be listed, stat()-ed or resolved)")
        except OSError as exc:
            rep["private root"] = (f"unavailable ({exc.strerror}: programs can stat() and readlink() any path of "
                                   "the machine, though Landlock stops reading it)")
        try:
            # Every file system, as the programs see it: no write, no utime() or chmod() on a world-writable
            # folder, no access time that would record what a program read.
            lx.make_read_only("/")
            rep["read-only host"] = "active (every file system but the program's scratch is mounted read-only)"
        except OSError as exc:
            rep["read-only host"] = (f"unavailable ({exc.strerror}: a program can change the times of files "
                                     "and folders it may write by permission, though Landlock stops writes)")
        # Only the mount point of the programs' own tmpfs lives here (see _fresh_scratch).
        lx.mount("tmpfs", scratch, "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, "size=64k,nr_inodes=16,mode=0711")
        layers.fresh_scratch = True
        size = cfg["limits"]["scratch_bytes"]
        rep["scratch"] = (f"active (a fresh private tmpfs for every program: {size >> 20} MiB, "
                          f"{SCRATCH_FILES:,} files)")
        if in_pid_ns:
            _mount_private_proc(layers)
    except OSError as exc:
        rep.setdefault("network namespace", f"unavailable ({exc.strerror})")
        rep.setdefault("scratch", f"unavailable (a plain directory without a size limit, wiped after each "
                                  f"program: {exc.strerror})")
    rep.setdefault("private root", "unavailable (no mount namespace of its own)")
    rep.setdefault("pid reset", "unavailable (no pid namespace of its own: a program's pid tells how many "
                                "processes ran before it)")
    rep.setdefault("private /proc", "unavailable (programs see the machine's /proc)")
    rep.setdefault("read-only host", "unavailable (no mount namespace of its own)")
    try:  # SysV IPC and POSIX message queues are refused by seccomp; this is the second wall
        lx.unshare(lx.CLONE_NEWIPC)
        rep["ipc namespace"] = "active (no IPC object of the host or of another worker is reachable)"
    except OSError as exc:
        rep["ipc namespace"] = f"unavailable ({exc.strerror})"
    rundir = os.path.join(scratch, "run")
    cfg["rundir"] = rundir
    uid = cfg.get("uid")
    rep["separate uid"] = f"active (uid {uid})" if uid is not None else "unavailable (not running as root)"
    _make_rundir(rundir, uid)
    abi = lx.landlock_abi()
    if abi:
        try:
            rs = lx.LandlockRuleset(abi)
            rs.allow(scratch, rs.fs_rights & ~(lx.FS_MAKE_CHAR | lx.FS_MAKE_BLOCK))
            for path in cfg["read_paths"]:
                if os.path.exists(path):
                    rs.allow(path, lx.READ_RIGHTS)
            for path in cfg.get("list_paths", ()):
                if os.path.isdir(path):
                    rs.allow(path, lx.FS_READ_DIR)  # names only: imports must search these directories
            for dev in ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"):
                rs.allow(dev, lx.FS_READ_FILE | lx.FS_WRITE_FILE | lx.FS_TRUNCATE)
            layers.landlock = rs
            extras = (", no TCP" if rs.handles_net else "") + (", no signals out" if rs.scopes_signals else "")
            rep["landlock"] = f"active (ABI {abi}: writes only in scratch, reads only system paths{extras})"
        except OSError as exc:
            rep["landlock"] = f"unavailable ({exc.strerror})"
    else:
        rep["landlock"] = "unavailable (this kernel has no Landlock)"
    try:
        layers.seccomp = lx.SeccompFilter()
        rep["seccomp"] = ("active (no socket(), only AF_UNIX stream pairs; no ptrace, namespaces, bpf, "
                          "SysV IPC, message queues, memfd)")
    except OSError as exc:
        rep["seccomp"] = f"unavailable ({exc.strerror})"
    try:  # inherited by every child: when memory runs out, the kernel stops programs before anything else
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
        rep["oom priority"] = "active (programs are the first processes the out-of-memory killer stops)"
    except OSError as exc:
        rep["oom priority"] = f"unavailable ({exc.strerror})"
    for name in PRELOAD:
        __import__(name)
    _UnreadablePackages.hidden = frozenset(cfg.get("hidden_modules", ()))
    sys.meta_path.insert(sys.meta_path.index(PathFinder), _UnreadablePackages)
    _settle(cfg, rundir)
    _warm_up()
    _confine_self(cfg, layers)
    # Move everything allocated so far out of the collector's reach: a full collection in a child would
    # otherwise touch every object of the zygote and copy each of their pages (copy-on-write).
    gc.freeze()
    return layers


def _open_pid_counter(layers: Layers) -> None:
    """Mount /proc for the zygote's pid namespace and keep an fd on its ns_last_pid.

    Writing 1 there before each program gives every program the same pids (see :func:`main`).
    """
    lx.mount("proc", "/proc", "proc", lx.MS_NOSUID | lx.MS_NODEV | lx.MS_NOEXEC, None)
    try:
        layers.last_pid_fd = os.open("/proc/sys/kernel/ns_last_pid", os.O_WRONLY | os.O_CLOEXEC)
        os.pwrite(layers.last_pid_fd, b"1", 0)
        layers.report["pid reset"] = "active (every program gets the same pids, whatever ran before it)"
    except OSError as exc:
        layers.last_pid_fd = -1
        layers.report["pid reset"] = (f"unavailable ({exc.strerror}: a program's pid tells how many processes ran "
                                      "before it)")


def _mount_private_proc(layers: Layers) -> None:
    """The /proc programs see: their own processes only, and no machine-wide counters.

    hidepid: the zygote runs as root, so a program does not see it (nor /proc/1/cmdline with
    the worker's configuration). subset=pid: no /proc/stat, /proc/loadavg, /proc/sys, which count what
    other programs did.
    """
    try:
        lx.mount("proc", "/proc", "proc", lx.MS_NOSUID | lx.MS_NODEV | lx.MS_NOEXEC, "hidepid=invisible,subset=pid")
        layers.report["private /proc"] = "active (a program sees its own processes only, and no machine-wide counters)"
    except OSError as exc:
        layers.report["private /proc"] = f"unavailable ({exc.strerror}: programs see every process of the sandbox)"


_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def _private_root(cfg: dict[str, Any], root: str) -> None:
    """Pivot into a root that holds only what programs may read (``cfg["root"]``, see sandbox.root_layout).

    Landlock decides what a program may open, but not what it may stat(), readlink() or list the names of
    along the way; in this root the rest of the machine is simply not there.

    Raises:
        OSError: a mount or the pivot failed (the zygote then stays in the machine's root).
    """
    os.mkdir(root)
    lx.mount(root, root, None, lx.MS_BIND, None)  # pivot_root wants a mount point
    bound: set[str] = set()
    layout = cfg["root"]
    jobs = [(p, "bind") for p in layout["bind"]] + [(p, "hide") for p in layout["hide"]]
    # Parents first: a folder to hide inside a bound one, then a package bound back inside a hidden one
    for path, kind in sorted(jobs, key=lambda job: (job[0].count("/"), job[0])):
        real = _mirror(root, path)
        if kind == "hide":
            if os.path.isdir(root + real):
                lx.mount("tmpfs", root + real, "tmpfs", lx.MS_NOSUID | lx.MS_NODEV, "size=4k,nr_inodes=64,mode=0755")
        elif real not in bound and os.path.exists(real):
            _bind(real, root + real)
            bound.add(real)
    for dev in _DEVICES:
        _bind(dev, root + dev)
    for folder in ("/proc", cfg["scratch"], "/.old"):
        os.makedirs(root + folder, exist_ok=True)
    lx.pivot_root(root, root + "/.old")
    os.chdir("/")
    lx.umount("/.old")
    os.rmdir("/.old")


def _bind(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    lx.mount(source, target, None, lx.MS_BIND | lx.MS_REC, None)


def _mirror(root: str, path: str) -> str:
    """Make ``root + path`` resolve as ``path`` does (symbolic links on the way recreated); return its real path."""
    here = "/"
    for part in path.strip("/").split("/"):
        step = os.path.join(here, part)
        if os.path.islink(step):
            if not os.path.lexists(root + step):
                os.makedirs(root + here, exist_ok=True)
                os.symlink(os.readlink(step), root + step)
            step = os.path.realpath(step)
        here = step
    return here


def _confine_self(cfg: dict[str, Any], layers: Layers) -> None:
    """Restrictions the zygote can live with itself, set once and inherited by every child it forks.

    no_new_privs (needed for Landlock and seccomp) and the seccomp filter: after its setup the zygote needs
    none of the syscalls the filter refuses (it still mounts each program's scratch: the filter leaves mount
    to capabilities, which programs do not have). Installed here, not per child, because the kernel
    compiles a filter when it is installed: ~0.4 ms per program. Dropping supplementary groups, and (under
    Landlock only) keeping capabilities across setuid, prepare the children's switch to their own uid.
    Landlock stays per child: the zygote must remain outside the children's domain, so that they can neither
    signal nor trace it.
    """
    if cfg.get("uid") is not None:
        # Keeping CAP_DAC_READ_SEARCH is only safe under Landlock, which decides what it may read.
        lx.prepare_user_switch(keep_read_search=layers.landlock is not None)
    lx.set_no_new_privs()
    if layers.seccomp is not None:
        try:
            layers.seccomp.install()
        except OSError as exc:
            layers.seccomp = None
            layers.report["seccomp"] = f"unavailable ({exc.strerror})"


def _settle(cfg: dict[str, Any], rundir: str) -> None:
    """What every child would otherwise set up for itself: the same for all of them, so done once here."""
    os.chdir(rundir)
    cfg["devnull"] = os.open("/dev/null", os.O_RDONLY)
    env = {"PATH": "/usr/bin:/bin", "HOME": rundir, "TMPDIR": rundir, "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    os.environ.clear()
    os.environ.update(env)
    sys.dont_write_bytecode = True
    # The zygote wants these defaults too: a checker that hangs up ends it (SIGPIPE), as do SIGINT/SIGTERM.
    for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


# Exercised once before the first fork. Much of CPython initialises itself lazily: the first compile()
# creates the ~100 AST node types, the first json call builds its scanner, and so on. Done in each child,
# that costs ~1 ms of CPU and hundreds of copy-on-write page faults per program; done here, it is shared.
_WARM_UP_PROGRAM = """
import math, re
from typing import List, Optional
class _Node:
    def __init__(self, v: int, nxt: Optional["_Node"] = None) -> None:
        self.v, self.nxt = v, nxt
def _f(xs: List[int], k: int = 2, *args, **kwargs) -> dict:
    out = {x: [y for y in range(x) if y % k] for x in xs if x > 0}
    s = {abs(x) for x in xs}
    g = sum(x * x for x in xs)
    try:
        r = f"{g:>4}" + str(len(s)) + "%d" % k
    except (ValueError, TypeError) as e:
        raise RuntimeError(str(e)) from e
    finally:
        pass
    while k and not xs:
        k -= 1
    lam = lambda a, b=1: a + b if a else -b
    return {"out": out, "r": r, "lam": lam(1), "t": tuple(sorted(s, key=lambda z: -z)), "m": math.sqrt(g)}
"""


def _warm_up() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_WARM_UP_PROGRAM, "<warm-up>", "exec", dont_inherit=True), namespace)
    result = namespace["_f"]([3, -1, 4], 2)
    node = _codec.encode_node([[result["t"], (1, 2.5), {"a": {1, 2}}, b"x", None, True, 1j], {}])
    _codec.decode_node(loads(pack(node)[4:]))
    try:
        raise ValueError("warm-up")
    except ValueError as exc:
        _exc_reply(exc)
    for stream in (sys.stdout, sys.stderr):  # /dev/null here; the child flushes them after every call
        if stream is not None:
            stream.write("")
            stream.flush()


class _UnreadablePackages:
    """Import finder: a top-level package the sandbox may not read is reported as not installed, with why.

    In the sandbox's private root such a package is not there at all; where there is no private root,
    Landlock lets a program list site-packages but read only the packages it allows, so importing another
    one would fail with PermissionError. Either way a program that guards an optional import with ``except
    ImportError`` (as it would on a machine without the package) sees ModuleNotFoundError, and one that
    needs the package is told how it could get it.
    """

    hidden: frozenset[str] = frozenset()  # top-level names installed for the harness, not for programs

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if path is not None:
            return None  # a submodule: its package was readable
        try:
            spec = PathFinder.find_spec(name)
            if spec is not None and spec.has_location and spec.origin:
                os.close(os.open(spec.origin, os.O_RDONLY))
        except PermissionError:
            spec = None
        if spec is None and name in cls.hidden:
            raise ModuleNotFoundError(
                f"No module named {name!r} in the sandbox: programs may import the standard library, numpy "
                "and the packages allowed with --allow-import", name=name)
        return spec


def _make_rundir(path: str, uid: int | None) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    if uid is not None:
        os.chown(path, uid, uid)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _wipe(path: str) -> None:
    """Remove everything below ``path``, whatever the program left: any depth, any modes.

    No recursion and no long paths: a program can nest folders thousands deep (``mkdir a; cd a`` in a loop),
    deeper than Python's recursion limit and PATH_MAX. The walk holds one folder open at a time, goes down by
    name and back up through ``..``, and keeps only the names on the way down.
    """
    fd = os.open(path, _DIR_FLAGS)
    names: list[str] = []  # the folders entered below ``path``
    try:
        while True:
            sub = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        sub = entry.name
                        break
                    os.unlink(entry.name, dir_fd=fd)
            if sub is not None:
                try:
                    child = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                except PermissionError:  # the zygote lacks CAP_DAC_OVERRIDE and the program chmod-ed it 000
                    os.chmod(sub, 0o700, dir_fd=fd, follow_symlinks=False)
                    child = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                names.append(sub)
            elif names:
                parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = parent
                os.rmdir(names.pop(), dir_fd=fd)
            else:
                return
    finally:
        os.close(fd)


def _clean_rundir(cfg: dict[str, Any]) -> bool:
    """Make the scratch directory empty for the next program; False if that failed (the zygote must go).

    Only where no tmpfs of its own can be mounted for each program; runs in a throwaway child of the zygote
    (:func:`_clean_in_child`), so the names it reads die with it.
    """
    rundir = cfg["rundir"]
    try:
        if not os.path.isdir(rundir) or os.path.islink(rundir):  # removed or replaced by a program (same uid)
            if os.path.lexists(rundir):
                os.unlink(rundir)
            _make_rundir(rundir, cfg.get("uid"))
        elif os.listdir(rundir):
            _wipe(rundir)
        return True
    except OSError:
        return False


def _fresh_scratch(cfg: dict[str, Any], limits: dict[str, Any]) -> None:
    """Mount a new tmpfs as the program's working directory (before the program is forked).

    New every time, so nothing of the program before shows in it: no file, and no count either (a tmpfs
    numbers its inodes from one). A file cap too: a program can create ~100,000 empty files per CPU second.
    """
    uid = cfg.get("uid")
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    lx.mount("tmpfs", cfg["rundir"], "tmpfs", lx.MS_NOSUID | lx.MS_NODEV,
             f"size={limits['scratch_bytes']},nr_inodes={SCRATCH_FILES},mode=0700{owner}")


def main(sock_fd: int, cfg_json: str) -> None:
    """Zygote entry point: set up the layers, report them, then run programs on request.

    A request carries the benchmark's limits, never anything of a program; see the module docstring for
    what the zygote must never hold.
    """
    lx.set_parent_death_signal(signal.SIGKILL)
    cfg = json.loads(cfg_json)
    sys.path[:] = cfg["sys_path"]  # started with -S (no site module): programs see the harness's import path
    sock = _socket.socket(fileno=sock_fd)
    layers = _setup(cfg)
    record = lx.ExitRecord()
    write_frame(sock_fd, {"layers": layers.report})
    while True:
        req = read_frame(sock_fd)
        if req is None:
            os._exit(0)
        _run_one(cfg, sock, layers, req, record)


def _run_one(cfg: dict[str, Any], sock: _socket.socket, layers: Layers, req: dict[str, Any],
             record: lx.ExitRecord) -> None:
    """One program, from its scratch directory to its last process.

    Nothing here depends on what the program did: no branch on it, no Python object made from it. Its exit
    status and CPU time go from the kernel into ``record``, from there to the checker, and are zeroed.
    """
    limits = req.get("limits") or cfg["limits"]
    if layers.fresh_scratch:
        _fresh_scratch(cfg, limits)
    os.chdir(cfg["rundir"])
    if layers.last_pid_fd >= 0:
        os.pwrite(layers.last_pid_fd, b"1", 0)  # the program gets pid 2, whatever ran before it
    chan_parent, chan_child = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        sock.close()
        chan_parent.close()
        os.close(out_r)
        _child(cfg, limits, chan_child.detach(), out_w, layers)
    chan_child.close()
    os.close(out_w)
    pidfd = os.pidfd_open(pid)
    # The checker gets the program's channel, a pidfd and its output pipe, sends the program its text and
    # drains its output itself: the zygote just waits, doing (and so copying on write) as little as it can.
    fds = array.array("i", [chan_parent.fileno(), pidfd, out_r])
    sock.sendmsg([b"x"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
    chan_parent.close()
    os.close(pidfd)
    os.close(out_r)
    fd = sock.fileno()
    if read_frame(fd) is None:  # the checker is gone
        os._exit(0)
    if layers.in_pid_ns:
        try:
            os.kill(-1, signal.SIGKILL)  # everything in this pid namespace but the zygote itself
        except ProcessLookupError:
            pass
    else:  # kill(-1) would reach the whole machine here: the program's process group, and the program
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    record.wait(pid)
    lx.reap_all_quietly()
    os.chdir("/")
    if layers.fresh_scratch:
        try:
            lx.umount(cfg["rundir"])
        except OSError:
            record.mark_unclean()
    elif not _clean_in_child(cfg):
        record.mark_unclean()
    os.write(fd, record.view())
    unclean = record.buf[lx.ExitRecord.UNCLEAN] != b"\x00"
    record.clear()
    if unclean:  # the next program must not see this one's files: a fresh zygote gets a fresh scratch
        os._exit(0)


def _clean_in_child(cfg: dict[str, Any]) -> bool:
    """Wipe the scratch folder in a throwaway process, so that the names it reads die with it."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _clean_rundir(cfg) else 1)
    return os.waitpid(pid, 0)[1] == 0


def _child(cfg: dict[str, Any], lim: dict[str, Any], chan: int, out_w: int, layers: Layers) -> None:
    """Runs in the forked child and never returns. From the end of this function on, nothing is trusted."""
    try:
        os.setpgid(0, 0)  # not setsid(): the zygote has no terminal, and a session costs ~200 us more
        os.dup2(cfg["devnull"], 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        keep = sorted({chan, *((layers.landlock.fd,) if layers.landlock else ())})
        low = 3
        for fd in keep:
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 1 << 20)
        # RLIMIT_CPU is only a backstop (the checker times the program precisely): SIGXCPU a whole second
        # after the budget, SIGKILL a second later, so a checker slowed by a loaded machine still decides.
        cpu_soft = int(lim["cpu_seconds"]) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_soft, cpu_soft + 1))
        for res, value in (
            (resource.RLIMIT_AS, lim["memory_bytes"]),
            (resource.RLIMIT_FSIZE, lim["file_size_bytes"]),
            (resource.RLIMIT_NPROC, lim["processes"]),
            (resource.RLIMIT_NOFILE, lim["open_files"]),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(res, (value, value))
        uid = cfg.get("uid")
        if uid is not None and layers.landlock is not None:
            lx.become_user_keeping_read_search(uid)
        elif uid is not None:  # without Landlock the capability would open every file: drop it too
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            lx.set_capabilities(0)  # already none (keep-caps is off); said explicitly, in case
        # no_new_privs and the seccomp filter were set in the zygote and are inherited (see _confine_self)
        if layers.landlock is not None:
            layers.landlock.restrict_self()
            os.close(layers.landlock.fd)
    except BaseException as exc:  # a half-built sandbox must never run the program
        try:
            os.write(2, f"sandbox setup failed: {exc!r}\n".encode())
        finally:
            os._exit(113)
    task = read_frame(chan)  # [program, entry point]: the program's text reaches no other process
    if type(task) is list and len(task) == 2:
        _serve(str(task[0]), str(task[1]), chan)
    os._exit(0)


def _exc_reply(exc: BaseException) -> list[Any]:
    try:
        msg = str(exc)[:500]
    except BaseException:
        msg = "?"
    return ["exc", type(exc).__name__, msg, isinstance(exc, Exception)]


def _serve(program: str, entry_point: str, chan: int) -> None:
    """Untrusted: load the program, then answer calls of the entry point until the checker hangs up."""
    namespace: dict[str, Any] = {}
    side = _SIDE
    side.names = namespace  # the program's classes rebuild the dataclasses and enums the tests pass it
    _PROGRAM[:] = [chan, None]
    try:
        exec(compile(program, "<program>", "exec", dont_inherit=True), namespace)
        fn = namespace.get(entry_point)
        if not callable(fn):
            raise NameError(f"the program defines no function {entry_point!r}")
    except BaseException as exc:
        write_frame(chan, ["load", *_exc_reply(exc)[1:]])
        return
    _PROGRAM[1] = fn
    write_frame(chan, ["ready"])
    while True:
        try:
            req = read_frame(chan)
        except BaseException:
            return
        if req is None:
            return
        _answer(chan, side, fn, req)


def _link(*request: Any) -> Any:
    return _ask(_PROGRAM[0], _SIDE, _PROGRAM[1], request)


# The program's side of the codec and its [channel, entry point], made here before any fork so that a child
# only writes to these (a page or two to copy) instead of allocating them: objects of the program that the
# tests hold handles to; functions of the tests that the program got are asked to run in the checker.
_SIDE = _codec.Side(keep=[], link=_link)
_PROGRAM: list[Any] = [None, None]


def _answer(chan: int, side: _codec.Side, fn: Any, req: list[Any]) -> None:
    """Answer one request of the tests: a call of the entry point, or an operation on a kept object."""
    try:
        args = _codec.decode_node(req[0], side)
        kwargs = _codec.decode_node(req[1], side)
        if len(req) == 2:
            result = fn(*args, **kwargs)
        else:  # [handle, op, name]: the tests use an object of the program they hold a handle to
            handle, op, name = req[2]
            result = _codec.apply_op(_codec.decode_node({"ref": handle}, side), op, name, args, kwargs)
        answer = _codec.encode_node(result, side)  # before the arguments: it may be an iterator over one
        after = _codec.encode_node([args, kwargs], side)
        reply = ["ok", answer, None if after == req[:2] else after]
    except BaseException as exc:
        reply = _exc_reply(exc)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    write_frame(chan, reply)


def _ask(chan: int, side: _codec.Side, fn: Any, request: tuple[Any, ...]) -> Any:
    """Run a function of the tests (the program got it as an argument) in the checker; return its answer.

    While waiting, answer the tests' own requests: the function may call the program again.
    """
    handle, op, name, args, kwargs = request
    write_frame(chan, ["ask", _codec.encode_node(list(args), side), _codec.encode_node(kwargs, side),
                       [handle, op, name]])
    while True:
        msg = read_frame(chan)
        if msg is None:
            os._exit(0)  # the checker is done with this program
        if type(msg) is list and msg and type(msg[0]) is str:
            break
        _answer(chan, side, fn, msg)
    if msg[0] == "ok" and len(msg) == 3:
        if msg[2] is not None:
            _codec.apply_mutations(args, kwargs, _codec.decode_node(msg[2], side))
        return _codec.decode_node(msg[1], side)
    if msg[0] == "exc" and len(msg) == 4:
        raise _codec.rebuild_exception(str(msg[1]), str(msg[2]), msg[3] is True)
    raise RuntimeError("malformed answer from the checker")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
