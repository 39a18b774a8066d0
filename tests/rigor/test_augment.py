"""Harder tests: inputs read and mutated within their domain, outputs from the sandbox, mutant-selected suites."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from coderank.errors import UsageError
from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.problems import Benchmark, load_benchmark
from coderank.rigor._inputs import Domain, Invariants, generate, read_tests
from coderank.rigor.augment import GENERATOR, AugmentResult, augment_benchmark
from coderank.rigor.perturb import write_problem_file
from coderank.types import Problem

# --- reading the tests --------------------------------------------------------------------------------------------


def test_read_tests_finds_literal_inputs_and_how_results_are_compared():
    test = '''
def check(candidate):
    assert candidate([1, 2], 'a') == 3, 'message ' + str(candidate([9], 'z'))
    assert abs(candidate([1.5], 'b') - 0.5) < 1e-3
    assert not candidate([], 'c')
    for x in range(3):
        assert candidate([x], 'd') == x
    assert candidate([1, 2], 'a') == 3
'''
    read = read_tests(test, "f")
    assert read.inputs == (([1, 2], "a"), ([1.5], "b"), ([], "c"))  # distinct, in order; no message call, no x
    assert read.sites == 5 and read.mode == "equal" and read.atol == 1e-3 and not read.uncheckable


def test_read_tests_sees_normalised_and_property_checks():
    assert read_tests("def check(c):\n    assert tuple(c([3, 1])) == (1, 3)\n", "f").mode == "sequence"
    assert read_tests("def check(c):\n    assert sorted(c([3, 1])) == [1, 3]\n", "f").mode == "sorted"
    prop = read_tests("def check(c):\n    assert len(c(5)) == 5\n", "f")
    assert prop.uncheckable and prop.inputs == ((5,),)
    assert read_tests("assert f(2) == 4\n", "f").inputs == ((2,),)  # asserts that call the entry point by name


# --- domains and generation ---------------------------------------------------------------------------------------


def test_domains_keep_types_signs_alphabets_and_emptiness():
    dom = Domain.of([[3, 5], [8]])
    assert dom.conforms([1, 2]) and not dom.conforms([0]) and not dom.conforms([]) and not dom.conforms([1.0])
    assert not dom.conforms([True])  # a bool is not an int here
    hexdom = Domain.of(["1A", "FF0", ""])
    assert hexdom.conforms("") and hexdom.conforms("0A") and not hexdom.conforms("G")
    words = Domain.of(["the quick brown fox", "jumps over lazy dogs"])
    assert words.conforms("zzz") and not words.conforms("Zzz")  # 8+ lowercase letters seen: all lowercase allowed


def test_invariants_stand_for_prose_preconditions():
    inv = Invariants.of([([1, 2, 5], "ab", "(())"), ([0, 4, 4, 9], "xyz", "()()"), ([2], "q", "")])
    assert inv.ordered == ((0, "ascending"),) and inv.balanced == ((2, "()"),)
    assert inv.hold(([1, 1, 2], "a", "(()())")) and not inv.hold(([2, 1, 3], "a", "()")) \
        and not inv.hold(([1], "a", ")("))
    pairs = Invariants.of([("ab", "cd"), ("abc", "def")])
    assert pairs.same_length == ((0, 1),) and not pairs.hold(("a", "bc"))
    grids = Invariants.of([([[1, 2], [3, 4]], 1), ([[1, 2, 3], [4, 5, 6], [7, 8, 9]], 2)])
    assert grids.shaped == ((0, "square"),)
    assert grids.hold(([[5, 6], [7, 8]], 1)) and not grids.hold(([[6, 4, 13, 10]], 1))
    assert not grids.hold(([[5, 6], [7, 8, 9]], 1))


def test_generation_is_seeded_type_aware_and_new():
    originals = [([1, -2, 3], "abc", True, {"k": 1.5}), ([4], "zzx", False, {"j": 0.0})]
    first = generate(originals, 40, random.Random("s1"))
    assert first == generate(originals, 40, random.Random("s1"))
    assert first != generate(originals, 40, random.Random("s2"))
    assert len(first) == 40 and not set(map(repr, first)) & set(map(repr, originals))
    for xs, s, flag, d in first:
        assert all(type(x) is int for x in xs) and xs  # never empty: no original list was
        assert type(s) is str and type(flag) is bool and all(type(v) is float for v in d.values())
        assert set(s) <= set("abcxz")


# --- the derivation -----------------------------------------------------------------------------------------------

COUNT_POSITIVE = Problem(
    task_id="toy/0",
    prompt='def count_positive(xs):\n    """How many numbers in xs are greater than zero."""\n',
    entry_point="count_positive",
    test="def check(candidate):\n    assert candidate([1, -2, 3]) == 2\n    assert candidate([-5]) == 0\n",
    canonical_solution="    return sum(1 for x in xs if x > 0)\n",
)
PROPERTY_ONLY = Problem("toy/1", "def make(n):\n", "make", "def check(candidate):\n    assert len(candidate(3)) == 3\n",
                        "    return [0] * n\n")


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=2, limits=Limits(cpu_seconds=2.0, output_bytes=64 << 20)) as executor:
        yield executor


@pytest.fixture(scope="module")
def toy(ex) -> AugmentResult:
    bench = Benchmark("toy", "1", {p.task_id: p for p in (COUNT_POSITIVE, PROPERTY_ONLY)}, "tests")
    return augment_benchmark(bench, seed=3, per_problem=30, mutants=30, executor=ex)


def test_a_weak_suite_gains_a_test_that_kills_its_surviving_mutants(toy, ex):
    rec = {r.task_id: r for r in toy.records}["toy/0"]
    assert rec.status == "augmented" and rec.tests_before == 2 and rec.tests_after == 2 + rec.kept >= 3
    assert rec.score_before is not None and rec.score_after is not None
    assert rec.score_after > rec.score_before  # `x >= 0` survives the original tests (no zero in them)
    assert rec.killed_after == rec.killed_predicted
    problem = toy.benchmark.problems["toy/0"]
    assert problem.test.startswith(COUNT_POSITIVE.test.rstrip("\n"))
    meta = problem.metadata["augmentation"]
    assert meta["generator"] == GENERATOR and meta["seed"] == 3 and meta["source_benchmark"] == "toy"
    assert meta["killed_after"] == rec.killed_after and meta["kept"] == rec.kept
    at_least_zero = "    return sum(1 for x in xs if x >= 0)\n"
    jobs = [Job(name, p, p.program(sol)) for name, p, sol in (
        ("canonical", problem, COUNT_POSITIVE.canonical_solution), ("other correct", problem,
                                                                    "    return len([x for x in xs if 0 < x])\n"),
        ("mutant before", COUNT_POSITIVE, at_least_zero), ("mutant after", problem, at_least_zero))]
    verdicts = {job.key: v.passed for job, v in ex.map(jobs)}
    assert verdicts == {"canonical": True, "other correct": True, "mutant before": True, "mutant after": False}


def test_problems_that_cannot_be_augmented_are_kept_and_say_why(toy):
    rec = {r.task_id: r for r in toy.records}["toy/1"]
    assert rec.status == "unchanged" and "properties" in rec.reason
    assert toy.benchmark.problems["toy/1"].test == PROPERTY_ONLY.test
    totals = toy.totals()
    assert totals["problems"] == 2 and totals["augmented"] == 1 and totals["unchanged"] == 1
    assert totals["tests_after"] - totals["tests_before"] == totals["kept"]


def test_same_seed_same_benchmark(toy, ex):
    bench = Benchmark("toy", "1", {p.task_id: p for p in (COUNT_POSITIVE, PROPERTY_ONLY)}, "tests")
    again = augment_benchmark(bench, seed=3, per_problem=30, mutants=30, executor=ex)
    assert again.benchmark.sha256 == toy.benchmark.sha256


def test_problem_file_round_trip_carries_the_derivation(toy, tmp_path):
    path = write_problem_file(toy.benchmark, tmp_path / "aug.jsonl")
    back = load_benchmark(str(path))
    assert back.sha256 == toy.benchmark.sha256
    assert back.derivation == {"kind": "augment", "base": "toy", "base_sha256": toy.source_sha256, "seed": 3,
                               "generator": GENERATOR}


@pytest.fixture(scope="module")
def humaneval_part() -> tuple[Benchmark, AugmentResult]:
    he = load_benchmark("humaneval")
    ids = ["HumanEval/6", "HumanEval/10", "HumanEval/32", "HumanEval/39", "HumanEval/64"]
    part = dataclasses.replace(he, problems={t: he.problems[t] for t in ids})
    return part, augment_benchmark(part, seed=0, per_problem=40, mutants=20, workers=2)


def test_humaneval_problems_keep_passing_their_canonical_solution(humaneval_part, ex):
    part, result = humaneval_part
    status = {r.task_id: r.status for r in result.records}
    assert status["HumanEval/32"] == "unchanged"  # random inputs only: nothing literal to mutate
    assert {status["HumanEval/6"], status["HumanEval/10"]} == {"augmented"}
    assert result.records[3].filtered.get("timeout", 0) >= 1  # prime_fib(n) for larger n is far too slow
    jobs = [Job(p.task_id, p, p.program(p.canonical_solution or "")) for p in result.benchmark]
    assert all(v.passed for _, v in ex.map(jobs))
    for r in result.records:
        assert r.killed_after >= r.killed_before and r.mutants <= 20
        assert r.killed_after == r.killed_predicted  # the selection's runs and the real check agree


def test_full_suite_keeps_every_valid_input_and_still_passes(humaneval_part, ex):
    part, reduced = humaneval_part
    sub = dataclasses.replace(part, problems={t: part.problems[t] for t in ("HumanEval/6", "HumanEval/64")})
    full = augment_benchmark(sub, seed=0, per_problem=40, mutants=20, workers=2, reduce=False)
    small = {r.task_id: r for r in reduced.records}
    for r in full.records:
        assert r.status == "augmented" and r.kept == r.valid > small[r.task_id].kept
        assert r.tests_after == r.tests_before + r.valid
        assert r.killed_after >= small[r.task_id].killed_after  # a superset of tests kills at least as much
    assert full.benchmark.derivation["reduced"] is False and full.benchmark.sha256 != reduced.benchmark.sha256
    jobs = [Job(p.task_id, p, p.program(p.canonical_solution or "")) for p in full.benchmark]
    assert all(v.passed for _, v in ex.map(jobs))


def test_bad_budgets_are_usage_errors():
    with pytest.raises(UsageError):
        augment_benchmark(Benchmark("x", "1", {}, "x"), per_problem=0)


def test_cli_augment_writes_the_file_and_the_json_document(cli, tmp_path):
    src = write_problem_file(Benchmark("toy", "1", {COUNT_POSITIVE.task_id: COUNT_POSITIVE}, "t"),
                             tmp_path / "toy.jsonl")
    out = tmp_path / "aug.jsonl"
    code, stdout, _ = cli("augment", str(src), "--out", str(out), "--seed", "3", "--per-problem", "30", "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["out"] == str(out) and doc["generator"] == GENERATOR and doc["seed"] == 3
    assert doc["totals"]["augmented"] == 1 and doc["per_problem_results"][0]["task_id"] == "toy/0"
    assert doc["totals"]["score_after"] > doc["totals"]["score_before"]
    assert load_benchmark(str(out)).derivation["base"] == str(src)
    code, stdout, _ = cli("augment", "humaneval", "--out", str(out), "--limit", "2", "--mutants", "5")
    assert code == 0 and "HumanEval/1 " in stdout and "HumanEval/2 " not in stdout and "mutation score" in stdout
    part = load_benchmark(str(out))
    assert len(part) == 2 and part.derivation["base_sha256"] == load_benchmark("humaneval").sha256  # the whole source


def test_derivation_needs_every_line_to_name_the_same_source():
    from coderank.problems.problemfile import derivation_of

    def row(tid, key, base):
        return Problem(tid, "def f():\n", "f", "pass\n", metadata={key: {
            "source_benchmark": base, "source_benchmark_sha256": f"sha256:{base}", "seed": 1}})

    assert derivation_of([row("a#rename", "perturbation", "he"), row("b#rename", "perturbation", "he")]) == {
        "kind": "perturb", "base": "he", "base_sha256": "sha256:he", "seed": 1, "generator": None}
    assert derivation_of([row("a", "augmentation", "he"), row("b", "augmentation", "other")]) is None
    assert derivation_of([row("a", "augmentation", "he"), Problem("b", "def f():\n", "f", "pass\n")]) is None


def test_evalplus_contracts_filter_inputs_their_prose_would_forbid(tmp_path):
    from pathlib import Path

    from coderank.problems.evalplus import read_contracts

    contracts = read_contracts(Path(__file__).parent.parent / "problems" / "data" / "HumanEvalPlus-mini.jsonl")
    assert set(contracts) == {"HumanEval/0", "HumanEval/2", "HumanEval/32"}
    he = load_benchmark("humaneval")
    part = dataclasses.replace(he, problems={"HumanEval/2": he.problems["HumanEval/2"]})
    plain = augment_benchmark(part, per_problem=40, mutants=5, workers=1)
    guarded = augment_benchmark(part, per_problem=40, mutants=5, workers=1, contracts=contracts)
    # truncate_number's contract: number > 0; its tests' inputs are positive, so the domain already keeps
    # them positive: the contract finds nothing more to reject here, and the generated inputs are the same
    assert plain.records[0].generated == guarded.records[0].generated
    assert guarded.benchmark.problems["HumanEval/2"].metadata["augmentation"]["contract"] == contracts["HumanEval/2"]
    strict = {"HumanEval/2": '    assert number < 3, "invalid inputs" # $_CONTRACT_$\n'}
    rec = augment_benchmark(part, per_problem=40, mutants=5, workers=1, contracts=strict).records[0]
    assert rec.filtered.get("contract", 0) >= 1 and rec.valid + sum(rec.filtered.values()) == rec.generated


def test_skipped_tasks_stay_as_they_are_and_unknown_ones_are_refused(ex):
    bench = Benchmark("toy", "1", {COUNT_POSITIVE.task_id: COUNT_POSITIVE}, "t")
    result = augment_benchmark(bench, per_problem=10, mutants=5, executor=ex, skip=["toy/0"])
    assert result.records[0].status == "unchanged" and result.records[0].reason == "skipped (--skip)"
    assert result.benchmark.problems["toy/0"].test == COUNT_POSITIVE.test
    with pytest.raises(UsageError, match="toy/9"):
        augment_benchmark(bench, executor=ex, skip=["toy/9"])


@pytest.mark.slow
def test_all_of_humaneval_augments_with_every_canonical_solution_passing():
    result = augment_benchmark(load_benchmark("humaneval"), seed=0, workers=2)  # ~75 s on 2 cores
    totals = result.totals()
    assert totals["problems"] == 164 and totals["failed"] == 0 and totals["augmented"] >= 20
    assert totals["tests_after"] > totals["tests_before"]
    assert totals["score_after"] > totals["score_before"]
    assert totals["killed_after"] == totals["killed_predicted"]
    with Executor(workers=2, limits=Limits(cpu_seconds=3.0)) as ex:
        jobs = [Job(p.task_id, p, p.program(p.canonical_solution or "")) for p in result.benchmark]
        assert {job.key: v.status.value for job, v in ex.map(jobs) if not v.passed} == {}
