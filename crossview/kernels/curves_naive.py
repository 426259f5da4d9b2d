"""The tracing of fusion's curves in plain Python: the source of
:mod:`crossview.kernels.curves` run as it is, one frame after another. The readable
reference, and what builds an :class:`crossview.sampler.EpipolarSampler` where Numba is
not installed (about a second per 64 x 64 geometry of four views)."""

from __future__ import annotations

from . import curves


def trace(Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W, border, index,
          count, step, frac, bins, weights, angles) -> None:
    """Fill a sampler's arrays for every frame; see :func:`crossview.kernels.curves_numba.
    trace` for the arguments."""
    for g in range(A.shape[0]):
        curves._trace_frame(g, Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W,
                            border, index, count, step, frac, bins, weights, angles)
