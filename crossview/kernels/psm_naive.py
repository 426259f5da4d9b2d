"""PSM in plain Python loops (:class:`~crossview.kernels.interface.PSMKernel`): the readable
reference (small grids only).

Nothing clever: every bin is projected and sampled one at a time, and the
max-product compares every parent bin with every child bin, computing the limb
term from their distance. The other backends must agree with this one.
See :mod:`crossview.kernels.psm_common` for the conventions; the projection and the
sampling here also serve :mod:`crossview.kernels.rpsm_naive`.
"""

from __future__ import annotations

import math

import numpy as np

from .psm_common import keys_weights


def prepare(heatmaps: np.ndarray, floor: float):
    """``(E, log(floor))`` with ``E = log(max(h, floor)) - log(floor) >= 0``, the evidence above
    the floor (0 in an empty region, and outside the heatmap)."""
    return np.log(np.maximum(heatmaps, floor) / floor), math.log(floor)


def project_point(R, t, dist, aff, X):
    """One world point -> heatmap ``(x, y)``, or ``None`` at or behind the camera."""
    Xc = [sum(R[i][k] * X[k] for k in range(3)) + t[i] for i in range(3)]
    if not Xc[2] > 1e-6:
        return None
    x, y = Xc[0] / Xc[2], Xc[1] / Xc[2]
    k1, k2, p1, p2, k3 = dist
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return (aff[0][0] * xd + aff[0][1] * yd + aff[0][2],
            aff[1][0] * xd + aff[1][1] * yd + aff[1][2])


def sample(E, hx, hy):
    """Keys-cubic interpolation of one log-excess heatmap ``E`` ``(H, W)`` at ``(hx, hy)``.

    Taps outside the heatmap read 0 (an empty heatmap there).
    """
    H, W = E.shape
    x0, y0 = math.floor(hx), math.floor(hy)
    wx, wy = keys_weights(hx - x0), keys_weights(hy - y0)
    total = 0.0
    for a in range(4):
        row = 0.0
        for c in range(4):
            i, j = y0 - 1 + a, x0 - 1 + c
            value = E[i, j] if 0 <= i < H and 0 <= j < W else 0.0
            row += wx[c] * value
        total += wy[a] * row
    return total


def unary_point(state, cams, b, j, X):
    """``U_j(X) = sum_v log h_vj(pi_v(X))`` for frame ``b`` (interpolated, floored)."""
    E, logfloor = state
    R, t, dist, aff = cams
    total = 0.0
    for v in range(E.shape[1]):
        p = project_point(R[v], t[v], dist[v], aff[b, v], X)
        total += 0.0 if p is None else sample(E[b, v, j], p[0], p[1])
    return total + E.shape[1] * logfloor


def coarse(state, cams, centers, lengths, windows, parents, n, cube, penalty):
    """PSM on an ``n^3`` grid: unary per bin, then max-product comparing all bin pairs."""
    logh, _ = state
    B, J = logh.shape[0], logh.shape[2]
    s = cube / (n - 1)
    poses = np.empty((B, J, 3))
    for b in range(B):
        bins = []
        for ix in range(n):
            for iy in range(n):
                for iz in range(n):
                    bins.append([centers[b, k] + (i * s - cube / 2)
                                 for k, i in enumerate((ix, iy, iz))])
        belief = [[unary_point(state, cams, b, j, X) for X in bins] for j in range(J)]
        best_child = [None] * J
        for j in range(J - 1, 0, -1):          # children before parents (leaves first)
            p = parents[j]
            best_child[j] = []
            for bp, Xp in enumerate(bins):
                best, arg = -math.inf, -1
                for bc, Xc in enumerate(bins):
                    d = math.dist(Xp, Xc)
                    pair = 0.0 if abs(d - lengths[b, j]) <= windows[j] else -penalty
                    if belief[j][bc] + pair > best:
                        best, arg = belief[j][bc] + pair, bc
                belief[p][bp] += best
                best_child[j].append(arg)
        chosen = [0] * J
        chosen[0] = max(range(len(bins)), key=lambda k: (belief[0][k], -k))
        for j in range(1, J):
            chosen[j] = best_child[j][chosen[parents[j]]]
        poses[b] = [bins[k] for k in chosen]
    return poses


def _bin_centres(center, n: int, cube: float) -> list:
    s = cube / (n - 1)
    return [[center[k] + (i * s - cube / 2) for k, i in enumerate((ix, iy, iz))]
            for ix in range(n) for iy in range(n) for iz in range(n)]


def unary(state, cams, points):
    """Unary terms ``(B, J, P)`` of points ``(B, P, 3)``, one point and view at a time."""
    E = state[0]
    B, J, P = E.shape[0], E.shape[2], points.shape[1]
    out = np.empty((B, J, P))
    for b in range(B):
        for j in range(J):
            for k in range(P):
                out[b, j, k] = unary_point(state, cams, b, j, points[b, k])
    return out


def grid_unary(state, cams, centers, n, cube):
    """Unary terms ``(B, J, n^3)`` of each frame's coarse grid around ``centers`` ``(B, 3)``."""
    points = np.array([_bin_centres(c, n, cube) for c in centers])
    return unary(state, cams, points)


def _reached(k: int, offsets, n: int):
    """The bins of an ``n^3`` grid that the stencil ``offsets`` reaches from bin ``k``."""
    ix, iy, iz = k // (n * n), (k // n) % n, k % n
    for dx, dy, dz in offsets:
        jx, jy, jz = ix + dx, iy + dy, iz + dz
        if 0 <= jx < n and 0 <= jy < n and 0 <= jz < n:
            yield (jx * n + jy) * n + jz


def max_product_grid(U, offsets, counts, parents, n, penalty):
    """Exact max-product over stencils, one bin and offset at a time -> bins ``(B, J)``.

    A child's message at a parent bin is its best belief over the bins the stencil
    reaches, or its best belief anywhere at the cost of a broken limb (``penalty``).
    """
    B, J, nb = U.shape
    bins = np.empty((B, J), np.int64)
    for b in range(B):
        belief = [list(U[b, j]) for j in range(J)]

        for j in range(J - 1, 0, -1):
            broken = max(belief[j]) - penalty
            for k in range(nb):
                best = max([belief[j][c] for c in _reached(k, offsets[b, j, :counts[b, j]], n)],
                           default=-math.inf)
                belief[parents[j]][k] += max(best, broken)
        bins[b, 0] = max(range(nb), key=lambda k: (belief[0][k], -k))
        for j in range(1, J):
            broken = max(belief[j]) - penalty
            best, arg = -math.inf, -1
            for c in _reached(bins[b, parents[j]], offsets[b, j, :counts[b, j]], n):
                # the first maximum in stencil order
                if belief[j][c] > best:
                    best, arg = belief[j][c], c
            bins[b, j] = arg if arg >= 0 and best >= broken else \
                max(range(nb), key=lambda k: (belief[j][k], -k))
    return bins
