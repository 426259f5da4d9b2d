"""Where analytic fusion reads each source heatmap: the epipolar curves of every view pair.

An :class:`EpipolarSampler` holds, for every ordered pair of views ``(u, v)``, a fan of
epipolar curves in view ``v``'s heatmap (each traced through the lens and the crop, and
cut where the lens model folds), where each curve is read, and which two curves
bracket every pixel of view ``u``. The curves depend only on the cameras, the crop
affines and the heatmap size, never on heatmap values, so :func:`get_sampler` remembers
the last few geometries: a rig with fixed crops traces them once for all frames and
joints. The tracing is the kernel family ``curves`` (:mod:`crossview.kernels.curves`):
compiled with Numba when it is installed, plain Python otherwise; every fusion backend
reads the same sampler.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._array import ArrayLike, to_numpy
from ._validate import as_float_array, check_cameras, check_int, check_size
from .camera import Camera
from .heatmap import invert_affine
from .kernels import load_kernel, numba_available

__all__ = ["EpipolarSampler", "clear_sampler_cache", "get_sampler", "pair_index", "pixel_grid",
           "view_pairs"]


def view_pairs(V: int) -> np.ndarray:
    """Ordered view pairs ``(V (V - 1), 2)``: ``(u, v)``, ``u != v``, by ``u`` then ``v``."""
    return np.array([(u, v) for u in range(V) for v in range(V) if v != u], dtype=np.int64)


def pair_index(V: int, u: int, v: int) -> int:
    """Row of the ordered pair (target ``u``, source ``v``) in :func:`view_pairs`."""
    if not (0 <= u < V and 0 <= v < V) or u == v:
        raise ValueError(f"(u, v) must be two different views in 0..{V - 1}, got ({u}, {v})")
    return u * (V - 1) + (v if v < u else v - 1)


def pixel_grid(H: int, W: int) -> np.ndarray:
    """Heatmap pixel centres ``(H * W, 2)`` as ``(x, y)``, row-major (index ``i * W + j``)."""
    ys, xs = np.mgrid[0:H, 0:W]
    return np.stack([xs.ravel(), ys.ravel()], -1).astype(np.float64)


@functools.lru_cache(maxsize=16)
def _border(H: int, W: int, per_edge: int = 16) -> np.ndarray:
    """Points ``(4 * per_edge, 2)`` on the outer edge of a heatmap (its pixels' outer edges)."""
    s = np.linspace(0.0, 1.0, per_edge, endpoint=False)
    x0, x1, y0, y1 = -0.5, W - 0.5, -0.5, H - 0.5
    top = np.stack([x0 + s * (x1 - x0), np.full_like(s, y0)], -1)
    right = np.stack([np.full_like(s, x1), y0 + s * (y1 - y0)], -1)
    bottom = np.stack([x1 - s * (x1 - x0), np.full_like(s, y1)], -1)
    left = np.stack([np.full_like(s, x0), y1 - s * (y1 - y0)], -1)
    return np.concatenate([top, right, bottom, left])


@dataclass(frozen=True, eq=False)
class EpipolarSampler:
    """Where analytic fusion reads each source heatmap: a fan of epipolar curves per view pair.

    Built by :meth:`build` (or, cached, by :func:`get_sampler`). ``G`` is 1 when the
    affines are shared by all frames and the number of frames otherwise; ``P = V (V - 1)``
    ordered pairs ``(u, v)`` (target ``u`` receives evidence from source ``v``), in the
    order ``u = 0, 1, ...`` and, within ``u``, increasing ``v``; ``K = n_lines``;
    ``S = n_samples``, the most reads a curve can have (default ``max(H, W)``).

    A curve is read where it crosses the source heatmap's pixel columns (when it runs
    more along ``x`` than along ``y``) or pixel rows: there the bilinear interpolation of
    the heatmap is a linear interpolation between two pixels, one read of two values.
    A line across a heatmap crosses at most ``max(H, W)`` of them, about one per pixel
    of its length.

    Attributes
    ----------
    pairs : (P, 2) int, ``(u, v)`` of each pair.
    index : (G, P, K, S) int32, flat index ``y * W + x`` in the source heatmap of the
        first of the two pixels each read interpolates; a curve's reads come first,
        followed by ``-1`` (and ``frac`` 0) up to ``S``.
    count : (G, P, K) int32, the number of reads of each curve.
    step : (G, P, K) int32, from a read's first pixel to its second: ``W`` (the pixel
        below: the curve crosses columns) or ``1`` (the pixel to the right: it crosses
        rows).
    frac : (G, P, K, S) float32, the weight in ``[0, 1]`` of the second pixel.
    bins : (G, P, H * W) int32, for every target pixel the curve ``k`` such that its
        epipolar half-plane lies between those of curves ``k`` and ``k + 1``.
    weights : (G, P, H * W) float32, the interpolation weight of curve ``k + 1``.
    angles : (G, P, K) float64, the epipolar half-plane of each curve: its angle (rad)
        about the baseline from the half-plane of the target heatmap's centre.
    """

    n_views: int
    heatmap_size: tuple[int, int]
    pairs: np.ndarray
    index: np.ndarray
    count: np.ndarray
    step: np.ndarray
    frac: np.ndarray
    bins: np.ndarray
    weights: np.ndarray
    angles: np.ndarray

    # -------------------------------------------------------------- construction
    @classmethod
    def build(cls, cameras: Sequence[Camera], affines: ArrayLike, heatmap_size: tuple[int, int],
              n_samples: int | None = None, n_lines: int | None = None) -> EpipolarSampler:
        """Trace the curves for ``cameras`` and ``affines`` ``(V, 2, 3)`` or ``(G, V, 2, 3)``.

        ``n_lines`` curves per view pair (default ``4 max(H, W)``), spread evenly in
        angle over the epipolar half-planes of the target heatmap's pixels. Each curve
        is the part of its epipolar line (in ideal pixels of the source camera) whose
        points can lie in front of both cameras, inside the source heatmap and inside
        the fold of the source camera's lens (:attr:`crossview.Camera.fold_radius`),
        seen through the lens and the crop affine. It is read where it crosses the
        heatmap's columns (or rows), at most ``n_samples`` times (default
        ``max(H, W)``: every column; fewer read every second, third, ... column).
        """
        H, W = check_size(heatmap_size, "heatmap_size", minimum=2)
        cameras = check_cameras(cameras)
        V = len(cameras)
        A = to_numpy(as_float_array(affines, "affines", trailing=(V, 2, 3), min_ndim=3))
        if A.ndim == 3:
            A = A[None]
        if A.ndim != 4:
            raise ValueError(f"affines must have shape (V, 2, 3) or (B, V, 2, 3), got {A.shape}")
        S = check_int(n_samples, "n_samples", 2) if n_samples is not None else max(H, W)
        K = check_int(n_lines, "n_lines", 2) if n_lines is not None else 4 * max(H, W)
        G = A.shape[0]
        pairs = view_pairs(V)
        centers = np.stack([c.center for c in cameras])
        near = np.linalg.norm(centers[:, None] - centers[None], axis=-1) < 1e-9
        for u, v in pairs:
            if near[u, v]:
                raise ValueError(f"cameras {u} and {v} share a centre; fusion needs a baseline")
        P = len(pairs)
        lens = np.array([c.has_distortion for c in cameras])
        fold = np.array([c.fold_radius for c in cameras])
        index = np.empty((G, P, K, S), dtype=np.int32)
        frac = np.empty((G, P, K, S), dtype=np.float32)
        count = np.empty((G, P, K), dtype=np.int32)
        step = np.empty((G, P, K), dtype=np.int32)
        bins = np.empty((G, P, H * W), dtype=np.int32)
        weights = np.empty((G, P, H * W), dtype=np.float32)
        angles = np.empty((G, P, K))
        Ks = np.stack([c.K for c in cameras])
        tracer = load_kernel("curves", "numba" if numba_available() else "naive")
        tracer.trace(Ks, np.linalg.inv(Ks), np.stack([c.R for c in cameras]),
              np.stack([c.t for c in cameras]), np.stack([c.dist for c in cameras]), lens,
              fold * fold, np.ascontiguousarray(A), invert_affine(A), pairs, H, W,
              _border(H, W), index, count, step, frac, bins, weights, angles)
        return cls(n_views=V, heatmap_size=(H, W), pairs=pairs, index=index, count=count,
                   step=step, frac=frac, bins=bins, weights=weights, angles=angles)

    # -------------------------------------------------------------- sizes
    @property
    def n_frames(self) -> int:
        """``G``: 1 for affines shared by all frames, else the number of frames."""
        return self.index.shape[0]

    @property
    def n_lines(self) -> int:
        return self.index.shape[2]

    @property
    def n_samples(self) -> int:
        """``S``: the most reads a curve can have."""
        return self.index.shape[3]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.index, self.count, self.step, self.frac, self.bins,
                                      self.weights))

    def pair_index(self, u: int, v: int) -> int:
        """Row of the ordered pair (target ``u``, source ``v``) in :attr:`pairs`."""
        return pair_index(self.n_views, u, v)

    # -------------------------------------------------------------- inspection
    def positions(self, frame: int = 0) -> np.ndarray:
        """Read positions ``(P, K, S, 2)`` in source heatmap pixels, NaN after a curve's reads.

        Positions in the half-pixel margin of the heatmap are moved onto its outer
        pixel centres, as the interpolation sees them.
        """
        W = self.heatmap_size[1]
        ok = self.index[frame] >= 0
        idx = np.where(ok, self.index[frame], 0).astype(np.int64)
        f = self.frac[frame].astype(np.float64)
        across = (self.step[frame] == W)[..., None]           # the curve crosses columns
        x = idx % W + np.where(across, 0.0, f)
        y = idx // W + np.where(across, f, 0.0)
        return np.where(ok[..., None], np.stack([x, y], -1), np.nan)

    def pixel_curve(self, u: int, v: int, pixel: tuple[int, int], frame: int = 0) -> np.ndarray:
        """The epipolar curve ``(S, 2)`` in view ``v`` of heatmap pixel ``(i, j)`` of view ``u``.

        Interpolated between the two curves that bracket the pixel's epipolar half-plane,
        at the columns (or rows) both cross; NaN after those. Where the two cross
        different sets (one runs more along ``x``, the other along ``y``), the reads of
        the nearer curve.
        """
        H, W = self.heatmap_size
        i, j = pixel
        if not (0 <= i < H and 0 <= j < W):
            raise ValueError(f"pixel must be (row, column) inside {H}x{W}, got {pixel!r}")
        p = self.pair_index(u, v)
        q = i * W + j
        k, w = int(self.bins[frame, p, q]), float(self.weights[frame, p, q])
        xy = self.positions(frame)[p]
        out = np.full((self.n_samples, 2), np.nan)
        a, b = xy[k], xy[k + 1]
        a, b = a[~np.isnan(a).any(-1)], b[~np.isnan(b).any(-1)]
        if self.step[frame, p, k] != self.step[frame, p, k + 1]:
            near = a if w < 0.5 else b
            out[:len(near)] = near
            return out
        axis = 0 if self.step[frame, p, k] == W else 1        # the coordinate reads share
        common, ia, ib = np.intersect1d(a[:, axis], b[:, axis], return_indices=True)
        out[:len(common)] = (1.0 - w) * a[ia] + w * b[ib]
        return out

    def fusion_matrix(self, u: int, v: int, frame: int = 0) -> np.ndarray:
        """The mean-along-the-curve evidence as a matrix ``M`` ``(H W, H W)``.

        ``M @ h_v.ravel()`` is the evidence that view ``v`` sends to every pixel of
        view ``u`` with ``reduce="mean"`` (linear in the source heatmap, unlike
        ``"max"``). Row ``i * W + j`` is the weight map of target pixel ``(i, j)``.
        """
        H, W = self.heatmap_size
        p = self.pair_index(u, v)
        K, S = self.n_lines, self.n_samples
        valid = self.index[frame, p] >= 0
        idx = self.index[frame, p]
        f = self.frac[frame, p].astype(np.float64)
        second = idx + self.step[frame, p][:, None]
        curves = np.zeros((K, H * W))
        rows = np.repeat(np.arange(K), S).reshape(K, S)
        count = np.maximum(valid.sum(1, keepdims=True), 1)
        for pix, wgt in ((idx, 1.0 - f), (second, f)):
            np.add.at(curves, (rows[valid], pix[valid]), (wgt / count)[valid])
        k = self.bins[frame, p]
        w = self.weights[frame, p].astype(np.float64)[:, None]
        return (1.0 - w) * curves[k] + w * curves[k + 1]


