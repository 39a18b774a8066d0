r"""Turning a model's raw answer into the program that runs: a recorded, replaceable step.

Why this is its own step, with its own result type: the raw answer is what the model said; the program is
what we *think* it meant. Peers have lost correct solutions here — EvalPlus' sanitizer turned correct code
into an empty string (evalplus issue #92), and reasoning models' ``<think>`` blocks, full of draft code,
confuse extractors that take the first code block they see. So the raw text is always kept upstream, the
extraction says *how* it got its program (:attr:`Extraction.method`) and what it dropped
(:attr:`Extraction.note`), and "no code found" is ``program=None`` — its own status, never an empty program
silently scored as a wrong answer. A better extractor can re-derive programs from stored answers later.

Two modes:

``completion``
    A base model continued the prompt. The program is ``prompt + answer``, with the answer cut at the first
    top-level line after the function body (a non-indented, non-empty line outside any string or bracket —
    what the usual stop sequences ``"\ndef "``, ``"\nclass "``, ``"\nif __name__"``, ``"\nprint("``,
    ``"\n#"``, ``"\nassert"`` approximate). A column-0 comment ends the body too, so a run generated with
    those stop sequences and one cut afterwards give the same program. Nothing else is touched.

``chat``
    An instruct model answered in prose and markdown. The steps, in order:

    1. Reasoning is removed: every ``<think>…</think>`` (or ``<thinking>``) block; everything up to an
       orphan ``</think>`` (chat templates that open the block inside the prompt); and from an unclosed
       ``<think>`` up to the first code fence after it (the model ran out of tokens while thinking).
    2. Fenced blocks (```` ``` ```` or ``~~~``, tagged ``python``/``py``/``python3`` or untagged; blocks tagged
       with another language, e.g. ``bash`` or ``text``, are ignored). The block that defines the entry
       point wins; if several do, the best one by (parses, has a closing fence, position) — so the *last*
       complete one, because models put drafts, buggy originals and "before" versions first and their
       final answer last. Helpers the winner references may come from the other blocks that parse.
    3. Without such a block, unfenced code: from the first line that looks like code (``import``,
       ``from``, ``def``, ``class``, a decorator), the longest prefix that parses, if it defines the entry
       point (prose after the code is cut off).
    4. Without either, a *body-only* answer (the model wrote just the function's body, which must contain
       a ``return`` or ``yield``) is indented into the prompt's function, as in completion mode.

    Code from steps 2–3 goes through an AST sanitizer that keeps only the entry point and what it needs,
    found with :mod:`symtable` (exact scoping, so a parameter named like an example variable pulls nothing
    in): the functions, classes, imports and top-level assignments it references, transitively; plus
    ``__future__`` and star imports. Example usage, prints, ``if __name__ == "__main__":`` blocks, tests,
    asserts and unreferenced imports are dropped — an import nothing uses can only hurt (``import pytest``
    or ``from solution import f`` in a test block would fail in the sandbox and sink correct code). Kept
    statements are sliced from the original source by line, so comments and formatting inside functions
    survive; ``ast.unparse`` is used only for a statement that shares a line with a dropped one.

    The prompt's own imports and helper definitions (HumanEval's ``from typing import List``, ``poly``,
    ``encode_cyclic`` — which the tests may call too) are prepended, except helpers the kept code defines
    itself; the prompt's stub of the entry point is not, since the answer redefines it.

    A fenced block that defines the entry point but does not parse is returned unsanitized, so the
    executor scores the model's syntax error as an error — a model mistake, not an extraction failure.

The entry point may be a class (``Solution`` in LeetCode-style problems, whose tests call
``Solution().method(...)``): a block or unfenced code defines it with ``class Solution``, and a body-only answer
goes into the prompt's last method. A block that begins with prose (the statement copied in before the code) is
read from its first line of code.

**Echoes.** Small instruct models copy the problem statement back into their answer, and a long statement
copied out uses the token limit up before the code is written. :func:`echo_share` measures how much of the
statement an answer repeats (:attr:`Extraction.echo`), so a run can say that its truncated and empty answers
were echoes rather than only "truncated" or "no code".

Nothing in here raises on strange input: any failure ends as ``Extraction(None, "none", note=...)``.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import symtable
import textwrap
import tokenize
from dataclasses import dataclass

from coderank.errors import UsageError
from coderank.types import Problem

MODES = ("completion", "chat")
"""The extraction modes :func:`extract_program` accepts."""

METHODS = ("completion", "fenced-block", "raw-code", "body-only", "none")
"""Values of :attr:`Extraction.method`: which step produced the program (``none``: no program)."""

# The stop sequences a completion-mode answer is cut by when tokenizing fails (e.g. the prompt is not
# Python); the same list the ``completion`` prompt template sends to backends, minus the markdown ones.
_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert")

#: Fence tags read as Python (lowercased; an untagged block counts).
PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3", "python 3"})
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<tag>[^`\n]*?)[ \t]*$")
_THINK_PAIR = re.compile(r"<(think|thinking)>.*?</\1>", re.S | re.I)
_THINK_OPEN = re.compile(r"<(?:think|thinking)>", re.I)
_THINK_CLOSE = re.compile(r"</(?:think|thinking)>", re.I)
_CODE_START = re.compile(r"^(?:from\s+[\w.]+\s+import\s|import\s+\w|def\s+\w|async\s+def\s|class\s+\w|@\w)")

# The longest-parseable-prefix search parses once per candidate cut; a cap keeps a pathological answer
# (thousands of top-level lines) from costing seconds. Real answers have a few dozen top-level lines.
_MAX_PARSES = 200
_NOTE_ITEMS = 4  # dropped statements listed by name in a note; the rest are counted

# Echo measure: runs of this many words of the statement found in the answer count as copied. Eight words
# rarely repeat by chance (a signature and a sentence share a few), and a copied sentence has more.
_ECHO_WORDS = 8
ECHO_SHARE = 0.5
"""An answer that repeats at least this share of the statement's words counts as an echo in run summaries."""

