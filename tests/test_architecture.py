"""The library's imports form layers (crossview/_layers.py): no upward import, no cycle.

Every module of ``crossview/`` is read with ``ast`` (nothing is imported), each import
is resolved to the module it loads, and each module is placed in its layer by the one
table in :mod:`crossview._layers`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from crossview._layers import layer_name, layer_of

PACKAGE = Path(__file__).resolve().parents[1] / "crossview"

#: Upward imports ``(importer, imported)`` that remain while the layers below are being
#: reworked. The test fails when one of them goes away (remove it here) and when a new
#: one appears (fix the import instead of adding it here): the set only ever shrinks.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


# ---------------------------------------------------------------------- reading the modules
def module_name(path: Path) -> str:
    """``crossview/kernels/psm_numba.py`` -> ``"kernels.psm_numba"``; a package's
    ``__init__.py`` is the package (``"kernels"``), the top one is ``"__init__"``."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _package_of(module: str, path: Path) -> list[str]:
    """The package that ``from . import`` in ``module`` refers to, as name parts below
    ``crossview`` (empty for ``crossview`` itself)."""
    parts = [] if module in ("__init__", "__main__") else module.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def read_imports(path: Path, modules: set[str]) -> list[tuple[str, bool, int]]:
    """``(imported module, at module level, line)`` for every ``crossview`` import in the
    file at ``path`` (at module level: not inside a function). ``from pkg import name``
    counts as importing ``pkg.name`` when that is a module of ``modules``, ``pkg``
    otherwise; ``crossview`` itself is ``"__init__"``."""
    module = module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def add(parts: list[str], top: bool, line: int) -> None:
        found.append((".".join(parts) or "__init__", top, line))

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    head, *rest = alias.name.split(".")
                    if head == "crossview":
                        add(rest, top, child.lineno)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = _package_of(module, path)
                    parts = parts[:len(parts) - (child.level - 1)]
                    parts += child.module.split(".") if child.module else []
                elif child.module and child.module.split(".")[0] == "crossview":
                    parts = child.module.split(".")[1:]
                else:
                    continue
                for alias in child.names:
                    sub = [*parts, alias.name]
                    add(sub if ".".join(sub) in modules else parts, top, child.lineno)
            visit(child, top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                        ast.Lambda)))

    visit(tree, True)
    return found


def scan() -> tuple[dict[str, Path], dict[str, list[tuple[str, bool, int]]]]:
    paths = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))
             if "__pycache__" not in p.parts}
    modules = set(paths)
    return paths, {m: read_imports(p, modules) for m, p in paths.items()}


PATHS, IMPORTS = scan()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return out


# ---------------------------------------------------------------------- the checks
def test_every_module_is_in_exactly_one_layer():
    problems = []
    for module in PATHS:
        try:
            layer_of(module)
        except (KeyError, ValueError) as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_every_import_names_a_module_of_the_package():
    unknown = [f"{m}:{line} imports {t}" for m, found in IMPORTS.items()
               for t, _, line in found if t not in PATHS]
    assert not unknown, "\n".join(unknown)


def upward_imports() -> dict[tuple[str, str], list[str]]:
    """``(importer, imported)`` -> where, for every import into a higher layer."""
    out: dict[tuple[str, str], list[str]] = {}
    for module, found in IMPORTS.items():
        for target, _, line in found:
            if target in PATHS and layer_of(target) > layer_of(module):
                out.setdefault((module, target), []).append(f"{PATHS[module].name}:{line}")
    return out


def test_no_module_imports_from_a_higher_layer():
    upward = upward_imports()
    new = sorted(set(upward) - KNOWN_VIOLATIONS)
    gone = sorted(KNOWN_VIOLATIONS - set(upward))
    lines = [f"{a} ({layer_name(layer_of(a))}) imports {b} ({layer_name(layer_of(b))}) at "
             f"{', '.join(upward[a, b])}" for a, b in new]
    assert not new, "imports into a higher layer:\n" + "\n".join(lines)
    assert not gone, ("no longer imported upwards; remove them from KNOWN_VIOLATIONS: "
                      + ", ".join(f"{a} -> {b}" for a, b in gone))


def test_module_level_imports_form_no_cycle():
    edges = {m: {t for t, top, _ in found if top and t != m and t in PATHS}
             for m, found in IMPORTS.items()}
    cycles = _cycles(edges)
    assert not cycles, "modules that import each other (at module level): " + "; ".join(
        " <-> ".join(c) for c in cycles)


def test_only_the_entry_point_imports_the_command_line():
    # cli finds the commands with importlib, an import that no reader of the source sees;
    # a command importing cli back would close that cycle
    importers = sorted(m for m, found in IMPORTS.items() if m != "__main__"
                       and any(t == "cli" for t, _, _ in found))
    assert importers == [], f"{', '.join(importers)} import crossview.cli"


# ---------------------------------------------------------------------- the reader itself
@pytest.mark.parametrize(("source", "module", "expected"), [
    ("from .camera import Camera", "synth", [("camera", True)]),
    ("from . import commands", "cli", [("commands", True)]),
    ("from .. import nets", "bench.network", [("nets", True)]),
    ("from ..nets.config import TrainConfig", "commands.train", [("nets.config", True)]),
    ("from . import BACKENDS", "kernels.psm_numpy", [("kernels", True)]),
    ("def f():\n    from ..fusion import epipolar_fusion", "nets.model", [("fusion", False)]),
    ("class A:\n    from .heatmap import find_peaks", "synth", [("heatmap", True)]),
    ("import crossview as cv", "commands.info", [("__init__", True)]),
    ("from crossview.render import render_views", "viz.scene", [("render", True)]),
    ("import numpy as np\nfrom torch import nn", "nets.model", []),
])
def test_imports_are_resolved_to_the_modules_they_load(tmp_path, monkeypatch, source, module,
                                                       expected):
    package = tmp_path / "crossview"
    *dirs, name = module.split(".")
    folder = package.joinpath(*dirs)
    folder.mkdir(parents=True)
    path = folder / f"{name}.py"
    path.write_text(source)
    monkeypatch.setitem(globals(), "PACKAGE", package)
    found = read_imports(path, set(PATHS))
    assert [(t, top) for t, top, _ in found] == expected


def test_cycles_are_found_and_layers_are_ordered():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert layer_of("kernels.psm_numba") == 3 and layer_of("kernels") == 3
    assert layer_of("nets.config") > layer_of("psm") > layer_of("camera") > layer_of("paths")
    with pytest.raises(KeyError, match="no layer"):
        layer_of("brand_new_module")
