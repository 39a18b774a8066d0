"""Thin ctypes wrappers over the Linux isolation primitives the sandbox uses.

Python 3.11 has no ``os.unshare``, no Landlock and no seccomp bindings, so the few syscalls are called
through libc here. Each function raises ``OSError`` with the errno on failure; callers decide whether
a missing layer is fatal or is reported as unavailable (never silently skipped).

Landlock: a ruleset is built once per sandbox worker (an fd holding the rules); each untrusted child only
calls ``restrict_self`` on it after fork, which costs two syscalls. Seccomp: the BPF program is assembled
once and installed per child with one ``prctl``.
"""

from __future__ import annotations

import ctypes
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
# Every flag of clone() that makes a new namespace: a program may fork and start threads, never these.
CLONE_NAMESPACES = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
                    | CLONE_NEWNET | CLONE_NEWTIME)

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def _check(result: int) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (see unshare(2))."""
    _check(_libc.unshare(ctypes.c_int(flags)))


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    """Call mount(2)."""
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        )
    )


_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (generic syscall table)
_AT_RECURSIVE = 0x8000
_MOUNT_ATTR_RDONLY = 0x1
_AT_FDCWD = -100


def make_read_only(path: str) -> None:
    """Make the mount at ``path`` and every mount below it read-only (mount_setattr(2), Linux 5.12+).

    Only in the calling process's mount namespace; the same mounts elsewhere stay as they are.
    """
    attr = struct.pack("QQQQ", _MOUNT_ATTR_RDONLY, 0, 0, 0)  # attr_set, attr_clr, propagation, userns_fd
    buf = ctypes.create_string_buffer(attr, len(attr))
    _check(_libc.syscall(ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_int(_AT_FDCWD), path.encode(),
                         ctypes.c_uint(_AT_RECURSIVE), buf, ctypes.c_size_t(len(attr))))


_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


def pivot_root(new_root: str, put_old: str) -> None:
    """Make ``new_root`` (a mount point) the root of the mount namespace; the old root goes to ``put_old``."""
    nr = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        raise OSError(0, f"pivot_root not wired for architecture {os.uname().machine}")
    _check(_libc.syscall(ctypes.c_long(nr), new_root.encode(), put_old.encode()))


def umount(target: str) -> None:
    """Detach the file system mounted at ``target`` (umount2 with MNT_DETACH)."""
    _check(_libc.umount2(target.encode(), ctypes.c_int(MNT_DETACH)))


def prctl(option: int, arg2: int = 0, arg3: int | ctypes._Pointer | None = 0) -> None:  # type: ignore[type-arg]
    """Call prctl(2) with up to two arguments."""
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), arg3, ctypes.c_ulong(0), ctypes.c_ulong(0)))


def set_no_new_privs() -> None:
    """Forbid gaining privileges through execve (needed before Landlock and seccomp)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_parent_death_signal(sig: int) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies."""
    prctl(PR_SET_PDEATHSIG, sig)


CAP_DAC_READ_SEARCH = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def prepare_user_switch(keep_read_search: bool) -> None:
    """In the (root) zygote, once: drop supplementary groups; keep capabilities across setuid or not.

    With ``keep_read_search``, capabilities survive the children's setuid, so that
    :func:`become_user_keeping_read_search` can keep CAP_DAC_READ_SEARCH. Without it the flag is cleared,
    so that a child's setuid drops every capability. Both settings are inherited by every forked child.
    """
    prctl(PR_SET_KEEPCAPS, 1 if keep_read_search else 0)
    os.setgroups([])


def become_user_keeping_read_search(uid: int) -> None:
    """Switch to ``uid`` (from root), keeping only CAP_DAC_READ_SEARCH (after :func:`prepare_user_switch`).

    The capability lets the program read the interpreter's own files where they live in a directory
    only root may enter (e.g. a Python under /root); Landlock still decides *which* paths it may read.
    """
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    set_capabilities(1 << CAP_DAC_READ_SEARCH)


# Looked up once, at import: CDLL creates a function object on first attribute access, and doing that in
# every forked child (with ctypes building the call from untyped arguments) costs ~60 copy-on-write faults.
_capset = _libc.capset
_capset.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
_capset.restype = ctypes.c_int


def set_capabilities(mask: int) -> None:
    """Set the effective and permitted capability sets to ``mask`` (inheritable: none)."""
    header = struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = struct.pack("IIIIII", mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, 0, mask >> 32, mask >> 32, 0)
    _check(_capset(header, data))


# --- Landlock -------------------------------------------------------------------------------------

_SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture (generic syscall table)
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
READ_RIGHTS = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR


def landlock_abi() -> int:
    """Return the kernel's Landlock ABI version, or 0 where Landlock is unavailable."""
    res = _libc.syscall(
        ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
        ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION),
    )
    return max(int(res), 0)


