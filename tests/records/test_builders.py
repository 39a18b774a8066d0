"""The one manifest builder writes what the hand-built manifests of coderank 0.1.0 wrote, key for key and in order.

Each ``legacy_*`` function is the dict that ``eval``, ``score``, a selftest, a rescore or the end of a run built by
hand before :class:`~coderank.record.RunManifest` (copied from that code): a new run's manifest must stay the same
JSON, or the stores and hashes of runs made before and after would disagree.
"""

import json
from pathlib import Path

import pytest

import coderank
from coderank.problems import load_benchmark
from coderank.record import BenchmarkRef, PassAtK, RunManifest, TemplateRef, pass_at_k
from coderank.scoring import summary

PLATFORM = {"python": "3.11.7", "system": "Linux", "machine": "x86_64", "coderank_commit": "abc"}
LIMITS = {"cpu_seconds": 3.0, "wall_seconds": 12.0, "memory_bytes": 2147483648}
TEMPLATE = {"name": "chat", "kind": "chat", "sha256": "sha256:" + "1" * 64}
EVALPLUS = Path(__file__).parents[1] / "problems" / "data" / "MbppPlus-mini.jsonl"


@pytest.fixture(autouse=True)
def _platform(monkeypatch):
    monkeypatch.setattr("coderank.record.platform_info", lambda: dict(PLATFORM))


def same(record, legacy):
    doc = record.to_dict()
    assert doc == legacy and list(doc) == list(legacy)
    for key, value in legacy.items():
        if isinstance(value, dict):
            assert list(doc[key]) == list(value), key
    assert RunManifest.from_dict(json.loads(json.dumps(doc))).to_dict() == legacy


def legacy_eval(bench, problems, template, params, max_tokens_from, seed, n, model):
    return {
        "version": 1,
        "coderank_version": coderank.__version__,
        "model_spec": "default",
        "model": model,
        "benchmark": {"name": bench.name, "version": bench.version, "sha256": bench.sha256,
                      "source": bench.source, "problems": len(problems), "of": len(bench),
                      **({"derivation": bench.derivation} if bench.derivation else {})},
        "template": {"name": template["name"], "kind": template["kind"], "sha256": template["sha256"]},
        "params": params,
        "max_tokens_from": max_tokens_from,
        "seed": seed,
        "n": n,
        "sandbox_limits": LIMITS,
        "platform": PLATFORM,
    }


def legacy_score(bench, name, samples, digest, seed):
    seeded = {"bootstrap_seed": seed} if seed else {}
    return {
        "version": 1, "kind": "score", "coderank_version": coderank.__version__, "model_spec": name,
        "model": {"backend": "external samples", "file": samples, "sha256": digest},
        "benchmark": {"name": bench.name, "version": bench.version, "sha256": bench.sha256, "source": bench.source,
                      "problems": len(bench), "of": len(bench),
                      **({"derivation": bench.derivation} if bench.derivation else {})},
        "template": {"name": "unknown (external samples)", "kind": None, "sha256": None},
        "params": {}, "seed": None, "n": None, "sandbox_limits": LIMITS,
        "platform": PLATFORM,
        **seeded,
    }


@pytest.mark.parametrize("bench_name", ["classic", f"evalplus:{EVALPLUS}"])
def test_an_eval_manifest_is_the_one_eval_wrote(bench_name):
    bench = load_benchmark(bench_name)
    problems = list(bench)[:2]
    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 512}
    model = {"backend": "llama.cpp", "file": "m.gguf", "weights_sha256": "sha256:" + "2" * 64}
    record = RunManifest.create(model_spec="default", model=dict(model),
                                benchmark=BenchmarkRef.of_benchmark(bench, len(problems)),
                                template=TemplateRef(**TEMPLATE), params=params, max_tokens_from="default", seed=0,
                                n=1, sandbox_limits=LIMITS)
    same(record, legacy_eval(bench, problems, TEMPLATE, params, "default", 0, 1, model))
    assert ("derivation" in record.to_dict()["benchmark"]) == bench_name.startswith("evalplus")


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("bench_name", ["humaneval", f"evalplus:{EVALPLUS}"])
def test_a_score_manifest_is_the_one_score_wrote(seed, bench_name):
    bench = load_benchmark(bench_name)
    digest = "sha256:" + "3" * 64
    record = RunManifest.create(
        kind="score", model_spec="s.jsonl",
        model={"backend": "external samples", "file": "/x/s.jsonl", "sha256": digest},
        benchmark=BenchmarkRef.of_benchmark(bench, len(bench)),
        template=TemplateRef(name="unknown (external samples)", kind=None, sha256=None),
        params={}, seed=None, n=None, sandbox_limits=LIMITS, bootstrap_seed=seed or None)
    same(record, legacy_score(bench, "s.jsonl", "/x/s.jsonl", digest, seed))
    assert record.interval_seed == seed


