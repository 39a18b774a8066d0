"""`coderank distill` on the embedded model: 2 mbpp-train problems, k=2, real generation, sandbox and store.

Loads a 0.5B model on the CPU: marked slow; CI runs it with `-m slow`.
"""

import json

import pytest

from coderank.train import read_examples

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

pytest.importorskip("llama_cpp")


def test_distill_two_mbpp_train_problems_with_the_embedded_model(cli, tmp_path):
    out = tmp_path / "verified.jsonl"
    args = ["distill", "-b", "mbpp-train", "--tasks", "MBPP/602", "--tasks", "MBPP/603", "-k", "2", "-o", str(out),
            "--no-embeddings", "--json"]
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    doc = json.loads(stdout)
    m = doc["manifest"]
    assert m["teacher"]["identity"]["weights_sha256"].startswith("sha256:1d9614638d18")
    assert m["samples"]["samples"] == 4 and set(m["per_problem"]) == {"MBPP/602", "MBPP/603"}
    assert all(p["samples"] == 2 and p["rows"] <= 1 for p in m["per_problem"].values())
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == doc["rows"] == sum(p["rows"] for p in m["per_problem"].values())
    assert all(r["label"] == "verified" and r["evidence"]["verdict"] == "passed" for r in rows)
    if rows:
        assert len(read_examples(out)) == len(rows)  # what coderank train reads
    code, stdout, _ = cli("verify", doc["samples_run"], "--json")
    assert code == 0 and json.loads(stdout)["ok"] is True
    code, stdout, _ = cli(*args)
    again = json.loads(stdout)
    assert again["generated"] == 0 and again["out_sha256"] == doc["out_sha256"]