_KEEPABLE = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
             ast.AnnAssign, ast.AugAssign)


@dataclass(frozen=True)
class Extraction:
    """The program extracted from one answer, and how.

    Attributes:
        program: The full program to run against the problem's tests; ``None`` means no code could be
            extracted (recorded as its own status upstream, never run as an empty program).
        method: Which step produced it, one of :data:`METHODS`.
        note: What was removed, chosen or prepended, in a few words (empty if nothing worth saying).
        echo: The share of the problem's statement the answer repeats, 0 to 1 (:func:`echo_share`).
    """

    program: str | None
    method: str
    note: str = ""
    echo: float = 0.0


def extract_program(problem: Problem, answer: str, mode: str) -> Extraction:
    """Extract the program for ``problem`` from a model's raw ``answer``.

    Args:
        problem: The problem answered; its prompt and entry point guide the extraction.
        answer: The model's raw text, exactly as generated.
        mode: ``"completion"`` (the answer continues the prompt) or ``"chat"`` (an instruct model's reply).

    Returns:
        The extraction; ``program`` is ``None`` when no code was found, with the reason in ``note``.

    Raises:
        UsageError: ``mode`` is not one of :data:`MODES` (strange answers never raise).
    """
    if mode not in MODES:
        raise UsageError(f"unknown extraction mode {mode!r}", f"use one of: {', '.join(MODES)}")
    try:
        found = _extract_completion(problem, answer) if mode == "completion" else _extract_chat(problem, answer)
        return dataclasses.replace(found, echo=echo_share(problem, answer))
    except Exception as exc:  # a bug or a pathological input (deep nesting): no program, never a crash
        return Extraction(None, "none", f"extraction failed: {type(exc).__name__}: {exc}")


def statement_of(problem: Problem) -> str:
    """The problem's statement in prose: ``question``, else the entry point's docstring in the prompt, else ``""``."""
    if problem.question is not None:
        return problem.question
    try:
        tree = ast.parse(problem.prompt)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    target = _target_function(tree.body, problem.entry_point)
    return (ast.get_docstring(target) or "") if target is not None else ""


def echo_share(problem: Problem, answer: str) -> float:
    """The share of the statement's words that the answer repeats, 0 to 1 (rounded to two places).

    A word of the statement counts as repeated when it lies in a run of eight consecutive statement words that
    also appears in the answer, compared word by word, ignoring case, indentation, line breaks and comment or
    quote marks around words (so a statement copied into a docstring or as ``#`` comments counts). Statements
    shorter than eight words give 0.
    """
    words = _words(statement_of(problem))
    if len(words) < _ECHO_WORDS:
        return 0.0
    said = _words(answer)
    grams = {tuple(said[i:i + _ECHO_WORDS]) for i in range(len(said) - _ECHO_WORDS + 1)}
    covered = [False] * len(words)
    for i in range(len(words) - _ECHO_WORDS + 1):
        if tuple(words[i:i + _ECHO_WORDS]) in grams:
            covered[i:i + _ECHO_WORDS] = [True] * _ECHO_WORDS
    return round(sum(covered) / len(words), 2)


