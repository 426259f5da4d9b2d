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
fan of ``n_lines`` curves per ordered view pair, ``n_samples`` points each, and gives
every target pixel the two curves that bracket its half-plane and an interpolation
weight. This is
exact geometry (distortion included) and ``H W / n_lines`` times less work than
tracing one curve per pixel.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._array import ArrayLike, is_torch, like, to_numpy, xp
from ._validate import as_float_array, check_affines, check_int
from .camera import (
    Camera,
    normalized_to_pixels,
    pixels_to_normalized,
    undistort_normalized,
)
from .heatmap import _size, apply_affine, invert_affine

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
    camera ``b`` or, with distortion and a known ``image_size``, more than half the
    image diagonal outside the image, where the polynomial lens model no longer
    describes the lens. With ``affine_b`` the result is in heatmap pixels of ``b``, and with
    ``heatmap_size`` ``(H, W)`` too, points outside the heatmap are NaN.
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
    X1 = cam_a.unproject(uv, np.ones(uv.shape[:-1]))
    X = C + depths[:, None] * (X1 - C)[..., None, :]                     # (..., S, 3)
    out = cam_b.project(X, distort=distort, allow_behind=True)
    keep = cam_b.depth(X) > 0
    if distort and cam_b.has_distortion and cam_b.image_size is not None:
        w, h = cam_b.image_size
        ideal = cam_b.project(X, distort=False, allow_behind=True)
        centre = np.array([(w - 1) / 2, (h - 1) / 2])
        keep &= np.linalg.norm(ideal - centre, axis=-1) < np.hypot(w, h)
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


