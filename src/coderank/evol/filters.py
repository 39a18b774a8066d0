"""Elimination checks of Evol-Instruct: why an evolved instruction or its answer is not kept.

Each check is a pure function of text (the sandbox run and the contamination check live in
:mod:`coderank.evol.evolution`) and returns ``None`` to keep the row or a :class:`Drop` with one of the
:data:`REASONS` and a short detail. The checks run in this order, and the first failure decides:

instruction (the evolution call's output)
    ``empty`` → ``overlong`` (over ``max_chars`` or cut off by the token limit) → ``not-an-instruction``
    (fewer than :data:`MIN_PROSE_WORDS` words outside code blocks, or — for any method but ``misdirection``,
    whose task legitimately carries code — a code block that defines a function: the model solved the task
    instead of rewriting it) → ``lost-task`` (keeps under :data:`MIN_KEPT_SHARE` of the parent's content
    words) → ``copied-template``
    (contains a phrase of the method templates, :data:`coderank.evol.methods.ELIMINATION_PHRASES`) →
    ``near-duplicate`` (adds nothing over its parent: almost the same characters, or fewer than
    :data:`MIN_NEW_WORDS` new words).
answer (the separate answer call's output)
    ``empty-answer`` → ``refusal`` → ``answer-truncated`` (cut off by the token limit) → ``no-code`` →
    ``syntax-error`` (the code does not parse).
then, in the pipeline
    ``crash`` (the code, run on its own in the sandbox with its examples — including its
    ``if __name__ == "__main__":`` block — raised, timed out or was killed) and ``leaked`` (the row matches a
    benchmark problem by the ``contam`` detectors).
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass

from coderank.evol.methods import ELIMINATION_PHRASES
from coderank.models.extract import fenced_blocks, outside_blocks

REASONS = ("empty", "overlong", "not-an-instruction", "lost-task", "copied-template", "near-duplicate",
           "empty-answer", "refusal", "answer-truncated", "no-code", "syntax-error", "crash", "leaked")
"""Every elimination reason, in the order the checks run."""

MIN_NEW_WORDS = 3
"""An evolved instruction must bring at least this many words its parent does not have."""

MIN_KEPT_SHARE = 0.3
"""An evolved instruction must keep at least this share of its parent's content words (four letters or more),
else it has lost the task (e.g. "What is the task you would like me to complete?")."""

MIN_PROSE_WORDS = 8
"""An evolved instruction needs at least this many words outside its code blocks."""

NEAR_DUPLICATE_RATIO = 0.95
"""Character similarity (difflib ratio) to the parent at or above which an evolution counts as no change."""

_WORD = re.compile(r"[a-z0-9_]+")
_DEFINES = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+\w", re.M)
_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry[,.]|i apologi[sz]e|i cannot|i can'?t|i can not|i'?m unable|i am unable|"
    r"i won'?t|as an ai\b|unfortunately, i)", re.I)
_CHATTY_OPENING = re.compile(r"^\s*(?:sure|certainly|of course|okay|ok|absolutely|here is|here's)\b[^\n]*[:!.]\s*\n",
                             re.I)
_LABEL_WORDS = r"(?:exercise|task|problem|new task|harder task|rewritten task|task description)"
# A label alone on its line ("**Task:**", "### New Task") or at the start of plain text ("Task: ...").
_LEADING_LABEL = re.compile(
    rf"^\s*(?:(?:\*\*|#+\s*)?{_LABEL_WORDS}\s*:?\s*(?:\*\*)?\s*:?[ \t]*\n|{_LABEL_WORDS}\s*:\s*)", re.I)


@dataclass(frozen=True)
class Drop:
    """Why a row was not kept: one of :data:`REASONS` and a detail for a human."""

    reason: str
    detail: str


def clean_instruction(text: str) -> str:
    """The evolved instruction as kept, with outer whitespace and quotes, a chatty opening and a label removed.

    A chatty opening is a first line like "Sure, here is a harder task:"; a label is e.g. "Task:".
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    text = _CHATTY_OPENING.sub("", text, count=1)
    return _LEADING_LABEL.sub("", text, count=1).strip()


def words(text: str) -> set[str]:
    """Lower-case word tokens."""
    return set(_WORD.findall(text.lower()))


def check_instruction(evolved: str, parent: str, *, truncated: bool, max_chars: int,
                      method: str = "") -> Drop | None:
    """Why an evolved instruction is not kept, or None (``evolved`` as cleaned by :func:`clean_instruction`)."""
    if not evolved.strip():
        return Drop("empty", "the evolution call returned no instruction")
    if truncated:
        return Drop("overlong", "cut off by the token limit")
    if len(evolved) > max_chars:
        return Drop("overlong", f"{len(evolved)} characters (limit {max_chars})")
    prose = outside_blocks(evolved)
    if len(_WORD.findall(prose.lower())) < MIN_PROSE_WORDS:
        return Drop("not-an-instruction", f"fewer than {MIN_PROSE_WORDS} words outside code blocks")
    if method != "misdirection" and any(_DEFINES.search(block.code) for block in fenced_blocks(evolved)):
        return Drop("not-an-instruction", "contains a code block defining a function: a solution, not a task")
    content = {w for w in words(parent) if len(w) >= 4}
    if content:
        share = len(content & words(evolved)) / len(content)
        if share < MIN_KEPT_SHARE:
            return Drop("lost-task", f"keeps {share:.0%} of the parent's content words")
    low = evolved.lower()
    for phrase in ELIMINATION_PHRASES:
        if phrase in low:
            return Drop("copied-template", f"contains the template's words {phrase!r}")
    new = words(evolved) - words(parent)
    if len(new) < MIN_NEW_WORDS:
        return Drop("near-duplicate", f"only {len(new)} new word(s) over the parent")
    ratio = difflib.SequenceMatcher(None, parent, evolved, autojunk=False).ratio()
    if ratio >= NEAR_DUPLICATE_RATIO:
        return Drop("near-duplicate", f"{ratio:.2f} similar to the parent")
    return None


def answer_code(answer: str) -> str | None:
    """The answer's code: its first Python (or untagged) fenced block, else the whole answer if it parses."""
    blocks = fenced_blocks(answer)
    for block in blocks:
        if block.python and block.code.strip():
            return block.code.strip("\n")
    if blocks:
        return None  # only blocks in other languages
    text = answer.strip()
    if text and _parses(text) and any(ch in text for ch in "=():"):
        return text
    return None


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def check_answer(answer: str, *, truncated: bool) -> tuple[str | None, Drop | None]:
    """``(code, None)`` for a keepable answer, else ``(code or None, why not)``."""
    if not answer.strip():
        return None, Drop("empty-answer", "the answer call returned nothing")
    if _REFUSAL.match(answer.strip()[:200]):
        return None, Drop("refusal", answer.strip().splitlines()[0][:120])
    if truncated:
        return None, Drop("answer-truncated", "cut off by the token limit")
    code = answer_code(answer)
    if code is None:
        return None, Drop("no-code", "no Python code block in the answer")
    try:
        ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        return code, Drop("syntax-error", f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}"
                          + (f" (line {line} of the code)" if line else ""))
    return code, None