def landlock_fs_rights(abi: int) -> int:
    """All filesystem access rights the given ABI knows (the set a ruleset "handles")."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class LandlockRuleset:
    """A Landlock ruleset fd: deny-by-default for everything it handles, plus allow rules."""

    def __init__(self, abi: int) -> None:
        self.abi = abi
        self.fs_rights = landlock_fs_rights(abi)
        net = (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0
        scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0
        if abi >= 6:
            attr = struct.pack("QQQ", self.fs_rights, net, scoped)
        elif abi >= 4:
            attr = struct.pack("QQ", self.fs_rights, net)
        else:
            attr = struct.pack("Q", self.fs_rights)
        buf = ctypes.create_string_buffer(attr, len(attr))
        self.handles_net = bool(net)
        self.scopes_signals = bool(scoped)
        self.fd = _check(
            _libc.syscall(
                ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET), buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)
            )
        )

    def allow(self, path: str, rights: int) -> None:
        """Allow ``rights`` beneath ``path`` (a file gets only the file rights among them)."""
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            if not os.path.isdir(path):
                rights &= FILE_RIGHTS
            attr = struct.pack("=Qi", rights & self.fs_rights, fd)
            buf = ctypes.create_string_buffer(attr, len(attr))
            _check(
                _libc.syscall(
                    ctypes.c_long(_SYS_LANDLOCK_ADD_RULE), ctypes.c_int(self.fd),
                    ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), buf, ctypes.c_uint32(0),
                )
            )
        finally:
            os.close(fd)

    def restrict_self(self) -> None:
        """Enforce the ruleset on the calling process (irreversible; needs no_new_privs)."""
        _check(_libc.syscall(ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(self.fd), ctypes.c_uint32(0)))


# --- seccomp --------------------------------------------------------------------------------------

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# Syscalls the untrusted child never needs and that widen its reach: debugging other processes, kernel
# objects, namespaces, the new mount API (mount and umount2 stay: the zygote, under the same filter, mounts
# each program's scratch; a program lacks the capability they need, and cannot get one in a new user
# namespace, which is refused); and every kind of kernel object that outlives its process or is shared
# with the next program: SysV shared memory, semaphores and message queues, POSIX message queues (all of
# them live in the IPC namespace, not in a process, so no rlimit or kill frees them), memfd (memory no
# file-size or address-space limit counts). Numbers per architecture (x86_64, aarch64).
_DENIED_SYSCALLS = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "unshare": 272, "setns": 308, "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248,
        "request_key": 249, "kexec_load": 246, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "pivot_root": 155, "chroot": 161, "io_uring_setup": 425, "userfaultfd": 323, "pidfd_getfd": 438,
        "name_to_handle_at": 303, "open_by_handle_at": 304,
        "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
        "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240,
        "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
        "memfd_create": 319, "memfd_secret": 447, "fsopen": 430, "fsmount": 432, "move_mount": 429,
        "open_tree": 428, "mount_setattr": 442,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "unshare": 97, "setns": 268, "bpf": 280, "perf_event_open": 241, "keyctl": 219, "add_key": 217,
        "request_key": 218, "kexec_load": 104, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "pivot_root": 41, "chroot": 51, "io_uring_setup": 425, "userfaultfd": 282, "pidfd_getfd": 438,
        "name_to_handle_at": 264, "open_by_handle_at": 265,
        "shmget": 194, "shmat": 196, "shmctl": 195, "shmdt": 197, "semget": 190, "semop": 193, "semctl": 191,
        "semtimedop": 192, "msgget": 186, "msgsnd": 189, "msgrcv": 188, "msgctl": 187, "mq_open": 180,
        "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185,
        "memfd_create": 279, "memfd_secret": 447, "fsopen": 430, "fsmount": 432, "move_mount": 429,
        "open_tree": 428, "mount_setattr": 442,
    },
}
# socket, socketpair, clone, clone3
_SPECIAL_SYSCALLS = {"x86_64": (41, 53, 56, 435), "aarch64": (198, 199, 220, 435)}
_AF_UNIX = 1
_SOCK_STREAM = 1
_SOCK_TYPE_MASK = 0xF  # the type without SOCK_NONBLOCK / SOCK_CLOEXEC

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JSET_K = 0x45
_BPF_AND_K = 0x54
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_EPERM, _ENOSYS, _EACCES = 1, 38, 13
_ARG0, _ARG1 = 16, 24  # offsets of the low halves of seccomp_data.args[0] and [1] (little endian)


class _Bpf:
    """A tiny BPF assembler: conditional jumps name a label; :meth:`code` resolves them to offsets."""

    def __init__(self) -> None:
        self.insns: list[tuple[int, int | str, int | str, int]] = []
        self.labels: dict[str, int] = {}

    def op(self, code: int, k: int, jt: int | str = 0, jf: int | str = 0) -> None:
        self.insns.append((code, jt, jf, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.insns)

    def code(self) -> bytes:
        out = []
        for i, (code, jt, jf, k) in enumerate(self.insns):
            jumps = [j if isinstance(j, int) else self.labels[j] - i - 1 for j in (jt, jf)]
            if not all(0 <= j <= 255 for j in jumps):
                raise ValueError(f"BPF jump out of range at instruction {i}")
            out.append(struct.pack("HBBI", code, jumps[0], jumps[1], k))
        return b"".join(out)


class SeccompFilter:
    """A prebuilt seccomp BPF program for the untrusted child.

    Refused: socket() in every domain (AF_UNIX too, since a path-named socket on the host, an X11 or D-Bus
    socket, is reachable by connect() and Landlock does not cover that); socketpair() other than an AF_UNIX
    stream pair (a datagram socket can sendto() any path-named socket); clone() with a namespace flag (a new
    user namespace gives full capabilities in it) and clone3(), whose flags sit in memory a filter cannot
    read (ENOSYS, so the C library falls back to clone()); and the syscalls in ``_DENIED_SYSCALLS``.
    """

    def __init__(self) -> None:
        arch = os.uname().machine
        if arch not in _AUDIT_ARCH:
            raise OSError(0, f"seccomp filter not written for architecture {arch}")
        sock, sockpair, clone, clone3 = _SPECIAL_SYSCALLS[arch]
        b = _Bpf()
        b.op(_BPF_LD_W_ABS, 4)  # seccomp_data.arch
        b.op(_BPF_JEQ_K, _AUDIT_ARCH[arch], "nr", 0)
        b.op(_BPF_RET_K, _RET_KILL_PROCESS)
        b.label("nr")
        b.op(_BPF_LD_W_ABS, 0)  # seccomp_data.nr
        if arch == "x86_64":  # the x32 ABI reaches the same syscalls under other numbers
            b.op(_BPF_JSET_K, 0x40000000, "eperm", 0)
        b.op(_BPF_JEQ_K, sock, "eacces", 0)
        b.op(_BPF_JEQ_K, sockpair, "socketpair", 0)
        b.op(_BPF_JEQ_K, clone, "clone", 0)
        b.op(_BPF_JEQ_K, clone3, "enosys", 0)
        for nr in sorted(set(_DENIED_SYSCALLS[arch].values())):
            b.op(_BPF_JEQ_K, nr, "eperm", 0)
        b.op(_BPF_JEQ_K, 0, "allow", "allow")  # BPF jumps only forward: the checks of arguments come first
        b.label("socketpair")
        b.op(_BPF_LD_W_ABS, _ARG0)  # domain
        b.op(_BPF_JEQ_K, _AF_UNIX, 0, "eacces")
        b.op(_BPF_LD_W_ABS, _ARG1)  # type
        b.op(_BPF_AND_K, _SOCK_TYPE_MASK)
        b.op(_BPF_JEQ_K, _SOCK_STREAM, "allow", "eacces")
        b.label("clone")
        b.op(_BPF_LD_W_ABS, _ARG0)  # flags (the first argument on x86_64 and aarch64 alike)
        b.op(_BPF_JSET_K, CLONE_NAMESPACES, "eperm", "allow")
        b.label("allow")
        b.op(_BPF_RET_K, _RET_ALLOW)
        b.label("eperm")
        b.op(_BPF_RET_K, _RET_ERRNO | _EPERM)
        b.label("eacces")
        b.op(_BPF_RET_K, _RET_ERRNO | _EACCES)
        b.label("enosys")
        b.op(_BPF_RET_K, _RET_ERRNO | _ENOSYS)
        code = b.code()
        self._filter = ctypes.create_string_buffer(code, len(code))
        self._fprog = ctypes.create_string_buffer(
            struct.pack("HxxxxxxP", len(b.insns), ctypes.addressof(self._filter)), 16
        )

    def install(self) -> None:
        """Install the filter on the calling process (needs no_new_privs or CAP_SYS_ADMIN)."""
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.cast(self._fprog, ctypes.c_void_p))  # type: ignore[arg-type]


# --- waiting without learning ----------------------------------------------------------------------

_wait4 = _libc.wait4
_wait4.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_wait4.restype = ctypes.c_int
_SYS_WAITID = {"x86_64": 247, "aarch64": 95}
_P_ALL, _WEXITED = 0, 4


class ExitRecord:
    """A buffer, allocated once, that wait4() writes a child's exit status and resource usage into.

    The zygote reaps every program, and every program is forked from the zygote's memory: what a program
    left as its exit status or CPU time must not sit in that memory as Python objects for the next one to
    find. So the kernel writes it here, the buffer goes to the checker as it is, and is zeroed. Layout:
    int status at 0, struct rusage at 8 (ru_utime at 8, ru_stime at 24, ru_maxrss at 40), and at
    ``SIZE - 8`` a flag the zygote sets (1: it could not clean up after the program).
    """

    SIZE = 8 + 144 + 8
    UNCLEAN = SIZE - 8

    def __init__(self) -> None:
        self.buf = ctypes.create_string_buffer(self.SIZE)
        self.addr = ctypes.addressof(self.buf)

    def wait(self, pid: int) -> int:
        """Wait for ``pid`` to end and record how; returns wait4's result (the pid, or -1)."""
        return int(_wait4(pid, self.addr, 0, self.addr + 8))

    def mark_unclean(self) -> None:
        self.buf[self.UNCLEAN] = b"\x01"

    def view(self) -> memoryview:
        return memoryview(self.buf)  # type: ignore[arg-type]

    def clear(self) -> None:
        ctypes.memset(self.addr, 0, self.SIZE)


