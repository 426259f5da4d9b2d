"""Analytic epipolar fusion compiled with Numba, parallel over curves and over target views.

A single frame runs on one thread, a batch on all of Numba's threads: parallel loops
end at a barrier that waits for every thread, which costs a scheduling slice whenever
another program holds a core (see :mod:`crossview.kernels.psm_numba`).

Heatmaps are read joint-last, ``(B, V, H * W, J)``: every sample's bilinear weights
are computed once and applied to all joints in a contiguous inner loop, which
compiles to vector instructions. Arithmetic stays in the heatmaps' dtype (float32
heatmaps are not widened: twice the values per vector instruction) and follows the
NumPy backend's formulas in their order, so the two agree to the last bit.
:func:`trace_curves` is the sample loop of :meth:`crossview.epipolar.EpipolarSampler.build`,
shared by all backends.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange


@numba.njit(cache=True)
def _curve(hm, index, frac, src_view, W, use_max, one, out, r):
    """Curve ``r`` (flat over ``B, P, K``): reduce (max or mean) its bilinear reads.

    ``hm`` ``(B, V, HW, J)``; ``index`` ``(G, P, K, S)``; ``frac`` ``(G, P, K, S, 2)``;
    ``out`` ``(B, P, K, J)``; ``one`` is 1 in the heatmaps' dtype (keeps the arithmetic
    in that dtype).
    """
    P, K, J = out.shape[1], out.shape[2], out.shape[3]
    G, S = index.shape[0], index.shape[3]
    zero = one - one
    b = r // (P * K)
    p = (r // K) % P
    k = r % K
    g = 0 if G == 1 else b
    v = src_view[p]
    acc = np.empty(J, dtype=hm.dtype)
    for j in range(J):
        acc[j] = -np.inf if use_max else zero
    count = 0
    for s in range(S):
        i = index[g, p, k, s]
        if i < 0:
            continue
        fx = frac[g, p, k, s, 0]
        fy = frac[g, p, k, s, 1]
        gx = one - fx
        gy = one - fy
        if use_max:
            for j in range(J):
                top = gx * hm[b, v, i, j] + fx * hm[b, v, i + 1, j]
                bottom = gx * hm[b, v, i + W, j] + fx * hm[b, v, i + W + 1, j]
                acc[j] = max(acc[j], gy * top + fy * bottom)
        else:
            for j in range(J):
                top = gx * hm[b, v, i, j] + fx * hm[b, v, i + 1, j]
                bottom = gx * hm[b, v, i + W, j] + fx * hm[b, v, i + W + 1, j]
                acc[j] += gy * top + fy * bottom
        count += 1
    for j in range(J):
        if count == 0:
            out[b, p, k, j] = zero
        elif use_max:
            out[b, p, k, j] = acc[j]
        else:
            out[b, p, k, j] = acc[j] / count


@numba.njit(parallel=True, cache=True)
def _curves_parallel(hm, index, frac, src_view, W, use_max, one, out):
    for r in prange(out.shape[0] * out.shape[1] * out.shape[2]):
        _curve(hm, index, frac, src_view, W, use_max, one, out, r)


@numba.njit(cache=True)
def _curves_serial(hm, index, frac, src_view, W, use_max, one, out):
    for r in range(out.shape[0] * out.shape[1] * out.shape[2]):
        _curve(hm, index, frac, src_view, W, use_max, one, out, r)


#: Pixels per tile of :func:`_spread`: the tile is summed joint-last and written back
#: joint-major as runs of this many contiguous values.
TILE = 16


@numba.njit(cache=True)
def _joint_last_view(hm, out, r):
    """View ``r`` (flat over ``B, V``) of ``hm`` ``(B, V, J, HW)`` into ``out`` ``(B, V, HW, J)``,
    in tiles of pixels."""
    V, J, HW = hm.shape[1], hm.shape[2], hm.shape[3]
    b = r // V
    v = r % V
    for q0 in range(0, HW, TILE):
        q1 = min(q0 + TILE, HW)
        for j in range(J):
            for q in range(q0, q1):
                out[b, v, q, j] = hm[b, v, j, q]


@numba.njit(cache=True)
def _spread_view(hm, curve, bins, weights, self_weight, scale, one, out, r):
    """Target view ``r`` (flat over ``B, V``): blend every pixel's own value with its two
    bracketing curves of each source view.

    ``hm``, ``out`` ``(B, V, J, HW)``; ``curve`` ``(B, P, K, J)``; ``bins``, ``weights``
    ``(G, P, HW)``; ``self_weight``, ``scale`` and ``one`` (1) in the heatmaps' dtype.
    """
    V, J, HW = hm.shape[1], hm.shape[2], hm.shape[3]
    G = bins.shape[0]
    b = r // V
    u = r % V
    g = 0 if G == 1 else b
    acc = np.empty((TILE, J), dtype=hm.dtype)
    for q0 in range(0, HW, TILE):
        q1 = min(q0 + TILE, HW)
        for q in range(q0, q1):
            a = acc[q - q0]
            for j in range(J):
                a[j] = one - one
            for p in range(u * (V - 1), (u + 1) * (V - 1)):   # pairs are ordered by target
                k = bins[g, p, q]
                w = weights[g, p, q]
                lo = curve[b, p, k]
                hi = curve[b, p, k + 1]
                for j in range(J):
                    a[j] += (one - w) * lo[j] + w * hi[j]
        for j in range(J):
            for q in range(q0, q1):
                out[b, u, j, q] = self_weight * hm[b, u, j, q] + scale * acc[q - q0, j]


@numba.njit(parallel=True, cache=True)
def _joint_last_parallel(hm, out):
    for r in prange(hm.shape[0] * hm.shape[1]):
        _joint_last_view(hm, out, r)


@numba.njit(cache=True)
def _joint_last_serial(hm, out):
    for r in range(hm.shape[0] * hm.shape[1]):
        _joint_last_view(hm, out, r)


@numba.njit(parallel=True, cache=True)
def _spread_parallel(hm, curve, bins, weights, self_weight, scale, one, out):
    for r in prange(hm.shape[0] * hm.shape[1]):
        _spread_view(hm, curve, bins, weights, self_weight, scale, one, out, r)


@numba.njit(cache=True)
def _spread_serial(hm, curve, bins, weights, self_weight, scale, one, out):
    for r in range(hm.shape[0] * hm.shape[1]):
        _spread_view(hm, curve, bins, weights, self_weight, scale, one, out, r)


def fuse(heatmaps: np.ndarray, sampler, self_weight: float, reduce: str) -> np.ndarray:
    """Fused heatmaps ``(B, V, J, H, W)``. A single frame runs on one thread; a batch on all
    of Numba's (see :mod:`crossview.kernels.psm_numba` for why)."""
    B, V, J, H, W = heatmaps.shape
    dtype = heatmaps.dtype
    one = dtype.type(1)
    flat = np.ascontiguousarray(heatmaps.reshape(B, V, J, H * W))
    joint_last = np.empty((B, V, H * W, J), dtype=dtype)
    frac = sampler.frac.astype(dtype, copy=False)
    curve = np.empty((B, len(sampler.pairs), sampler.n_lines, J), dtype=dtype)
    weights = sampler.weights.astype(dtype, copy=False)
    sw, scale = dtype.type(self_weight), dtype.type((1.0 - self_weight) / (V - 1))
    one_frame = B == 1
    (_joint_last_serial if one_frame else _joint_last_parallel)(flat, joint_last)
    (_curves_serial if one_frame else _curves_parallel)(
        joint_last, sampler.index, frac, sampler.pairs[:, 1].copy(), W, reduce == "max", one,
        curve)
    out = np.empty_like(flat)
    (_spread_serial if one_frame else _spread_parallel)(
        flat, curve, sampler.bins, weights, sw, scale, one, out)
    return out.reshape(B, V, J, H, W)


