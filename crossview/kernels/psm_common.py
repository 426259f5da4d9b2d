"""Pieces every PSM backend shares: limb stencils and their runs, the Keys weights, the
sum over views, the limb penalty, the refinement candidates, and the conventions below.

The stencils, the interpolation weights and the sum over views are written here once
(the Numba kernels repeat their arithmetic in compiled form, in the same order), and
every backend places bins and candidates as described below, so that all backends
reach the same pose.

Conventions of the kernels (``B`` frames, ``V`` views, ``J`` joints):

* heatmaps enter as the evidence above the floor, ``E = log(max(heatmap, floor) / floor)
  >= 0`` (each backend's ``prepare`` chooses the layout and the zero padding), and a
  unary is the sum of the views' samples of ``E`` plus ``V log(floor)``;
* ``cams = (R, t, dist, aff)``: rotations ``(V, 3, 3)``, translations ``(V, 3)``
  (mm), OpenCV distortion ``(V, 5)`` and ``aff`` ``(B, V, 2, 3)`` mapping
  *normalised distorted* camera coordinates to heatmap pixels (the crop affine
  composed with the intrinsics);
* a coarse grid of ``n`` bins per axis around ``center`` has bin ``k = (ix n + iy) n + iz``
  at ``center - cube/2 + (ix, iy, iz) * cube / (n - 1)``;
* a refinement grid of ``m`` points per axis (:func:`corner_signs`) around a joint's
  estimate ``L`` has candidate ``q = (m qx + qy) m + qz`` at ``L + s(qx, qy, qz) * size / 2``,
  with ``s`` spreading ``m`` points evenly over ``[-1, 1]``: ``m = 2`` is the paper's
  ``2 x 2 x 2`` grid of corners ``q = 4 qx + 2 qy + qz`` at ``L + (2 (qx, qy, qz) - 1) * size / 2``,
  ``m = 3`` adds the estimate itself on each axis.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Keys' cubic convolution parameter; ``a = -0.5`` is the one choice that reproduces
#: quadratics exactly (Keys 1981), so a log-Gaussian heatmap is interpolated without error.
KEYS_A = -0.5


def keys_weights(t):
    """Weights of the taps at ``-1, 0, 1, 2`` for a sample at fractional offset ``t`` in [0, 1).

    Works on NumPy arrays and torch tensors; returns a list of four arrays.
    """
    t2 = t * t
    t3 = t2 * t
    return [-0.5 * t3 + t2 - 0.5 * t,
            1.5 * t3 - 2.5 * t2 + 1.0,
            -1.5 * t3 + 2.0 * t2 + 0.5 * t,
            0.5 * t3 - 0.5 * t2]


def limb_stencil(length: float, spacing: float, window: float,
                 max_offset: int | None = None) -> np.ndarray:
    """Integer bin offsets ``(S, 3)`` whose length is within ``window`` of ``length`` (mm).

    On a regular grid of ``spacing`` mm, the pairwise limb term of two bins depends only
    on their offset ``d``: it is satisfied when ``|spacing |d| - length| <= window``.
    Components beyond ``max_offset`` (``n - 1`` on a grid of ``n`` bins per axis) can
    never join two bins of the grid and are left out, which also bounds the stencil
    when the window is huge. The offsets are sorted lexicographically, which is the
    order of bin indices, so "first maximum in stencil order" breaks ties towards the
    smaller bin index.
    """
    return _limb_stencil(float(length), float(spacing), float(window),
                         None if max_offset is None else int(max_offset)).copy()


@lru_cache(maxsize=1024)
def _limb_stencil(length: float, spacing: float, window: float,
                  max_offset: int | None) -> np.ndarray:
    # remembered: every frame of every call asks for the same few stencils
    r = int(np.floor((length + window) / spacing + 1e-9))
    if max_offset is not None:
        r = min(r, max_offset)
    ax = np.arange(-r, r + 1)
    d = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)
    dist = spacing * np.sqrt((d * d).sum(-1).astype(np.float64))
    keep = np.abs(dist - length) <= window
    out = np.ascontiguousarray(d[keep]).astype(np.int64)
    out.flags.writeable = False
    return out


def stencil_runs(offsets: np.ndarray) -> np.ndarray:
    """The stencil as runs along ``z``: ``(R, 4)`` rows ``(dx, dy, dz, length)``.

    A limb shell crossed by a line of constant ``(dx, dy)`` is one or two runs of
    consecutive ``dz``, so a stencil of ``S`` offsets has far fewer runs (about a
    quarter on the coarse grid of chapter 6). The maximum over a run of length ``L``
    is one read of a table of sliding maxima of length ``L``, so the max-product
    costs one operation per run instead of one per offset. Rows are sorted by run
    length (then in stencil order), the order in which the tables are built.
    """
    d = np.asarray(offsets, np.int64).reshape(-1, 3)
    if len(d) == 0:
        return np.zeros((0, 4), np.int64)
    d = d[np.lexsort((d[:, 2], d[:, 1], d[:, 0]))]
    starts = np.ones(len(d), bool)
    starts[1:] = (d[1:, 0] != d[:-1, 0]) | (d[1:, 1] != d[:-1, 1]) | (d[1:, 2] != d[:-1, 2] + 1)
    first = np.flatnonzero(starts)
    length = np.diff(np.append(first, len(d)))
    runs = np.concatenate([d[first], length[:, None]], 1)
    return np.ascontiguousarray(runs[np.argsort(length, kind="stable")])


_RUNS: dict = {}      # runs of the stencils seen so far, by the stencil's bytes


def run_table(offsets: np.ndarray, counts: np.ndarray):
    """Runs of every frame's and limb's stencil (see :func:`stencil_runs`), padded:
    ``runs (B, J, R, 4)``, ``n_runs (B, J)``, from :func:`stencil_table`'s output."""
    B, J = counts.shape
    table = [[None] * J for _ in range(B)]
    for b in range(B):
        for j in range(J):
            s = offsets[b, j, :counts[b, j]]
            key = s.tobytes()
            if key not in _RUNS:
                if len(_RUNS) >= 4096:           # bounded: limb lengths may vary per frame
                    _RUNS.clear()
                _RUNS[key] = stencil_runs(s)
            table[b][j] = _RUNS[key]
    R = max(1, max(len(r) for row in table for r in row))
    runs = np.zeros((B, J, R, 4), np.int64)
    n_runs = np.zeros((B, J), np.int64)
    for b in range(B):
        for j in range(J):
            runs[b, j, :len(table[b][j])] = table[b][j]
            n_runs[b, j] = len(table[b][j])
    return runs, n_runs