def parse_exit_record(data: bytes) -> tuple[int, float, int, bool]:
    """(wait status, user + system CPU seconds, peak RSS in KiB, unclean) from an :class:`ExitRecord`."""
    status = struct.unpack_from("i", data, 0)[0]
    user_s, user_us, sys_s, sys_us, maxrss = struct.unpack_from("qqqqq", data, 8)
    return status, user_s + sys_s + (user_us + sys_us) / 1e6, maxrss, data[ExitRecord.UNCLEAN] == 1


def reap_all_quietly() -> None:
    """Reap every child that has ended, with no status or pid passing through Python objects."""
    nr = _SYS_WAITID.get(os.uname().machine)
    if nr is None:  # never reached on the architectures the seccomp filter knows
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return
    while _libc.syscall(ctypes.c_long(nr), ctypes.c_int(_P_ALL), ctypes.c_int(0), None, ctypes.c_int(_WEXITED),
                        None) == 0:
        pass


def host_pid_of_pidfd(pidfd: int) -> int:
    """The pid, as this process's pid namespace sees it, of the process a pidfd refers to."""
    with open(f"/proc/self/fdinfo/{pidfd}") as fh:
        for line in fh:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    raise OSError(0, "pidfd has no Pid field")


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def descendants_cpu_seconds(root: int, most: int = 512) -> float:
    """User + system CPU seconds of every process below ``root`` (not ``root`` itself).

    What the children they have waited for used counts too. At most ``most`` processes are read; one that
    vanishes while they are read counts 0.
    """
    total = 0
    todo = [root]
    read = 0
    while todo and read < most:
        pid = todo.pop()
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                    todo.extend(map(int, fh.read().split()))
        except OSError:
            pass
        if pid == root:
            continue
        read += 1
        try:
            total += sum(_cpu_ticks(pid))  # its own and its waited-for children's
        except OSError:
            continue
    return total / _CLK_TCK


def _cpu_ticks(pid: int) -> list[int]:
    """utime, stime, cutime and cstime of a process, in clock ticks (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        data = fh.read()
    return [int(f) for f in data[data.rindex(b")") + 2 :].split()[11:15]]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a running process (all its threads)."""
    utime, stime, _, _ = _cpu_ticks(pid)
    return (utime + stime) / _CLK_TCK
