"""Triangulation: 3D points from their pixels in several calibrated views.

The direct linear transform (DLT) of Hartley and Zisserman (2004, section 12.2):
a pixel ``x_v`` seen by camera ``v`` with projection ``P_v`` satisfies
``x_v ~ P_v X``, so ``x_v P_v^3 - P_v^1`` and ``y_v P_v^3 - P_v^2`` (rows of
``P_v``) are orthogonal to the homogeneous point ``X``. Stacking two rows per view
gives ``A X = 0``; the right singular vector of ``A`` with the smallest singular
value is the least-squares solution. A confidence ``w_v`` multiplies the view's rows.

:func:`triangulate` is that weighted DLT; :func:`triangulate_robust` survives a
wrong pixel (a false heatmap peak) in some views by trying every pair of views,
scoring each pair's point by its reprojection error in all views (a truncated
quadratic, as in MSAC), and refitting on the views that agree.

Pixels are *distorted* (as a camera sees them): both functions undistort first.

Missing views. A NaN pixel (``u`` or ``v``) means "this view did not see the joint",
as in other multi-view libraries: the view gets weight 0 for that joint, and so does a
pixel that the lens model cannot undistort (NaN). A joint seen by fewer than two views
is undetermined and comes back as NaN; infinite pixels are an error.

Points behind a camera. The DLT solves for a point on every ray's *line*, so a false
pixel can put the answer behind a camera that saw it, which no real joint can be.
Such points are returned as the DLT found them, with a ``RuntimeWarning``;
:func:`triangulate_detailed` returns a :class:`Triangulation` with the ``behind`` and
``valid`` masks instead of the warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ._array import Array, ArrayLike, is_torch, like, xp
from ._validate import as_float_array, check_cameras, check_positive
from .camera import Camera, pixels_to_normalized, undistort_normalized

#: World coordinates are divided by this before the DLT (mm -> m), which keeps the
#: columns of ``A`` at similar magnitudes (Hartley's normalisation, in its simplest form).
_WORLD_SCALE = 1000.0


def _half(points) -> bool:
    """Half-precision tensors: torch has no SVD for them, so they are solved in float32."""
    if not is_torch(points):
        return False
    import torch

    return points.dtype in (torch.float16, torch.bfloat16)


def _inputs(points, cameras, weights):
    """Validated ``(points, cameras, weights)``; NaN pixels stay NaN (missing views)."""
    points = as_float_array(points, "points", trailing=(None, None, 2), finite=False)
    if points.ndim not in (3, 4):
        raise ValueError("points must have shape (V, J, 2) or (B, V, J, 2), got shape "
                         f"{tuple(points.shape)}")
    if bool(xp(points).isinf(points).any()):
        raise ValueError("points must be finite pixels, or NaN where a view did not see the "
                         "joint, but it contains infinite values")
    cameras = check_cameras(cameras, points.shape[-3], views_of="points")
    if weights is None:
        weights = xp(points).ones_like(points[..., 0])
    else:
        weights = like(as_float_array(weights, "weights"), points)
        if tuple(weights.shape) != tuple(points.shape[:-1]):
            raise ValueError(f"weights must have shape {tuple(points.shape[:-1])} (points without "
                             f"the last axis), got shape {tuple(weights.shape)}")
        if bool((weights < 0).any()):
            raise ValueError("weights must be non-negative")
    return points, cameras, weights


def _normalized(points, cameras, weights):
    """Distorted pixels ``(..., V, J, 2)`` -> ideal normalised coordinates ``K^-1 x``.

    All views are undistorted together (one Newton iteration loop, with each view's
    coefficients broadcast), which is what makes small batches cheap. Returns the
    coordinates and ``weights`` with 0 for missing views: NaN pixels, and pixels the
    lens model cannot undistort. Their coordinates are set to 0 (the principal point),
    since a NaN anywhere in a DLT matrix would spoil its SVD even at weight 0.
    """
    m = xp(points)
    V = len(cameras)
    K = np.stack([c.K for c in cameras], -1)[..., None]          # (3, 3, V, 1): over V and J
    xd = pixels_to_normalized(points, like(K, points))
    seen = ~m.isnan(xd).any(-1)                                  # (..., V, J)
    # where(): when nothing is missing, the coordinates stay bit-identical
    xd = m.where(seen[..., None], xd, m.zeros_like(xd))
    if any(c.has_distortion for c in cameras):
        dist = like(np.stack([c.dist for c in cameras], 1).reshape(5, V, 1), xd)  # (5, V, 1)
        xn = undistort_normalized(xd, dist)
        ok = m.isfinite(xn).all(-1)
        seen = seen & ok
        xn = m.where(ok[..., None], xn, m.zeros_like(xn))
    else:
        xn = xd
    return xn, m.where(seen, weights, m.zeros_like(weights))


def _extrinsics(cameras, ref):
    """``[R | t / scale]`` of every camera, ``(V, 3, 4)``, in ``ref``'s kind."""
    Rt = np.stack([np.hstack([c.R, c.t[:, None] / _WORLD_SCALE]) for c in cameras])
    return like(Rt, ref)


