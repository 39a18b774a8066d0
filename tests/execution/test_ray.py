"""Sandboxed execution on Ray (issue 18): the local verdicts, from a cluster of simulated nodes in this process.

One ``ray.cluster_utils.Cluster`` (a head and a second node, one CPU each: one sandbox worker per node) serves
every test; the node-loss test adds a third node and removes it mid-run.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from coderank.execution.pool import Executor, Job  # noqa: E402
from coderank.execution.ray_pool import NodeExecutor, RayExecutor  # noqa: E402
from coderank.execution.sandbox import Limits  # noqa: E402
from coderank.problems import load_benchmark  # noqa: E402
from coderank.store import Store  # noqa: E402
from coderank.types import Problem, Status  # noqa: E402

LIMITS = Limits(cpu_seconds=1.0, wall_seconds=3.0)

ADD = Problem("ray/add", "def add(a, b):\n", "add", "def check(candidate):\n    assert candidate(2, 3) == 5\n"
              "    assert candidate(-1, 1) == 0\n")

PROGRAMS = {
    "passes": "def add(a, b):\n    return a + b\n",
    "fails": "def add(a, b):\n    return a - b\n",
    "raises": "def add(a, b):\n    raise ValueError('no')\n",
    "syntax": "def add(a, b)\n    return a + b\n",
    "loops": "def add(a, b):\n    while True:\n        pass\n",
    "sleeps": "import time\ndef add(a, b):\n    time.sleep(60)\n",
    "kills itself": "import os, signal\ndef add(a, b):\n    os.kill(os.getpid(), signal.SIGKILL)\n",
    "exits": "import os\ndef add(a, b):\n    os._exit(3)\n",
    "eats memory": "def add(a, b):\n    x = bytearray(4 << 30)\n    return a + b\n",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False,
        # a node that leaves is noticed within a second or two, not Ray's default half minute
        "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 3},
    })
    c.add_node(num_cpus=1)
    ray.init(address=c.address, log_to_driver=False, logging_level="warning")
    # the fragile actor below is defined here, not in an importable module: ship it to the workers by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def _verdicts(pool: Any, jobs: list[Job]) -> dict[Any, tuple[str, str]]:
    seen: dict[Any, tuple[str, str]] = {}
    for job, v in pool.map(jobs):
        assert job.key not in seen, f"{job.key} yielded twice"
        seen[job.key] = (v.status.value, v.detail)
    return seen


def test_the_nodes_give_the_local_verdicts(cluster):
    jobs = [Job(name, ADD, program) for name, program in PROGRAMS.items()]
    with Executor(workers=1, limits=LIMITS) as local:
        expected = _verdicts(local, jobs)
        local_layers = local.isolation
    with RayExecutor("auto", limits=LIMITS) as pool:
        got = _verdicts(pool, jobs)
        engine = pool.engine
        layers = pool.isolation
    assert got == expected
    assert {k: s for k, (s, _) in got.items()} == {
        "passes": "passed", "fails": "failed", "raises": "error", "syntax": "error", "loops": "timeout",
        "sleeps": "timeout", "kills itself": "crashed", "exits": "crashed", "eats memory": "oom"}
    # every layer active here is active on each node (their texts differ only in the uid each node's pool took)
    assert {k: v.startswith("active") for k, v in layers.items()} == {
        k: v.startswith("active") for k, v in local_layers.items()}
    assert engine["engine"] == "ray" and len(engine["nodes"]) == 2 and engine["workers"] == 2
    assert engine["actor_deaths"] == 0


def test_a_layer_missing_on_one_node_reads_as_missing():
    pool = RayExecutor.__new__(RayExecutor)
    pool._nodes = [{"host": "a", "isolation": {"landlock": "active (ABI 7)", "seccomp": "active"}},
                   {"host": "b", "isolation": {"landlock": "active (ABI 6)", "seccomp": "unavailable (no filter)"}}]
    assert pool.isolation == {"landlock": "active (ABI 7), and alike on 1 more node(s)",
                              "seccomp": "unavailable (no filter) on b; active on 1 other node(s)"}


def test_many_jobs_stream_through_both_nodes(cluster):
    jobs = [Job(i, ADD, PROGRAMS["passes" if i % 3 else "fails"]) for i in range(120)]
    with RayExecutor("auto", limits=LIMITS) as pool:
        got = _verdicts(pool, jobs)
    assert sorted(got) == list(range(120))
    assert Counter(s for s, _ in got.values()) == {"passed": 80, "failed": 40}


def test_a_node_that_leaves_mid_run_loses_and_duplicates_nothing(cluster):
    third = cluster.add_node(num_cpus=1)
    slow = "import time\ndef add(a, b):\n    t = time.process_time()\n    while time.process_time() - t < 0.05:\n" \
           "        pass\n    return a + b\n"
    jobs = [Job(i, ADD, slow if i % 2 else PROGRAMS["fails"]) for i in range(60)]
    seen: list[int] = []
    statuses: dict[int, str] = {}
    with RayExecutor("auto", limits=LIMITS) as pool:
        assert len(pool.engine["nodes"]) == 3
        for job, v in pool.map(jobs):
            seen.append(job.key)
            statuses[job.key] = v.status.value
            if len(seen) == 10:
                cluster.remove_node(third)
        engine = pool.engine
    assert sorted(seen) == list(range(60)), "every job exactly once"
    assert statuses == {i: "passed" if i % 2 else "failed" for i in range(60)}
    assert engine["actor_deaths"] >= 1 and engine["jobs_retried"] >= 1


class _Fragile(NodeExecutor):
    """An executor actor that dies when it is handed a program that says so: a program that kills its actor."""

    def submit(self, batch: list[tuple[int, str, str]], problems: dict[str, Any]) -> int:
        if any("KILL-THE-ACTOR" in program for _, _, program in batch):
            os._exit(1)
        return super().submit(batch, problems)


def test_a_program_that_kills_its_actor_ends_crashed_and_the_others_pass(cluster):
    killer = textwrap.dedent("""\
        # KILL-THE-ACTOR
        def add(a, b):
            return a + b
        """)
    jobs = [Job(i, ADD, killer if i == 5 else PROGRAMS["passes"]) for i in range(30)]
    with RayExecutor("auto", limits=LIMITS, actor_class=_Fragile) as pool:
        got = _verdicts(pool, jobs)
        engine = pool.engine
    assert sorted(got) == list(range(30))
    status, detail = got.pop(5)
    assert status == Status.CRASHED.value and "died 3 times" in detail, detail
    assert {s for s, _ in got.values()} == {"passed"}, "its batch-mates ran again, alone, and passed"
    assert engine["actor_deaths"] == 3


def _samples(tmp_path: Path) -> Path:
    rows = []
    for i, p in enumerate(list(load_benchmark("humaneval"))[:6]):
        rows.append({"task_id": p.task_id, "completion": p.canonical_solution if i % 3 else "    return None\n"})
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_verify_rescore_on_ray_give_the_local_run_and_name_the_nodes(cluster, cli, tmp_path):
    samples = _samples(tmp_path)
    code, out, _ = cli("score", str(samples), "--json", "--no-results", "--store", str(tmp_path / "ray.db"),
                       "--ray", "auto")
    assert code == 0, out
    on_ray = json.loads(out)
    code, out, _ = cli("score", str(samples), "--json", "--no-results", "--store", str(tmp_path / "local.db"))
    local = json.loads(out)
    assert on_ray["run_id"] == local["run_id"], "where programs run is no part of what is measured"
    assert on_ray["status_counts"] == local["status_counts"] == {"passed": 4, "failed": 2}
    assert on_ray["engine"]["engine"] == "ray" and local["engine"]["engine"] == "local"
    with Store(tmp_path / "ray.db") as db:
        execution = db.get_run(on_ray["run_id"]).manifest["execution"]
    with Store(tmp_path / "local.db") as db:
        assert "execution" not in db.get_run(local["run_id"]).manifest
    assert execution["engine"] == "ray" and len(execution["nodes"]) == 2
    assert {"node_id", "host", "ip", "workers"} <= set(execution["nodes"][0])

    store = ("--store", str(tmp_path / "ray.db"))
    code, out, _ = cli("verify", on_ray["run_id"], *store, "--ray", "auto", "--json")
    verified = json.loads(out)
    assert code == 0 and verified["ok"] and verified["engine"]["engine"] == "ray"
    code, out, _ = cli("rescore", on_ray["run_id"], "--timeout", "5", *store, "--ray", "auto", "--json")
    rescored = json.loads(out)
    assert code == 0 and rescored["status_counts"] == {"passed": 4, "failed": 2}
    assert len(rescored["manifest"]["execution"]["nodes"]) == 2


def test_augment_on_ray_derives_the_local_tests(cluster, cli, tmp_path):
    args = ("augment", "classic", "--limit", "6", "--per-problem", "20", "--mutants", "10", "--json")
    code, out, _ = cli(*args, "--out", str(tmp_path / "ray.jsonl"), "--ray", "auto")
    assert code == 0, out
    on_ray = json.loads(out)
    assert on_ray["totals"]["kept"] >= 1  # a new test was derived: the comparison below means something
    assert on_ray["engine"]["engine"] == "ray" and len(on_ray["engine"]["nodes"]) == 2
    code, out, _ = cli(*args, "--out", str(tmp_path / "local.jsonl"))
    assert code == 0, out
    assert json.loads(out)["engine"]["engine"] == "local"
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


CLASSIC = ("reverse_words", "max_vowels", "remove_stars")


def _answer(body):
    """Defines the entry points of classic's first problems: wrong answers, but programs that run."""
    return "```python\n" + "".join(f"def {name}(*args):\n    return 0\n" for name in CLASSIC) + "```"


