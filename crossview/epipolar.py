"""Epipolar geometry of two calibrated cameras, in image pixels and in heatmap pixels.

A pixel ``x_a`` of camera ``a`` back-projects to a ray from the centre ``C_a``. Every
3D point on that ray projects into camera ``b`` onto one line, the *epipolar line*
``l_b = F x_a``, where ``F`` is the fundamental matrix: ``x_b^T F x_a = 0`` for the
homogeneous pixels of any 3D point seen by both cameras (Hartley and Zisserman,
*Multiple View Geometry*, 2nd ed., ch. 9). With lens distortion the line bends into a
curve; :func:`epipolar_curve` traces it by projecting points of the ray.

:class:`EpipolarSampler` precomputes, for a rig and its crop affines, where the
analytic cross-view fusion of :mod:`crossview.fusion` reads each source heatmap.
The rays of all pixels of view ``u`` that lie in one epipolar half-plane (bounded by
the baseline through both camera centres) have one epipolar curve in view ``v``: the
part of the line whose points lie in front of camera ``u``. So the sampler traces a
fan of ``n_lines`` curves per ordered view pair, reads each where it crosses the
source heatmap's pixel columns (or rows), and gives every target pixel the two curves
that bracket its half-plane and an interpolation weight. This is exact geometry
(distortion included, up to the lens' fold) and ``H W / n_lines`` times less work
than tracing one curve per pixel.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._array import ArrayLike, is_torch, like, to_numpy, xp
from ._validate import as_float_array, check_affines, check_int
from .camera import Camera
from .heatmap import _size, invert_affine

__all__ = [
    "EpipolarSampler",
    "epipolar_curve",
    "epipolar_lines",
    "epipole",
    "essential_matrix",
    "fundamental_matrices",
    "fundamental_matrix",
    "get_sampler",
    "point_line_distance",
    "relative_pose",
    "skew",
]


# ---------------------------------------------------------------------- two-view algebra
def skew(v: ArrayLike) -> np.ndarray:
    """The cross-product matrix ``[v]_x`` ``(3, 3)`` of ``v`` ``(3,)``: ``[v]_x w = v x w``."""
    x, y, z = np.asarray(v, dtype=np.float64).reshape(3)
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def _check_camera(cam, name: str) -> Camera:
    if not isinstance(cam, Camera):
        raise TypeError(f"{name} must be a crossview.Camera, got {type(cam).__name__}")
    return cam


def relative_pose(cam_a: Camera, cam_b: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pose of camera ``b`` relative to camera ``a``: ``(R, t)`` with ``x_b = R x_a + t``.

    ``x_a``, ``x_b`` are the camera-frame coordinates (mm) of one world point.
    """
    _check_camera(cam_a, "cam_a")
    _check_camera(cam_b, "cam_b")
    R = cam_b.R @ cam_a.R.T
    return R, cam_b.t - R @ cam_a.t


def essential_matrix(cam_a: Camera, cam_b: Camera) -> np.ndarray:
    """Essential matrix ``E = [t]_x R`` ``(3, 3)``: ``y_b^T E y_a = 0`` for normalised points.

    ``y = K^{-1} x`` are normalised (undistorted) image coordinates. Raises
    ``ValueError`` when the two cameras share a centre (no baseline, no epipolar
    geometry).
    """
    R, t = relative_pose(cam_a, cam_b)
    if np.linalg.norm(t) < 1e-9 * max(1.0, np.linalg.norm(cam_a.t)):
        raise ValueError("cam_a and cam_b have the same centre; epipolar geometry needs a baseline")
    return skew(t) @ R


def _homogeneous_affine(A: np.ndarray) -> np.ndarray:
    """``(..., 2, 3)`` affines -> ``(..., 3, 3)`` homogeneous matrices."""
    out = np.zeros(A.shape[:-2] + (3, 3))
    out[..., :2, :] = A
    out[..., 2, 2] = 1.0
    return out


