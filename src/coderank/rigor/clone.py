"""Type-2 code clones: the ``clone`` score of ``coderank contam``.

A copy whose identifiers were renamed and whose examples, indentation and comments were rewritten keeps few word
n-grams; code-clone detection finds it by comparing normalised token sequences. Each benchmark item is split into
its **prompt** and its **canonical solution** (and both together), and each part into two channels: its code,
tokenized with :mod:`tokenize` (a regex tokenizer takes over where that fails) and normalised (names other than
keywords, builtins and attributes become one placeholder; number and string literals are normalised to their
value, so ``0x10`` is ``16`` and ``'a'`` is ``"a"``; comments, indentation and line breaks are dropped;
docstrings go to the prose channel), and the prose of its docstrings as content words (lowercased, punctuation,
stop words, example markers and called or snake_case names dropped). A training row gives both channels from all
its text. The score is the largest containment, of any part and channel, in either direction, over a floor
(:data:`CLONE_FLOORS`); an inverted index over the items' n-grams finds the candidate pairs, and n-grams found in
:data:`COMMON_ITEMS` or more items of the benchmark are left out (:class:`CloneIndex`, :func:`clone_scores`).

The floor keeps a small item from scoring 1.0: a three-line solution has too few n-grams to tell a copy from a
coincidence. So the item's **function** (its entry point's definition, without the docstring) is also matched
whole: a row that holds a function whose normalised tokens are the item's, token for token from its ``def``, is
a ``function`` match whatever its size. So is its **body** alone (the statements after the signature and the
docstring, what a HumanEval completion holds), found anywhere in a row and not followed by a token that would
continue it, when it has as many tokens as a function must. Short functions coincide more often
(``def f(a, b): return a * b`` is both a parallelogram's area and a rectangle's), which is why ``coderank contam``
counts such a match only when the row's function (or body, in the item's program) also passes the item's tests
(:mod:`coderank.rigor.behaviour`).
"""

from __future__ import annotations

import ast
import builtins
import functools
import io
import keyword
import re
import tokenize
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from coderank.rigor._progress import ProgressFn, Ticker

#: An n-gram found in this many items of a benchmark (or more) is boilerplate and left out of all of them, by
#: the n-gram and the clone detectors.
COMMON_ITEMS = 3

#: Token n-gram length of the clone detector's code channel. Normalised Python has a small vocabulary (every
#: renamed name is the same placeholder), so n must be longer than for words: 10 tokens is about a line and a
#: half (``for #v in range ( len ( #v ) ) :`` is 11). On the dev half of the planted set (335 leaks, 252 clean
#: rows, threshold 0.75) 8, 10, 12 and 14 caught 319, 321, 321 and 322 leaks with no false positive; 16 and 20
#: caught 317 and 312 (a short solution has fewer long n-grams).
CLONE_CODE_N = 10
#: Word n-gram length of the prose channel: 4 content words (stop words removed), long enough to be specific
#: to one problem statement and short enough that a docstring of one sentence still has a few n-grams. On the
#: dev half, 3 flagged a clean row and 5 caught 5 leaks fewer.
CLONE_WORD_N = 4
#: The least number of n-grams a containment is divided by, as ``(code, words)`` for the item's part (item in
#: row) and for the row (row in item): a part or a row smaller than its floor cannot reach 1.0, so that 5 shared
#: code n-grams (one short generic line) are not a leak. The item floor of the prose channel is small (2)
#: because content-word 4-grams seldom coincide, and MBPP statements have only a few.
CLONE_FLOORS = {"item": (8, 2), "row": (24, 12)}
#: Clone scores below this are not kept (not even as near misses).
CLONE_MIN = 0.05
#: The fewest normalised tokens an item's function may have to be matched whole (``function``): ``def f(x):
#: return x`` (8 tokens) says nothing. Every HumanEval and MBPP test function has more: the smallest are MBPP/105
#: and MBPP/62 (11: ``def #v ( #v ) : return sum ( #v )``) and HumanEval/41 (12).
FUNCTION_MIN_TOKENS = 10
#: Bodies are looked up by their first this many tokens.
_BODY_KEY = 3

