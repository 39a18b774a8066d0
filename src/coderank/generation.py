"""Generation through the completion cache: every request is looked up first, every answer stored at once.

``eval`` and ``evol`` both generate through :func:`cached_generate`, so a run killed at any moment (even by
SIGKILL) has lost at most the requests in flight, and re-running it asks the model only for what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coderank.errors import CoderankError
from coderank.models import loops
from coderank.models.backends import Backend, Completion, Request
from coderank.store import Store

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class Generated:
    """One answer, fresh or from the cache."""

    key: str
    text: str
    finish_reason: str | None
    completion_tokens: int | None
    cached: bool


@dataclass
class GenStats:
    """What one :func:`cached_generate` call did."""

    generated: int = 0
    cached: int = 0
    tokens: int = 0
    seconds: float = 0.0


def request_key(model_id: dict[str, Any], req: Request, extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The cache record of a request and its key: model identity, request and the caller's extra fields."""
    record = {"model": model_id, "request": req.as_dict(), **extra}
    return record, Store.completion_key(record)


def cached_generate(store: Store, backend: Backend, requests: Sequence[Request], extras: Sequence[dict[str, Any]],
                    *, progress: Progress | None = None, phase: str = "generating",
                    stats: GenStats | None = None) -> list[Generated]:
    """Answer ``requests`` (in order), from the cache where possible; store each new answer as it arrives.

    Args:
        store: Where the cache lives.
        backend: The model.
        requests: What to generate.
        extras: Per request, fields that belong in its cache key besides model and request (e.g. the
            sample index of eval, whose seed alone would not tell samples apart).
        progress: ``progress(phase, done, total)`` over the requests not in the cache.
        phase: The label passed to ``progress``.
        stats: Filled in with counts, tokens and generation seconds.

    Raises:
        CoderankError: the model server kept failing after its retries (what was stored stays stored).
    """
    stats = stats if stats is not None else GenStats()
    model_id = backend.identity()
    records: list[tuple[dict[str, Any], str]] = [request_key(model_id, r, e) for r, e in zip(requests, extras,
                                                                                            strict=True)]
    results: list[Generated | None] = [None] * len(requests)
    missing: list[int] = []
    for pos, (record, key) in enumerate(records):
        hit = store.get_completion(key)
        if hit is None and requests[pos].stop_loops:
            hit = _from_unguarded(store, model_id, requests[pos], extras[pos], record, key)
        if hit is None:
            missing.append(pos)
        else:
            results[pos] = Generated(key, hit["text"], hit["finish_reason"], hit["completion_tokens"], True)
            stats.cached += 1
    if progress:
        progress(phase, 0, len(missing))
    try:
        for n_done, (j, comp) in enumerate(backend.generate([requests[m] for m in missing]), start=1):
            pos = missing[j]
            record, key = records[pos]
            if requests[pos].stop_loops:
                comp = _cut(comp)
            store.put_completion(key, record, comp.text, finish_reason=comp.finish_reason,
                                 prompt_tokens=comp.prompt_tokens, completion_tokens=comp.completion_tokens,
                                 seconds=comp.seconds)
            results[pos] = Generated(key, comp.text, comp.finish_reason, comp.completion_tokens, False)
            stats.generated += 1
            stats.tokens += comp.completion_tokens or 0
            stats.seconds += comp.seconds
            if progress:
                progress(phase, n_done, len(missing))
    except CoderankError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("openai", "httpx")):
            raise CoderankError(
                f"the model server failed after retries: {type(exc).__name__}: {exc}"[:500],
                "check the server and rerun the same command: what was generated is kept and the run resumes",
            ) from exc
        raise
    done = [r for r in results if r is not None]
    if len(done) != len(results):
        raise CoderankError(f"the model backend answered {len(done)} of {len(results)} requests",
                            "rerun the same command: what was generated is kept and the run resumes")
    return done


def _cut(comp: Completion) -> Completion:
    """A ``stop_loops`` answer with its loop cut off (finish reason ``loop``); unchanged without a loop."""
    kept = loops.cut_loop(comp.text)
    return comp if kept is None else replace(comp, text=kept, finish_reason="loop")


def _from_unguarded(store: Store, model_id: dict[str, Any], req: Request, extra: dict[str, Any],
                    record: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The answer to a ``stop_loops`` request, made from the cached answer to the same request without it.

    The loop cut depends only on the text up to the loop, so cutting the whole answer gives exactly what a
    generation that stopped at the loop gives; the result is stored under the request's own key (an eval's
    samples point at it). ``None`` when that answer is not cached either.
    """
    twin = store.get_completion(request_key(model_id, replace(req, stop_loops=False), extra)[1])
    if twin is None:
        return None
    comp = _cut(Completion(twin["text"], twin["finish_reason"], twin.get("prompt_tokens"),
                           twin["completion_tokens"], 0.0))
    tokens = twin["completion_tokens"] if comp.text == twin["text"] else None
    store.put_completion(key, record, comp.text, finish_reason=comp.finish_reason,
                         prompt_tokens=twin.get("prompt_tokens"), completion_tokens=tokens, seconds=0.0)
    return {"text": comp.text, "finish_reason": comp.finish_reason, "completion_tokens": tokens}