@numba.njit(parallel=True, cache=True, error_model="numpy")
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
    for r in prange(index.shape[0] * index.shape[1]):
        _trace_curve(p0, d, tau0, tau1, good, bv, dv, bd, dd, K, dist, A, H, W, index, frac, r)


@numba.njit(cache=True, error_model="numpy")
def trace_curves_serial(p0, d, tau0, tau1, good, bv, dv, bd, dd, K, dist, A, H, W, index, frac):
    """:func:`trace_curves` on one thread (for a single frame)."""
    for r in range(index.shape[0] * index.shape[1]):
        _trace_curve(p0, d, tau0, tau1, good, bv, dv, bd, dd, K, dist, A, H, W, index, frac, r)


@numba.njit(cache=True, error_model="numpy")
def _trace_curve(p0, d, tau0, tau1, good, bv, dv, bd, dd, K, dist, A, H, W, index, frac, r):
    """Curve ``r`` (flat over frames and curves) of :func:`trace_curves`."""
    Kc, S = index.shape[1], index.shape[2]
    k1, k2, p1, p2, k3 = dist[0], dist[1], dist[2], dist[3], dist[4]
    fx, skew, cx, fy, cy = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
    bv0, bv1, bv2 = bv[0], bv[1], bv[2]
    g = r // Kc
    k = r % Kc
    # the curve's constants as local scalars: the compiler cannot tell that the output
    # arrays do not overlap them, and would read them again after every store
    ok, lo, span = good[g, k], tau0[g, k], tau1[g, k] - tau0[g, k]
    ox, oy, ddx, ddy = p0[g, k, 0], p0[g, k, 1], d[g, k, 0], d[g, k, 1]
    dv0, dv1, dv2, bdk, ddk = dv[g, k, 0], dv[g, k, 1], dv[g, k, 2], bd[g, k], dd[g, k]
    a00, a01, a02 = A[g, 0, 0], A[g, 0, 1], A[g, 0, 2]
    a10, a11, a12 = A[g, 1, 0], A[g, 1, 1], A[g, 1, 2]
    idx = index[g, k]
    fr = frac[g, k]
    # branch-free body (the tests become a mask), so that the loop runs on vectors
    check = ok and ddk > 1e-24
    for s in range(S):
        t = lo + span * s / (S - 1)
        px = ox + t * ddx
        py = oy + t * ddy
        yn = (py - cy) / fy
        xn = (px - cx - skew * yn) / fx
        rr = 1.0 + xn * xn + yn * yn
        br = xn * bv0 + yn * bv1 + bv2
        dr = xn * dv0 + yn * dv1 + dv2
        tol = 1e-9 * np.sqrt(ddk * rr)       # the epipole itself (alpha = 0) stays
        front = (bdk * rr - br * dr > -tol) & (bdk * dr - br * ddk > -tol) | (not check)
        r2 = xn * xn + yn * yn
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = xn * radial + 2.0 * p1 * xn * yn + p2 * (r2 + 2.0 * xn * xn)
        yd = yn * radial + p1 * (r2 + 2.0 * yn * yn) + 2.0 * p2 * xn * yn
        iu = fx * xd + skew * yd + cx
        iv = fy * yd + cy
        x = a00 * iu + a01 * iv + a02
        y = a10 * iu + a11 * iv + a12
        keep = ok & front & (x >= -0.5) & (x <= W - 0.5) & (y >= -0.5) & (y <= H - 0.5)
        x = min(max(x, 0.0), W - 1.0)
        y = min(max(y, 0.0), H - 1.0)
        x0 = min(np.floor(x), W - 2.0)
        y0 = min(np.floor(y), H - 2.0)
        idx[s] = int(y0) * W + int(x0) if keep else -1
        fr[s, 0] = x - x0 if keep else 0.0
        fr[s, 1] = y - y0 if keep else 0.0
