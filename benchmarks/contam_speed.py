"""Speed of `coderank contam`: 100k synthetic training rows against HumanEval's 164 items.

Prints rows/s for the path without embeddings (n-grams, MinHash, clones, example fingerprints; all rows) and for
the embedding path. On CPU the embedding path is timed on a sample of the rows (``--embed-rows``, default 2,000) and
extrapolated, because embedding 100k rows with all-MiniLM-L6-v2 on 2 cores takes over an hour.

``--rows-from stdlib`` uses real code instead of the synthetic rows: every function of this Python's standard
library (about 14k, 550 characters on average), repeated to ``--rows``, each under a one-line instruction.

    python benchmarks/contam_speed.py [--rows 100000] [--embed-rows 2000] [--device cpu] [--rows-from stdlib]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from coderank.problems import load_benchmark
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


def stdlib_rows() -> list[dict[str, str]]:
    """Every function of the standard library (not its tests), as an instruction and its source."""
    import ast
    import os

    lib = Path(os.__file__).parent
    rows = []
    for path in sorted([*lib.glob("*.py"), *lib.glob("*/*.py")]):
        if "test" in path.parts[-2:][0] or path.name.startswith("test"):
            continue
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                code = ast.get_source_segment(source, node)
                if code and 60 < len(code) < 6000:
                    rows.append({"instruction": f"Explain {node.name} from {path.stem}.", "input": "", "output": code})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--embed-rows", type=int, default=2_000)
    ap.add_argument("--device", default=None)
    ap.add_argument("--rows-from", choices=("synthetic", "stdlib"), default="synthetic")
    ap.add_argument("--benchmark", default="humaneval")
    args = ap.parse_args()
    rng = random.Random(0)
    bench = load_benchmark(args.benchmark)
    real = stdlib_rows() if args.rows_from == "stdlib" else []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.jsonl"
        with path.open("w") as f:
            for k in range(args.rows):
                f.write(json.dumps(real[k % len(real)] if real else synth_row(rng)) + "\n")
        t = time.perf_counter()
        rep = check_contamination(path, bench, embeddings=False)
        wall = time.perf_counter() - t
        tm = rep.timings
        flagged_by = {by for item in rep.items for h in item.hits for by in h.flagged_by}
        print(f"n-grams + MinHash + clones + examples ({args.rows_from} rows): {args.rows} rows x {len(bench)} items "
              f"in {wall:.1f} s = {args.rows / wall:,.0f} rows/s"
              f" (read {tm['read']:.1f} s, n-grams {tm['ngram']:.1f} s = {args.rows / tm['ngram']:,.0f} rows/s, "
              f"MinHash+LSH {tm['minhash']:.1f} s = {args.rows / tm['minhash']:,.0f} rows/s, "
              f"clones {tm['clone']:.1f} s = {args.rows / tm['clone']:,.0f} rows/s, "
              f"examples {tm['examples']:.1f} s = {args.rows / tm['examples']:,.0f} rows/s); "
              f"flagged {len(rep.flagged_lines)} (expected 0) {sorted(flagged_by)}")
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
