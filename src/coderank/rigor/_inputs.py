"""Test inputs for ``coderank augment``: read from a problem's tests, then mutated within their inferred domain.

Reading (:func:`read_tests`): the test code is parsed (never run) and every call of the candidate (the
``check(candidate)`` parameter, or the entry point by name) whose arguments are all literals gives one input.
How the tests use the result decides how generated tests compare it: ``candidate(x) == y`` exactly;
``abs(candidate(x) - y) < tol`` with that tolerance; ``tuple(candidate(x)) == ...`` (or ``sorted``, ``set``)
after the same normalisation. Calls inside an assertion's message are not tests; calls with computed
arguments (random inputs, helper calls) give no input.

Domains (:class:`Domain`): per argument position, what the original inputs show — the types (``bool`` apart
from ``int``), for numbers whether all were non-negative or positive, for strings the characters used
(a character class — lowercase, uppercase, digits — counts as used when at least 8 of its members are seen, so
a hexadecimal alphabet stays hexadecimal), whether strings and containers were ever empty, and the same
recursively for elements, dict keys and values, and tuple positions. A generated input must *conform* to
every position's domain; that is the type part of the problem's contract.

What a domain cannot see: preconditions stated only in prose ("the list is sorted", "parentheses are
balanced", "both strings have the same length", "n is prime"). Generated inputs may break them; the canonical
solution then returns something (or raises, and the input is dropped), and a correct solution that treats
such input differently would fail the generated test. Keeping mutations small and inside the seen domain
makes this rarer, not impossible.

Mutation (:func:`generate`): boundary values first (0, 1, -1, the smallest and largest seen; the empty and the
one-element string or container where the domain allows them), then random chains of one to three edits:
integers ±1, doubled, halved, negated; floats shifted, scaled, negated; bools flipped; strings with a
character inserted, deleted, replaced or two swapped, reversed, doubled; lists and tuples with an element
mutated, added, removed or duplicated, shuffled, reversed, sorted; dicts with a value mutated, a key added or
removed; sets with an element added or removed. All choices come from one ``random.Random`` seeded by the
seed and the task id, with sets iterated in sorted order, so a seed gives the same inputs on every machine.
"""

from __future__ import annotations

import ast
import math
import random
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from coderank.execution import codec

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
_CLASS_SEEN = 8  # members of a character class seen before the whole class counts as allowed
_MAX_TEXT = 64  # longest string or container a mutation grows (past the longest seen)
_WRAPPERS = {"tuple": "sequence", "list": "sequence", "sorted": "sorted", "set": "set"}


# --- reading the tests -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestsRead:
    """What :func:`read_tests` found.

    Attributes:
        inputs: Distinct literal argument tuples, in the order the tests call them.
        sites: Calls of the candidate in the tests (literal or not), not counting assertion messages.
        mode: How to compare results (``equal``, ``sequence``, ``sorted``, ``set``).
        atol: Tolerance taken from ``abs(candidate(...) - y) < tol`` assertions (0 if none).
        uncheckable: Why results cannot be compared by value (empty when they can).
    """

    inputs: tuple[tuple[Any, ...], ...]
    sites: int
    mode: str = "equal"
    atol: float = 0.0
    uncheckable: str = ""


def _key(value: Any) -> str:
    return codec.encode(value)


