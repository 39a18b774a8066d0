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
    from coderank.evaluation import run_summary

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


# --- a board that never misleads: partial runs apart, a sensible reference, the best base for a drop ----------------

def test_a_partial_run_is_never_ranked_above_full_runs():
    # the store: a 2-problem run at 1.000 [1.000, 1.000] was ranked first
    store = Store(":memory:")
    tiny = _run(store, "default", [1, 1], of=5)
    full_a = _run(store, "a", [1, 1, 0, 0, 1])
    full_b = _run(store, "b", [1, 0, 0, 0, 0])
    rows = leaderboard(store, reported=False)["humaneval"]
    assert [r.run_id for r in rows] == [full_a, full_b, tiny]
    assert [r.rank for r in rows] == [1, 2, None] and [r.partial for r in rows] == [False, False, True]
    assert rows[2].differs == ("partial: 2 of 5 problems",) and rows[2].benchmark_problems == 5
    assert not rows[0].differs and not rows[1].differs


def test_one_junk_run_does_not_mark_every_row():
    # full runs in one setting, plus a 1-problem run in another: before, every row was marked against the junk run
    store = Store(":memory:")
    full = [_run(store, m, [1, 0, 1, 1]) for m in ("a", "b", "c")]
    junk = _run(store, "junk", [0], of=4, template="wizardcoder")
    rows = {r.run_id: r for r in leaderboard(store, reported=False)["humaneval"]}
    assert all(not rows[rid].differs and rows[rid].rank for rid in full)
    assert rows[junk].partial and rows[junk].rank is None
    assert rows[junk].differs == ("partial: 1 of 4 problems", "template: wizardcoder vs chat")


def test_a_tie_between_settings_goes_to_the_one_with_the_best_run():
    # the README's two embedded models, one run each: a 0.037 run must not be #1 above an unranked 0.567 one
    store = Store(":memory:")
    completion = _run(store, "gemma-270m", [0, 0, 1], template="completion")  # the earlier run
    chat = _run(store, "default", [1, 1, 0])
    rows = leaderboard(store, reported=False)["humaneval"]
    assert [(r.run_id, r.rank) for r in rows] == [(chat, 1), (completion, None)]
    assert not rows[0].differs and rows[1].differs == ("template: completion vs chat",)
    # more models in a setting outweigh a better run
    other = _run(store, "other", [0, 1, 0], template="completion")
    rows = {r.run_id: r for r in leaderboard(store, reported=False)["humaneval"]}
    assert rows[completion].rank and rows[other].rank and rows[chat].rank is None


def test_the_reference_comes_from_full_runs_only():
    store = Store(":memory:")
    # three partial runs share a setting; the one full run, in another setting, is the reference all the same
    partial = [_run(store, f"p{i}", [1, 0], of=3, template="completion") for i in range(3)]
    full = _run(store, "full", [1, 0, 0])
    rows = {r.run_id: r for r in leaderboard(store, reported=False)["humaneval"]}
    assert rows[full].rank == 1 and not rows[full].differs
    assert all(rows[p].differs == ("partial: 2 of 3 problems", "template: completion vs chat") for p in partial)


def test_only_partial_runs_give_no_ranking_and_no_setting_marks():
    store = Store(":memory:")
    a, b = _run(store, "a", [1, 1], of=164), _run(store, "b", [1, 0, 1], of=164, template="completion")
    rows = leaderboard(store, reported=False)["humaneval"]
    assert [r.run_id for r in rows] == [b, a]  # most problems first
    assert all(r.rank is None and r.partial for r in rows)
    assert [r.differs for r in rows] == [("partial: 3 of 164 problems",), ("partial: 2 of 164 problems",)]


def test_the_drop_uses_the_base_run_with_the_most_common_problems():
    store = Store(":memory:")
    three = _run_on(store, "m", "humaneval", "sha256:he", {"HumanEval/0": 1, "HumanEval/1": 1, "HumanEval/2": 1})
    two = _run_on(store, "m", "humaneval", "sha256:he", {"HumanEval/0": 0, "HumanEval/1": 0})  # later, fewer shared
    aug = _run_on(store, "m", "aug.jsonl", "sha256:aug", {"HumanEval/0": 1, "HumanEval/1": 0, "HumanEval/2": 0}, AUG)
    assert two != three
    row = next(r for r in leaderboard(store, reported=False)["aug.jsonl"] if r.run_id == aug)
    assert row.drop["base_run"] == three and row.drop["problems"] == 3


def test_board_cli_puts_partial_runs_in_their_own_labelled_table(cli, tmp_path):
    db = tmp_path / "board.db"
    with Store(db) as store:
        full = _run(store, "full-model", [1, 0, 0, 1])
        tiny = _run(store, "tiny-model", [1, 1], of=4)
    code, out, _ = cli("board", "--store", str(db), "--no-reported")
    assert code == 0
    ranked, partial = out.split("partial runs")
    assert full in ranked and tiny not in ranked and "tiny-model" in partial and tiny in partial
    assert "fewer problems than the benchmark's 4: not ranked" in out and "2 of 4" in partial
    assert "≠" not in out  # nothing full is marked against the partial run
    doc = json.loads(cli("board", "--store", str(db), "--no-reported", "--json")[1])
    measured = {r["run_id"]: r for r in doc["boards"]["humaneval"]["measured"]}
    assert measured[full]["rank"] == 1 and measured[tiny]["partial"] and measured[tiny]["rank"] is None


def test_board_never_cuts_a_run_id_at_80_columns(cli, tmp_path, monkeypatch):
    from coderank import cli as cli_module

    monkeypatch.setattr(cli_module.out, "width", 80)
    db = tmp_path / "board.db"
    with Store(db) as store:
        ids = [_run(store, "openai:Qwen/Qwen2.5-Coder-7B-Instruct", [1, 0, 1]),
               _run(store, "default", [1, 1, 0], template="completion", temperature=0.8),
               _run(store, "tiny", [1], of=3)]
    code, out, _ = cli("board", "--store", str(db), "--no-reported")
    assert code == 0 and "…" not in out
    assert all(run_id in out for run_id in ids), out


def test_board_formats_csv_and_markdown(cli, tmp_path):
    import csv
    import io

    db = tmp_path / "board.db"
    with Store(db) as store:
        full = _run(store, "a|pipe", [1, 0, 1, 1])
        other = _run(store, "b", [1, 0, 0, 0], template="completion")
        tiny = _run(store, "c", [1], of=4)
    code, out, _ = cli("board", "--store", str(db), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["section"] == "ranked" and rows[0]["run_id"] == full and rows[0]["rank"] == "1"
    assert float(rows[0]["pass@1"]) == 0.75
    sections = {r["run_id"]: r["section"] for r in rows if r["run_id"]}
    assert sections == {full: "ranked", other: "not comparable", tiny: "partial"}
    assert any(r["section"] == "reported" and r["source"] for r in rows)
    code, out, _ = cli("board", "--store", str(db), "--format", "markdown", "--no-reported")
    assert code == 0 and "### humaneval: measured by coderank on all 4 problems" in out
    assert "| 1 | a\\|pipe | 0.750 |" in out and "### humaneval: partial runs" in out and tiny in out
    assert "[1] " + other in out
    code, _, err = cli("board", "--store", str(db), "--format", "xml")
    assert code == 2 and "unknown --format 'xml'" in err