def stencil_table(lengths: np.ndarray, spacing: float, windows: np.ndarray,
                  max_offset: int | None = None):
    """Stencils of every frame and limb, padded: ``offsets (B, J, S, 3)``, ``counts (B, J)``.

    ``lengths`` ``(B, J)`` mm, ``windows`` ``(J,)`` mm, ``max_offset`` as in
    :func:`limb_stencil`. Entry 0 (the root) is empty. Frames with equal lengths share
    one computation.
    """
    B, J = lengths.shape
    cache: dict = {}
    rows = []
    for b in range(B):
        row = [np.zeros((0, 3), np.int64)]
        for j in range(1, J):
            key = (float(lengths[b, j]), float(windows[j]))
            if key not in cache:
                cache[key] = limb_stencil(key[0], spacing, key[1], max_offset)
            row.append(cache[key])
        rows.append(row)
    S = max(1, max(len(s) for row in rows for s in row))
    offsets = np.zeros((B, J, S, 3), np.int64)
    counts = np.zeros((B, J), np.int64)
    for b, row in enumerate(rows):
        for j, s in enumerate(row):
            offsets[b, j, :len(s)] = s
            counts[b, j] = len(s)
    return offsets, counts


def sum_views(S, logfloor: float):
    """Unary terms from samples ``(B, V, ...)`` of ``E`` (NumPy or torch): their sum over
    views, in view order (so that every backend adds in the same order), plus ``V log(floor)``."""
    out = S[:, 0]
    for v in range(1, S.shape[1]):
        out = out + S[:, v]
    return out + S.shape[1] * logfloor


def penalty(n_joints: int, n_views: int, logfloor: float) -> float:
    """Cost of one violated limb: more than any difference of unary sums can be.

    Each unary lies in ``[V log(floor), 0]`` (up to a little interpolation overshoot,
    hence the factor 2), so with this penalty a pose that keeps every limb in its
    window always beats one that breaks a limb, and among poses that must break
    limbs, fewer broken limbs win. The pairwise term is then exactly the binary one
    of the paper wherever that has a solution, and still defined where it has none.
    """
    return 1.0 + 2.0 * n_joints * n_views * abs(logfloor)


#: Refinement stages charge this much (log-domain units per mm) for a limb outside its
#: window. Large against the unary's curvature, so windows act as constraints, but
#: graded, so that a limb 1 mm outside beats one 50 mm outside.
EXCESS_COST = 1.0


#: Candidate points per axis of a refinement stage that the backends implement.
REFINE_BINS = (2, 3)


def corner_signs(bins: int = 2) -> np.ndarray:
    """``(bins^3, 3)`` offsets of a refinement grid's candidates in units of ``size / 2``.

    ``bins = 2``: the signs of the ``2 x 2 x 2`` grid's corners (the paper's); ``bins = 3``
    adds 0 on each axis, the current estimate, so that a stage may also keep an axis
    where it is (27 candidates). Rows are in candidate order (lexicographic, z fastest),
    so "first maximum" breaks ties the same way in every backend.
    """
    if bins not in _SIGNS:
        raise ValueError(f"refine_bins must be one of {REFINE_BINS}, got {bins!r}")
    return _SIGNS[bins].copy()      # made once: building them costs more than a Numba stage


def _grid_signs(bins: int) -> np.ndarray:
    ax = np.linspace(-1.0, 1.0, bins)
    return np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)


_SIGNS = {m: _grid_signs(m) for m in REFINE_BINS}


def depth_levels(parents) -> list[list[int]]:
    """Joints grouped by depth in the tree: ``[[root], [its children], ...]``."""
    depth = [0] * len(parents)
    for j in range(1, len(parents)):
        depth[j] = depth[parents[j]] + 1
    return [[j for j in range(len(parents)) if depth[j] == d] for d in range(max(depth) + 1)]
