"""Degenerate loops in an answer: the same few lines over and over until the token limit.

Small and base models, asked to continue a function, often finish the body and then repeat a line or a short
block (``# print(x)``, ``assert f(1) == 1``, blank lines, ``elif n == 7: return 7``) until ``max_tokens``.
Those tokens cost most of such an eval's time (here: 442 of gemma-270m's 500 MBPP answers ran to 512 tokens,
2 h 10 min of generation) and a larger limit never helps them.

A loop, as coderank defines it: :data:`WINDOW` consecutive complete lines that hold at most :data:`DISTINCT`
different lines once surrounding spaces are dropped and every run of digits reads as one digit (so
``print(a[7])`` and ``print(a[8])`` are the same line). On the canonical solutions of HumanEval and all 974
MBPP problems this finds no loop; on gemma-270m's greedy answers it finds 383 of the 442 MBPP answers and 74 of
the 102 HumanEval answers that hit the limit, and none of the answers that passed.

With ``--stop-loops`` generation stops at the first loop and the answer is cut where the loop begins (the window's
first line that repeats in it).
Because the cut depends only on the text up to the point where the loop is seen, it is the same whether the
backend stops early (llama.cpp) or the whole answer is generated and cut afterwards (servers, transformers), and
an answer generated without the option turns into the answer with it (:func:`cut_loop`).
"""

from __future__ import annotations

import re

WINDOW = 12
"""Consecutive complete lines a loop spans before it is seen."""

DISTINCT = 2
"""At most this many different (normalised) lines in the window."""

_DIGITS = re.compile(r"\d+")


def _norm(line: str) -> str:
    return _DIGITS.sub("0", line.strip())


def loop_start(text: str) -> int | None:
    """The character offset where the first loop in ``text`` begins, or ``None`` without a loop.

    Only complete lines (followed by a newline) count, so the answer of a generation that stopped the moment a
    loop was seen and the answer of one that ran on give the same offset.
    """
    lines = text.split("\n")[:-1]  # the last piece has no newline after it: not a complete line
    if len(lines) < WINDOW:
        return None
    norm = [_norm(line) for line in lines]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    for end in range(WINDOW, len(lines) + 1):
        window = norm[end - WINDOW:end]
        if len(set(window)) <= DISTINCT:
            # the window may begin with the answer's last real line (seen once): the loop begins at the first
            # line that repeats in it
            first = next(i for i, line in enumerate(window) if window.count(line) > 1)
            return starts[end - WINDOW + first]
    return None


def cut_loop(text: str) -> str | None:
    """``text`` without its first loop and everything after it, or ``None`` when it has no loop."""
    start = loop_start(text)
    return None if start is None else text[:start]

