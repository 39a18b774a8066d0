"""Example fingerprints: a benchmark problem's own example values found in a training row.

A paraphrased leak restates a problem in other words but keeps its specifics: the example inputs and outputs of
its docstring and tests (``intersperse([1, 2, 3], 4)`` giving ``[1, 4, 2, 4, 3]``, ``'(()()) ((())) ()
((())()())'``, ``n=1101, p=101`` giving ``2``). An honest row that teaches the same task picks its own. This
detector (the ``examples`` score of ``coderank contam``) looks for whole examples of an item in a row:

**Literals.** A text's literals are read with one regex tokenizer, for code and prose alike: numbers
(normalised: ``7.0`` is ``7``, ``5th`` is ``5``), quoted strings (by value), ``True``/``False``/``None``
(``true``/``false`` too), and sequences: the flattened scalars of a bracket group made only of literals
(``[(5, 6), (1, 2)]`` is ``[5, 6, 1, 2]``) and runs of scalars separated by commas or "and"/"or" in prose
(``for 15, 33, 1422, 1`` is ``[15, 33, 1422, 1]``), so ``[1, 4, 2, 4, 3]`` in code matches ``1, 4, 2, 4, 3``
in prose. A number inside a bracket group counts only as part of its sequence; the arguments of a call
(``f(5, 3)``) are separate scalars. Atoms are written as literals (``7.5``, ``"abc"``, ``[1, 4, 2]``,
``True``), which is also how the evidence shows them.

**Examples.** Each benchmark item's examples are taken from its docstrings (doctests, and lines that hold a
call with literal arguments, an arrow such as ``->``/``=>``/``==``, ``Input:``/``Output:`` or "should be") and
from the ``assert`` statements of its tests, each as *inputs* and *output*: parsed with :mod:`ast` where the
line is Python (``f(a, b) == out``, ``assert f(x)`` has output ``True``), else split at the arrow.

**Weights.** An atom weighs ``-ln p``, ``p`` its chance of turning up in a text that does not copy the item,
taken as the largest of: its document frequency among the 34,057 functions of CPython 3.11's test suite
(``data/literal_background.json``, made by ``benchmarks/literal_background.py``); its frequency among the
benchmark's other items; for a sequence, ``10`` times the product of its elements' frequencies inside
sequences of that background (an arithmetic progression counts as its first two elements); and ``0.1`` for a
string of one or two characters, a run of consecutive letters (``"abc"``) or a stock example word (``"hello"``,
``"Yes"``). ``True``/``False``/``None`` weigh 0. A row with many literals matches more by chance: each weight
is lowered by ``ln(k / 10)`` for a row with ``k > 10`` distinct atoms.

**Score.** An example matches a row when every one of its atoms occurs in the row within
:data:`EXAMPLE_WINDOW` characters (start to start), each output after every input. A matched example whose
atoms weigh less than :data:`EXAMPLE_MIN` in all (``f(2) == 4``) is ignored. The score of an (item, row) pair is
the summed weight of the distinct atoms of its matched examples; :class:`coderank.rigor.contam.Thresholds`
sets the flag threshold. An index from atoms to examples finds the candidate pairs, so the cost grows with the
row's literals, not with the benchmark's size.
"""

from __future__ import annotations

import ast
import bisect
import functools
import json
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

#: Characters within which all of an example's atoms must start (a sentence or two; a doctest and its output).
EXAMPLE_WINDOW = 150
#: A matched example whose atoms weigh less than this in all is not evidence (``f(2) == 4``, ``'' -> 0``).
EXAMPLE_MIN = 4.0
#: Distinct atoms a row may hold before its weights are lowered (by ``ln(k / EXAMPLE_ROW_ATOMS)``).
EXAMPLE_ROW_ATOMS = 10
#: A sequence's prior: this many times the product of its elements' frequencies inside sequences.
_SEQUENCE_PRIOR = 10.0
#: A number's prior (Zipf): this over the integer its digits make (``79`` -> 0.1 / 79, ``7.5`` -> 0.1 / 75).
_NUMBER_PRIOR = 0.1
#: The least chance given to a string of one or two characters, a letter run or a stock example word.
_SIMPLE_STRING_P = 0.1
_STOCK_WORDS = frozenset({"yes", "no", "true", "false", "none", "null", "hello", "world", "python", "java", "foo",
                          "bar", "baz", "test", "abc", "xyz"})
