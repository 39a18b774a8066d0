"""Stored run records come back exactly: read into the typed records and written out again, every manifest and
summary is the same JSON, key for key and in the same order, so its stored hash (``manifest_sha256``) still
matches and old stores keep resuming.

The records are those of ``stored_runs.json`` (one run per layout found in this project's stores: eval, eval
runs from before ``max_tokens_from`` and ``of``, unfinished ones, rescore, score with and without
``bootstrap_seed`` or a derived benchmark, selftest, distill, evol), the manifest files beside data sets and runs
in ``files/``, the repository's ``results/`` and ``experiments/`` folders, and, read-only, every store named in
``CODERANK_RECORD_STORES`` (paths separated by ``os.pathsep``).
"""

import json
import os
import sqlite3
from pathlib import Path

import pytest

from coderank.digest import canonical_json, sha256_text
from coderank.distill._pipeline import MANIFEST_FIELDS, DistillManifest
from coderank.evol.evolution import EvolManifest
from coderank.record import Record, RunManifest, RunSummary

HERE = Path(__file__).parent
REPO = HERE.parents[1]
STORED = json.loads((HERE / "stored_runs.json").read_text(encoding="utf-8"))["runs"]
FILES = sorted((HERE / "files").glob("*.json")) + sorted(REPO.glob("results/*/manifest.json")) + sorted(
    REPO.glob("experiments/*/data/*.manifest.json"))

MANIFESTS: dict[str, type[Record]] = {"evol": EvolManifest, "distill": DistillManifest}


def _manifest_type(kind: str) -> type[Record]:
    return MANIFESTS.get(kind, RunManifest)


def _stores() -> list[tuple[str, str, str, str, str | None]]:
    """``(origin, kind, manifest text, manifest_sha256, summary text)`` of every run in the named stores."""
    found = []
    for path in filter(None, os.environ.get("CODERANK_RECORD_STORES", "").split(os.pathsep)):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for row in db.execute("SELECT run_id, kind, manifest, manifest_sha256, summary FROM runs"):
                found.append((f"{path}:{row[0]}", row[1], row[2], row[3], row[4]))
        finally:
            db.close()
    return found


def _assert_same(record: Record, doc: dict, text: str) -> None:
    back = record.to_dict()
    assert back == doc
    assert list(back) == list(doc)  # the same order too (what json.dumps writes without sort_keys)
    assert canonical_json(back) == text


@pytest.mark.parametrize("run", STORED, ids=[f"{r['kind']}-{r['run_id']}" for r in STORED])
def test_a_stored_run_comes_back_exactly(run):
    doc = json.loads(run["manifest"])
    assert sha256_text(run["manifest"]) == run["manifest_sha256"]  # the fixture is the stored text
    record = _manifest_type(run["kind"].split()[0]).from_dict(doc)
    _assert_same(record, doc, run["manifest"])
    _assert_same(RunManifest.from_dict(doc), doc, run["manifest"])  # any manifest, read as a scored run's
    if run["summary"] is not None:
        summary = json.loads(run["summary"])
        _assert_same(RunSummary.from_dict(summary), summary, run["summary"])


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(REPO).as_posix() for p in FILES])
def test_a_manifest_file_comes_back_byte_for_byte(path):
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    kind = "evol" if "seeds" in doc else doc.get("kind") or "eval"
    record = _manifest_type(kind).from_dict(doc)
    assert json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n" == text


def test_every_stored_run_in_the_named_stores_comes_back_exactly():
    runs = _stores()
    if not runs:
        pytest.skip("no store named in CODERANK_RECORD_STORES")
    for origin, kind, manifest, digest, summary in runs:
        doc = json.loads(manifest)
        assert sha256_text(manifest) == digest, origin
        for record_type in {_manifest_type(kind), RunManifest}:
            assert canonical_json(record_type.from_dict(doc).to_dict()) == manifest, origin
        if summary is not None:
            assert canonical_json(RunSummary.from_dict(json.loads(summary)).to_dict()) == summary, origin


def test_the_fixture_covers_every_kind_of_run():
    kinds = {r["kind"] for r in STORED}
    assert {"eval", "eval (rescore)", "score", "selftest", "distill", "evol"} <= kinds
    manifests = [json.loads(r["manifest"]) for r in STORED]
    assert any("bootstrap_seed" in m for m in manifests) and any("derivation" in m.get("benchmark", {})
                                                                 for m in manifests)
    assert any("max_tokens_from" not in m for m in manifests if "template" in m)  # an older eval run


def test_typed_fields_read_what_the_dict_says():
    run = next(r for r in STORED if r["kind"] == "eval (rescore)")
    doc, m = json.loads(run["manifest"]), RunManifest.from_dict(json.loads(run["manifest"]))
    assert m.benchmark.sha256 == doc["benchmark"]["sha256"] and m.template.name == doc["template"]["name"]
    assert m.rescored_from is not None and m.rescored_from.run_id == doc["rescored_from"]["run_id"]
    assert m.sandbox_limits == doc["sandbox_limits"] and m.n == doc["n"] and not m.extra
    s = RunSummary.from_dict(json.loads(run["summary"]))
    assert s.pass_at_1 is not None and s.pass_at_1.value == json.loads(run["summary"])["pass_at_k"]["pass@1"]["value"]
    assert "run_id" in s.extra  # what the call that finished it did, kept as it was
    score = next(json.loads(r["manifest"]) for r in STORED if r["kind"] == "score")
    m = RunManifest.from_dict(score)
    assert m.kind == "score" and m.seed is None and m.n is None and m.template.kind is None
    assert m.to_dict()["seed"] is None  # a null that was written stays written


def test_unknown_keys_and_values_of_another_type_survive():
    doc = json.loads(next(r["manifest"] for r in STORED if r["kind"] == "eval"))
    doc = {"from_the_future": {"x": [1, 2]}, **doc, "n": "many", "kind": None}
    doc["benchmark"] = {**doc["benchmark"], "problems": None, "split": "test"}
    del doc["template"]
    m = RunManifest.from_dict(doc)
    assert m.extra["from_the_future"] == {"x": [1, 2]} and m.extra["n"] == "many" and m.n is None
    assert m.kind is None and "kind" in m.extra and m.benchmark.extra == {"split": "test"}
    back = m.to_dict()
    assert back == doc and list(back) == list(doc) and "template" not in back


def test_distill_manifest_fields_are_its_documented_layout():
    written = [k for k in MANIFEST_FIELDS if k != "selftest"] + ["selftest"]  # selftest comes last, when it comes
    assert list(DistillManifest(selftest={}).to_dict()) == written