def test_eval_on_ray_is_the_same_run_and_records_the_cluster(cluster, cli, tmp_path, chat_server):
    pytest.importorskip("openai")
    url = chat_server(_answer)
    args = ("eval", "-m", "openai:m", "--base-url", url, "-b", "classic", "--limit", "3", "--json")
    code, out, _ = cli(*args, "--store", str(tmp_path / "ray.db"), "--ray", "auto")
    assert code == 0, out
    on_ray = json.loads(out)
    local = json.loads(cli(*args, "--store", str(tmp_path / "local.db"))[1])
    assert on_ray["run_id"] == local["run_id"]
    assert on_ray["status_counts"] == local["status_counts"] == {"failed": 3}
    assert on_ray["manifest"]["execution"]["engine"] == "ray" and "execution" not in local["manifest"]


def test_without_ray_the_option_names_the_install_command(monkeypatch):
    from coderank.errors import CoderankError
    from coderank.execution import ray_pool

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(CoderankError) as info:
        ray_pool.check_address("auto")
    assert "ray package" in info.value.message and "[ray]" in info.value.hint and "setup.sh --ray" in info.value.hint


def test_an_address_where_nothing_listens_is_refused_at_once(cli, tmp_path):
    from coderank.errors import SandboxError
    from coderank.execution import ray_pool

    with pytest.raises(SandboxError) as info:
        ray_pool._probe("127.0.0.1:1")  # Ray would retry it for minutes
    assert "no Ray cluster answers at 127.0.0.1:1" in info.value.message and "ray start --head" in info.value.hint
    code, _, err = cli("score", str(_samples(tmp_path)), "--ray", " ")
    assert code == 2 and "--ray needs an address" in err and "Traceback" not in err