def read_tests(test: str, entry_point: str) -> TestsRead:
    """Find the literal inputs of a problem's tests and how they compare results.

    Raises:
        SyntaxError: the test code does not parse.
    """
    tree = ast.parse(test)
    names = {entry_point}
    for top in tree.body:
        if isinstance(top, ast.FunctionDef) and top.name == "check" and top.args.args:
            names.add(top.args.args[0].arg)
    parents: dict[ast.AST, ast.AST] = {}
    for any_node in ast.walk(tree):
        for child in ast.iter_child_nodes(any_node):
            parents[child] = any_node
    in_message: set[int] = set()
    for any_node in ast.walk(tree):
        if isinstance(any_node, ast.Assert) and any_node.msg is not None:
            in_message.update(id(n) for n in ast.walk(any_node.msg))
    inputs: dict[str, tuple[Any, ...]] = {}
    sites = 0
    modes: set[str] = set()
    tolerances: list[float] = []
    other = 0
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
             and n.func.id in names and id(n) not in in_message]
    for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
        sites += 1
        context, tol = _context(node, parents)
        if context == "other":
            other += 1
        else:
            modes.add(context)
        if tol is not None:
            tolerances.append(tol)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            continue
        try:
            args = tuple(ast.literal_eval(a) for a in node.args)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        inputs.setdefault(_key(args), args)
    mode = next((m for m in ("set", "sorted", "sequence") if m in modes), "equal")
    uncheckable = "" if modes or not sites else "the tests check properties of the result, not its value"
    if other and not modes:
        uncheckable = "the tests check properties of the result, not its value"
    return TestsRead(tuple(inputs.values()), sites, mode, max(tolerances, default=0.0), uncheckable)


def _context(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> tuple[str, float | None]:
    """How the test uses one call's result: a comparison mode, or ``other``; and a tolerance if one is given."""
    node: ast.AST = call
    parent = parents.get(node)
    mode = "equal"
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in _WRAPPERS \
            and len(parent.args) == 1:
        mode = _WRAPPERS[parent.func.id]
        node, parent = parent, parents.get(parent)
    if isinstance(parent, ast.Compare) and len(parent.ops) == 1 and isinstance(parent.ops[0], ast.Eq | ast.Is):
        return mode, None
    if isinstance(parent, ast.Assert | ast.UnaryOp) and mode == "equal":
        return "equal", None  # `assert candidate(x)` / `assert not candidate(x)`: a truth value, compared exactly
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Sub) and mode == "equal":
        outer = parents.get(parent)
        if isinstance(outer, ast.Call) and isinstance(outer.func, ast.Name) and outer.func.id == "abs":
            cmp = parents.get(outer)
            if isinstance(cmp, ast.Compare) and len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.Lt | ast.LtE):
                try:
                    tol = ast.literal_eval(cmp.comparators[0])
                except ValueError:
                    tol = None
                if isinstance(tol, int | float) and not isinstance(tol, bool) and tol > 0:
                    return "equal", float(tol)
    return "other", None


# --- domains ----------------------------------------------------------------------------------------------------

def kind_of(value: Any) -> str:
    """The type name a domain records (``bool`` is not an ``int`` here)."""
    return "none" if value is None else type(value).__name__


