"""coderank distill with a scripted teacher: the filter, the choice, resumption, decontamination, manifest, CLI.

The teacher answers by the function a prompt asks for and the sample index (its request seed minus the run seed),
so each problem gets chosen answers. The sandbox, the store, eval and the contamination detectors are the real
ones (embeddings off: the n-gram and MinHash detectors). The embedded model runs the command in
``test_distill_embedded.py``.
"""

import json
import re

import pytest

from coderank.distill import MANIFEST_FIELDS, DistillConfig, distill, manifest_path, rank
from coderank.errors import InputError, UsageError
from coderank.execution.sandbox import Limits
from coderank.models import backends
from coderank.models.backends import Completion
from coderank.problems import load_benchmark
from coderank.store import Store

HE0 = load_benchmark("humaneval").problems["HumanEval/0"]
MBPP12 = load_benchmark("mbpp").problems["MBPP/12"]


def block(code):
    return f"Sure:\n\n```python\n{code}\n```\n"


ADD_OK = block("def add(a, b):\n    return a + b")
ADD_OK2 = block("def add(a, b):\n    total = a + b\n    return total")
ADD_OK3 = block("def add(a, b):\n    return sum((a, b))")
ADD_BAD = block("def add(a, b):\n    return a - b")
NEG_BAD = block("def neg(x):\n    return x")
NEG_OK = block("def neg(x):\n    return -x")
CLOSE_OK = block("def has_close_elements(numbers, threshold):\n    s = sorted(numbers)\n"
                 "    return any(b - a < threshold for a, b in zip(s, s[1:]))")
CLOSE_LEAK = block(HE0.prompt + HE0.canonical_solution)
SORT_LEAK = block(MBPP12.prompt.rstrip() + "\n    return sorted(M, key=sum)")  # MBPP/12 with its docstring

# function asked for -> answer of sample i (cycled)
TRUSTED = {"add": [ADD_BAD, ADD_OK, ADD_OK2, ADD_OK3], "neg": [NEG_BAD], "has_close_elements": [CLOSE_LEAK, CLOSE_OK],
           "sort_matrix": [SORT_LEAK]}

SELF = {
    "GOOD": ("```python\ndef double(x):\n    return 2 * x\n```\nTests:\n```python\nassert double(2) == 4\n"
             "assert double(0) == 0\n```"),
    "FAILS": "```python\ndef double(x):\n    return x + 2\n```\nTests:\n```python\nassert double(3) == 6\n```",
    "TRIVIAL": "```python\ndef double(x):\n    return 2 * x\n```\nTests:\n```python\ndouble(3)\nassert True\n```",
    "NOCALL": "```python\ndef double(x):\n    return 2 * x\n```\nTests:\n```python\nassert 1 + 1 == 2\n```",
    "ISNONE": "```python\ndef log(x):\n    print(x)\n```\nTests:\n```python\nassert log(3) is None\n```",
    "TRUTHY": "```python\ndef ok(x):\n    return x > 0\n```\nTests:\n```python\nassert ok(3)\nassert ok(1)\n```",
    "COPY": ("```python\ndef double(x):\n    return x + 2\n```\nTests:\n```python\ndef double(x):\n    return 2 * x\n\n"
             "assert double(3) == 6\n```"),
    "NOTESTS": "```python\ndef double(x):\n    return 2 * x\n```",
}


class Teacher:
    """A scripted model; ``reverse`` yields answers in reverse order, ``fail_after`` raises after N answers."""

    spec = "script"

    def __init__(self, base_seed=0, fail_after=None, reverse=False):
        self.base_seed, self.fail_after, self.reverse = base_seed, fail_after, reverse
        self.calls = 0

    def identity(self):
        return {"backend": "script", "version": 1}

    def close(self):
        pass

    def generate(self, requests):
        order = range(len(requests) - 1, -1, -1) if self.reverse else range(len(requests))
        for i in order:
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise RuntimeError("simulated crash")
            self.calls += 1
            yield i, Completion(self.respond(requests[i]), "stop", 10, 20, 0.01)

    def respond(self, req):
        index = req.seed - self.base_seed
        prompt = req.messages[-1][1]
        asked = re.search(r"function `(\w+)`", prompt)
        if asked:
            answers = TRUSTED[asked.group(1)]
            return answers[index % len(answers)]
        key = prompt.split("\n\n", 2)[1].split()[0]
        return SELF[key]


