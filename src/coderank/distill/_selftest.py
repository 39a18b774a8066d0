"""Self-written tests: for an instruction without tests, the teacher writes a solution *and* assert tests.

This is SelfCodeAlign's recipe (the model answers with code and tests; the sandbox runs them; answers that pass
their own tests are kept). Rows made this way are labelled ``self-verified``, never ``verified``: the same model
wrote the code and the test, so a shared mistake passes.

**The tests are model output, so they never run on the trusted side.** The checker runs only a benchmark's own
(trusted) tests; here the program that goes into the sandbox is the solution followed by the tests as a string,
which ``_coderank_selftest()`` compiles and executes *inside* the sandboxed process, calling every ``test*``
function the tests define (again, if they call it themselves), and returns ``True`` or what failed. The trusted
check asserts that it returned ``True``. A program could fake that answer; it is the teacher's own code checking
itself, and that is what the ``self-verified`` label says. Two guards that the model's text cannot talk its way
past come on top:

- **Static** (parsing only, nothing runs): the answer must hold a code block that defines a function or class,
  and tests that parse, contain an ``assert`` and use a name the solution defines. Definitions in the tests of
  the solution's own names, and imports of them (``from solution import f``), are removed, or the tests would
  test their own copy. From the solution only definitions, imports and constants are kept (its example calls,
  prints and asserts are dropped), and that is the code a training row carries.
- **Mutants**: the same tests also run against the solution with every function body (and lambda) replaced by
  ``return None``, by ``raise NotImplementedError``, by returning its first argument, and by ``return True``
  (:data:`MUTANTS`). Tests that pass any of them do not test the solution (``assert True``, a call whose result
  is never checked, tests of a function whose result is never compared, tests that only check a None or a
  truthy result, ...): the sample is ``invalid``, whatever the solution does.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from coderank.digest import sha256_text
from coderank.models.extract import fenced_blocks
from coderank.types import Problem, Status

VERSION = 2
"""Version of how answers are split and judged (the prompt, the split, the runner, the mutants); part of every
self-tested run's identity, so a change here never mixes with verdicts stored before it."""

PROMPT = (
    "Solve this programming task in Python.\n\n{instruction}\n\n"
    "First give your solution in a ```python code block: the function(s), with the imports they need and no "
    "example usage. Then, under the heading \"Tests:\", give a second ```python code block with at least three "
    "assert statements that call your function on concrete inputs and compare the results with the exact "
    "expected values."
)
"""What the teacher is asked (``{instruction}`` is the instruction, with its input if it has one)."""

ENTRY = "_coderank_selftest"
"""The function the trusted check calls: it runs the tests inside the sandboxed program."""

CHECK = "def check(candidate):\n    outcome = candidate()\n    assert outcome is True, outcome\n"
"""The trusted test of every self-tested program: the runner must answer True (anything else says what failed)."""

MUTANTS: dict[str, str] = {
    "none": "every function returns None",
    "raise": "every function raises NotImplementedError",
    "identity": "every function returns its first argument",
    "true": "every function returns True",
}
"""Wrong programs the tests must reject: name -> what the mutant does."""

# Runs inside the sandboxed program (never in the harness). The tests are executed in the module's namespace,
# as if they followed the solution in one file; test functions they define are called; an assertion that fails is
# reported with its line of the tests, any other exception propagates (the verdict is then `error`).
_RUNNER = '''

def _coderank_selftest():
    import traceback
    names = globals()
    before = set(names)
    try:
        exec(compile(_CODERANK_TESTS, "<tests>", "exec"), names)
        for name in [n for n in list(names) if n not in before and n.startswith("test")
                     and type(names[n]).__name__ == "function"]:
            names[name]()
    except AssertionError as exc:
        lines = _CODERANK_TESTS.splitlines()
        where = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<tests>"]
        at = ""
        if where and where[-1] and 0 < where[-1] <= len(lines):
            at = " at tests line %d: %s" % (where[-1], lines[where[-1] - 1].strip())
        return "a test failed" + at + (" (%s)" % exc if str(exc) else "")
    return True
'''

SHA256 = sha256_text("\0".join([str(VERSION), PROMPT, CHECK, _RUNNER, *MUTANTS]))
"""Hash of everything above that decides a self-tested verdict (prompt, check, runner, mutants)."""

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
_ASSIGNS = (ast.Assign, ast.AnnAssign, ast.AugAssign)