def test_a_node_that_joins_mid_run_gets_work_and_is_recorded(cluster, monkeypatch):
    from coderank.execution import ray_pool

    monkeypatch.setattr(ray_pool, "_SCAN_EVERY", 0.5)  # look for new nodes often: the run is short
    slow = "import time\ndef add(a, b):\n    t = time.process_time()\n    while time.process_time() - t < 0.1:\n" \
           "        pass\n    return a + b\n"
    seen: list[int] = []
    statuses: dict[int, str] = {}
    made = 0

    def jobs(pool: RayExecutor) -> Iterator[Job]:
        # 160 jobs, and on a loaded machine (where a node takes long to start) more, until the node has joined
        # and 40 jobs were handed out after that: the run must outlast the join however slow the machine is
        nonlocal made
        deadline, after = time.monotonic() + 120, None
        while made < 160 or (after is None and time.monotonic() < deadline) or (after is not None and made < after):
            if after is None and pool.joined:
                after = made + 40
            yield Job(made, ADD, slow if made % 2 else PROGRAMS["fails"])
            made += 1

    with RayExecutor("auto", limits=LIMITS) as pool:
        assert len(pool.engine["nodes"]) == 2
        joined = None
        for job, v in pool.map(jobs(pool)):
            seen.append(job.key)
            statuses[job.key] = v.status.value
            if len(seen) == 5:
                joined = cluster.add_node(num_cpus=1)
        engine, isolation = pool.engine, pool.isolation
    try:
        assert sorted(seen) == list(range(made)), "every job exactly once"
        assert statuses == {i: "passed" if i % 2 else "failed" for i in range(made)}
        assert engine["nodes_joined"] == 1 and len(engine["nodes"]) == 3
        assert joined is not None and joined.node_id in {n["node_id"] for n in engine["nodes"]}
        assert all(state.startswith("active") for state in isolation.values())  # the new node's layers counted
    finally:
        cluster.remove_node(joined)


def test_workers_are_per_node_and_each_node_checks_them_against_its_own_cores(cluster):
    from coderank.errors import SandboxError, UsageError
    from coderank.execution.pool import check_workers

    cap = 8 * (os.cpu_count() or 1)
    assert check_workers(cap + 1, per_node=True) == cap + 1  # the driver's cores do not bound a node's workers
    with pytest.raises(UsageError, match="per Ray node"):
        check_workers(0, per_node=True)
    with pytest.raises(UsageError):
        check_workers(cap + 1)  # the local pool still is bounded by this machine's cores
    with (pytest.raises(SandboxError, match="did not start on Ray node .*--workers must be between 1 and"),
          RayExecutor("auto", workers=cap + 1, limits=LIMITS)):
        pass
