"""The bundled example examples/leetcode_style.jsonl: well-formed, its references pass, wrong answers fail."""

import ast
import re
from pathlib import Path

import pytest

from coderank.execution.pool import Executor, Job
from coderank.problems import load_benchmark

FILE = Path(__file__).resolve().parents[2] / "examples" / "leetcode_style.jsonl"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark(str(FILE))


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=1) as executor:
        yield executor


def test_every_problem_is_a_long_statement_with_a_class_solution_stub(bench):
    assert 12 <= len(bench) <= 20
    assert [p.task_id for p in bench] == [f"leetcode-style/{i}" for i in range(1, len(bench) + 1)]
    for p in bench:
        where = p.task_id
        assert p.entry_point == "Solution" and p.metadata["source"] == "coderank", where
        assert len(p.question.split()) >= 150, f"{where}: a long statement"
        assert "Example 1:" in p.question and "Constraints:" in p.question, where
        assert p.starter_code.startswith("from typing import List\n\n\nclass Solution:\n    def "), where
        assert re.fullmatch(r"    def \w+\(self.*\) -> .+:", p.starter_code.splitlines()[-1]), where
        method = ast.parse(p.program(p.canonical_solution)).body[-1].body[0]
        assert ast.get_docstring(method) == p.question, where
        assert p.test.startswith("def check(candidate):\n"), where
        assert p.test.count(f"assert Solution().{method.name}(") >= 8, where


def test_every_reference_solution_passes_in_the_sandbox(bench, ex):
    results = list(ex.map(Job(p.task_id, p, p.program(p.canonical_solution)) for p in bench))
    assert len(results) == len(bench)
    failed = {job.key: f"{v.status.value}: {v.detail} {v.output}".strip() for job, v in results if not v.passed}
    assert not failed, failed


def test_a_whole_class_written_by_a_chat_model_passes_and_wrong_ones_fail(bench, ex):
    p = bench.problems["leetcode-style/7"]
    right = p.starter_code + p.canonical_solution  # the class alone, as a chat answer gives it
    wrong = p.starter_code + "        return max(weights) * 2\n"
    lazy = p.starter_code + "        return None\n"
    results = {job.key: v for job, v in ex.map([Job(k, p, code) for k, code in
                                                  (("right", right), ("wrong", wrong), ("lazy", lazy))])}
    assert results["right"].passed, results["right"]
    assert results["wrong"].status.value == "failed" and "lightestHeaviestBoat" in results["wrong"].detail
    assert results["lazy"].status.value == "failed"