def _words(text: str) -> list[str]:
    return [w for w in (w.strip("#\"'`*").lower() for w in text.split()) if w]


# --- completion mode -------------------------------------------------------------------------------------


def _extract_completion(problem: Problem, answer: str) -> Extraction:
    cut = _body_end(problem.prompt, answer)
    kept = answer[:cut]
    if not kept.strip():
        return Extraction(None, "none", "the completion has no function body before its first top-level line")
    note = f"cut {len(answer) - cut} characters after the function body" if cut < len(answer) else ""
    return Extraction(problem.prompt + kept, "completion", note)


def _body_end(prompt: str, answer: str) -> int:
    """Offset in ``answer`` of the first top-level line after the prompt (``len(answer)`` if none)."""
    full = prompt + answer
    starts = [0]
    for line in full.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    depth = 0
    line_start = True  # the previous token ended a line (NEWLINE/NL) or there was none
    try:
        for tok in tokenize.generate_tokens(io.StringIO(full).readline):
            if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            if tok.type in (tokenize.NEWLINE, tokenize.NL):
                line_start = True
                continue
            row, col = tok.start
            offset = starts[row - 1] + col
            if line_start and col == 0 and depth == 0 and offset >= len(prompt):
                return offset - len(prompt)
            line_start = False
            if tok.type == tokenize.OP:
                if tok.string in "([{":
                    depth += 1
                elif tok.string in ")]}":
                    depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError):
        pass  # an unterminated string or bad indentation: fall back to the plain stop sequences
    else:
        return len(answer)
    hits = [i for i in (answer.find(s) for s in _STOPS) if i >= 0]
    return min(hits) + 1 if hits else len(answer)


# --- chat mode -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FencedBlock:
    """A fenced code block of a text (see :func:`fenced_blocks`).

    Attributes:
        index: 1-based position among the text's fenced blocks.
        code: Its lines, dedented.
        tag: The info string's first word (``python``, ``py``...; empty when untagged), as written.
        closed: Whether a closing fence ended it (else it ran to the end of the text).
    """

    index: int
    code: str
    tag: str
    closed: bool

    @property
    def python(self) -> bool:
        """Tagged as Python (:data:`PYTHON_TAGS`) or untagged."""
        return self.tag.lower() in PYTHON_TAGS


@dataclass(frozen=True)
class _Stmt:
    node: ast.stmt
    first: int  # 1-based first line, decorators included
    last: int
    binds: frozenset[str]
    needs: frozenset[str]

    @property
    def keepable(self) -> bool:
        if isinstance(self.node, ast.Try):
            return all(_simple_keepable(s) for s in _try_statements(self.node))
        return isinstance(self.node, _KEEPABLE)

    @property
    def is_import(self) -> bool:
        return isinstance(self.node, (ast.Import, ast.ImportFrom))

    @property
    def always_kept(self) -> bool:
        node = self.node
        return isinstance(node, ast.ImportFrom) and (node.module == "__future__" or any(a.name == "*" for a in
                                                                                          node.names))


@dataclass(frozen=True)
class _Code:
    """Parsed source with per-statement scope analysis."""

    source: str
    lines: list[str]
    stmts: list[_Stmt]

    def binders(self, name: str) -> list[_Stmt]:
        return [s for s in self.stmts if s.keepable and name in s.binds]

    def defines(self, name: str) -> bool:
        """Whether a definition or assignment binds ``name`` (an import does not: ``from solution import f``)."""
        return any(not s.is_import for s in self.binders(name))

    def text(self, stmt: _Stmt) -> str:
        shared = any(o is not stmt and o.first <= stmt.last and stmt.first <= o.last for o in self.stmts)
        if shared:  # e.g. ``import math; print(math.pi)``: slicing lines would keep the print
            return ast.unparse(stmt.node) + "\n"
        chunk = "".join(self.lines[stmt.first - 1:stmt.last])
        return chunk if chunk.endswith("\n") else chunk + "\n"


