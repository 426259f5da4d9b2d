"""RPSM's refinement compiled with Numba (:class:`~crossview.kernels.interface.RPSMKernel`):
one frame per thread.

The heatmap state, the projection and the sampling are those of
:mod:`crossview.kernels.psm_numba`; sums run in the order of
:mod:`crossview.kernels.rpsm_numpy`. See :mod:`crossview.kernels.psm_common` for the
conventions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .psm_common import corner_signs
from .psm_numba import prepare, project_point, sample_one

__all__ = ["prepare", "refine"]


@njit(cache=True)
def _refine_frame(E, logfloor, R, t, dist, aff, poses, lengths, windows, sizes, parents,
                  excess_cost, signs, b, out):
    """Refinement stages of frame ``b`` over the candidates ``signs`` ``(K, 3)`` (in units of
    half the stage's size; :func:`~crossview.kernels.psm_common.corner_signs`)."""
    V, J = E.shape[1], E.shape[4]
    T = sizes.shape[0]
    K = signs.shape[0]
    L = poses[b].copy()
    C = np.empty((J, K, 3))
    belief = np.empty((J, K))
    arg = np.zeros((J, K), np.int64)
    q = np.empty(J, np.int64)
    for ti in range(T):
        h = sizes[ti] / 2
        for j in range(J):
            for c in range(K):
                C[j, c, 0] = L[j, 0] + signs[c, 0] * h
                C[j, c, 1] = L[j, 1] + signs[c, 1] * h
                C[j, c, 2] = L[j, 2] + signs[c, 2] * h
                total = 0.0
                for v in range(V):
                    hx, hy = project_point(R, t, dist, aff, b, v, C[j, c, 0], C[j, c, 1],
                                           C[j, c, 2])
                    total += sample_one(E, b, v, j, hx, hy)
                belief[j, c] = total + V * logfloor
        for j in range(J - 1, 0, -1):
            p = parents[j]
            for cp in range(K):
                best, a = -np.inf, -1
                for cc in range(K):
                    dx = C[p, cp, 0] - C[j, cc, 0]
                    dy = C[p, cp, 1] - C[j, cc, 1]
                    dz = C[p, cp, 2] - C[j, cc, 2]
                    d = math.sqrt(dx * dx + dy * dy + dz * dz)
                    excess = max(abs(d - lengths[b, j]) - windows[ti, j], 0.0)
                    score = belief[j, cc] - excess_cost * excess
                    if score > best:
                        best, a = score, cc
                belief[p, cp] += best
                arg[j, cp] = a
        q[0] = np.argmax(belief[0])
        for j in range(1, J):
            q[j] = arg[j, q[parents[j]]]
        for j in range(J):
            for k in range(3):
                L[j, k] = C[j, q[j], k]
                out[b, ti, j, k] = L[j, k]


@njit(parallel=True, cache=True)
def _refine_batch(E, logfloor, R, t, dist, aff, poses, lengths, windows, sizes, parents,
                  excess_cost, signs, out):
    for b in prange(E.shape[0]):
        _refine_frame(E, logfloor, R, t, dist, aff, poses, lengths, windows, sizes, parents,
                      excess_cost, signs, b, out)


def refine(state, cams, poses, lengths, windows, sizes, parents, excess_cost, bins=2):
    """RPSM stages -> estimates ``(B, T, J, 3)``; see :func:`crossview.kernels.rpsm_numpy.refine`.

    The candidates are a runtime array, so one compiled function serves 8 and 27 of them.
    """
    E, logfloor = state[:2]
    R, t, dist, aff = cams
    B, J = poses.shape[:2]
    sizes = np.ascontiguousarray(sizes, dtype=np.float64)
    out = np.empty((B, len(sizes), J, 3))
    args = (E, logfloor, R, t, dist, aff, np.ascontiguousarray(poses), lengths,
            np.ascontiguousarray(windows), sizes, np.asarray(parents, np.int64),
            float(excess_cost), corner_signs(bins))
    if B == 1:
        _refine_frame(*args, 0, out)
    else:
        _refine_batch(*args, out)
    return out
