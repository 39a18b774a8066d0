"""The library's one face: ``from coderank import score, evaluate, evolve, train, distill`` with their config and
result types, resolved lazily so ``import coderank`` stays light."""

import subprocess
import sys

import pytest

import coderank


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_coderank_pulls_in_no_heavy_library():
    heavy = ["numpy", "torch", "llama_cpp", "transformers", "typer", "rich", "jinja2", "matplotlib", "datasketch",
             "coderank.api", "coderank.evaluation"]
    proc = _fresh(f"import sys, coderank\nprint([m for m in {heavy!r} if m in sys.modules])")
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_every_public_name_is_what_its_module_defines():
    from coderank import api, errors, evaluation, scoring
    from coderank.distill import _pipeline as distill_pipeline
    from coderank.evol import evolution as evol_pipeline
    from coderank.execution import sandbox
    from coderank.models import backends

    assert coderank.score is api.score and coderank.ScoreConfig is api.ScoreConfig
    assert coderank.ScoreResult is api.ScoreResult
    assert coderank.evaluate is evaluation.evaluate and coderank.EvalConfig is evaluation.EvalConfig
    assert coderank.rescore is evaluation.rescore and coderank.RescoreConfig is evaluation.RescoreConfig
    assert coderank.verify is evaluation.verify_run
    assert coderank.EvalResult is evaluation.EvalResult and coderank.RescoreResult is evaluation.RescoreResult
    assert coderank.VerifyResult is evaluation.VerifyResult
    assert coderank.evolve is evol_pipeline.evolve and coderank.EvolConfig is evol_pipeline.EvolConfig
    assert coderank.EvolResult is evol_pipeline.EvolResult
    assert coderank.DistillResult is distill_pipeline.DistillResult
    assert coderank.Limits is sandbox.Limits and coderank.BackendOptions is backends.BackendOptions
    assert coderank.Estimate is scoring.Estimate and coderank.UsageError is errors.UsageError
    for name in coderank.__all__:
        assert getattr(coderank, name) is not None, name
    assert set(coderank.__all__) <= set(dir(coderank))
    with pytest.raises(AttributeError):
        coderank.no_such_name  # noqa: B018


@pytest.mark.parametrize("name", ["train", "distill"])
@pytest.mark.parametrize("first", ["subpackage", "face"])
def test_train_and_distill_are_their_subpackage_and_their_function_in_either_import_order(name, first):
    subpackage = f"import coderank.{name}\n"
    face = f"from coderank import {name} as face\n"
    code = (subpackage + face if first == "subpackage" else face + subpackage) + (
        "import sys, coderank\n"
        f"module = sys.modules['coderank.{name}']\n"
        f"assert face is module and coderank.{name} is module and callable(module)\n"
        f"assert coderank.{name}.{name}.__module__.startswith('coderank.{name}._')\n"
        f"module.{name} = lambda config, progress=None: ('called', config, progress)\n"
        f"assert face('cfg') == ('called', 'cfg', None)\n"
        f"assert coderank.{name}('cfg', print) == ('called', 'cfg', print)\n"
    )
    proc = _fresh(code)
    assert proc.returncode == 0, proc.stderr


def test_the_score_entry_point_runs_from_the_face(tmp_path):
    import json

    from coderank import ScoreConfig, score
    from coderank.problems import load_benchmark

    p = load_benchmark("humaneval").problems["HumanEval/0"]
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n")
    result = score(ScoreConfig(samples=path, save=False))
    assert result.estimates[0].k == 1 and result.estimates[0].value == 1.0
