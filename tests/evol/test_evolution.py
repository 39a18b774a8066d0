"""The evolution pipeline with a scripted model (every elimination path, pool, resume, manifest, CLI).

The scripted backend answers by keywords in the seed text, so each seed exercises one path. The sandbox, the
store and the contamination detectors are the real ones. The embedded model runs the same pipeline in
``test_evol_embedded.py``.
"""

import json
import time

import pytest

from coderank.errors import CoderankError, InputError, UsageError
from coderank.evol.evolution import EvolConfig, evolve, manifest_path
from coderank.evol.methods import METHODS
from coderank.execution.sandbox import Limits
from coderank.models import backends
from coderank.models.backends import Completion
from coderank.problems import load_benchmark
from coderank.store import Store

EXTRA = [" Also reject negative inputs by raising ValueError with a helpful message.",
         " Additionally support unicode text and keep the running time linear overall.",
         " Finally document each parameter and cover empty inputs with dedicated examples."]
GOOD = "```python\ndef solve(x):\n    return x\n\nprint(solve(3))\n```\n\nIt returns its input."
HE0 = next(iter(load_benchmark("humaneval")))
MBPP12 = load_benchmark("mbpp").problems["MBPP/12"]

ANSWERS = {
    "REFUSE": "I'm sorry, but I can't help with that.",
    "NOCODE": "Walk through the items and keep a running total.",
    "SYNTAX": "```python\ndef solve(x:\n    return x\n```",
    "CRASH": "```python\ndef solve(x):\n    return x\n\nassert solve(1) == 2, 'example failed'\n```",
    "LOOP": "```python\nwhile True:\n    pass\n```",
    "LEAK": f"```python\n{HE0.prompt}{HE0.canonical_solution}\n```",
    "MBPPLEAK": f"```python\n{MBPP12.prompt}{MBPP12.canonical_solution}\n```",
    "TRUNC": GOOD,
}


class Scripted:
    """Deterministic model: evolves by appending a requirement, answers by keyword; can fail after N calls."""

    spec = "script"

    def __init__(self, fail_after=None):
        self.calls = 0
        self.fail_after = fail_after

    def identity(self):
        return {"backend": "script", "version": 1}

    def close(self):
        pass

    def generate(self, requests):
        for i, req in enumerate(requests):
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise RuntimeError("simulated crash")
            self.calls += 1
            text, finish = self.respond(req.messages[-1][1])
            yield i, Completion(text, finish, 10, 20, 0.01)

    @staticmethod
    def respond(prompt):
        if prompt.startswith("Here is a programming task:"):
            task = prompt.split("\n\n", 2)[1]
            key = task.split()[0]
            if key == "EMPTY":
                return "", "stop"
            if key == "DUP":
                return task, "stop"
            if key == "LONG":
                return task + EXTRA[0], "length"
            if key == "TEMPLATE":
                return "Make the task harder: " + task + EXTRA[0], "stop"
            extra = next(e for e in EXTRA if e not in task)
            return task + extra, "stop"
        assert prompt.startswith("Solve the following programming exercise in Python.")
        key = prompt.split("\n\n", 2)[1].split()[0]
        return ANSWERS.get(key, GOOD), "length" if key == "TRUNC" else "stop"


@pytest.fixture
def scripted(monkeypatch):
    model = Scripted()
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: model)
    return model


def seeds_file(tmp_path, keys):
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps({"id": f"s-{k.lower()}", "instruction": f"{k} write a function that sums "
                                        f"the digits of a positive integer given as a string."}) + "\n"
                            for k in keys))
    return path


def config(tmp_path, seeds, **kw):
    base = dict(out=tmp_path / "out" / "evol.jsonl", model="script", seeds=seeds, embeddings=False,
                limits=Limits(cpu_seconds=0.5, wall_seconds=3.0), workers=1)
    base.update(kw)
    return EvolConfig(**base)


ALL = ["KEEP", "EMPTY", "DUP", "LONG", "TEMPLATE", "REFUSE", "NOCODE", "SYNTAX", "CRASH", "LOOP", "LEAK", "TRUNC"]


