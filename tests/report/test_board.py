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
