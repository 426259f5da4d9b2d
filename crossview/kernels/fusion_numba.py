"""Analytic epipolar fusion compiled with Numba, parallel over curves and over target views.

Heatmaps are read joint-last, ``(B, V, H * W, J)``: every sample's four bilinear
weights are computed once and applied to all joints in a contiguous inner loop.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange


@numba.njit(parallel=True, cache=True)
def _curve_values(hm, index, frac, src_view, W, use_max, out):
    # hm (B, V, HW, J); index (G, P, K, S); frac (G, P, K, S, 2); out (B, P, K, J)
    B, P, K, J = out.shape
    G, S = index.shape[0], index.shape[3]
    for r in prange(B * P * K):
        b = r // (P * K)
        p = (r // K) % P
        k = r % K
        g = 0 if G == 1 else b
        v = src_view[p]
        acc = np.zeros(J, dtype=hm.dtype)
        if use_max:
            acc[:] = -np.inf
        count = 0
        for s in range(S):
            i = index[g, p, k, s]
            if i < 0:
                continue
            fx = frac[g, p, k, s, 0]
            fy = frac[g, p, k, s, 1]
            w00 = (1 - fx) * (1 - fy)
            w01 = fx * (1 - fy)
            w10 = (1 - fx) * fy
            w11 = fx * fy
            for j in range(J):
                val = (w00 * hm[b, v, i, j] + w01 * hm[b, v, i + 1, j]
                       + w10 * hm[b, v, i + W, j] + w11 * hm[b, v, i + W + 1, j])
                if use_max:
                    if val > acc[j]:
                        acc[j] = val
                else:
                    acc[j] += val
            count += 1
        for j in range(J):
            if count == 0:
                out[b, p, k, j] = 0
            elif use_max:
                out[b, p, k, j] = acc[j]
            else:
                out[b, p, k, j] = acc[j] / count


@numba.njit(parallel=True, cache=True)
def _spread(hm, curve, bins, weights, self_weight, out):
    # hm, out (B, V, J, HW); curve (B, P, K, J); bins, weights (G, P, HW)
    B, V, J, HW = hm.shape
    G = bins.shape[0]
    scale = (1.0 - self_weight) / (V - 1)
    for r in prange(B * V):
        b = r // V
        u = r % V
        g = 0 if G == 1 else b
        acc = np.empty(J, dtype=hm.dtype)
        for q in range(HW):
            acc[:] = 0
            for p in range(u * (V - 1), (u + 1) * (V - 1)):   # pairs are ordered by target
                k = bins[g, p, q]
                w = weights[g, p, q]
                for j in range(J):
                    acc[j] += (1 - w) * curve[b, p, k, j] + w * curve[b, p, k + 1, j]
            for j in range(J):
                out[b, u, j, q] = self_weight * hm[b, u, j, q] + scale * acc[j]


def fuse(heatmaps: np.ndarray, sampler, self_weight: float, reduce: str) -> np.ndarray:
    B, V, J, H, W = heatmaps.shape
    dtype = heatmaps.dtype
    flat = np.ascontiguousarray(heatmaps.reshape(B, V, J, H * W))
    joint_last = np.ascontiguousarray(flat.transpose(0, 1, 3, 2))
    frac = sampler.frac.astype(dtype, copy=False)
    curve = np.empty((B, len(sampler.pairs), sampler.n_lines, J), dtype=dtype)
    _curve_values(joint_last, sampler.index, frac, sampler.pairs[:, 1].copy(), W,
                  reduce == "max", curve)
    out = np.empty_like(flat)
    _spread(flat, curve, sampler.bins, sampler.weights.astype(dtype, copy=False),
            dtype.type(self_weight), out)
    return out.reshape(B, V, J, H, W)