def test_every_elimination_is_recorded_with_its_reason(tmp_path, scripted):
    cfg = config(tmp_path, seeds_file(tmp_path, ALL))
    result = evolve(cfg)
    rows = [json.loads(line) for line in cfg.out.read_text().splitlines()]
    assert [r["seed_id"] for r in rows] == ["s-keep"]
    assert set(rows[0]) == {"id", "instruction", "output", "round", "method", "parent_id", "seed_id", "source"}
    assert rows[0]["round"] == 1 and rows[0]["parent_id"] == "s-keep" and rows[0]["output"].startswith("```python")
    with Store() as store:
        stored = {r["seed_id"]: r for r in store.evol_rows(result.run_id)}
    expect = {"s-empty": "empty", "s-dup": "near-duplicate", "s-long": "overlong", "s-template": "copied-template",
              "s-refuse": "refusal", "s-nocode": "no-code", "s-syntax": "syntax-error", "s-crash": "crash",
              "s-loop": "crash", "s-leak": "leaked", "s-trunc": "answer-truncated", "s-keep": None}
    assert {k: v["reason"] for k, v in stored.items()} == expect
    assert "example failed" in stored["s-crash"]["detail"]
    assert stored["s-loop"]["detail"].startswith("timeout")
    assert "HumanEval/0" in stored["s-leak"]["detail"]
    report = result.rounds[0]
    assert report["attempts"] == len(ALL) and report["kept"] == 1
    assert sum(report["dropped"].values()) == len(ALL) - 1
    assert result.leaked == 1 and result.manifest.report["leaked"] == 1


def test_failed_attempts_return_their_parent_to_the_pool(tmp_path, scripted):
    cfg = config(tmp_path, seeds_file(tmp_path, ["KEEP", "CRASH"]), rounds=3)
    result = evolve(cfg)
    with Store() as store:
        rows = store.evol_rows(result.run_id)
    by = {(r["seed_id"], r["round"]): r for r in rows}
    # the kept lineage evolves its own latest row; the failing one retries its seed every round
    assert by[("s-keep", 2)]["parent_id"] == "s-keep~r1" and by[("s-keep", 3)]["parent_id"] == "s-keep~r2"
    assert all(by[("s-crash", r)]["parent_id"] == "s-crash" for r in (1, 2, 3))
    out = [json.loads(line) for line in cfg.out.read_text().splitlines()]
    assert [r["id"] for r in out] == ["s-keep~r1", "s-keep~r2", "s-keep~r3"]
    assert EXTRA[0].strip() in out[2]["instruction"] and EXTRA[2].strip() in out[2]["instruction"]
    assert [x["kept"] for x in result.rounds] == [1, 1, 1]


def test_method_draws_follow_the_seed(tmp_path, scripted):
    keys = [f"KEEP{i}" for i in range(12)]
    seeds = seeds_file(tmp_path, keys)
    a = evolve(config(tmp_path, seeds, out=tmp_path / "a.jsonl", seed=1))
    b = evolve(config(tmp_path, seeds, out=tmp_path / "b.jsonl", seed=1, store=tmp_path / "other.db"))
    c = evolve(config(tmp_path, seeds, out=tmp_path / "c.jsonl", seed=2))
    methods = [[json.loads(line)["method"] for line in (tmp_path / f"{n}.jsonl").read_text().splitlines()]
               for n in "abc"]
    assert methods[0] == methods[1] and methods[0] != methods[2]
    assert a.run_id == b.run_id != c.run_id
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert set(methods[0]) <= set(METHODS)


def test_a_crashed_run_resumes_without_losing_or_duplicating(tmp_path, monkeypatch):
    seeds = seeds_file(tmp_path, ["KEEP1", "KEEP2", "KEEP3", "CRASH", "NOCODE"])
    reference = Scripted()
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: reference)
    ref = evolve(config(tmp_path, seeds, out=tmp_path / "ref.jsonl", rounds=2, store=tmp_path / "ref.db"))

    dying = Scripted(fail_after=7)
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: dying)
    cfg = config(tmp_path, seeds, rounds=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        evolve(cfg)
    assert not cfg.out.exists()  # nothing half-written
    again = Scripted()
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: again)
    result = evolve(cfg)
    assert result.resumed and result.cached == 7 and again.calls == reference.calls - 7
    assert cfg.out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    with Store() as store:
        rows = store.evol_rows(result.run_id)
    assert len(rows) == len({r["id"] for r in rows}) == ref.attempts == 10
    # a finished run replays entirely from the cache
    replay = Scripted()
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: replay)
    assert evolve(cfg).generated == 0 and replay.calls == 0


