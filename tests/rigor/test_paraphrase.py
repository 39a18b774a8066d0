"""LLM paraphrases (perturb --kinds paraphrase): prose found, checks that drop bad paraphrases, variants that pass."""

import json

import pytest

from coderank.errors import UsageError
from coderank.models import backends
from coderank.models.backends import Completion
from coderank.problems import Benchmark, load_benchmark
from coderank.rigor import paraphrase
from coderank.rigor.perturb import perturb_benchmark, write_problem_file

HE = load_benchmark("humaneval")


def test_prose_is_the_text_before_the_examples():
    assert paraphrase.prose_of(HE.problems["HumanEval/0"]).text == (
        "Check if in given list of numbers, are any two numbers closer to each other than\ngiven threshold.")
    pile = paraphrase.prose_of(HE.problems["HumanEval/100"]).text
    assert pile.startswith("Given a positive integer n") and "Examples" not in pile and ">>>" not in pile
    with pytest.raises(paraphrase.NothingToParaphrase):
        paraphrase.prose_of(HE.problems["HumanEval/115"])  # no docstring in its prompt
    found = 0
    for p in HE:
        try:
            paraphrase.prose_of(p)
            found += 1
        except paraphrase.NothingToParaphrase:
            pass
    assert found >= 160


def test_apply_replaces_only_the_prose():
    p = HE.problems["HumanEval/2"]
    new, changes = paraphrase.apply(p, "Description: A positive float splits into an integer part (the largest "
                                       "integer below it) and decimals, which are always smaller than 1.\n\n"
                                       "Give back just the decimal part.")
    assert "Give back just the decimal part." in new.prompt and "Return the decimal part" not in new.prompt
    assert ">>> truncate_number(3.5)\n    0.5" in new.prompt  # examples untouched
    assert new.prompt.startswith(p.prompt[:p.prompt.index('"""') + 3])
    assert changes["template_sha256"] == paraphrase.TEMPLATE_SHA256 and changes["paraphrase"].startswith("A positive")
    compile(new.prompt + new.canonical_solution, "x", "exec")


@pytest.mark.parametrize(("reply", "why"), [
    ("", "empty"),
    ("Check if in given list of numbers, are any two numbers closer to each other than given threshold.",
     "is the original"),
    ("Write this:\n```python\ndef has_close_elements(numbers, threshold):\n    return True\n```", "contains code"),
    ("Any two close?", "length"),
    ("Check if in given list of numbers, are any two numbers closer", "only part"),
    ("To check this you can sort the numbers and compare neighbours against the given threshold.", "solution"),
    ("Determine whether a list holds two numbers whose distance is below the threshold. " * 5, "length"),
])
def test_bad_paraphrases_are_refused(reply, why):
    with pytest.raises(paraphrase.ParaphraseError, match=why):
        paraphrase.apply(HE.problems["HumanEval/0"], reply)


def test_lost_numbers_and_names_are_refused():
    p = HE.problems["HumanEval/2"]  # prose has the number 1
    with pytest.raises(paraphrase.ParaphraseError, match="number"):
        paraphrase.apply(p, "A positive float splits into a whole part and a fractional part that is always "
                            "small. Give back the fractional part only, please.")
    q = HE.problems["HumanEval/100"]  # prose names the parameter n
    with pytest.raises(paraphrase.ParaphraseError, match="name"):
        paraphrase.apply(q, "Given a positive integer count, build a pile with that many levels of stones; the first "
                            "level has count stones and each next level has the next odd number if count is odd, "
                            "else the next even number. Give back the number of stones in each level as a list, "
                            "where the element at index i is the number of stones in level (i+1).")


