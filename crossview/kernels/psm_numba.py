"""PSM compiled with Numba (:class:`~crossview.kernels.interface.PSMKernel`): one frame per
thread, SIMD over joints and grid rows; its state, projection and sampling also serve
:mod:`crossview.kernels.rpsm_numba`.

Where the time goes on the coarse grid (``N = 16``, 4 views, 17 joints) and what
this module does about it:

* the log-heatmaps: only the few per cent of pixels above the floor need a
  logarithm (the rest read exactly 0); they are stored joint-last and padded,
  ``(B, V, H + 8, W + 8, J)``, so an interpolation tap is one contiguous read of
  all ``J`` joints and never needs a bounds check;
* the unary: each bin is projected once per view; its 16 Keys taps and weights
  serve all joints (the joint loop is the SIMD loop), and a sample whose 16 taps
  hold no value above the floor, for any joint, is exactly 0 and skipped (about half
  of them);
* the messages: a limb's stencil is cut into runs of consecutive ``dz``
  (:func:`~crossview.kernels.psm_common.stencil_runs`), and a run of length ``L``
  is one read of a table of sliding maxima of length ``L``, which grows by one
  ``max`` per length. A message then costs one vector ``max`` per run and grid row
  instead of one scalar ``max`` per offset and bin: about a quarter of the
  operations, and all of them on contiguous rows of the grid;
* back-tracking scans the chosen parent bin's shell once per joint, so no arg-max
  table is stored;
* the log-heatmap buffers of the previous call are reused: fresh memory costs a page
  fault per 4 KB, about 2 ms for one frame.

Frames are independent, so a batch runs one frame per thread (``prange``); a
single frame runs on one thread. Parallel loops inside a frame would meet at a
barrier 16 times per frame, and on a machine whose cores are busy with other work
each barrier waits for a thread the operating system has put aside: measured,
that made a frame several times slower, not faster.

All sums are taken in the order of :mod:`crossview.kernels.psm_numpy`, and a
maximum does not depend on the order it is taken in, so this backend reaches the
NumPy backend's poses. See :mod:`crossview.kernels.psm_common` for the conventions.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit, prange

from .psm_common import run_table, stencil_table

#: Zero pixels around each heatmap: taps of points clamped to ``[-3, W + 1.5]`` stay inside.
PAD = 4


# ---------------------------------------------------------------------- log-heatmaps
@njit(cache=True)
def _prepare_view(h, floor, b, v, out, occupied):
    J, H, W = h.shape[2], h.shape[3], h.shape[4]
    seen = np.zeros((H + 2 * PAD, W + 2 * PAD), np.bool_)
    for j in range(J):
        for i in range(H):
            for x in range(W):
                val = h[b, v, j, i, x]
                # log(max(h, floor) / floor) is exactly 0 at or below the floor
                if val > floor:
                    out[b, v, i + PAD, x + PAD, j] = math.log(val / floor)
                    seen[i + PAD, x + PAD] = True
                else:
                    out[b, v, i + PAD, x + PAD, j] = 0.0
    _windows(seen, occupied[b, v])


@njit(cache=True)
def _windows(seen, occupied):
    """``occupied[i, k]``: whether any pixel of the 4 x 4 window at ``(i, k)`` is ``seen``."""
    Hp, Wp = seen.shape
    rows = np.zeros((Hp, Wp), np.bool_)
    for i in range(Hp):
        for k in range(Wp - 3):
            rows[i, k] = seen[i, k] or seen[i, k + 1] or seen[i, k + 2] or seen[i, k + 3]
    for i in range(Hp - 3):
        for k in range(Wp):
            occupied[i, k] = rows[i, k] or rows[i + 1, k] or rows[i + 2, k] or rows[i + 3, k]


@njit(parallel=True, cache=True)
def _prepare_batch(h, floor, out, occupied):
    B, V = h.shape[0], h.shape[1]
    for r in prange(B * V):
        _prepare_view(h, floor, r // V, r % V, out, occupied)


#: Log-heatmap buffers up to this size (bytes) are kept for the next call (see ``_buffers``).
WORKSPACE_BYTES = 1 << 25
_WORKSPACE = threading.local()


def _buffers(shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Zeroed buffers ``E`` ``shape`` and ``occupied`` ``shape[:4]``, reused by one thread.

    Memory fresh from the operating system costs a page fault per 4 KB the first time it
    is touched: for one frame's 2.8 MB of log-heatmaps that was measured at about 2 ms,
    as long as the whole unary. The buffers of the previous call on the same thread
    cost nothing, and only their padding must be zero, since :func:`prepare` writes
    every other entry. Batches larger than :data:`WORKSPACE_BYTES` get fresh buffers.
    """
    kept = getattr(_WORKSPACE, "buffers", None)
    if kept is not None and kept[0].shape == shape:
        return kept
    E, occupied = np.zeros(shape), np.zeros(shape[:4], np.bool_)
    if E.nbytes <= WORKSPACE_BYTES:
        _WORKSPACE.buffers = (E, occupied)
    return E, occupied


