import json

import pytest
from scipy.stats import binomtest

from coderank.errors import UsageError
from coderank.report.duel import duel, ranking
from coderank.store import Store

from .runs import make_run


def _greedy_pair(store, a_only, b_only, both, neither):
    a = [1] * a_only + [0] * b_only + [1] * both + [0] * neither
    b = [0] * a_only + [1] * b_only + [1] * both + [0] * neither
    return make_run(store, "model-a", a), make_run(store, "model-b", b)


def test_an_8_to_5_tally_is_not_evidence():
    store = Store(":memory:")
    ra, rb = _greedy_pair(store, 8, 5, 40, 111)
    result = duel(store, ra, rb)
    assert result["tally"] == {"both": 40, "a_only": 8, "b_only": 5, "neither": 111}
    assert result["mcnemar_p"] == pytest.approx(binomtest(8, 13, 0.5).pvalue)
    assert "cannot separate" in result["verdict"]
    assert result["diff"]["low"] < 0 < result["diff"]["high"]


def test_a_lopsided_tally_names_the_better_model():
    store = Store(":memory:")
    ra, rb = _greedy_pair(store, 30, 2, 40, 92)
    result = duel(store, ra, rb)
    assert result["mcnemar_p"] < 0.001
    assert result["a"]["model"] == "model-a" and "A is better than B" in result["verdict"]


def test_sampled_runs_report_the_probability_that_a_beats_b():
    store = Store(":memory:")
    ra = make_run(store, "strong", [3, 3, 2, 3, 3, 2, 3, 3], n=3, temperature=0.8)
    rb = make_run(store, "weak", [0, 1, 0, 1, 0, 0, 1, 0], n=3, temperature=0.8)
    result = duel(store, ra, rb)
    assert "tally" not in result and result["prob_a_better"] > 0.95


def test_sampled_runs_on_one_problem_are_never_called_apart():
    # 5/5 against 0/5 on a single problem: the bootstrap interval collapses to [+1, +1]; one problem is no evidence
    store = Store(":memory:")
    ra = make_run(store, "good", [5], n=5, temperature=0.8)
    rb = make_run(store, "bad", [0], n=5, temperature=0.8)
    result = duel(store, ra, rb)
    assert result["permutation_p"] == 1.0 and "cannot separate" in result["verdict"]


def test_sampled_runs_far_apart_on_many_problems_are_called_apart():
    store = Store(":memory:")
    ra = make_run(store, "strong", [3, 3, 2, 3, 3, 2, 3, 3, 3, 2, 3, 3], n=3, temperature=0.8)
    rb = make_run(store, "weak", [0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0], n=3, temperature=0.8)
    result = duel(store, ra, rb)
    assert result["permutation_p"] < 0.001 and "A is better than B" in result["verdict"]


def test_sign_flip_p_is_exact_for_few_problems_and_calibrated_for_many():
    import numpy as np

    from coderank.scoring import sign_flip_p

    assert sign_flip_p([1.0], [0.0]) == 1.0
    assert sign_flip_p([1.0] * 5, [0.0] * 5) == pytest.approx(2 / 32)
    assert sign_flip_p([0.5, 0.2], [0.5, 0.2]) == 1.0
    rng = np.random.default_rng(0)
    ps = [sign_flip_p(rng.random(40), rng.random(40), resamples=2000, seed=i) for i in range(200)]
    assert 0.02 <= np.mean(np.array(ps) < 0.05) <= 0.10  # about 5% false positives under the null


def test_runs_on_different_benchmark_data_are_refused():
    store = Store(":memory:")
    ra = make_run(store, "a", [1, 0, 1])
    rb = make_run(store, "b", [1, 0, 1], bench_sha="sha256:other")
    with pytest.raises(UsageError, match="different benchmark data"):
        duel(store, ra, rb)


def test_ranking_orders_models_and_gives_p_first():
    store = Store(":memory:")
    ids = [make_run(store, name, [1] * k + [0] * (30 - k)) for name, k in (("low", 5), ("top", 25), ("mid", 15))]
    result = ranking(store, ids, resamples=200)
    assert [r["model"] for r in result["ranking"]] == ["top", "mid", "low"]
    assert sum(r["p_first"] for r in result["ranking"]) == pytest.approx(1.0)


def test_duel_cli_prints_the_verdict_and_json(cli, monkeypatch, tmp_path):
    db = tmp_path / "db.sqlite"
    store = Store(db)
    ra, rb = _greedy_pair(store, 8, 5, 40, 111)
    store.close()
    code, out, _ = cli("duel", ra, rb, "--store", str(db))
    assert code == 0 and "cannot separate" in out and "A only 8, B only 5" in out
    code, out, _ = cli("duel", ra, rb, "--store", str(db), "--json")
    assert json.loads(out)["tally"]["a_only"] == 8


