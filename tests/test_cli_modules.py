"""The command line is a package without import cycles: every module of it imports on its own, in a fresh
interpreter, and the entry points (``coderank``, ``python -m coderank``) still start."""

import pkgutil
import subprocess
import sys

import pytest

import coderank.cli

MODULES = sorted(m.name for m in pkgutil.iter_modules(coderank.cli.__path__))


def test_the_package_has_its_command_modules():
    assert {"_app", "_common", "score", "eval", "runs", "compare", "distill", "evol", "contam", "augment", "perturb",
            "train"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_on_its_own_in_a_fresh_interpreter(module):
    # A command module must not need the app (or any other command module it does not name) to import: the app is
    # made only by coderank.cli._app, so importing a command module leaves it out.
    code = (f"import sys, coderank.cli.{module}\n"
            f"assert {module!r} == '_app' or 'coderank.cli._app' not in sys.modules, 'pulled in the app'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_python_dash_m_coderank_is_the_command():
    proc = subprocess.run([sys.executable, "-m", "coderank", "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"coderank {coderank.__version__}"


def test_the_entry_point_and_app_are_where_the_console_script_looks():
    from coderank.cli import app, main

    assert callable(main) and app.registered_commands
