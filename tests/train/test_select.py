"""No tuning on the test set: the dev-set guard and the choice of checkpoint."""

import json

import pytest

from coderank.errors import UsageError
from coderank.train import check_dev_set
from coderank.train._select import choose


def test_humaneval_is_refused_as_a_dev_set():
    with pytest.raises(UsageError) as info:
        check_dev_set("humaneval", allow_test=False)
    assert "humaneval is a benchmark coderank reports" in info.value.message
    assert "--allow-test-selection" in info.value.hint and "classic" in info.value.hint


def test_humaneval_is_allowed_explicitly_and_recorded():
    dev = check_dev_set("humaneval", allow_test=True)
    rec = dev.record()
    assert rec["test_selection_allowed"] is True and rec["test_overlap"] == 164 and rec["sha256"].startswith("sha256:")


def test_classic_is_a_clean_dev_set():
    rec = check_dev_set("classic", allow_test=False).record()
    assert rec["name"] == "classic" and rec["problems"] == 15 and rec["test_overlap"] == 0
    assert rec["test_selection_allowed"] is False


@pytest.mark.parametrize("task_id", ["mine/1", "HumanEval/0#rename"])
def test_a_problem_file_that_copies_humaneval_is_refused(tmp_path, task_id):
    from coderank.problems import load_benchmark

    p = load_benchmark("humaneval").problems["HumanEval/0"]
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps({"task_id": task_id, "prompt": p.prompt if task_id == "mine/1" else "def f():\n",
                                "entry_point": p.entry_point, "test": p.test}) + "\n")
    with pytest.raises(UsageError, match="HumanEval problems"):
        check_dev_set(str(path), allow_test=False)


def test_mbpp_test_split_is_refused_and_its_validation_split_suggested():
    with pytest.raises(UsageError) as info:
        check_dev_set("mbpp", allow_test=False)
    assert "mbpp is a benchmark coderank reports" in info.value.message
    assert "--select-on mbpp-valid" in info.value.hint
    assert check_dev_set("mbpp", allow_test=True).record()["test_overlap"] == 500


@pytest.mark.parametrize(("name", "size"), [("mbpp-valid", 90), ("mbpp-train", 374)])
def test_mbpp_validation_and_train_splits_are_clean_dev_sets(name, size):
    rec = check_dev_set(name, allow_test=False).record()
    assert rec["name"] == name and rec["problems"] == size and rec["test_overlap"] == 0


@pytest.mark.parametrize("task_id", ["mine/1", "MBPP/11#rename"])
def test_a_problem_file_that_copies_an_mbpp_test_problem_is_refused(tmp_path, task_id):
    from coderank.problems import load_benchmark

    p = load_benchmark("mbpp").problems["MBPP/11"]
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps({"task_id": task_id, "prompt": p.prompt if task_id == "mine/1" else "def f():\n",
                                "entry_point": p.entry_point, "test": p.test}) + "\n")
    with pytest.raises(UsageError, match="MBPP test-split problems"):
        check_dev_set(str(path), allow_test=False)


def test_the_best_checkpoint_wins_and_ties_go_to_the_later_step():
    scores = {"checkpoint-2": {"step": 2, "pass@1": 0.4}, "checkpoint-4": {"step": 4, "pass@1": 0.6},
              "checkpoint-6": {"step": 6, "pass@1": 0.6}, "checkpoint-8": {"step": 8, "pass@1": 0.2}}
    assert choose(scores) == "checkpoint-6"


def test_cli_refuses_select_on_humaneval_before_loading_anything(cli, data_file, tmp_path):
    code, out, err = cli("train", str(data_file), "--out", str(tmp_path / "o"), "--select-on", "humaneval")
    assert code == 2 and "refusing to choose checkpoints on humaneval" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_refuses_select_on_mbpp_and_names_mbpp_valid(cli, data_file, tmp_path):
    code, out, err = cli("train", str(data_file), "--out", str(tmp_path / "o"), "--select-on", "mbpp")
    assert code == 2 and "refusing to choose checkpoints on mbpp" in err and "mbpp-valid" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def _add_dev_set(tmp_path, n):
    """A dev set of ``n`` problems asking for ``add(a, b)``, checked as ``coderank train --select-on`` checks it."""
    path = tmp_path / "dev.jsonl"
    prompt = "def add(a, b):\n    \"\"\"Add them.\"\"\"\n"
    path.write_text("".join(json.dumps({"task_id": f"dev/{i}", "prompt": prompt, "entry_point": "add",
                                        "test": f"def check(f):\n    assert f({i}, 1) == {i + 1}\n"}) + "\n"
                            for i in range(n)))
    return check_dev_set(str(path), allow_test=False)


def test_checkpoints_are_scored_by_their_eval_runs(tmp_path, monkeypatch):
    from coderank.models import backends
    from coderank.models.backends import Completion
    from coderank.train._select import score_checkpoints

    class Checkpoint:
        def __init__(self, body):
            self.body = body

        def identity(self):
            return {"backend": "script", "body": self.body}

        def close(self):
            pass

        def generate(self, requests):
            for i, _ in enumerate(requests):
                yield i, Completion(f"```python\ndef add(a, b):\n    return {self.body}\n```", "stop", 10, 20, 0.01)

    monkeypatch.setitem(backends._REGISTRY, "script", lambda rest, options: Checkpoint(rest))
    dev = _add_dev_set(tmp_path, 2)
    scores = score_checkpoints([("checkpoint-2", 2, "script:a - b"), ("checkpoint-4", 4, "script:a + b")], dev,
                               "chat", tmp_path / "selection.db", 64)
    assert scores["checkpoint-2"]["pass@1"] == 0.0 and scores["checkpoint-2"]["passed"] == 0
    assert scores["checkpoint-4"]["pass@1"] == scores["checkpoint-4"]["low"] == scores["checkpoint-4"]["high"] == 1.0
    assert scores["checkpoint-4"]["passed"] == scores["checkpoint-4"]["problems"] == 2
    assert scores["checkpoint-2"]["run_id"] != scores["checkpoint-4"]["run_id"]
    assert scores["checkpoint-4"]["run_id"].startswith("run-") and choose(scores) == "checkpoint-4"


def test_scoring_uses_the_trainings_threads_and_reports_answers(tmp_path, monkeypatch):
    """`coderank train --threads 1` twice side by side: each selection must score with one thread, not all cores
    (four busy threads on two cores ran llama.cpp at 6 tokens/s instead of about 30), and show its progress."""
    from coderank.models import backends
    from coderank.models.backends import Completion
    from coderank.train._select import score_checkpoints

    seen = []

    class Checkpoint:
        def identity(self):
            return {"backend": "script"}

        def close(self):
            pass

        def generate(self, requests):
            for i, _ in enumerate(requests):
                yield i, Completion("```python\ndef add(a, b):\n    return a + b\n```", "stop", 10, 20, 0.01)

    def load(rest, options):
        seen.append(options.threads)
        return Checkpoint()

    monkeypatch.setitem(backends._REGISTRY, "script", load)
    dev = _add_dev_set(tmp_path, 20)
    events = []
    score_checkpoints([("checkpoint-2", 2, "script:x")], dev, "chat", tmp_path / "selection.db", 64,
                      lambda msg, done, total: events.append(msg), threads=1)
    assert seen == [1]
    answers = [m for m in events if "answers generated" in m]
    assert answers[-1] == "checkpoint-2: 20/20 answers generated" and 2 <= len(answers) <= 12
    assert events[0] == "checkpoint-2 (1 of 1)" and events[-1] == "1 checkpoint scored"
