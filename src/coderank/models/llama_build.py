"""Which llama.cpp build is installed: llama-cpp-python's version and the instruction set of its CPU kernels.

Greedy answers are the same on two machines only if the same kernels add up the same numbers. llama.cpp's default
build (``-march=native``) compiles the kernels the building machine supports: AVX-512 ones on one machine, AVX2
ones on another, and on Intel CPUs with AMX also AMX kernels, which crash on virtual machines that report AMX
without supporting it. ``scripts/install-llama.sh`` therefore builds the pinned version, on x86-64, for the
portable set (AVX2, FMA, F16C, BMI2) on every machine; this module says whether the installed build is that one
(``coderank doctor``, the install script) and names its features in run manifests.

Runs as a script too, with the standard library only (the install script checks a build before coderank's own
dependencies are installed): ``python src/coderank/models/llama_build.py --check`` prints what is wrong and exits 1.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys

PINNED_VERSION = "0.3.36"
"""The llama-cpp-python release coderank's answers were measured with (pyproject.toml pins the same)."""

PORTABLE_X86 = ("AVX", "AVX2", "FMA", "F16C")
"""Features an x86-64 build must have (llama.cpp with ``GGML_NATIVE=OFF``)."""

NOT_PORTABLE_X86 = ("AVX512", "AVX_VNNI", "AMX")
"""Feature-name prefixes an x86-64 build must not have: kernels that exist on some machines only."""


def installed_version() -> str | None:
    """llama-cpp-python's installed version, or None."""
    try:
        return importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return None


def parse_system_info(info: str) -> list[str]:
    """The CPU features a ``llama_print_system_info()`` line reports as on (``CPU : AVX2 = 1 | ...``)."""
    features: list[str] = []
    for part in info.replace("\n", "|").split("|"):
        name, sep, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        if sep and name and value.strip() == "1" and name not in features:
            features.append(name)
    return features


def cpu_features() -> list[str] | None:
    """The features the installed llama.cpp was built with (imports it), or None when it is not installed."""
    try:
        import llama_cpp
    except ImportError:
        return None
    return parse_system_info(llama_cpp.llama_print_system_info().decode("utf-8", "replace"))


def build_problems(version: str | None, features: list[str] | None, machine: str | None = None) -> list[str]:
    """What keeps an installed build from being the pinned, portable one (empty: it is)."""
    if version is None or features is None:
        return ["llama-cpp-python is not installed"]
    problems: list[str] = []
    if version != PINNED_VERSION:
        problems.append(f"llama-cpp-python {version} is installed; coderank pins {PINNED_VERSION}")
    if (machine or platform.machine()).lower() in ("x86_64", "amd64"):
        extra = [f for f in features if f.startswith(NOT_PORTABLE_X86)]
        missing = [f for f in PORTABLE_X86 if f not in features]
        if extra:
            problems.append("built for this machine's own instruction set (" + ", ".join(extra) + "): other "
                            "kernels than on other machines, so greedy answers can differ from theirs"
                            + ("; AMX kernels crash on virtual machines that report AMX without supporting it"
                               if any(f.startswith("AMX") for f in extra) else ""))
        if missing:
            problems.append("built without " + ", ".join(missing))
    return problems


def fix_command() -> str:
    """The command that installs the pinned, portable build where this coderank runs from (not for script use)."""
    from coderank.paths import source_checkout

    root = source_checkout()
    if root is not None:
        return f"bash {root}/scripts/install-llama.sh"
    flags = "CMAKE_ARGS=-DGGML_NATIVE=OFF " if platform.machine().lower() in ("x86_64", "amd64") else ""
    return (f"{flags}pip install --force-reinstall --no-deps --no-cache-dir --no-binary llama-cpp-python "
            f"llama-cpp-python=={PINNED_VERSION}")


def describe() -> dict[str, object]:
    """Version, features and problems of the installed build, and the fix when there are any (``coderank doctor``)."""
    version = installed_version()
    features = cpu_features() if version is not None else None
    problems = build_problems(version, features)
    return {"version": version, "features": features, "problems": problems,
            **({"fix": fix_command()} if problems and version is not None else {})}


def amx_warning() -> str | None:
    """A warning to print before a model loads when the installed llama.cpp has AMX kernels, else None."""
    features = cpu_features() or []
    amx = [f for f in features if f.startswith("AMX")]
    if not amx:
        return None
    return (f"warning: this llama.cpp was built with {', '.join(amx)} kernels (a native build on an Intel CPU with "
            "AMX); on virtual machines that report AMX without supporting it they crash with a segmentation fault. "
            f"If that happens, rebuild it for the portable instruction set: {fix_command()}")


def main(argv: list[str]) -> int:
    """``--check``: print what keeps the installed build from being the pinned, portable one; 1 if anything does."""
    if argv[:1] != ["--check"]:
        print("usage: llama_build.py --check", file=sys.stderr)
        return 2
    version = installed_version()
    problems = build_problems(version, cpu_features() if version is not None else None)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
