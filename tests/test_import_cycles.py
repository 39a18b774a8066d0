"""No import cycles anywhere in the package (issue 20): every module's module-level imports form a graph without
loops, so any module imports on its own and the layers (types and scoring at the bottom, execution beneath
everything, the CLI on top) stay layers. Imports inside functions (lazy, for optional extras) and under
``TYPE_CHECKING`` do not run at import time and are not edges."""

import ast
from pathlib import Path

import coderank

SRC = Path(coderank.__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (SRC / "coderank").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom, mods: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([base] if base else []))
    submodules = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods}
    # `from pkg import submodule` needs the submodule, not the rest of the package's __init__
    return submodules if len(submodules) == len(node.names) else submodules | {base}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in mods.items():
        deps: set[str] = set()
        for top in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test):
                continue
            nodes = ast.walk(top) if isinstance(top, (ast.If, ast.Try, ast.With)) else [top]
            for node in nodes:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    deps |= {d for d in _imported(module, path, node, mods) if d in mods and d != module}
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_is_read_from_the_real_package():
    graph = _graph()
    assert len(graph) > 60
    assert "coderank.execution.sandbox" in graph["coderank.evaluation"]
    assert "coderank.cli._common" in graph["coderank.cli.eval"]


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def _private_imports() -> list[tuple[str, str]]:
    """(importer, imported) where a module imports a private module (``_name``) of a package it is not inside."""
    mods = _modules()
    found = []
    for module, path in mods.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # lazy imports count here too
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                parts = name.split(".")
                private = next((i for i, part in enumerate(parts) if part.startswith("_")
                                and not part.startswith("__")), None)
                if name in mods and private is not None:
                    owner = ".".join(parts[:private])
                    if package != owner and not package.startswith(owner + "."):
                        found.append((module, name))
    return sorted(set(found))


def test_private_modules_stay_private_to_their_package():
    """A package's ``_modules`` are its own business: other packages import what its ``__init__`` or a public
    module offers (e.g. ``coderank.execution.codec``, not ``coderank.execution._codec``)."""
    assert _private_imports() == []