def prepare(heatmaps: np.ndarray, floor: float):
    """``(B, V, J, H, W)`` -> ``(E, log(floor), occupied)``.

    ``E = log(max(h, floor) / floor)``, joint-last and zero-padded: ``(B, V, H + 8, W + 8,
    J)``. ``occupied`` ``(B, V, H + 8, W + 8)`` tells whether the 4 x 4 window of taps
    starting at a padded pixel holds any value above the floor, for any joint: a sample
    whose window holds none is exactly 0 and is skipped (about half of the coarse grid's
    samples on the book's synthetic frames).

    The arrays are reused by the next call with the same shapes on the same thread, so
    a state lives until then (:func:`crossview.psm` and :func:`crossview.rpsm` use it
    within one call).
    """
    h = np.ascontiguousarray(heatmaps, dtype=np.float64)
    B, V, J, H, W = h.shape
    out, occupied = _buffers((B, V, H + 2 * PAD, W + 2 * PAD, J))
    if B == 1:
        for v in range(V):
            _prepare_view(h, float(floor), 0, v, out, occupied)
    else:
        _prepare_batch(h, float(floor), out, occupied)
    return out, math.log(floor), occupied


# ---------------------------------------------------------------------- sampling
@njit(cache=True, inline="always")
def project_point(R, t, dist, aff, b, v, X0, X1, X2):
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
    return (aff[b, v, 0, 0] * xd + aff[b, v, 0, 1] * yd + aff[b, v, 0, 2],
            aff[b, v, 1, 0] * xd + aff[b, v, 1, 1] * yd + aff[b, v, 1, 2])


@njit(cache=True, inline="always")
def _keys(t):
    t2 = t * t
    t3 = t2 * t
    return (-0.5 * t3 + t2 - 0.5 * t, 1.5 * t3 - 2.5 * t2 + 1.0,
            -1.5 * t3 + 2.0 * t2 + 0.5 * t, 0.5 * t3 - 0.5 * t2)


@njit(cache=True, inline="always")
def _clamp(hx, hy, H, W):
    """A sample point clamped to ``[-3, W + 1.5] x [-3, H + 1.5]`` (NaN: far outside)."""
    if hx != hx or hy != hy:
        hx, hy = -1e6, -1e6
    return min(max(hx, -3.0), W + 1.5), min(max(hy, -3.0), H + 1.5)