_KEEP_NAMES = (frozenset(keyword.kwlist) | frozenset(n for n in dir(builtins) if not n.startswith("_"))
               | {"self", "cls"})
_VAR = "#v"
_CODE_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
              tokenize.ENDMARKER, tokenize.ERRORTOKEN}
_STATEMENT_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL}
_CODE_FALLBACK = re.compile(
    r"""(?P<s>[rRbBuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))"""
    r"|(?P<c>#[^\n]*)|(?P<n>[^\W\d]\w*)|(?P<d>\d[\w.]*)"
    r"|(?P<o>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%&|^@<>=!]=|[-+*/%&|^~@<>=()\[\]{}:,.;])")
_TRIPLE_QUOTED = re.compile(r"""^[A-Za-z]*('''|\"\"\")[\s\S]*\1$""")
_STRING_PARTS = re.compile(r"^([A-Za-z]*)('''|\"\"\"|'|\")(.*)\2$", re.S)
_CALLED = re.compile(r"[^\W\d]\w*(?= ?\()")
_PROSE_WORD = re.compile(r"\w+")
_CODE_LINE = re.compile(r"^[ \t]*(?:(?:async[ \t]+)?def|class|import|from[ \t]+[\w.]+[ \t]+import|return|@|```)\b.*$",
                        re.M)
#: English function words and the words examples are written with (``Example:``, ``assert``, ``returns``,
#: ``should give``...): dropped from the prose channel, so reworded examples and small edits keep n-grams.
_STOP_WORDS = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "and", "or", "is", "are", "be",
    "been", "was", "were", "it", "its", "this", "that", "these", "those", "as", "if", "then", "than", "into", "out",
    "over", "each", "every", "any", "all", "some", "no", "not", "only", "also", "given", "input", "inputs",
    "output", "outputs", "return", "returns", "returned", "example", "examples", "e", "g", "eg", "ex", "ie",
    "assert", "should", "will", "would", "can", "may", "must", "gives", "give", "yields", "equals", "equal",
    "print", "expected", "sample", "result", "like", "so", "which", "what", "when", "where", "do", "does",
    "function", "write", "python", "program", "code", "def", "i", "you", "we", "your", "our"
})


def _name_token(name: str, after_dot: bool) -> str:
    if after_dot or name in _KEEP_NAMES or (name.startswith("__") and name.endswith("__")):
        return name
    return _VAR


@functools.lru_cache(maxsize=8192)
def _number_token(text: str) -> str:
    try:
        return "#" + repr(ast.literal_eval(text.replace("_", "")))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "#" + text.lower()


def _string_token(text: str) -> str:
    m = _STRING_PARTS.match(text)
    return "'" + (m.group(3) if m else text.strip("'\""))


def code_tokens(source: str) -> tuple[list[str], list[str]]:
    """Type-2-normalised code tokens of a text, and the docstrings found in it.

    Tokenized with :mod:`tokenize`; where that fails (prose, an unterminated triple quote, inconsistent
    indentation) the rest of the text is tokenized with a regex, so broken code still gives tokens. Names other
    than keywords, builtins, dunder names and attributes (a name after ``.``) become ``#v``; numbers become
    ``#`` and their value, strings ``'`` and their content; comments, whitespace, indentation and line breaks are
    dropped; a triple-quoted string at the start of a statement is a docstring and goes to the second list.
    """
    out: list[str] = []
    docs: list[str] = []
    prev_type = tokenize.NEWLINE
    prev = ""
    done = (0, 0, 0)  # lines, tokens and docstrings up to the last line end
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            t = tok.type
            if t in _CODE_SKIP:
                if t in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) or (
                        t == tokenize.NL and prev_type in _STATEMENT_START):
                    prev_type = t
                if t in (tokenize.NEWLINE, tokenize.NL):
                    done = (tok.end[0], len(out), len(docs))
                continue
            s = tok.string
            if t == tokenize.NAME:
                out.append(_name_token(s, prev == "."))
            elif t == tokenize.NUMBER:
                out.append(_number_token(s))
            elif t == tokenize.STRING:
                if prev_type in _STATEMENT_START and _TRIPLE_QUOTED.match(s):
                    docs.append(s)
                else:
                    out.append(_string_token(s))
            else:
                out.append(s)
            prev, prev_type = s, t
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        # keep the tokens of the lines before the failure; the regex tokenizer reads the rest
        lines, n_out, n_docs = done
        del out[n_out:], docs[n_docs:]
        _fallback_tokens("".join(source.splitlines(keepends=True)[lines:]), out, docs)
    return out, docs