def test_perturb_benchmark_keeps_checked_variants_and_drops_bad_ones(tmp_path):
    part = Benchmark("he3", "1", {t: HE.problems[t] for t in ("HumanEval/0", "HumanEval/2", "HumanEval/115")}, "t")
    replies = {
        "HumanEval/0": "Determine whether a list of numbers contains two of them that are closer together than "
                       "the given threshold.",
        "HumanEval/2": "Too short.",
    }
    result = perturb_benchmark(part, ["paraphrase"], paraphrases=replies, paraphrase_info={"model_spec": "x"},
                               workers=1)
    status = {r.source_task_id: (r.status, r.reason) for r in result.records}
    assert status["HumanEval/0"][0] == "kept"
    assert status["HumanEval/2"][0] == "dropped" and "length" in status["HumanEval/2"][1]
    assert status["HumanEval/115"][0] == "unchanged"
    path = write_problem_file(result, tmp_path / "p.jsonl")
    row = json.loads(path.read_text())
    assert row["task_id"] == "HumanEval/0#paraphrase"
    assert row["metadata"]["perturbation"]["changes"]["model_spec"] == "x"
    with pytest.raises(UsageError, match="paraphrase"):
        perturb_benchmark(part, ["paraphrase"], workers=1)


class Paraphraser:
    spec = "script"

    def __init__(self):
        self.calls = 0

    def identity(self):
        return {"backend": "script-paraphraser"}

    def close(self):
        pass

    def generate(self, requests):
        for i, req in enumerate(requests):
            self.calls += 1
            text = req.messages[0][1].split("Description:\n", 1)[1]
            yield i, Completion("Rewritten description: " + text.replace("Check if", "Determine whether")
                                .replace("Return", "Give back").replace("return", "give back"), "stop", 5, 5, 0.01)


def problem_file(path, *task_ids):
    path.write_text("".join(json.dumps({"task_id": p.task_id, "prompt": p.prompt, "entry_point": p.entry_point,
                                        "test": p.test, "canonical_solution": p.canonical_solution}) + "\n"
                            for p in (HE.problems[t] for t in task_ids)))
    return path


def test_cli_paraphrase_through_a_backend_is_cached(cli, tmp_path, monkeypatch):
    model = Paraphraser()
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: model)
    src = problem_file(tmp_path / "three.jsonl", "HumanEval/0", "HumanEval/12", "HumanEval/53")
    out = tmp_path / "para.jsonl"
    code, stdout, stderr = cli("perturb", str(src), "--kinds", "paraphrase", "--model", "script", "-o", str(out),
                               "--json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    kept = {r["task_id"] for r in rows}
    assert "HumanEval/0#paraphrase" in kept and "HumanEval/12#paraphrase" in kept
    assert all("Determine whether" in r["prompt"] or "give back" in r["prompt"].lower() for r in rows)
    assert rows[0]["metadata"]["perturbation"]["changes"]["model"] == {"backend": "script-paraphraser"}
    assert doc["counts"]["paraphrase"]["kept"] == len(rows) and doc["kinds"] == ["paraphrase"]
    calls = model.calls
    code, _, _ = cli("perturb", str(src), "--kinds", "paraphrase", "--model", "script", "-o", str(out))
    assert code == 0 and model.calls == calls  # second run: every paraphrase from the cache
    code, _, stderr = cli("perturb", str(src), "--kinds", "paraphrase", "-o", str(out))
    assert code != 0 and "--model" in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_embedded_model_paraphrases_are_checked_and_recorded(cli, tmp_path):
    pytest.importorskip("llama_cpp")
    src = problem_file(tmp_path / "three.jsonl", "HumanEval/0", "HumanEval/4", "HumanEval/7")
    out = tmp_path / "para.jsonl"
    code, stdout, stderr = cli("perturb", str(src), "--kinds", "paraphrase", "--model", "default", "-o", str(out),
                               "--json")
    assert code == 0, stderr
    counts = json.loads(stdout)["counts"]["paraphrase"]
    assert counts["derived"] == 3 and counts["kept"] + counts["dropped"] == 3
    for line in out.read_text().splitlines():
        row = json.loads(line)
        changes = row["metadata"]["perturbation"]["changes"]
        assert changes["model"]["weights_sha256"].startswith("sha256:1d9614638d18")
        assert changes["paraphrase"] in " ".join(row["prompt"].split()) or changes["paraphrase"].split()[0] in row[
            "prompt"]
