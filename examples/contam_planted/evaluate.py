"""Measure `coderank contam`'s detectors (without embeddings unless asked) on the planted set.

    python examples/contam_planted/evaluate.py [--split dev|test] [--sweep] [--sweep-examples]
    python examples/contam_planted/evaluate.py --embeddings [--judge MODEL] [--judge-top 3] [--judge-min 0.5]
    python examples/contam_planted/evaluate.py --heldout [--no-embeddings] [--judge MODEL]

Runs :func:`coderank.rigor.contam.check_contamination` on ``train.jsonl`` against HumanEval and against MBPP's
test split, and counts, per detector: planted leaks caught (a leak counts as caught when its own row is
flagged for its own problem), broken down by recipe; clean and honest same-task rows flagged for any problem
(false positives); MBPP train/validation rows that overlap the test split (``overlap``, not counted either
way). Paraphrased leaks (``paraphrased.py``) are counted apart from the renamed ones. ``--judge`` adds the LLM
judge (with the embeddings it needs) and prints its cost; its answers are cached in the store
(``$CODERANK_HOME``), so a second run reads them back. ``--sweep`` prints recall and false positives of the
clone score over thresholds, which is how its default was chosen (on ``--split dev``); ``--sweep-examples`` does
the same for the example-fingerprint score, for both halves side by side, with its speed. ``--heldout`` measures
every detector (with embeddings unless ``--no-embeddings``) on ``heldout_paraphrased.py``'s 40 paraphrases and 20
honest rows, written blind to the detectors after their thresholds were chosen.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from coderank.problems import load_benchmark
from coderank.rigor.clone import clone_scores
from coderank.rigor.contam import check_contamination, load_embedder, row_text
from coderank.rigor.fingerprint import example_scores

HERE = Path(__file__).resolve().parent
BENCHES = ("humaneval", "mbpp")


def main() -> None:
    """Print the measurements."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=("dev", "test"))
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--sweep-examples", action="store_true")
    ap.add_argument("--train", default=str(HERE / "train.jsonl"))
    ap.add_argument("--embeddings", action="store_true", help="run the embedding detector too")
    ap.add_argument("--judge", metavar="MODEL", help="add the LLM judge (implies --embeddings)")
    ap.add_argument("--judge-top", type=int, default=3)
    ap.add_argument("--judge-min", type=float, default=0.5)
    ap.add_argument("--threads", type=int, help="CPU threads of a local judge model")
    ap.add_argument("--heldout", action="store_true", help="measure on the blind held-out rows instead")
    ap.add_argument("--no-embeddings", action="store_true", help="with --heldout: without the embedding detector")
    ap.add_argument("--no-run-code", action="store_true",
                    help="do not run flagged rows' code against the item's tests (as `contam --no-run-code`)")
    args = ap.parse_args()
    if args.heldout:
        return heldout(embeddings=not args.no_embeddings, run_code=not args.no_run_code, judge_model=args.judge,
                       threads=args.threads, top=args.judge_top, min_cosine=args.judge_min)
    metas = [json.loads(line)["meta"] for line in Path(args.train).read_text(encoding="utf-8").splitlines()]
    keep = [args.split in (None, m["split"]) for m in metas]
    clean = [k and m["kind"] in ("clean", "same-task") for k, m in zip(keep, metas, strict=True)]
    n_clean = sum(clean)
    if args.sweep:
        return sweep(args.train, metas, keep, clean)
    if args.sweep_examples:
        return sweep_examples(args.train, metas)

    # flagged[line] = {(benchmark, task): detectors}
    flagged: dict[int, dict[tuple[str, str], tuple[str, ...]]] = {}
    rows = 0
    seconds = 0.0
    embeddings = bool(args.embeddings or args.judge)
    embedder = load_embedder() if embeddings else None
    judge = None
    if args.judge:
        from coderank.models.backends import BackendOptions
        from coderank.rigor.judge import Judge

        judge = Judge(args.judge, options=BackendOptions(threads=args.threads), top_k=args.judge_top,
                      min_cosine=args.judge_min)
    timings: Counter[str] = Counter()
    ran: list[tuple[str, str, int, str, bool]] = []  # rows flagged by text alone whose code ran: verdict, still flagged
    for bench in BENCHES:
        t = time.perf_counter()
        rep = check_contamination(args.train, bench, embeddings=embeddings, embedder=embedder, judge=judge,
                                  behaviour=not args.no_run_code)
        seconds += time.perf_counter() - t
        timings.update(rep.timings)
        rows = rep.rows
        for item in rep.items:
            for hit in item.hits:
                if hit.flagged:
                    flagged.setdefault(hit.line, {})[(bench, item.task_id)] = hit.flagged_by
                if hit.behaviour is not None:
                    ran.append((bench, item.task_id, hit.line, hit.behaviour["verdict"], hit.flagged))
    if ran:
        kinds = Counter((verdict, "still flagged" if still else "not flagged",
                         metas[line - 1]["kind"] if metas[line - 1]["kind"] != "leak" or
                         (metas[line - 1]["benchmark"], metas[line - 1]["task_id"]) == (bench, task)
                         else "leak, another item") for bench, task, line, verdict, still in ran
                        if keep[line - 1])
        print("code run (rows flagged by text alone, against the item's tests): "
              + ", ".join(f"{v} / {f} / {k}: {n}" for (v, f, k), n in sorted(kinds.items())))
    print(f"{rows} rows ({sum(keep)} in this split), {n_clean} clean or same-task; "
          f"both benchmarks checked in {seconds:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in timings.items())})")
    if judge is not None:
        info = judge.describe()
        calls = info["calls"]
        judge_s = timings.get("judge", 0.0)
        print(f"judge {info['model']} ({info['identity'].get('file', info['identity'])}): {info['pairs']} pairs, "
              f"{calls} calls made, {info['cached']} from the cache, verdicts {info['verdicts']}; "
              f"judge stage {judge_s:.1f} s" + (f", {judge_s / calls:.2f} s per call" if calls else ""))
        judge.close()
    detectors: dict[str, tuple[str, ...] | None] = {
        "any": None, "clone": ("clone",), "function": ("function",), "ngram or jaccard": ("ngram", "jaccard"),
        "examples": ("examples",), "any but examples": ("ngram", "jaccard", "clone", "function", "cosine", "judge")}
    if embeddings:
        detectors["cosine"] = ("cosine",)
        detectors["examples+cosine"] = ("examples+cosine",)
        detectors["any but cosine"] = ("ngram", "jaccard", "clone", "function", "examples", "examples+cosine", "judge")
    if judge is not None:
        detectors["judge"] = ("judge",)
    for bench in BENCHES:
        leaks = [(line, m) for line, m in enumerate(metas, start=1)
                 if keep[line - 1] and m["kind"] == "leak" and m["benchmark"] == bench]
        for name, which in detectors.items():
            def caught(line: int, task: str, which: tuple[str, ...] | None = which, bench: str = bench) -> bool:
                by = flagged.get(line, {}).get((bench, task), ())
                return bool(by) and (which is None or bool(set(by) & set(which)))

            hit = [caught(line, m["task_id"]) for line, m in leaks]
            renamed = [h for h, (_, m) in zip(hit, leaks, strict=True)
                       if m["recipe"]["rename"] not in ("verbatim", "paraphrase")]
            para = [h for h, (_, m) in zip(hit, leaks, strict=True) if m["recipe"]["rename"] == "paraphrase"]
            by_content = Counter(m["recipe"]["content"] for (_, m), h in zip(leaks, hit, strict=True) if not h)
            print(f"{bench:9} {name:16}: {sum(hit)}/{len(hit)} leaks caught (renamed {sum(renamed)}/{len(renamed)}, "
                  f"paraphrased {sum(para)}/{len(para)})"
                  + (f"; missed by content: {dict(by_content)}" if by_content else ""))
        missed = [(m["task_id"], m["recipe"]["content"], m["recipe"]["rename"]) for line, m in leaks
                  if not flagged.get(line, {}).get((bench, m["task_id"]))]
        if missed:
            print(f"{bench:9} missed: {missed}")
    for name, which in detectors.items():
        fps = [(line, m.get("source"), sorted(task for (_, task), by in flagged[line].items()
                                              if which is None or set(by) & set(which)))
               for line, m in enumerate(metas, start=1)
               if clean[line - 1] and line in flagged
               and any(which is None or set(by) & set(which) for by in flagged[line].values())]
        same = sum(metas[line - 1]["kind"] == "same-task" for line, _, _ in fps)
        print(f"false positives, {name:16}: {len(fps)}/{n_clean} clean rows ({100 * len(fps) / max(n_clean, 1):.1f}%), "
              f"{same} of them honest same-task rows" + (f": {fps}" if fps and len(fps) <= 12 else ""))
    print("\nleaks caught, by what the row holds (both benchmarks):")
    print(f"{'content':17} {'rows':>5} {'ngram/jaccard':>14} {'clone':>6} {'function':>8} {'examples':>8} "
          f"{'cosine':>6} {'judge':>6} {'any':>5}")
    table: dict[str, list[int]] = {}
    for line, m in enumerate(metas, start=1):
        if keep[line - 1] and m["kind"] == "leak":
            by = flagged.get(line, {}).get((m["benchmark"], m["task_id"]), ())
            row = table.setdefault(m["recipe"]["content"], [0, 0, 0, 0, 0, 0, 0, 0])
            row[0] += 1
            row[1] += bool({"ngram", "jaccard"} & set(by))
            row[2] += "clone" in by
            row[3] += "function" in by
            row[4] += "examples" in by
            row[5] += "cosine" in by
            row[6] += "judge" in by
            row[7] += bool(by)
    for content, (n, old, clone, fn, ex, cos, jud, anyd) in sorted(table.items()):
        print(f"{content:17} {n:5} {old:14} {clone:6} {fn:8} {ex:8} {cos:6} {jud:6} {anyd:5}")
    overlap = [line for line, m in enumerate(metas, start=1) if keep[line - 1] and m["kind"] == "overlap"]
    print(f"MBPP train/valid rows overlapping the test split: {sum(line in flagged for line in overlap)}"
          f"/{len(overlap)} flagged")