def _fallback_tokens(source: str, out: list[str], docs: list[str]) -> None:
    """Append the regex tokens of ``source`` to ``out`` (and its triple-quoted strings to ``docs``)."""
    prev = ""
    for m in _CODE_FALLBACK.finditer(source):
        kind, s = m.lastgroup, m.group()
        if kind == "c":
            continue
        if kind == "s":
            if _TRIPLE_QUOTED.match(s):
                docs.append(s)
            else:
                out.append(_string_token(s))
        elif kind == "n":
            out.append(_name_token(s, prev == "."))
        elif kind == "d":
            out.append(_number_token(s))
        else:
            out.append(s)
        prev = s


def prose_words(text: str) -> list[str]:
    """The content words of prose, for the clone detector's prose channel.

    Called names (``f(`` and ``f (``) and snake_case identifiers are dropped (renaming changes them), and so are
    stop words and example markers, then the text is lowercased and split into word tokens: ``>>> add(2, 3)``
    / ``5``, ``add(2, 3) == 5``, ``Example: plus(2, 3) -> 5`` and ``assert plus(2,3) == 5`` all read
    ``2 3 5``.
    """
    return [w for w in _PROSE_WORD.findall(_CALLED.sub(" ", text).lower()) if w not in _STOP_WORDS and "_" not in w]


def _code_grams(toks: list[str]) -> set[Any]:
    n = CLONE_CODE_N
    return set(zip(*(toks[i:] for i in range(n)), strict=False)) if len(toks) >= n else set()


def _word_grams(words: list[str]) -> set[Any]:
    n = CLONE_WORD_N
    return {" ".join(g) for g in zip(*(words[i:] for i in range(n)), strict=False)} if len(words) >= n else set()


def _features(text: str) -> tuple[list[str], set[Any], set[Any]]:
    """A training row's code tokens, code n-grams (tuples) and prose n-grams (strings).

    The code channel reads all of the text; the prose channel all of it but the lines that are plainly code
    (``def``, ``class``, ``import``, ``return``, decorators, code fences), whose names are not prose.
    """
    toks, _ = code_tokens(text)
    return toks, _code_grams(toks), _word_grams(prose_words(_CODE_LINE.sub("", text)))


_PARTS = ("prompt", "solution", "both")


