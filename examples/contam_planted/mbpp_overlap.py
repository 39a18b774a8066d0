"""Find the MBPP train/validation problems that overlap MBPP test problems; writes ``mbpp_overlap.json``.

    python examples/contam_planted/mbpp_overlap.py

MBPP's splits were written by the same crowd workers, often from one template, so some train and validation
problems are not independent of the test split. Two criteria, neither using coderank's detectors:

- **duplicate**: each problem's reference solution passes the other problem's three asserts (run here, one
  pair at a time, with a 5 s alarm): a model that learnt one solves the other. Pairs are tried when the
  statements' words or the references' raw tokens are at least 70% alike (``difflib`` ratio).
- **sibling**: the statements' words *and* the references' raw tokens (no normalisation: names as written)
  are both at least 80% alike, e.g. "sum of fourth power of first n even natural numbers" with ``j*j*j*j``
  beside the test split's "fifth power" with ``j*j*j*j*j``;
- **same statement**: the statements are the same words (MBPP/602 and the test split's MBPP/217, "find the
  first repeated character in a given string", with different code and tests).

``make_planted.py`` labels those rows ``overlap`` instead of ``clean``. The references are MBPP's own code,
run with the current interpreter in a child process.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import signal
import subprocess
import sys
import tokenize
from pathlib import Path

HERE = Path(__file__).resolve().parent


def raw_tokens(code: str) -> list[str]:
    """Python tokens as written (no normalisation), without layout and comments."""
    out: list[str] = []
    skip = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.ENDMARKER)
    try:
        out = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type not in skip]
    except (tokenize.TokenError, SyntaxError):
        out = re.findall(r"\w+|[^\w\s]", code)
    return out


def ratio(a: list[str], b: list[str], at_least: float) -> float:
    """The difflib similarity ratio, or 0.0 when it is surely below ``at_least``."""
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if sm.real_quick_ratio() < at_least or sm.quick_ratio() < at_least:
        return 0.0
    return sm.ratio()


def worker() -> None:
    """Read ``[program, ...]`` on stdin; print one line per program: ``1`` if it printed PASS, else ``0``."""
    programs = json.load(sys.stdin)
    real_stdout = sys.stdout

    def alarm(signum, frame):  # noqa: ANN001
        raise TimeoutError

    signal.signal(signal.SIGALRM, alarm)
    for program in programs:
        ok = False
        sys.stdout = io.StringIO()
        try:
            signal.alarm(5)
            exec(compile(program, "<pair>", "exec"), {"__name__": "__pair__"})  # noqa: S102
            ok = True
        except BaseException:  # noqa: BLE001, S110  (a failing pair is the answer, whatever it raised)
            pass
        finally:
            signal.alarm(0)
            sys.stdout = real_stdout
        print(int(ok), flush=True)


def run_all(programs: list[str]) -> list[bool]:
    """Which programs ran without error, in a child process (restarted if a program kills it)."""
    results: list[bool] = []
    while len(results) < len(programs):
        rest = programs[len(results):]
        proc = subprocess.run([sys.executable, __file__, "--worker"], input=json.dumps(rest), capture_output=True,
                              text=True, timeout=3600)
        got = [line == "1" for line in proc.stdout.split()]
        results += got
        if len(got) < len(rest):
            results.append(False)  # the program that killed the worker
    return results


def main() -> None:
    """Write mbpp_overlap.json."""
    from coderank.problems import load_benchmark

    test = list(load_benchmark("mbpp"))
    others = [p for b in ("mbpp-train", "mbpp-valid") for p in load_benchmark(b)]
    t_feats = [(raw_tokens(p.canonical_solution), p.metadata["text"].lower().split()) for p in test]
    siblings: dict[str, list[str]] = {}
    same: dict[str, list[str]] = {}
    candidates: list[tuple[object, object]] = []
    for p in others:
        code, words = raw_tokens(p.canonical_solution), p.metadata["text"].lower().split()
        for q, (q_code, q_words) in zip(test, t_feats, strict=True):
            rw = difflib.SequenceMatcher(None, words, q_words, autojunk=False).ratio()
            rc = ratio(code, q_code, 0.7)
            if rw >= 0.8 and rc >= 0.8:
                siblings.setdefault(p.task_id, []).append(q.task_id)
            if words == q_words:
                same.setdefault(p.task_id, []).append(q.task_id)
            if rw >= 0.7 or rc >= 0.7:
                candidates.append((p, q))

    def program(src, tests) -> str:  # noqa: ANN001
        return src.canonical_solution + "\n\n" + tests.test + f"\ncheck({src.entry_point})\n"

    programs = [prog for p, q in candidates for prog in (program(p, q), program(q, p))]
    passed = run_all(programs)
    duplicates: dict[str, list[str]] = {}
    for k, (p, q) in enumerate(candidates):
        if passed[2 * k] and passed[2 * k + 1]:
            duplicates.setdefault(p.task_id, []).append(q.task_id)
    doc = {"duplicates": duplicates, "siblings": siblings, "same_statement": same, "pairs_run": len(candidates)}
    (HERE / "mbpp_overlap.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(candidates)} pairs run; {len(duplicates)} train/valid problems duplicate a test problem, "
          f"{len(siblings)} are siblings of one, {len(same)} have the same statement; "
          f"{len(set(duplicates) | set(siblings) | set(same))} overlap in all")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
    else:
        main()
