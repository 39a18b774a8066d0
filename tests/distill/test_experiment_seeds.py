"""experiments/verified-distill/seeds.py reads the committed run summaries as `coderank duel` read the store.

The per-seed table is only worth printing if it agrees with the duels the experiment published (made by
`coderank duel` from the store); this checks it against every committed duel file, for the published runs and
the replication's.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "experiments" / "verified-distill"


def load_seeds():
    spec = importlib.util.spec_from_file_location("vd_seeds", HERE / "seeds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("folder,label", [("results", "seed 0 (published, 140 rows)"),
                                          ("replication-2026-12-07", "seed 0 (replication, 139 rows)")])
@pytest.mark.parametrize("pair", ["a-c", "a-b", "b-c"])
def test_per_run_duels_match_coderank_duel(folder: str, label: str, pair: str) -> None:
    seeds = load_seeds()
    first, second = pair.split("-")
    runs = {arm: dict((lab, seeds.pooled(f)) for lab, f in seeds.training_runs(arm)) for arm in ("a", "b")}
    runs["c"] = {label: seeds.pooled(seeds.training_runs("c")[0][1])}
    got = seeds.duel(runs[first][label], runs[second][label])
    published = json.loads((HERE / folder / f"duel-{pair}.json").read_text())
    assert got["problems"] == published["problems"] == 664
    assert (got["first_only"], got["second_only"]) == (published["tally"]["a_only"], published["tally"]["b_only"])
    assert got["p"] == pytest.approx(published["mcnemar_p"], rel=1e-12)


def test_every_committed_training_run_is_found() -> None:
    seeds = load_seeds()
    labels = [label for label, _ in seeds.training_runs("a")]
    assert labels[:2] == ["seed 0 (published, 140 rows)", "seed 0 (replication, 139 rows)"]
    for label, folders in seeds.training_runs("a") + seeds.training_runs("b"):
        for bench, folder in folders.items():
            summary = json.loads((folder / "summary.json").read_text())
            assert summary["benchmark"] == bench, (label, folder)
            assert summary["problems"] == {"humaneval": 164, "mbpp": 500}[bench]


@pytest.mark.parametrize("arm", ["a", "b"])
def test_each_training_runs_two_benchmarks_evaluated_one_adapter(arm: str) -> None:
    """A run's HumanEval and MBPP evals pair up only if they asked the same adapter: seed 1's HumanEval came from
    a retraining, which reproduced the adapter bit for bit (its sha256 is in both runs' manifests)."""
    seeds = load_seeds()
    for label, folders in seeds.training_runs(arm):
        digests = {json.loads((folder / "manifest.json").read_text())["model"]["adapter_sha256"]
                   for folder in folders.values()}
        assert len(digests) == 1, (label, digests)
