"""Install hints name the command that works where coderank runs from (issue: hints said coderank[rigor], which
fetches a release from PyPI instead of installing the extra into the checkout a user is working in)."""

from pathlib import Path

import coderank.paths as paths
from coderank.errors import install_hint

ROOT = Path(paths.__file__).resolve().parents[2]


def test_in_a_checkout_the_hint_is_the_checkouts_own_setup_and_editable_install():
    hint = install_hint("gemma")
    assert hint.startswith(f"bash {ROOT}/scripts/setup.sh --gemma")
    assert f"pip install -e '{ROOT}[gemma]'" in hint and "coderank[" not in hint


def test_extras_that_pull_torch_pin_the_cpu_build_first():
    for extra in ("train", "rigor", "hf"):
        hint = install_hint(extra)
        assert "setup.sh --train" in hint and "pip install torch==2.13.0 && pip install -e" in hint
    assert "torch" not in install_hint("embedded")


def test_outside_a_checkout_the_hint_is_the_release_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "__file__", str(tmp_path / "site-packages" / "coderank" / "paths.py"))
    assert install_hint("embedded") == "pip install 'coderank[embedded]'"
    assert install_hint("rigor").startswith("pip install torch==2.13.0 'coderank[rigor]'")


def test_the_light_detectors_and_charts_are_default_dependencies():
    # contam --no-embeddings, evol's MinHash and report's charts must work after the README's plain setup
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0] for d in deps}
    assert {"matplotlib", "datasketch"} <= names