#: The evidence kept per (item, row) pair: its heaviest matched examples.
EVIDENCE_EXAMPLES = 5

_LITERAL = re.compile(r"""
  (?P<s>(?<![\w'"])[rRbBuU]{0,2}(?:'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")(?![\w'"]))
| (?P<n>(?:(?<![\w.)\]])-)?(?<![\w.])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:(?<=1)st|(?<=2)nd|(?<=3)rd|th)?(?!\w))
| (?P<k>\b(?:True|False|None|true|false)\b)
| (?P<o>[\[({])
| (?P<c>[\])}])
| (?P<sep>[,:])
| (?P<and>\b(?:and|or)\b)
| (?P<w>\w+)
| (?P<x>[^\w\s])
""", re.X)
_KEYWORDS = {"True": "True", "False": "False", "None": "None", "true": "True", "false": "False"}
_KEYWORD_ATOMS = frozenset(_KEYWORDS.values())
_TRIPLE = re.compile(r"'''|\"\"\"")


@functools.lru_cache(maxsize=65536)
def _number_atom(text: str) -> str | None:
    text = text.rstrip("stndrh")
    if text.isdigit():
        return str(int(text))
    if text[:1] == "-" and text[1:].isdigit():
        return str(int(text))
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value) if isinstance(value, int) else None


def _string_atom(text: str) -> str | None:
    if "\\" not in text and text[0] in "'\"":  # no escapes, no prefix: the text between the quotes
        return json.dumps(text[1:-1], ensure_ascii=False) if len(text) > 2 else None
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" in a regex written without r''
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = text.lstrip("rRbBuU")[1:-1]
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) and value else None


class _Group:
    __slots__ = ("call", "start", "items")

    def __init__(self, call: bool, start: int) -> None:
        self.call, self.start = call, start
        self.items: list[Any] = []  # _Group or (kind, atom or text, start)


#: Brackets nested deeper than this are read as plain punctuation (no literal is that deep; recursion is bounded).
_MAX_DEPTH = 32


def _parse(text: str) -> _Group:
    root = _Group(False, 0)
    stack = [root]
    prev, prev_end = "", -1
    too_deep = 0  # brackets opened past _MAX_DEPTH and not closed yet
    for m in _LITERAL.finditer(_TRIPLE.sub("   ", text)):
        kind, tok = m.lastgroup or "x", m.group()
        top = stack[-1]
        if kind == "o" and len(stack) > _MAX_DEPTH:
            too_deep += 1
            top.items.append(("x", tok, m.start()))
        elif kind == "c" and too_deep:
            too_deep -= 1
            top.items.append(("x", tok, m.start()))
        elif kind == "o":
            group = _Group(tok == "(" and prev == "w" and m.start() == prev_end, m.start())  # f(...) is a call
            top.items.append(group)
            stack.append(group)
        elif kind == "c":
            if len(stack) > 1:
                stack.pop()
            else:
                top.items.append(("x", tok, m.start()))
        elif kind in ("s", "n", "k"):
            atom = (_string_atom(tok) if kind == "s" else _number_atom(tok) if kind == "n" else _KEYWORDS[tok])
            if atom is None:
                top.items.append(("x", tok, m.start()) if kind == "n" else ("empty", "", m.start()))
            else:
                top.items.append(("v", atom, m.start()))
        else:
            top.items.append((kind, tok, m.start()))
        prev, prev_end = kind, m.end()
    return root


def _flat(group: _Group) -> list[str] | None:
    """The scalars of a bracket group made only of literals (nested ones too), or ``None``."""
    values: list[str] = []
    for item in group.items:
        if isinstance(item, _Group):
            inner = None if item.call else _flat(item)
            if inner is None:
                return None
            values += inner
        elif item[0] == "v":
            values.append(item[1])
        elif item[0] not in ("sep", "empty"):
            return None
    return values


