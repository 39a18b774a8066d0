import json

from coderank.pipeline import run_summary
from coderank.report.board import leaderboard
from coderank.store import Store


def _manifest(template="chat", temperature=0.0, problems=3, bench_sha="sha256:b"):
    return {"version": 1, "model_spec": "m", "benchmark": {"name": "humaneval", "sha256": bench_sha,
                                                           "problems": problems, "of": 164},
            "template": {"name": template, "sha256": f"sha256:{template}"},
            "params": {"temperature": temperature, "top_p": 1.0, "max_tokens": 512}, "seed": 0, "n": 1}


def _run(store, model, passed, **setting):
    manifest = _manifest(**setting)
    run_id, _ = store.open_run({"model": model, **manifest}, manifest, kind="eval", model=model,
                               benchmark="humaneval")
    for i, ok in enumerate(passed):
        store.put_sample(run_id, f"HumanEval/{i}", 0, completion_key=None, program="x", extraction={},
                         status="passed" if ok else "failed", detail="", cpu_seconds=0, wall_seconds=0, output="",
                         truncated=False)
    store.finish_run(run_id, run_summary(store, run_id))
    return run_id


def test_measured_runs_are_ranked_and_carry_intervals():
    store = Store(":memory:")
    _run(store, "weak", [1, 0, 0])
    _run(store, "strong", [1, 1, 1])
    rows = [r for r in leaderboard(store, reported=False)["humaneval"]]
    assert [r.model for r in rows] == ["strong", "weak"]
    assert rows[1].value == 1 / 3 and rows[1].low <= rows[1].value <= rows[1].high


def test_runs_in_a_different_setting_are_marked_not_comparable():
    store = Store(":memory:")
    _run(store, "a", [1, 0, 0])
    _run(store, "b", [1, 1, 0])
    odd = _run(store, "c", [1, 1, 1], template="wizardcoder", temperature=0.8)
    rows = {r.run_id: r for r in leaderboard(store, reported=False)["humaneval"]}
    assert rows[odd].differs and any("template: wizardcoder vs chat" in d for d in rows[odd].differs)
    assert any("decoding" in d for d in rows[odd].differs)
    assert all(not r.differs for rid, r in rows.items() if rid != odd)


def test_reported_numbers_come_after_measured_ones_and_are_never_mixed(cli):
    store = Store(":memory:")
    _run(store, "mine", [1, 0, 0])
    rows = leaderboard(store)["humaneval"]
    kinds = [r.kind for r in rows]
    assert kinds[0] == "measured" and set(kinds[1:]) == {"reported"}
    gpt4 = [r for r in rows if r.model == "GPT-4"]
    assert {r.value for r in gpt4} == {0.670, 0.820} and all(r.low is None and r.source for r in gpt4)


def test_board_json_has_measured_and_reported_sections(cli, tmp_path, monkeypatch):
    code, out, _ = cli("board", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["boards"]["humaneval"]["measured"] == []
    assert len(doc["boards"]["humaneval"]["reported"]) >= 20