def _extract_chat(problem: Problem, answer: str) -> Extraction:
    notes: list[str] = []
    text = _strip_reasoning(answer, notes)
    ep = problem.entry_point
    prompt = _parse(problem.prompt)
    blocks = fenced_blocks(text)
    python = [b for b in blocks if b.python]
    if len(python) < len(blocks):
        notes.append(f"ignored {len(blocks) - len(python)} non-Python block(s)")

    # 2. A fenced block that defines the entry point.
    parsed = [(b, _block_code(b, ep, notes)) for b in python]
    defining = [(b, c) for b, c in parsed if c is not None and c.defines(ep)]
    if defining:
        best, chosen = max(defining, key=lambda bc: (bc[1].source == bc[0].code, bc[0].closed, bc[0].index))
        if len(blocks) > 1:
            notes.append(f"chose block {best.index} of {len(blocks)}")
        if not best.closed:
            notes.append("its closing fence is missing (truncated answer?)")
        # Helpers may sit in other blocks; those come first so the chosen block's definitions win.
        others = "".join(c.source + "\n" for b, c in parsed if c is not None and c.source == b.code
                         and not c.defines(ep))
        merged = _parse(others + chosen.source) if others else chosen
        return _sanitized(merged or chosen, problem, prompt, "fenced-block", notes)

    # 3. Unfenced code that defines the entry point.
    raw = outside_blocks(text)
    code = _raw_code(raw, ep)
    if code is not None:
        return _sanitized(code, problem, prompt, "raw-code", notes)

    # 4. Only the function's body.
    candidates = [b.code for b in reversed(python)] + ([text] if not blocks else [])
    for candidate in candidates:
        program = _body_only(candidate, problem, prompt)
        if program is not None:
            notes.append("the answer is the function's body only: indented into the prompt")
            return Extraction(program, "body-only", "; ".join(notes))

    # A block that plainly tries to define the entry point but does not parse: the model's syntax error.
    pattern = re.compile(rf"^[ \t]*(?:(?:async[ \t]+)?def[ \t]+{re.escape(ep)}[ \t]*\(|class[ \t]+"
                         rf"{re.escape(ep)}\b)", re.M)
    broken = [b for b in python if pattern.search(b.code)]
    if broken:
        block = broken[-1]
        notes.append(f"block {block.index} defines {ep} but does not parse ({_syntax_error(block.code)}); "
                     "kept unsanitized so the error is scored")
        segments = _prompt_prefix(prompt, ep, frozenset(), frozenset(), [])
        segments.append((block.code if block.code.endswith("\n") else block.code + "\n", _OTHER))
        return Extraction(_join(segments), "fenced-block", "; ".join(notes))

    if not text.strip():
        notes.append("the answer is empty")
    elif not blocks:
        notes.append(f"no code block, and no code that defines {ep}")
    else:
        notes.append(f"{len(blocks)} code block(s), none defines {ep} or is its body")
    return Extraction(None, "none", "; ".join(notes))


def _block_code(block: FencedBlock, ep: str, notes: list[str]) -> _Code | None:
    """A block's code: its longest parseable prefix, or, if that misses the entry point, from its first code line.

    The second reading catches blocks that open with prose, e.g. the problem statement copied in before the code.
    """
    code = _parse_prefix(block.code)
    if code is not None and code.defines(ep):
        return code
    later = _raw_code(block.code, ep)
    if later is None:
        return code
    notes.append(f"block {block.index} read from its first line of code (the text before it is not code)")
    return later


def _strip_reasoning(answer: str, notes: list[str]) -> str:
    text, n = _THINK_PAIR.subn("", answer)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:  # the opening tag was part of the prompt (the chat template opened the block)
        text = text[closes[-1].end():]
        n += 1
    opened = _THINK_OPEN.search(text)
    if opened:  # never closed: the model ran out of tokens while thinking, or closed it with a fence
        fence = re.compile(r"^[ \t]*(`{3,}|~{3,})", re.M).search(text, opened.end())
        text = text[:opened.start()] + (text[fence.start():] if fence else "")
        notes.append("removed an unclosed <think> block" + ("" if fence else " (no code after it)"))
    if n:
        notes.append(f"removed {n} <think> block(s)")
    return text


def _fence_spans(lines: list[str]) -> list[tuple[int, int, str, bool]]:
    """``(opening line, closing line or len(lines), info string, closed)`` of each fenced block, in order."""
    spans: list[tuple[int, int, str, bool]] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i].rstrip("\r\n"))
        if m is None:
            i += 1
            continue
        fence = m["fence"]
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                break
            j += 1
        spans.append((i, j, m["tag"], j < len(lines)))
        i = j + 1
    return spans


