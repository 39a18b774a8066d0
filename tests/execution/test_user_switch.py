"""The uid switch keeps CAP_DAC_READ_SEARCH only where asked to (under Landlock), and nothing else."""

from __future__ import annotations

import os

import pytest

from coderank.execution import _linux as lx

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching uid needs root")

UID = 299_999


def _caps_after_switch(keep_read_search: bool) -> dict[str, int]:
    """Fork, prepare and switch uid as the zygote and a child do, and report the child's capability sets."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            lx.prepare_user_switch(keep_read_search)  # in the zygote
            if os.fork() == 0:  # the program's child inherits the settings
                if keep_read_search:
                    lx.become_user_keeping_read_search(UID)
                else:
                    os.setresgid(UID, UID, UID)
                    os.setresuid(UID, UID, UID)
                with open("/proc/self/status") as fh:
                    caps = [line for line in fh if line.startswith(("CapPrm", "CapEff", "Uid", "Groups"))]
                os.write(w, "".join(caps).encode())
                os._exit(0)
            os.wait()
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    fields = dict(line.split(":", 1) for line in data.decode().splitlines())
    return {
        "prm": int(fields["CapPrm"], 16), "eff": int(fields["CapEff"], 16),
        "uid": int(fields["Uid"].split()[0]), "groups": len(fields["Groups"].split()),
    }


def test_without_landlock_the_child_keeps_no_capability() -> None:
    assert _caps_after_switch(False) == {"prm": 0, "eff": 0, "uid": UID, "groups": 0}


def test_under_landlock_the_child_keeps_only_read_search() -> None:
    read_search = 1 << lx.CAP_DAC_READ_SEARCH
    assert _caps_after_switch(True) == {"prm": read_search, "eff": read_search, "uid": UID, "groups": 0}
