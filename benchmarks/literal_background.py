"""Build the literal background of the example-fingerprint detector (``coderank contam``'s ``examples`` score).

    python benchmarks/literal_background.py [--out src/coderank/rigor/data/literal_background.json]

Every function of this Python's own test suite (``Lib/test``, innermost ``def`` bodies: about 34,000 in CPython
3.11) is one document; each literal atom (see :func:`coderank.rigor.fingerprint.literals`) is counted once per
document it occurs in. Test code is full of example values (``[1, 2, 3]``, ``"abc"``, ``42``), which is what an
honest training row that does not copy a benchmark holds too. Written: the number of documents, the document
frequency of every atom found in at least ``--min-df`` documents, and how often each scalar occurs inside
sequences (weighted by the sequence's document frequency), which gives a sequence's prior. The shipped file was
made with CPython 3.11.7; the counts change a little with the Python version, so it is rebuilt only on purpose.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import time
from collections import Counter
from pathlib import Path

from coderank.rigor.fingerprint import elements, literals

ROOT = Path(__file__).resolve().parents[1]


def documents(lib: Path) -> list[str]:
    """The source of every innermost function of ``lib/test``, in a fixed order."""
    docs = []
    for path in sorted((lib / "test").rglob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        lines = source.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not any(
                    isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in node.body):
                docs.append("\n".join(lines[node.lineno - 1:node.end_lineno])[:20_000])
    return docs


def main() -> None:
    """Write the background file."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "src" / "coderank" / "rigor" / "data" / "literal_background.json"))
    ap.add_argument("--min-df", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    docs = documents(Path(os.__file__).parent)
    if not docs:
        raise SystemExit("this Python has no test suite (Lib/test); install it (e.g. Debian's libpython3-testsuite)")
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(literals(doc)[0].keys())
    inside: Counter[str] = Counter()
    for atom, count in df.items():
        for element in elements(atom):
            inside[element] += count
    out = {
        "source": f"functions of the test suite of {platform.python_implementation()} {platform.python_version()}",
        "docs": len(docs),
        "min_df": args.min_df,
        "atoms": {a: c for a, c in sorted(df.items()) if c >= args.min_df},
        "elements": {a: c for a, c in sorted(inside.items()) if c >= args.min_df},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(docs)} documents, {len(df)} atoms ({len(out['atoms'])} kept), {len(out['elements'])} elements: "
          f"{args.out} ({Path(args.out).stat().st_size} bytes) in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
