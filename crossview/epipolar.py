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

from collections.abc import Sequence

import numpy as np

from ._array import Array, ArrayLike, is_torch, like, to_numpy, xp
from ._validate import as_float_array, check_affines, check_camera, check_size
from .camera import Camera

__all__ = [
    "epipolar_curve",
    "epipolar_lines",
    "epipole",
    "essential_matrix",
    "fundamental_matrices",
    "fundamental_matrix",
    "homogeneous_affine",
    "point_line_distance",
    "relative_pose",
    "skew",
]


# ---------------------------------------------------------------------- two-view algebra
def skew(v: ArrayLike) -> np.ndarray:
    """The cross-product matrix ``[v]_x`` ``(3, 3)`` of ``v`` ``(3,)``: ``[v]_x w = v x w``."""
    x, y, z = np.asarray(v, dtype=np.float64).reshape(3)
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def relative_pose(cam_a: Camera, cam_b: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pose of camera ``b`` relative to camera ``a``: ``(R, t)`` with ``x_b = R x_a + t``.

    ``x_a``, ``x_b`` are the camera-frame coordinates (mm) of one world point.
    """
    check_camera(cam_a, "cam_a")
    check_camera(cam_b, "cam_b")
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


def homogeneous_affine(A: np.ndarray) -> np.ndarray:
    """``(..., 2, 3)`` affines -> ``(..., 3, 3)`` homogeneous matrices."""
    out = np.zeros(A.shape[:-2] + (3, 3))
    out[..., :2, :] = A
    out[..., 2, 2] = 1.0
    return out


def fundamental_matrix(cam_a: Camera, cam_b: Camera, affine_a: ArrayLike | None = None,
                       affine_b: ArrayLike | None = None) -> np.ndarray:
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
    Ma_inv = np.linalg.inv(homogeneous_affine(Aa))
    Mb_inv = np.linalg.inv(homogeneous_affine(Ab))
    Fh = np.swapaxes(Mb_inv, -1, -2) @ F @ Ma_inv
    Fh = Fh / np.linalg.norm(Fh, axis=(-2, -1), keepdims=True)
    return like(Fh, ref) if is_torch(ref) else Fh


def fundamental_matrices(cameras: Sequence[Camera], affines: ArrayLike | None = None) -> np.ndarray:
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


def epipolar_lines(points: ArrayLike, F: ArrayLike) -> Array:
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


def point_line_distance(points: ArrayLike, lines: ArrayLike) -> Array:
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
    check_camera(cam_a, "cam_a")
    check_camera(cam_b, "cam_b")
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
            H, W = check_size(heatmap_size, "heatmap_size", minimum=2)
            inside = (out[..., 0] >= -0.5) & (out[..., 0] <= W - 0.5) & \
                     (out[..., 1] >= -0.5) & (out[..., 1] <= H - 0.5)
            out = np.where(inside[..., None], out, np.nan)
    elif heatmap_size is not None:
        raise ValueError("heatmap_size needs affine_b (the map from image to heatmap pixels)")
    return out