def fenced_blocks(text: str) -> list[FencedBlock]:
    """The fenced code blocks of a text, in order: the one reader of fences coderank has.

    A fence is a line of three or more backticks or tildes, indented or not, with an optional info string; the
    block ends at a line of the same character at least as long, or at the end of the text (a cut-off answer).
    """
    lines = text.splitlines(keepends=True)
    blocks: list[FencedBlock] = []
    for start, end, info, closed in _fence_spans(lines):
        tag = (info.split()[0] if info.strip() else "").lstrip("{.").rstrip("}")
        blocks.append(FencedBlock(len(blocks) + 1, textwrap.dedent("".join(lines[start + 1:end])), tag, closed))
    return blocks


def outside_blocks(text: str) -> str:
    """The text with every fenced block, fences included, blanked out (line numbers kept)."""
    lines = text.splitlines(keepends=True)
    for start, end, _, _ in _fence_spans(lines):
        lines[start:end + 1] = ["\n"] * len(lines[start:end + 1])
    return "".join(lines)


def _raw_code(text: str, ep: str) -> _Code | None:
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    def_line = re.compile(rf"^(?:(?:async\s+)?def\s+{re.escape(ep)}\s*\(|class\s+{re.escape(ep)}\b)")
    tried: set[int] = set()
    for start in starts[:1] + [i for i in starts if def_line.match(lines[i])]:
        if start in tried:
            continue
        tried.add(start)
        code = _parse_prefix("".join(lines[start:]))
        if code is not None and code.defines(ep):
            return code
    return None


def _body_only(code: str, problem: Problem, prompt: _Code | None) -> str | None:
    """``prompt + code`` indented as the entry point's body, if ``code`` looks like a body and fits there."""
    if prompt is None or not code.strip():
        return None
    node = _target_function([s.node for s in prompt.stmts[-1:]], problem.entry_point)
    if node is None:
        return None  # the prompt does not end with the entry point's stub: nowhere to put a body
    body = textwrap.dedent(code).strip("\n") + "\n"
    wrapped = _parse("def _coderank_body():\n" + textwrap.indent(body, "    ", lambda _: True))
    if wrapped is None or not _returns(wrapped.stmts[0].node):
        return None
    indent = node.body[0].col_offset if node.body else node.col_offset + 4
    program = problem.prompt if problem.prompt.endswith("\n") else problem.prompt + "\n"
    program += textwrap.indent(body, " " * indent, lambda line: bool(line.strip()))
    return program if _parse(program) is not None else None


