"""Analytic epipolar fusion compiled with Numba (:class:`~crossview.kernels.interface.
FusionKernel`); the curves it reads are traced by :mod:`crossview.kernels.curves_numba`.

A single frame runs on one thread, a batch on all of Numba's threads: parallel loops
end at a barrier that waits for every thread, which costs a scheduling slice whenever
another program holds a core (see :mod:`crossview.kernels.psm_numba`).

**Fusion** (:func:`fuse`) works on a few frames at a time (one when every frame has its
own crops; :data:`GROUP_LANES` joints' worth of frames when they share them), in three
passes over memory that stays in the caches:

1. the heatmaps are copied lanes-last, ``(V, H W, L)`` with the frames' joints side by
   side as the ``L`` lanes: every read below then takes all of them at once, in one
   loop over contiguous memory that compiles to vector instructions. Values smaller in
   magnitude than ``sqrt(tiny)`` of the dtype (1e-19 in float32) are copied as 0:
   Gaussian tails are full of subnormal numbers, which many CPUs compute far slower
   than normal ones (chapter 9 measures it), and no product of two copied values or of
   a value and a weight in ``[0, 1]`` can be subnormal;
2. every curve reduces (max or mean) its reads, each a linear interpolation between
   two neighbouring pixels (the sampler reads where a curve crosses pixel columns or
   rows), four reads per step of the loop;
3. every target pixel blends its own value with the two curves that bracket it in
   each source view (three source views per pass over its lanes), and the result is
   written back joint-major in runs of :data:`TILE` pixels.

The loops are compiled with ``fastmath`` (reassociation and fused multiply-adds, and
no NaN or infinity: the heatmaps are checked finite), so results differ from the NumPy
backend's in the last bits.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import prange

#: Pixels per tile when heatmaps are copied joint-last and written back joint-major.
TILE = 16


# ---------------------------------------------------------------------- fusion
@numba.njit(cache=True, inline="always", fastmath=True, error_model="numpy")
def _max_curve(hv, idx, fr, n, second, one, acc):
    """Max over the ``n`` reads of one curve, all joints at once, into ``acc`` ``(J,)``.

    ``hv`` ``(H W, J)`` is the source heatmap joint-last; read ``s`` interpolates rows
    ``idx[s]`` and ``idx[s] + second`` with weight ``fr[s]`` on the second; ``one`` is 1
    in the heatmaps' dtype. Four reads per step: their values are combined before they
    meet ``acc``, so the loop carries one dependency through memory per four reads
    instead of one per read.
    """
    J = acc.shape[0]
    st = np.uint64(second)
    s = 0
    while s + 4 <= n:
        f0, f1, f2, f3 = fr[s], fr[s + 1], fr[s + 2], fr[s + 3]
        e0, e1, e2, e3 = one - f0, one - f1, one - f2, one - f3
        i0, i1 = np.uint64(idx[s]), np.uint64(idx[s + 1])
        i2, i3 = np.uint64(idx[s + 2]), np.uint64(idx[s + 3])
        a0, b0, a1, b1 = hv[i0], hv[i0 + st], hv[i1], hv[i1 + st]
        a2, b2, a3, b3 = hv[i2], hv[i2 + st], hv[i3], hv[i3 + st]
        for j in range(J):
            m01 = max(e0 * a0[j] + f0 * b0[j], e1 * a1[j] + f1 * b1[j])
            m23 = max(e2 * a2[j] + f2 * b2[j], e3 * a3[j] + f3 * b3[j])
            acc[j] = max(acc[j], max(m01, m23))
        s += 4
    while s < n:
        f = fr[s]
        e = one - f
        i = np.uint64(idx[s])
        a, b = hv[i], hv[i + st]
        for j in range(J):
            acc[j] = max(acc[j], e * a[j] + f * b[j])
        s += 1


@numba.njit(cache=True, inline="always", fastmath=True, error_model="numpy")
def _sum_curve(hv, idx, fr, n, second, one, acc):
    """Like :func:`_max_curve`, the sum of the reads."""
    J = acc.shape[0]
    st = np.uint64(second)
    s = 0
    while s + 4 <= n:
        f0, f1, f2, f3 = fr[s], fr[s + 1], fr[s + 2], fr[s + 3]
        e0, e1, e2, e3 = one - f0, one - f1, one - f2, one - f3
        i0, i1 = np.uint64(idx[s]), np.uint64(idx[s + 1])
        i2, i3 = np.uint64(idx[s + 2]), np.uint64(idx[s + 3])
        a0, b0, a1, b1 = hv[i0], hv[i0 + st], hv[i1], hv[i1 + st]
        a2, b2, a3, b3 = hv[i2], hv[i2 + st], hv[i3], hv[i3 + st]
        for j in range(J):
            acc[j] += ((e0 * a0[j] + f0 * b0[j]) + (e1 * a1[j] + f1 * b1[j])) + \
                ((e2 * a2[j] + f2 * b2[j]) + (e3 * a3[j] + f3 * b3[j]))
        s += 4
    while s < n:
        f = fr[s]
        e = one - f
        i = np.uint64(idx[s])
        a, b = hv[i], hv[i + st]
        for j in range(J):
            acc[j] += e * a[j] + f * b[j]
        s += 1


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _fuse_frames(hm, b0, nb, index, count, step, frac, bins, weights, src_view, use_max,
                 self_weight, scale, flush, work, out):
    """Frames ``b0 .. b0 + nb - 1`` of :func:`fuse`, which share one geometry when ``nb > 1``.

    ``hm``, ``out`` ``(B, V, J, HW)``; the sampler's arrays (``G`` = 1 or ``B``
    geometries); ``src_view`` ``(P,)``; ``self_weight``, ``scale`` and ``flush`` in the
    heatmaps' dtype; ``work`` scratch of at least :func:`work_size` values. The frames'
    joints side by side are the lanes ``L = nb J`` that every read and every spread
    interpolates at once.
    """
    V, J, HW = hm.shape[1], hm.shape[2], hm.shape[3]
    G, P, K = index.shape[0], index.shape[1], index.shape[2]
    g = 0 if G == 1 else b0
    L = nb * J
    zero = self_weight - self_weight
    one = flush / flush                     # 1 in the heatmaps' dtype (zero + 1 is float64)
    lowest = -np.finfo(hm.dtype).max          # the start of a max (values are finite)

    # 1. lanes-last copy, tiny values flushed to zero
    hj = work[:V * HW * L].reshape((V, HW, L))
    for v in range(V):
        for f in range(nb):
            for j in range(J):
                lane = f * J + j
                for q in range(HW):
                    x = hm[b0 + f, v, j, q]
                    hj[v, q, lane] = x if abs(x) >= flush else zero

    # 2. every curve: max (or mean) of its reads, all lanes at once
    curve = work[V * HW * L:(V * HW + P * K) * L].reshape((P, K, L))
    for p in range(P):
        hv = hj[src_view[p]]
        for k in range(K):
            acc = curve[p, k]
            n = count[g, p, k]
            for j in range(L):
                acc[j] = zero if n == 0 or not use_max else lowest
            if use_max:
                _max_curve(hv, index[g, p, k], frac[g, p, k], n, step[g, p, k], one, acc)
            else:
                _sum_curve(hv, index[g, p, k], frac[g, p, k], n, step[g, p, k], one, acc)
            if n > 0 and not use_max:
                for j in range(L):
                    acc[j] /= n

    # 3. every target pixel: its own value and its two curves of each source view,
    # three source views per pass over the pixel's lanes (a missing third reads the
    # first with weight 0)
    tile = work[(V * HW + P * K) * L:(V * HW + P * K + TILE) * L].reshape((TILE, L))
    for u in range(V):
        first = u * (V - 1)                 # pairs are ordered by target
        end = first + V - 1
        for q0 in range(0, HW, TILE):
            q1 = min(q0 + TILE, HW)
            for q in range(q0, q1):
                a = tile[q - q0]
                own = hj[u, q]
                for pa in range(first, end, 3):
                    pb = pa + 1 if pa + 1 < end else pa
                    pc = pa + 2 if pa + 2 < end else pa
                    ka, kb, kc = bins[g, pa, q], bins[g, pb, q], bins[g, pc, q]
                    wa = scale * weights[g, pa, q]
                    wb = scale * weights[g, pb, q] if pb != pa else zero
                    wc = scale * weights[g, pc, q] if pc != pa else zero
                    va = scale - wa
                    vb = scale - wb if pb != pa else zero
                    vc = scale - wc if pc != pa else zero
                    la, ha = curve[pa, ka], curve[pa, ka + 1]
                    lb, hb = curve[pb, kb], curve[pb, kb + 1]
                    lc, hc = curve[pc, kc], curve[pc, kc + 1]
                    base = self_weight if pa == first else one
                    keep = own if pa == first else a
                    for j in range(L):
                        a[j] = base * keep[j] + ((va * la[j] + wa * ha[j]) +
                                                 (vb * lb[j] + wb * hb[j])) + \
                            (vc * lc[j] + wc * hc[j])
            for f in range(nb):
                for j in range(J):
                    lane = f * J + j
                    for q in range(q0, q1):
                        out[b0 + f, u, j, q] = tile[q - q0, lane]


@numba.njit(cache=True)
def _fuse_serial(hm, group, index, count, step, frac, bins, weights, src_view, use_max,
                 self_weight, scale, flush, work, out):
    B = hm.shape[0]
    for b0 in range(0, B, group):
        _fuse_frames(hm, b0, min(group, B - b0), index, count, step, frac, bins, weights,
                     src_view, use_max, self_weight, scale, flush, work, out)


@numba.njit(parallel=True, cache=True)
def _fuse_parallel(hm, group, index, count, step, frac, bins, weights, src_view, use_max,
                   self_weight, scale, flush, work, out):
    B = hm.shape[0]
    for c in prange((B + group - 1) // group):
        b0 = c * group
        mine = np.empty(work.shape[0], dtype=work.dtype)       # each thread its own
        _fuse_frames(hm, b0, min(group, B - b0), index, count, step, frac, bins, weights,
                     src_view, use_max, self_weight, scale, flush, mine, out)


#: Lanes (frames x joints) of one pass when frames share their geometry.
GROUP_LANES = 64
#: Scratch of the serial driver, one per dtype and thread, reused from call to call:
#: fresh memory costs a page fault per page on its first write, which on some machines
#: took as long as the fusion itself.
_WORK = threading.local()


def work_size(V: int, HW: int, P: int, K: int, lanes: int) -> int:
    """Scratch values :func:`_fuse_frames` needs: the lanes-last heatmaps, the curves'
    values and one tile."""
    return (V * HW + P * K + TILE) * lanes


def _work(dtype, size: int) -> np.ndarray:
    cache = _WORK.__dict__.setdefault("arrays", {})
    have = cache.get(np.dtype(dtype).str)
    if have is None or have.size < size:
        have = cache[np.dtype(dtype).str] = np.empty(size, dtype=dtype)
    return have[:size]


def flush_threshold(dtype) -> float:
    """Magnitude below which :func:`fuse` reads a heatmap value as 0: ``sqrt(tiny)``."""
    return float(np.sqrt(np.finfo(dtype).tiny))


def fuse(heatmaps: np.ndarray, sampler, self_weight: float, reduce: str) -> np.ndarray:
    """Fused heatmaps ``(B, V, J, H, W)`` (float32 or float64, computed in that dtype).

    A single frame runs on one thread; a batch on all of Numba's, one frame per thread.
    """
    B, V, J, H, W = heatmaps.shape
    dtype = heatmaps.dtype
    flat = np.ascontiguousarray(heatmaps).reshape(B, V, J, H * W)
    out = np.empty_like(flat)
    group = max(1, GROUP_LANES // J) if sampler.index.shape[0] == 1 else 1
    size = work_size(V, H * W, len(sampler.pairs), sampler.n_lines, min(group, B) * J)
    serial = B <= group or numba.get_num_threads() == 1
    work = _work(dtype, size) if serial else np.empty(size, dtype=dtype)
    (_fuse_serial if serial else _fuse_parallel)(
        flat, group, sampler.index, sampler.count, sampler.step, sampler.frac, sampler.bins,
        sampler.weights, sampler.pairs[:, 1], reduce == "max", dtype.type(self_weight),
        dtype.type((1.0 - self_weight) / (V - 1)), dtype.type(flush_threshold(dtype)), work,
        out)
    return out.reshape(B, V, J, H, W)
