"""The LLM judge of ``coderank contam --judge``: whether a training row is a rephrasing of a benchmark item.

Embedding similarity cannot separate a paraphrased leak from an honest row that teaches the same task (see
:mod:`coderank.rigor.contam`). The second stage asks a model, as LMSYS's LLM Decontaminator does after its
embedding top-k: for each benchmark item, the ``top_k`` training rows nearest to it by embedding cosine that
no other detector flagged (and at least ``min_cosine`` from it) go to the judge, one pair per request.

- **Prompt.** One fixed user message (:data:`TEMPLATE`, versioned and hashed): the two texts, each cut to
  :data:`MAX_CHARS` characters, and a one-word question. The item comes first, so a local llama.cpp model
  reuses the item's part of the prompt across its rows (the requests are sent item by item).
- **Both ways.** A pair the judge calls the same is asked again with the texts swapped; it counts as a leak
  only when both answers say so (small models lean to whichever text comes first). A pair answered "no"
  first costs one call.
- **Answers.** Greedy, at most :data:`MAX_TOKENS` tokens, parsed by :func:`parse_answer`: the first
  yes/no-like word, or the only one of "yes"/"no" in the reply; anything else is ``unclear`` and flags
  nothing (the raw answer is kept).
- **Cache.** Every call goes through the store's completion cache (the model's identity, the request and
  ``purpose: contam-judge`` are its key), so a second run makes no call and a killed run resumes.

Cost: at most ``items x top_k x 2`` calls whatever the size of the training file, since each item sends only
its nearest rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coderank.digest import sha256_text
from coderank.errors import UsageError

TEMPLATE_VERSION = 1
TEMPLATE = (
    "Below are two texts about programming. Do they state the same problem: the same task with the same inputs "
    "and outputs, so that one is a rephrasing of the other (in other words, with other names, with the examples "
    "written differently, with or without a solution)? Two different tasks, or a general task and a specific "
    "problem on the same topic, are not the same problem.\n"
    "Answer with one word: yes or no.\n\n"
    "Text 1:\n{first}\n\nText 2:\n{second}"
)
TEMPLATE_SHA256 = sha256_text(f"{TEMPLATE_VERSION}\n{TEMPLATE}")
#: Each text is cut to this many characters (about 600 tokens), so a pair fits a 4,096-token context.
MAX_CHARS = 2000
#: Token limit of an answer: one word, with room for "Yes." or a leading "Answer:".
MAX_TOKENS = 5
PURPOSE = "contam-judge"

_YES = {"yes", "true", "same"}
_NO = {"no", "false", "different", "not"}
_WORD = re.compile(r"[a-z]+")


def parse_answer(text: str | None) -> str | None:
    """``yes``, ``no`` or ``None`` (unclear) from a judge's raw reply.

    The first word decides when it is yes-like (yes, true, same) or no-like (no, false, different, not), after
    an optional ``answer:`` label, unless the word "no" (or "yes") follows too; else the reply counts when it
    holds exactly one of the words "yes" and "no". ``"Yes."``, ``"**No**"``, ``"Answer: yes"`` parse;
    ``"Maybe"`` and ``"yes or no"`` do not.
    """
    words = _WORD.findall((text or "").lower())
    while words and words[0] in ("answer", "the", "is", "a"):
        words = words[1:]
    if not words:
        return None
    has_yes, has_no = "yes" in words, "no" in words
    if words[0] in _YES and not has_no:
        return "yes"
    if words[0] in _NO and not has_yes:
        return "no"
    if has_yes != has_no:
        return "yes" if has_yes else "no"
    return None


def clip(text: str, limit: int = MAX_CHARS) -> str:
    """The text with its whitespace runs kept, cut to ``limit`` characters (marked when cut)."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "\n[...]"


def prompt_for(first: str, second: str) -> str:
    """The judge's message for one ordered pair of texts."""
    return TEMPLATE.format(first=clip(first), second=clip(second))


@dataclass(frozen=True)
class Verdict:
    """The judge's answer on one (item, row) pair.

    Attributes:
        verdict: ``yes`` (both orders said the same problem: a leak), ``no`` or ``unclear``.
        answers: The raw replies: item first, then (after a "yes") row first.
        cached: How many of them came from the completion cache.
    """

    verdict: str
    answers: tuple[str, ...]
    cached: int = 0


@dataclass
class JudgeStats:
    """Counts of one or more :meth:`Judge.ask` calls."""

    pairs: int = 0
    calls: int = 0
    cached: int = 0
    seconds: float = 0.0
    verdicts: dict[str, int] = field(default_factory=dict)


