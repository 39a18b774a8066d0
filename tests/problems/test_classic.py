"""The bundled "classic" benchmark: well-formed, its references pass in the sandbox, wrong answers fail."""

import doctest
import re

import pytest

from coderank.execution.pool import Executor, Job
from coderank.problems import load_benchmark, names
from coderank.types import Status


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("classic")


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=2) as executor:
        yield executor


def test_classic_is_registered_with_at_least_12_problems_in_stable_order(bench):
    assert "classic" in names()
    assert bench.name == "classic" and bench.version == "1"
    assert len(bench) >= 12
    ids = [p.task_id for p in bench]
    assert ids == [f"classic/{i}" for i in range(len(bench))]
    assert len(set(ids)) == len(ids)
    assert len({p.entry_point for p in bench}) == len(bench)
    assert bench.sha256 == load_benchmark("classic").sha256


def test_every_problem_is_humaneval_shaped(bench):
    for p in bench:
        where = f"{p.task_id} ({p.entry_point})"
        assert p.language == "python", where
        assert p.metadata["source"] == "coderank" and p.metadata["difficulty"] in ("easy", "medium"), where
        assert re.search(rf"^def {p.entry_point}\(", p.prompt, re.M), where
        # The prompt ends right after the docstring, so a model continues with the body.
        assert p.prompt.endswith('    """\n'), where
        compile(p.prompt + "    pass\n", p.task_id, "exec")
        compile(p.program(p.canonical_solution), p.task_id, "exec")
        assert p.canonical_solution.strip(), where
        assert all(line.startswith("    ") for line in p.canonical_solution.splitlines() if line.strip()), where
        assert p.test.startswith("def check(candidate):\n"), where
        asserts = p.test.count("assert ")
        assert 8 <= asserts <= 15, f"{where}: {asserts} asserts"


def test_docstring_examples_hold_for_the_reference_solutions(bench):
    # Trusted code of our own: run the prompts' examples (doctest) against the canonical solutions.
    for p in bench:
        ns: dict = {}
        exec(compile(p.program(p.canonical_solution), p.task_id, "exec"), ns)
        runner = doctest.DocTestRunner()
        for test in doctest.DocTestFinder().find(ns[p.entry_point], p.entry_point, globs=dict(ns)):
            runner.run(test)
        assert runner.tries >= 2 and runner.failures == 0, f"{p.task_id}: docstring examples fail"


def test_every_reference_solution_passes_in_the_sandbox(bench, ex):
    results = list(ex.map(Job(p.task_id, p, p.program(p.canonical_solution)) for p in bench))
    assert len(results) == len(bench)
    failed = {job.key: f"{v.status.value}: {v.detail} {v.output}".strip() for job, v in results if not v.passed}
    assert not failed, failed


# Plausible wrong answers, by entry point; every problem is also tried with "return None".
WRONG = {
    "reverse_words": ['    return " ".join(s.split(" ")[::-1])\n'],  # does not collapse spaces
    "max_vowels": ['    return sum(ch in "aeiou" for ch in s[:k])\n'],  # first window only
    "remove_stars": ['    return s.replace("*", "")\n'],  # drops the stars but keeps their characters
    "two_sum": [  # right answers, quadratic time: the 10**5-sized input runs past the CPU limit
        "    for i in range(len(nums)):\n"
        "        for j in range(i + 1, len(nums)):\n"
        "            if nums[i] + nums[j] == target:\n"
        "                return [i, j]\n"
    ],
    "merge_intervals": [  # forgets to sort first
        "    merged = []\n"
        "    for start, end in intervals:\n"
        "        if merged and start <= merged[-1][1]:\n"
        "            merged[-1][1] = max(merged[-1][1], end)\n"
        "        else:\n"
        "            merged.append([start, end])\n"
        "    return merged\n"
    ],
    "rotate_matrix": ["    return [list(row) for row in zip(*matrix)][::-1]\n"],  # counter-clockwise
    "group_anagrams": [  # groups in first-seen order, words unsorted
        "    groups = {}\n"
        "    for w in words:\n"
        "        groups.setdefault(''.join(sorted(w)), []).append(w)\n"
        "    return list(groups.values())\n"
    ],
    "run_length_encode": [  # leaves out counts of 1
        "    import itertools\n"
        "    return ''.join(ch + (str(n) if n > 1 else '') for ch, n in\n"
        "                   ((c, len(list(g))) for c, g in itertools.groupby(s)))\n"
    ],
    "run_length_decode": [  # single-digit counts only
        "    return ''.join(encoded[i] * int(encoded[i + 1]) for i in range(0, len(encoded), 2))\n"
    ],
    "kth_largest": ["    return sorted(set(nums))[-k]\n"],  # counts repeated values once
    "rotate_in_place": [  # returns a rotated copy instead of changing the list
        "    if not nums:\n"
        "        return []\n"
        "    k %= len(nums)\n"
        "    return nums[-k:] + nums[:-k]\n"
    ],
}


def test_wrong_solutions_fail(bench, ex):
    assert set(WRONG) <= {p.entry_point for p in bench}
    jobs = []
    for p in bench:
        for n, body in enumerate(["    return None\n", *WRONG.get(p.entry_point, [])]):
            compile(p.program(body), p.task_id, "exec")
            jobs.append(Job((p.task_id, p.entry_point, n), p, p.program(body)))
    results = list(ex.map(jobs))
    assert len(results) == len(jobs)
    passed = sorted(job.key for job, v in results if v.passed)
    assert not passed, f"wrong solutions passed: {passed}"
    statuses = {job.key: v.status for job, v in results}
    assert statuses[next(k for k in statuses if k[1] == "two_sum" and k[2] == 1)] is Status.TIMEOUT
