"""The tracing of fusion's curves compiled with Numba: the source of
:mod:`crossview.kernels.curves`, loaded a second time with its functions compiled. One
frame runs on one thread, a batch on all of Numba's threads."""

from __future__ import annotations

import importlib.util
import sys

import numba
from numba import prange

from . import curves as _source


def _compile_source():
    """:mod:`crossview.kernels.curves` run again as a module of its own, with
    ``COMPILE = numba.njit``: every ``@compiled`` function of it is a Numba dispatcher, and
    the functions call each other's compiled versions."""
    spec = importlib.util.spec_from_file_location(f"{__name__}_compiled", _source.__file__)
    module = importlib.util.module_from_spec(spec)
    module.COMPILE = numba.njit
    sys.modules[spec.name] = module       # Numba's cache finds functions by their module
    spec.loader.exec_module(module)
    return module


_compiled = _compile_source()
_trace_frame = _compiled._trace_frame


@numba.njit(cache=True, error_model="numpy")
def _trace_serial(Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W, border,
                  index, count, step, frac, bins, weights, angles):
    for g in range(A.shape[0]):
        _trace_frame(g, Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W,
                     border, index, count, step, frac, bins, weights, angles)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _trace_parallel(Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W, border,
                    index, count, step, frac, bins, weights, angles):
    for g in prange(A.shape[0]):
        _trace_frame(g, Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W,
                     border, index, count, step, frac, bins, weights, angles)


def trace(Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W, border, index,
          count, step, frac, bins, weights, angles) -> None:
    """Fill an :class:`crossview.sampler.EpipolarSampler`'s arrays for ``G`` frames.

    Per view (``V``): intrinsics ``Ks`` and their inverses ``Kinvs`` ``(V, 3, 3)``,
    rotations ``Rs``, translations ``ts`` ``(V, 3)``, OpenCV ``dists`` ``(V, 5)``,
    ``lens`` (bool: the camera has distortion) and the squared normalised radius of the
    lens' fold ``fold2`` (inf: none).
    Per frame: affines ``A`` and inverses ``Ainv`` ``(G, V, 2, 3)``. ``pairs``
    ``(P, 2)``, heatmap ``H x W``, ``border`` ``(N, 2)`` points on the heatmap's outer
    edge. Writes ``index``, ``frac`` ``(G, P, K, S)``, ``count``, ``step``, ``angles``
    ``(G, P, K)``, ``bins``, ``weights`` ``(G, P, H W)``. One frame runs on one thread,
    a batch on all of Numba's.
    """
    run = _trace_serial if A.shape[0] == 1 else _trace_parallel
    run(Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W, border, index, count,
        step, frac, bins, weights, angles)