@dataclass(frozen=True)
class Split:
    """An answer cut into the solution and its tests.

    Attributes:
        solution: The solution's code (definitions, imports, constants), or None.
        tests: The tests' code (without copies of the solution's definitions), or None.
        status: ``""`` when both are usable; else the sample's status (``no_code`` without a solution,
            ``invalid`` when the tests are missing or cannot test it).
        detail: Why not usable, or what was removed.
    """

    solution: str | None
    tests: str | None
    status: str
    detail: str


def render_prompt(instruction: str) -> str:
    """The teacher's prompt for one instruction."""
    return PROMPT.format(instruction=instruction.strip())


def problem(task_id: str) -> Problem:
    """The problem every self-tested program of an instruction runs against: :data:`CHECK` on :data:`ENTRY`."""
    return Problem(task_id=task_id, prompt="", entry_point=ENTRY, test=CHECK)


def program(solution: str, tests: str) -> str:
    """The program that goes into the sandbox: the solution, the tests as a string, and the runner."""
    return solution.rstrip() + "\n\n\n_CODERANK_TESTS = " + repr(tests) + "\n" + _RUNNER


def failure_detail(detail: str) -> str:
    """The runner's own words from a failed check's detail (the checker quotes the check's line around them)."""
    start, end = detail.find("(a test failed"), detail.rfind(")")
    return detail[start + 1:end] if start >= 0 and end > start else detail


def split_answer(answer: str) -> Split:
    """Find the solution and the tests in a teacher's answer (parsing only; nothing runs).

    The solution is the first Python (or untagged) code block that parses and defines a function or class; the
    tests are the last later block that holds an ``assert`` (or a ``test*`` function), or else the solution
    block's own statements from its first top-level ``assert`` or ``test*`` function on (the definitions among
    them that are not tests stay with the solution).
    """
    blocks = [(block.code.strip("\n"), tree) for block in fenced_blocks(answer)
              if block.python and block.code.strip() and (tree := _parse(block.code.strip("\n"))) is not None]
    if not blocks and (tree := _parse(answer.strip())) is not None:
        blocks = [(answer.strip(), tree)]  # a bare code answer
    if not blocks:
        return Split(None, None, Status.NO_CODE.value, "no Python code block that parses")
    found = next((i for i, (_, tree) in enumerate(blocks) if _defined(tree)), None)
    if found is None:
        return Split(None, None, Status.NO_CODE.value, "no code block defines a function or class")
    source, tree = blocks[found]
    names = _defined(tree)
    later = [(body, t) for body, t in blocks[found + 1:] if _has_tests(t)]
    if later:
        solution_part = source
        tests_source, tests_tree = later[-1]
    else:
        first = next((i for i, st in enumerate(tree.body) if _is_test(st)), None)
        if first is None:
            return Split(_solution(source, tree), None, Status.INVALID.value, "no tests: no assert statements")
        after = set(tree.body[first:])
        solution_part, tests_part = _partition(source, tree, lambda st: st not in after or (
            isinstance(st, _DEFS + _IMPORTS) and not _is_test(st)))
        tests_source = tests_part
        parsed = _parse(tests_source)
        if parsed is None:
            return Split(None, None, Status.INVALID.value, "the tests do not parse")
        tests_tree = parsed
    solution_tree = _parse(solution_part)
    if solution_tree is None:  # pragma: no cover - a part of a module that parses parses
        return Split(None, None, Status.NO_CODE.value, "the solution does not parse")
    solution = _solution(solution_part, solution_tree)
    tests, _ = _partition(tests_source, tests_tree, lambda st: not _redefines(st, names))
    return _checked(solution, tests, names)


def _checked(solution: str, tests: str, names: set[str]) -> Split:
    tree = _parse(tests)
    if tree is None or not tests.strip():
        return Split(solution, None, Status.INVALID.value, "no tests left once the solution's own definitions "
                     "are taken out of them")
    if not any(isinstance(node, ast.Assert) for node in ast.walk(tree)):
        return Split(solution, tests, Status.INVALID.value, "the tests hold no assert statement")
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    if not used & names:
        return Split(solution, tests, Status.INVALID.value,
                     f"the tests never use the solution ({', '.join(sorted(names))})")
    return Split(solution, tests, "", "")


