"""Analytic epipolar fusion compiled with Numba, parallel over curves and over target views.

Heatmaps are read joint-last, ``(B, V, H * W, J)``: every sample's four bilinear
weights are computed once and applied to all joints in a contiguous inner loop.
:func:`trace_curves` is the sample loop of :meth:`crossview.epipolar.EpipolarSampler.build`,
shared by all backends.
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


@numba.njit(parallel=True, cache=True)
def trace_curves(p0, d, tau0, tau1, good, bv, dv, bd, dd, K, dist, A, H, W, index, frac):
    """Samples of the epipolar curves of one view pair, written into ``index`` and ``frac``.

    Curve ``k`` of frame ``g`` is the line ``p0 + tau d`` ``(G, K, 2)`` of ideal pixels of
    camera ``v`` (intrinsics ``K``, OpenCV ``dist``), sampled at ``S`` evenly spaced
    ``tau`` in ``[tau0, tau1]`` (``(G, K)``; curves with ``good`` false get no samples).
    A sample is kept when it can be a point in front of both cameras: with the unit
    baseline ``b`` from ``u`` to ``v``, a ray ``d_k`` of camera ``u`` in the curve's
    half-plane and the sample's ray ``r``, ``alpha d_k - beta r = b`` needs
    ``alpha, beta >= 0``. By ``(a x c).(e x c) = (a.e)(c.c) - (a.c)(e.c)`` that takes
    the dot products ``bv = R_v b`` ``(3,)``, ``dv = R_v d_k`` ``(G, K, 3)``,
    ``bd = b.d_k`` and ``dd = d_k.d_k`` ``(G, K)``, with ``r = (x_n, y_n, 1)`` in camera
    ``v``'s frame. Kept samples are distorted by the lens, mapped by the affine
    ``A[g]`` ``(2, 3)`` and must fall inside the ``H x W`` heatmap. ``index``
    ``(G, K, S)`` gets the flat index of their bilinear read's top-left pixel (-1 when
    dropped), ``frac`` ``(G, K, S, 2)`` the bilinear weights.
    """
    G, Kc, S = index.shape
    k1, k2, p1, p2, k3 = dist[0], dist[1], dist[2], dist[3], dist[4]
    for r in prange(G * Kc):
        g = r // Kc
        k = r % Kc
        for s in range(S):
            index[g, k, s] = -1
            frac[g, k, s, 0] = 0.0
            frac[g, k, s, 1] = 0.0
            if not good[g, k]:
                continue
            t = tau0[g, k] + (tau1[g, k] - tau0[g, k]) * s / (S - 1)
            px = p0[g, k, 0] + t * d[g, k, 0]
            py = p0[g, k, 1] + t * d[g, k, 1]
            yn = (py - K[1, 2]) / K[1, 1]
            xn = (px - K[0, 2] - K[0, 1] * yn) / K[0, 0]
            if dd[g, k] > 1e-24:
                rr = 1.0 + xn * xn + yn * yn
                br = xn * bv[0] + yn * bv[1] + bv[2]
                dr = xn * dv[g, k, 0] + yn * dv[g, k, 1] + dv[g, k, 2]
                tol = 1e-9 * np.sqrt(dd[g, k] * rr)   # the epipole itself (alpha = 0) stays
                if bd[g, k] * rr - br * dr <= -tol or bd[g, k] * dr - br * dd[g, k] <= -tol:
                    continue
            r2 = xn * xn + yn * yn
            radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
            xd = xn * radial + 2.0 * p1 * xn * yn + p2 * (r2 + 2.0 * xn * xn)
            yd = yn * radial + p1 * (r2 + 2.0 * yn * yn) + 2.0 * p2 * xn * yn
            iu = K[0, 0] * xd + K[0, 1] * yd + K[0, 2]
            iv = K[1, 1] * yd + K[1, 2]
            x = A[g, 0, 0] * iu + A[g, 0, 1] * iv + A[g, 0, 2]
            y = A[g, 1, 0] * iu + A[g, 1, 1] * iv + A[g, 1, 2]
            if not (x >= -0.5 and x <= W - 0.5 and y >= -0.5 and y <= H - 0.5):
                continue
            x = min(max(x, 0.0), W - 1.0)
            y = min(max(y, 0.0), H - 1.0)
            x0 = min(np.floor(x), W - 2.0)
            y0 = min(np.floor(y), H - 2.0)
            index[g, k, s] = int(y0) * W + int(x0)
            frac[g, k, s, 0] = x - x0
            frac[g, k, s, 1] = y - y0
