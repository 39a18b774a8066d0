"""Measure `coderank contam --judge MODEL` on the planted set: paraphrases caught, false positives, cost.

    python examples/contam_planted/judge_eval.py --model default [--top 3] [--min 0.5] [--clean-sample 150]
        [--all] [--threads 1] [--base-url URL]

The judge stage of :func:`coderank.rigor.contam.check_contamination`, taken apart so that a slow judge can be
measured on part of its work: for HumanEval and MBPP's test split, the rows flagged by the other detectors
(embeddings included) are found as ``contam`` finds them, and each item's nearest unflagged rows are chosen with
:func:`coderank.rigor.contam.judge_candidates`, as ``contam --judge`` chooses them. The judge then sees every
candidate pair whose row is a paraphrased leak (``paraphrased.py``) or an honest same-task row (``honest.py``),
and a seeded sample of ``--clean-sample`` of the other pairs (``--all``: every pair, which is what ``contam
--judge`` does). Printed: how many paraphrases the candidate stage reaches and the judge flags, what it flags
among clean and same-task rows, and seconds per call. Answers are cached in the store (``$CODERANK_HOME``), so
a rerun reads them back.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

from coderank.models.backends import BackendOptions
from coderank.problems import load_benchmark
from coderank.rigor.contam import (
    check_contamination,
    embed,
    item_text,
    judge_candidates,
    load_embedder,
    row_text,
)
from coderank.rigor.judge import Judge

HERE = Path(__file__).resolve().parent
BENCHES = ("humaneval", "mbpp")


def main() -> None:
    """Print the measurements."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default", help="the judge (a model spec)")
    ap.add_argument("--top", type=int, default=3, help="rows judged per item (contam --judge-top)")
    ap.add_argument("--min", type=float, default=0.5, help="cosine floor (contam --judge-min)")
    ap.add_argument("--clean-sample", type=int, default=150, help="other candidate pairs judged (seeded sample)")
    ap.add_argument("--all", action="store_true", help="judge every candidate pair")
    ap.add_argument("--threads", type=int, help="CPU threads of a local judge (1 is faster on a busy machine)")
    ap.add_argument("--base-url", help="OpenAI-compatible server for --model openai:NAME")
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight to a server")
    ap.add_argument("--train", default=str(HERE / "train.jsonl"))
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.train).read_text(encoding="utf-8").splitlines()]
    metas = [row.pop("meta") for row in rows]
    texts = [row_text(row) or "" for row in rows]
    t0 = time.perf_counter()
    embedder = load_embedder()
    row_vecs = embed(embedder, texts)
    print(f"{len(rows)} rows embedded in {time.perf_counter() - t0:.1f} s")

    def kind(r: int, bench: str, task: str) -> str:
        m = metas[r]
        if m["kind"] == "leak" and m["recipe"]["content"] == "paraphrase":
            return "paraphrase (own item)" if (m["benchmark"], m["task_id"]) == (bench, task) else "paraphrase (other)"
        return {"leak": "other leak", "clean": "clean", "same-task": "same-task", "overlap": "overlap"}[m["kind"]]

    pairs: list[tuple[str, int, int, str]] = []  # (bench, item, row, kind)
    items: dict[str, list[str]] = {}
    flagged_own: set[int] = set()  # paraphrase rows that another detector flagged for their own item
    flagged_by: Counter[str] = Counter()
    for bench in BENCHES:
        problems = list(load_benchmark(bench))
        items[bench] = [item_text(p.prompt, p.canonical_solution) for p in problems]
        rep = check_contamination(args.train, bench, embedder=embedder)
        flagged = {h.line - 1 for item in rep.items for h in item.hits if h.flagged}
        for item in rep.items:
            for h in item.hits:
                m = metas[h.line - 1]
                if h.flagged and m.get("recipe", {}).get("content") == "paraphrase" and m["task_id"] == item.task_id:
                    flagged_own.add(h.line - 1)
                    flagged_by.update(h.flagged_by)
        sims = row_vecs @ embed(embedder, items[bench]).T
        for i, r in judge_candidates(sims, flagged, args.top, args.min):
            pairs.append((bench, i, r, kind(r, bench, problems[i].task_id)))
    counts = Counter(k for *_, k in pairs)
    para_rows = [r for r, m in enumerate(metas) if m.get("recipe", {}).get("content") == "paraphrase"]
    reached = {r for *_, r, k in pairs if k == "paraphrase (own item)"}
    print(f"{len(para_rows)} paraphrased leaks: {len(flagged_own)} flagged by the other detectors "
          f"({dict(flagged_by)}), {len(reached)} reach the judge with their own item "
          f"(top {args.top}, cosine >= {args.min})")
    print(f"candidate pairs: {len(pairs)} {dict(counts)}")

    always = ("paraphrase (own item)", "paraphrase (other)", "same-task")
    chosen = [p for p in pairs if p[3] in always]
    rest = [p for p in pairs if p[3] not in always]
    chosen += rest if args.all else random.Random(21).sample(rest, min(args.clean_sample, len(rest)))
    chosen.sort(key=lambda p: (p[0], p[1]))  # item by item: a local model reuses the item's prompt
    options = BackendOptions(threads=args.threads, base_url=args.base_url, concurrency=args.concurrency)
    judge = Judge(args.model, options=options, top_k=args.top, min_cosine=args.min)
    t = time.perf_counter()
    verdicts = judge.ask([(items[b][i], texts[r]) for b, i, r, _ in chosen])
    seconds = time.perf_counter() - t
    info = judge.describe()
    judge.close()
    print(f"judge {args.model} ({info['identity'].get('file', info['identity'])}): {len(chosen)} pairs, "
          f"{info['calls']} calls made ({seconds:.0f} s" + (f", {seconds / info['calls']:.2f} s per call" if
                                                            info["calls"] else "")
          + f"), {info['cached']} from the cache; verdicts {info['verdicts']}")
    by_kind: dict[str, Counter[str]] = {}
    for (_, _, _, k), v in zip(chosen, verdicts, strict=True):
        by_kind.setdefault(k, Counter())[v.verdict] += 1
    for k, c in sorted(by_kind.items()):
        print(f"  {k:22} judged {sum(c.values()):4}: yes {c['yes']:4}, no {c['no']:4}, unclear {c['unclear']:3}")
    caught = {r for (_, _, r, k), v in zip(chosen, verdicts, strict=True)
              if k == "paraphrase (own item)" and v.verdict == "yes"}
    fp_rows = {(metas[r]["kind"], r) for (_, _, r, k), v in zip(chosen, verdicts, strict=True)
               if k in ("clean", "same-task") and v.verdict == "yes"}
    judged_clean = {r for _, _, r, k in chosen if k in ("clean", "same-task")}
    print(f"paraphrased leaks caught: {len(flagged_own | caught)}/{len(para_rows)} "
          f"({len(flagged_own)} by the other detectors, {len(caught - flagged_own)} more by the judge)")
    print(f"clean or same-task rows the judge flagged: {len(fp_rows)} of the {len(judged_clean)} it saw "
          f"({sum(k == 'same-task' for k, _ in fp_rows)} same-task)")
    if info["calls"]:
        per_call = seconds / info["calls"]
        print(f"every candidate pair ({len(pairs)}) would take about {len(pairs) * per_call / 60:.0f} min at "
              f"{per_call:.2f} s per call (one call each, plus one per 'yes')")


if __name__ == "__main__":
    main()
