"""Input validation: one function per kind of input, one wording per kind of error.

Every public function of the library checks its arguments with these before computing,
and refuses malformed ones with a ``ValueError`` or ``TypeError`` that names the argument
and says what was expected. The kinds: numbers (:func:`check_int`,
:func:`check_positive`), choices (:func:`check_choice`; the backend names themselves
live in :mod:`crossview.kernels`), arrays (:func:`as_float_array`, :func:`check_shape`,
:func:`check_finite`), sizes (:func:`check_size`), cameras (:func:`check_cameras`),
crop affines (:func:`check_affines`), and heatmaps with their affines
(:func:`check_heatmaps`).

This module sits at the bottom of the library's layers (``crossview._layers``): it
imports nothing of ``crossview`` but the array helpers, so it recognises a camera by its
class (:func:`is_camera`) instead of importing :mod:`crossview.camera`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from ._array import Array, ArrayLike, all_finite, float_input, is_torch, to_numpy

T = TypeVar("T")


def check_shape(x, name: str, trailing: Sequence[int | None], min_ndim: int | None = None) -> Array:
    """Check that the last dimensions of ``x`` match ``trailing`` (``None`` = any size).

    ``min_ndim`` defaults to ``len(trailing)``. Returns ``x`` unchanged.
    """
    need = len(trailing) if min_ndim is None else min_ndim
    shape = tuple(x.shape)
    pattern = "(..., " + ", ".join("*" if t is None else str(t) for t in trailing) + ")"
    if len(shape) < need:
        raise ValueError(f"{name} must have shape {pattern}, got shape {shape}")
    tail = shape[len(shape) - len(trailing):]
    for got, want in zip(tail, trailing):
        if want is not None and got != want:
            raise ValueError(f"{name} must have shape {pattern}, got shape {shape}")
    return x


def check_finite(x, name: str) -> Array:
    """Raise ``ValueError`` when ``x`` holds NaN or infinite values."""
    if not all_finite(x):
        raise ValueError(f"{name} must be finite, but it contains NaN or infinite values")
    return x


def as_float_array(x: ArrayLike, name: str, trailing: Sequence[int | None] | None = None,
                   finite: bool = True, min_ndim: int | None = None) -> Array:
    """A validated floating array (NumPy float64, or the given float tensor)."""
    x = float_input(x, name)
    if trailing is not None:
        check_shape(x, name, trailing, min_ndim=min_ndim)
    if finite:
        check_finite(x, name)
    return x


def check_int(value, name: str, minimum: int | None = None) -> int:
    """An integer argument, optionally bounded below."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_positive(value, name: str) -> float:
    """A finite, strictly positive scalar."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from exc
    if not v > 0 or v != v or v == float("inf"):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return v



def check_affines(A, name: str = "affines") -> Array:
    """Raise ``ValueError`` unless every affine ``(..., 2, 3)`` has an invertible linear part.

    A singular crop affine (all zeros, say) maps the whole image onto one line or point
    of the heatmap, and nothing could be read back through it. Returns ``A`` unchanged.
    """
    M = np.asarray(to_numpy(A), dtype=np.float64)[..., :2]
    det = M[..., 0, 0] * M[..., 1, 1] - M[..., 0, 1] * M[..., 1, 0]
    scale = np.abs(M).max(axis=(-2, -1), initial=0.0)
    singular = ~(np.abs(det) > 1e-12 * scale**2)
    if singular.any():
        at = tuple(np.argwhere(singular)[0].tolist())
        raise ValueError(f"{name} must map image pixels to heatmap pixels invertibly, but the "
                         f"2 x 2 part of {name}[{', '.join(map(str, at))}] is singular "
                         f"(determinant {det[at]:.3g})" if at else
                         f"{name} must map image pixels to heatmap pixels invertibly, but its "
                         f"2 x 2 part is singular (determinant {float(det):.3g})")
    return A


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``; else ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_size(size, name: str, minimum: int = 1) -> tuple[int, int]:
    """A size of two integers ``>= minimum``, as a tuple (in the order given: ``(H, W)`` for
    an array's shape, ``(width, height)`` for a size in image pixels); ``8.5`` is an
    error, not 8."""
    try:
        a, b = size
        ok = all(not isinstance(v, bool) and hasattr(v, "__index__") and int(v) >= minimum
                 for v in (a, b))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be two integers >= {minimum}, got {size!r}")
    return int(a), int(b)


def is_camera(obj: object) -> bool:
    """Whether ``obj`` is a :class:`crossview.Camera` (or a subclass), by its class."""
    return any(k.__name__ == "Camera" and k.__module__ == "crossview.camera"
               for k in type(obj).__mro__)


def check_camera(camera: T, name: str = "camera") -> T:
    """``camera`` if it is a :class:`crossview.Camera`; else a ``TypeError``."""
    if not is_camera(camera):
        raise TypeError(f"{name} must be a crossview.Camera, got {type(camera).__name__}")
    return camera


def check_cameras(cameras, n_views: int | None = None, *, name: str = "cameras",
                  views_of: str = "heatmaps") -> list:
    """A list of at least two :class:`crossview.Camera`, ``n_views`` of them when given
    (``views_of`` names the argument whose views they must match)."""
    if is_camera(cameras) or isinstance(cameras, (str, bytes)) \
            or not isinstance(cameras, Sequence):
        raise TypeError(f"{name} must be a list of crossview.Camera objects, one per view; got "
                        f"{type(cameras).__name__}")
    for i, c in enumerate(cameras):
        check_camera(c, f"{name}[{i}]")
    if len(cameras) < 2:
        raise ValueError(f"{name}: at least two views are needed, got {len(cameras)}")
    if n_views is not None and len(cameras) != n_views:
        raise ValueError(f"{name} has {len(cameras)} cameras but {views_of} have {n_views} "
                         "views")
    return list(cameras)


def _extremes(x) -> tuple[float, float]:
    """``(min, max)`` of an array or tensor (NaN if it holds a NaN); ``(0, 0)`` if empty."""
    if is_torch(x):
        if x.numel() == 0:
            return 0.0, 0.0
        import torch

        x = x.detach()                # a check is no part of the graph (and warns otherwise)
        lo, hi = torch.aminmax(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x)
        return float(lo), float(hi)
    if x.size == 0:
        return 0.0, 0.0
    return float(x.min()), float(x.max())


def check_heatmaps(heatmaps, affines, *, n_joints: int | None = None,
                   nonnegative: bool = False) -> tuple[Array, np.ndarray, bool]:
    """Validated heatmaps and their crop affines: ``(heatmaps, affines, batched)``.

    ``heatmaps`` ``(V, J, H, W)`` or ``(B, V, J, H, W)``, NumPy or torch, come back batched
    ``(B, V, J, H, W)``: a floating array or tensor keeps its dtype (and device), anything
    else becomes float64 NumPy. They must be finite, at least 2 x 2 pixels, hold at
    least two views, ``n_joints`` joints when given, and no negative value when
    ``nonnegative`` (a logarithm will be taken). ``affines`` (image px -> heatmap px)
    come back as float64 NumPy, ``(V, 2, 3)`` when shared by all frames or ``(B, V, 2, 3)``,
    each with an invertible linear part. ``batched`` tells whether the input had a batch
    axis.
    """
    hm = heatmaps if is_torch(heatmaps) else np.asarray(heatmaps)
    if not (is_torch(hm) and hm.is_floating_point()) and not (
            not is_torch(hm) and hm.dtype.kind == "f"):
        hm = as_float_array(hm, "heatmaps", finite=False)
    if hm.ndim not in (4, 5):
        raise ValueError("heatmaps must have shape (V, J, H, W) or (B, V, J, H, W), got shape "
                         f"{tuple(hm.shape)}")
    lo, hi = _extremes(hm)          # one pass for both checks: NaN shows in the extremes
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("heatmaps must be finite, but it contains NaN or infinite values")
    if nonnegative and lo < 0:
        raise ValueError("heatmaps must be non-negative (clip a network's output with "
                         "np.clip(h, 0, None) first)")
    batched = hm.ndim == 5
    if not batched:
        hm = hm[None]
    B, V, J, H, W = hm.shape
    if H < 2 or W < 2:
        raise ValueError(f"heatmaps must be at least 2 x 2 pixels, got {H} x {W}")
    if V < 2:
        raise ValueError(f"heatmaps: at least two views are needed, got {V}")
    if n_joints is not None and J != n_joints:
        raise ValueError(f"heatmaps must have {n_joints} joints (axis -3, the Human3.6M "
                         f"skeleton), got {J}")
    A = check_affines(to_numpy(as_float_array(affines, "affines", trailing=(None, 2, 3))))
    A = np.asarray(A, dtype=np.float64)
    shapes = f"({V}, 2, 3)" + (f" or ({B}, {V}, 2, 3)" if batched else "")
    if A.ndim not in (3, 4) or (A.ndim == 4 and not batched):
        raise ValueError(f"affines must have shape {shapes} to match heatmaps, got shape "
                         f"{A.shape}")
    if A.shape[-3] != V:
        raise ValueError(f"affines has {A.shape[-3]} views but heatmaps have {V} views "
                         f"(affines must have shape {shapes})")
    if A.ndim == 4 and A.shape[0] != B:
        raise ValueError(f"affines has {A.shape[0]} frames but heatmaps have {B} frames")
    return hm, A, batched