@dataclass
class Domain:
    """What the original inputs show about one argument position (or one element position, recursively)."""

    kinds: set[str] = field(default_factory=set)
    low: float = math.inf
    high: float = -math.inf
    alphabet: str = ""
    min_len: int = 1 << 30
    max_len: int = 0
    elem: Domain | None = None
    fixed: list[Domain] | None = None
    key: Domain | None = None
    value: Domain | None = None
    examples: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, values: Iterable[Any]) -> Domain:
        """The domain of some values."""
        dom = cls()
        chars: set[str] = set()
        tuple_lens: set[int] = set()
        elems: list[Any] = []
        tuples: list[tuple[Any, ...]] = []
        keys: list[Any] = []
        vals: list[Any] = []
        seen: set[str] = set()
        for v in values:
            k = kind_of(v)
            dom.kinds.add(k)
            if len(dom.examples) < 50 and _key(v) not in seen:
                seen.add(_key(v))
                dom.examples.append(v)
            if k in ("int", "float"):
                dom.low, dom.high = min(dom.low, v), max(dom.high, v)
            elif k in ("str", "bytes"):
                dom.min_len, dom.max_len = min(dom.min_len, len(v)), max(dom.max_len, len(v))
                if k == "str":
                    chars.update(v)
            elif k in ("list", "tuple", "set", "frozenset", "dict"):
                dom.min_len, dom.max_len = min(dom.min_len, len(v)), max(dom.max_len, len(v))
                if k == "dict":
                    keys.extend(v.keys())
                    vals.extend(v.values())
                else:
                    elems.extend(sorted(v, key=_key) if k in ("set", "frozenset") else v)
                if k == "tuple":
                    tuple_lens.add(len(v))
                    tuples.append(v)
        allowed = set(chars)
        for cls_chars in _CLASSES:
            if len(chars & set(cls_chars)) >= _CLASS_SEEN:
                allowed.update(cls_chars)
        dom.alphabet = "".join(sorted(allowed))
        if elems:
            dom.elem = Domain.of(elems)
        if keys:
            dom.key, dom.value = Domain.of(keys), Domain.of(vals)
        if len(tuple_lens) == 1 and dom.kinds == {"tuple"} and tuples and len(tuples[0]) > 0:
            dom.fixed = [Domain.of(t[i] for t in tuples) for i in range(len(tuples[0]))]
        return dom

    @property
    def nonneg(self) -> bool:
        """All numbers seen were >= 0."""
        return self.low >= 0

    @property
    def positive(self) -> bool:
        """All numbers seen were > 0."""
        return self.low > 0

    @property
    def may_be_empty(self) -> bool:
        """An empty string or container was seen."""
        return self.min_len == 0

    def conforms(self, v: Any, *, kinds_only: bool = False) -> bool:
        """Whether ``v`` lies in this domain (``kinds_only``: check types, recursively, and nothing else)."""
        k = kind_of(v)
        if k not in self.kinds:
            return False
        if k in ("int", "float"):
            if kinds_only:
                return True
            if isinstance(v, float) and not math.isfinite(v):
                return False
            return not (self.positive and v <= 0 or self.nonneg and v < 0)
        if k == "str":
            return kinds_only or (bool(v) or self.may_be_empty) and all(c in self.alphabet for c in v)
        if k == "bytes":
            return kinds_only or bool(v) or self.may_be_empty
        if k in ("list", "tuple", "set", "frozenset", "dict"):
            if not kinds_only and not v and not self.may_be_empty:
                return False
            if k == "dict":
                key, value = self.key, self.value
                return all(key is not None and value is not None and key.conforms(a, kinds_only=kinds_only)
                           and value.conforms(b, kinds_only=kinds_only) for a, b in v.items())
            if k == "tuple" and self.fixed is not None and not kinds_only:
                return len(v) == len(self.fixed) and all(d.conforms(x) for d, x in zip(self.fixed, v, strict=True))
            return all(self.elem is not None and self.elem.conforms(x, kinds_only=kinds_only) for x in v)
        return True


# --- mutation ---------------------------------------------------------------------------------------------------

