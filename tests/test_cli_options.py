"""Bad option values and output paths are refused up front, naming the option, never with a traceback and never
after destroying an input file."""

import json

import pytest

from coderank.problems import load_benchmark


@pytest.fixture
def samples(tmp_path):
    p = load_benchmark("humaneval").problems["HumanEval/0"]
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n")
    return path


@pytest.mark.parametrize(("args", "words"), [
    (["--timeout", "nan"], "finite"),
    (["--timeout", "inf"], "finite"),
    (["--timeout", "1e300"], "at most a week"),
    (["--timeout", "-1"], "positive"),
    (["--wall-timeout", "-5"], "positive"),
    (["--wall-timeout", "nan"], "finite"),
])
def test_score_refuses_limits_that_are_not_finite_positive_numbers(samples, cli, args, words):
    code, _, stderr = cli("score", str(samples), *args)
    assert code == 2 and words in stderr and args[0] in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(("args", "words"), [
    (["--temperature", "nan"], "--temperature must be 0 (greedy) or a positive number"),
    (["--temperature", "-1"], "--temperature must be 0 (greedy) or a positive number"),
    (["--top-p", "0"], "--top-p must be above 0"),
    (["--top-p", "1.5"], "--top-p must be above 0"),
    (["--concurrency", "0"], "--concurrency must be at least 1"),
    (["--max-retries", "-1"], "--max-retries must be at least 0"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--timeout", "nan"], "--timeout"),
])
def test_eval_refuses_bad_decoding_and_backend_options_before_loading_a_model(tmp_path, cli, args, words):
    code, _, stderr = cli("eval", "--store", str(tmp_path / "db"), "--limit", "1", *args)
    assert code == 2 and words in stderr and "Traceback" not in stderr


def test_evol_refuses_a_bad_answer_temperature(tmp_path, cli):
    code, _, stderr = cli("evol", "--answer-temperature", "nan", "--out", str(tmp_path / "e.jsonl"))
    assert code == 2 and "--answer-temperature" in stderr


def test_score_out_cannot_be_the_samples_file_and_the_file_is_left_whole(samples, cli):
    before = samples.read_bytes()
    code, _, stderr = cli("score", str(samples), "--out", str(samples))
    assert code == 2 and "would destroy the input" in stderr and samples.read_bytes() == before
    link = samples.with_name("link.jsonl")
    link.symlink_to(samples)
    code, _, stderr = cli("score", str(link), "--out", str(samples))
    assert code == 2 and samples.read_bytes() == before


def test_score_out_that_is_a_folder_is_named_and_a_missing_folder_is_made(samples, tmp_path, cli):
    code, _, stderr = cli("score", str(samples), "--out", str(tmp_path))
    assert code == 2 and "is a folder" in stderr
    out = tmp_path / "new" / "deeper" / "r.jsonl"
    code, _, _ = cli("score", str(samples), "--out", str(out))
    assert code == 0 and json.loads(out.read_text())["passed"] is True


@pytest.mark.parametrize("command", ["perturb", "augment"])
def test_problem_writers_do_not_overwrite_their_problem_file(tmp_path, cli, command):
    p = load_benchmark("humaneval").problems["HumanEval/0"]
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"task_id": p.task_id, "prompt": p.prompt, "entry_point": p.entry_point,
                                "canonical_solution": p.canonical_solution, "test": p.test}) + "\n")
    before = path.read_bytes()
    code, _, stderr = cli(command, str(path), "--out", str(path))
    assert code == 2 and "would destroy the input" in stderr and path.read_bytes() == before


def test_evol_does_not_overwrite_its_seed_file(tmp_path, cli):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"id": "a", "instruction": "Sort a list."}\n')
    code, _, stderr = cli("evol", str(seeds), "--out", str(seeds))
    assert code == 2 and "would destroy the input" in stderr and "Sort a list." in seeds.read_text()


def test_contam_drop_is_checked_before_the_long_check(tmp_path, cli, monkeypatch):
    train = tmp_path / "train.jsonl"
    train.write_text('{"instruction": "add two numbers", "output": "def add(a, b): return a + b"}\n')

    def never(*args, **kwargs):
        raise AssertionError("the check ran before the bad --drop was refused")

    monkeypatch.setattr("coderank.rigor.contam.check_contamination", never)
    code, _, stderr = cli("contam", str(train), "--no-embeddings", "--drop", str(tmp_path))
    assert code == 2 and "--drop" in stderr and "is a folder" in stderr