@njit(cache=True, inline="always")
def _sample_add(E, occupied, b, v, hx, hy, acc):
    """``acc[j] +=`` the Keys-cubic sample of ``E[b, v, :, :, j]`` at heatmap ``(hx, hy)``, for
    every joint ``j`` at once (nothing when the taps' window holds no evidence).

    The sums run in the NumPy backend's order: a row of four taps along ``x``, then the
    four rows along ``y``. With the joint loop outermost and the taps unrolled inside it,
    the loop over joints compiles to vector instructions.
    """
    H, W, J = E.shape[2] - 2 * PAD, E.shape[3] - 2 * PAD, E.shape[4]
    x, y = _clamp(hx, hy, H, W)
    x0 = math.floor(x)
    y0 = math.floor(y)
    i = int(y0) - 1 + PAD
    k = int(x0) - 1 + PAD
    if not occupied[b, v, i, k]:              # 16 zero taps: the sample is exactly 0
        return
    c0, c1, c2, c3 = _keys(x - x0)
    r0, r1, r2, r3 = _keys(y - y0)
    e0 = E[b, v, i]
    e1 = E[b, v, i + 1]
    e2 = E[b, v, i + 2]
    e3 = E[b, v, i + 3]
    for j in range(J):
        s = r0 * (c0 * e0[k, j] + c1 * e0[k + 1, j] + c2 * e0[k + 2, j] + c3 * e0[k + 3, j])
        s += r1 * (c0 * e1[k, j] + c1 * e1[k + 1, j] + c2 * e1[k + 2, j] + c3 * e1[k + 3, j])
        s += r2 * (c0 * e2[k, j] + c1 * e2[k + 1, j] + c2 * e2[k + 2, j] + c3 * e2[k + 3, j])
        s += r3 * (c0 * e3[k, j] + c1 * e3[k + 1, j] + c2 * e3[k + 2, j] + c3 * e3[k + 3, j])
        acc[j] += s


@njit(cache=True, inline="always")
def sample_one(E, b, v, j, hx, hy):
    """The Keys-cubic sample of joint ``j``'s ``E[b, v, :, :, j]`` at heatmap ``(hx, hy)``."""
    H, W = E.shape[2] - 2 * PAD, E.shape[3] - 2 * PAD
    x, y = _clamp(hx, hy, H, W)
    x0 = math.floor(x)
    y0 = math.floor(y)
    c0, c1, c2, c3 = _keys(x - x0)
    r0, r1, r2, r3 = _keys(y - y0)
    i = int(y0) - 1 + PAD
    k = int(x0) - 1 + PAD
    s = 0.0
    for a, w in ((0, r0), (1, r1), (2, r2), (3, r3)):
        e = E[b, v, i + a]
        s += w * (c0 * e[k, j] + c1 * e[k + 1, j] + c2 * e[k + 2, j] + c3 * e[k + 3, j])
    return s


@njit(cache=True)
def _grid_unary_frame(E, occupied, logfloor, R, t, dist, aff, centers, b, n, cube, out):
    """Unary terms of frame ``b``'s ``n^3`` bins into ``out`` ``(B, J, n^3)``."""
    V, J = E.shape[1], E.shape[4]
    s = cube / (n - 1)
    acc = np.empty(J)
    for k in range(n * n * n):
        ix, iy, iz = k // (n * n), (k // n) % n, k % n
        X0 = centers[b, 0] + (ix * s - cube / 2)
        X1 = centers[b, 1] + (iy * s - cube / 2)
        X2 = centers[b, 2] + (iz * s - cube / 2)
        for j in range(J):
            acc[j] = 0.0
        for v in range(V):
            hx, hy = project_point(R, t, dist, aff, b, v, X0, X1, X2)
            _sample_add(E, occupied, b, v, hx, hy, acc)
        for j in range(J):
            out[b, j, k] = acc[j] + V * logfloor


@njit(parallel=True, cache=True)
def _grid_unary_batch(E, occupied, logfloor, R, t, dist, aff, centers, n, cube, out):
    for b in prange(E.shape[0]):
        _grid_unary_frame(E, occupied, logfloor, R, t, dist, aff, centers, b, n, cube, out)