# ---------------------------------------------------------------------- cache
_CACHE: OrderedDict[str, EpipolarSampler] = OrderedDict()
_CACHE_SIZE = 8


def _geometry_key(cameras, affines: np.ndarray, size, n_samples, n_lines) -> str:
    h = hashlib.sha1()
    for c in cameras:
        for arr in (c.K, c.R, c.t, c.dist):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(affines, dtype=np.float64).tobytes())
    h.update(repr((affines.shape, tuple(size), n_samples, n_lines)).encode())
    return h.hexdigest()


def get_sampler(cameras: Sequence[Camera], affines: ArrayLike, heatmap_size: tuple[int, int],
                n_samples: int | None = None, n_lines: int | None = None) -> EpipolarSampler:
    """:meth:`EpipolarSampler.build`, remembered for the last few geometries.

    The curves depend only on the cameras, affines and sizes, never on heatmap
    values: a rig with fixed crops builds them once for all frames and joints.
    """
    A = to_numpy(as_float_array(affines, "affines", trailing=(2, 3)))
    key = _geometry_key(cameras, A, check_size(heatmap_size, "heatmap_size", minimum=2),
                        n_samples, n_lines)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    sampler = EpipolarSampler.build(cameras, A, heatmap_size, n_samples, n_lines)
    _CACHE[key] = sampler
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return sampler


def clear_sampler_cache() -> None:
    """Forget the remembered geometries (the next :func:`get_sampler` traces again)."""
    _CACHE.clear()