def _sequence(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _visit(group: _Group, found: dict[str, list[int]], top: list[str], as_data: bool) -> None:
    """Record the atoms of ``group`` in ``found`` (atom -> start positions) and its top-level atoms in ``top``."""
    if as_data and not group.call:
        values = _flat(group)
        if values is not None:
            for item in group.items:
                if isinstance(item, _Group):
                    _visit(item, found, [], True)
            if len(values) >= 2:
                atom = _sequence(values)
            elif values:
                atom = values[0]
            else:
                return
            found.setdefault(atom, []).append(group.start)
            top.append(atom)
            return
    run: list[tuple[str, int]] = []

    def end_run() -> None:
        if len(run) >= 2 and not group.call:
            atom = _sequence([a for a, _ in run])
            found.setdefault(atom, []).append(run[0][1])
            top.append(atom)
        else:
            top.extend(a for a, _ in run)
        run.clear()

    last = ""
    for item in group.items:
        if isinstance(item, _Group):
            end_run()
            _visit(item, found, top, True)
            last = "g"
            continue
        kind, atom, start = item
        if kind == "v":
            found.setdefault(atom, []).append(start)
            if not (last in ("sep", "and") and run):
                end_run()
            run.append((atom, start))
        elif kind == "empty" or (kind in ("sep", "and") and last == "v" and atom != ":"):
            pass
        else:
            end_run()
        last = kind
    end_run()


def literals(text: str) -> tuple[dict[str, list[int]], list[str]]:
    """A text's literal atoms with their start offsets, and its top-level atoms in order.

    Top-level atoms are the ones not inside a larger literal: ``f([1, 2], 3) == [3, 1]`` has ``[1, 2]``, ``3`` and
    ``[3, 1]``; ``for 15, 33 and 1`` has ``[15, 33, 1]``.
    """
    found: dict[str, list[int]] = {}
    top: list[str] = []
    _visit(_parse(text), found, top, False)
    return found, top


# ---------------------------------------------------------------------------------------------- examples

Example = tuple[tuple[str, ...], tuple[str, ...]]

#: A docstring line that states an example: a call with a literal argument, an arrow, Input:/Output:, "should be".
_EXAMPLE_LINE = re.compile(r"[^\W\d]\w*\((?=[^)]*[\d'\"\[(])|->|=>|➞|→|==|\b(?:[Ii]nput|[Oo]utput)\s*:"
                           r"|\b(?:should|would|will)\s+(?:be|return|give)\b")
_ARROW = re.compile(r"==>|=>|->|➞|→|==|\bshould (?:return|be|give)\b|\breturns?\b|\bgives?\b|(?<=\))\s*=(?!=)"
                    r"|\b[Oo]utput\s*:")
_LITERAL_ERRORS = (SyntaxError, ValueError, TypeError, MemoryError, RecursionError)


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is not Ellipsis
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) and all(_is_literal(v) for v in node.values)
    return False