def dlt(xn, Rt, weights) -> Array:
    """Weighted DLT on normalised coordinates.

    ``xn`` ``(..., V, J, 2)``, ``Rt`` ``(V, 3, 4)`` (world in metres), ``weights``
    ``(..., V, J)`` -> homogeneous solutions ``(..., J, 4)`` (unit norm).
    """
    m = xp(xn)
    # rows (..., J, V, 2, 4): w * (x P3 - P1), w * (y P3 - P2)
    x = xn.movedim(-3, -2) if is_torch(xn) else np.moveaxis(xn, -3, -2)
    w = weights.movedim(-2, -1) if is_torch(weights) else np.moveaxis(weights, -2, -1)
    rows = x[..., :, None] * Rt[:, 2][:, None, :] - Rt[:, :2]
    rows = rows * w[..., None, None]
    A = rows.reshape(*rows.shape[:-3], -1, 4)
    _, _, vh = m.linalg.svd(A, full_matrices=False)
    return vh[..., -1, :]


def _dehomogenize(Xh, enough):
    m = xp(Xh)
    w = Xh[..., 3:]
    tiny = m.abs(w) < 1e-12
    X = Xh[..., :3] / m.where(tiny, m.ones_like(w), w) * _WORLD_SCALE
    bad = tiny[..., 0] | ~enough
    nan = m.full_like(X, float("nan"))
    return m.where(bad[..., None], nan, X)


@dataclass(frozen=True)
class Triangulation:
    """What :func:`triangulate_detailed` found and used; arrays of the input's kind.

    Attributes
    ----------
    points : ``(..., J, 3)`` mm, the triangulated points (NaN where fewer than two views
        took part), as :func:`triangulate` or :func:`triangulate_robust` return them.
    views : ``(..., J)`` integers, the views that took part in each point (a finite
        pixel and a positive weight; for the robust variant, the final inliers).
    behind : ``(..., V, J)`` bool, True where a view that took part sees the point at
        or behind its camera (depth <= 0), which no real joint can be.
    valid : ``(..., J)`` bool, True where the point is finite and in front of every
        view that took part.
    """

    points: ArrayLike
    views: ArrayLike
    behind: ArrayLike
    valid: ArrayLike


def _info(X, Rt, weights) -> Triangulation:
    """Diagnostics of points ``X`` ``(..., J, 3)`` (mm) solved with ``weights`` ``(..., V, J)``."""
    m = xp(X)
    used = weights > 0
    Xm = X[..., None, :, :] / _WORLD_SCALE                             # (..., 1, J, 3) m
    depth = (Xm * Rt[:, None, 2, :3]).sum(-1) + Rt[:, None, 2, 3]      # (..., V, J) m
    behind = used & (depth <= 0)                                       # NaN depth: False
    valid = m.isfinite(X).all(-1) & ~behind.any(-2)
    return Triangulation(X, used.sum(-2), behind, valid)


def _warned(result: Triangulation, name: str):
    """The points alone, with a warning when some lie behind a camera whose pixel was used."""
    n_behind = int(result.behind.any(-2).sum())
    if n_behind:
        total = int(np.prod(tuple(result.valid.shape)))
        warnings.warn(f"{name}: {n_behind} of {total} points lie behind a camera whose pixel "
                      "was used (a false peak?), returned as the DLT found them; "
                      "triangulate_detailed gives the mask",
                      RuntimeWarning, stacklevel=3)
    return result.points


