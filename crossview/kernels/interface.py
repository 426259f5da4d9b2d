"""What every kernel family provides, and how arrays travel to a backend and back.

A *kernel* is a module ``crossview.kernels.<family>_<backend>``. Every backend of a
family provides the functions of the family's protocol below, with the same
arguments and the same results, in the backend's own array kind: NumPy arrays
(float64) for ``naive``, ``numpy`` and ``numba``, torch tensors (on the input's device,
in its floating dtype) for ``torch``. Inputs are always batched: ``B`` frames, ``V``
views, ``J`` joints, heatmaps ``H x W``. The algorithms (:mod:`crossview.fusion`,
:mod:`crossview.psm`, :mod:`crossview.rpsm`) validate their inputs, convert them with a
:class:`Bridge`, call a kernel, and convert the result back; benchmarks and tests use
the same functions.

Conventions shared by the PSM and RPSM families (see :mod:`crossview.kernels.psm_common`):

* ``state``: what ``prepare(heatmaps (B, V, J, H, W), floor)`` made of the heatmaps (the
  evidence above the floor, in the backend's layout); opaque to the caller, valid until
  the next ``prepare`` on the same thread;
* ``cams = (R (V, 3, 3), t (V, 3), dist (V, 5), aff (B, V, 2, 3))``: rotations,
  translations (mm), OpenCV distortion and the crop affines composed with the
  intrinsics (:func:`crossview.psm.camera_arrays`);
* ``parents``: the skeleton's parent of every joint (``-1`` for the root).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._array import Array, is_torch, to_numpy


@runtime_checkable
class FusionKernel(Protocol):
    """Analytic epipolar fusion (:func:`crossview.epipolar_fusion`)."""

    def fuse(self, heatmaps: Array, sampler: Any, self_weight: float, reduce: str) -> Array:
        """Fused heatmaps ``(B, V, J, H, W)`` of ``heatmaps`` of that shape, reading the other
        views along the curves of ``sampler`` (:class:`crossview.sampler.EpipolarSampler`);
        ``self_weight`` in ``[0, 1]`` is a view's own share, ``reduce`` ``"max"`` or ``"mean"``
        along a curve."""


@runtime_checkable
class PSMKernel(Protocol):
    """The pictorial structure model on one coarse grid per frame (:func:`crossview.psm`)."""

    def prepare(self, heatmaps: Array, floor: float) -> Any:
        """The ``state`` of heatmaps ``(B, V, J, H, W)`` clipped at ``floor``."""

    def unary(self, state: Any, cams: tuple, points: Array) -> Array:
        """Unary terms ``(B, J, P)`` of world points ``(B, P, 3)`` (mm): the sum over views
        of the evidence at their projections, plus ``V log(floor)``."""

    def grid_unary(self, state: Any, cams: tuple, centers: Array, n: int,
                   cube: float) -> Array:
        """Unary terms ``(B, J, n^3)`` of the bins of each frame's grid of ``n`` bins per
        axis and edge ``cube`` (mm) around ``centers`` ``(B, 3)``."""

    def max_product_grid(self, U: Array, offsets: np.ndarray, counts: np.ndarray,
                         parents: tuple, n: int, penalty: float) -> Array:
        """The exact maximum of unaries ``U`` ``(B, J, n^3)`` plus limb terms on the tree:
        the chosen bin ``(B, J)`` (int64) of every joint. Limb ``j``'s stencil is
        ``offsets[b, j, :counts[b, j]]`` (bin offsets, :func:`~crossview.kernels.psm_common.
        stencil_table`); a limb outside it costs ``penalty``."""

    def coarse(self, state: Any, cams: tuple, centers: Array, lengths: Array, windows: Array,
               parents: tuple, n: int, cube: float, penalty: float) -> Array:
        """PSM poses ``(B, J, 3)`` (mm, bin centres): grid unaries and max-product with limb
        ``j`` plausible within ``windows[j]`` (mm) of ``lengths[b, j]``."""


@runtime_checkable
class RPSMKernel(Protocol):
    """The recursive refinement of RPSM (:func:`crossview.rpsm`)."""

    def prepare(self, heatmaps: Array, floor: float) -> Any:
        """The ``state`` of heatmaps ``(B, V, J, H, W)``, as the PSM kernel of the backend."""

    def refine(self, state: Any, cams: tuple, poses: Array, lengths: Array, windows: Array,
               sizes: np.ndarray, parents: tuple, excess_cost: float, bins: int) -> Array:
        """Estimates ``(B, T, J, 3)`` after each of the ``T`` stages, starting from ``poses``
        ``(B, J, 3)``: stage ``t`` places ``bins^3`` candidates at ``+-sizes[t] / 2`` around
        every joint and solves all joints jointly; a limb costs ``excess_cost`` per mm
        outside ``windows[t, j]`` of ``lengths[b, j]``."""


@runtime_checkable
class CurvesKernel(Protocol):
    """The tracing of analytic fusion's epipolar curves (:class:`crossview.sampler.
    EpipolarSampler`)."""

    def trace(self, Ks: np.ndarray, Kinvs: np.ndarray, Rs: np.ndarray, ts: np.ndarray,
              dists: np.ndarray, lens: np.ndarray, fold2: np.ndarray, A: np.ndarray,
              Ainv: np.ndarray, pairs: np.ndarray, H: int, W: int, border: np.ndarray,
              index: np.ndarray, count: np.ndarray, step: np.ndarray, frac: np.ndarray,
              bins: np.ndarray, weights: np.ndarray, angles: np.ndarray) -> None:
        """Fill a sampler's arrays (``index`` ... ``angles``) for the ``G`` frames of
        affines ``A`` ``(G, V, 2, 3)``; see :func:`crossview.kernels.curves_numba.trace`."""


#: The protocol of each family.
PROTOCOLS = {"fusion": FusionKernel, "psm": PSMKernel, "rpsm": RPSMKernel,
             "curves": CurvesKernel}


@dataclass(frozen=True)
class Bridge:
    """How arrays travel to one backend and back.

    ``backend`` is the backend's name, ``dtype`` what its kernels compute in: for
    ``"torch"`` a torch dtype on ``device`` (the input tensor's device and floating dtype,
    or the CPU and float64 for NumPy input), for the others a NumPy dtype (float64, or
    float32 for float32 input when the family computes in it, see :meth:`for_input`).
    """

    backend: str
    device: Any = None
    dtype: Any = np.float64

    @classmethod
    def for_input(cls, backend: str, ref: object, keep_float32: bool = False) -> Bridge:
        """The bridge for inputs like ``ref`` (the array the caller passed).

        ``keep_float32``: float32 input (array or tensor) is computed in float32 (the
        fusion kernels do; PSM and RPSM compute in float64 on the NumPy side)."""
        if backend != "torch":
            single = keep_float32 and str(getattr(ref, "dtype", "")) in ("float32",
                                                                          "torch.float32")
            return cls(backend, None, np.float32 if single else np.float64)
        import torch

        if is_torch(ref):
            dtype = ref.dtype if ref.dtype in (torch.float32, torch.float64) else torch.float64
            return cls(backend, ref.device, dtype)
        single = keep_float32 and getattr(ref, "dtype", None) == np.float32
        return cls(backend, torch.device("cpu"), torch.float32 if single else torch.float64)

    def native(self, a: Array, integer: bool = False) -> Array:
        """``a`` as the backend's contiguous array (int64 when ``integer``)."""
        if self.backend != "torch":
            if is_torch(a) and str(a.dtype) in ("torch.float16", "torch.bfloat16"):
                a = a.double()                       # NumPy has no bfloat16
            return np.ascontiguousarray(to_numpy(a), dtype=np.int64 if integer else self.dtype)
        import torch

        kind = torch.int64 if integer else self.dtype
        if is_torch(a):
            return a.to(device=self.device, dtype=kind).contiguous()
        return torch.as_tensor(np.ascontiguousarray(a), device=self.device, dtype=kind)

    @staticmethod
    def concat(parts: list) -> Array:
        """Results of several kernel calls joined along the frame axis."""
        if is_torch(parts[0]):
            import torch

            return torch.cat(parts)
        return np.concatenate(parts)

    @staticmethod
    def output(x: Array, ref: object, batched: bool = True, keep_dtype: bool = False) -> Array:
        """A kernel's result in the kind of ``ref``: NumPy (float64, or with ``keep_dtype``
        ``ref``'s floating dtype), or a tensor on ``ref``'s device in its floating dtype;
        without its batch axis unless ``batched``."""
        if is_torch(ref):
            import torch

            dtype = ref.dtype if ref.is_floating_point() else torch.float64
            x = x if is_torch(x) else torch.from_numpy(np.ascontiguousarray(x))
            x = x.to(device=ref.device, dtype=dtype)          # on the device: no host trip
        else:
            x = to_numpy(x)
            kind = getattr(ref, "dtype", None)
            want = kind if keep_dtype and kind is not None and np.dtype(kind).kind == "f" \
                else np.float64
            x = x.astype(want, copy=False)
        return x if batched else x[0]


__all__ = ["PROTOCOLS", "Array", "Bridge", "CurvesKernel", "FusionKernel", "PSMKernel",
           "RPSMKernel"]
