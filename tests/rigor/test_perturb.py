"""Memorisation probes: every kind keeps HumanEval's canonical solutions passing, deterministically."""

from __future__ import annotations

import json
import re

import pytest

from coderank.problems import Benchmark, load_benchmark
from coderank.rigor._docstring import Unchanged
from coderank.rigor.perturb import (
    KINDS,
    PerturbResult,
    extract_examples,
    gap,
    perturb_benchmark,
    perturb_problem,
    split_task_id,
    write_problem_file,
)


@pytest.fixture(scope="module")
def humaneval() -> Benchmark:
    return load_benchmark("humaneval")


@pytest.fixture(scope="module")
def result(humaneval: Benchmark) -> PerturbResult:
    return perturb_benchmark(humaneval, KINDS, seed=0)  # the sandbox runs once per kind on all 164


def _variants(bench: Benchmark, kind: str, seed: int) -> dict[str, str]:
    found = {}
    for p in bench:
        try:
            v, _ = perturb_problem(p, kind, seed)
        except Unchanged:
            continue
        found[p.task_id] = v.prompt + "\0" + (v.canonical_solution or "") + "\0" + v.test
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_keeps_at_least_95_percent(result: PerturbResult, kind: str) -> None:
    c = result.counts()[kind]
    assert c.derived + c.unchanged == 164
    assert c.kept == c.derived - c.dropped
    assert c.kept >= 0.95 * c.derived
    if kind == "rename":  # renaming applies to every problem
        assert c.kept >= 0.95 * 164
    else:
        assert c.kept >= 0.75 * 164
    for rec in result.records:
        if rec.kind == kind and rec.status != "kept":
            assert rec.reason  # never silently


def test_every_kept_variant_is_in_the_benchmark(result: PerturbResult) -> None:
    kept = {r.task_id for r in result.records if r.status == "kept"}
    assert kept == set(result.benchmark.problems)
    for tid, p in result.benchmark.problems.items():
        source, kind = split_task_id(tid)
        meta = p.metadata["perturbation"]
        assert (meta["kind"], meta["source_task_id"], meta["seed"]) == (kind, source, 0)
        assert meta["source_sha256"].startswith("sha256:")


def test_rename_removes_the_original_name(result: PerturbResult, humaneval: Benchmark) -> None:
    for tid, p in result.benchmark.problems.items():
        source, kind = split_task_id(tid)
        if kind != "rename":
            continue
        orig = humaneval.problems[source]
        assert re.fullmatch(r"f_\d+", p.entry_point)
        assert not re.search(rf"\b{re.escape(orig.entry_point)}\b", p.prompt), tid
        assert not re.search(rf"\b{re.escape(orig.entry_point)}\b", p.test), tid
        assert f"def {p.entry_point}(" in p.prompt
        params = p.metadata["perturbation"]["changes"]["parameters"]
        for new in params.values():
            assert re.search(rf"\b{new}\b", p.prompt.split('"""')[0] + p.prompt.split("'''")[0])


def test_rename_is_scope_aware() -> None:
    from coderank.types import Problem

    prompt = 'def total(xs, key):\n    """Sum xs by key. >>> total([1], key=0)\n    """\n'
    solution = "    f = lambda xs: xs\n    return sum(sorted(f(xs), key=lambda v: v)) + key + len(str(xs).upper())\n"
    test = "def check(candidate):\n    assert candidate([1, 2], key=1) == 4\n    assert total([1], 0) == 1\n"
    p = Problem("T/0", prompt, "total", test, solution)
    v, changes = perturb_problem(p, "rename", 3)
    new_xs, new_key = changes["parameters"]["xs"], changes["parameters"]["key"]
    assert f"sorted(f({new_xs}), key=lambda" in v.canonical_solution  # sorted()'s own keyword untouched
    assert f"candidate([1, 2], {new_key}=1)" in v.test
    assert f"{v.entry_point}([1], 0)" in v.test
    assert ".upper()" in v.canonical_solution
    assert f"Sum {new_xs} by {new_key}" in v.prompt


def test_examples_keep_the_same_set(result: PerturbResult, humaneval: Benchmark) -> None:
    changed = 0
    for tid, p in result.benchmark.problems.items():
        source, kind = split_task_id(tid)
        if kind != "examples":
            continue
        before = extract_examples(humaneval.problems[source])
        after = extract_examples(p)
        assert sorted(before) == sorted(after), tid
        assert p.prompt != humaneval.problems[source].prompt
        changed += before != after  # the order changed
    assert changed > 50


def test_docstring_records_rewrites_and_leaves_code_alone(result: PerturbResult, humaneval: Benchmark) -> None:
    for tid, p in result.benchmark.problems.items():
        source, kind = split_task_id(tid)
        if kind != "docstring":
            continue
        orig = humaneval.problems[source]
        assert p.metadata["perturbation"]["changes"]["rewrites"]
        assert p.test == orig.test and p.canonical_solution == orig.canonical_solution
        assert extract_examples(p) == extract_examples(orig)
    p0 = result.benchmark.problems["HumanEval/12#docstring"]
    assert "Give back" in p0.prompt and "Return" not in p0.prompt


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_for_a_seed_and_different_across_seeds(humaneval: Benchmark, kind: str) -> None:
    sub = Benchmark("he40", "x", dict(list(humaneval.problems.items())[:40]), "test")
    a, b, c = (_variants(sub, kind, s) for s in (7, 7, 8))
    assert a == b
    if kind != "docstring":  # the rewordings are fixed; the seed only drives names, orders and layouts
        assert a != c