def _half_back(result: Triangulation, dtype) -> Triangulation:
    return Triangulation(result.points.to(dtype), result.views, result.behind, result.valid)


def _solve(points, cameras, weights) -> Triangulation:
    """Weighted DLT of validated inputs."""
    if _half(points):
        return _half_back(_solve(points.float(), cameras, weights), points.dtype)
    points, cameras, weights = _inputs(points, cameras, weights)
    xn, weights = _normalized(points, cameras, weights)
    Rt = _extrinsics(cameras, xn)
    X = _dehomogenize(dlt(xn, Rt, weights), (weights > 0).sum(-2) >= 2)
    return _info(X, Rt, weights)


def triangulate(points: ArrayLike, cameras: Sequence[Camera],
                weights: ArrayLike | None = None) -> ArrayLike:
    """Confidence-weighted DLT: pixels ``(V, J, 2)`` -> world points ``(J, 3)`` (mm).

    Batched: ``(B, V, J, 2)`` -> ``(B, J, 3)``. Pixels are distorted image pixels
    ``(u, v)``; they are undistorted with each camera's lens model first.
    ``weights`` (same shape without the last axis, non-negative) scale each view's
    two DLT rows; weight 0 leaves the view out.

    A NaN pixel marks a view that did not see the joint: it is left out as if its
    weight were 0. A joint with fewer than two views left (finite pixel, positive
    weight) is undetermined and comes back as NaN.

    A point behind a camera whose pixel was used is returned as the DLT found it,
    with a ``RuntimeWarning``; :func:`triangulate_detailed` returns a
    :class:`Triangulation` with the views used and the ``behind`` and ``valid`` masks
    instead, and warns nothing.

    Examples
    --------
    >>> import crossview as cv
    >>> s = cv.make_scenes(2, seed=0, heatmaps=False)
    >>> X = cv.triangulate(s.joints2d, s.cameras)          # (2, 17, 3)
    >>> uv = s.joints2d.copy(); uv[:, 1, 5] = float("nan")  # view 1 missed joint 5
    >>> cv.triangulate_detailed(uv, s.cameras).views[:, 5].tolist()
    [3, 3]
    """
    return _warned(_solve(points, cameras, weights), "triangulate")


def reprojection_errors(X: ArrayLike, points: ArrayLike, cameras: Sequence[Camera]) -> Array:
    """Pixel distance between ``X`` ``(..., J, 3)`` projected into each view and ``points``.

    ``points`` ``(..., V, J, 2)`` -> errors ``(..., V, J)`` in pixels. A point at or
    behind a camera, or NaN, has an infinite error in that view, and so has a NaN
    pixel (a view that did not see the joint).
    """
    points = as_float_array(points, "points", trailing=(None, None, 2), finite=False)
    X = like(as_float_array(X, "X", trailing=(None, 3), finite=False), points)
    m = xp(points)
    finite = m.isfinite(X).all(-1)
    Xs = m.where(finite[..., None], X, m.zeros_like(X))       # NaN points read as the origin
    errs = []
    for v, cam in enumerate(cameras):
        ok = finite & (cam.depth(Xs) > 1e-6)
        uv = cam.project(Xs, allow_behind=True)
        e = ((uv - points[..., v, :, :]) ** 2).sum(-1) ** 0.5
        errs.append(m.where(ok & m.isfinite(e), e, m.full_like(e, float("inf"))))
    return m.stack(errs, -2)


