"""The hot loops, with interchangeable backends.

Every algorithm family (``fusion``, ``psm``, ...) has one module per backend, named
``<family>_<backend>.py``: ``naive`` (plain Python loops, the readable reference),
``numpy`` (vectorised), ``numba`` (compiled, parallel) and ``torch`` (CPU and CUDA).
All backends of a family compute the same thing; tests check that they agree.

>>> from crossview.kernels import get_kernel_module
>>> mod = get_kernel_module("fusion", "numba")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .._validate import BACKENDS, check_backend


def get_kernel_module(family: str, backend: str) -> ModuleType:
    """The module implementing ``family`` with ``backend`` (imported on first use)."""
    check_backend(backend)
    try:
        return importlib.import_module(f"{__name__}.{family}_{backend}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{family}_{backend}":
            raise ValueError(f"backend {backend!r} is not available for {family}") from None
        raise


__all__ = ["BACKENDS", "get_kernel_module"]
