"""Pieces every run record (manifest) shares, built in one place so that the records cannot drift apart.

The manifests of score, eval, rescore, evol and distill runs all take these. A manifest is stored as canonical
JSON and hash-checked, and a run's id is the hash of its identity (not of its manifest): what these functions
return goes only into the manifests of new runs, never into an identity.
"""

from __future__ import annotations

import platform
import sys


def platform_info() -> dict[str, str]:
    """The machine a run ran on, as its manifest records it: ``python`` (version), ``system``, ``machine``."""
    return {"python": sys.version.split()[0], "system": platform.platform(), "machine": platform.machine()}
