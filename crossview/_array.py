"""Small helpers that let one function body serve NumPy arrays and torch tensors.

The public API promises "functions return the kind they were given": NumPy in,
NumPy out; a tensor in, a tensor of the same dtype and device out. These helpers
keep that promise without a third-party array-API layer.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Union

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

Array = Union[np.ndarray, "torch.Tensor"]
"""A NumPy array or a torch tensor: what the library's functions return (the kind they
were given)."""

ArrayLike = Union[npt.ArrayLike, "torch.Tensor"]
"""A NumPy array, a torch tensor, or anything ``np.asarray`` accepts (lists, scalars)."""


def is_torch(x: object) -> bool:
    """True when ``x`` is a torch tensor.

    Torch is imported lazily (``import crossview`` stays fast): if torch was never
    imported, nothing can be a tensor.
    """
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def to_numpy(x: ArrayLike) -> np.ndarray:
    """Any array-like as a NumPy array (tensors are detached and moved to the CPU)."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def like(value: ArrayLike, ref: ArrayLike, dtype=None) -> Array:
    """``value`` converted to the kind (and, for tensors, the device) of ``ref``.

    For tensors the dtype defaults to ``ref``'s floating dtype; for NumPy to float64
    unless ``dtype`` is given.
    """
    if is_torch(ref):
        import torch

        if dtype is None:
            dtype = ref.dtype if ref.is_floating_point() else torch.float64
        if is_torch(value):
            return value.to(device=ref.device, dtype=dtype)
        return torch.tensor(np.asarray(value), dtype=dtype, device=ref.device)
    out = to_numpy(value)
    return out.astype(dtype if dtype is not None else np.float64, copy=False)


def float_input(x: ArrayLike, name: str) -> Array:
    """Validate a floating input: a float tensor stays a tensor, anything else -> float64 NumPy."""
    if is_torch(x):
        if not x.is_floating_point():
            x = x.double()
        return x
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from exc
    return arr


def all_finite(x: ArrayLike) -> bool:
    """True when every element of ``x`` is finite."""
    if is_torch(x):
        return bool(x.isfinite().all())
    return bool(np.isfinite(x).all())


def xp(x: ArrayLike) -> ModuleType:
    """The array module matching ``x``: ``torch`` for tensors, ``numpy`` otherwise."""
    return sys.modules["torch"] if is_torch(x) else np


def stack(arrays, axis: int = 0) -> Array:
    """``np.stack`` / ``torch.stack`` on a sequence of arrays of one kind."""
    if is_torch(arrays[0]):
        return sys.modules["torch"].stack(list(arrays), dim=axis)
    return np.stack(arrays, axis=axis)


def concat(arrays, axis: int = 0) -> Array:
    """``np.concatenate`` / ``torch.cat`` on a sequence of arrays of one kind."""
    if is_torch(arrays[0]):
        return sys.modules["torch"].cat(list(arrays), dim=axis)
    return np.concatenate(arrays, axis=axis)
