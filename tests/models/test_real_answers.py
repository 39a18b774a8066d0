"""Real answers of the embedded model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M, greedy, `chat` template), recorded
from a full HumanEval run, go through extraction and the sandbox to the verdicts that run gave."""

import json
from pathlib import Path

import pytest

from coderank.execution.pool import Executor, Job
from coderank.models.extract import extract_program
from coderank.problems import load_benchmark

ANSWERS = [json.loads(line) for line in (Path(__file__).parent / "data" / "qwen05b_humaneval_answers.jsonl")
           .read_text().splitlines()]


@pytest.fixture(scope="module")
def verdicts():
    bench = load_benchmark("humaneval")
    jobs = []
    for row in ANSWERS:
        problem = bench.problems[row["task_id"]]
        ex = extract_program(problem, row["answer"], "chat")
        assert ex.program is not None, (row["task_id"], ex.note)
        jobs.append(Job(row["task_id"], problem, ex.program))
    with Executor(workers=2) as executor:
        return {job.key: v for job, v in executor.map(jobs)}


@pytest.mark.parametrize("row", ANSWERS, ids=[r["task_id"] for r in ANSWERS])
def test_real_answer_gets_the_recorded_verdict(row, verdicts):
    assert verdicts[row["task_id"]].status.value == row["status"], verdicts[row["task_id"]].detail


def test_the_fixture_covers_truncated_and_every_common_outcome():
    assert {r["status"] for r in ANSWERS} >= {"passed", "failed", "error"}
    assert any(r["finish_reason"] == "length" for r in ANSWERS)
