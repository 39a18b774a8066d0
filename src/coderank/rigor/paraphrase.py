"""LLM paraphrases for memorisation probes: the ``paraphrase`` kind of ``coderank perturb``.

A model (any backend: the embedded one, an OpenAI-compatible server, ...) rewrites the prose of each
problem's docstring — the text before its first example, which is where HumanEval states the task — in other
words. Examples, signature, solution and tests stay as they are, so the canonical solution still passes (the
sandbox check of :func:`coderank.rigor.perturb.perturb_benchmark` confirms it).

A paraphrase can change the meaning, and nothing can prove it did not; these cheap checks drop the obvious
failures (each recorded as the variant's drop reason):

- empty, the same text as before, or only a part of it (a sentence left out);
- explaining a solution instead of restating the task (:data:`SOLUTION_PHRASES`, "you can use a stack");
- code in it (a fenced block, ``def``/``return`` lines, ``>>>``): the model solved or illustrated the task;
- length outside :data:`LENGTH_RATIO` times the original's;
- a number of the original missing (``n <= 10`` must keep its 10), or the function's or a parameter's name
  missing where the original prose mentions it (names that are ordinary words, like ``number``, may be
  reworded; short names like ``n`` and snake_case or camelCase names must stay).

Generation is greedy by default and goes through the completion cache, so the same model, template and seed
give the same file again; the template's hash and the model identity are recorded per problem.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from coderank.digest import sha256_text
from coderank.rigor._docstring import Unchanged, docstring_lines, entry_def, example_blocks, parse_prompt
from coderank.types import Problem

TEMPLATE_VERSION = 1
TEMPLATE = (
    "Rewrite the following description of a Python function in your own words. Keep its exact meaning: every "
    "requirement, condition, name and number must stay. Do not add examples, code or explanations. Reply with "
    "the rewritten description only.\n\nDescription:\n{prose}"
)
TEMPLATE_SHA256 = sha256_text(f"{TEMPLATE_VERSION}\n{TEMPLATE}")
LENGTH_RATIO = (0.5, 2.5)
SOLUTION_PHRASES = ("you can", "we can", "the idea is", "iterate through", "iterate over", "loop through",
                    "data structure", "algorithm", "time complexity", "approach")
"""Lower-case phrases that show a reply explains how to solve the task (when the original does not use them)."""

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
_CODE = re.compile(r"```|^\s*(?:def|return|import|class)\b|>>>", re.M)
_QUOTES = re.compile(r'"""|\'\'\'')
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:rewritten description|description|paraphrase)(?:\*\*)?\s*:\s*", re.I)


class ParaphraseError(Exception):
    """The paraphrase fails a check (becomes the variant's drop reason)."""


class NothingToParaphrase(Exception):
    """The problem has no docstring prose (becomes ``unchanged``)."""


@dataclass(frozen=True)
class Prose:
    """The docstring prose of a problem: its text (dedented) and where it sits in the prompt."""

    text: str
    start: int  # offset in the prompt of the first prose line
    end: int  # offset just past the last prose line
    indent: str


def prose_of(problem: Problem) -> Prose:
    """The prose before the first example of the entry point's docstring.

    Raises:
        NothingToParaphrase: no docstring, or no prose before its examples.
    """
    try:
        lines, body_start, _ = docstring_lines(problem)
    except Unchanged as exc:
        raise NothingToParaphrase(str(exc)) from exc
    blocks = example_blocks(lines, problem.entry_point)
    stop = blocks[0][0] if blocks else len(lines)
    # the prose ends before the example block and its lead-in line ("For example:", "Examples")
    while stop > 0 and (not lines[stop - 1].strip() or re.match(r"\s*(for )?examples?\b.*:?\s*$",
                                                                   lines[stop - 1], re.I)):
        stop -= 1
    first = 0
    while first < stop and not lines[first].strip():
        first += 1
    if first >= stop:
        raise NothingToParaphrase("no prose before the examples")
    chunk = lines[first:stop]
    text = "\n".join(line.strip() for line in chunk).strip()
    if not re.search(r"[A-Za-z]{3}", text):
        raise NothingToParaphrase("no prose before the examples")
    indents = [re.match(r"\s*", ln).group(0) for ln in chunk if ln.strip()]  # type: ignore[union-attr]
    indent = min(indents[1:] or indents, key=len) if indents else "    "
    if not indent:
        indent = "    "
    start = body_start + sum(len(ln) + 1 for ln in lines[:first])
    end = body_start + sum(len(ln) + 1 for ln in lines[:stop]) - 1
    return Prose(text, start, end, indent)


def prompt_for(problem: Problem) -> str:
    """The request text for one problem (raises :class:`NothingToParaphrase`)."""
    return TEMPLATE.format(prose=prose_of(problem).text)


def _names(problem: Problem) -> set[str]:
    fd = entry_def(parse_prompt(problem), problem.entry_point)
    args = fd.args
    params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    if args.vararg:
        params.append(args.vararg.arg)
    if args.kwarg:
        params.append(args.kwarg.arg)
    return {problem.entry_point, *params}


_SHORT_WORDS = {"a", "i", "an", "in", "is", "it", "of", "or", "to", "at", "by", "on", "as", "if", "be", "do", "no",
                "so", "up", "we", "me", "my", "us"}


