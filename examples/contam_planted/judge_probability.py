"""How well a local judge's first-token probability separates paraphrased leaks from honest same-task rows.

    python examples/contam_planted/judge_probability.py --model qwen-1.5b [--same-task 25] [--clean 0]
        [--out judge_probability_qwen-1.5b.jsonl] [--threads 2]

``contam --judge`` reads a judge's greedy one-word answer. A small model's answer can be stuck on one word (the
0.5B default says "no" to everything, the 1.5B "yes"), while its probabilities might still rank the pairs. This
asks a local GGUF model (an embedded spec or ``gguf:PATH``), with both orders of the two texts, for the
probability of "yes" against "no" as its first answer token: on every planted paraphrase with its own item
(``paraphrased.py``), on a seeded sample of honest same-task rows (``honest.py``) with the items they are
nearest to (as ``contam --judge`` chooses them, flags aside), and on a sample of clean rows likewise. The prompt is
a stricter wording than :data:`coderank.rigor.judge.TEMPLATE` (:data:`PROMPT`). One JSON line per pair goes to
``--out`` as it is measured (a rerun skips the pairs already there); then it prints, per way of combining the
two orders, the chance that a paraphrase ranks above a same-task pair (AUC) and the same-task pairs a threshold
flags at 25/50/75% of the paraphrases caught. Research code: it reads logits through llama-cpp-python directly.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from coderank.problems import load_benchmark
from coderank.rigor.contam import embed, item_text, judge_candidates, load_embedder, row_text
from coderank.rigor.judge import clip

HERE = Path(__file__).resolve().parent
PROMPT = (
    "You check training data for leaked benchmark problems. Text 1 is a benchmark problem. Text 2 is a "
    "training example. Text 2 is a leak only if it asks for exactly the same function as Text 1: the same "
    "inputs, the same outputs for every input, the same special cases and rules, possibly in other words or "
    "with other names. If Text 2 asks for a different computation, a more general or simpler task, or only "
    "the same topic, it is not a leak, even if it is very similar.\n"
    "Is Text 2 a leak of Text 1? Answer with one word: yes or no.\n\n"
    "Text 1:\n{first}\n\nText 2:\n{second}"
)


def pairs_to_judge(same_task: int, clean: int, seed: int) -> tuple[list[dict], list[str]]:
    """The labelled (item, row) pairs, and the rows' texts."""
    rows = [json.loads(line) for line in (HERE / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    metas = [row.pop("meta") for row in rows]
    texts = [row_text(row) or "" for row in rows]
    embedder = load_embedder()
    vecs = embed(embedder, texts)
    pairs: list[dict] = []
    for bench in ("humaneval", "mbpp"):
        problems = list(load_benchmark(bench))
        items = [item_text(p.prompt, p.canonical_solution) for p in problems]
        sims = vecs @ embed(embedder, items).T
        at = {p.task_id: i for i, p in enumerate(problems)}
        for r, m in enumerate(metas):
            if m.get("recipe", {}).get("content") == "paraphrase" and m["benchmark"] == bench:
                i = at[m["task_id"]]
                pairs.append({"kind": "para", "split": m["split"], "task": m["task_id"], "row": r, "item": items[i],
                              "cos": float(sims[r, i])})
        for i, r in judge_candidates(sims, set(), 3, 0.5):
            if metas[r]["kind"] in ("same-task", "clean"):
                pairs.append({"kind": metas[r]["kind"], "split": metas[r]["split"], "task": problems[i].task_id,
                              "row": r, "item": items[i], "cos": float(sims[r, i])})
    rng = random.Random(seed)
    same = [p for p in pairs if p["kind"] == "same-task"]
    other = [p for p in pairs if p["kind"] == "clean"]
    chosen = [p for p in pairs if p["kind"] == "para"] + rng.sample(same, min(same_task, len(same)))
    chosen += rng.sample(other, min(clean, len(other)))
    return chosen, texts


def auc(pos: list[float], neg: list[float]) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def summarise(records: list[dict]) -> None:
    """Print AUCs and threshold trade-offs, paraphrases against same-task rows."""
    ways = {"item first": lambda r: r["item-first"], "row first": lambda r: r["row-first"],
            "smaller of both": lambda r: min(r["item-first"], r["row-first"]), "cosine": lambda r: r["cos"]}
    para = [r for r in records if r["kind"] == "para"]
    same = [r for r in records if r["kind"] == "same-task"]
    clean = [r for r in records if r["kind"] == "clean"]
    print(f"{len(para)} paraphrases, {len(same)} same-task pairs, {len(clean)} clean pairs")
    if not para or not same:
        return
    for name, f in ways.items():
        print(f"  {name:16} AUC paraphrase vs same-task {auc([f(r) for r in para], [f(r) for r in same]):.3f}")
    score = ways["smaller of both"]
    ranked = sorted((score(r) for r in para), reverse=True)
    for share in (0.25, 0.5, 0.75):
        t = ranked[max(0, int(len(ranked) * share) - 1)]
        print(f"  threshold {t:.3f} catches {sum(s >= t for s in ranked)}/{len(para)} paraphrases and flags "
              f"{sum(score(r) >= t for r in same)}/{len(same)} same-task pairs, "
              f"{sum(score(r) >= t for r in clean)}/{len(clean)} clean pairs")


def main() -> None:
    """Measure, appending to --out, then summarise everything in --out."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen-1.5b", help="an embedded model spec or gguf:PATH")
    ap.add_argument("--same-task", type=int, default=25, help="same-task pairs sampled (seeded)")
    ap.add_argument("--clean", type=int, default=0, help="clean pairs sampled (seeded)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="JSON lines, one per pair (default: beside this script)")
    args = ap.parse_args()
    from jinja2 import Template
    from llama_cpp import Llama

    from coderank.models import embedded

    model = embedded.get(args.model)
    path = model.path() if model is not None else Path(args.model.removeprefix("gguf:"))
    out = args.out or HERE / f"judge_probability_{args.model.replace(':', '_').replace('/', '_')}.jsonl"
    done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    seen = {(r["task"], r["row"]) for r in done}
    chosen, texts = pairs_to_judge(args.same_task, args.clean, args.seed)
    llm = Llama(str(path), n_ctx=4096, n_threads=args.threads, verbose=False)
    template = Template(llm.metadata["tokenizer.chat_template"])
    yes = {llm.tokenize(w.encode(), add_bos=False)[0] for w in ("yes", "Yes", " yes", " Yes", "YES")}
    no = {llm.tokenize(w.encode(), add_bos=False)[0] for w in ("no", "No", " no", " No", "NO")}

    def p_yes(first: str, second: str) -> float:
        message = PROMPT.format(first=clip(first), second=clip(second))
        text = template.render(messages=[{"role": "user", "content": message}], add_generation_prompt=True)
        llm.reset()
        llm.eval(llm.tokenize(text.encode(), add_bos=False, special=True))
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
        prob = np.exp(logits - logits.max())
        py, pn = float(prob[list(yes)].sum()), float(prob[list(no)].sum())
        return py / (py + pn)

    with out.open("a") as fh:
        for pair in chosen:
            if (pair["task"], pair["row"]) in seen:
                continue
            t = time.perf_counter()
            rec = {k: pair[k] for k in ("kind", "split", "task", "row", "cos")}
            rec |= {"item-first": p_yes(pair["item"], texts[pair["row"]]),
                    "row-first": p_yes(texts[pair["row"]], pair["item"]), "s": round(time.perf_counter() - t, 2)}
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            done.append(rec)
    summarise(done)


if __name__ == "__main__":
    main()