def _solve_robust(points, cameras, weights, threshold) -> Triangulation:
    """View-pair search and inlier refit of validated inputs."""
    if _half(points):
        return _half_back(_solve_robust(points.float(), cameras, weights, threshold),
                          points.dtype)
    points, cameras, weights = _inputs(points, cameras, weights)
    threshold = check_positive(threshold, "threshold_px")
    m = xp(points)
    V = len(cameras)
    xn, weights = _normalized(points, cameras, weights)
    Rt = _extrinsics(cameras, xn)
    pairs = list(combinations(range(V), 2))
    mask = np.zeros((len(pairs), V))
    for k, (a, b) in enumerate(pairs):
        mask[k, [a, b]] = 1.0
    mask = like(mask, points)                                   # (P, V)
    shape = (len(pairs),) + (1,) * (points.ndim - 3) + (V, 1)
    w_pairs = weights[None] * mask.reshape(shape)               # (P, ..., V, J)
    Xh = dlt(xn[None], Rt, w_pairs)                             # (P, ..., J, 4)
    pair_ok = (w_pairs > 0).sum(-2) >= 2                        # (P, ..., J)
    X_pairs = _dehomogenize(Xh, pair_ok)
    err = reprojection_errors(X_pairs, points[None], cameras)   # (P, ..., V, J)
    used = weights[None] > 0
    clipped = m.where(err < threshold, err, m.full_like(err, threshold))
    cost = m.where(used, clipped**2, m.zeros_like(clipped)).sum(-2)       # (P, ..., J)
    cost = m.where(pair_ok, cost, m.full_like(cost, float("inf")))
    best = cost.argmin(0)                                                  # (..., J)
    if is_torch(err):
        idx = best[None, ..., None, :].expand(1, *err.shape[1:])
        err_best = err.gather(0, idx)[0]
    else:
        idx = np.broadcast_to(best[None, ..., None, :], (1, *err.shape[1:]))
        err_best = np.take_along_axis(err, idx, 0)[0]
    mask_best = mask[best]                                      # (..., J, V)
    mask_best = mask_best.movedim(-1, -2) if is_torch(mask_best) else np.moveaxis(mask_best, -1, -2)
    inlier = (err_best < threshold) & (weights > 0)
    # keep the pair itself when fewer than two views agree with its point
    few = inlier.sum(-2, keepdims=True) < 2
    inlier = m.where(few, mask_best > 0, inlier)
    w_final = m.where(inlier, weights, m.zeros_like(weights))
    X = _dehomogenize(dlt(xn, Rt, w_final), (weights > 0).sum(-2) >= 2)
    return _info(X, Rt, w_final)


def triangulate_robust(points: ArrayLike, cameras: Sequence[Camera],
                       weights: ArrayLike | None = None, *,
                       threshold_px: float = 40.0) -> ArrayLike:
    """Triangulation that survives wrong pixels in some views, ``(..., V, J, 2) -> (..., J, 3)``.

    Every pair of views proposes a point (weighted DLT on the pair). Each
    proposal is scored by ``sum_v min(e_v, threshold)^2`` over the views of
    positive weight, where ``e_v`` is its reprojection error (pixels) in view
    ``v``; the best proposal's *inliers* (``e_v < threshold``) are then
    triangulated together with their weights. One false peak among four views
    disagrees with the three others, so a pair without it wins.

    ``threshold_px`` (image pixels) should exceed the reprojection error of correct
    detections and stay below the distance of typical false ones. Missing views
    (NaN pixels) take part in no pair and in no refit; a joint with fewer than two
    views of finite pixel and positive weight comes back as NaN. Points behind a
    camera of the refit are flagged as in :func:`triangulate` (a warning; with
    :func:`triangulate_detailed` ``robust=True``, the masks, whose ``views`` counts the
    inliers).
    """
    return _warned(_solve_robust(points, cameras, weights, threshold_px), "triangulate_robust")


def triangulate_detailed(points: ArrayLike, cameras: Sequence[Camera],
                         weights: ArrayLike | None = None, *, robust: bool = False,
                         threshold_px: float = 40.0) -> Triangulation:
    """:func:`triangulate` (or, with ``robust=True``, :func:`triangulate_robust` with its
    ``threshold_px``) with what it used: a :class:`Triangulation` holding the points, the
    views that took part in each, and the ``behind`` and ``valid`` masks. Nothing is
    warned: the masks say it."""
    if robust:
        return _solve_robust(points, cameras, weights, threshold_px)
    return _solve(points, cameras, weights)


__all__ = ["Triangulation", "reprojection_errors", "triangulate", "triangulate_detailed",
           "triangulate_robust"]