def test_a_ranking_on_few_problems_carries_a_caution():
    store = Store(":memory:")
    ids = [make_run(store, name, [1] * k + [0] * (3 - k)) for name, k in (("a", 1), ("b", 2), ("c", 3))]
    assert "too few" in ranking(store, ids, resamples=100)["caution"]
    ids = [make_run(store, name, [1] * k + [0] * (30 - k)) for name, k in (("d", 5), ("e", 25), ("f", 15))]
    assert "caution" not in ranking(store, ids, resamples=100)


def _mbpp_run(store, model, passed):
    from coderank.evaluation import run_summary

    manifest = {"version": 1, "model_spec": model, "n": 1, "seed": 0,
                "benchmark": {"name": "mbpp", "sha256": "sha256:mbpp", "problems": len(passed), "of": len(passed)},
                "template": {"name": "chat", "sha256": "sha256:chat"},
                "params": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 512}}
    run_id, _ = store.open_run({"model": model, **manifest}, manifest, kind="eval", model=model, benchmark="mbpp")
    for i, ok in enumerate(passed):
        store.put_sample(run_id, f"MBPP/{11 + i}", 0, completion_key=None, program="x", extraction={},
                         status="passed" if ok else "failed", detail="", cpu_seconds=0, wall_seconds=0,
                         output="", truncated=False)
    store.finish_run(run_id, run_summary(store, run_id))
    return run_id


def test_a_side_pools_one_models_runs_on_two_benchmarks_into_one_paired_test():
    # 10:2 on HumanEval and 12:3 on MBPP are each weak evidence; pooled, 22:5 on the problems of both is not
    store = Store(":memory:")
    he_a, he_b = _greedy_pair(store, 10, 2, 20, 30)
    mb_a = _mbpp_run(store, "model-a", [1] * 12 + [0] * 3 + [1] * 25 + [0] * 60)
    mb_b = _mbpp_run(store, "model-b", [0] * 12 + [1] * 3 + [1] * 25 + [0] * 60)
    pooled = duel(store, f"{he_a}+{mb_a}", f"{mb_b}+{he_b}")  # paired by benchmark, whatever the order
    assert pooled["problems"] == 62 + 100 and pooled["benchmark"] == "humaneval+mbpp"
    assert pooled["tally"] == {"both": 45, "a_only": 22, "b_only": 5, "neither": 90}
    assert pooled["mcnemar_p"] == pytest.approx(binomtest(22, 27, 0.5).pvalue)
    assert pooled["a"]["run_id"] == f"{he_a}+{mb_a}" and pooled["b"]["run_id"] == f"{he_b}+{mb_b}"
    assert duel(store, he_a, he_b)["mcnemar_p"] > pooled["mcnemar_p"]


def test_pooled_sides_must_cover_the_same_benchmarks_one_run_each():
    store = Store(":memory:")
    he_a, he_b = _greedy_pair(store, 3, 2, 5, 5)
    mb_a = _mbpp_run(store, "model-a", [1, 0, 1])
    with pytest.raises(UsageError, match="pool different benchmarks"):
        duel(store, f"{he_a}+{mb_a}", he_b)
    with pytest.raises(UsageError, match="same benchmark data"):
        duel(store, f"{he_a}+{he_b}", he_b)
    with pytest.raises(UsageError, match="different models"):
        duel(store, f"{he_a}+{_mbpp_run(store, 'model-b', [1, 1, 1])}", f"{he_b}+{mb_a}")


def test_a_duel_on_few_problems_carries_a_caution(cli, tmp_path):
    db = tmp_path / "duel.db"
    with Store(db) as store:
        ra, rb = make_run(store, "a", [1, 1, 0]), make_run(store, "b", [0, 0, 0])
        assert "too few" in duel(store, ra, rb)["caution"]
        big_a, big_b = _greedy_pair(store, 8, 5, 40, 111)
        assert "caution" not in duel(store, big_a, big_b)
    code, out, _ = cli("duel", ra, rb, "--store", str(db))
    assert code == 0 and "only 3 common problem(s): too few for this comparison to mean much" in out


def test_the_ranking_and_the_problem_list_never_cut_an_id_at_80_columns(cli, tmp_path, monkeypatch):
    from coderank import cli as cli_module

    monkeypatch.setattr(cli_module.out, "width", 80)
    db = tmp_path / "rank.db"
    with Store(db) as store:
        ids = [make_run(store, f"openai:Qwen/Qwen2.5-Coder-{size}B-Instruct", passed)
               for size, passed in (("0.5", [1, 0, 1, 0]), ("1.5", [1, 1, 0, 0]), ("7", [1, 1, 1, 0]))]
    code, out, _ = cli("duel", *ids, "--store", str(db))
    assert code == 0 and "…" not in out and all(run_id in out for run_id in ids), out
    code, out, _ = cli("duel", ids[0], ids[1], "--problems", "--store", str(db))
    assert code == 0 and all(f"HumanEval/{i}" in out for i in range(4))