def _int_moves(v: int, dom: Domain, rng: random.Random) -> list[int]:
    lo, hi = (int(dom.low), int(dom.high)) if math.isfinite(dom.low) and math.isfinite(dom.high) else (v, v)
    span = max(hi - lo, 10)
    moves = [v + 1, v - 1, -v, v * 2, v // 2, 0, 1, lo - 1, hi + 1, rng.randint(lo - span // 2, hi + span // 2)]
    return [m for m in moves if m != v]


def _float_moves(v: float, dom: Domain, rng: random.Random) -> list[float]:
    lo, hi = (dom.low, dom.high) if math.isfinite(dom.low) and math.isfinite(dom.high) else (v, v)
    span = max(hi - lo, 1.0)
    moves = [v + 0.5, v - 0.5, -v, v * 2, v / 2, 0.0, round(v, 1), v + 1.0, rng.uniform(lo - span / 2, hi + span / 2)]
    return [float(m) for m in moves if m != v and math.isfinite(m)]


def _new_element(dom: Domain, rng: random.Random, depth: int) -> Any:
    base = rng.choice(dom.examples)
    return mutate(base, dom, rng, depth + 1) if rng.random() < 0.7 else base


def _str_moves(v: str, dom: Domain, rng: random.Random) -> list[Callable[[], str]]:
    alpha = dom.alphabet or "a"
    limit = max(dom.max_len * 2, dom.max_len + 8, 1)
    moves: list[Callable[[], str]] = []
    if len(v) < min(limit, _MAX_TEXT + dom.max_len):
        def insert() -> str:
            i = rng.randint(0, len(v))
            return v[:i] + rng.choice(alpha) + v[i:]
        moves.append(insert)
    if v:
        moves.append(lambda: (lambda i: v[:i] + v[i + 1:])(rng.randrange(len(v))))
        moves.append(lambda: (lambda i: v[:i] + rng.choice(alpha) + v[i + 1:])(rng.randrange(len(v))))
        moves.append(lambda: v[::-1])
        moves.append(lambda: v[:1])
        if len(v) * 2 <= limit:
            moves.append(lambda: v + v)
        if dom.may_be_empty:
            moves.append(lambda: "")
    if len(v) > 1:
        def swap() -> str:
            i = rng.randrange(len(v) - 1)
            return v[:i] + v[i + 1] + v[i] + v[i + 2:]
        moves.append(swap)
    return moves


def _seq_moves(v: list[Any], dom: Domain, rng: random.Random, depth: int) -> list[Callable[[], list[Any]]]:
    limit = max(dom.max_len * 2, dom.max_len + 5, 1)
    moves: list[Callable[[], list[Any]]] = []
    elem = dom.elem
    if v and elem is not None:
        def change() -> list[Any]:
            i = rng.randrange(len(v))
            return v[:i] + [mutate(v[i], elem, rng, depth + 1)] + v[i + 1:]
        moves += [change, change]
    if elem is not None and elem.examples and len(v) < min(limit, _MAX_TEXT + dom.max_len):
        def add() -> list[Any]:
            i = rng.randint(0, len(v))
            return v[:i] + [_new_element(elem, rng, depth)] + v[i:]
        moves.append(add)
    if v:
        moves.append(lambda: (lambda i: v[:i] + v[i + 1:])(rng.randrange(len(v))))
        moves.append(lambda: v[:1])
        if dom.may_be_empty:
            moves.append(lambda: [])
        if len(v) < limit:
            moves.append(lambda: (lambda i: v[:i + 1] + [v[i]] + v[i + 1:])(rng.randrange(len(v))))
    if len(v) > 1:
        moves.append(lambda: rng.sample(v, len(v)))
        moves.append(lambda: v[::-1])

        def ordered() -> list[Any]:
            try:
                return sorted(v)
            except TypeError:
                return v[::-1]
        moves.append(ordered)
    return moves


def mutate(value: Any, dom: Domain, rng: random.Random, depth: int = 0) -> Any:
    """One random edit of ``value`` that keeps its type (the result may still leave the domain)."""
    k = kind_of(value)
    if depth > 6:
        return value
    if k == "bool":
        return not value
    if k == "int":
        return rng.choice(_int_moves(value, dom, rng))
    if k == "float":
        moves = _float_moves(value, dom, rng)
        return rng.choice(moves) if moves else value
    if k == "str":
        str_moves = _str_moves(value, dom, rng)
        return rng.choice(str_moves)() if str_moves else value
    if k == "list":
        seq_moves = _seq_moves(value, dom, rng, depth)
        return rng.choice(seq_moves)() if seq_moves else value
    if k == "tuple":
        if dom.fixed is not None and len(value) == len(dom.fixed):
            i = rng.randrange(len(value))
            return value[:i] + (mutate(value[i], dom.fixed[i], rng, depth + 1),) + value[i + 1:]
        seq_moves = _seq_moves(list(value), dom, rng, depth)
        return tuple(rng.choice(seq_moves)()) if seq_moves else value
    if k in ("set", "frozenset"):
        items = sorted(value, key=_key)
        seq_moves = [m for m in _seq_moves(items, dom, rng, depth)]
        if not seq_moves:
            return value
        try:
            return type(value)(rng.choice(seq_moves)())
        except TypeError:
            return value
    if k == "dict":
        return _mutate_dict(value, dom, rng, depth)
    return value


def _mutate_dict(value: dict[Any, Any], dom: Domain, rng: random.Random, depth: int) -> dict[Any, Any]:
    keys = list(value)
    choice = rng.randrange(3)
    if choice == 0 and keys and dom.value is not None:
        k = rng.choice(keys)
        return {**value, k: mutate(value[k], dom.value, rng, depth + 1)}
    if choice == 1 and dom.key is not None and dom.key.examples and dom.value is not None and dom.value.examples:
        new_key = _new_element(dom.key, rng, depth)
        try:
            hash(new_key)
        except TypeError:
            return value
        return {**value, new_key: _new_element(dom.value, rng, depth)}
    if keys and (len(keys) > 1 or dom.may_be_empty):
        drop = rng.choice(keys)
        return {k: v for k, v in value.items() if k != drop}
    return value


def boundary_values(dom: Domain) -> list[Any]:
    """Edge values of a domain: 0, 1, -1 and the extremes seen; empty and one-element strings and containers."""
    out: list[Any] = []
    finite = math.isfinite(dom.low) and math.isfinite(dom.high)
    if "int" in dom.kinds:
        out += [0, 1, -1] + ([int(dom.low), int(dom.high), int(dom.low) - 1, int(dom.high) + 1] if finite else [])
    if "float" in dom.kinds:
        out += [0.0, 1.0, -1.0, 0.5] + ([float(dom.low), float(dom.high)] if finite else [])
    if "bool" in dom.kinds:
        out += [True, False]
    if "str" in dom.kinds:
        out += ["", *(dom.alphabet[:1] or "a"), *(dom.alphabet[-1:] or "z")]
    for k in ("list", "tuple"):
        if k in dom.kinds:
            out.append([] if k == "list" else ())
            if dom.elem is not None and dom.elem.examples:
                one = [dom.elem.examples[0]]
                out.append(one if k == "list" else tuple(one))
    return out


# --- relations between and within arguments ----------------------------------------------------------------------

_PAIRS = ("()", "[]", "{}", "<>")


def _sorted_as(v: Any) -> str:
    try:
        if all(a <= b for a, b in zip(v, v[1:], strict=False)):
            return "ascending"
        if all(a >= b for a, b in zip(v, v[1:], strict=False)):
            return "descending"
    except TypeError:
        pass
    return ""


def _balanced(text: str, pair: str) -> bool:
    depth = 0
    for c in text:
        depth += (c == pair[0]) - (c == pair[1])
        if depth < 0:
            return False
    return depth == 0


def _shape(v: Any) -> str:
    """``square`` (n rows of n), ``rectangular`` (rows of one length), else ``""`` — for a list of lists."""
    if type(v) is not list or not v or not all(type(row) is list for row in v):
        return ""
    widths = {len(row) for row in v}
    if len(widths) != 1:
        return ""
    return "square" if widths == {len(v)} else "rectangular"


@dataclass(frozen=True)
class Invariants:
    """Relations every original input satisfies, with enough evidence, that generated inputs must keep.

    - a list or tuple argument always sorted (two or more originals of length >= 3, all sorted the same way);
    - two sized arguments always of equal length (two or more originals, not all of the same length);
    - a string argument always balanced in one kind of bracket (two or more originals that use it);
    - a list of lists always square, or always rectangular (two or more originals of two or more rows).

    These stand for preconditions the docstring states in prose ("a sorted list", "strings of equal length",
    "a string of balanced parentheses", "an N x N grid"); other such preconditions stay invisible (see the module
    docstring).
    """

    ordered: tuple[tuple[int, str], ...] = ()
    same_length: tuple[tuple[int, int], ...] = ()
    balanced: tuple[tuple[int, str], ...] = ()
    shaped: tuple[tuple[int, str], ...] = ()

    @classmethod
    def of(cls, originals: Sequence[tuple[Any, ...]]) -> Invariants:
        """The invariants of some argument tuples (all of one length)."""
        n = len(originals[0]) if originals else 0
        ordered, same, balanced, shaped = [], [], [], []
        for i in range(n):
            col = [a[i] for a in originals]
            grids = [_shape(v) for v in col]
            if len(col) >= 2 and all(g in ("square", "rectangular") for g in grids) \
                    and all(len(v) >= 2 for v in col):
                shaped.append((i, "square" if set(grids) == {"square"} else "rectangular"))
            seqs = [v for v in col if type(v) in (list, tuple)]
            long = [v for v in seqs if len(v) >= 3]
            if len(seqs) == len(col) and len(long) >= 2:
                ways = {_sorted_as(v) for v in long}
                if len(ways) == 1 and "" not in ways:
                    ordered.append((i, ways.pop()))
            if all(type(v) is str for v in col):
                for pair in _PAIRS:
                    using = [v for v in col if pair[0] in v or pair[1] in v]
                    if len(using) >= 2 and all(_balanced(v, pair) for v in col):
                        balanced.append((i, pair))
            for j in range(i + 1, n):
                try:
                    lens = [(len(a[i]), len(a[j])) for a in originals]
                except TypeError:
                    continue
                if len(lens) >= 2 and all(x == y for x, y in lens) and len({x for x, _ in lens}) > 1:
                    same.append((i, j))
        return cls(tuple(ordered), tuple(same), tuple(balanced), tuple(shaped))

    def hold(self, args: tuple[Any, ...]) -> bool:
        """Whether ``args`` keeps every invariant."""
        for i, way in self.ordered:
            try:
                pairs = list(zip(args[i], args[i][1:], strict=False))
                if not all(a <= b if way == "ascending" else a >= b for a, b in pairs):
                    return False
            except TypeError:
                return False
        for i, j in self.same_length:
            if len(args[i]) != len(args[j]):
                return False
        for i, shape in self.shaped:
            if _shape(args[i]) not in ((shape, "square") if shape == "rectangular" else (shape,)):
                return False
        return all(_balanced(args[i], pair) for i, pair in self.balanced)


def generate(originals: Sequence[tuple[Any, ...]], count: int, rng: random.Random,
             domains: Sequence[Domain] | None = None) -> list[tuple[Any, ...]]:
    """Up to ``count`` new argument tuples in the originals' domains and :class:`Invariants`, none an original.

    Boundary variants (one argument set to an edge value) come first, at most a quarter of ``count``; random
    chains of one to three mutations fill the rest. Gives up after ``30 * count`` attempts.
    """
    if not originals or count <= 0:
        return []
    arity = {len(a) for a in originals}
    if len(arity) != 1:
        originals = [a for a in originals if len(a) == max(arity)]
    n = len(originals[0])
    if n == 0:
        return []
    doms = list(domains) if domains is not None else [Domain.of(a[i] for a in originals) for i in range(n)]
    seen = {_key(a) for a in originals}
    relations = Invariants.of(originals)
    out: list[tuple[Any, ...]] = []

    def offer(args: tuple[Any, ...]) -> None:
        try:
            key = _key(args)
        except codec.CodecError:
            return
        if key in seen or len(key) > 2000 or not all(d.conforms(x) for d, x in zip(doms, args, strict=True)) \
                or not relations.hold(args):
            return
        seen.add(key)
        out.append(args)

    edges = [(i, v) for i in range(n) for v in boundary_values(doms[i])]
    rng.shuffle(edges)
    for i, v in edges:
        if len(out) >= max(1, count // 4):
            break
        base = rng.choice(originals)
        offer(base[:i] + (v,) + base[i + 1:])
    attempts = 0
    while len(out) < count and attempts < 30 * count:
        attempts += 1
        parent = rng.choice(originals) if not out or rng.random() < 0.7 else rng.choice(out)
        args = list(parent)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(n)
            args[i] = mutate(args[i], doms[i], rng)
        offer(tuple(args))
    return out
