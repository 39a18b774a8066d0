"""The anatomy of a problem's prompt, for the rigor modules that rewrite it (perturb, paraphrase; no I/O here).

The entry point's definition, its docstring (the literal's offsets and its body's lines) and the docstring's
example blocks (``>>>`` doctest items and ``call(...) ==> value`` lines), as :mod:`coderank.rigor.perturb` and
:mod:`coderank.rigor.paraphrase` both need them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from coderank.types import Problem


class PerturbError(Exception):
    """A kind cannot be applied to a problem (the reason is reported as a drop)."""


class Unchanged(Exception):
    """The kind found nothing to change."""


def entry_def(tree: ast.Module, entry_point: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The entry point's top-level definition (the last one, as Python would run it)."""
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point:
            found = node  # the last definition wins, as when Python runs the module
    if found is None:
        raise PerturbError(f"no top-level def {entry_point}() in the prompt")
    return found


def parse_prompt(problem: Problem) -> ast.Module:
    """The prompt's syntax tree (a prompt that ends in a bare signature and docstring gets a ``pass``)."""
    for text in (problem.prompt, problem.prompt + "    pass\n"):
        try:
            return ast.parse(text)
        except SyntaxError:
            continue
    raise PerturbError("the prompt does not parse as Python")


def docstring_span(prompt: str, entry_point: str) -> tuple[int, int, int, int] | None:
    """Character offsets of the entry point's docstring literal in the prompt, or None.

    Returns ``(start, end, body_start, body_end)``: ``start:end`` the whole literal, ``body_*`` inside the quotes.
    """
    tree = parse_prompt(Problem("x", prompt, entry_point, "pass"))
    fd = entry_def(tree, entry_point)
    if not (fd.body and isinstance(fd.body[0], ast.Expr) and isinstance(fd.body[0].value, ast.Constant)
            and isinstance(fd.body[0].value.value, str)):
        return None
    node = fd.body[0].value
    lines = prompt.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col_bytes: int) -> int:
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode()[:col_bytes].decode(errors="replace"))

    if node.end_lineno is None or node.end_col_offset is None:
        return None
    start = offset(node.lineno, node.col_offset)
    end = offset(node.end_lineno, node.end_col_offset)
    literal = prompt[start:end]
    m = re.match(r"[rRuUbB]*('''|\"\"\"|'|\")", literal)
    if not m or not literal.endswith(m.group(1)):
        return None
    return start, end, start + m.end(), end - len(m.group(1))


ARROWS = ("==>", "=>", "->", "➞", "==", "=", " should return ", " returns ", " return ")
STYLES = ("doctest", ">>> ==", "->", "==", "==>")


@dataclass
class Example:
    """One docstring example: the call, its expected output lines, and how it was written."""

    expr: str
    output: list[str]  # output lines (doctest may have several); empty for a statement
    style: str


def call_to(expr: str, entry_point: str) -> bool:
    """Whether ``expr`` is a call of the entry point on literal arguments (``f(n)`` is a definition, not an example)."""
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        return False
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry_point):
        return False
    try:
        for arg in (*node.args, *(kw.value for kw in node.keywords)):
            ast.literal_eval(arg)
    except ValueError:
        return False
    return True


def inline_example(line: str, entry_point: str) -> Example | None:
    stripped = line.strip()
    if entry_point not in stripped or stripped.startswith(">>>"):
        return None
    for arrow in ARROWS:
        start = 0
        while (idx := stripped.find(arrow, start)) != -1:
            left, right = stripped[:idx].strip(), stripped[idx + len(arrow):].strip()
            if right and call_to(left, entry_point):
                style = arrow.strip()
                return Example(left, [right], style if style in STYLES else f" {style} ")
            start = idx + 1
    return None


def example_blocks(lines: list[str], entry_point: str) -> list[tuple[int, int, list[Example], str]]:
    """Maximal runs of example lines: ``(first line, end line, examples, indent)``."""
    blocks: list[tuple[int, int, list[Example], str]] = []
    i = 0
    while i < len(lines):
        start = i
        items: list[Example] = []
        indent = re.match(r"\s*", lines[i]).group(0)  # type: ignore[union-attr]
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            this_indent = re.match(r"\s*", line).group(0)  # type: ignore[union-attr]
            if stripped.startswith(">>>") and (not items or this_indent == indent):
                expr = stripped[3:].strip()
                i += 1
                inline = inline_example(expr, entry_point)
                if inline is not None:  # ">>> f(x) == y": the expected value is on the same line
                    inline.style = f">>> {inline.style.strip()}"
                    items.append(inline)
                    continue
                out: list[str] = []
                while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>") \
                        and inline_example(lines[i], entry_point) is None:
                    out.append(lines[i].strip())
                    i += 1
                items.append(Example(expr, out, "doctest"))
                continue
            ex = inline_example(line, entry_point)
            if ex is not None and (not items or this_indent == indent):
                items.append(ex)
                i += 1
                continue
            break
        if items:
            blocks.append((start, i, items, indent))
        else:
            i += 1
    return blocks


def docstring_lines(problem: Problem) -> tuple[list[str], int, int]:
    """The lines of the entry point's docstring body, with the body's offsets in the prompt."""
    span = docstring_span(problem.prompt, problem.entry_point)
    if span is None:
        raise Unchanged("no docstring")
    _, _, body_start, body_end = span
    return problem.prompt[body_start:body_end].split("\n"), body_start, body_end
