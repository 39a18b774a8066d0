import json

import pytest

from coderank.errors import InputError, UsageError
from coderank.problems import load_benchmark


def test_humaneval_has_164_problems_from_the_package_data():
    bench = load_benchmark("humaneval")
    assert len(bench) == 164
    assert bench.problems["HumanEval/0"].entry_point == "has_close_elements"
    assert bench.sha256.startswith("sha256:") and bench.sha256 == load_benchmark("humaneval").sha256


def test_unknown_benchmark_suggests_the_close_name():
    with pytest.raises(UsageError) as info:
        load_benchmark("humaneva")
    assert "humaneval" in info.value.hint


def _write(tmp_path, rows):
    path = tmp_path / "probs.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


GOOD = {"task_id": "rev/0", "prompt": "def rev(s):\n", "entry_point": "rev",
        "cases": [{"input": ["a b"], "output": "b a"}], "canonical_solution": "    return ' '.join(s.split()[::-1])\n"}


def test_problem_file_with_cases_loads(tmp_path):
    bench = load_benchmark(str(_write(tmp_path, [GOOD])))
    assert list(bench.problems) == ["rev/0"]
    assert "def check(candidate)" in bench.problems["rev/0"].test


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("{not json", "invalid JSON"),
        ({**GOOD, "entry_point": "not an id"}, "not a Python identifier"),
        ({k: v for k, v in GOOD.items() if k != "cases"}, "no tests"),
        ({**GOOD, "cases": [{"input": "a b", "output": "b a"}]}, "cases[0]"),
        ({**GOOD, "test": "def check(candidate):\n  assert ("}, "not valid Python"),
        ({**GOOD, "colour": 1}, "unknown field"),
        ({k: v for k, v in GOOD.items() if k != "cases"} | {"test": "def chek(candidate):\n    assert candidate(1)\n"},
         "never calls the program"),
        ({k: v for k, v in GOOD.items() if k != "cases"} | {"test": "x = 1\n"}, "never calls the program"),
    ],
)
def test_problem_file_errors_name_file_and_line(tmp_path, row, needle):
    path = _write(tmp_path, [GOOD | {"task_id": "ok/1"}, row])
    with pytest.raises(InputError) as info:
        load_benchmark(str(path))
    assert f"{path}:2" in info.value.message and needle in info.value.message


def test_duplicate_task_ids_are_refused(tmp_path):
    with pytest.raises(InputError, match="duplicate"):
        load_benchmark(str(_write(tmp_path, [GOOD, GOOD])))
