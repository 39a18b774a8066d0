import json

from coderank.report.board import leaderboard
from coderank.store import Store

from .runs import make_run as _run


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


# --- the drop of a run on a derived benchmark (augmented tests, EvalPlus plus tests) -------------------------------

def _run_on(store, model, bench, sha, passed, derivation=None, template="chat"):
    """A finished greedy run of ``model`` on benchmark ``bench`` (hash ``sha``): ``passed`` maps task -> 0/1."""
    from coderank.pipeline import run_summary

    benchmark = {"name": bench, "sha256": sha, "problems": len(passed), "of": len(passed)}
    if derivation:
        benchmark["derivation"] = derivation
    manifest = {"version": 1, "model_spec": model, "model": {"backend": "fake", "id": model}, "benchmark": benchmark,
                "template": {"name": template, "sha256": f"sha256:{template}"},
                "params": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 512}, "seed": 0, "n": 1}
    run_id, _ = store.open_run({"model": model, **manifest}, manifest, kind="eval", model=model, benchmark=bench)
    for task, ok in passed.items():
        store.put_sample(run_id, task, 0, completion_key=None, program="x", extraction={},
                         status="passed" if ok else "failed", detail="", cpu_seconds=0, wall_seconds=0, output="",
                         truncated=False)
    store.finish_run(run_id, run_summary(store, run_id))
    return run_id


AUG = {"kind": "augment", "base": "humaneval", "base_sha256": "sha256:he", "seed": 0, "generator": "g"}


def test_a_run_on_augmented_tests_shows_its_drop_on_common_problems():
    store = Store(":memory:")
    base = _run_on(store, "m", "humaneval", "sha256:he", {"HumanEval/0": 1, "HumanEval/1": 1, "HumanEval/2": 1,
                                                           "HumanEval/3": 0})
    aug = _run_on(store, "m", "aug.jsonl", "sha256:aug", {"HumanEval/0": 1, "HumanEval/1": 0, "HumanEval/2": 0}, AUG)
    other = _run_on(store, "other", "aug.jsonl", "sha256:aug", {"HumanEval/0": 1, "HumanEval/1": 1}, AUG)
    odd = _run_on(store, "m", "aug.jsonl", "sha256:aug", {"HumanEval/0": 0}, AUG, template="wizardcoder")
    boards = leaderboard(store, reported=False)
    rows = {r.run_id: r for r in boards["aug.jsonl"]}
    # base on the three common problems: 3/3; augmented: 1/3 -> 66.67 points
    assert rows[aug].drop == {"points": 66.67, "base_pass@1": 1.0, "pass@1": 1 / 3, "problems": 3, "base_run": base,
                              "base_benchmark": "humaneval"}
    assert rows[other].drop is None and rows[odd].drop is None  # no run of that model and setting on the base
    assert all(r.drop is None for r in boards["humaneval"])


def test_board_cli_shows_the_drop_column(cli, monkeypatch, tmp_path):
    db = tmp_path / "runs.db"
    with Store(db) as store:
        _run_on(store, "m", "humaneval", "sha256:he", {"HumanEval/0": 1, "HumanEval/1": 1})
        aug = _run_on(store, "m", "aug.jsonl", "sha256:aug", {"HumanEval/0": 1, "HumanEval/1": 0}, AUG)
    code, out, _ = cli("board", "--store", str(db), "--no-reported")
    assert code == 0 and "drop" in out and "50.0" in out and f"drop {aug}" in out
    code, out, _ = cli("board", "--store", str(db), "--json", "-b", "aug.jsonl")
    assert json.loads(out)["boards"]["aug.jsonl"]["measured"][0]["drop"]["points"] == 50.0


def test_each_row_says_which_prompt_template_it_used(cli, monkeypatch, tmp_path):
    db = tmp_path / "board.db"
    store = Store(db)
    chat = _run(store, "default", [1, 1, 0])
    completion = _run(store, "gemma-270m", [0, 1, 0], template="completion")
    rows = {r.run_id: r for r in leaderboard(store, reported=False)["humaneval"]}
    assert rows[chat].template == "chat" and rows[completion].template == "completion"
    assert rows[completion].setting.startswith("completion, greedy")
    store.close()
    code, out, _ = cli("board", "--store", str(db), "--no-reported", "--json")
    measured = {r["run_id"]: r for r in json.loads(out)["boards"]["humaneval"]["measured"]}
    assert measured[completion]["template"] == "completion" and measured[chat]["template"] == "chat"
    code, out, _ = cli("board", "--store", str(db), "--no-reported")
    line = next(x for x in out.splitlines() if "gemma-270m" in x)
    assert "completion, greedy" in line and "template: completion vs chat" in out
