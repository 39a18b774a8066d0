"""What ``eval``, ``rescore``, ``verify``, ``evol`` and ``distill`` print with ``--json`` stays as it was, byte
for byte.

The library's functions return typed results (``EvalResult``, ``VerifyResult``, ...); their ``to_json()`` is the
document the commands print. The expected documents in ``files/results/`` were printed by the commands when they
still returned plain dicts, on the small runs below (a scripted model, the real sandbox and store). Only what
differs from one run to the next is masked: times and rates, the platform and sandbox isolation, the temporary
folder. Every key, its place and every other value must be the same.

``CODERANK_WRITE_EXPECTED=1`` writes the files anew (only for a change of the documents that is meant).
"""

import json
import os
import re
from pathlib import Path

import pytest

from coderank.models import backends
from coderank.models.backends import Completion

EXPECTED = Path(__file__).parent / "files" / "results"
VOLATILE = frozenset({"wall_seconds", "generation_seconds", "tokens_per_second", "seconds", "platform",
                      "sandbox_isolation", "isolation"})

ANSWERS = {
    "add": ["```python\ndef add(a, b):\n    return a - b\n```", "```python\ndef add(a, b):\n    return a + b\n```",
            "```python\ndef add(a, b):\n    return sum((a, b))\n```"],
    "neg": ["```python\ndef neg(x):\n    return x\n```", "No code, sorry."],
}
GOOD = "```python\ndef solve(x):\n    return x\n\nprint(solve(3))\n```\n\nIt returns its input."


class Scripted:
    """Answers eval and distill prompts by the function asked for and the sample index, evol prompts by keyword."""

    spec = "script"

    def identity(self):
        return {"backend": "script", "version": 1}

    def close(self):
        pass

    def generate(self, requests):
        for i, req in enumerate(requests):
            yield i, Completion(self.respond(req.messages[-1][1], req.seed), "stop", 10, 20, 0.01)

    @staticmethod
    def respond(prompt, seed):
        asked = re.search(r"function `(\w+)`", prompt)
        if asked:
            answers = ANSWERS[asked.group(1)]
            return answers[seed % len(answers)]
        if prompt.startswith("Here is a programming task:"):
            task = prompt.split("\n\n", 2)[1]
            return task if task.startswith("DUP") else task + " Also reject negative inputs with ValueError."
        return GOOD


@pytest.fixture(autouse=True)
def scripted(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # relative paths: the run ids and data hashes do not depend on the folder
    model = Scripted()
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: model)
    return model


def problems():
    specs = {"add": ("def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n",
                     "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"),
             "neg": ("def neg(x):\n    \"\"\"Return minus x.\"\"\"\n",
                     "def check(candidate):\n    assert candidate(2) == -2\n")}
    path = Path("problems.jsonl")
    path.write_text("".join(json.dumps({"task_id": f"t/{n}", "prompt": p, "entry_point": n, "test": t}) + "\n"
                            for n, (p, t) in specs.items()))
    return path


def masked(value, tmp):
    if isinstance(value, dict):
        return {k: "<varies>" if k in VOLATILE else masked(v, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, tmp) for v in value]
    return value.replace(tmp, "$TMP") if isinstance(value, str) else value


def check(name, stdout, tmp_path, ensure_ascii):
    doc = json.loads(stdout)
    # what is compared below is the printed text itself: reading and writing it again changes nothing
    assert json.dumps(doc, indent=2, ensure_ascii=ensure_ascii) + "\n" == stdout
    text = json.dumps(masked(doc, str(tmp_path)), indent=2, ensure_ascii=False) + "\n"
    path = EXPECTED / f"{name}.json"
    if os.environ.get("CODERANK_WRITE_EXPECTED") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    return doc


def test_eval_rescore_and_verify_print_what_they_printed(tmp_path, cli):
    args = ["eval", "-m", "script", "-b", str(problems()), "-n", "3", "--temperature", "0.8", "--timeout",
            "1", "--workers", "1", "--name", "golden", "--json"]
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    run = check("eval", stdout, tmp_path, ensure_ascii=True)
    assert run["already_finished"] is False and run["generated"] == 6
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    again = check("eval-finished", stdout, tmp_path, ensure_ascii=True)
    assert again["already_finished"] is True and again["run_id"] == run["run_id"]
    code, stdout, stderr = cli("rescore", run["run_id"], "--timeout", "2", "--workers", "1", "--json")
    assert code == 0, stderr
    assert check("rescore", stdout, tmp_path, ensure_ascii=True)["rescored_from"] == run["run_id"]
    code, stdout, stderr = cli("verify", run["run_id"], "--workers", "1", "--json")
    assert code == 0, stderr
    assert check("verify", stdout, tmp_path, ensure_ascii=True)["ok"] is True