def test_manifest_records_what_decides_the_data(tmp_path, scripted):
    cfg = config(tmp_path, seeds_file(tmp_path, ["KEEP", "DUP"]), seed=7, methods=("constraints", "reasoning"))
    result = evolve(cfg)
    manifest = json.loads(manifest_path(cfg.out).read_text())
    assert manifest_path(cfg.out).name == "evol.manifest.json"
    assert manifest["version"] == 1 and manifest["seed"] == 7 and manifest["rounds"] == 1
    assert manifest["methods"]["names"] == ["constraints", "reasoning"]
    assert manifest["methods"]["sha256"].startswith("sha256:")
    assert manifest["seeds"]["count"] == 2 and manifest["seeds"]["sha256"].startswith("sha256:")
    assert manifest["decontam"]["benchmarks"][0]["name"] == "humaneval"
    assert set(manifest["decontam"]["detectors"]) == {"ngram", "n", "jaccard", "clone", "function", "examples"}
    assert manifest["output"]["rows"] == 1 and manifest["output"]["sha256"] == result.out_sha256
    assert manifest["report"]["rounds"][0]["dropped"] == {"near-duplicate": 1}
    assert manifest["model"] == {"backend": "script", "version": 1}
    assert "landlock" in json.dumps(manifest["sandbox_isolation"]).lower()


def test_rows_are_checked_against_mbpp_too_by_default(tmp_path, scripted):
    seeds = seeds_file(tmp_path, ["MBPPLEAK"])
    result = evolve(config(tmp_path, seeds))
    assert [b["name"] for b in result.manifest.decontam["benchmarks"]] == ["humaneval", "mbpp"]
    assert result.rows == 0 and result.leaked == 1
    with Store() as store:
        [row] = store.evol_rows(result.run_id)
    assert row["reason"] == "leaked" and "MBPP/12" in row["detail"]
    only_humaneval = evolve(config(tmp_path / "he", seeds, decontam=("humaneval",)))
    assert only_humaneval.rows == 1 and only_humaneval.leaked == 0


def test_no_decontam_is_recorded(tmp_path, scripted):
    cfg = config(tmp_path, seeds_file(tmp_path, ["LEAK"]), decontam=())
    result = evolve(cfg)
    assert result.rows == 1 and result.manifest.decontam["benchmarks"] == []