@pytest.fixture
def teacher(monkeypatch):
    model = Teacher()
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: model)
    return model


def use(monkeypatch, model):
    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: model)
    return model


def problems_file(tmp_path, names=("add", "neg")):
    specs = {
        "add": ("def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n",
                "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"),
        "neg": ("def neg(x):\n    \"\"\"Return minus x.\"\"\"\n",
                "def check(candidate):\n    assert candidate(2) == -2\n"),
        "has_close_elements": ("def has_close_elements(numbers, threshold):\n    \"\"\"True when two of the values "
                               "lie nearer to each other than the threshold.\"\"\"\n",
                               "def check(candidate):\n    assert candidate([1.0, 2.8, 3.0], 0.3)\n"
                               "    assert not candidate([1.0, 2.0], 0.5)\n"),
        "sort_matrix": ("def sort_matrix(M):\n    \"\"\"Order the rows by their totals.\"\"\"\n",
                        "def check(candidate):\n    assert candidate([[3], [1]]) == [[1], [3]]\n"),
    }
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps({"task_id": f"t/{n}", "prompt": specs[n][0], "entry_point": n,
                                        "test": specs[n][1]}) + "\n" for n in names))
    return path


def instructions_file(tmp_path, keys):
    path = tmp_path / "evol.jsonl"
    path.write_text("".join(json.dumps({"id": f"i-{k.lower()}", "instruction": f"{k} write a function that doubles "
                                        "a number.", "output": "ignored", "round": 1}) + "\n" for k in keys))
    return path


def config(tmp_path, **kw):
    base = dict(out=tmp_path / "out" / "data.jsonl", model="script", k=4, embeddings=False,
                limits=Limits(cpu_seconds=1.0, wall_seconds=5.0), workers=1)
    base.update(kw)
    return DistillConfig(**base)


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_passing_answers_become_verified_rows_with_their_evidence(tmp_path, teacher):
    cfg = config(tmp_path, benchmark=str(problems_file(tmp_path)))
    result = distill(cfg)
    rows = read_rows(cfg.out)
    assert teacher.calls == 8 and result.generated == 8
    assert [r["evidence"]["task_id"] for r in rows] == ["t/add"]  # neg: no answer passed
    [row] = rows
    assert row["label"] == "verified" and row["output"].startswith("```python\ndef add(a, b):")
    assert "Finish the Python function `add`" in row["instruction"]
    ev = row["evidence"]
    assert ev["verdict"] == "passed" and ev["tests"] == "trusted" and ev["sample_index"] in (1, 2, 3)
    assert row["id"] == f"t/add#{ev['sample_index']}" and ev["samples_run"] == result.samples_run
    per = result.manifest.per_problem
    assert per["t/add"] == {"samples": 4, "passed": 3, "candidates": 3, "leaked": 0, "rows": 1}
    assert per["t/neg"] == {"samples": 4, "passed": 0, "candidates": 0, "leaked": 0, "rows": 0}
    assert result.pass_rate == 3 / 8 and result.problems_with_pass == 1
    with Store() as store:  # the samples are an ordinary eval run
        run = store.get_run(result.samples_run)
        assert run.kind == "eval" and run.samples == 8
        assert store.get_run(result.run_id).kind == "distill"
    from coderank.train import read_examples

    [example] = read_examples(cfg.out)  # what coderank train reads
    assert example.instruction == row["instruction"] and example.output == row["output"]


