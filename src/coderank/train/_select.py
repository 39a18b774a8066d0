"""Choosing the best checkpoint on a held-out dev set — never on the benchmark that gets reported.

Selecting a checkpoint by its HumanEval score and then reporting HumanEval is tuning on the test set: the
reported number is optimistically biased. So the dev set is our bundled ``classic`` problems, MBPP's
validation split ``mbpp-valid`` (or ``mbpp-train``), or the user's own problem file, and a set that is a reported
benchmark (HumanEval, MBPP's test split ``mbpp``) or overlaps one (the same task ids, ``#variant`` suffixes of
``coderank perturb`` included, or the same prompts) is refused unless the user passes
``--allow-test-selection``; the manifest then says so.

Each candidate checkpoint is evaluated greedily through the fast path (llama.cpp, the base GGUF plus the
checkpoint's adapter converted to GGUF) with the same prompt format it was trained in; the highest pass@1
wins and ties go to the later step. The evaluations are ordinary coderank runs, kept in ``DIR/selection.db``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coderank.errors import CoderankError, UsageError
from coderank.problems import Benchmark, load_benchmark

log = logging.getLogger(__name__)

TEST_BENCHMARKS = ("humaneval", "mbpp")
"""Benchmarks coderank reports on: never used to choose a checkpoint unless explicitly allowed."""

_SHOWN = {"humaneval": "HumanEval", "mbpp": "MBPP test-split"}

RULE = "highest greedy pass@1 on the dev set; ties go to the later step"


@dataclass(frozen=True)
class DevSet:
    """The set checkpoints are chosen on.

    Attributes:
        spec: As given (``classic`` or a problem file).
        benchmark: The loaded problems.
        test_overlap: Task ids that are (or derive from) a reported benchmark's problems.
        test_selection_allowed: The user passed ``--allow-test-selection``.
    """

    spec: str
    benchmark: Benchmark
    test_overlap: tuple[str, ...]
    test_selection_allowed: bool

    def record(self) -> dict[str, Any]:
        """What the manifest keeps about the dev set."""
        b = self.benchmark
        return {"spec": self.spec, "name": b.name, "version": b.version, "sha256": b.sha256, "problems": len(b),
                "test_overlap": len(self.test_overlap), "test_selection_allowed": self.test_selection_allowed}


def test_overlap(bench: Benchmark) -> list[str]:
    """Task ids of ``bench`` that are a reported benchmark's problems (by name, task id or prompt)."""
    return [task_id for task_id, _ in _overlap_by_benchmark(bench)]


def _overlap_by_benchmark(bench: Benchmark) -> list[tuple[str, str]]:
    """``(task id, reported benchmark it belongs to)`` for each problem of ``bench`` that is a reported one's."""
    if bench.name in TEST_BENCHMARKS:
        return [(task_id, bench.name) for task_id in bench.problems]
    hits = []
    for name in TEST_BENCHMARKS:
        try:
            test = load_benchmark(name)
        except CoderankError:  # its data is not installed, so a file cannot be a copy of it either way we know
            continue
        prompts = {p.prompt.strip() for p in test}
        for p in bench:
            if p.task_id.split("#", 1)[0] in test.problems or p.prompt.strip() in prompts:
                hits.append((p.task_id, name))
    return hits


def check_dev_set(spec: str, allow_test: bool) -> DevSet:
    """Load the dev set and refuse a reported benchmark (or a copy of one) unless ``allow_test``.

    Raises:
        UsageError: the set is a test set and ``allow_test`` is false; an unknown benchmark or missing file.
        InputError: an invalid problem file.
    """
    bench = load_benchmark(spec)
    found = _overlap_by_benchmark(bench)
    overlap = [task_id for task_id, _ in found]
    if overlap and not allow_test:
        what = (f"{bench.name} is a benchmark coderank reports (a test set)" if bench.name in TEST_BENCHMARKS
                else f"{len(overlap)} of its problems are {_SHOWN[found[0][1]]} problems (e.g. {overlap[0]})")
        raise UsageError(f"refusing to choose checkpoints on {spec}: {what}; selecting on the test set inflates "
                         "the score you then report",
                         "use --select-on mbpp-valid (MBPP's validation split), classic, or your own problem file; "
                         "pass --allow-test-selection only if you will not report that benchmark's score")
    if overlap:
        log.warning("choosing checkpoints on %s, which overlaps a reported benchmark (allowed explicitly)", spec)
    return DevSet(spec, bench, tuple(overlap), allow_test)


Progress = Callable[[str, int, int], None]


def score_checkpoints(candidates: list[tuple[str, int, str]], dev: DevSet, template: str, store: Path,
                      max_tokens: int, progress: Progress | None = None, *,
                      threads: int | None = None) -> dict[str, dict[str, Any]]:
    """Evaluate each ``(name, step, model spec)`` greedily on the dev set; ``{name: {step, pass@1, ...}}``.

    Args:
        candidates: ``(name, step, model spec)`` of each checkpoint.
        dev: The dev set (never a test split).
        template: The prompt template the model was trained with.
        store: The selection's own store (answers cached: a killed selection resumes).
        max_tokens: Generation limit per answer.
        threads: CPU threads of a local model (``coderank train --threads``; None: all cores). Two trainings
            side by side each given ``--threads 1`` must not score with all cores each: four busy threads on two
            cores ran llama.cpp at 6 tokens/s instead of about 30.
        progress: ``progress(message, candidates done, candidates)``, also at every tenth of a candidate's answers.

    Raises:
        CoderankError: a candidate cannot be loaded or evaluated.
    """
    from coderank.evaluation import EvalConfig, evaluate
    from coderank.models.backends import BackendOptions

    scores: dict[str, dict[str, Any]] = {}
    for n, (name, step, spec) in enumerate(candidates, start=1):
        if progress:
            progress(f"{name} ({n} of {len(candidates)})", n - 1, len(candidates))

        def answers(phase: str, done: int, total: int, name: str = name, n: int = n) -> None:
            if progress and phase == "generating" and total and (done == total or done % max(1, total // 10) == 0):
                progress(f"{name}: {done}/{total} answers generated", n - 1, len(candidates))

        result = evaluate(EvalConfig(model=spec, benchmark=dev.spec, template=template, store=store,
                                     max_tokens=max_tokens, backend=BackendOptions(threads=threads)),
                          progress=answers)
        p1 = result.pass_at_1
        value, low, high = (p1.value, p1.low, p1.high) if p1 is not None else (None, None, None)
        passed = sum(v["c"] for v in result.per_problem.values())
        scores[name] = {"step": step, "pass@1": value, "low": low, "high": high, "passed": passed,
                        "problems": result.problems, "run_id": result.run_id}
        log.info("%s (step %d): pass@1 %s on %s", name, step, value, dev.spec)
    if progress:
        progress(f"{len(candidates)} checkpoint{'s' * (len(candidates) != 1)} scored", len(candidates), len(candidates))
    return scores


def choose(scores: dict[str, dict[str, Any]]) -> str:
    """The candidate with the highest pass@1; ties go to the later step (see :data:`RULE`)."""
    if not scores:
        raise ValueError("no candidates")
    return max(scores, key=lambda k: (scores[k]["pass@1"] or 0.0, scores[k]["step"]))
