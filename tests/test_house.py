"""The house rules of ``src/vhtqdm``, checked on its source: no import circle, no private reach.

A module imports vhtqdm modules at its top or inside functions; both count. A module may use
its own ``_private`` names and the public names of any module, never another module's
``_private`` ones (``_mirror._live`` from ``_relay`` was how the old wiring broke promises).
"""

from __future__ import annotations

import ast
from pathlib import Path

import vhtqdm

PACKAGE = Path(vhtqdm.__file__).resolve().parent


def modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name (``vhtqdm._cli.watch``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def package_of(name: str, tree_name: str) -> str:
    """The package a relative import in module ``tree_name`` starts from."""
    is_package = (PACKAGE.parent / tree_name.replace(".", "/") / "__init__.py").exists()
    return tree_name if is_package else tree_name.rpartition(".")[0]


def imports(name: str, tree: ast.Module, known: set[str]) -> dict[str, str]:
    """The vhtqdm modules ``name`` imports (at any depth of its code), by the local name they
    are bound to (or themselves when a ``from`` import binds other names)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    found[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                start = package_of(name, name)
                for _ in range(node.level - 1):
                    start = start.rpartition(".")[0]
                base = f"{start}.{base}" if base else start
            if base not in known:
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:  # `from . import _claim`: a module
                    found[alias.asname or alias.name] = target
                elif base != name:
                    found.setdefault(f"<from {base}>", base)
    return found


def test_no_import_circle() -> None:
    trees = modules()
    known = set(trees)
    graph = {
        name: set(imports(name, tree, known).values()) - {name} for name, tree in trees.items()
    }
    # A package's __init__ is imported by its submodules' import anyway: edges *to* a package
    # that is an ancestor of the importer are how Python works, not a design circle.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    circles = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            if target in path:
                circles.append([*path[path.index(target) :], target])
            elif len(path) < 40:
                visit(target, [*path, target])

    for start in sorted(graph):
        visit(start, [start])
    assert circles == [], "\n".join(" -> ".join(circle) for circle in circles[:10])


def test_no_module_reads_another_modules_private_names() -> None:
    trees = modules()
    known = set(trees)
    reaches = []
    for name, tree in trees.items():
        bound = {local: target for local, target in imports(name, tree, known).items()}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                reaches.append(f"{name}: {node.value.id}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.level:  # from vhtqdm's own modules
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    module = imports(name, ast.Module([node], []), known)
                    if private and alias.name not in module:  # a name, not a module
                        reaches.append(
                            f"{name}: from {'.' * node.level}{node.module or ''} "
                            f"import {alias.name}"
                        )
    assert reaches == []


def own_names(tree: ast.Module) -> set[str]:
    """The names a module defines: functions, classes, assignments, attributes it sets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


# Names with a leading underscore that are documented API: os._exit, and argparse's
# _SubParsersAction, which its own docs name as add_subparsers()' return type (annotations only).
DOCUMENTED = {"_exit", "_SubParsersAction"}


def test_no_module_reads_another_objects_private_state() -> None:
    # tqdm's own private state is read in one place only, _tricks, each use guarded. A bar's
    # ``_vh_*`` attributes are vhtqdm's namespace on tqdm's objects (_bar's docstring).
    reaches = []
    for name, tree in modules().items():
        if name == "vhtqdm._tricks":
            continue
        mine = own_names(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith(("__", "_vh_"))
                and node.attr not in mine | DOCUMENTED
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                reaches.append(f"{name}:{node.lineno}: .{node.attr}")
    assert reaches == []