def test_the_choice_follows_the_seeded_rank_not_the_finishing_order(tmp_path, monkeypatch):
    problems = problems_file(tmp_path)
    use(monkeypatch, Teacher())
    a = distill(config(tmp_path, benchmark=str(problems), keep=2, out=tmp_path / "a.jsonl"))
    use(monkeypatch, Teacher(reverse=True))
    b = distill(config(tmp_path, benchmark=str(problems), keep=2, out=tmp_path / "b.jsonl", store=tmp_path / "b.db"))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert a.out_sha256 == b.out_sha256
    chosen = [r["evidence"]["sample_index"] for r in read_rows(tmp_path / "a.jsonl")]
    assert chosen == sorted([1, 2, 3], key=lambda i: rank(0, "t/add", i))[:2]
    # another seed ranks differently (the scripted answers do not depend on it)
    for seed in (1, 2, 3, 5):
        use(monkeypatch, Teacher(base_seed=seed))
        distill(config(tmp_path, benchmark=str(problems), keep=2, seed=seed, out=tmp_path / f"s{seed}.jsonl"))
        picked = [r["evidence"]["sample_index"] for r in read_rows(tmp_path / f"s{seed}.jsonl")]
        assert picked == sorted([1, 2, 3], key=lambda i: rank(seed, "t/add", i))[:2]


def test_identical_programs_are_one_candidate(tmp_path, monkeypatch):
    monkeypatch.setitem(TRUSTED, "add", [ADD_OK, ADD_OK, ADD_BAD, ADD_OK + "\nThis works."])
    use(monkeypatch, Teacher())
    result = distill(config(tmp_path, benchmark=str(problems_file(tmp_path, ["add"])), keep=3))
    assert result.manifest.per_problem["t/add"]["passed"] == 3
    assert result.manifest.per_problem["t/add"]["candidates"] == 1 and result.rows == 1


def test_the_unverified_arm_has_the_same_instructions_and_row_count(tmp_path, teacher):
    problems = str(problems_file(tmp_path))
    a = distill(config(tmp_path, benchmark=problems, out=tmp_path / "verified.jsonl"))
    calls = teacher.calls
    b = distill(config(tmp_path, benchmark=problems, select="unverified", match=manifest_path(tmp_path /
                                                                                               "verified.jsonl"),
                       out=tmp_path / "unverified.jsonl"))
    assert teacher.calls == calls and b.generated == 0 and b.samples_run == a.samples_run
    va, vb = read_rows(tmp_path / "verified.jsonl"), read_rows(tmp_path / "unverified.jsonl")
    assert [r["instruction"] for r in va] == [r["instruction"] for r in vb] and len(va) == len(vb) == 1
    assert all(r["label"] == "unverified" for r in vb)
    assert b.manifest.match["select"] == "verified" and b.manifest.keep is None
    idx = vb[0]["evidence"]["sample_index"]
    assert idx == min(range(4), key=lambda i: rank(0, "t/add", i))  # any verdict: the first by rank
    assert vb[0]["evidence"]["verdict"] == ("failed" if idx == 0 else "passed")
    # without --match: one row for every problem with code, passing or not
    c = distill(config(tmp_path, benchmark=problems, select="unverified", out=tmp_path / "all.jsonl"))
    rows = read_rows(tmp_path / "all.jsonl")
    assert c.rows == 2 and rows[1]["evidence"] == {**rows[1]["evidence"], "task_id": "t/neg", "verdict": "failed"}


def test_match_from_other_samples_is_refused_before_generating(tmp_path, teacher):
    problems = str(problems_file(tmp_path))
    distill(config(tmp_path, benchmark=problems, out=tmp_path / "a.jsonl"))
    calls = teacher.calls
    with pytest.raises(UsageError, match="differ in: k") as info:
        distill(config(tmp_path, benchmark=problems, k=3, select="unverified", match=tmp_path / "a.manifest.json",
                       out=tmp_path / "b.jsonl"))
    assert "same teacher" in info.value.hint and teacher.calls == calls
    with pytest.raises(UsageError, match="differ in: template"):
        distill(config(tmp_path, benchmark=problems, template="wizardcoder", select="unverified",
                       match=tmp_path / "a.manifest.json", out=tmp_path / "b.jsonl"))
    with pytest.raises(UsageError, match="--keep and --match"):
        distill(config(tmp_path, benchmark=problems, keep=1, match=tmp_path / "a.manifest.json"))
    (tmp_path / "bad.json").write_text('{"kind": "evol"}')
    with pytest.raises(InputError, match="not a manifest written by coderank distill"):
        distill(config(tmp_path, benchmark=problems, match=tmp_path / "bad.json"))


