"""PSM and RPSM compiled with Numba, parallel over frames and bins.

The coarse grid's hot loops:

* unary: each bin is projected once per view; the 16 interpolation taps and
  weights are then reused for all ``J`` joints;
* messages: the child's belief is copied into a grid padded with ``-inf``, so
  every stencil offset becomes one flat index offset with no bounds checks;
  a message is a running maximum over the limb's shell. Back-tracking scans
  the shell once per joint, so no arg-max table is stored.

The refinement stages (8 corners per joint) are small; they run one frame per
thread. See :mod:`crossview.kernels.psm_common` for the conventions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .psm_common import stencil_table


@njit(parallel=True, cache=True)
def _log_floor(h, floor, out):
    for i in prange(h.size):
        out[i] = math.log(max(h[i], floor) / floor)


def prepare(heatmaps: np.ndarray, floor: float):
    """``(E, log(floor))``, ``E = log(max(h, floor) / floor)`` ``(B, V, J, H, W)`` (see
    :func:`crossview.kernels.psm_numpy.prepare`)."""
    h = np.ascontiguousarray(heatmaps, dtype=np.float64)
    out = np.empty_like(h)
    _log_floor(h.ravel(), float(floor), out.ravel())
    return out, math.log(floor)


@njit(cache=True, inline="always")
def _project(R, t, dist, aff, b, v, X0, X1, X2):
    """One point into view ``v`` of frame ``b``: heatmap ``(x, y)``; far outside if behind."""
    x = R[v, 0, 0] * X0 + R[v, 0, 1] * X1 + R[v, 0, 2] * X2 + t[v, 0]
    y = R[v, 1, 0] * X0 + R[v, 1, 1] * X1 + R[v, 1, 2] * X2 + t[v, 1]
    z = R[v, 2, 0] * X0 + R[v, 2, 1] * X1 + R[v, 2, 2] * X2 + t[v, 2]
    if not z > 1e-6:
        return -1e6, -1e6
    x /= z
    y /= z
    k1, k2, p1, p2, k3 = dist[v, 0], dist[v, 1], dist[v, 2], dist[v, 3], dist[v, 4]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    a = aff[b, v]
    return a[0, 0] * xd + a[0, 1] * yd + a[0, 2], a[1, 0] * xd + a[1, 1] * yd + a[1, 2]


@njit(cache=True, inline="always")
def _keys(t, w):
    t2 = t * t
    t3 = t2 * t
    w[0] = -0.5 * t3 + t2 - 0.5 * t
    w[1] = 1.5 * t3 - 2.5 * t2 + 1.0
    w[2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
    w[3] = 0.5 * t3 - 0.5 * t2


@njit(cache=True, inline="always")
def _taps(hx, hy, H, W, wx, wy):
    """Clamp a sample point, fill the Keys weights; returns the first tap ``(row, col)``."""
    if hx != hx or hy != hy:
        hx, hy = -1e6, -1e6
    x = min(max(hx, -3.0), W + 1.5)
    y = min(max(hy, -3.0), H + 1.5)
    x0 = math.floor(x)
    y0 = math.floor(y)
    _keys(x - x0, wx)
    _keys(y - y0, wy)
    return int(y0) - 1, int(x0) - 1


@njit(cache=True, inline="always")
def _interp(E, b, v, j, i0, j0, wx, wy):
    H, W = E.shape[3], E.shape[4]
    total = 0.0
    for a in range(4):
        i = i0 + a
        row = 0.0
        for c in range(4):
            jj = j0 + c
            if 0 <= i < H and 0 <= jj < W:
                row += wx[c] * E[b, v, j, i, jj]
            else:
                row += wx[c] * 0.0
        total += wy[a] * row
    return total


@njit(parallel=True, cache=True)
def _grid_unary(logh, logfloor, R, t, dist, aff, centers, n, cube, out):
    B, V, J, H, W = logh.shape
    nb = n * n * n
    s = cube / (n - 1)
    for idx in prange(B * nb):
        b = idx // nb
        k = idx - b * nb
        ix, iy, iz = k // (n * n), (k // n) % n, k % n
        X0 = centers[b, 0] + (ix * s - cube / 2)
        X1 = centers[b, 1] + (iy * s - cube / 2)
        X2 = centers[b, 2] + (iz * s - cube / 2)
        wx = np.empty(4)
        wy = np.empty(4)
        for j in range(J):
            out[b, j, k] = 0.0
        for v in range(V):
            hx, hy = _project(R, t, dist, aff, b, v, X0, X1, X2)
            i0, j0 = _taps(hx, hy, H, W, wx, wy)
            for j in range(J):
                out[b, j, k] += _interp(logh, b, v, j, i0, j0, wx, wy)
        for j in range(J):
            out[b, j, k] += V * logfloor


@njit(parallel=True, cache=True)
def _max_product_grid(U, offs3, offs, counts, parents, n, R, penalty):
    B, J, nb = U.shape
    P = n + 2 * R
    belief = U.copy()
    pad = np.full((B, P * P * P), -np.inf)
    gmax = np.empty(B)
    for j in range(J - 1, 0, -1):
        p = parents[j]
        for b in prange(B):
            m = -np.inf
            for k in range(nb):
                ix, iy, iz = k // (n * n), (k // n) % n, k % n
                val = belief[b, j, k]
                pad[b, ((ix + R) * P + iy + R) * P + iz + R] = val
                if val > m:
                    m = val
            gmax[b] = m
        for idx in prange(B * nb):
            b = idx // nb
            k = idx - b * nb
            ix, iy, iz = k // (n * n), (k // n) % n, k % n
            base = ((ix + R) * P + iy + R) * P + iz + R
            m = gmax[b] - penalty
            row = pad[b]
            for q in range(counts[b, j]):
                val = row[base + offs[b, j, q]]
                if val > m:
                    m = val
            belief[b, p, k] += m
    bins = np.empty((B, J), np.int64)
    for b in prange(B):
        bins[b, 0] = np.argmax(belief[b, 0])
        for j in range(1, J):
            kp = bins[b, parents[j]]
            ix, iy, iz = kp // (n * n), (kp // n) % n, kp % n
            gm = np.max(belief[b, j])
            best, arg = -np.inf, -1
            for q in range(counts[b, j]):
                jx, jy, jz = ix + offs3[b, j, q, 0], iy + offs3[b, j, q, 1], iz + offs3[b, j, q, 2]
                if 0 <= jx < n and 0 <= jy < n and 0 <= jz < n:
                    kc = (jx * n + jy) * n + jz
                    if belief[b, j, kc] > best:
                        best, arg = belief[b, j, kc], kc
            if arg >= 0 and best >= gm - penalty:
                bins[b, j] = arg
            else:
                bins[b, j] = np.argmax(belief[b, j])
    return bins


def max_product_grid(U, offsets, counts, parents, n, penalty):
    """Exact max-product on the grid: unaries ``(B, J, n^3)``, stencils ``(B, J, S, 3)`` with
    ``counts`` ``(B, J)`` -> chosen bins ``(B, J)``."""
    Rpad = int(np.abs(offsets).max()) if offsets.size else 0
    P = n + 2 * Rpad
    flat = (offsets[..., 0] * P + offsets[..., 1]) * P + offsets[..., 2]
    return _max_product_grid(np.ascontiguousarray(U, dtype=np.float64), offsets, flat, counts,
                             np.asarray(parents, np.int64), n, Rpad, float(penalty))


def coarse(state, cams, centers, lengths, windows, parents, n, cube, penalty):
    """PSM on an ``n^3`` grid around each frame's centre -> poses ``(B, J, 3)``."""
    logh, logfloor = state
    R, t, dist, aff = cams
    B, J = logh.shape[0], logh.shape[2]
    U = np.empty((B, J, n ** 3))
    _grid_unary(logh, logfloor, R, t, dist, aff, centers, n, float(cube), U)
    s = cube / (n - 1)
    offsets, counts = stencil_table(lengths, s, windows)
    bins = max_product_grid(U, offsets, counts, parents, n, penalty)
    ax = np.arange(n) * s - cube / 2
    idx = np.stack([bins // (n * n), (bins // n) % n, bins % n], -1)
    return centers[:, None, :] + ax[idx]


@njit(parallel=True, cache=True)
def _refine(logh, logfloor, R, t, dist, aff, poses, lengths, windows, sizes, parents,
            excess_cost, out):
    B, V, J, H, W = logh.shape
    T = sizes.shape[0]
    for b in prange(B):
        L = poses[b].copy()
        C = np.empty((J, 8, 3))
        belief = np.empty((J, 8))
        arg = np.zeros((J, 8), np.int64)
        q = np.empty(J, np.int64)
        wx = np.empty(4)
        wy = np.empty(4)
        for ti in range(T):
            h = sizes[ti] / 2
            for j in range(J):
                for c in range(8):
                    C[j, c, 0] = L[j, 0] + (2.0 * ((c >> 2) & 1) - 1.0) * h
                    C[j, c, 1] = L[j, 1] + (2.0 * ((c >> 1) & 1) - 1.0) * h
                    C[j, c, 2] = L[j, 2] + (2.0 * (c & 1) - 1.0) * h
                    total = 0.0
                    for v in range(V):
                        hx, hy = _project(R, t, dist, aff, b, v, C[j, c, 0], C[j, c, 1],
                                          C[j, c, 2])
                        i0, j0 = _taps(hx, hy, H, W, wx, wy)
                        total += _interp(logh, b, v, j, i0, j0, wx, wy)
                    belief[j, c] = total + V * logfloor
            for j in range(J - 1, 0, -1):
                p = parents[j]
                for cp in range(8):
                    best, a = -np.inf, -1
                    for cc in range(8):
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


def refine(state, cams, poses, lengths, windows, sizes, parents, excess_cost):
    """RPSM stages -> estimates ``(B, T, J, 3)``; see :func:`crossview.kernels.psm_numpy.refine`."""
    logh, logfloor = state
    R, t, dist, aff = cams
    B, J = poses.shape[:2]
    sizes = np.ascontiguousarray(sizes, dtype=np.float64)
    out = np.empty((B, len(sizes), J, 3))
    _refine(logh, logfloor, R, t, dist, aff, np.ascontiguousarray(poses), lengths,
            np.ascontiguousarray(windows), sizes, np.asarray(parents, np.int64),
            float(excess_cost), out)
    return out