def mutant(solution: str, kind: str) -> str:
    """The solution with every function body (and lambda) replaced as :data:`MUTANTS` says for ``kind``."""
    tree = ast.parse(solution)
    _Stub(kind).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


class _Stub(ast.NodeTransformer):
    def __init__(self, kind: str) -> None:
        if kind not in MUTANTS:
            raise ValueError(f"unknown mutant {kind!r}")
        self.kind = kind
        self.in_class = False

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        outer, self.in_class = self.in_class, True
        self.generic_visit(node)
        self.in_class = outer
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.body = [self._body(node.args, self.in_class and not _static(node))]
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AsyncFunctionDef:
        node.body = [self._body(node.args, self.in_class and not _static(node))]
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        stmt = self._body(node.args, False)
        if isinstance(stmt, ast.Return):
            node.body = stmt.value or ast.Constant(None)
        else:  # a lambda cannot raise: throwing into a fresh generator does
            node.body = ast.parse("(_ for _ in ()).throw(NotImplementedError('coderank mutant'))", mode="eval").body
        return node

    def _body(self, args: ast.arguments, method: bool) -> ast.stmt:
        if self.kind == "raise":
            return ast.parse("raise NotImplementedError('coderank mutant')").body[0]
        if self.kind == "true":
            return ast.Return(ast.Constant(True))
        if self.kind == "identity":
            positional = [a.arg for a in (*args.posonlyargs, *args.args)][1 if method else 0:]
            if positional:
                return ast.Return(ast.Name(positional[0], ast.Load()))
            if args.vararg is not None:
                return ast.parse(f"return {args.vararg.arg}[0] if {args.vararg.arg} else None").body[0]
        return ast.Return(ast.Constant(None))


def _static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_test(st: ast.stmt) -> bool:
    """A top-level assert, or a function or class named ``test...`` / ``Test...``."""
    return isinstance(st, ast.Assert) or (isinstance(st, _DEFS) and st.name.lower().startswith("test"))


def _defined(tree: ast.Module) -> set[str]:
    """Top-level functions and classes of the solution (``test*`` ones are tests)."""
    return {st.name for st in tree.body if isinstance(st, _DEFS) and not _is_test(st)}


def _has_tests(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree)) or any(_is_test(st) for st in tree.body)


def _redefines(st: ast.stmt, names: set[str]) -> bool:
    """A definition of one of the solution's names, or an import of one (``from solution import f``)."""
    if isinstance(st, _DEFS):
        return st.name in names
    if isinstance(st, ast.ImportFrom):
        return any((alias.asname or alias.name) in names for alias in st.names)
    return False


def _calls(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
               for n in ast.walk(node))


def _solution(source: str, tree: ast.Module) -> str:
    """Definitions, imports and constants; example calls, prints, asserts and ``__main__`` blocks go."""
    names = _defined(tree)
    kept, _ = _partition(source, tree, lambda st: (isinstance(st, _DEFS + _IMPORTS) and not _is_test(st)) or (
        isinstance(st, _ASSIGNS) and not _calls(st, names)) or (
        isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) and isinstance(st.value.value, str)))
    return kept


def _partition(source: str, tree: ast.Module, keep: Callable[[ast.stmt], bool]) -> tuple[str, str]:
    """The source of the top-level statements ``keep`` accepts, and of the others, each with its own lines.

    Comments before a statement go with it; statements sharing a line go with the first one. Within each part,
    definitions are set apart by two blank lines and other statements follow each other line by line.
    """
    lines = source.splitlines()
    kept: list[tuple[str, bool]] = []
    other: list[tuple[str, bool]] = []
    done = 0
    for st in tree.body:
        end = st.end_lineno or st.lineno
        if end <= done:
            continue  # shares its line with the statement before
        segment = "\n".join(lines[done:end]).strip("\n")
        (kept if keep(st) else other).append((segment, isinstance(st, _DEFS)))
        done = end
    tail = "\n".join(lines[done:]).strip("\n")
    if tail.strip():
        kept.append((tail, False))
    return _join(kept), _join(other)


def _join(segments: list[tuple[str, bool]]) -> str:
    out = ""
    for i, (text, is_def) in enumerate(segments):
        if i:
            out += "\n\n\n" if is_def or segments[i - 1][1] else "\n"
        out += text
    return out
