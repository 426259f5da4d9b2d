"""The paper's learned cross-view fusion layer, and how much of its weight lies on lines.

:class:`LearnedFusion` is the fusion of Qiu et al. (ICCV 2019): one fully connected
``HW x HW`` layer per ordered view pair, shared by all joints, free to learn where the
evidence lies; :func:`epipolar_mass` measures how much of its learned weight ends up
near the epipolar lines, where the analytic fusion of :mod:`crossview.fusion` reads.
This module is a torch module (it imports torch); the analytic fusion does not need it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._array import ArrayLike, is_torch, to_numpy
from ._validate import as_float_array, check_cameras, check_int, check_size
from .camera import Camera
from .epipolar import fundamental_matrix, homogeneous_affine
from .heatmap import apply_affine, invert_affine
from .sampler import EpipolarSampler, pair_index, pixel_grid, view_pairs

__all__ = ["LearnedFusion", "epipolar_mass"]


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
        :meth:`crossview.sampler.EpipolarSampler.fusion_matrix`; needs ``cameras`` and
        shared ``affines`` ``(V, 2, 3)``), or a tensor ``(V (V - 1), H W, H W)``.

    Input and output are ``(B, V, J, H, W)`` tensors.
    """

    def __init__(self, n_views: int, heatmap_size: tuple[int, int], self_weight: float = 0.5,
                 init: str | ArrayLike = "zeros", cameras: Sequence[Camera] | None = None,
                 affines: ArrayLike | None = None):
        super().__init__()
        V = check_int(n_views, "n_views", 2)
        H, W = check_size(heatmap_size, "heatmap_size", minimum=1)
        if not 0.0 <= float(self_weight) <= 1.0:
            raise ValueError(f"self_weight must be in [0, 1], got {self_weight!r}")
        self.n_views, self.heatmap_size, self.self_weight = V, (H, W), float(self_weight)
        pairs = view_pairs(V)
        self.register_buffer("pairs", torch.from_numpy(pairs), persistent=False)
        P, HW = len(pairs), H * W
        weight = torch.zeros(P, HW, HW)
        if isinstance(init, str):
            if init == "uniform":
                weight.uniform_(0.0, 0.1)
            elif init == "epipolar":
                if cameras is None or affines is None:
                    raise ValueError('init="epipolar" needs cameras and affines (V, 2, 3)')
                cameras = check_cameras(cameras, V, views_of="n_views")
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
        return pair_index(self.n_views, u, v)

    def weight_map(self, u: int, v: int, pixel: tuple[int, int]) -> np.ndarray:
        """Weights ``(H, W)`` (NumPy) with which view ``v`` feeds pixel ``(i, j)`` of view ``u``."""
        H, W = self.heatmap_size
        i, j = pixel
        row = self.weight[self.pair_index(u, v), i * W + j]
        return row.detach().cpu().numpy().reshape(H, W)

    def forward(self, heatmaps) -> torch.Tensor:
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
                  heatmap_size: tuple[int, int], k: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
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
    H, W = check_size(heatmap_size, "heatmap_size", minimum=2)
    cameras = check_cameras(cameras)
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
    grid = pixel_grid(H, W)
    Ainv = invert_affine(A)
    # pixel centres of every view as ideal (undistorted) image pixels
    ideal = [cam.undistort_points(apply_affine(Ainv[v], grid)) for v, cam in enumerate(cameras)]
    near = np.full((P, HW), np.nan)
    uniform = np.full((P, HW), np.nan)
    for p, (u, v) in enumerate(view_pairs(V)):
        # lines of u's pixels in the undistorted heatmap frame of v: M_v^{-T} F x
        Fv = np.linalg.inv(homogeneous_affine(A[v])).T @ fundamental_matrix(cameras[u],
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