def fundamental_matrix(cam_a: Camera, cam_b: Camera, affine_a: ArrayLike | None = None,
                       affine_b: ArrayLike | None = None):
    """Fundamental matrix ``F`` ``(3, 3)`` with ``x_b^T F x_a = 0`` in pixels of ``a`` and ``b``.

    ``F = K_b^{-T} [t]_x R K_a^{-1}`` (see :func:`essential_matrix`), scaled to unit
    Frobenius norm. Pixels are ideal (undistorted) pixels; a lens bends the line, see
    :func:`epipolar_curve`.

    With ``affine_a`` and ``affine_b`` (``(..., 2, 3)``, image px -> heatmap px, batch
    dimensions broadcast) the constraint is lifted to heatmap pixels: with
    homogeneous affines ``M = [[A], [0, 0, 1]]``, ``h = M x`` and so
    ``F_h = M_b^{-T} F M_a^{-1}`` ``(..., 3, 3)``. Torch affines give a tensor.
    """
    E = essential_matrix(cam_a, cam_b)
    F = np.linalg.inv(cam_b.K).T @ E @ np.linalg.inv(cam_a.K)
    F = F / np.linalg.norm(F)
    if affine_a is None and affine_b is None:
        return F
    if affine_a is None or affine_b is None:
        raise ValueError("give both affine_a and affine_b (or neither)")
    ref = affine_a if is_torch(affine_a) else affine_b
    Aa = check_affines(to_numpy(as_float_array(affine_a, "affine_a", trailing=(2, 3))), "affine_a")
    Ab = check_affines(to_numpy(as_float_array(affine_b, "affine_b", trailing=(2, 3))), "affine_b")
    Ma_inv = np.linalg.inv(_homogeneous_affine(Aa))
    Mb_inv = np.linalg.inv(_homogeneous_affine(Ab))
    Fh = np.swapaxes(Mb_inv, -1, -2) @ F @ Ma_inv
    Fh = Fh / np.linalg.norm(Fh, axis=(-2, -1), keepdims=True)
    return like(Fh, ref) if is_torch(ref) else Fh


def fundamental_matrices(cameras: Sequence[Camera], affines: ArrayLike | None = None):
    """All ordered pairs: ``(V, V, 3, 3)``, entry ``[a, b]`` maps pixels of ``a`` to lines of ``b``.

    With ``affines`` ``(..., V, 2, 3)`` the matrices act on heatmap pixels and have
    shape ``(..., V, V, 3, 3)``. The diagonal (a view with itself) is zero.
    """
    V = len(cameras)
    if affines is None:
        out = np.zeros((V, V, 3, 3))
        for a in range(V):
            for b in range(V):
                if a != b:
                    out[a, b] = fundamental_matrix(cameras[a], cameras[b])
        return out
    A = as_float_array(affines, "affines", trailing=(V, 2, 3))
    An = to_numpy(A)
    out = np.zeros(An.shape[:-3] + (V, V, 3, 3))
    for a in range(V):
        for b in range(V):
            if a != b:
                out[..., a, b, :, :] = fundamental_matrix(cameras[a], cameras[b],
                                                          An[..., a, :, :], An[..., b, :, :])
    return like(out, A) if is_torch(A) else out


def epipole(cam_a: Camera, cam_b: Camera) -> np.ndarray:
    """Where camera ``b`` sees the centre of camera ``a``: homogeneous pixel ``(3,)``.

    Scaled so that the last entry is 1 when the epipole is finite; the null vector
    of ``F^T`` (``e_b^T F = 0``). It may lie outside the image, or behind camera ``b``.
    """
    e = cam_b.P @ np.append(cam_a.center, 1.0)
    return e / e[2] if abs(e[2]) > 1e-12 * np.abs(e).max() else e / np.linalg.norm(e)