def grid_unary(state, cams, centers: np.ndarray, n: int, cube: float) -> np.ndarray:
    """Unary terms ``(B, J, n^3)`` of every frame's coarse grid around ``centers`` ``(B, 3)``.

    Bins are generated on the fly (no array of points), and a sample whose taps hold no
    evidence is skipped (see :func:`prepare`).
    """
    E, logfloor, occupied = state
    R, t, dist, aff = cams
    out = np.empty((E.shape[0], E.shape[4], n ** 3))
    args = (E, occupied, logfloor, R, t, dist, aff, np.ascontiguousarray(centers))
    if E.shape[0] == 1:
        _grid_unary_frame(*args, 0, n, float(cube), out)
    else:
        _grid_unary_batch(*args, n, float(cube), out)
    return out


@njit(cache=True)
def _unary_frame(E, occupied, logfloor, R, t, dist, aff, points, b, out):
    V, J = E.shape[1], E.shape[4]
    acc = np.empty(J)
    for k in range(points.shape[1]):
        for j in range(J):
            acc[j] = 0.0
        for v in range(V):
            hx, hy = project_point(R, t, dist, aff, b, v, points[b, k, 0], points[b, k, 1],
                              points[b, k, 2])
            _sample_add(E, occupied, b, v, hx, hy, acc)
        for j in range(J):
            out[b, j, k] = acc[j] + V * logfloor


@njit(parallel=True, cache=True)
def _unary_batch(E, occupied, logfloor, R, t, dist, aff, points, out):
    for b in prange(E.shape[0]):
        _unary_frame(E, occupied, logfloor, R, t, dist, aff, points, b, out)


def unary(state, cams, points: np.ndarray) -> np.ndarray:
    """Unary terms ``(B, J, P)`` of world points ``(B, P, 3)`` (shared by joints)."""
    E, logfloor, occupied = state
    R, t, dist, aff = cams
    points = np.ascontiguousarray(points, dtype=np.float64)
    out = np.empty((E.shape[0], E.shape[4], points.shape[1]))
    args = (E, occupied, logfloor, R, t, dist, aff, points)
    if E.shape[0] == 1:
        _unary_frame(*args, 0, out)
    else:
        _unary_batch(*args, out)
    return out


# ---------------------------------------------------------------------- max-product
@njit(cache=True, inline="always")
def _reach(runs, n_runs):
    """The largest offset ``r`` (bins, any axis) of the first ``n_runs`` runs ``(R, 4)``,
    counting each run's last ``dz``."""
    r = 0
    for q in range(n_runs):
        for a in range(3):
            r = max(r, abs(runs[q, a]))
        r = max(r, abs(runs[q, 2] + runs[q, 3] - 1))
    return r


@njit(cache=True)
def _message(child, runs, n_runs, n, pad, table, msg):
    """``msg[k] = max over the stencil's runs of child(k + d)`` ``(n^3,)``; ``-inf`` if empty.

    ``pad`` and ``table`` are scratch of at least ``(n + 2 r)^3`` elements, ``r`` the
    largest offset of the runs (:func:`_reach`).
    """
    nb = n * n * n
    for k in range(nb):
        msg[k] = -np.inf
    if n_runs == 0:
        return
    r = _reach(runs, n_runs)
    P = n + 2 * r
    PP = P * P * P
    for i in range(PP):
        pad[i] = -np.inf
    for ix in range(n):
        for iy in range(n):
            src = (ix * n + iy) * n
            dst = ((ix + r) * P + iy + r) * P + r
            for iz in range(n):
                pad[dst + iz] = child[src + iz]
    # table[i] = max(pad[i : i + L]) along z, grown one length at a time as the runs need
    for i in range(PP):
        table[i] = pad[i]
    L = 1
    # the inner loops run over slices (views): then the compiler sees that they do not
    # overlap and turns them into vector instructions
    for q in range(n_runs):
        dx, dy, dz, length = runs[q, 0], runs[q, 1], runs[q, 2], runs[q, 3]
        while L < length:
            grown, more = table[:PP - L], pad[L:PP]
            for i in range(PP - L):
                grown[i] = max(grown[i], more[i])
            L += 1
        for ix in range(n):
            for iy in range(n):
                src = ((ix + dx + r) * P + iy + dy + r) * P + dz + r
                dst = (ix * n + iy) * n
                out, run = msg[dst:dst + n], table[src:src + n]
                for iz in range(n):
                    out[iz] = max(out[iz], run[iz])


