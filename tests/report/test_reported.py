import dataclasses
import json
import re

import pytest

from coderank.errors import InputError, UsageError
from coderank.report.reported import BUNDLED, Reported, add_reported, load_reported, user_reported_path

from .runs import make_run


def _row(**overrides):
    row = {
        "model": "My-Model-7B",
        "benchmark": "humaneval",
        "metric": "pass@1",
        "value": 0.5,
        "setting": "greedy",
        "source": "My paper, arXiv:0000.00000",
        "source_date": "2024-05",
        "reported_by": "me",
    }
    row.update(overrides)
    return {k: v for k, v in row.items() if v is not None}


def _write(path, *rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _find(entries, model, value=None):
    found = [e for e in entries if e.model == model and (value is None or e.value == pytest.approx(value))]
    assert found, f"{model} {value} not in the bundled table"
    return found


# --- the bundled table ---------------------------------------------------------------------------------------

BUNDLED_BENCHMARKS = ("humaneval", "humaneval-plus", "mbpp-plus", "mbpp-plus-base")


def test_every_bundled_entry_validates_and_has_source_and_date():
    entries = load_reported()
    assert len(entries) >= 20
    for e in entries:
        assert e.origin == BUNDLED and e.bundled
        assert e.benchmark in BUNDLED_BENCHMARKS and e.metric == "pass@1"
        assert 0.0 <= e.value <= 1.0
        assert e.source.strip() and e.reported_by.strip() and e.setting.strip()
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", e.source_date)
        assert re.search(r"arXiv:\d{4}\.\d{4,5}|https://", e.source), e.source


def test_bundled_values_keep_the_printed_digits():
    # percent / 100 with at most one decimal in percent: 67.0 -> 0.670, 53.7 -> 0.537
    for e in load_reported():
        assert round(e.value * 1000) == pytest.approx(e.value * 1000, abs=1e-9), e


def test_gpt4_has_two_numbers_from_different_sources_and_dates():
    official = _find(load_reported(), "GPT-4", 0.670)[0]
    api = _find(load_reported(), "GPT-4", 0.820)[0]
    assert official.reported_by == "OpenAI" and "2303.08774" in official.source
    assert official.source_date.startswith("2023-03")
    assert api.source_date == "2023-08-26" and "WizardLM" in api.reported_by
    assert official.source != api.source
    assert api.note and "not by OpenAI" in api.note


def test_gpt35_has_two_numbers_the_same_way():
    official = _find(load_reported(), "GPT-3.5", 0.481)[0]
    api = _find(load_reported(), "GPT-3.5", 0.725)[0]
    assert official.reported_by == "OpenAI" and api.source_date == "2023-08-26"
    assert official.source != api.source


@pytest.mark.parametrize(("model", "value"), [
    ("WizardCoder-Python-34B-V1.0", 0.732),
    ("Unnatural Code Llama 34B", 0.622),
    ("Code Llama 7B", 0.335), ("Code Llama 13B", 0.360), ("Code Llama 34B", 0.488),
    ("Code Llama - Python 7B", 0.384), ("Code Llama - Python 13B", 0.433), ("Code Llama - Python 34B", 0.537),
    ("Code Llama - Instruct 7B", 0.348), ("Code Llama - Instruct 13B", 0.427), ("Code Llama - Instruct 34B", 0.415),
    ("Phind-CodeLlama-34B-v1", 0.676), ("Phind-CodeLlama-34B-v2", 0.738),
])
def test_required_models_are_present(model, value):
    (entry,) = _find(load_reported(), model, value)
    assert entry.value == pytest.approx(value)


def test_code_llama_numbers_cite_the_paper():
    for e in load_reported():
        if "Code Llama" in e.model and not e.model.startswith("Phind"):
            assert "2308.12950" in e.source and e.reported_by == "Meta (Code Llama paper)"
            assert "greedy" in e.setting and "zero-shot" in e.setting


def test_unreleased_and_closed_models_are_not_open_weights():
    entries = load_reported()
    assert all(e.open_weights is False for e in entries if e.model in ("GPT-4", "GPT-3.5", "Unnatural Code Llama 34B"))
    assert _find(entries, "Code Llama 7B")[0].open_weights is True


QWEN_05B = "Qwen2.5-Coder-0.5B-Instruct"


def test_qwen_coder_05b_instruct_numbers_are_the_reports_table_16():
    entries = {e.benchmark: e for e in load_reported() if e.model == QWEN_05B}
    assert {b: e.value for b, e in entries.items()} == {
        "humaneval": 0.616, "humaneval-plus": 0.573, "mbpp-plus-base": 0.524, "mbpp-plus": 0.437}
    for e in entries.values():
        assert e.bundled and e.open_weights is True and e.metric == "pass@1"
        assert "arXiv:2409.12186v3, Table 16" in e.source and e.source_date == "2024-11-12"
        assert "EvalPlus" in e.setting and e.note and "not directly comparable" in e.note
    # EvalPlus's MBPP is not coderank's mbpp (the 500-problem test split): never filed under that name
    assert "mbpp" not in entries
    assert "NOT coderank's mbpp" in entries["mbpp-plus-base"].note


def test_qwen_coder_05b_instruct_numbers_are_shown_as_reported_not_measured():
    from coderank.report.board import leaderboard
    from coderank.store import Store

    store = Store(":memory:")
    make_run(store, QWEN_05B, [1, 0, 1])
    boards = leaderboard(store)
    measured = [r for r in boards["humaneval"] if r.kind == "measured"]
    assert [r.model for r in measured] == [QWEN_05B] and measured[0].value != 0.616
    for bench, value in (("humaneval", 0.616), ("humaneval-plus", 0.573), ("mbpp-plus-base", 0.524),
                         ("mbpp-plus", 0.437)):
        (row,) = [r for r in boards[bench] if r.model == QWEN_05B and r.kind == "reported"]
        assert row.value == value and row.low is None and row.run_id is None
        assert "2409.12186" in row.source and row.reported_by.startswith("Qwen team")
    assert "mbpp" not in boards  # no run on mbpp, and no reported number claims to be one


# --- user files ----------------------------------------------------------------------------------------------

def test_user_file_is_loaded_after_bundled_and_marked(tmp_path):
    user = user_reported_path()
    user.parent.mkdir(parents=True)
    _write(user, _row())
    extra = _write(tmp_path / "extra.jsonl", _row(model="Other", value=0.25))
    entries = load_reported([extra])
    kinds = [e.origin for e in entries]
    first_user = kinds.index(str(user))
    assert all(k == BUNDLED for k in kinds[:first_user])
    assert entries[-2].model == "My-Model-7B" and entries[-2].origin == str(user) and not entries[-2].bundled
    assert entries[-1].model == "Other" and entries[-1].origin == str(extra)


def test_user_path_follows_coderank_home(monkeypatch, tmp_path):
    monkeypatch.setenv("CODERANK_HOME", str(tmp_path / "h"))
    assert user_reported_path() == tmp_path / "h" / "reported.jsonl"
    monkeypatch.delenv("CODERANK_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_reported_path() == tmp_path / "xdg" / "coderank" / "reported.jsonl"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_reported_path() == tmp_path / "home" / ".local" / "share" / "coderank" / "reported.jsonl"


def test_missing_user_file_is_fine_but_a_missing_given_path_is_not(tmp_path):
    assert not user_reported_path().exists()
    assert all(e.bundled for e in load_reported())
    with pytest.raises(InputError, match="no such file"):
        load_reported([tmp_path / "nope.jsonl"])


def test_same_path_given_twice_is_read_once(tmp_path):
    f = _write(tmp_path / "r.jsonl", _row())
    assert sum(e.origin == str(f) for e in load_reported([f, f])) == 1


def test_bad_value_names_file_line_and_hint(tmp_path):
    f = _write(tmp_path / "mine.jsonl", _row(), "", _row(model="X", value=67.0))
    with pytest.raises(InputError) as info:
        load_reported([f])
    assert info.value.message.startswith(f"{f}:3: ")
    assert "[0, 1]" in info.value.message
    assert "write 67.0% as 0.670" in info.value.hint
    assert "hint: " in str(info.value)


@pytest.mark.parametrize(("line", "message", "hint"), [
    (_row(extra="x"), "unknown field(s) extra", "allowed fields"),
    (_row(source=None), "missing field 'source'", "arXiv id or URL"),
    (_row(source="  "), "'source' must be a non-empty string", "arXiv id or URL"),
    (_row(source_date="26/08/2023"), "not a date as YYYY-MM or YYYY-MM-DD", "YYYY-MM"),
    (_row(source_date="2023-13"), "not a date", "YYYY-MM"),
    (_row(source_date="2023-02-30"), "not a date", "YYYY-MM"),
    (_row(value=-0.1), "not a fraction in [0, 1]", "0.670"),
    (_row(value="0.5"), "'value' must be a number", "0.670"),
    (_row(value=True), "'value' must be a number", "0.670"),
    (_row(open_weights="yes"), "'open_weights' must be true or false", ""),
    (_row(note=3), "'note' must be a string", ""),
    ("[1, 2]", "expected a JSON object", "one JSON object"),
    ('{"model": ', "invalid JSON", "one complete JSON object"),
])
def test_each_kind_of_bad_line_is_named(tmp_path, line, message, hint):
    f = _write(tmp_path / "bad.jsonl", line)
    with pytest.raises(InputError) as info:
        load_reported([f])
    assert info.value.message.startswith(f"{f}:1: ")
    assert message in info.value.message
    assert hint in info.value.hint


def test_bad_utf8_and_duplicates(tmp_path):
    f = tmp_path / "enc.jsonl"
    f.write_bytes(b'{"model": "\xff"}\n')
    with pytest.raises(InputError, match=r"enc.jsonl:1: not valid UTF-8"):
        load_reported([f])
    d = _write(tmp_path / "dup.jsonl", _row(), _row(value=0.6))
    with pytest.raises(InputError, match=r"dup.jsonl:2: duplicate of line 1"):
        load_reported([d])


def test_bad_user_file_fails_load(tmp_path):
    user = user_reported_path()
    user.parent.mkdir(parents=True)
    _write(user, _row(source_date="2023"))
    with pytest.raises(InputError, match=re.escape(f"{user}:1: 'source_date'")):
        load_reported()


# --- add_reported --------------------------------------------------------------------------------------------

def _entry(**kw):
    base = dict(model="Mine-1B", value=0.412, setting="greedy", source="Our blog, https://example.org/post",
                source_date="2024-06-01", reported_by="us", note="n=164", open_weights=True)
    base.update(kw)
    return Reported(**base)


def test_add_reported_round_trips_into_the_user_file():
    entry = _entry()
    path = add_reported(entry)
    assert path == user_reported_path() and path.is_file()
    add_reported(_entry(model="Mine-2B", value=0.5, note=None, open_weights=None))
    mine = [e for e in load_reported() if not e.bundled]
    assert mine[0] == dataclasses.replace(entry, origin=str(path))
    assert mine[1].model == "Mine-2B" and mine[1].note is None and mine[1].open_weights is None
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[1])
    assert "note" not in line and "origin" not in line


def test_add_reported_to_a_given_path_without_trailing_newline(tmp_path):
    f = tmp_path / "sub" / "r.jsonl"
    f.parent.mkdir()
    f.write_text(json.dumps(_row()), encoding="utf-8")  # no final newline
    assert add_reported(_entry(), f) == f
    got = load_reported([f])
    assert [e.model for e in got if e.origin == str(f)] == ["My-Model-7B", "Mine-1B"]


def test_add_reported_refuses_invalid_and_duplicate_entries(tmp_path):
    f = tmp_path / "r.jsonl"
    with pytest.raises(UsageError) as info:
        add_reported(_entry(value=41.2), f)
    assert "write 67.0% as 0.670" in info.value.hint
    assert not f.exists()
    with pytest.raises(UsageError, match="source_date"):
        add_reported(_entry(source_date="June 2024"), f)
    with pytest.raises(UsageError, match="missing field 'source'|'source' must be"):
        add_reported(_entry(source=""), f)
    add_reported(_entry(), f)
    with pytest.raises(UsageError, match="already holds"):
        add_reported(_entry(value=0.5), f)
    assert len(f.read_text(encoding="utf-8").splitlines()) == 1


def test_to_row_matches_file_format():
    row = _entry(note=None).to_row()
    assert list(row)[:8] == ["model", "benchmark", "metric", "value", "setting", "source", "source_date",
                             "reported_by"]
    assert row["open_weights"] is True and "note" not in row
