"""What running the sandbox on Ray costs: the same samples through the local Executor and through RayExecutor.

Scores the same programs (164 canonical HumanEval solutions x --repeat, 3,280 by default) twice in one run:

1. the local :class:`~coderank.execution.pool.Executor` with W workers (W = the cores, or --workers);
2. :class:`~coderank.execution.ray_pool.RayExecutor` on a one-node Ray started here with W CPUs (so one actor,
   W sandbox workers: the same pool, behind Ray), or with --nodes K on K simulated nodes on this machine
   (``ray.cluster_utils.Cluster``, W // K CPUs each: the same cores, more actors and more driver traffic).

Both pools are started before the clock starts (start-up is printed apart: Ray's is seconds, paid once per
command); every verdict must agree. It prints both times and the ratio Ray / local (the goal: at most 1.15).
On a real cluster the ratio is per node; what a cluster adds on top is the network round trip per batch
(hidden by the batches in flight) and the problems' first transfer to each node.

Run alone on an idle machine:  python benchmarks/ray_overhead.py [--repeat 20] [--nodes 2]
A quick check that it works:   python benchmarks/ray_overhead.py --limit 20
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterator

import ray

from coderank.execution.pool import Executor, Job
from coderank.execution.ray_pool import RayExecutor
from coderank.execution.sandbox import Limits
from coderank.problems import load_benchmark


def jobs(repeat: int, limit: int | None) -> list[Job]:
    bench = list(load_benchmark("humaneval"))
    out = [Job((r, p.task_id), p, p.prompt + p.canonical_solution) for r in range(repeat) for p in bench]
    return out[:limit] if limit else out


def timed(pool: Executor | RayExecutor, work: list[Job]) -> tuple[float, dict[object, str]]:
    t = time.perf_counter()
    verdicts = {job.key: v.status.value for job, v in pool.map(work)}
    return time.perf_counter() - t, verdicts


def start_ray(cores: int, nodes: int) -> Iterator[None]:
    if nodes <= 1:
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        yield
        ray.shutdown()
        return
    from ray.cluster_utils import Cluster

    per = max(1, cores // nodes)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": per, "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=per)
    ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()
    cluster.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20, help="copies of the 164 canonical solutions (default 20)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N samples (a quick check)")
    ap.add_argument("--workers", type=int, default=None, help="sandbox workers in all (default: the cores)")
    ap.add_argument("--nodes", type=int, default=1, help="simulated Ray nodes sharing those workers (default 1)")
    args = ap.parse_args()
    cores = args.workers or len(os.sched_getaffinity(0))
    work = jobs(args.repeat, args.limit)
    limits = Limits(cpu_seconds=3.0)
    print(f"{len(work)} samples, {cores} sandbox workers; Ray on {args.nodes} node(s)", flush=True)

    t = time.perf_counter()
    with Executor(workers=cores, limits=limits) as local:
        local_start = time.perf_counter() - t
        local_s, local_v = timed(local, work)

    ray_ctx = start_ray(cores, args.nodes)
    t = time.perf_counter()
    next(ray_ctx)
    ray_up = time.perf_counter() - t
    try:
        t = time.perf_counter()
        per_node = max(1, cores // args.nodes)
        with RayExecutor("auto", workers=per_node, limits=limits) as remote:
            ray_start = time.perf_counter() - t
            ray_s, ray_v = timed(remote, work)
            nodes = len(remote.engine["nodes"])
    finally:
        next(ray_ctx, None)

    differ = sum(local_v[k] != ray_v.get(k) for k in local_v) + len(set(ray_v) - set(local_v))
    passed = sum(v == "passed" for v in local_v.values())
    print(f"local Executor: {local_s:7.2f} s ({len(work) / local_s:6.1f} samples/s), start-up {local_start:.1f} s")
    print(f"Ray, {nodes} node(s):  {ray_s:7.2f} s ({len(work) / ray_s:6.1f} samples/s), start-up "
          f"{ray_up:.1f} s (Ray) + {ray_start:.1f} s (actors and their pools)")
    print(f"ratio Ray / local: {ray_s / local_s:.3f} (goal <= 1.15); {passed}/{len(work)} passed; "
          f"verdicts that differ: {differ}")


if __name__ == "__main__":
    main()
