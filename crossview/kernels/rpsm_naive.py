"""RPSM's refinement in plain Python loops (:class:`~crossview.kernels.interface.RPSMKernel`):
the readable reference.

The heatmap state, the projection and the sampling are those of
:mod:`crossview.kernels.psm_naive`. See :mod:`crossview.kernels.psm_common` for the
conventions.
"""

from __future__ import annotations

import math

import numpy as np

from .psm_common import corner_signs
from .psm_naive import prepare, unary_point

__all__ = ["prepare", "refine"]


def refine(state, cams, poses, lengths, windows, sizes, parents, excess_cost, bins=2):
    """RPSM stages: ``bins^3`` candidates per joint (8 corners for ``bins = 2``), max-product
    with limb terms from the candidates' distances."""
    B, J = poses.shape[:2]
    signs = corner_signs(bins)
    K = len(signs)
    out = np.empty((B, len(sizes), J, 3))
    for b in range(B):
        L = [list(poses[b, j]) for j in range(J)]
        for t, size in enumerate(sizes):
            C = [[[L[j][k] + signs[q][k] * (size / 2) for k in range(3)] for q in range(K)]
                 for j in range(J)]
            belief = [[unary_point(state, cams, b, j, C[j][q]) for q in range(K)]
                      for j in range(J)]
            best_child = [None] * J
            for j in range(J - 1, 0, -1):
                p = parents[j]
                best_child[j] = []
                for qp in range(K):
                    best, arg = -math.inf, -1
                    for qc in range(K):
                        d = math.dist(C[p][qp], C[j][qc])
                        excess = max(abs(d - lengths[b, j]) - windows[t][j], 0.0)
                        score = belief[j][qc] - excess_cost * excess
                        if score > best:
                            best, arg = score, qc
                    belief[p][qp] += best
                    best_child[j].append(arg)
            q = [0] * J
            q[0] = max(range(K), key=lambda k: (belief[0][k], -k))
            for j in range(1, J):
                q[j] = best_child[j][q[parents[j]]]
            L = [C[j][q[j]] for j in range(J)]
            out[b, t] = L
    return out