def _target_function(body: list[ast.stmt], ep: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function whose body is to be written: the entry point's stub, or the last method of its class."""
    node = body[-1] if body else None
    if isinstance(node, ast.ClassDef) and node.name == ep and node.body:
        method = node.body[-1]
        return method if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == ep:
        return node
    return None


def _returns(func: ast.stmt) -> bool:
    """Whether ``func``'s own body (not nested functions or classes) returns or yields."""
    stack: list[ast.AST] = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return False


# --- the sanitizer ---------------------------------------------------------------------------------------


def _sanitized(code: _Code, problem: Problem, prompt: _Code | None, method: str, notes: list[str]) -> Extraction:
    ep = problem.entry_point
    keep = _closure(code, ep)
    kept = [s for s in code.stmts if s in keep]
    dropped = [s for s in code.stmts if s not in keep]
    if dropped:
        names = [f"`{_label(code, s)}`" for s in dropped[:_NOTE_ITEMS]]
        more = f" and {len(dropped) - _NOTE_ITEMS} more" if len(dropped) > _NOTE_ITEMS else ""
        notes.append(f"dropped {', '.join(names)}{more}")
    defined = frozenset().union(*(s.binds for s in kept if not s.is_import))
    imported = frozenset(ast.unparse(s.node) for s in kept if s.is_import)
    added: list[str] = []
    prefix = _prompt_prefix(prompt, ep, defined, imported, added)
    if added:
        notes.append(f"prepended from the prompt: {', '.join(added)}")
    return Extraction(_join(prefix + [_segment(code, s) for s in kept]), method, "; ".join(notes))


def _closure(code: _Code, ep: str) -> set[_Stmt]:
    """The statements the entry point needs, transitively (plus __future__ and star imports)."""
    keep: set[_Stmt] = {s for s in code.stmts if s.always_kept}
    todo = [ep]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        binders = code.binders(name)
        defs = [s for s in binders if isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        if defs:
            # Only the last definition counts when the tests run; an import of the same name is a test's
            # ``from solution import f``. Assignments stay: ``X = []`` then ``X += [1]`` both matter.
            binders = [s for s in binders if s is defs[-1] or isinstance(s.node, (ast.Assign, ast.AnnAssign,
                                                                                   ast.AugAssign, ast.Try))]
        for stmt in binders:
            if stmt not in keep:
                keep.add(stmt)
                todo.extend(stmt.needs)
    return keep


_FUTURE, _IMPORT, _OTHER = 0, 1, 2  # kinds of program segments, for ordering and spacing


def _segment(code: _Code, stmt: _Stmt) -> tuple[str, int]:
    node = stmt.node
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return code.text(stmt), _FUTURE
    return code.text(stmt), _IMPORT if stmt.is_import else _OTHER


def _prompt_prefix(prompt: _Code | None, ep: str, defined: frozenset[str], imported: frozenset[str],
                   added: list[str]) -> list[tuple[str, int]]:
    """The prompt's imports and helpers to put before the answer's code.

    Left out: the entry point's stub, helpers the answer defines itself, imports it repeats word for word.
    """
    if prompt is None:
        return []
    out: list[tuple[str, int]] = []
    for stmt in prompt.stmts:
        if stmt.is_import:
            wanted = ast.unparse(stmt.node) not in imported
        else:
            wanted = stmt.keepable and ep not in stmt.binds and not (stmt.binds & defined)
        if wanted:
            out.append(_segment(prompt, stmt))
            added.append(_label(prompt, stmt))
    return out


def _join(segments: list[tuple[str, int]]) -> str:
    """Segments joined PEP 8 style, ``__future__`` imports first (Python requires it)."""
    out = ""
    prev: int | None = None
    for text, kind in sorted(segments, key=lambda seg: seg[1] != _FUTURE):  # stable: keeps the order
        if prev is not None:
            out += "" if kind != _OTHER and prev != _OTHER else "\n\n"  # each text ends with a newline
        out += text
        prev = kind
    return out


def _label(code: _Code, stmt: _Stmt) -> str:
    node = stmt.node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"def {node.name}"
    if isinstance(node, ast.ClassDef):
        return f"class {node.name}"
    first = code.lines[node.lineno - 1].strip()
    return first if len(first) <= 40 else first[:37] + "..."


# --- parsing ---------------------------------------------------------------------------------------------


def _parse(source: str) -> _Code | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = source.splitlines(keepends=True)
    stmts = []
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        binds, needs = _scope(node)
        stmts.append(_Stmt(node, first, node.end_lineno or node.lineno, binds, needs))
    return _Code(source, lines, stmts)


def _parse_prefix(source: str) -> _Code | None:
    """The longest prefix of ``source`` that parses, cut at a top-level line (None if none does)."""
    whole = _parse(source)
    if whole is not None:
        return whole
    lines = source.splitlines(keepends=True)
    cuts = [i for i, line in enumerate(lines) if i and line[:1].strip()]
    for cut in reversed(cuts[-_MAX_PARSES:]):
        code = _parse("".join(lines[:cut]))
        if code is not None and code.stmts:
            return code
    return None


def _scope(node: ast.stmt) -> tuple[frozenset[str], frozenset[str]]:
    """Names a top-level statement binds at module level, and the global names it (or its body) uses."""
    try:
        table = symtable.symtable(ast.unparse(node), "<answer>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _scope_by_walk(node)
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    needs = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        needs.update(s.get_name() for s in child.get_symbols() if s.is_global())
        stack.extend(child.get_children())
    return frozenset(binds), frozenset(needs)


def _scope_by_walk(node: ast.stmt) -> tuple[frozenset[str], frozenset[str]]:
    """Fallback for :func:`_scope`: every loaded name counts as needed (an over-approximation)."""
    binds: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        binds.add(node.name)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        binds.update((a.asname or a.name).split(".")[0] for a in node.names)
    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        binds.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    needs = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return frozenset(binds), frozenset(needs)


def _simple_keepable(node: ast.stmt) -> bool:
    return isinstance(node, (*_KEEPABLE, ast.Pass))


def _try_statements(node: ast.Try) -> list[ast.stmt]:
    return [*node.body, *(s for h in node.handlers for s in h.body), *node.orelse, *node.finalbody]


def _syntax_error(source: str) -> str:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except Exception as exc:  # ValueError (NUL bytes), RecursionError
        return f"{type(exc).__name__}"
    return "it parses"