def _identifier_like(name: str) -> bool:
    """Whether prose must keep ``name``: short variable names (``n``, ``k``, ``xs``), snake_case or camelCase.

    Names that are ordinary words (``number``, ``string``, ``text``) may be reworded.
    """
    if name.lower() in _SHORT_WORDS:
        return False
    return len(name) <= 2 or "_" in name.strip("_") or any(c.isupper() for c in name[1:]) or any(
        c.isdigit() for c in name)


def clean(text: str) -> str:
    """The model's reply as a paraphrase: stripped of quotes and a leading label."""
    text = text.strip().strip('"').strip()
    return _LABEL.sub("", text, count=1).strip()


def check(original: str, new: str, names: Iterable[str]) -> None:
    """Raise :class:`ParaphraseError` when ``new`` is not an acceptable paraphrase of ``original``."""
    if not new:
        raise ParaphraseError("empty paraphrase")
    if " ".join(new.split()) == " ".join(original.split()):
        raise ParaphraseError("the paraphrase is the original text")
    if _CODE.search(new) or _QUOTES.search(new):
        raise ParaphraseError("the paraphrase contains code, examples or docstring quotes")
    flat_new, flat_old = " ".join(new.split()).rstrip("."), " ".join(original.split())
    if flat_new in flat_old:
        raise ParaphraseError("the paraphrase is only part of the original text")
    added = [p for p in SOLUTION_PHRASES if p in flat_new.lower() and p not in flat_old.lower()]
    if added:
        raise ParaphraseError(f"explains a solution instead of restating the task ({added[0]!r})")
    lo, hi = LENGTH_RATIO
    ratio = len(new) / max(1, len(original))
    if not lo <= ratio <= hi:
        raise ParaphraseError(f"length {ratio:.2f}x the original (allowed {lo}-{hi}x)")
    missing = sorted(set(_NUMBER.findall(original)) - set(_NUMBER.findall(new)))
    if missing:
        raise ParaphraseError(f"lost the number(s) {', '.join(missing)}")
    lost = sorted(n for n in names if _identifier_like(n) and re.search(rf"\b{re.escape(n)}\b", original)
                  and not re.search(rf"\b{re.escape(n)}\b", new))
    if lost:
        raise ParaphraseError(f"lost the name(s) {', '.join(lost)}")


def apply(problem: Problem, reply: str | None) -> tuple[Problem, dict[str, Any]]:
    """The problem with its docstring prose replaced by the model's paraphrase.

    Raises:
        NothingToParaphrase: no prose to replace (whatever the reply).
        ParaphraseError: no reply, or the paraphrase fails a check.
    """
    prose = prose_of(problem)
    if not reply:
        raise ParaphraseError("the model gave no paraphrase (empty, or cut off by the token limit)")
    new = clean(reply)
    check(prose.text, new, _names(problem))
    # paragraphs are separated by an empty line; the first line keeps the docstring's own start position
    width = max(40, 100 - len(prose.indent))
    paragraphs = [textwrap.fill(" ".join(par.split()), width=width, initial_indent=prose.indent,
                                subsequent_indent=prose.indent) for par in re.split(r"\n\s*\n", new) if par.strip()]
    wrapped = "\n\n".join(paragraphs)
    line_start = problem.prompt.rfind("\n", 0, prose.start) + 1
    head = problem.prompt[line_start:prose.start]
    if head.strip():  # the prose starts on the line of the opening quotes: keep them, drop the indent there
        wrapped = wrapped[len(prose.indent):]
    prompt = problem.prompt[:prose.start] + wrapped + problem.prompt[prose.end:]
    return replace(problem, prompt=prompt), {"template_sha256": TEMPLATE_SHA256, "original": prose.text,
                                             "paraphrase": new}


def generate(problems: Iterable[Problem], model: str, *, options: Any = None, store_path: Any = None, seed: int = 0,
             temperature: float = 0.0, max_tokens: int = 512,
             progress: Any = None) -> tuple[dict[str, str], dict[str, Any]]:
    """Ask ``model`` for a paraphrase of every problem that has docstring prose (through the completion cache).

    Returns:
        ``(task id -> reply, info)``; ``info`` records the model spec and identity, the template's version and
        hash, and the decoding, for the variants' metadata.

    Raises:
        UsageError: unknown model spec.
        CoderankError: the model cannot be loaded or its server keeps failing (what was generated is cached).
    """
    from coderank.generation import cached_generate
    from coderank.models.backends import Request, check_decoding, load_backend
    from coderank.store import Store

    check_decoding(temperature)

    todo: list[tuple[str, str]] = []
    for problem in problems:
        try:
            todo.append((problem.task_id, prompt_for(problem)))
        except NothingToParaphrase:
            continue
    backend = load_backend(model, options)
    try:
        requests = [Request(kind="chat", text=None, messages=(("user", text),), max_tokens=max_tokens,
                            temperature=temperature, top_p=1.0, stop=(), seed=seed) for _, text in todo]
        with Store(store_path) as store:
            answers = cached_generate(store, backend, requests, [{"purpose": "paraphrase"}] * len(requests),
                                      progress=progress, phase="paraphrasing")
        info = {"model_spec": model, "model": backend.identity(), "template_version": TEMPLATE_VERSION,
                "template_sha256": TEMPLATE_SHA256, "temperature": temperature, "max_tokens": max_tokens,
                "seed": seed}
    finally:
        backend.close()
    replies = {}
    for (task_id, _), answer in zip(todo, answers, strict=True):
        # a reply cut off by the token limit is not a paraphrase of the whole text
        replies[task_id] = answer.text if answer.finish_reason != "length" else ""
    return replies, info