def _node_atoms(node: ast.AST, source: str) -> list[str]:
    """The top-level atoms of the literals in an expression (a tolerance ``abs(...) < 1e-6`` left out)."""
    atoms: list[str] = []

    def walk(n: ast.AST) -> None:
        if _is_literal(n):
            segment = ast.get_source_segment(source, n)
            if segment:
                atoms.extend(literals(segment)[1])
            return
        if (isinstance(n, ast.Compare) and all(isinstance(op, (ast.Lt, ast.LtE)) for op in n.ops)
                and isinstance(n.left, ast.Call) and isinstance(n.left.func, ast.Name) and n.left.func.id == "abs"):
            walk(n.left)
            return
        for child in ast.iter_child_nodes(n):
            walk(child)

    walk(node)
    return atoms


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _statement_example(node: ast.stmt, source: str) -> Example:
    """Inputs and output of an example statement.

    ``assert f(x) == y``, ``f(x) == y``, ``abs(f(x) - y) < 1e-6`` (the tolerance is not part of it), ``assert f(x)``
    (output ``True``) or ``assert not f(x)`` (``False``).
    """
    asserted = isinstance(node, ast.Assert)
    expr: ast.AST = node.test if isinstance(node, ast.Assert) else node.value if isinstance(node, ast.Expr) else node
    if (isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], (ast.Lt, ast.LtE))
            and isinstance(expr.left, ast.Call) and isinstance(expr.left.func, ast.Name) and expr.left.func.id == "abs"
            and len(expr.left.args) == 1 and isinstance(expr.left.args[0], ast.BinOp)
            and isinstance(expr.left.args[0].op, ast.Sub)):  # abs(f(x) - y) < tolerance
        left, right = expr.left.args[0].left, expr.left.args[0].right
        if _has_call(right) and not _has_call(left):
            left, right = right, left
        return tuple(_node_atoms(left, source)), tuple(_node_atoms(right, source))
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], (ast.Eq, ast.Is)):
        left, right = expr.left, expr.comparators[0]
        if _has_call(right) and not _has_call(left):
            left, right = right, left
        return tuple(_node_atoms(left, source)), tuple(_node_atoms(right, source))
    if asserted and isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return tuple(_node_atoms(expr.operand, source)), ("False",)
    if asserted and isinstance(expr, ast.Call):
        return tuple(_node_atoms(expr, source)), ("True",)
    return tuple(_node_atoms(expr, source)), ()


def _line_example(line: str) -> Example:
    text = line.strip()
    try:
        tree = ast.parse(text)
    except _LITERAL_ERRORS:
        tree = None
    if tree is not None and len(tree.body) == 1 and isinstance(tree.body[0], (ast.Expr, ast.Assert)):
        return _statement_example(tree.body[0], text)
    arrow = _ARROW.search(text)
    if arrow:
        return tuple(literals(text[:arrow.start()])[1]), tuple(literals(text[arrow.end():])[1])
    return tuple(literals(text)[1]), ()