def test_a_selftest_manifest_is_the_one_distill_wrote():
    params = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512}
    selftest = {"version": 1, "sha256": "sha256:" + "4" * 64, "mutants": {"none": "returns None"}}
    source = {"name": "evol.jsonl", "version": "instructions", "sha256": "sha256:" + "5" * 64, "problems": 3,
              "of": 4}
    template = {"name": "selftest", "kind": "chat", "sha256": selftest["sha256"]}
    ident = {"backend": "scripted", "model": "test"}
    legacy = {
        "version": 1, "coderank_version": coderank.__version__, "model_spec": "default", "model": ident,
        "benchmark": source, "template": template, "params": params, "seed": 0, "n": 2,
        "selftest": selftest, "sandbox_limits": LIMITS, "platform": PLATFORM,
    }
    record = RunManifest.create(model_spec="default", model=ident, benchmark=BenchmarkRef(
        name="evol.jsonl", version="instructions", sha256=source["sha256"], problems=3, of=4),
        template=TemplateRef(**template), params=params, seed=0, n=2, selftest=selftest, sandbox_limits=LIMITS)
    same(record, legacy)
    isolation = {"landlock": "active"}
    legacy["sandbox_isolation"] = isolation
    same(record.finished(isolation, {}), legacy)


def _stored_eval():
    runs = json.loads((Path(__file__).parent / "stored_runs.json").read_text(encoding="utf-8"))["runs"]
    return next(json.loads(r["manifest"]) for r in runs if r["kind"] == "eval" and "sandbox_isolation"
                in r["manifest"])


def test_the_end_of_a_run_records_isolation_and_engine_as_before():
    stored = _stored_eval()
    fresh = {k: v for k, v in stored.items() if k != "sandbox_isolation"}
    ray = {"engine": "ray", "ray_version": "2", "address": "a:1", "workers": 2, "nodes": [], "actor_deaths": 0,
           "jobs_retried": 0}
    for manifest, isolation, engine in [(fresh, {"seccomp": "active"}, {}), (fresh, {}, {"engine": "local"}),
                                        (stored, {"seccomp": "other"}, ray), (fresh, {"seccomp": "active"}, ray)]:
        legacy = json.loads(json.dumps(manifest))
        if isolation and "sandbox_isolation" not in legacy:
            legacy["sandbox_isolation"] = isolation
        if engine.get("engine", "local") != "local":
            legacy["execution"] = engine
        same(RunManifest.from_dict(manifest).finished(isolation, engine), legacy)


def test_a_rescore_manifest_is_the_one_rescore_wrote():
    source = {**_stored_eval(), "execution": {"engine": "ray"}, "from_an_older_version": [1]}
    resolved = {**source["sandbox_limits"], "cpu_seconds": 10.0, "wall_seconds": 40.0}
    legacy = {k: v for k, v in source.items() if k not in ("sandbox_isolation", "execution")}
    legacy.update({
        "coderank_version": coderank.__version__,
        "sandbox_limits": resolved,
        "rescored_from": {"run_id": "run-0123456789ab", "sandbox_limits": source["sandbox_limits"]},
        "platform": PLATFORM,
    })
    same(RunManifest.from_dict(source).rescored("run-0123456789ab", resolved), legacy)
    again = {**legacy, "sandbox_isolation": None}  # a rescore of a rescore, whose isolation was stored as null
    legacy2 = {k: v for k, v in again.items() if k not in ("sandbox_isolation", "execution")}
    legacy2.update({"coderank_version": coderank.__version__, "sandbox_limits": LIMITS,
                    "rescored_from": {"run_id": "run-ba9876543210", "sandbox_limits": resolved},
                    "platform": PLATFORM})
    same(RunManifest.from_dict(again).rescored("run-ba9876543210", LIMITS), legacy2)


@pytest.mark.parametrize("seed", [0, 3])
def test_the_pass_at_k_table_is_the_estimates_as_stored(seed):
    counts = [(5, 1), (5, 0), (5, 5), (5, 2)]
    legacy = {f"pass@{e.k}": {"k": e.k, "value": e.value, "low": e.low, "high": e.high, "problems": e.problems,
                              "samples": e.samples} for e in summary(counts, seed=seed)}
    table = {k: e.to_dict() for k, e in pass_at_k(counts, seed=seed).items()}
    assert table == legacy and [list(v) for v in table.values()] == [list(v) for v in legacy.values()]
    assert pass_at_k([]) == {} and PassAtK.from_dict(legacy["pass@1"]).to_dict() == legacy["pass@1"]