class Judge:
    """A model (any backend) that judges (item, row) pairs, through the completion cache.

    Args:
        model: Model spec (``default`` for the embedded model, ``gguf:PATH``, ``openai:MODEL``, ...).
        options: Backend options (server URL, API key variable, threads, ...).
        store_path: Database whose completion cache keeps the answers (default: the data home's).
        top_k: Rows judged per benchmark item: its nearest unflagged rows by embedding cosine.
        min_cosine: Rows less similar to the item than this are not judged.
        backend: An already built backend (tests); ``model`` then only names it.

    Raises:
        UsageError: bad ``top_k`` or ``min_cosine``, or an unknown model spec.
        CoderankError: the model cannot be loaded.
    """

    def __init__(self, model: str, *, options: Any = None, store_path: Path | str | None = None, top_k: int = 3,
                 min_cosine: float = 0.5, backend: Any = None) -> None:
        if top_k < 1:
            raise UsageError(f"--judge-top must be at least 1, got {top_k}",
                             "the judge sees each item's top-k nearest rows; 3 is the default")
        if not (0 <= min_cosine <= 1):
            raise UsageError(f"--judge-min must be between 0 and 1, got {min_cosine}",
                             "rows less similar to an item than this are not judged; 0.5 is the default")
        from coderank.models.backends import load_backend

        self.model = model
        self.top_k = top_k
        self.min_cosine = min_cosine
        self.store_path = store_path
        self.backend = backend if backend is not None else load_backend(model, options)
        self.stats = JudgeStats()

    def identity(self) -> dict[str, Any]:
        """The judge's model identity (weights sha256, or API model and base URL)."""
        return dict(self.backend.identity())

    def describe(self) -> dict[str, Any]:
        """What a report records about the judge: model, identity, prompt version and hash, candidates, counts."""
        return {"model": self.model, "identity": self.identity(), "template_version": TEMPLATE_VERSION,
                "template_sha256": TEMPLATE_SHA256, "top_k": self.top_k, "min_cosine": self.min_cosine,
                "max_tokens": MAX_TOKENS, "pairs": self.stats.pairs, "calls": self.stats.calls,
                "cached": self.stats.cached, "seconds": round(self.stats.seconds, 3),
                "verdicts": dict(self.stats.verdicts)}

    def ask(self, pairs: Sequence[tuple[str, str]], *, progress: Any = None) -> list[Verdict]:
        """Judge ``(item text, row text)`` pairs: item first; a "yes" is asked again with the row first.

        Send the pairs grouped by item: a local model then reuses the item's part of the prompt.
        """
        from coderank.generation import cached_generate
        from coderank.models.backends import Request
        from coderank.store import Store

        def request(first: str, second: str) -> Any:
            return Request(kind="chat", text=None, messages=(("user", prompt_for(first, second)),),
                           max_tokens=MAX_TOKENS, temperature=0.0, top_p=1.0, stop=("\n",), seed=0)

        start = time.perf_counter()
        extra = {"purpose": PURPOSE, "template_sha256": TEMPLATE_SHA256}
        with Store(self.store_path) as store:
            first = cached_generate(store, self.backend, [request(a, b) for a, b in pairs], [extra] * len(pairs),
                                    progress=progress, phase="judging")
            again = [k for k, gen in enumerate(first) if parse_answer(gen.text) == "yes"]
            second = cached_generate(store, self.backend, [request(pairs[k][1], pairs[k][0]) for k in again],
                                     [extra] * len(again), progress=progress, phase="judging, swapped")
        swapped = dict(zip(again, second, strict=True))
        verdicts: list[Verdict] = []
        for k, gen in enumerate(first):
            gens = [gen] + ([swapped[k]] if k in swapped else [])
            parsed = [parse_answer(g.text) for g in gens]
            verdict = "no" if "no" in parsed else "unclear" if None in parsed else "yes"
            verdicts.append(Verdict(verdict, tuple(g.text for g in gens), sum(g.cached for g in gens)))
        n_calls = len(first) + len(second)
        n_cached = sum(v.cached for v in verdicts)
        self.stats.pairs += len(pairs)
        self.stats.calls += n_calls - n_cached
        self.stats.cached += n_cached
        self.stats.seconds += time.perf_counter() - start
        for v in verdicts:
            self.stats.verdicts[v.verdict] = self.stats.verdicts.get(v.verdict, 0) + 1
        return verdicts

    def close(self) -> None:
        """Free the model."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