class CloneIndex:
    """An inverted index over benchmark items' normalised n-grams: the clone detector.

    Each item has three parts: ``prompt`` (the prose of its docstrings: a prompt's code is mostly a signature,
    which identifies nothing), ``solution`` (the canonical solution's code, and the prose of any docstring in
    it) and ``both`` (all of the prompt's and the solution's code and prose). n-grams found in
    :data:`COMMON_ITEMS` or more items are left out.

    With ``entry_points``, it also indexes each item's function for :meth:`match` (see the module's description).

    Args:
        items: ``(prompt, canonical solution)`` per benchmark item.
        entry_points: The items' entry points, in the same order (none: no ``function`` matches).
    """

    def __init__(self, items: Sequence[tuple[str, str | None]], entry_points: Sequence[str] | None = None) -> None:
        self.functions: dict[tuple[str, ...], list[int]] = {}
        self.bodies: dict[tuple[str, ...], list[int]] = {}
        for i, name in enumerate(entry_points or ()):
            toks = entry_function_tokens(*items[i], name)
            if toks is not None and len(toks) >= FUNCTION_MIN_TOKENS:
                self.functions.setdefault(tuple(toks), []).append(i)
                inside = toks[signature_end(toks):]  # the body: as entry_body_tokens, without parsing again
                if len(inside) >= FUNCTION_MIN_TOKENS:
                    self.bodies.setdefault(tuple(inside), []).append(i)
        self.function_lengths = sorted({len(key) for key in self.functions})
        # bodies by their first tokens: a row is looked up once per token, not once per token and body length
        self.body_starts: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for whole in self.bodies:
            self.body_starts.setdefault(whole[:_BODY_KEY], []).append(whole)
        parts: list[tuple[tuple[set[Any], set[Any]], ...]] = []
        for prompt, solution in items:
            p_toks, p_docs = code_tokens(prompt)
            s_toks, s_docs = code_tokens(solution or "")
            p_words = _docstring_grams(p_docs) if p_docs else _word_grams(prose_words(prompt))
            s_words = _docstring_grams(s_docs)
            p_code, s_code = _code_grams(p_toks), _code_grams(s_toks)
            parts.append(((set(), p_words), (s_code, s_words), (p_code | s_code, p_words | s_words)))
        df: dict[Any, int] = {}
        for item in parts:
            for gram in item[2][0] | item[2][1]:
                df[gram] = df.get(gram, 0) + 1
        common = {gram for gram, count in df.items() if count >= COMMON_ITEMS}
        self.sizes: list[tuple[tuple[int, int], ...]] = []
        self.index: dict[Any, list[int]] = {}
        for i, item in enumerate(parts):
            sizes = []
            for p, (code, words) in enumerate(item):
                for ch, grams in enumerate((code - common, words - common)):
                    key = (i * 3 + p) * 2 + ch
                    for gram in grams:
                        self.index.setdefault(gram, []).append(key)
                sizes.append((len(code - common), len(words - common)))
            self.sizes.append(tuple(sizes))

    def scores(self, text: str) -> dict[int, tuple[float, str]]:
        """``{item: (clone score, part)}`` for the items the row shares n-grams with (scores >= CLONE_MIN)."""
        return self.match(text)[0]

    def match(self, text: str) -> tuple[dict[int, tuple[float, str]], set[int]]:
        """:meth:`scores`, and the items whose whole function (a ``def`` onwards) or whole body the row holds.

        Whole means token for token, names aside, and not followed by a token that would continue it.
        """
        toks, code, words = _features(text)
        functions: set[int] = set()
        for start in range(len(toks) if self.body_starts else 0):
            for body in self.body_starts.get(tuple(toks[start:start + _BODY_KEY]), ()):
                end = start + len(body)
                if tuple(toks[start:end]) == body and (end == len(toks) or not _continues(toks[end])):
                    functions.update(self.bodies[body])
        if self.functions:
            for start, tok in enumerate(toks):
                if tok != "def":
                    continue
                for length in self.function_lengths:
                    end = start + length
                    if end > len(toks):
                        break
                    if end == len(toks) or not _continues(toks[end]):
                        functions.update(self.functions.get(tuple(toks[start:end]), ()))
        counts: dict[int, int] = {}
        for ch, grams in enumerate((code, words)):
            for gram in grams & self.index.keys():
                for key in self.index[gram]:
                    if key % 2 == ch:
                        counts[key] = counts.get(key, 0) + 1
        row = (len(code), len(words))
        (item_code, item_words), (row_code, row_words) = CLONE_FLOORS["item"], CLONE_FLOORS["row"]
        floors = ((item_code, row_code), (item_words, row_words))
        best: dict[int, tuple[float, str]] = {}
        for key, shared in counts.items():
            ch = key % 2
            i, p = divmod(key // 2, 3)
            score = max(shared / max(self.sizes[i][p][ch], floors[ch][0]), shared / max(row[ch], floors[ch][1]))
            if score >= CLONE_MIN and score > best.get(i, (0.0, ""))[0]:
                best[i] = (min(score, 1.0), _PARTS[p])
        return best, functions


_CONTINUING_WORDS = frozenset({"if", "else", "for", "and", "or", "in", "is", "not"})


def _continues(tok: str) -> bool:
    """Whether a token after a function's last one would carry on its last expression (``return v`` then ``+ 1``).

    Line ends are not among the tokens, so a function's end shows only as what follows it: a name, keyword,
    number, string or decorator starts something new; an operator or bracket, or ``if``, ``for``, ``and``...,
    continues what was there.
    """
    return tok in _CONTINUING_WORDS or not (tok[0].isalnum() or tok[0] in "_#'@`")


def _docstring_grams(docs: list[str]) -> set[Any]:
    grams: set[Any] = set()
    for doc in docs:
        m = _STRING_PARTS.match(doc)
        grams |= _word_grams(prose_words(m.group(3) if m else doc))
    return grams


def signature_end(toks: Sequence[str]) -> int:
    """Where a function's body starts in its normalised tokens: after the ``:`` that ends its signature."""
    depth = 0
    for k, tok in enumerate(toks):
        if tok in "([{":
            depth += 1
        elif tok in ")]}":
            depth -= 1
        elif tok == ":" and depth == 0:
            return k + 1
    return len(toks)


def entry_def(prompt: str, solution: str | None,
              entry_point: str) -> tuple[str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The item's program and its function: the last module-level ``def`` of its entry point.

    Found in the canonical solution where that defines it (MBPP's reference programs), else in the prompt and
    the solution together (HumanEval's signature and body). ``None`` when neither parses or defines it.
    """
    for program in (solution or "", prompt + (solution or "")):
        try:
            with warnings.catch_warnings():  # invalid escapes in old solutions' strings ("\W")
                warnings.simplefilter("ignore", SyntaxWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                tree = ast.parse(program)
        except (SyntaxError, ValueError):
            continue
        defs = [node for node in tree.body
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point]
        if defs:
            return program, defs[-1]
    return None


def entry_function_tokens(prompt: str, solution: str | None, entry_point: str) -> list[str] | None:
    """The normalised code tokens of the item's function (:func:`entry_def`), its docstring not among them.

    ``None`` when there is no such function.
    """
    found = entry_def(prompt, solution, entry_point)
    source = ast.get_source_segment(*found) if found else None
    return code_tokens(source)[0] if source else None


def entry_body_tokens(prompt: str, solution: str | None, entry_point: str) -> list[str]:
    """The normalised code tokens of the item's function body: its function's after the signature (empty if none)."""
    toks = entry_function_tokens(prompt, solution, entry_point) or []
    return toks[signature_end(toks):]


class Clones(NamedTuple):
    """What :func:`clone_scores` found.

    Attributes:
        scores: ``{(item, row): (score, part)}`` for the pairs that share n-grams.
        functions: The ``(item, row)`` pairs whose row holds the item's whole function (given entry points).
    """

    scores: dict[tuple[int, int], tuple[float, str]]
    functions: set[tuple[int, int]]


def clone_scores(items: Sequence[tuple[str, str | None]], rows: Iterable[str], *,
                 entry_points: Sequence[str] | None = None, progress: ProgressFn | None = None,
                 total: int = 0) -> Clones:
    """Sparse type-2 clone scores, and the rows that repeat an item's function (see :class:`CloneIndex`)."""
    index = CloneIndex(items, entry_points)
    scores: dict[tuple[int, int], tuple[float, str]] = {}
    functions: set[tuple[int, int]] = set()
    tick = Ticker(progress, "clones", total)
    for r, text in enumerate(rows):
        best, whole = index.match(text)
        for i, value in best.items():
            scores[(i, r)] = value
        functions.update((i, r) for i in whole)
        tick(r + 1)
    return Clones(scores, functions)