@pytest.mark.parametrize(("args", "words"), [
    (["show"], "Missing argument"),
    (["score"], "Missing argument"),
    (["runs", "--no-such-option"], "No such option"),
    (["score", "x.jsonl", "--timeout", "soon"], "Invalid value"),
])
def test_command_line_mistakes_get_click_usage_messages_not_tracebacks(cli, args, words):
    code, _, stderr = cli(*args)
    assert code == 2 and words in stderr and "Usage: coderank" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("command", [["report"], ["eval", "--limit", "1"]])
def test_an_output_folder_that_is_a_file_is_refused_before_any_work(samples, tmp_path, cli, command):
    before = samples.read_bytes()
    code, _, stderr = cli(*command, "--store", str(tmp_path / "db"), "--out", str(samples))
    assert code == 2 and "is a file" in stderr and samples.read_bytes() == before


@pytest.mark.parametrize("args", [
    ["score", "{samples}", "-b", "{folder}"],
    ["score", "{samples}", "-b", "evalplus:{folder}"],
    ["eval", "-m", "gguf:{folder}", "--limit", "1"],
    ["runs", "--store", "{folder}"],
])
def test_a_folder_where_a_file_belongs_is_named_as_a_folder(samples, tmp_path, cli, args):
    folder = tmp_path / "a folder"
    folder.mkdir()
    code, _, stderr = cli(*(a.format(samples=samples, folder=folder) for a in args))
    assert code == 2 and "is a folder" in stderr and "Traceback" not in stderr


def test_a_store_that_is_not_a_database_is_refused_and_left_alone(samples, tmp_path, cli):
    notes = tmp_path / "notes.db"
    notes.write_text("my notes, not a database\n")
    for args in (["runs"], ["score", str(samples)]):
        code, _, stderr = cli(*args, "--store", str(notes))
        assert code == 2 and "cannot be used" in stderr and "Traceback" not in stderr
    assert notes.read_text() == "my notes, not a database\n"


@pytest.mark.parametrize(("name", "content"), [("empty.j2", ""), ("comment.j2", "{# only a comment #}\n"),
                                             ("system-only.j2", '{# coderank: {"kind": "chat", "system": "Hi."} #}\n')])
def test_a_template_that_renders_nothing_is_refused_before_a_run_is_recorded(tmp_path, cli, name, content):
    template = tmp_path / name
    template.write_text(content)
    code, _, stderr = cli("eval", "--prompt-template", str(template), "--limit", "1", "--store", str(tmp_path / "db"))
    assert code == 2 and "renders an empty" in stderr and "Traceback" not in stderr
    assert "no runs yet" in cli("runs", "--store", str(tmp_path / "db"))[1]


@pytest.mark.parametrize("value", ["0", "-3", "100000"])
@pytest.mark.parametrize("command", [["score", "{samples}"], ["eval", "--limit", "1"], ["verify", "run-x"]])
def test_workers_out_of_range_are_refused_in_every_command(samples, tmp_path, cli, command, value):
    args = [a.format(samples=samples) for a in command]
    code, _, stderr = cli(*args, "--workers", value, "--store", str(tmp_path / "db"))
    assert code == 2 and "--workers must be between 1 and" in stderr


def test_small_mistakes_are_named(samples, tmp_path, cli):
    code, _, stderr = cli("score", str(samples), "--name", "   ")
    assert code == 2 and "--name is blank" in stderr
    code, _, stderr = cli("evol", "--methods", " , ", "--out", str(tmp_path / "e.jsonl"))
    assert code == 2 and "--methods is empty" in stderr
    code, out, _ = cli("score", str(samples), "--json")
    run = json.loads(out)["run_id"]
    code, _, stderr = cli("duel", run, run[:10])
    assert code == 2 and "the same run" in stderr


def test_perturb_with_nothing_to_vary_writes_no_empty_file(tmp_path, cli):
    problems = tmp_path / "nodoc.jsonl"
    problems.write_text(json.dumps({"task_id": "t/0", "prompt": "def f(x):\n", "entry_point": "f",
                                    "canonical_solution": "    return x\n",
                                    "test": "def check(candidate):\n    assert candidate(1) == 1\n"}) + "\n")
    out = tmp_path / "out.jsonl"
    code, _, stderr = cli("perturb", str(problems), "--out", str(out), "--kinds", "examples,docstring")
    assert code == 2 and "no variant to write" in stderr and not out.exists()