def sweep(train: str, metas: list[dict], keep: list[bool], clean: list[bool]) -> None:
    """Recall and false positives of the clone score alone, over thresholds."""
    texts = [row_text({k: v for k, v in json.loads(line).items() if k != "meta"}) or ""
             for line in Path(train).read_text(encoding="utf-8").splitlines()]
    best_clean: list[float] = [0.0] * len(texts)
    own: dict[int, float] = {}
    for bench in BENCHES:
        problems = list(load_benchmark(bench))
        ids = {p.task_id: i for i, p in enumerate(problems)}
        scores = clone_scores([(p.prompt, p.canonical_solution) for p in problems], texts).scores
        for (i, r), (score, _) in scores.items():
            m = metas[r]
            if m["kind"] == "leak" and m["benchmark"] == bench and ids[m["task_id"]] == i:
                own[r] = score
            if clean[r]:
                best_clean[r] = max(best_clean[r], score)
    leaks = [r for r, m in enumerate(metas) if keep[r] and m["kind"] == "leak"]
    n_clean = sum(clean)
    print(f"{len(leaks)} leaks, {n_clean} clean rows")
    for th in (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0):
        caught = sum(own.get(r, 0.0) >= th for r in leaks)
        fp = sum(best_clean[r] >= th for r in range(len(texts)) if clean[r])
        print(f"clone >= {th:.2f}: {caught}/{len(leaks)} leaks, {fp}/{n_clean} clean rows flagged")


