"""Mutants: every kind edits the entry point into a different, valid program; sampling is seeded."""

from __future__ import annotations

import ast

import pytest

from coderank.rigor.mutants import AUGMENT_KINDS, INSERT_KINDS, mutants_of, sample_mutants

PROGRAM = '''
def helper(x):
    return x + 1


def f(xs, flag=True):
    total = 0
    for i in range(len(xs)):
        if xs[i] < 0 and not flag:
            continue
        if xs[i] > 100:
            break
        total += xs[i] * 2
    total = min(total + 0, 10 ** 6) // 1
    return total if flag else -total
'''


@pytest.mark.parametrize("kind", [*AUGMENT_KINDS, *INSERT_KINDS])
def test_each_kind_gives_valid_distinct_programs(kind):
    found = mutants_of("t/0", PROGRAM, "f", kinds=[kind], max_per_kind=3)
    assert found, kind
    base = ast.unparse(ast.parse(PROGRAM))
    for m in found:
        assert m.kind == kind and m.key.startswith(f"t/0:{kind}")
        tree = ast.parse(m.program)
        assert ast.unparse(tree) != base
        helper = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "helper")
        assert ast.unparse(helper) == "def helper(x):\n    return x + 1"  # only the entry point is edited


def test_sample_is_seeded_distinct_and_bounded():
    a = sample_mutants("t/0", PROGRAM, "f", limit=8, seed=1)
    assert [m.key for m in a] == [m.key for m in sample_mutants("t/0", PROGRAM, "f", limit=8, seed=1)]
    assert [m.key for m in a] != [m.key for m in sample_mutants("t/0", PROGRAM, "f", limit=8, seed=2)]
    assert len(a) == 8 and len({m.program for m in a}) == 8
    assert len(sample_mutants("t/0", PROGRAM, "f", limit=10_000, seed=1)) > 30


def test_unknown_kind_and_missing_function_are_errors():
    with pytest.raises(ValueError, match="unknown mutant kind"):
        mutants_of("t/0", PROGRAM, "f", kinds=["nope"])
    with pytest.raises(ValueError, match="no top-level function g"):
        mutants_of("t/0", PROGRAM, "g")
