"""The hot loops, behind one declared interface per family, with interchangeable backends.

Every algorithm family has one module per backend, named ``<family>_<backend>.py``:

* ``naive``: plain Python loops, the readable reference;
* ``numpy``: vectorised;
* ``numba``: compiled, parallel over frames;
* ``torch``: CPU and CUDA, batched.

The families and what each module provides are declared in
:mod:`crossview.kernels.interface` (:class:`~crossview.kernels.interface.FusionKernel`,
:class:`~crossview.kernels.interface.PSMKernel`,
:class:`~crossview.kernels.interface.RPSMKernel`, and
:class:`~crossview.kernels.interface.CurvesKernel` for the tracing of fusion's curves).
All backends of a family take and
return the same arrays (batched, in the backend's own array kind) and compute the same
thing; tests check that they agree. This package is the one place that knows the
backend names (:data:`BACKENDS`) and how arrays travel to and from each backend
(:class:`~crossview.kernels.interface.Bridge`). Numba and torch are imported only by the
modules of those backends, when one of them is chosen.

>>> from crossview.kernels import load_kernel
>>> psm_kernel = load_kernel("psm", "numpy")
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .._validate import check_choice

#: The backends, from the readable reference to the fastest.
BACKENDS = ("naive", "numpy", "numba", "torch")
#: The kernel families (see :mod:`crossview.kernels.interface`) and their backends. The
#: tracing of fusion's curves has a plain-Python reference and a Numba build of the same
#: source (:mod:`crossview.kernels.curves`); every fusion backend reads its curves.
FAMILIES = {"fusion": BACKENDS, "psm": BACKENDS, "rpsm": BACKENDS,
            "curves": ("naive", "numba")}


def check_backend(backend: object) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a ``ValueError`` that lists them
    (the wording of :func:`crossview._validate.check_choice`)."""
    return check_choice(backend, "backend", BACKENDS)


def numba_available() -> bool:
    """Whether Numba can be imported here (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def resolve_backend(backend: str | None, data: object = None) -> str:
    """The backend a call runs on: ``backend`` itself, checked, or for ``None`` the
    default, which means the same for every function of the library: ``"torch"`` when
    ``data`` is a torch tensor (it stays on its device), otherwise ``"numba"`` when Numba
    is installed and ``"numpy"`` when it is not."""
    if backend is not None:
        return check_backend(backend)
    from .._array import is_torch

    if is_torch(data):
        return "torch"
    return "numba" if numba_available() else "numpy"


def load_kernel(family: str, backend: str) -> ModuleType:
    """The module implementing ``family`` with ``backend`` (imported on first use)."""
    check_backend(backend)
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(map(repr, FAMILIES))}; "
                         f"got {family!r}")
    if backend not in FAMILIES[family]:
        raise ValueError(f"the {family} family has the backends "
                         f"{', '.join(map(repr, FAMILIES[family]))}; got {backend!r}")
    name = f"{__name__}.{family}_{backend}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in ("numba", "torch"):
            raise ValueError(f"backend {backend!r} needs {exc.name}, which is not installed "
                             f"here; choose one of {', '.join(map(repr, BACKENDS))}") from None
        raise


__all__ = ["BACKENDS", "FAMILIES", "check_backend", "load_kernel", "numba_available",
           "resolve_backend"]