def test_problem_file_round_trip(result: PerturbResult, tmp_path) -> None:
    path = write_problem_file(result, tmp_path / "perturbed.jsonl")
    loaded = load_benchmark(str(path))
    assert list(loaded.problems) == list(result.benchmark.problems)
    assert loaded.sha256 == result.benchmark.sha256
    first = json.loads(path.read_text().splitlines()[0])
    assert first["task_id"] == "HumanEval/0#rename"
    assert first["metadata"]["perturbation"]["kind"] == "rename"


def test_unknown_kind_is_a_usage_error(humaneval: Benchmark) -> None:
    from coderank.errors import UsageError

    with pytest.raises(UsageError):
        perturb_benchmark(humaneval, ["shuffle"], 0)


def test_gap_on_synthetic_counts() -> None:
    original = {f"T/{i}": (1, 1) for i in range(100)}
    perturbed = {f"T/{i}#rename": (1, int(i % 4 != 0)) for i in range(100)}  # 25 fewer solved
    perturbed.update({f"T/{i}#examples": (1, 1) for i in range(50)})  # no gap, fewer problems
    g = gap(original, perturbed, resamples=2000)
    assert set(g) == {"examples", "rename"}
    assert g["rename"].problems == 100
    assert g["rename"].diff == pytest.approx(0.25)
    assert 0.1 < g["rename"].low < 0.25 < g["rename"].high < 0.4
    assert g["examples"].problems == 50 and g["examples"].diff == 0.0 == g["examples"].low
    with pytest.raises(ValueError):
        gap(original, {"T/0": (1, 1)})


def test_cli_perturb(cli, tmp_path, humaneval: Benchmark) -> None:
    small = Benchmark("he5", "x", dict(list(humaneval.problems.items())[:5]), "test")
    src = write_problem_file(small, tmp_path / "src.jsonl")
    dest = tmp_path / "out.jsonl"
    code, stdout, stderr = cli("perturb", str(src), "--out", str(dest), "--kinds", "rename,examples",
                               "--seed", "3", "--json", "--workers", "2")
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["counts"]["rename"] == {"derived": 5, "kept": 5, "dropped": 0, "unchanged": 0}
    assert doc["seed"] == 3 and doc["out"] == str(dest)
    assert len(load_benchmark(str(dest))) == doc["problems"]
    code, stdout, _ = cli("perturb", str(src), "--out", str(dest), "--kinds", "docstring", "--workers", "2")
    assert code == 0 and "docstring" in stdout and "kept" in stdout
    code, _, stderr = cli("perturb", str(src), "--out", str(dest), "--kinds", "nope")
    assert code == 2 and "unknown perturbation kind" in stderr


def test_perturb_gap_cli_compares_stored_runs(cli, tmp_path):
    from coderank.evaluation import run_summary
    from coderank.store import Store

    db = tmp_path / "db.sqlite"
    store = Store(db)

    def run(name, task_ids, passed):
        manifest = {"version": 1, "benchmark": {"name": name, "sha256": name}, "n": 1}
        run_id, _ = store.open_run({"name": name}, manifest, kind="eval", model="m", benchmark=name)
        for task_id, ok in zip(task_ids, passed, strict=True):
            store.put_sample(run_id, task_id, 0, completion_key=None, program="x", extraction={},
                             status="passed" if ok else "failed", detail="", cpu_seconds=0, wall_seconds=0,
                             output="", truncated=False)
        store.finish_run(run_id, run_summary(store, run_id))
        return run_id

    ids = [f"HumanEval/{i}" for i in range(40)]
    original = run("humaneval", ids, [1] * 30 + [0] * 10)
    perturbed = run("p.jsonl", [f"{t}#rename" for t in ids], [1] * 15 + [0] * 25)
    store.close()
    code, out, _ = cli("perturb-gap", original, perturbed, "--store", str(db), "--json")
    assert code == 0
    g = json.loads(out)["gaps"]["rename"]
    assert g["problems"] == 40 and g["diff"] == pytest.approx(0.375) and g["low"] > 0
    code, _, err = cli("perturb-gap", perturbed, original, "--store", str(db))
    assert code == 2 and "coderank perturb" in err


def test_perturb_gap_warns_when_the_two_runs_were_asked_differently(cli, tmp_path):
    # a chat-template run against a completion-template run measures the template too (issue 19)
    from coderank.evaluation import run_summary
    from coderank.store import Store

    db = tmp_path / "db.sqlite"
    store = Store(db)

    def run(name, task_ids, template, temperature):
        manifest = {"version": 1, "benchmark": {"name": name, "sha256": name}, "n": 1,
                    "template": {"name": template, "sha256": f"sha256:{template}"},
                    "params": {"temperature": temperature, "top_p": 1.0, "max_tokens": 512}}
        run_id, _ = store.open_run({"name": name, "t": template}, manifest, kind="eval", model="m", benchmark=name)
        for task_id in task_ids:
            store.put_sample(run_id, task_id, 0, completion_key=None, program="x", extraction={}, status="passed",
                             detail="", cpu_seconds=0, wall_seconds=0, output="", truncated=False)
        store.finish_run(run_id, run_summary(store, run_id))
        return run_id

    ids = [f"HumanEval/{i}" for i in range(5)]
    original = run("humaneval", ids, "chat", 0.0)
    same = run("p.jsonl", [f"{t}#rename" for t in ids], "chat", 0.0)
    other = run("q.jsonl", [f"{t}#rename" for t in ids], "completion", 0.8)
    store.close()
    code, _, err = cli("perturb-gap", original, same, "--store", str(db))
    assert code == 0 and "asked differently" not in err
    code, _, err = cli("perturb-gap", original, other, "--store", str(db))
    err = " ".join(err.split())
    assert code == 0 and "template: chat vs completion" in err
    assert "decoding: chat, greedy, max_tokens=512 vs completion, T=0.8, top_p=1.0, max_tokens=512" in err
