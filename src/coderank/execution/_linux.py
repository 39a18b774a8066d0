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
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 16384
MS_PRIVATE = 1 << 18

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
# objects, namespaces and mounts. Numbers per architecture (x86_64, aarch64).
_DENIED_SYSCALLS = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
        "unshare": 272, "setns": 308, "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248,
        "request_key": 249, "kexec_load": 246, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "pivot_root": 155, "chroot": 161, "io_uring_setup": 425, "userfaultfd": 323, "pidfd_getfd": 438,
        "name_to_handle_at": 303, "open_by_handle_at": 304,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
        "unshare": 97, "setns": 268, "bpf": 280, "perf_event_open": 241, "keyctl": 219, "add_key": 217,
        "request_key": 218, "kexec_load": 104, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "pivot_root": 41, "chroot": 51, "io_uring_setup": 425, "userfaultfd": 282, "pidfd_getfd": 438,
        "name_to_handle_at": 264, "open_by_handle_at": 265,
    },
}
_SOCKET_SYSCALLS = {"x86_64": (41, 53), "aarch64": (198, 199)}  # socket, socketpair
_AF_UNIX = 1

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


class SeccompFilter:
    """A prebuilt seccomp BPF program: no socket() at all, no debugging/namespace/kernel syscalls."""

    def __init__(self) -> None:
        arch = os.uname().machine
        if arch not in _AUDIT_ARCH:
            raise OSError(0, f"seccomp filter not written for architecture {arch}")
        denied = sorted(_DENIED_SYSCALLS[arch].values())
        sock, sockpair = _SOCKET_SYSCALLS[arch]
        eperm = _RET_ERRNO | 1
        eacces = _RET_ERRNO | 13
        prog = [
            _insn(_BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
            _insn(_BPF_JEQ_K, 1, 0, _AUDIT_ARCH[arch]),
            _insn(_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
            _insn(_BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        ]
        if arch == "x86_64":  # the x32 ABI reaches the same syscalls under other numbers
            prog += [_insn(_BPF_JSET_K, 0, 1, 0x40000000), _insn(_BPF_RET_K, 0, 0, eperm)]
        # socket/socketpair: jump to the domain check at the end
        # Layout from here: [jeq socket][jeq socketpair][jeq denied x D][ret allow][ret eperm][ret eacces]
        # [ld domain][jeq AF_UNIX][ret eacces][ret allow]; a jump lands at its index + 1 + offset.
        # socket() is refused in every domain: AF_UNIX too, since a path-named socket on the host (an X11
        # or D-Bus socket) is reachable by connect() and Landlock does not cover that. A socketpair() can
        # only talk to itself, so AF_UNIX pairs stay allowed.
        n_denied = len(denied)
        prog.append(_insn(_BPF_JEQ_K, n_denied + 3, 0, sock))  # -> ret eacces
        prog.append(_insn(_BPF_JEQ_K, n_denied + 3, 0, sockpair))  # -> ld domain
        for i, nr in enumerate(denied):
            prog.append(_insn(_BPF_JEQ_K, n_denied - i, 0, nr))  # -> ret eperm
        prog.append(_insn(_BPF_RET_K, 0, 0, _RET_ALLOW))
        prog.append(_insn(_BPF_RET_K, 0, 0, eperm))
        prog.append(_insn(_BPF_RET_K, 0, 0, eacces))
        prog.append(_insn(_BPF_LD_W_ABS, 0, 0, 16))  # seccomp_data.args[0], low half (little endian)
        prog.append(_insn(_BPF_JEQ_K, 1, 0, _AF_UNIX))
        prog.append(_insn(_BPF_RET_K, 0, 0, eacces))
        prog.append(_insn(_BPF_RET_K, 0, 0, _RET_ALLOW))
        code = b"".join(prog)
        self._filter = ctypes.create_string_buffer(code, len(code))
        self._fprog = ctypes.create_string_buffer(
            struct.pack("HxxxxxxP", len(prog), ctypes.addressof(self._filter)), 16
        )

    def install(self) -> None:
        """Install the filter on the calling process (needs no_new_privs or CAP_SYS_ADMIN)."""
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.cast(self._fprog, ctypes.c_void_p))  # type: ignore[arg-type]


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
