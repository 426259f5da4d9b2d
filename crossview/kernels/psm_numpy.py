"""PSM with NumPy (:class:`~crossview.kernels.interface.PSMKernel`): vectorised over bins;
the coarse grid's max-product loops over frames.

The coarse max-product uses the limb stencil: a message is the maximum of the
child's belief over shifted copies of the grid, one shift per stencil offset.
See :mod:`crossview.kernels.psm_common` for the conventions; the projection and the
sampling here also serve :mod:`crossview.kernels.rpsm_numpy`.
"""

from __future__ import annotations

import numpy as np

from ..camera import distort_normalized
from .psm_common import keys_weights, stencil_table, sum_views

#: Heatmaps are padded by this many zero pixels, so that every tap of a sample whose
#: coordinates are clamped to ``[-3, W + 1.5]`` reads inside the array.
PAD = 4


def prepare(heatmaps: np.ndarray, floor: float):
    """``(B, V, J, H, W)`` heatmaps -> ``(E, log(floor))``.

    ``E = log(max(h, floor)) - log(floor) >= 0``, padded with zeros to ``(B, V, J, H+8, W+8)``:
    interpolating the excess over the floor makes every read of an empty region exactly 0.
    """
    E = np.log(np.maximum(heatmaps, floor) / floor)
    pad = [(0, 0)] * 3 + [(PAD, PAD)] * 2
    return np.pad(E, pad), float(np.log(floor))


def project(cams, X: np.ndarray):
    """World points ``(B, P, 3)`` -> heatmap coordinates ``hx, hy`` ``(B, V, P)``.

    Points at or behind a camera get coordinates far outside the heatmap.
    """
    R, t, dist, aff = cams
    Xc = np.einsum("vij,bpj->bvpi", R, X) + t[None, :, None, :]
    z = Xc[..., 2]
    ok = z > 1e-6
    zs = np.where(ok, z, 1.0)
    xn = Xc[..., :2] / zs[..., None]
    # the lens model of crossview.camera, with each view's coefficients broadcast
    xdn = distort_normalized(xn, [dist[None, :, i, None] for i in range(5)])
    xd, yd = xdn[..., 0], xdn[..., 1]
    a = aff[..., None]
    hx = a[:, :, 0, 0] * xd + a[:, :, 0, 1] * yd + a[:, :, 0, 2]
    hy = a[:, :, 1, 0] * xd + a[:, :, 1, 1] * yd + a[:, :, 1, 2]
    far = -1e6
    return np.where(ok, hx, far), np.where(ok, hy, far)


def sample(Lp: np.ndarray, hx: np.ndarray, hy: np.ndarray) -> np.ndarray:
    """Keys-cubic samples of padded log-excess heatmaps ``(B, V, J, H', W')``.

    ``hx, hy`` are ``(B, V, P)`` (the same points for every joint) or ``(B, V, J, P)``
    (each joint its own points); returns ``(B, V, J, P)``.
    """
    B, V, J, Hp, Wp = Lp.shape
    H, W = Hp - 2 * PAD, Wp - 2 * PAD
    shared = hx.ndim == 3
    x = np.clip(np.nan_to_num(hx, nan=-1e6), -3.0, W + 1.5)
    y = np.clip(np.nan_to_num(hy, nan=-1e6), -3.0, H + 1.5)
    x0, y0 = np.floor(x), np.floor(y)
    wx, wy = keys_weights(x - x0), keys_weights(y - y0)
    ix = x0.astype(np.int64) + (PAD - 1)
    iy = y0.astype(np.int64) + (PAD - 1)
    if shared:
        # joints last, each pixel's J values one opaque block: a tap then gathers one
        # block per point instead of J separate values
        flat = np.ascontiguousarray(np.moveaxis(Lp, 2, -1)).reshape(B, V, Hp * Wp, J)
        blocks = flat.view(np.dtype((np.void, flat.itemsize * J)))[..., 0]
        bi, vi = np.arange(B)[:, None, None], np.arange(V)[None, :, None]
        P = hx.shape[-1]
        out = np.zeros((B, V, P, J))
        for a in range(4):
            row = np.zeros_like(out)
            for c in range(4):
                taps = blocks[bi, vi, (iy + a) * Wp + (ix + c)]
                row += wx[c][..., None] * taps.view(np.float64).reshape(B, V, P, J)
            out += wy[a][..., None] * row
        return out.transpose(0, 1, 3, 2)
    flat = Lp.reshape(B, V, J, Hp * Wp)
    out = np.zeros(hx.shape)
    for a in range(4):
        row = np.zeros(hx.shape)
        for c in range(4):
            row += wx[c] * np.take_along_axis(flat, (iy + a) * Wp + (ix + c), -1)
        out += wy[a] * row
    return out