@njit(cache=True)
def _max_product_frame(U, offs3, runs, n_runs, counts, parents, b, n, penalty, bins):
    """Exact max-product of frame ``b``: unaries ``U`` ``(B, J, n^3)`` -> ``bins[b]`` ``(J,)``."""
    J, nb = U.shape[1], U.shape[2]
    belief = U[b].copy()
    r = 0
    for j in range(J):
        r = max(r, _reach(runs[b, j], n_runs[b, j]))
    P = n + 2 * r
    pad = np.empty(P * P * P)
    table = np.empty(P * P * P)
    msg = np.empty(nb)
    for j in range(J - 1, 0, -1):
        p = parents[j]
        m = -np.inf
        for k in range(nb):
            m = max(m, belief[j, k])
        m -= penalty                   # any bin, at the cost of a broken limb
        _message(belief[j], runs[b, j], n_runs[b, j], n, pad, table, msg)
        for k in range(nb):
            belief[p, k] += max(msg[k], m)
    bins[b, 0] = np.argmax(belief[0])
    for j in range(1, J):
        kp = bins[b, parents[j]]
        ix, iy, iz = kp // (n * n), (kp // n) % n, kp % n
        gm = np.max(belief[j])
        best, arg = -np.inf, -1
        for q in range(counts[b, j]):          # first maximum in stencil order
            jx, jy, jz = ix + offs3[b, j, q, 0], iy + offs3[b, j, q, 1], iz + offs3[b, j, q, 2]
            if 0 <= jx < n and 0 <= jy < n and 0 <= jz < n:
                kc = (jx * n + jy) * n + jz
                if belief[j, kc] > best:
                    best, arg = belief[j, kc], kc
        if arg >= 0 and best >= gm - penalty:
            bins[b, j] = arg
        else:
            bins[b, j] = np.argmax(belief[j])


@njit(parallel=True, cache=True)
def _max_product_batch(U, offs3, runs, n_runs, counts, parents, n, penalty, bins):
    for b in prange(U.shape[0]):
        _max_product_frame(U, offs3, runs, n_runs, counts, parents, b, n, penalty, bins)


def max_product_grid(U, offsets, counts, parents, n, penalty):
    """Exact max-product on the grid: unaries ``(B, J, n^3)``, stencils ``(B, J, S, 3)`` with
    ``counts`` ``(B, J)`` -> chosen bins ``(B, J)``."""
    U = np.ascontiguousarray(U, dtype=np.float64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    runs, n_runs = run_table(offsets, counts)
    parents = np.asarray(parents, np.int64)
    bins = np.empty(counts.shape, np.int64)
    args = (U, offsets, runs, n_runs, counts, parents)
    if U.shape[0] == 1:
        _max_product_frame(*args, 0, n, float(penalty), bins)
    else:
        _max_product_batch(*args, n, float(penalty), bins)
    return bins


def coarse(state, cams, centers, lengths, windows, parents, n, cube, penalty):
    """PSM on an ``n^3`` grid around each frame's centre -> poses ``(B, J, 3)``."""
    U = grid_unary(state, cams, centers, n, cube)
    s = cube / (n - 1)
    offsets, counts = stencil_table(lengths, s, windows, max_offset=n - 1)
    bins = max_product_grid(U, offsets, counts, parents, n, penalty)
    ax = np.arange(n) * s - cube / 2
    idx = np.stack([bins // (n * n), (bins // n) % n, bins % n], -1)
    return centers[:, None, :] + ax[idx]