def epipolar_lines(points: ArrayLike, F: ArrayLike):
    """Epipolar lines ``l = F x`` ``(..., 3)`` of pixels ``(..., 2)``, with ``a^2 + b^2 = 1``.

    A line ``(a, b, c)`` holds the points with ``a x + b y + c = 0``; normalised so,
    ``|l . (x, y, 1)|`` is the distance of ``(x, y)`` to the line in pixels. ``F``
    ``(..., 3, 3)`` broadcasts against the batch dimensions of ``points``.
    """
    points = as_float_array(points, "points", trailing=(2,))
    F = like(as_float_array(F, "F", trailing=(3, 3)), points)
    m = xp(points)
    xh = m.concatenate([points, m.ones_like(points[..., :1])], -1) if not is_torch(points) \
        else m.cat([points, m.ones_like(points[..., :1])], -1)
    lines = (F @ xh[..., :, None])[..., 0]
    norm = (lines[..., 0] ** 2 + lines[..., 1] ** 2) ** 0.5
    return lines / norm[..., None]


def point_line_distance(points: ArrayLike, lines: ArrayLike):
    """Distance (pixels) of points ``(..., 2)`` to lines ``(..., 3)``, broadcast -> ``(...)``.

    NaN points (e.g. the gaps of :func:`epipolar_curve`) give NaN distances.
    """
    points = as_float_array(points, "points", trailing=(2,), finite=False)
    lines = like(as_float_array(lines, "lines", trailing=(3,)), points)
    num = lines[..., 0] * points[..., 0] + lines[..., 1] * points[..., 1] + lines[..., 2]
    den = (lines[..., 0] ** 2 + lines[..., 1] ** 2) ** 0.5
    return abs(num) / den


def epipolar_curve(uv: ArrayLike, cam_a: Camera, cam_b: Camera, depths: ArrayLike | None = None,
                   distort: bool = True, affine_b: ArrayLike | None = None,
                   heatmap_size: tuple[int, int] | None = None) -> np.ndarray:
    """The image in camera ``b`` of the rays through pixels ``uv`` of camera ``a``.

    ``uv`` ``(..., 2)`` are pixels as camera ``a`` records them (distorted); each is
    undistorted and back-projected, points at camera-``a`` depths ``depths`` ``(S,)``
    (mm; default 64 depths from 0.2 m to 20 m, evenly spaced in inverse depth) are
    placed on its ray and projected into camera ``b`` *with* its lens distortion
    (``distort=False``: the ideal pinhole, which gives points on the straight line
    ``F x``). Returns ``(..., S, 2)`` pixels of ``b``, NaN where the point is behind
    camera ``b`` or, with distortion, at or beyond the fold of ``b``'s lens
    (:attr:`crossview.Camera.fold_radius`), where the polynomial model folds back and
    no longer describes a lens. A pixel of ``a`` beyond the fold of ``a``'s lens has
    no ray: its curve is all NaN. With ``affine_b`` the result is in heatmap pixels of
    ``b``, and with ``heatmap_size`` ``(H, W)`` too, points outside the heatmap are NaN.
    """
    _check_camera(cam_a, "cam_a")
    _check_camera(cam_b, "cam_b")
    uv = to_numpy(as_float_array(uv, "uv", trailing=(2,)))
    if depths is None:
        depths = 1.0 / np.linspace(1.0 / 200.0, 1.0 / 20000.0, 64)
    depths = to_numpy(as_float_array(depths, "depths", trailing=(None,)))
    if depths.ndim != 1 or (depths <= 0).any():
        raise ValueError("depths must be a 1-D array of positive camera-a depths (mm)")
    # the point at depth z of a pixel's ray is C + z (X_1 - C), X_1 the point at depth 1
    C = cam_a.center
    ideal = cam_a.undistort_points(uv)                   # NaN where uv lies past a's fold
    ray = ~np.isnan(ideal).any(-1)
    X1 = cam_a.unproject(np.where(ray[..., None], ideal, cam_a.K[:2, 2]),
                         np.ones(uv.shape[:-1]), undistort=False)
    X = C + depths[:, None] * (X1 - C)[..., None, :]                     # (..., S, 3)
    out = cam_b.project(X, distort=distort, allow_behind=True)
    Xc = cam_b.world_to_camera(X)
    keep = (Xc[..., 2] > 0) & ray[..., None]
    if distort and cam_b.has_distortion:
        with np.errstate(divide="ignore", invalid="ignore"):
            radius = np.linalg.norm(Xc[..., :2] / Xc[..., 2:], axis=-1)
        keep &= radius < cam_b.fold_radius
    out = np.where(keep[..., None], out, np.nan)
    if affine_b is not None:
        A = to_numpy(as_float_array(affine_b, "affine_b", trailing=(2, 3)))
        out = out @ A[:, :2].T + A[:, 2]       # NaN (behind camera b) stays NaN
        if heatmap_size is not None:
            H, W = _heatmap_size(heatmap_size)
            inside = (out[..., 0] >= -0.5) & (out[..., 0] <= W - 0.5) & \
                     (out[..., 1] >= -0.5) & (out[..., 1] <= H - 0.5)
            out = np.where(inside[..., None], out, np.nan)
    elif heatmap_size is not None:
        raise ValueError("heatmap_size needs affine_b (the map from image to heatmap pixels)")
    return out


