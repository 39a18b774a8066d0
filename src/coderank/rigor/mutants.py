"""Mutants: small, seeded AST edits of a reference solution that make it (usually) wrong.

A mutant stands for a plausible bug: a flipped or off-by-one comparison, a constant off by one, ``+`` for
``-``, ``//`` for ``/``, ``and`` for ``or``, ``min`` for ``max``, ``range(n + 1)`` for ``range(n)``, a
dropped statement, ``continue`` for ``break``, an early ``return None``. A test suite *kills* a mutant when the
mutant fails it; the share of mutants killed (the mutation score) measures how much a suite can tell wrong code
from right. Some mutants are equivalent to the original (no input tells them apart), so a score below 1 is not proof of
a weak suite; comparing two suites on the same mutants is still fair.

Only the entry-point function (and what is nested in it) is edited; helpers and the prompt's other code stay
as they are. Every mutant is a complete program (``ast.unparse`` of the edited module), in a fixed order for
a given program, so the same seed picks the same mutants.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["AUGMENT_KINDS", "EXTRA_KINDS", "INSERT_KINDS", "LOOPING", "PER_NODE_KINDS", "Mutant", "mutants_of",
           "sample_mutants"]

_FLIP = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
         ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_INSERTS = {
    "raise_first": "raise ValueError",
    "loop_first": "while True:\n    pass",
    "sys_exit_first": "import sys\nsys.exit(0)",
    "os_exit_first": "import os\nos._exit(0)",
}

#: Kinds that edit one node each (one mutant per site).
PER_NODE_KINDS: tuple[str, ...] = ("flip_compare", "const_plus_1", "const_minus_1", "swap_add_sub", "return_none")
#: Kinds that insert a statement at the top of the entry point (killed by any test that calls it).
INSERT_KINDS: tuple[str, ...] = tuple(_INSERTS)
#: Insert kinds whose mutant never returns.
LOOPING = frozenset({"loop_first"})
#: Further per-node kinds: off-by-one and operator slips of the kind a weak suite lets through.
EXTRA_KINDS: tuple[str, ...] = ("boundary_compare", "and_or", "drop_not", "true_false", "swap_mul_div", "aug_assign",
                                "min_max", "range_plus_1", "break_continue", "drop_statement")
#: The kinds ``coderank augment`` uses (insert kinds are killed by any test that calls the function).
AUGMENT_KINDS: tuple[str, ...] = (*PER_NODE_KINDS, *EXTRA_KINDS)
_ARITH = {ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}


@dataclass(frozen=True)
class Mutant:
    """One edited program.

    Attributes:
        key: ``<task id>:<kind>:<site>`` (insert kinds: ``<task id>:<kind>``), unique per program.
        task_id: The problem the program solves.
        kind: Which edit.
        program: The whole edited program.
    """

    key: str
    task_id: str
    kind: str
    program: str


def _targets(fn: ast.FunctionDef | ast.AsyncFunctionDef, kind: str) -> list[ast.AST]:
    nodes = list(ast.walk(fn))
    if kind == "flip_compare":
        return [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in _FLIP]
    if kind == "boundary_compare":
        return [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in _BOUNDARY]
    if kind in ("const_plus_1", "const_minus_1"):
        return [n for n in nodes if isinstance(n, ast.Constant) and type(n.value) is int]
    if kind == "swap_add_sub":
        return [n for n in nodes if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add | ast.Sub)]
    if kind == "and_or":
        return [n for n in nodes if isinstance(n, ast.BoolOp)]
    if kind == "drop_not":
        return [n for n in nodes if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not)]
    if kind == "return_none":
        returns = [n for n in nodes if isinstance(n, ast.Return) and n.value is not None]
        return [n for n in returns[:1] if not (isinstance(n.value, ast.Constant) and n.value.value is None)]
    if kind == "true_false":
        return [n for n in nodes if isinstance(n, ast.Constant) and type(n.value) is bool]
    if kind == "swap_mul_div":
        return [n for n in nodes if isinstance(n, ast.BinOp) and type(n.op) in _ARITH]
    if kind == "aug_assign":
        return [n for n in nodes if isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Add | ast.Sub)]
    if kind == "min_max":
        return [n for n in nodes
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("min", "max")]
    if kind == "range_plus_1":
        return [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "range"
                and 1 <= len(n.args) <= 2 and not n.keywords]
    if kind == "break_continue":
        return [n for n in nodes if isinstance(n, ast.Break | ast.Continue)]
    if kind == "drop_statement":
        return [n for n in nodes if isinstance(n, ast.Assign | ast.AugAssign | ast.If | ast.Expr | ast.Continue)
                and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    raise ValueError(f"unknown mutant kind {kind!r}")


def _apply(node: ast.AST, kind: str) -> None:
    if isinstance(node, ast.Compare):
        table = _BOUNDARY if kind == "boundary_compare" else _FLIP
        node.ops[0] = table[type(node.ops[0])]()
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        node.value = node.value + (1 if kind == "const_plus_1" else -1)
    elif isinstance(node, ast.BinOp):
        node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        node.operand = ast.UnaryOp(ast.Not(), node.operand)  # `not not x`: the truth value `not x` inverted
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(None)
    else:
        raise AssertionError(kind)


def _apply_kind(node: ast.AST, kind: str, parents: dict[int, tuple[ast.AST, str, int]]) -> None:
    if kind == "true_false" and isinstance(node, ast.Constant):
        node.value = not node.value
    elif kind == "swap_mul_div" and isinstance(node, ast.BinOp):
        node.op = _ARITH[type(node.op)]()
    elif kind == "aug_assign" and isinstance(node, ast.AugAssign):
        node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
    elif kind == "min_max" and isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        node.func.id = "max" if node.func.id == "min" else "min"
    elif kind == "range_plus_1" and isinstance(node, ast.Call):
        i = len(node.args) - 1
        node.args[i] = ast.BinOp(node.args[i], ast.Add(), ast.Constant(1))
    elif kind in ("break_continue", "drop_statement"):
        owner, name, index = parents[id(node)]
        if kind == "drop_statement":
            new: ast.stmt = ast.Pass()
        else:
            new = ast.Continue() if isinstance(node, ast.Break) else ast.Break()
        getattr(owner, name)[index] = new
    else:
        _apply(node, kind)


def _statement_parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int]]:
    found = {}
    for owner in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            stmts = getattr(owner, name, None)
            for index, stmt in enumerate(stmts if isinstance(stmts, list) else []):
                if isinstance(stmt, ast.stmt):
                    found[id(stmt)] = (owner, name, index)
    return found


def _entry_function(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name]
    if not found:
        raise ValueError(f"the program defines no top-level function {name}()")
    return found[-1]  # the last definition wins, as when Python runs the module


def mutants_of(task_id: str, program: str, entry_point: str, *,
               kinds: Sequence[str] = (*PER_NODE_KINDS, *INSERT_KINDS), max_per_kind: int = 2) -> list[Mutant]:
    """Every mutant of one program, in a fixed order: kind by kind, sites in AST walk order.

    Args:
        task_id: Used in the mutants' keys.
        program: The whole reference program (for HumanEval: prompt + canonical solution).
        entry_point: The function to edit.
        kinds: Which edits (:data:`PER_NODE_KINDS`, :data:`EXTRA_KINDS`, :data:`INSERT_KINDS`).
        max_per_kind: At most this many sites per per-node kind (the first ones).

    Raises:
        SyntaxError: the program does not parse.
        ValueError: unknown kind, or no function ``entry_point``.
    """
    original = ast.parse(program)
    _entry_function(original, entry_point)
    out = []
    for kind in kinds:
        if kind in _INSERTS:
            tree = copy.deepcopy(original)
            fn = _entry_function(tree, entry_point)
            docstring = (fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant)
                         and isinstance(fn.body[0].value.value, str))
            at = 1 if docstring else 0
            fn.body[at:at] = ast.parse(_INSERTS[kind]).body
            out.append(Mutant(f"{task_id}:{kind}", task_id, kind, ast.unparse(tree) + "\n"))
            continue
        sites = len(_targets(_entry_function(original, entry_point), kind))
        for index in range(min(sites, max_per_kind)):
            tree = copy.deepcopy(original)
            _apply_kind(_targets(_entry_function(tree, entry_point), kind)[index], kind, _statement_parents(tree))
            out.append(Mutant(f"{task_id}:{kind}:{index}", task_id, kind, ast.unparse(tree) + "\n"))
    return out


def sample_mutants(task_id: str, program: str, entry_point: str, *, limit: int, seed: int,
                   kinds: Sequence[str] = AUGMENT_KINDS) -> list[Mutant]:
    """Up to ``limit`` distinct mutants, drawn with a seed from every site of every kind.

    Mutants whose program text equals the original's or another mutant's (``-1`` edited into ``+1``, say) are
    dropped before drawing. The draw depends only on ``seed``, ``task_id`` and the program.

    Raises:
        SyntaxError: the program does not parse.
        ValueError: unknown kind, or no function ``entry_point``.
    """
    base = ast.unparse(ast.parse(program)) + "\n"
    seen = {base}
    pool = []
    for m in mutants_of(task_id, program, entry_point, kinds=kinds, max_per_kind=1_000):
        if m.program not in seen:
            seen.add(m.program)
            pool.append(m)
    rng = random.Random(f"coderank-mutants:{seed}:{task_id}")
    chosen = rng.sample(range(len(pool)), min(limit, len(pool)))
    return [pool[i] for i in sorted(chosen)]