def sweep_examples(train: str, metas: list[dict]) -> None:
    """Paraphrases and renamed leaks caught, and clean and honest rows flagged, by the example score alone.

    Per half, over thresholds; and the detector's speed (its index built once per benchmark, then every row).
    """
    texts = [row_text({k: v for k, v in json.loads(line).items() if k != "meta"}) or ""
             for line in Path(train).read_text(encoding="utf-8").splitlines()]
    best_clean = [0.0] * len(texts)
    own: dict[int, float] = {}
    seconds = 0.0
    for bench in BENCHES:
        problems = list(load_benchmark(bench))
        ids = {p.task_id: i for i, p in enumerate(problems)}
        t = time.perf_counter()
        scores = example_scores(problems, texts)
        seconds += time.perf_counter() - t
        for (i, r), match in scores.items():
            m = metas[r]
            if m["kind"] == "leak" and m["benchmark"] == bench and ids[m["task_id"]] == i:
                own[r] = match.score
            if m["kind"] in ("clean", "same-task"):
                best_clean[r] = max(best_clean[r], match.score)
    print(f"{len(texts)} rows x {len(BENCHES)} benchmarks in {seconds:.2f} s "
          f"({len(texts) * len(BENCHES) / seconds:.0f} row-benchmark pairs/s)")

    def rows(split: str, kind: str, content: str | None = None) -> list[int]:
        return [r for r, m in enumerate(metas) if m["split"] == split and m["kind"] == kind
                and (content is None or m["recipe"]["content"] == content)]

    print("threshold | per half (dev, test): paraphrases caught, solution-only and half-program leaks caught, "
          "clean rows flagged, honest same-task rows flagged")
    for th in (6, 8, 9, 10, 11, 12, 13, 14, 16, 20):
        cells = []
        for split in ("dev", "test"):
            para, sol, frag = (rows(split, "leak", c) for c in ("paraphrase", "solution", "fragment"))
            clean, same = rows(split, "clean"), rows(split, "same-task")
            cells.append(f"{sum(own.get(r, 0) >= th for r in para)}/{len(para)}, "
                         f"{sum(own.get(r, 0) >= th for r in sol)}/{len(sol)} {sum(own.get(r, 0) >= th for r in frag)}"
                         f"/{len(frag)}, {sum(best_clean[r] >= th for r in clean)}/{len(clean)}, "
                         f"{sum(best_clean[r] >= th for r in same)}/{len(same)}")
        print(f"examples >= {th:4.1f} | dev {cells[0]} | test {cells[1]}")