def test_distill_prints_what_it_printed(tmp_path, cli):
    code, stdout, stderr = cli("distill", "-b", str(problems()), "-m", "script", "-k", "3", "--keep", "1",
                               "-o", "d.jsonl", "--no-embeddings", "--timeout", "1", "--workers", "1",
                               "--json")
    assert code == 0, stderr
    doc = check("distill", stdout, tmp_path, ensure_ascii=False)
    assert doc["rows"] == 1 and doc["manifest"]["kind"] == "distill"


def test_evol_prints_what_it_printed(tmp_path, cli):
    seeds = Path("seeds.jsonl")
    seeds.write_text("".join(json.dumps({"id": f"s-{k.lower()}", "instruction": f"{k} write a function that sums the "
                                         "digits of a positive integer given as a string."}) + "\n"
                             for k in ("KEEP", "DUP")))
    code, stdout, stderr = cli("evol", str(seeds), "-m", "script", "-o", "e.jsonl", "--no-embeddings",
                               "--timeout", "1", "--workers", "1", "--json")
    assert code == 0, stderr
    doc = check("evol", stdout, tmp_path, ensure_ascii=False)
    assert doc["rows"] == 1 and doc["rounds"][0]["dropped"] == {"near-duplicate": 1}


def typed(result, kind):
    """Every key of the result's document is one of its attributes, with the document's value."""
    import dataclasses

    from coderank.record import Record

    assert type(result) is kind
    doc = result.to_json()
    assert result.extra == {}, f"keys that no attribute holds: {sorted(result.extra)}"
    for key, value in doc.items():
        attr = getattr(result, key)
        if isinstance(attr, Record):
            attr = attr.to_dict()
        elif isinstance(attr, dict):
            attr = {k: v.to_dict() if isinstance(v, Record) else v for k, v in attr.items()}
        assert attr == value, key
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.run_id = "changed"
    return doc


def test_the_functions_return_typed_results_that_hold_every_key():
    from coderank import (
        DistillConfig,
        DistillResult,
        EvalConfig,
        EvalResult,
        EvolConfig,
        EvolResult,
        RescoreConfig,
        RescoreResult,
        VerifyResult,
        distill,
        evaluate,
        evolve,
        rescore,
        verify,
    )
    from coderank.execution.sandbox import Limits

    config = EvalConfig(model="script", benchmark=str(problems()), n=3, temperature=0.8, workers=1,
                        limits=Limits(cpu_seconds=1.0))
    run = evaluate(config)
    typed(run, EvalResult)
    assert run.generated == 6 and not run.already_finished and run.manifest.n == 3
    assert run.pass_at_1 is not None and run.pass_at_1.value == pytest.approx(1 / 3)
    assert run.status_counts == {"failed": 3, "passed": 2, "no_code": 1}
    again = evaluate(config)
    typed(again, EvalResult)
    assert again.already_finished and again.run_id == run.run_id and again.generated == 0
    assert again.pass_at_k == run.pass_at_k
    rescored = rescore(RescoreConfig(run=run.run_id, cpu_seconds=2.0, workers=1))
    typed(rescored, RescoreResult)
    assert rescored.rescored_from == run.run_id and rescored.re_executed == 5 and rescored.copied == 1
    assert rescored.manifest.rescored_from is not None and rescored.manifest.rescored_from.run_id == run.run_id
    checked = verify(run.run_id, workers=1)
    typed(checked, VerifyResult)
    assert checked.ok and checked.re_executed == 5 and checked.mismatches == [] and checked.engine["workers"] == 1
    made = distill(DistillConfig(out=Path("d.jsonl"), benchmark=str(problems()), model="script", k=3, keep=1,
                                 embeddings=False, workers=1, limits=Limits(cpu_seconds=1.0)))
    typed(made, DistillResult)
    assert made.rows == 1 and made.manifest.kind == "distill" and made.manifest.run_id == made.run_id
    assert made.pass_rate == pytest.approx(2 / 6, abs=1e-4) and made.label == "verified"
    seeds = Path("seeds.jsonl")
    seeds.write_text(json.dumps({"id": "s-keep", "instruction": "KEEP write a function that sums the digits of a "
                                 "positive integer given as a string."}) + "\n")
    evolved = evolve(EvolConfig(out=Path("e.jsonl"), model="script", seeds=seeds, embeddings=False, workers=1))
    typed(evolved, EvolResult)
    assert evolved.rows == 1 and evolved.rounds[0]["kept"] == 1 and evolved.manifest.output is not None
    assert evolved.manifest.output["rows"] == 1
