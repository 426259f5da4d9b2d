"""The layers of the library, bottom to top: one table that the architecture test
(``tests/test_architecture.py``) checks every import against.

A module imports only from its own layer or the layers below it (inside functions
too), and module-level imports form no cycle. Every module of ``crossview`` must be
placed here: a new module gets a row before it gets a test.

Modules are named by their dotted path below ``crossview``: ``"camera"``,
``"kernels.psm_numba"``; a package by its own name (``"kernels"`` is
``kernels/__init__.py``), and the top package itself as ``"__init__"``. A pattern
``"pkg.*"`` places a package and every module in it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

#: ``(name, what it holds, module patterns)`` per layer, bottom first.
LAYERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("base", "array helpers, validation, paths, text output, this table",
     ("_array", "_validate", "validation", "paths", "tables", "_layers")),
    ("geometry", "NumPy only: cameras and lens, heatmaps and affines, the skeleton and its "
                 "priors, epipolar geometry, error metrics",
     ("camera", "heatmap", "skeleton", "epipolar", "metrics")),
    ("kernels", "the hot loops behind one declared interface per family, one module per "
                "backend; Numba and torch are imported only here and only when chosen",
     ("kernels.*",)),
    ("algorithms", "fusion, triangulation, PSM, RPSM, limb lengths: validate, pick a "
                   "kernel, call",
     ("sampler", "fusion", "learned_fusion", "triangulate", "psm", "rpsm", "limbs")),
    ("data and models", "synthetic people, the body model, scenes, the renderer, the 2D "
                        "network, data set loaders",
     ("people", "body", "synth", "render", "nets.*", "datasets.*")),
    ("evaluation and tools", "evaluation, precomputed studies, benchmarks, the command "
                             "line, plotting helpers for the book, the package's entry points",
     ("evaluation", "studies", "bench.*", "cli", "commands.*", "viz.*", "__init__",
      "__main__")),
)


def _matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        package = pattern[:-2]
        return module == package or fnmatchcase(module, pattern)
    return module == pattern


def layer_of(module: str) -> int:
    """The layer (1 = base, ..., 6 = evaluation and tools) of ``module``, a dotted name
    below ``crossview`` (see the module docstring). ``KeyError`` for a module in no layer
    of :data:`LAYERS`, ``ValueError`` for one that several layers claim."""
    hits = [index for index, (_, _, patterns) in enumerate(LAYERS, start=1)
            if any(_matches(module, p) for p in patterns)]
    if not hits:
        raise KeyError(f"module {module!r} is in no layer of crossview._layers.LAYERS; "
                       "add it to the layer it belongs to")
    if len(hits) > 1:
        raise ValueError(f"module {module!r} is in several layers of "
                         f"crossview._layers.LAYERS: {', '.join(map(layer_name, hits))}")
    return hits[0]


def layer_name(index: int) -> str:
    """The name of layer ``index`` (1-based)."""
    return LAYERS[index - 1][0]
