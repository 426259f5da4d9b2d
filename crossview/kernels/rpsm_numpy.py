"""RPSM's refinement with NumPy (:class:`~crossview.kernels.interface.RPSMKernel`): all
frames at once, one stage after the other.

The heatmap state, the projection and the sampling are those of
:mod:`crossview.kernels.psm_numpy`. See :mod:`crossview.kernels.psm_common` for the
conventions.
"""

from __future__ import annotations

import numpy as np

from .psm_common import corner_signs, sum_views
from .psm_numpy import prepare, project, sample

__all__ = ["max_product_corners", "prepare", "refine"]


def max_product_corners(U, C, lengths, windows, parents, excess_cost):
    """Max-product over each joint's ``K`` candidates (8 corners), all frames at once.

    ``U`` ``(B, J, K)`` unaries, ``C`` ``(B, J, K, 3)`` candidate positions -> ``(B, J)``
    chosen candidates. The pairwise term, computed on the fly from the candidates'
    distances, costs ``excess_cost`` per mm that a limb lies outside its window.
    """
    B, J, K = U.shape
    belief = U.copy()
    arg = np.zeros((B, J, K), np.int64)
    for j in range(J - 1, 0, -1):
        p = parents[j]
        diff = C[:, p, :, None, :] - C[:, j, None, :, :]
        D = np.sqrt((diff * diff).sum(-1))                       # (B, K parent, K child)
        excess = np.maximum(np.abs(D - lengths[:, j, None, None]) - windows[j], 0.0)
        score = belief[:, j, None, :] - excess_cost * excess
        arg[:, j] = score.argmax(-1)
        belief[:, p] += score.max(-1)
    q = np.empty((B, J), np.int64)
    q[:, 0] = belief[:, 0].argmax(-1)
    rows = np.arange(B)
    for j in range(1, J):
        q[:, j] = arg[rows, j, q[:, parents[j]]]
    return q


def refine(state, cams, poses, lengths, windows, sizes, parents, excess_cost, bins=2):
    """RPSM stages: ``bins x bins x bins`` candidates around every joint, grid size ``sizes[t]``.

    ``poses`` ``(B, J, 3)`` start, ``windows`` ``(T, J)`` mm, ``excess_cost`` per mm
    outside a window -> estimates ``(B, T, J, 3)``. ``bins = 2`` is the paper's grid of
    8 corners at ``+-size/2``; ``bins = 3`` adds the estimate on each axis (27 candidates).
    """
    Lp, logfloor = state
    B, J = poses.shape[:2]
    V = Lp.shape[1]
    signs = corner_signs(bins)
    K = len(signs)
    L = poses.copy()
    out = np.empty((B, len(sizes), J, 3))
    rows = np.arange(B)[:, None]
    cols = np.arange(J)[None, :]
    for t, size in enumerate(sizes):
        C = L[:, :, None, :] + signs[None, None] * (size / 2)      # (B, J, K, 3)
        hx, hy = project(cams, C.reshape(B, J * K, 3))
        U = sum_views(sample(Lp, hx.reshape(B, V, J, K), hy.reshape(B, V, J, K)), logfloor)
        q = max_product_corners(U, C, lengths, windows[t], parents, excess_cost)
        L = C[rows, cols, q]
        out[:, t] = L
    return out
