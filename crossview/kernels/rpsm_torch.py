"""RPSM's refinement with torch (:class:`~crossview.kernels.interface.RPSMKernel`): the
stages work on ``(B, J, K)`` tensors (``K = 8`` corners, or 27 with three points per axis),
on the CPU or a CUDA device.

The heatmap state, the projection and the sampling are those of
:mod:`crossview.kernels.psm_torch`. See :mod:`crossview.kernels.psm_common` for the
conventions.
"""

from __future__ import annotations

import numpy as np
import torch

from .psm_common import corner_signs, sum_views
from .psm_torch import prepare, project, sample

__all__ = ["max_product_corners", "prepare", "refine"]


def max_product_corners(U, C, lengths, windows, parents, excess_cost):
    """Max-product over each joint's ``K`` candidates: unaries ``(B, J, K)``, positions
    ``(B, J, K, 3)`` -> chosen candidates ``(B, J)``."""
    B, J, K = U.shape
    belief = U.clone()
    arg = torch.zeros((B, J, K), dtype=torch.int64, device=U.device)
    for j in range(J - 1, 0, -1):
        p = parents[j]
        diff = C[:, p, :, None, :] - C[:, j, None, :, :]
        D = (diff * diff).sum(-1).sqrt()
        excess = ((D - lengths[:, j, None, None]).abs() - windows[j]).clamp(min=0.0)
        score = belief[:, j, None, :] - excess_cost * excess
        best, arg[:, j] = score.max(-1)
        belief[:, p] += best
    q = torch.empty((B, J), dtype=torch.int64, device=U.device)
    q[:, 0] = belief[:, 0].argmax(-1)
    for j in range(1, J):
        q[:, j] = arg[:, j].gather(-1, q[:, parents[j], None])[:, 0]
    return q


def refine(state, cams, poses, lengths, windows, sizes, parents, excess_cost, bins=2):
    """RPSM stages -> estimates ``(B, T, J, 3)``; see
    :func:`crossview.kernels.rpsm_numpy.refine`."""
    E, logfloor = state
    B, J = poses.shape[:2]
    V = E.shape[1]
    signs = torch.as_tensor(corner_signs(bins), dtype=E.dtype, device=E.device)
    K = len(signs)
    L = poses.clone()
    out = torch.empty((B, len(sizes), J, 3), dtype=E.dtype, device=E.device)
    for t, size in enumerate(np.asarray(sizes).tolist()):
        C = L[:, :, None, :] + signs * (size / 2)
        hx, hy = project(cams, C.reshape(B, J * K, 3))
        U = sum_views(sample(E, hx.reshape(B, V, J, K), hy.reshape(B, V, J, K)), logfloor)
        q = max_product_corners(U, C, lengths, windows[t], parents, excess_cost)
        L = C.gather(2, q[:, :, None, None].expand(-1, -1, 1, 3))[:, :, 0]
        out[:, t] = L
    return out
