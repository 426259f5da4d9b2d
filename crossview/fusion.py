"""Cross-view fusion of joint heatmaps: analytic (along epipolar curves) and learned.

The evidence that view ``v`` holds for pixel ``x`` of view ``u`` lies on the epipolar
curve of ``x`` in view ``v``: any 3D point that projects to ``x`` projects somewhere
on it. :func:`epipolar_fusion` reads the source heatmap along that curve, keeps the
strongest response (``reduce="max"``: the best 3D point on the ray) or the average
(``"mean"``), and blends it with the target view's own heatmap:

    fused_u = self_weight * h_u + (1 - self_weight) * mean over v != u of E_{v -> u}.

:class:`LearnedFusion` is the paper's version (Qiu et al., ICCV 2019): one
fully connected ``HW x HW`` layer per ordered view pair, shared by all joints, that
is free to learn where the evidence lies; :func:`epipolar_mass` measures how much of
its learned weight ends up near the epipolar lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._array import ArrayLike, is_torch, to_numpy
from ._validate import (
    BACKENDS,
    as_float_array,
    check_affines,
    check_backend,
    check_finite,
    check_int,
)
from .camera import Camera
from .epipolar import (
    EpipolarSampler,
    _heatmap_size,
    _homogeneous_affine,
    _pair_index,
    _pixel_grid,
    _view_pairs,
    fundamental_matrix,
    get_sampler,
)
from .heatmap import apply_affine, invert_affine
from .kernels import get_kernel_module

__all__ = ["REDUCES", "LearnedFusion", "epipolar_fusion", "epipolar_mass"]

REDUCES = ("max", "mean")
"""How evidence is gathered along an epipolar curve."""

#: Frames per call of a kernel when each frame has its own affines (bounds memory).
CHUNK = 8


def _check_inputs(heatmaps, cameras, affines):
    """Validated ``(heatmaps (B, V, J, H, W), cameras, affines, batched)``."""
    if is_torch(heatmaps):
        hm = heatmaps if heatmaps.is_floating_point() else heatmaps.double()
    else:
        hm = np.asarray(heatmaps)
        if hm.dtype not in (np.float32, np.float64):   # float32 stays float32 (and fast)
            hm = as_float_array(hm, "heatmaps", finite=False)
    if hm.ndim not in (4, 5):
        raise ValueError(f"heatmaps must have shape (V, J, H, W) or (B, V, J, H, W), got shape "
                         f"{tuple(hm.shape)}")
    batched = hm.ndim == 5
    if not batched:
        hm = hm[None]
    B, V, _, H, W = hm.shape
    if V < 2:
        raise ValueError(f"heatmaps must hold at least two views to fuse, got {V}")
    if H < 2 or W < 2:
        raise ValueError(f"heatmaps must be at least 2 x 2 pixels, got {H} x {W}")
    check_finite(hm, "heatmaps")
    if isinstance(cameras, Camera) or not isinstance(cameras, Sequence):
        raise TypeError("cameras must be a list of crossview.Camera, one per view")
    if len(cameras) != V:
        raise ValueError(f"cameras has {len(cameras)} cameras but heatmaps have {V} views")
    for i, c in enumerate(cameras):
        if not isinstance(c, Camera):
            raise TypeError(f"cameras[{i}] must be a crossview.Camera, got {type(c).__name__}")
    A = check_affines(to_numpy(as_float_array(affines, "affines", trailing=(2, 3))))
    want = "(V, 2, 3)" + (" or (B, V, 2, 3)" if batched else "")
    if A.ndim == 3 or (batched and A.ndim == 4):
        if A.shape[-3] != V:
            raise ValueError(f"affines has {A.shape[-3]} views but heatmaps have {V} views "
                             f"(affines must have shape {want})")
        if A.ndim == 4 and A.shape[0] != B:
            raise ValueError(f"affines has {A.shape[0]} frames but heatmaps have {B} frames")
    else:
        raise ValueError(f"affines must have shape {want}, got shape {A.shape}")
    return hm, list(cameras), A, batched


def epipolar_fusion(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike,
                    self_weight: float = 0.5, reduce: str = "max", n_samples: int | None = None,
                    n_lines: int | None = None, backend: str | None = None):
    """Fuse every view's heatmaps with the evidence on its epipolar curves in the other views.

    Parameters
    ----------
    heatmaps : ``(V, J, H, W)`` or batched ``(B, V, J, H, W)``, NumPy or torch.
    cameras : the ``V`` cameras (with lens distortion: curves are traced through it).
    affines : image px -> heatmap px, ``(V, 2, 3)`` shared by all frames or
        ``(B, V, 2, 3)`` per frame.
    self_weight : weight in ``[0, 1]`` of a view's own heatmap; the other views share
        the rest equally.
    reduce : ``"max"`` (default: the best-supported 3D point on the ray) or ``"mean"``.
    n_samples, n_lines : samples per curve and curves per view pair (see
        :meth:`crossview.epipolar.EpipolarSampler.build` for the defaults).
    backend : ``"naive"``, ``"numpy"``, ``"numba"`` or ``"torch"``; default ``"torch"``
        for tensors and ``"numba"`` otherwise. Only ``"torch"`` is differentiable.

    Returns
    -------
    Fused heatmaps of the input's shape, kind, dtype and device.

    The curves depend only on the geometry; they are built once and reused for all
    joints, and for all frames when the affines are shared (a small cache keeps the
    last few geometries).
    """
    hm, cameras, A, batched = _check_inputs(heatmaps, cameras, affines)
    try:
        sw = float(self_weight)
    except (TypeError, ValueError):
        raise TypeError(f"self_weight must be a number, got {type(self_weight).__name__}") from None
    if not 0.0 <= sw <= 1.0:
        raise ValueError(f"self_weight must be in [0, 1], got {self_weight!r}")
    if reduce not in REDUCES:
        raise ValueError(f"reduce must be one of {', '.join(map(repr, REDUCES))}; got {reduce!r}")
    if backend is None:
        backend = "torch" if is_torch(hm) else "numba"
    check_backend(backend, BACKENDS)
    kernel = get_kernel_module("fusion", backend)
    if n_samples is not None:
        check_int(n_samples, "n_samples", 2)
    if n_lines is not None:
        check_int(n_lines, "n_lines", 2)

    B, H, W = hm.shape[0], hm.shape[-2], hm.shape[-1]
    if is_torch(hm) and backend != "torch":
        # the NumPy-side kernels compute in float32 or float64 (Numba has no half precision,
        # NumPy no bfloat16); the result goes back to the tensor's dtype below
        x = to_numpy(hm if hm.dtype in (torch.float32, torch.float64) else hm.double())
    elif not is_torch(hm) and backend == "torch":
        x = torch.from_numpy(np.ascontiguousarray(hm))
    else:
        x = hm

    if A.ndim == 3:
        sampler = get_sampler(cameras, A, (H, W), n_samples, n_lines)
        out = kernel.fuse(x, sampler, sw, reduce)
    else:
        parts = []
        for s in range(0, B, CHUNK):
            sampler = get_sampler(cameras, A[s:s + CHUNK], (H, W), n_samples, n_lines)
            parts.append(kernel.fuse(x[s:s + CHUNK], sampler, sw, reduce))
        out = torch.cat(parts) if is_torch(x) else np.concatenate(parts)

    if is_torch(hm) and not is_torch(out):
        out = torch.from_numpy(out).to(device=hm.device, dtype=hm.dtype)
    elif not is_torch(hm) and is_torch(out):
        out = out.numpy()
    if getattr(heatmaps, "dtype", None) == np.float16:                  # computed in float64
        out = out.astype(np.float16)
    return out if batched else out[0]


# ---------------------------------------------------------------------- the learned layer
class LearnedFusion(torch.nn.Module):
    """The paper's learned cross-view fusion: a fully connected layer per ordered view pair.

    ``fused_u = self_weight * h_u + (1 - self_weight) / (V - 1) * sum_{v != u} W_uv h_v``
    with ``h`` flattened to ``H W`` pixels and one ``(H W, H W)`` matrix ``W_uv`` per
    ordered pair ``(u, v)``, shared by all joints (as in the paper's implementation).
    Row ``i * W + j`` of ``W_uv`` is the *weight map* of target pixel ``(i, j)``: how
    much each pixel of view ``v`` contributes to it.

    Parameters
    ----------
    n_views : number of views ``V`` (>= 2).
    heatmap_size : ``(H, W)``. The layer has ``V (V - 1) (H W)^2`` weights: 201M at
        64 x 64 with 4 views, 4M at 24 x 24.
    self_weight : fixed blend weight of a view's own heatmap, in ``[0, 1]``.
    init : ``"zeros"`` (default: the layer starts as ``self_weight * h_u``),
        ``"uniform"`` (``U(0, 0.1)``, as the paper's code), ``"epipolar"`` (the
        analytic mean-along-the-curve operator of
        :meth:`crossview.epipolar.EpipolarSampler.fusion_matrix`; needs ``cameras`` and
        shared ``affines`` ``(V, 2, 3)``), or a tensor ``(V (V - 1), H W, H W)``.

    Input and output are ``(B, V, J, H, W)`` tensors.
    """

    def __init__(self, n_views: int, heatmap_size: tuple[int, int], self_weight: float = 0.5,
                 init: str | ArrayLike = "zeros", cameras: Sequence[Camera] | None = None,
                 affines: ArrayLike | None = None):
        super().__init__()
        V = check_int(n_views, "n_views", 2)
        H, W = _heatmap_size(heatmap_size, minimum=1)
        if not 0.0 <= float(self_weight) <= 1.0:
            raise ValueError(f"self_weight must be in [0, 1], got {self_weight!r}")
        self.n_views, self.heatmap_size, self.self_weight = V, (H, W), float(self_weight)
        pairs = _view_pairs(V)
        self.register_buffer("pairs", torch.from_numpy(pairs), persistent=False)
        P, HW = len(pairs), H * W
        weight = torch.zeros(P, HW, HW)
        if isinstance(init, str):
            if init == "uniform":
                weight.uniform_(0.0, 0.1)
            elif init == "epipolar":
                if cameras is None or affines is None:
                    raise ValueError('init="epipolar" needs cameras and affines (V, 2, 3)')
                if len(cameras) != V:
                    raise ValueError(f"cameras has {len(cameras)} cameras but n_views is {V}")
                A = to_numpy(as_float_array(affines, "affines", trailing=(V, 2, 3)))
                if A.ndim != 3:
                    raise ValueError(f"affines must be shared by all frames, (V, 2, 3); got "
                                     f"shape {A.shape}")
                sampler = EpipolarSampler.build(cameras, A, (H, W))
                for p, (u, v) in enumerate(pairs):
                    weight[p] = torch.from_numpy(sampler.fusion_matrix(u, v))
            elif init != "zeros":
                raise ValueError(f"init must be 'zeros', 'uniform', 'epipolar' or a tensor of "
                                 f"shape {(P, HW, HW)}; got {init!r}")
        else:
            given = torch.as_tensor(to_numpy(init) if not is_torch(init) else init,
                                    dtype=torch.float32)
            if tuple(given.shape) != (P, HW, HW):
                raise ValueError(f"init must have shape {(P, HW, HW)}, got {tuple(given.shape)}")
            weight.copy_(given)
        self.weight = torch.nn.Parameter(weight)

    def pair_index(self, u: int, v: int) -> int:
        """Index of the ordered pair (target ``u``, source ``v``) in :attr:`weight`."""
        return _pair_index(self.n_views, u, v)

    def weight_map(self, u: int, v: int, pixel: tuple[int, int]):
        """Weights ``(H, W)`` (NumPy) with which view ``v`` feeds pixel ``(i, j)`` of view ``u``."""
        H, W = self.heatmap_size
        i, j = pixel
        row = self.weight[self.pair_index(u, v), i * W + j]
        return row.detach().cpu().numpy().reshape(H, W)

    def forward(self, heatmaps):
        if not is_torch(heatmaps) or heatmaps.ndim != 5:
            raise ValueError("heatmaps must be a tensor of shape (B, V, J, H, W), got "
                             f"{getattr(heatmaps, 'shape', type(heatmaps).__name__)}")
        B, V, J, H, W = heatmaps.shape
        if V != self.n_views or (H, W) != self.heatmap_size:
            raise ValueError(f"heatmaps must have {self.n_views} views of size "
                             f"{self.heatmap_size}, got shape {tuple(heatmaps.shape)}")
        flat = heatmaps.reshape(B, V, J, H * W)
        src = flat[:, self.pairs[:, 1]].to(self.weight.dtype)             # (B, P, J, HW)
        msg = torch.einsum("bpjs,pts->bpjt", src, self.weight)            # (B, P, J, HW)
        evidence = msg.reshape(B, V, V - 1, J, H * W).sum(2)
        out = self.self_weight * flat + (1.0 - self.self_weight) / (V - 1) * evidence
        return out.reshape(B, V, J, H, W)

    def extra_repr(self) -> str:
        return (f"n_views={self.n_views}, heatmap_size={self.heatmap_size}, "
                f"self_weight={self.self_weight}")


# ---------------------------------------------------------------------- weights vs lines
def epipolar_mass(weight: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike,
                  heatmap_size: tuple[int, int], k: float = 1.0):
    """How much of each weight map lies within ``k`` heatmap pixels of the true epipolar line.

    ``weight`` ``(P, H W, H W)`` (e.g. ``LearnedFusion.weight``; pairs ordered as in
    the layer) holds for every ordered pair ``(u, v)`` and target pixel of ``u`` a
    weight map over the pixels of ``v``. For each map this returns the share of its
    absolute weight on source pixels within ``k`` px of the target pixel's epipolar
    line, and the share a uniform map would have there (the fraction of pixels that
    close to the line). Distances are measured in heatmap pixels after removing the
    lens distortion (exact for a distortion-free rig; within the lens' local
    stretch, a few percent on Human3.6M, otherwise).

    ``heatmap_size`` is ``(H, W)`` (rows, columns). Returns ``(near, uniform)``,
    NumPy ``(P, H W)`` each; NaN where the line misses the heatmap or the map is all
    zero.
    """
    H, W = _heatmap_size(heatmap_size)
    cameras = list(cameras)
    V = len(cameras)
    A = to_numpy(as_float_array(affines, "affines", trailing=(V, 2, 3)))
    if A.ndim != 3:
        raise ValueError(f"affines must be shared, shape (V, 2, 3); got {A.shape}")
    w = np.abs(to_numpy(weight.detach() if is_torch(weight) else weight)).astype(np.float64)
    P, HW = V * (V - 1), H * W
    if w.shape != (P, HW, HW):
        raise ValueError(f"weight must have shape {(P, HW, HW)}, got {w.shape}")
    if not k > 0:
        raise ValueError(f"k must be positive, got {k!r}")
    grid = _pixel_grid(H, W)
    Ainv = invert_affine(A)
    # pixel centres of every view as ideal (undistorted) image pixels
    ideal = [cam.undistort_points(apply_affine(Ainv[v], grid)) for v, cam in enumerate(cameras)]
    near = np.full((P, HW), np.nan)
    uniform = np.full((P, HW), np.nan)
    for p, (u, v) in enumerate(_view_pairs(V)):
        # lines of u's pixels in the undistorted heatmap frame of v: M_v^{-T} F x
        Fv = np.linalg.inv(_homogeneous_affine(A[v])).T @ fundamental_matrix(cameras[u],
                                                                            cameras[v])
        xh = np.concatenate([ideal[u], np.ones((HW, 1))], 1)
        lines = xh @ Fv.T                                                 # (HW_u, 3)
        src = apply_affine(A[v], ideal[v])                                # (HW_v, 2)
        sh = np.concatenate([src, np.ones((HW, 1))], 1)
        dist = np.abs(lines @ sh.T) / np.hypot(lines[:, :1], lines[:, 1:2])
        close = dist <= k                                                 # (HW_u, HW_v)
        frac = close.mean(1)
        total = w[p].sum(1)
        ok = (frac > 0) & (total > 0)
        near[p] = np.where(ok, (w[p] * close).sum(1) / np.where(total > 0, total, 1), np.nan)
        uniform[p] = np.where(ok, frac, np.nan)
    return near, uniform