def _heatmap_size(size, minimum: int = 2) -> tuple[int, int]:
    """``(H, W)`` as two integers >= ``minimum`` (8.5 is an error, not 8)."""
    try:
        H, W = _size(size)
    except ValueError:
        H = W = 0
    if min(H, W) < minimum:
        raise ValueError(f"heatmap_size must be (H, W) with positive integers"
                         f"{f' >= {minimum}' if minimum > 1 else ''}, got {size!r}")
    return H, W


# ---------------------------------------------------------------------- the fusion sampler
def _view_pairs(V: int) -> np.ndarray:
    """Ordered view pairs ``(V (V - 1), 2)``: ``(u, v)``, ``u != v``, by ``u`` then ``v``."""
    return np.array([(u, v) for u in range(V) for v in range(V) if v != u], dtype=np.int64)


def _pair_index(V: int, u: int, v: int) -> int:
    """Row of the ordered pair (target ``u``, source ``v``) in :func:`_view_pairs`."""
    if not (0 <= u < V and 0 <= v < V) or u == v:
        raise ValueError(f"(u, v) must be two different views in 0..{V - 1}, got ({u}, {v})")
    return u * (V - 1) + (v if v < u else v - 1)


def _pixel_grid(H: int, W: int) -> np.ndarray:
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
        from .kernels.fusion_numba import trace

        H, W = _heatmap_size(heatmap_size)
        cameras = list(cameras)
        V = len(cameras)
        if V < 2:
            raise ValueError(f"cameras must hold at least two views, got {V}")
        for i, c in enumerate(cameras):
            _check_camera(c, f"cameras[{i}]")
        A = to_numpy(as_float_array(affines, "affines", trailing=(V, 2, 3), min_ndim=3))
        if A.ndim == 3:
            A = A[None]
        if A.ndim != 4:
            raise ValueError(f"affines must have shape (V, 2, 3) or (B, V, 2, 3), got {A.shape}")
        S = check_int(n_samples, "n_samples", 2) if n_samples is not None else max(H, W)
        K = check_int(n_lines, "n_lines", 2) if n_lines is not None else 4 * max(H, W)
        G = A.shape[0]
        pairs = _view_pairs(V)
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
        trace(Ks, np.linalg.inv(Ks), np.stack([c.R for c in cameras]),
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
        return _pair_index(self.n_views, u, v)

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
    key = _geometry_key(cameras, A, _heatmap_size(heatmap_size), n_samples, n_lines)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    sampler = EpipolarSampler.build(cameras, A, heatmap_size, n_samples, n_lines)
    _CACHE[key] = sampler
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return sampler
