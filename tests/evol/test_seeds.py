import itertools
import json
import re

import pytest

from coderank.errors import InputError
from coderank.evol.seeds import Seed, bundled_seeds, load_seeds
from coderank.problems import load_benchmark

# Words too generic to tell a task apart, left out before comparing seeds for near-duplicates.
_STOP = {"write", "a", "function", "that", "the", "of", "and", "or", "to", "returns", "return", "in", "is", "an",
         "it", "given", "with", "by", "as", "list", "string", "for", "python", "whether", "checks", "into", "each"}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower())) - _STOP


def test_bundled_seeds_are_many_unique_and_complete():
    seeds = bundled_seeds()
    assert len(seeds) >= 100
    assert len({s.id for s in seeds}) == len(seeds)
    assert all(s.instruction.strip() and s.source == "bundled" for s in seeds)
    assert all(isinstance(s, Seed) and s.id.startswith("seed-") for s in seeds)


def test_bundled_seeds_have_no_near_duplicates():
    seeds = bundled_seeds()
    normalised = [" ".join(re.findall(r"[a-z0-9]+", s.instruction.lower())) for s in seeds]
    assert len(set(normalised)) == len(normalised)
    for a, b in itertools.combinations(seeds, 2):
        wa, wb = _words(a.instruction), _words(b.instruction)
        assert len(wa & wb) / len(wa | wb) < 0.6, (a.id, b.id)


def test_bundled_seeds_do_not_name_humaneval_entry_points():
    entry_points = {p.entry_point for p in load_benchmark("humaneval")}
    assert len(entry_points) > 100
    for seed in bundled_seeds():
        text = f"{seed.instruction} {seed.input}"
        for name in entry_points:
            assert not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text, re.IGNORECASE), \
                (seed.id, name)


def test_bundled_file_has_topics():
    from importlib.resources import files

    lines = files("coderank.evol").joinpath("data", "seeds.jsonl").read_text("utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    assert all(isinstance(r["topic"], str) and r["topic"] for r in rows)
    assert len({r["topic"] for r in rows}) >= 8


def test_text_appends_input():
    assert Seed("x", "Do it.", "", "s").text == "Do it."
    assert Seed("x", "Do it.", "[1, 2]", "s").text == "Do it.\n\nInput:\n[1, 2]"


def test_load_our_jsonl(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"id": "a", "instruction": "Sort a list.", "input": "[3, 1]"}\n\n'
                    '{"id": "b", "instruction": "Reverse a string."}\n', encoding="utf-8")
    assert load_seeds(path) == [Seed("a", "Sort a list.", "[3, 1]", str(path)),
                                Seed("b", "Reverse a string.", "", str(path))]


def test_load_alpaca_json_array(tmp_path):
    path = tmp_path / "code_alpaca_20k.json"
    records = [
        {"instruction": "Create an array of length 5 which contains all even numbers between 1 and 10.",
         "input": "", "output": "arr = [2, 4, 6, 8, 10]"},
        {"instruction": "Write a replace method for a string class which replaces the given string with a given set "
                        "of characters.", "input": "string = \"Hello World!\"\nreplace_with = \"Greetings!\"",
         "output": "def replace(self, replace_with):\n    ..."},
    ]
    path.write_text(json.dumps(records, indent=4), encoding="utf-8")
    seeds = load_seeds(path)
    assert [s.id for s in seeds] == ["code_alpaca_20k-00000", "code_alpaca_20k-00001"]
    assert seeds[1].input.startswith("string = ")
    assert seeds[0].input == ""


def test_a_byte_order_mark_is_accepted_in_both_formats(tmp_path):
    array, lines = tmp_path / "a.json", tmp_path / "b.jsonl"
    array.write_text(json.dumps([{"instruction": "Add two numbers.", "input": ""}]), encoding="utf-8-sig")
    lines.write_text('{"id": "a", "instruction": "Sort a list."}\n', encoding="utf-8-sig")
    assert [s.instruction for s in load_seeds(array)] == ["Add two numbers."]
    assert load_seeds(lines) == [Seed("a", "Sort a list.", "", str(lines))]


def test_load_alpaca_jsonl(tmp_path):
    path = tmp_path / "alpaca.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"instruction": "Add two numbers.", "input": "1, 2", "output": "3"},
        {"instruction": "Print hello.", "input": "", "output": "print('hello')"},
    ]) + "\n", encoding="utf-8")
    seeds = load_seeds(path)
    assert [(s.id, s.instruction, s.input) for s in seeds] == [("alpaca-00000", "Add two numbers.", "1, 2"),
                                                                 ("alpaca-00001", "Print hello.", "")]


@pytest.mark.parametrize(("content", "where", "words"), [
    (b'{"id": "a", "instruction": "ok"}\n{"id": "b", "instruction": "caf\xe9"}\n', ":2", "UTF-8"),
    (b'{"id": "a", "instruction": "ok"}\n{"id": "b", "instruction": \n', ":2", "invalid JSON"),
    (b'{"id": "a", "instruction": "ok"}\n{"id": "b", "input": "x"}\n', ":2", "missing"),
    (b'{"id": "a", "instruction": "   "}\n', ":1", "empty"),
    (b'{"id": "a", "instruction": "x"}\n{"id": "b", "instruction": "y"}\n{"id": "a", "instruction": "z"}\n',
     ":3", "duplicate id 'a'"),
    (b'["not an object"]\n', "[index 0]", "expected a JSON object"),
    (b'[{"instruction": "ok"},\n {"instruction": ""}]\n', "[index 1]", "empty"),
    (b'[{"instruction": "ok"},\n {"output": "x"}]\n', "[index 1]", "missing"),
    (b'[{"id": "q", "instruction": "ok"}, {"id": "q", "instruction": "again"}]', "[index 1]", "duplicate id 'q'"),
    (b'[{"instruction": "ok"},\n {"instruction": }]\n', ":2", "invalid JSON"),
    (b'[{"instruction": "caf\xe9"}]', ":1", "UTF-8"),
    (b'{"instruction": "ok", "input": 3}\n', ":1", "\"input\" must be a string"),
])
def test_errors_name_file_and_place(tmp_path, content, where, words):
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_seeds(path)
    assert f"{path}{' ' if where.startswith('[') else ''}{where}" in info.value.message
    assert words in info.value.message
    assert info.value.hint


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_seeds(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no seed instructions"):
        load_seeds(empty)
