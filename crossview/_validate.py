"""Input validation with messages that name the argument and what was expected."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._array import ArrayLike, all_finite, float_input, to_numpy

BACKENDS = ("naive", "numpy", "numba", "torch")


def check_shape(x, name: str, trailing: Sequence[int | None], min_ndim: int | None = None):
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


def check_finite(x, name: str):
    """Raise ``ValueError`` when ``x`` holds NaN or infinite values."""
    if not all_finite(x):
        raise ValueError(f"{name} must be finite, but it contains NaN or infinite values")
    return x


def as_float_array(x: ArrayLike, name: str, trailing: Sequence[int | None] | None = None,
                   finite: bool = True, min_ndim: int | None = None):
    """A validated floating array (NumPy float64, or the given float tensor)."""
    x = float_input(x, name)
    if trailing is not None:
        check_shape(x, name, trailing, min_ndim=min_ndim)
    if finite:
        check_finite(x, name)
    return x


def check_backend(backend: str, allowed: Sequence[str] = BACKENDS) -> str:
    """Raise ``ValueError`` for an unknown backend name."""
    if not isinstance(backend, str) or backend not in allowed:
        raise ValueError(f"backend must be one of {', '.join(map(repr, allowed))}; got {backend!r}")
    return backend


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



def check_affines(A, name: str = "affines"):
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
