"""Speed of `coderank contam`: 100k synthetic training rows against HumanEval's 164 items.

Prints rows/s for the n-gram + MinHash path (all rows) and for the embedding path. On CPU the embedding path
is timed on a sample of the rows (``--embed-rows``, default 2,000) and extrapolated, because embedding 100k
rows with all-MiniLM-L6-v2 on 2 cores takes over an hour.

    python benchmarks/contam_speed.py [--rows 100000] [--embed-rows 2000] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from coderank.benchmarks import load_benchmark
from coderank.rigor.contam import check_contamination

VERBS = ["Write", "Implement", "Create", "Design", "Build", "Refactor", "Explain and write", "Optimise"]
THINGS = ["a function", "a class", "a script", "a method", "a generator", "a decorator", "a CLI tool", "a helper"]
TASKS = ["that parses log lines into records", "that merges two sorted lists", "that validates a password",
         "that counts words in a file", "that caches HTTP responses", "that converts units", "that rotates a list",
         "that finds cycles in a graph", "that schedules jobs by priority", "that compresses a string",
         "that renders a table as markdown", "that computes moving averages", "that retries with backoff"]
WORDS = ["data", "value", "items", "result", "index", "count", "total", "buffer", "node", "edge", "key", "queue",
         "stack", "left", "right", "start", "end", "offset", "length", "size", "limit", "cache", "record", "line",
         "token", "score", "weight", "batch", "chunk", "step"]


def synth_row(rng: random.Random) -> dict[str, str]:
    ins = f"{rng.choice(VERBS)} {rng.choice(THINGS)} {rng.choice(TASKS)}, handling {rng.choice(WORDS)} " \
          f"and {rng.choice(WORDS)} carefully."
    name = "_".join(rng.sample(WORDS, 2))
    body = "\n".join(f"    {rng.choice(WORDS)} = {rng.choice(WORDS)} + {rng.randint(0, 99)}"
                     for _ in range(rng.randint(3, 15)))
    return {"instruction": ins, "input": "", "output": f"def {name}({rng.choice(WORDS)}):\n{body}\n    return "
                                                       f"{rng.choice(WORDS)}"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--embed-rows", type=int, default=2_000)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    rng = random.Random(0)
    bench = load_benchmark("humaneval")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.jsonl"
        with path.open("w") as f:
            for _ in range(args.rows):
                f.write(json.dumps(synth_row(rng)) + "\n")
        t = time.perf_counter()
        rep = check_contamination(path, bench, embeddings=False)
        wall = time.perf_counter() - t
        tm = rep.timings
        print(f"n-gram + MinHash: {args.rows} rows x {len(bench)} items in {wall:.1f} s = "
              f"{args.rows / wall:,.0f} rows/s"
              f" (read {tm['read']:.1f} s, n-grams {tm['ngram']:.1f} s = {args.rows / tm['ngram']:,.0f} rows/s, "
              f"MinHash+LSH {tm['minhash']:.1f} s = {args.rows / tm['minhash']:,.0f} rows/s); "
              f"flagged {len(rep.flagged_lines)} (expected 0)")
        if args.embed_rows:
            small = Path(tmp) / "sample.jsonl"
            with path.open() as fin, small.open("w") as fout:
                for _, line in zip(range(args.embed_rows), fin, strict=False):
                    fout.write(line)
            from coderank.rigor.contam import load_embedder

            t = time.perf_counter()
            model = load_embedder(args.device)
            load = time.perf_counter() - t
            rep = check_contamination(small, bench, embedder=model)
            emb = rep.timings["embed"]
            rate = args.embed_rows / emb
            print(f"embeddings ({model.device}): {args.embed_rows} rows + {len(bench)} items in {emb:.1f} s = "
                  f"{rate:,.1f} rows/s (model load {load:.1f} s); {args.rows} rows would take ~"
                  f"{args.rows / rate / 60:.0f} min")


if __name__ == "__main__":
    main()