def heldout(*, embeddings: bool, run_code: bool = True, judge_model: str | None = None, threads: int | None = None,
            top: int = 3, min_cosine: float = 0.5) -> None:
    """Paraphrases caught (for their own item) and honest rows flagged, per detector, on the blind held-out rows."""
    import sys
    import tempfile

    from coderank.models.backends import BackendOptions
    from coderank.rigor.judge import Judge

    sys.path.insert(0, str(HERE))
    from heldout_paraphrased import HONEST_HELDOUT, PARAPHRASED_HELDOUT

    para, honest = PARAPHRASED_HELDOUT, HONEST_HELDOUT
    rows = [{"instruction": p[1], "output": p[2] or ""} for p in para] + [{"instruction": h[1], "output": h[2]}
                                                                          for h in honest]
    own: dict[int, tuple[str, ...]] = {}
    honest_flagged: list[str] = []
    embeddings = embeddings or judge_model is not None
    embedder = load_embedder() if embeddings else None
    judge = (Judge(judge_model, options=BackendOptions(threads=threads), top_k=top, min_cosine=min_cosine)
             if judge_model else None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "heldout.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        for bench in BENCHES:
            rep = check_contamination(path, bench, embeddings=embeddings, embedder=embedder, behaviour=run_code,
                                      judge=judge)
            for item in rep.items:
                for h in item.hits:
                    if h.line <= len(para) and para[h.line - 1][0] == item.task_id:
                        own[h.line] = h.flagged_by
                    elif h.line > len(para) and h.flagged:
                        honest_flagged.append(f"{honest[h.line - len(para) - 1][0]} row flagged for {item.task_id} "
                                              f"by {', '.join(h.flagged_by)} (cosine {h.cosine})")
    names = ["ngram", "jaccard", "clone", "function", "examples"]
    names += ["cosine", "examples+cosine"] if embeddings else []
    names += ["judge"] if judge is not None else []
    if judge is not None:
        info = judge.describe()
        judge.close()
        print(f"judge {info['model']}: {info['pairs']} pairs, {info['calls']} calls ({info['seconds']:.0f} s), "
              f"{info['cached']} from the cache; verdicts {info['verdicts']}")
    print(f"{len(para)} held-out paraphrases, {len(honest)} honest rows; embeddings {'on' if embeddings else 'off'}")
    for name in [*names, "any"]:
        caught = [line for line, by in own.items() if by and (name == "any" or name in by)]
        kinds = Counter(para[line - 1][3] for line in caught)
        print(f"{name:16} {len(caught):2}/{len(para)} caught (kept all {kinds['all']}/8, some {kinds['some']}/24, "
              f"none {kinds['none']}/8)")
    missed = [f"{p[0]} ({p[3]})" for line, p in enumerate(para, start=1) if not own.get(line)]
    print("missed:", ", ".join(missed))
    print(f"honest rows flagged: {len(honest_flagged)}/{len(honest)}" + "".join(f"\n  {h}" for h in honest_flagged))


if __name__ == "__main__":
    main()