def _border(H: int, W: int, per_edge: int = 16) -> np.ndarray:
    """Points ``(4 * per_edge, 2)`` on the outer edge of a heatmap (its pixels' outer edges)."""
    s = np.linspace(0.0, 1.0, per_edge, endpoint=False)
    x0, x1, y0, y1 = -0.5, W - 0.5, -0.5, H - 0.5
    top = np.stack([x0 + s * (x1 - x0), np.full_like(s, y0)], -1)
    right = np.stack([np.full_like(s, x1), y0 + s * (y1 - y0)], -1)
    bottom = np.stack([x1 - s * (x1 - x0), np.full_like(s, y1)], -1)
    left = np.stack([np.full_like(s, x0), y1 - s * (y1 - y0)], -1)
    return np.concatenate([top, right, bottom, left])


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _any_perpendicular(b: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to the unit vector ``b`` ``(3,)``."""
    helper = np.eye(3)[int(np.argmin(np.abs(b)))]
    return _unit(np.cross(b, helper))


def _clip_lines_to_boxes(p0, d, box):
    """Liang-Barsky: the parameter range of ``p0 + tau d`` inside ``box``.

    ``p0``, ``d`` ``(..., 2)``; ``box`` ``(..., 4)`` as ``xmin, xmax, ymin, ymax``.
    Returns ``(tau0, tau1)``; empty where ``tau0 > tau1``.
    """
    lo = np.stack([box[..., 0], box[..., 2]], -1)
    hi = np.stack([box[..., 1], box[..., 3]], -1)
    flat = np.abs(d) < 1e-12
    safe = np.where(flat, 1.0, d)
    ta, tb = (lo - p0) / safe, (hi - p0) / safe
    inside = (p0 >= lo) & (p0 <= hi)
    tmin = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(ta, tb))
    tmax = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(ta, tb))
    return tmin.max(-1), tmax.min(-1)


def _in_front_of_both(ideal: np.ndarray, cam_v: Camera, base: np.ndarray,
                      rays_u: np.ndarray) -> np.ndarray:
    """Which points of the epipolar curves can be a point in front of both cameras.

    ``ideal`` ``(G, K, S, 2)`` are ideal pixels of camera ``v`` on the curves of ``K``
    half-planes, ``rays_u`` ``(G, K, 3)`` a ray of camera ``u`` in each half-plane and
    ``base`` the unit baseline from ``u`` to ``v``. The ray of each point
    (``C_v + beta r``) meets the half-plane's ray (``C_u + alpha d``) where
    ``alpha d - beta r = base``; the point is kept when ``alpha`` and ``beta`` are
    positive. This keeps the half of the line in front of camera ``u``: the two halves
    meet at the epipole, which matters when ``u`` stands inside the crop of ``v``.
    """
    ok = np.linalg.norm(rays_u, axis=-1) > 1e-12
    # (b x r).(d x r) and (b x d).(d x r) by the identity (a x c).(e x c) = (a.e)(c.c) -
    # (a.c)(e.c), with the dot products taken in camera v's frame, where r = (x_n, y_n, 1).
    xn = pixels_to_normalized(ideal, cam_v.K)
    bv = cam_v.R @ base                                                  # (3,)
    dv = rays_u @ cam_v.R.T                                              # (G, K, 3)
    rr = 1.0 + (xn * xn).sum(-1)
    br = xn @ bv[:2] + bv[2]
    dr = (xn * dv[:, :, None, :2]).sum(-1) + dv[:, :, None, 2]
    bd = (rays_u @ base)[..., None]
    dd = (rays_u * rays_u).sum(-1)[..., None]
    alpha = bd * rr - br * dr
    beta = bd * dr - br * dd
    # the epipole itself (alpha = 0) is kept, whatever the rounding says
    tol = 1e-9 * np.sqrt(dd * rr)
    return ~ok[..., None] | ((alpha > -tol) & (beta > -tol))


@dataclass(frozen=True, eq=False)
class EpipolarSampler:
    """Where analytic fusion reads each source heatmap: a fan of epipolar curves per view pair.

    Built by :meth:`build` (or, cached, by :func:`get_sampler`). ``G`` is 1 when the
    affines are shared by all frames and the number of frames otherwise; ``P = V (V - 1)``
    ordered pairs ``(u, v)`` (target ``u`` receives evidence from source ``v``), in the
    order ``u = 0, 1, ...`` and, within ``u``, increasing ``v``; ``K = n_lines``,
    ``S = n_samples``.

    Attributes
    ----------
    pairs : (P, 2) int, ``(u, v)`` of each pair.
    index : (G, P, K, S) int32, flat index ``y0 * W + x0`` of the top-left pixel of the
        bilinear read of each sample in the source heatmap; ``-1`` where the sample
        falls outside it.
    frac : (G, P, K, S, 2) float32, the bilinear weights ``(fx, fy)`` in ``[0, 1]``.
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
    frac: np.ndarray
    bins: np.ndarray
    weights: np.ndarray
    angles: np.ndarray

    # -------------------------------------------------------------- construction
    @classmethod
    def build(cls, cameras: Sequence[Camera], affines: ArrayLike, heatmap_size: tuple[int, int],
              n_samples: int | None = None, n_lines: int | None = None) -> EpipolarSampler:
        """Trace the curves for ``cameras`` and ``affines`` ``(V, 2, 3)`` or ``(G, V, 2, 3)``.

        ``n_samples`` points per curve (default ``ceil(hypot(H, W))``, about one per
        heatmap pixel along a diagonal) and ``n_lines`` curves per view pair (default
        ``4 max(H, W)``).
        """
        from .kernels.fusion_numba import trace_curves, trace_curves_serial

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
        S = check_int(n_samples, "n_samples", 2) if n_samples is not None else \
            int(np.ceil(np.hypot(H, W)))
        K = check_int(n_lines, "n_lines", 2) if n_lines is not None else 4 * max(H, W)
        G = A.shape[0]
        pairs = _view_pairs(V)
        P = len(pairs)

        Ainv = invert_affine(A)                                     # (G, V, 2, 3)
        grid = _pixel_grid(H, W)                                     # (HW, 2)
        centre = np.array([[(W - 1) / 2.0, (H - 1) / 2.0]])
        border = _border(H, W)
        # Per view: homogeneous normalised (undistorted) coordinates of the pixel centres
        # and of the heatmap's centre, and the box of ideal pixels its border spans.
        rays, centre_rays, boxes = [], [], []
        for v, cam in enumerate(cameras):
            pts = apply_affine(Ainv[:, v], np.concatenate([grid, centre, border]))
            xn = undistort_normalized(pixels_to_normalized(pts, cam.K), cam.dist, iterations=8) \
                if cam.has_distortion else pixels_to_normalized(pts, cam.K)
            ray = np.concatenate([xn, np.ones(xn.shape[:-1] + (1,))], -1)   # camera frame
            rays.append(ray[:, :H * W])
            centre_rays.append(ray[:, H * W] @ cam.R)                       # world frame
            ideal = normalized_to_pixels(xn[:, H * W + 1:], cam.K)
            lo, hi = ideal.min(1), ideal.max(1)
            pad = 1e-6 * (hi - lo).max(-1)
            boxes.append(np.stack([lo[:, 0] - pad, hi[:, 0] + pad, lo[:, 1] - pad,
                                   hi[:, 1] + pad], -1))

        index = np.empty((G, P, K, S), dtype=np.int32)
        frac = np.empty((G, P, K, S, 2), dtype=np.float32)
        bins = np.empty((G, P, H * W), dtype=np.int32)
        weights = np.empty((G, P, H * W), dtype=np.float32)
        angles = np.empty((G, P, K))
        idx_p = np.empty((G, K, S), dtype=np.int32)
        frac_p = np.empty((G, K, S, 2), dtype=np.float32)
        for p, (u, v) in enumerate(pairs):
            cu, cv_ = cameras[u], cameras[v]
            base = cv_.center - cu.center
            if np.linalg.norm(base) < 1e-9:
                raise ValueError(f"cameras {u} and {v} share a centre; fusion needs a baseline")
            base = base / np.linalg.norm(base)
            # Every ray from C_u lies in a half-plane bounded by the baseline; a half-plane
            # is given by its angle about the baseline, measured from the half-plane of
            # the heatmap's centre (basis e1, e2 of the normals n = base x d).
            e1 = np.cross(base, centre_rays[u])                          # (G, 3)
            ok = np.linalg.norm(e1, axis=-1) > 1e-9
            e1 = np.where(ok[:, None], _unit(e1), _any_perpendicular(base))
            e2 = np.cross(base, e1)
            # For unit base perpendicular to e1: n . e1 = -d . e2 and n . e2 = d . e1. The
            # dot products are taken in u's camera frame, where d is (x_n, y_n, 1).
            d_e = rays[u] @ (cu.R @ np.stack([e1, e2], -1))                # (G, HW, 2)
            phi = np.arctan2(d_e[..., 0], -d_e[..., 1])                   # in (-pi, pi]
            lo, hi = phi.min(1), phi.max(1)
            # Half-planes of pixels that do not surround the epipole span less than pi;
            # a heatmap around the epipole (camera v in view) meets all of them.
            wide = hi - lo > np.pi
            lo = np.where(wide, -np.pi, lo)
            hi = np.where(wide, np.pi, np.maximum(hi, lo + 1e-12))
            t = (phi - lo[:, None]) / (hi - lo)[:, None] * (K - 1)
            k0 = np.clip(np.floor(t), 0, K - 2)
            bins[:, p] = k0.astype(np.int32)
            weights[:, p] = np.clip(t - k0, 0.0, 1.0)
            ang = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, K)   # (G, K)
            angles[:, p] = ang
            n_k = np.cos(ang)[..., None] * e1[:, None] + np.sin(ang)[..., None] * e2[:, None]
            # A typical ray of each half-plane: the heatmap centre's ray projected onto the
            # plane, mirrored across the baseline when it falls into the other half.
            c = centre_rays[u][:, None, :]
            d_k = c - (c * n_k).sum(-1, keepdims=True) * n_k
            side = (d_k * np.cross(n_k, base)).sum(-1, keepdims=True)
            d_k = np.where(side >= 0, d_k, 2 * (d_k @ base)[..., None] * base - d_k)
            # The half-plane seen from C_v: on the line K_v^{-T} R_v n of ideal pixels.
            lines = n_k @ (np.linalg.inv(cv_.K).T @ cv_.R).T                # (G, K, 3)
            ab = np.hypot(lines[..., 0], lines[..., 1])
            good = ab > 1e-12
            ab = np.where(good, ab, 1.0)
            normal = lines[..., :2] / ab[..., None]
            p0 = -normal * (lines[..., 2] / ab)[..., None]
            d = np.stack([-normal[..., 1], normal[..., 0]], -1)
            tau0, tau1 = _clip_lines_to_boxes(p0, d, boxes[v][:, None, :])
            # Only the part of a line on one side of the epipole (camera u seen by v) can
            # hold points in front of u: spend the samples there.
            e = cv_.K @ (cv_.R @ cu.center + cv_.t)
            if abs(e[2]) > 1e-12 * np.abs(e).max():
                tau_e = ((e[:2] / e[2] - p0) * d).sum(-1)                 # (G, K)
                probe = p0[..., None, :] + (tau_e[..., None, None] + np.array([[-1.0], [1.0]])) \
                    * d[..., None, :]                                    # (G, K, 2, 2)
                before, after = np.moveaxis(_in_front_of_both(probe, cv_, base, d_k), -1, 0)
                tau0 = np.where(after & ~before, np.maximum(tau0, tau_e), tau0)
                tau1 = np.where(before & ~after, np.minimum(tau1, tau_e), tau1)
            good &= tau0 <= tau1
            # S samples per curve: ideal pixel, in front of both cameras, through the lens
            # of v, through the crop affine, then the bilinear read's corner and weights.
            # one frame runs on one thread (no barrier to wait at on a busy machine)
            trace = trace_curves_serial if G == 1 else trace_curves
            trace(p0, d, tau0, tau1, good, cv_.R @ base, d_k @ cv_.R.T, d_k @ base,
                  (d_k * d_k).sum(-1), cv_.K, cv_.dist, np.ascontiguousarray(A[:, v]),
                  H, W, idx_p, frac_p)
            index[:, p], frac[:, p] = idx_p, frac_p
        return cls(n_views=V, heatmap_size=(H, W), pairs=pairs, index=index, frac=frac,
                   bins=bins, weights=weights, angles=angles)

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
        return self.index.shape[3]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.index, self.frac, self.bins, self.weights))

    def pair_index(self, u: int, v: int) -> int:
        """Row of the ordered pair (target ``u``, source ``v``) in :attr:`pairs`."""
        return _pair_index(self.n_views, u, v)

    # -------------------------------------------------------------- inspection
    def positions(self, frame: int = 0) -> np.ndarray:
        """Sample positions ``(P, K, S, 2)`` in source heatmap pixels, NaN outside the heatmap.

        Positions in the half-pixel margin of the heatmap are moved onto its outer
        pixel centres, as the bilinear read sees them.
        """
        W = self.heatmap_size[1]
        idx = self.index[frame].astype(np.int64)
        f = self.frac[frame].astype(np.float64)
        xy = np.stack([idx % W + f[..., 0], idx // W + f[..., 1]], -1)
        return np.where((idx >= 0)[..., None], xy, np.nan)

    def pixel_curve(self, u: int, v: int, pixel: tuple[int, int], frame: int = 0) -> np.ndarray:
        """The epipolar curve ``(S, 2)`` in view ``v`` of heatmap pixel ``(i, j)`` of view ``u``.

        Interpolated between the two curves that bracket the pixel's epipolar half-plane;
        NaN where the curve leaves the heatmap.
        """
        H, W = self.heatmap_size
        i, j = pixel
        if not (0 <= i < H and 0 <= j < W):
            raise ValueError(f"pixel must be (row, column) inside {H}x{W}, got {pixel!r}")
        p = self.pair_index(u, v)
        q = i * W + j
        k, w = int(self.bins[frame, p, q]), float(self.weights[frame, p, q])
        xy = self.positions(frame)[p]
        return (1.0 - w) * xy[k] + w * xy[k + 1]

    def fusion_matrix(self, u: int, v: int, frame: int = 0) -> np.ndarray:
        """The mean-along-the-curve evidence as a matrix ``M`` ``(H W, H W)``.

        ``M @ h_v.ravel()`` is the evidence that view ``v`` sends to every pixel of
        view ``u`` with ``reduce="mean"`` (linear in the source heatmap, unlike
        ``"max"``). Row ``i * W + j`` is the weight map of target pixel ``(i, j)``.
        """
        H, W = self.heatmap_size
        p = self.pair_index(u, v)
        K, S = self.n_lines, self.n_samples
        idx = self.index[frame, p]
        fx = self.frac[frame, p, ..., 0].astype(np.float64)
        fy = self.frac[frame, p, ..., 1].astype(np.float64)
        curves = np.zeros((K, H * W))
        rows = np.repeat(np.arange(K), S).reshape(K, S)
        valid = idx >= 0
        count = np.maximum(valid.sum(1, keepdims=True), 1)
        for off, wgt in ((0, (1 - fx) * (1 - fy)), (1, fx * (1 - fy)), (W, (1 - fx) * fy),
                         (W + 1, fx * fy)):
            np.add.at(curves, (rows[valid], (idx + off)[valid]), (wgt / count)[valid])
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
