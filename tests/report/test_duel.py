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