def test_bad_options_are_usage_errors(tmp_path, scripted):
    seeds = seeds_file(tmp_path, ["KEEP"])
    with pytest.raises(UsageError, match="rounds"):
        evolve(config(tmp_path, seeds, rounds=0))
    with pytest.raises(UsageError, match="jsonl"):
        evolve(config(tmp_path, seeds, out=tmp_path / "x.json"))
    with pytest.raises(UsageError, match="unknown evolution method"):
        evolve(config(tmp_path, seeds, methods=("harder",)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "instruction": "x"}\n{oops\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        evolve(config(tmp_path, bad))


def test_cli_prints_the_round_table_and_json(tmp_path, scripted, cli):
    seeds = seeds_file(tmp_path, ["KEEP", "DUP", "CRASH"])
    out = tmp_path / "d.jsonl"
    code, stdout, stderr = cli("evol", str(seeds), "-m", "script", "-o", str(out), "--no-embeddings",
                               "--rounds", "2", "--timeout", "0.5")
    assert code == 0, stderr
    assert "near-duplicate" in stdout and "crash" in stdout and f"rows -> {out}" in stdout.replace("\n", "")
    code, stdout, _ = cli("evol", str(seeds), "-m", "script", "-o", str(out), "--no-embeddings", "--rounds", "2",
                          "--timeout", "0.5", "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["resumed"] and doc["generated"] == 0 and doc["rows"] == 2
    assert [r["kept"] for r in doc["rounds"]] == [1, 1]
    code, stdout, _ = cli("show", doc["run_id"], "--samples")
    assert code == 0 and "near-duplicate" in stdout and "s-keep~r2 (" in stdout and "parent s-keep~r1" in stdout
    code, stdout, _ = cli("show", doc["run_id"], "--samples", "--json")
    shown = json.loads(stdout)
    assert len(shown["rows"]) == 6 and shown["summary"]["rows"] == 2
    code, stdout, _ = cli("runs", "--json")
    assert json.loads(stdout)[0]["kind"] == "evol"
    code, _, stderr = cli("evol", str(tmp_path / "missing.jsonl"), "-m", "script", "-o", str(out))
    assert code != 0 and "missing.jsonl" in stderr and "Traceback" not in stderr


def test_server_failure_is_a_clear_error(tmp_path, monkeypatch):
    class Failing(Scripted):
        def generate(self, requests):
            raise CoderankError("the model server failed after retries: APIConnectionError", "check the server")
            yield  # pragma: no cover

    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: Failing())
    t = time.monotonic()
    with pytest.raises(CoderankError, match="server failed"):
        evolve(config(tmp_path, seeds_file(tmp_path, ["KEEP"])))
    assert time.monotonic() - t < 30


def test_output_loads_with_the_datasets_json_loader(tmp_path, scripted):
    datasets = pytest.importorskip("datasets")
    cfg = config(tmp_path, seeds_file(tmp_path, ["KEEP1", "KEEP2", "DUP"]), rounds=2)
    evolve(cfg)
    ds = datasets.load_dataset("json", data_files=str(cfg.out), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == 4
    assert set(ds.column_names) == {"id", "instruction", "output", "round", "method", "parent_id", "seed_id",
                                    "source"}
    assert sorted(ds["round"]) == [1, 1, 2, 2]


def test_include_seeds_answers_the_seeds_as_round_zero(tmp_path, scripted):
    cfg = config(tmp_path, seeds_file(tmp_path, ["KEEP", "NOCODE"]), include_seeds=True)
    result = evolve(cfg)
    out = [json.loads(line) for line in cfg.out.read_text().splitlines()]
    assert [(r["id"], r["round"], r["method"], r["parent_id"]) for r in out] == [
        ("s-keep~r0", 0, "seed", ""), ("s-keep~r1", 1, out[1]["method"], "s-keep")]
    assert out[0]["instruction"].startswith("KEEP write a function")
    assert [(x["round"], x["attempts"], x["kept"]) for x in result.rounds] == [(0, 2, 1), (1, 2, 1)]
    assert result.rounds[0]["dropped"] == {"no-code": 1} and result.manifest.include_seeds is True


def test_missing_detector_libraries_fail_before_any_generation(tmp_path, scripted, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasketch" else real(name, *a))
    with pytest.raises(UsageError, match="datasketch") as info:
        evolve(config(tmp_path, seeds_file(tmp_path, ["KEEP"])))
    assert "--no-decontam" in info.value.hint and scripted.calls == 0
    assert evolve(config(tmp_path, seeds_file(tmp_path, ["KEEP"]), decontam=())).rows == 1


def test_a_run_resumed_on_another_processor_keeps_where_it_started_and_lists_where_it_went_on(tmp_path, monkeypatch):
    # a local model's answers can differ between processors (README, "The machine's arithmetic"): the manifest keeps
    # the platform the run started on and lists the one that generated the rest
    from coderank import record

    local = {"backend": "llama.cpp", "weights_sha256": "sha256:ab", "chat_template_sha256": "sha256:cd"}
    monkeypatch.setattr(Scripted, "identity", lambda self: local)
    seeds = seeds_file(tmp_path, ["KEEP1", "KEEP2", "CRASH"])
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU A")
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: Scripted(fail_after=3))
    cfg = config(tmp_path, seeds, rounds=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        evolve(cfg)
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU B")
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: Scripted())
    assert evolve(cfg).resumed
    manifest = json.loads(manifest_path(cfg.out).read_text())
    assert manifest["platform"]["cpu"] == "CPU A"
    assert [p["cpu"] for p in manifest["generated_on"]] == ["CPU B"]
    # replayed from the cache on a third processor: nothing generated there, nothing added
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU C")
    assert evolve(cfg).generated == 0
    assert json.loads(manifest_path(cfg.out).read_text())["generated_on"] == manifest["generated_on"]


def test_a_run_on_one_processor_lists_no_other(tmp_path, scripted):
    cfg = config(tmp_path, seeds_file(tmp_path, ["KEEP"]))
    evolve(cfg)
    assert "generated_on" not in json.loads(manifest_path(cfg.out).read_text())