def grid_points(centers: np.ndarray, n: int, cube: float) -> np.ndarray:
    """Coarse bins ``(B, n^3, 3)`` around ``centers`` ``(B, 3)``."""
    s = cube / (n - 1)
    ax = np.arange(n) * s - cube / 2
    offs = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)
    return centers[:, None, :] + offs[None]


def shell_max(belief: np.ndarray, offsets: np.ndarray, n: int, penalty: float) -> np.ndarray:
    """Message of one limb on the grid: ``m(b) = max(max_{d in stencil} belief(b + d),
    max(belief) - penalty)`` for a flat ``belief`` ``(n^3,)``."""
    b3 = belief.reshape(n, n, n)
    acc = np.full((n, n, n), -np.inf)
    if len(offsets):
        R = int(np.abs(offsets).max())
        P = n + 2 * R
        padded = np.full((P, P, P), -np.inf)
        padded[R:R + n, R:R + n, R:R + n] = b3
        for dx, dy, dz in offsets:
            np.maximum(acc, padded[R + dx:R + dx + n, R + dy:R + dy + n, R + dz:R + dz + n],
                       out=acc)
    return np.maximum(acc, belief.max() - penalty).ravel()


def max_product_frame(U: np.ndarray, offsets: np.ndarray, counts: np.ndarray, parents,
                      n: int, penalty: float) -> np.ndarray:
    """Exact max-product on the tree over one frame's grid: ``U`` ``(J, n^3)``, stencils
    ``(J, S, 3)`` with ``counts`` ``(J,)`` -> bins ``(J,)``."""
    J = len(parents)
    belief = U.copy()
    for j in range(J - 1, 0, -1):
        belief[parents[j]] += shell_max(belief[j], offsets[j, :counts[j]], n, penalty)
    bins = np.empty(J, np.int64)
    bins[0] = int(np.argmax(belief[0]))
    for j in range(1, J):
        bins[j] = best_in_shell(belief[j], bins[parents[j]], offsets[j, :counts[j]], n, penalty)
    return bins


def max_product_grid(U: np.ndarray, offsets: np.ndarray, counts: np.ndarray, parents,
                     n: int, penalty: float) -> np.ndarray:
    """Exact max-product of every frame: ``U`` ``(B, J, n^3)``, stencils ``(B, J, S, 3)``
    with ``counts`` ``(B, J)`` -> chosen bins ``(B, J)``."""
    return np.stack([max_product_frame(U[b], offsets[b], counts[b], parents, n, penalty)
                     for b in range(len(U))]).reshape(len(U), len(parents))


def best_in_shell(belief: np.ndarray, parent_bin: int, offsets: np.ndarray, n: int,
                  penalty: float) -> int:
    """Back-tracking: the child's bin that achieved its message at ``parent_bin``."""
    gm = belief.max()
    if len(offsets):
        ip = np.array(np.unravel_index(parent_bin, (n, n, n)))
        cand = ip + offsets
        ok = ((cand >= 0) & (cand < n)).all(1)
        flat = (np.clip(cand[:, 0], 0, n - 1) * n + np.clip(cand[:, 1], 0, n - 1)) * n \
            + np.clip(cand[:, 2], 0, n - 1)
        vals = np.where(ok, belief[flat], -np.inf)
        k = int(np.argmax(vals))
        if vals[k] >= gm - penalty:
            return int(flat[k])
    return int(np.argmax(belief))


def grid_unary(state, cams, centers: np.ndarray, n: int, cube: float) -> np.ndarray:
    """Unary terms ``(B, J, n^3)`` of each frame's coarse grid around ``centers`` ``(B, 3)``."""
    return unary(state, cams, grid_points(centers, n, cube))


def coarse(state, cams, centers, lengths, windows, parents, n, cube, penalty):
    """PSM on a grid of ``n^3`` bins around each frame's centre -> poses ``(B, J, 3)``."""
    X = grid_points(centers, n, cube)
    U = unary(state, cams, X)                          # (B, J, n^3)
    offsets, counts = stencil_table(lengths, cube / (n - 1), windows, max_offset=n - 1)
    bins = max_product_grid(U, offsets, counts, parents, n, penalty)
    return np.take_along_axis(X, bins[..., None], 1)


def unary(state, cams, points):
    """Unary terms of points ``(B, P, 3)`` (shared by joints) -> ``(B, J, P)``."""
    Lp, logfloor = state
    hx, hy = project(cams, points)
    return sum_views(sample(Lp, hx, hy), logfloor)