def test_a_crashed_run_resumes_without_repeating_or_duplicating(tmp_path, monkeypatch):
    problems = str(problems_file(tmp_path))
    reference = use(monkeypatch, Teacher())
    distill(config(tmp_path, benchmark=problems, keep=2, out=tmp_path / "ref.jsonl", store=tmp_path / "ref.db"))
    use(monkeypatch, Teacher(fail_after=5))
    cfg = config(tmp_path, benchmark=problems, keep=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        distill(cfg)
    assert not cfg.out.exists()
    again = use(monkeypatch, Teacher())
    result = distill(cfg)
    assert again.calls == reference.calls - 5 and result.cached == 5 and result.resumed
    assert cfg.out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    with Store() as store:
        samples = list(store.samples(result.samples_run))
    assert len(samples) == len({(s.task_id, s.sample_index) for s in samples}) == 8
    replay = use(monkeypatch, Teacher())
    assert distill(cfg).generated == 0 and replay.calls == 0


def test_rows_leaking_humaneval_or_mbpp_are_dropped_and_recorded(tmp_path, teacher):
    cfg = config(tmp_path, benchmark=str(problems_file(tmp_path, ["has_close_elements", "sort_matrix"])), k=2)
    result = distill(cfg)
    rows = read_rows(cfg.out)
    # has_close_elements: sample 0 copies HumanEval/0 and is replaced by the clean sample 1; sort_matrix copies
    # MBPP/12 (test split) and has no clean answer left
    assert [(r["evidence"]["task_id"], r["evidence"]["sample_index"]) for r in rows] == [("t/has_close_elements", 1)]
    deco = result.manifest.decontam
    assert [b["name"] for b in deco["benchmarks"]] == ["humaneval", "mbpp"] and deco["embeddings"] is False
    assert deco["detectors"] == {"ngram": 0.2, "n": 10, "jaccard": 0.4, "clone": 0.75,
                                 "function": "the item's whole function, 10+ tokens", "examples": 12.0}
    dropped = {d["task_id"]: d for d in deco["dropped"]}
    assert "HumanEval/0" in dropped["t/has_close_elements"]["leaks"][0]
    assert dropped["t/has_close_elements"]["sample_index"] == 0 and "MBPP/12" in dropped["t/sort_matrix"]["leaks"][0]
    assert deco["problems_lost"] == ["t/sort_matrix"] and result.leaked == 2
    assert result.manifest.per_problem["t/sort_matrix"] == {"samples": 2, "passed": 2, "candidates": 1,
                                                                  "leaked": 1, "rows": 0}
    kept = distill(config(tmp_path, benchmark=cfg.benchmark, k=2, decontam=(), out=tmp_path / "raw.jsonl"))
    assert kept.rows == 2 and kept.manifest.decontam["benchmarks"] == [] and kept.manifest.decontam["detectors"] == {}


@pytest.mark.parametrize("bench", ["humaneval", "mbpp"])
def test_test_splits_are_refused(tmp_path, teacher, bench):
    with pytest.raises(UsageError, match="refusing to make training data") as info:
        distill(config(tmp_path, benchmark=bench))
    assert "mbpp-train" in info.value.hint and teacher.calls == 0


def test_a_problem_file_copying_a_test_problem_is_refused(tmp_path, teacher):
    path = tmp_path / "copy.jsonl"
    path.write_text(json.dumps({"task_id": "x/1", "prompt": MBPP12.prompt, "entry_point": "sort_matrix",
                                "test": MBPP12.test}) + "\n")
    with pytest.raises(UsageError, match="1 of its problems are HumanEval or MBPP"):
        distill(config(tmp_path, benchmark=str(path)))


def test_the_manifest_records_what_decides_the_data(tmp_path, teacher):
    cfg = config(tmp_path, benchmark=str(problems_file(tmp_path)), seed=0, keep=2)
    result = distill(cfg)
    m = json.loads(manifest_path(cfg.out).read_text())
    assert manifest_path(cfg.out).name == "data.manifest.json" and m == result.manifest.to_dict()
    assert set(m) == set(MANIFEST_FIELDS) - {"selftest"}
    assert m["version"] == 1 and m["kind"] == "distill" and m["run_id"] == result.run_id
    assert m["teacher"]["spec"] == "script" and m["teacher"]["identity"] == {"backend": "script", "version": 1}
    assert m["teacher"]["template"]["name"] == "chat" and m["teacher"]["template"]["sha256"].startswith("sha256:")
    assert (m["k"], m["keep"], m["seed"], m["select"], m["label"], m["tests"]) == (4, 2, 0, "verified", "verified",
                                                                                   "trusted")
    assert m["decoding"] == {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512}
    assert m["source"]["name"].endswith("problems.jsonl") and m["source"]["problems"] == 2
    assert m["samples"]["pass_rate"] == 0.375 and m["samples"]["status_counts"] == {"passed": 3, "failed": 5}
    assert m["samples"]["pass_at_k"]["pass@1"]["problems"] == 2
    import hashlib
    assert m["output"] == {"path": str(cfg.out), "rows": 2,
                           "sha256": "sha256:" + hashlib.sha256(cfg.out.read_bytes()).hexdigest()}
    assert "landlock" in json.dumps(m["sandbox_isolation"]).lower()


def test_self_written_tests_label_rows_self_verified(tmp_path, teacher, cli):
    keys = ["GOOD", "FAILS", "TRIVIAL", "NOCALL", "ISNONE", "TRUTHY", "COPY", "NOTESTS"]
    cfg = config(tmp_path, instructions=instructions_file(tmp_path, keys), k=1, temperature=0.0)
    result = distill(cfg)
    rows = read_rows(cfg.out)
    assert [r["id"] for r in rows] == ["i-good#0"]
    row = rows[0]
    assert row["label"] == "self-verified" and row["output"] == "```python\ndef double(x):\n    return 2 * x\n```"
    assert row["instruction"] == "GOOD write a function that doubles a number."
    ev = row["evidence"]
    assert ev["tests"] == "self-written" and ev["verdict"] == "passed" and "assert double(2) == 4" in ev["test_code"]
    assert ev["mutants"] == {"none": "failed", "raise": "error", "identity": "failed", "true": "failed"}
    with Store() as store:
        got = {s.task_id: (s.status, s.detail) for s in store.samples(result.samples_run)}
        assert store.get_run(result.samples_run).kind == "selftest"
    assert got["i-fails"][0] == "failed" and "tests line 1: assert double(3) == 6" in got["i-fails"][1]
    assert got["i-trivial"][0] == "invalid" and "wrong program" in got["i-trivial"][1]
    assert got["i-isnone"][0] == "invalid" and "returns None" in got["i-isnone"][1]
    assert got["i-truthy"][0] == "invalid" and "returns True" in got["i-truthy"][1]
    assert got["i-nocall"] == ("invalid", "the tests never use the solution (double)")
    assert got["i-copy"][0] == "failed"  # the tests' own correct copy was taken out: they test the solution
    assert got["i-notests"][0] == "invalid"
    m = result.manifest.to_dict()
    assert m["tests"] == "self-written" and m["label"] == "self-verified" and set(m) == set(MANIFEST_FIELDS)
    code, stdout, _ = cli("show", result.samples_run, "--samples")
    assert code == 0 and "i-trivial #0: invalid the tests also pass a wrong program" in " ".join(stdout.split())
    assert m["selftest"]["mutants"]["none"] == "every function returns None"
    unverified = distill(config(tmp_path, instructions=cfg.instructions, k=1, temperature=0.0, select="unverified",
                                out=tmp_path / "u.jsonl"))
    assert unverified.generated == 0 and unverified.rows == 8  # every answer with a solution
    assert {r["label"] for r in read_rows(tmp_path / "u.jsonl")} == {"unverified"}


def test_self_tests_need_a_chat_model_and_no_template(tmp_path, teacher):
    with pytest.raises(UsageError, match="--prompt-template applies to -b"):
        distill(config(tmp_path, instructions=instructions_file(tmp_path, ["GOOD"]), template="chat"))


def test_bad_inputs_are_clear_errors(tmp_path, teacher):
    with pytest.raises(UsageError, match="either -b BENCHMARK"):
        distill(config(tmp_path))
    with pytest.raises(UsageError, match="temperature 0"):
        distill(config(tmp_path, benchmark="classic", temperature=0.0))
    with pytest.raises(UsageError, match="--keep 5 is more than"):
        distill(config(tmp_path, benchmark="classic", keep=5))
    with pytest.raises(UsageError, match="unknown --select"):
        distill(config(tmp_path, benchmark="classic", select="best"))
    with pytest.raises(UsageError, match="JSON Lines"):
        distill(config(tmp_path, benchmark="classic", out=tmp_path / "x.json"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "instruction": "x"}\n{oops\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        distill(config(tmp_path, instructions=bad))
    with pytest.raises(UsageError, match="does not exist"):
        distill(config(tmp_path, instructions=tmp_path / "missing.jsonl"))
    assert teacher.calls == 0


def test_cli_table_json_show_and_errors(tmp_path, teacher, cli):
    problems = problems_file(tmp_path)
    out = tmp_path / "d.jsonl"
    args = ["distill", "-b", str(problems), "-m", "script", "-k", "4", "-o", str(out), "--no-embeddings",
            "--timeout", "1"]
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    flat = " ".join(stdout.split())
    assert "1 of 2 problems have a passing answer; 1 rows (verified)" in flat and "pass@1" in flat
    assert "decontaminated against humaneval, mbpp: 0 candidate(s) dropped" in flat
    code, stdout, _ = cli(*args, "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["generated"] == 0 and doc["rows"] == 1 and doc["manifest"]["kind"] == "distill"
    code, stdout, _ = cli("show", doc["run_id"])
    assert code == 0 and "teacher: script" in stdout and "rows (verified)" in " ".join(stdout.split())
    code, stdout, _ = cli("runs", "--json")
    assert {r["kind"] for r in json.loads(stdout)} == {"distill", "eval"}
    code, _, stderr = cli("distill", "-m", "script", "-o", str(out))
    assert code == 2 and "either -b BENCHMARK" in stderr and "Traceback" not in stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "a", "prompt": "def f():\n", "entry_point": "f", "test": "assert f()"})
                   + "\n{oops\n")
    code, _, stderr = cli("distill", "-b", str(bad), "-m", "script", "-o", str(out))
    assert code == 2 and "bad.jsonl:2" in stderr and "Traceback" not in stderr
    code, stdout, _ = cli("distill", "--help")
    assert code == 0 and "self-verified" in stdout and "--match" in stdout


def test_a_crashed_self_tested_run_resumes_without_repeating(tmp_path, monkeypatch):
    keys = ["GOOD", "FAILS", "TRIVIAL"]
    reference = use(monkeypatch, Teacher())
    distill(config(tmp_path, instructions=instructions_file(tmp_path, keys), k=2, out=tmp_path / "ref.jsonl",
                   store=tmp_path / "ref.db"))
    use(monkeypatch, Teacher(fail_after=3))
    cfg = config(tmp_path, instructions=instructions_file(tmp_path, keys), k=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        distill(cfg)
    again = use(monkeypatch, Teacher())
    result = distill(cfg)
    assert again.calls == reference.calls - 3 == 3 and result.cached == 3
    assert cfg.out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes() and result.rows == 1
    with Store() as store:
        assert len(list(store.samples(result.samples_run))) == 6


def test_a_self_tested_run_resumed_on_another_processor_lists_where_it_went_on(tmp_path, monkeypatch):
    # the self-tested samples' run keeps the platform it started on and lists the processor that generated the rest
    from coderank import record

    local = {"backend": "llama.cpp", "weights_sha256": "sha256:ab", "chat_template_sha256": "sha256:cd"}
    monkeypatch.setattr(Teacher, "identity", lambda self: local)
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU A")
    use(monkeypatch, Teacher(fail_after=3))
    cfg = config(tmp_path, instructions=instructions_file(tmp_path, ["GOOD", "FAILS", "TRIVIAL"]), k=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        distill(cfg)
    monkeypatch.setattr(record, "cpu_model", lambda: "CPU B")
    use(monkeypatch, Teacher())
    result = distill(cfg)
    with Store() as store:
        manifest = store.get_run(result.samples_run).run_manifest
    assert manifest.platform["cpu"] == "CPU A"
    assert [p["cpu"] for p in manifest.generated_on or []] == ["CPU B"]
