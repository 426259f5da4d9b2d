"""Analytic cross-view fusion of joint heatmaps, along epipolar curves.

The evidence that view ``v`` holds for pixel ``x`` of view ``u`` lies on the epipolar
curve of ``x`` in view ``v``: any 3D point that projects to ``x`` projects somewhere
on it. :func:`epipolar_fusion` reads the source heatmap along that curve
(:class:`crossview.sampler.EpipolarSampler`), keeps the strongest response
(``reduce="max"``: the best 3D point on the ray) or the average (``"mean"``), and blends
it with the target view's own heatmap:

    fused_u = self_weight * h_u + (1 - self_weight) * mean over v != u of E_{v -> u}.

The paper's own, learned version is :class:`crossview.learned_fusion.LearnedFusion`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._array import ArrayLike
from ._validate import check_cameras, check_choice, check_heatmaps, check_int
from .camera import Camera
from .kernels import load_kernel, resolve_backend
from .kernels.interface import Array, Bridge
from .sampler import get_sampler

__all__ = ["CHUNK", "REDUCES", "epipolar_fusion"]

REDUCES = ("max", "mean")
"""How evidence is gathered along an epipolar curve."""

#: Frames per call of a kernel when each frame has its own affines (bounds memory).
CHUNK = 8


def _self_weight(value) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"self_weight must be a number, got {type(value).__name__}") from None
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"self_weight must be in [0, 1], got {value!r}")
    return w


def epipolar_fusion(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike, *,
                    self_weight: float = 0.5, reduce: str = "max", n_samples: int | None = None,
                    n_lines: int | None = None, backend: str | None = None) -> Array:
    """Fuse every view's heatmaps with the evidence on its epipolar curves in the other views.

    Parameters
    ----------
    heatmaps : ``(V, J, H, W)`` or batched ``(B, V, J, H, W)``, NumPy or torch; any sign
        (a network's raw output is fine).
    cameras : the ``V`` cameras (with lens distortion: curves are traced through it).
    affines : image px -> heatmap px, ``(V, 2, 3)`` shared by all frames or
        ``(B, V, 2, 3)`` per frame.
    self_weight : weight in ``[0, 1]`` of a view's own heatmap; the other views share
        the rest equally.
    reduce : ``"max"`` (default: the best-supported 3D point on the ray) or ``"mean"``.
    n_samples, n_lines : reads per curve and curves per view pair (see
        :meth:`crossview.sampler.EpipolarSampler.build` for the defaults).
    backend : ``"naive"``, ``"numpy"``, ``"numba"``, ``"torch"``, or ``None``: torch for
        tensors, otherwise Numba when installed, else NumPy
        (:func:`crossview.kernels.resolve_backend`). Only ``"torch"`` is differentiable.

    Returns
    -------
    Fused heatmaps of the input's shape, kind, dtype and device.

    The curves depend only on the geometry; they are built once and reused for all
    joints, and for all frames when the affines are shared (a small cache keeps the
    last few geometries).
    """
    hm, A, batched = check_heatmaps(heatmaps, affines)
    B, V, _, H, W = hm.shape
    cameras = check_cameras(cameras, V)
    sw = _self_weight(self_weight)
    check_choice(reduce, "reduce", REDUCES)
    if n_samples is not None:
        check_int(n_samples, "n_samples", 2)
    if n_lines is not None:
        check_int(n_lines, "n_lines", 2)
    backend = resolve_backend(backend, hm)
    kernel = load_kernel("fusion", backend)
    x = Bridge.for_input(backend, hm, keep_float32=True).native(hm)

    if A.ndim == 3:
        out = kernel.fuse(x, get_sampler(cameras, A, (H, W), n_samples, n_lines), sw, reduce)
    else:
        out = Bridge.concat([kernel.fuse(x[s:s + CHUNK], get_sampler(cameras, A[s:s + CHUNK],
                                                                     (H, W), n_samples, n_lines),
                                         sw, reduce)
                             for s in range(0, B, CHUNK)])
    return Bridge.output(out, heatmaps, batched, keep_dtype=True)