def _docstrings(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except _LITERAL_ERRORS:
        return [a or b for a, b in re.findall(r'"""([\s\S]*?)"""|\'\'\'([\s\S]*?)\'\'\'', source)]
    docs = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                docs.append(doc)
    return docs


def text_examples(text: str) -> list[Example]:
    """The examples stated in prose or a docstring.

    Doctests (``>>> f(x)`` and the lines after it, its output) and example lines (see :data:`_EXAMPLE_LINE`).
    """
    examples: list[Example] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith(">>>"):
            expr = line[3:]
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith("..."):
                expr += "\n" + lines[j].strip()[3:]
                j += 1
            output: list[str] = []
            while j < len(lines) and lines[j].strip() and not lines[j].strip().startswith(">>>"):
                output.append(lines[j])
                j += 1
            inputs, out = _line_example(expr)
            examples.append((inputs, out + tuple(literals("\n".join(output))[1])))
            i = j
            continue
        if _EXAMPLE_LINE.search(line):
            examples.append(_line_example(line))
        i += 1
    return examples


def code_examples(source: str) -> list[Example]:
    """The examples of test code: one per ``assert`` statement."""
    try:
        tree = ast.parse(source)
    except _LITERAL_ERRORS:
        return []
    return [_statement_example(node, source) for node in ast.walk(tree) if isinstance(node, ast.Assert)]


def problem_examples(problem: Any) -> list[Example]:
    """A benchmark problem's examples: its docstrings' (and ``question``'s) and its tests', without repeats.

    An example with no atom but ``True``/``False``/``None`` is dropped; an atom is kept once, as an input if
    it is one.
    """
    found: list[Example] = []
    for doc in _docstrings(problem.prompt):
        found += text_examples(doc)
    if getattr(problem, "question", None):
        found += text_examples(problem.question)
    found += code_examples(problem.test or "")
    seen: set[tuple[frozenset[str], frozenset[str]]] = set()
    out: list[Example] = []
    for inputs, output in found:
        ins = tuple(dict.fromkeys(inputs))
        outs = tuple(a for a in dict.fromkeys(output) if a not in ins)
        key = (frozenset(ins), frozenset(outs))
        if any(a not in _KEYWORD_ATOMS for a in ins + outs) and key not in seen:
            seen.add(key)
            out.append((ins, outs))
    return out


def render(example: Example) -> str:
    """An example as evidence: ``[1, 2, 3], 4 -> [1, 4, 2, 4, 3]``."""
    inputs, output = example
    return ", ".join(inputs) + (" -> " + ", ".join(output) if output else "")


# ------------------------------------------------------------------------------------------------ weights


@functools.cache
def background() -> dict[str, Any]:
    """The literal background: document frequencies of atoms in CPython's test suite (see the module doc)."""
    data = resources.files("coderank.rigor").joinpath("data/literal_background.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(data)
    doc["element_total"] = sum(doc["elements"].values())
    return doc


def _progression(values: Sequence[str]) -> bool:
    """Whether a sequence's numbers (or single letters) step by a constant (``[1, 2, 3]``, ``["a", "b", "c"]``)."""
    xs: list[float] = []
    for v in values:
        if v.startswith('"'):
            s = json.loads(v)
            if len(s) != 1:
                return False
            xs.append(float(ord(s)))
        elif v in _KEYWORD_ATOMS:
            return False
        else:
            try:
                xs.append(float(v))
            except ValueError:
                return False
    step = xs[1] - xs[0]
    return all(abs(b - a - step) < 1e-9 for a, b in zip(xs, xs[1:], strict=False))


def elements(atom: str) -> list[str]:
    """The element atoms of a sequence atom (``[1, "a, b"]`` -> ``1``, ``"a, b"``); ``[]`` for a scalar."""
    if not atom.startswith("["):
        return []
    root = _parse(atom)
    group = root.items[0] if root.items and isinstance(root.items[0], _Group) else None
    return (_flat(group) or []) if group is not None else []


def prior_weight(atom: str, item_p: float = 0.0) -> float:
    """``-ln p`` of an atom: its chance in a text that does not copy the item (see the module doc).

    Args:
        atom: The atom.
        item_p: Its frequency among the benchmark's other items.
    """
    if atom in _KEYWORD_ATOMS:
        return 0.0
    bg = background()
    p = max((bg["atoms"].get(atom, 0) + 0.5) / bg["docs"], item_p)
    if atom.startswith("["):
        values = elements(atom)
        if len(values) >= 2:
            if _progression(values):
                values = values[:2]
            prior = _SEQUENCE_PRIOR
            for v in values:
                prior *= (bg["elements"].get(v, 0) + 0.5) / bg["element_total"]
            p = max(p, min(prior, 1.0))
    elif atom[0] in "-.0123456789":
        digits = atom.lstrip("-").replace(".", "").lstrip("0").split("e")[0]
        p = max(p, _NUMBER_PRIOR / max(int(digits) if digits.isdigit() else 1, 1))
    elif atom.startswith('"'):
        s = json.loads(atom)
        if (len(s) <= 2 or s.lower() in _STOCK_WORDS
                or (len(s) <= 6 and s.isalpha() and _progression([json.dumps(c) for c in s]))):
            p = max(p, _SIMPLE_STRING_P)
    return -math.log(p)


# -------------------------------------------------------------------------------------------------- index


@dataclass(frozen=True)
class ExampleMatch:
    """The examples of one benchmark item found in one training row.

    Attributes:
        score: Summed weight of the distinct atoms of the matched examples (see the module doc).
        examples: The matched examples, heaviest first (at most :data:`EVIDENCE_EXAMPLES`), as
            ``inputs -> output`` with each atom's weight in this row: ``"[1, 2, 3] (2.9), 4 (1.4) -> [1, 4, 2, 4,
            3] (11.1)"``.
    """

    score: float
    examples: tuple[str, ...]


def _placed(example: Example, found: dict[str, list[int]], window: int) -> bool:
    """Whether each atom has an occurrence such that all start within ``window`` characters, outputs last."""
    inputs, outputs = example
    atoms = inputs + outputs
    edges = sorted({p for a in atoms for p in found[a]})
    for left in edges:
        right = left + window
        last_in = left - 1
        for a in inputs:  # earliest occurrence in the window: the smallest latest input
            pos = found[a]
            k = bisect.bisect_left(pos, left)
            if k == len(pos) or pos[k] > right:
                break
            last_in = max(last_in, pos[k])
        else:
            for a in outputs:  # latest occurrence in the window, after every input
                pos = found[a]
                k = bisect.bisect_right(pos, right) - 1
                if k < 0 or pos[k] < left or (inputs and pos[k] <= last_in):
                    break
            else:
                return True
    return False


class ExampleIndex:
    """An index from literal atoms to the examples of a benchmark's items: the example-fingerprint detector.

    Args:
        problems: The benchmark's problems (``prompt``, ``test`` and, if set, ``question`` are read).
    """

    def __init__(self, problems: Sequence[Any]) -> None:
        self.examples: list[list[Example]] = [problem_examples(p) for p in problems]
        df: dict[str, int] = {}
        for examples in self.examples:
            for atom in {a for ins, outs in examples for a in ins + outs}:
                df[atom] = df.get(atom, 0) + 1
        n = max(len(self.examples), 1)
        self.weights: dict[str, float] = {a: prior_weight(a, (c - 1) / n) for a, c in df.items()}
        self.index: dict[str, list[tuple[int, int]]] = {}
        for i, examples in enumerate(self.examples):
            for j, (ins, outs) in enumerate(examples):
                for atom in ins + outs:
                    self.index.setdefault(atom, []).append((i, j))

    def matches(self, text: str, window: int = EXAMPLE_WINDOW) -> dict[int, ExampleMatch]:
        """``{item: match}`` for the items with at least one matched example that counts (see the module doc)."""
        found, _ = literals(text)
        counts: dict[tuple[int, int], int] = {}
        for atom in found.keys() & self.index.keys():
            for key in self.index[atom]:
                counts[key] = counts.get(key, 0) + 1
        if not counts:
            return {}
        cut = math.log(max(1.0, len(found) / EXAMPLE_ROW_ATOMS))
        per_item: dict[int, list[tuple[float, int, Example]]] = {}
        for (i, j), count in counts.items():
            example = self.examples[i][j]
            atoms = example[0] + example[1]
            if count < len(atoms):
                continue
            weight = sum(max(0.0, self.weights[a] - cut) for a in atoms)
            if weight >= EXAMPLE_MIN and _placed(example, found, window):
                per_item.setdefault(i, []).append((weight, j, example))
        out: dict[int, ExampleMatch] = {}
        for i, matched in per_item.items():
            matched.sort(key=lambda m: (-m[0], m[1]))  # heaviest first, then in the item's order
            distinct = {a for _, _, (ins, outs) in matched for a in ins + outs}
            score = sum(max(0.0, self.weights[a] - cut) for a in distinct)

            def shown(example: Example) -> str:
                ins, outs = example
                label = [", ".join(f"{a} ({max(0.0, self.weights[a] - cut):.1f})" for a in part)
                         for part in (ins, outs)]
                return label[0] + (" -> " + label[1] if outs else "")

            out[i] = ExampleMatch(round(score, 2), tuple(shown(e) for _, _, e in matched[:EVIDENCE_EXAMPLES]))
        return out


def example_scores(problems: Sequence[Any], rows: Iterable[str], *, tick: Any = None
                   ) -> dict[tuple[int, int], ExampleMatch]:
    """Sparse example-fingerprint matches: ``{(item, row): match}`` for the pairs with a matched example.

    Args:
        problems: The benchmark's problems.
        rows: The training rows' texts.
        tick: Called with the number of rows done, after each row.
    """
    index = ExampleIndex(problems)
    scores: dict[tuple[int, int], ExampleMatch] = {}
    for r, text in enumerate(rows):
        for i, match in index.matches(text).items():
            scores[(i, r)] = match
        if tick is not None:
            tick(r + 1)
    return scores
