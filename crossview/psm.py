"""The pictorial structure model (PSM) on a 3D grid around the root.

A cube of ``cube_size`` mm around ``center`` is cut into ``n_bins^3`` bins. Every
joint ``j`` may sit in any bin ``b``; the pose is the assignment that maximises

    sum_j U_j(b_j) + sum_{(p, c) limbs} psi_c(b_p, b_c),

* the **unary** ``U_j(b) = sum_v log max(h_vj(pi_v(b)), floor)``: each view's heatmap
  ``h_vj`` read at the bin's projection ``pi_v(b)`` (lens model, then crop affine).
  Summing logs multiplies the views' evidence (a joint must be seen by all views
  at once); the ``floor`` keeps one empty or wrong heatmap from vetoing a bin.
  Heatmaps are read by Keys' cubic interpolation of ``log h``, which is exact for
  a Gaussian blob (its log is a quadratic), so the unary peaks where the views
  agree, not at a heatmap pixel centre as bilinear sampling would;
* the **pairwise** ``psi_c`` is 0 when the bins' distance is within ``tolerance`` of
  the expected limb length and a large penalty otherwise (the paper's binary term);
  on a regular grid it depends only on the bins' offset, so each limb is a stencil.

Max-product (dynamic programming) on the skeleton tree finds the exact maximum.
The official implementation (Qiu et al. 2019, ``lib/multiviews/pictorial.py``) sums
bilinear heatmap values over views instead of multiplying them; chapter 6 of the
book derives the difference.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._array import ArrayLike, is_torch, to_numpy
from ._validate import (
    as_float_array,
    check_cameras,
    check_heatmaps,
    check_int,
    check_positive,
)
from .camera import Camera
from .heatmap import peak_observations
from .kernels import load_kernel, resolve_backend
from .kernels.interface import Array, Bridge
from .kernels.psm_common import limb_stencil, penalty
from .skeleton import LIMB_PRIOR, SKELETON, LimbLengthPrior
from .triangulate import triangulate_robust

#: Heatmap values below this count as this much evidence (see :func:`psm`).
DEFAULT_FLOOR = 1e-3


@dataclass
class Problem:
    """Validated, batched inputs of :func:`psm` and :func:`crossview.rpsm`."""

    heatmaps: object              #: (B, V, J, H, W): NumPy float64, or the tensor (torch backend)
    cameras: list                 #: the V cameras
    affines: np.ndarray           #: (B, V, 2, 3) image px -> heatmap px
    cams: tuple                   #: (R, t, dist, aff) as in crossview.kernels.psm_common
    lengths: np.ndarray           #: (B, J) expected limb lengths, mm
    batched: bool                 #: the input had a batch axis
    ref: object                   #: the input heatmaps (decides the output's kind)
    floor: float
    backend: str

    @property
    def shape(self) -> tuple[int, ...]:
        return self.heatmaps.shape


def camera_arrays(cameras: Sequence[Camera],
                  affines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kernel camera arrays ``(R, t, dist, aff)`` from cameras and crop affines ``(B, V, 2, 3)``.

    ``aff`` composes each crop affine with the camera's intrinsics, so that it maps
    normalised (distorted) camera coordinates straight to heatmap pixels.
    """
    R = np.stack([c.R for c in cameras])
    t = np.stack([c.t for c in cameras])
    dist = np.stack([c.dist for c in cameras])
    K = np.stack([c.K for c in cameras])                       # (V, 3, 3)
    M = affines[..., :2] @ K[:, :2, :2]                        # (B, V, 2, 2)
    o = (affines[..., :2] @ K[:, :2, 2:])[..., 0] + affines[..., 2]
    return R, t, dist, np.concatenate([M, o[..., None]], -1)


def prepare_inputs(heatmaps, cameras, affines, limb_lengths, floor, backend) -> Problem:
    """Validate the shared inputs of PSM and RPSM and bring them to batched NumPy form;
    ``backend`` (``None`` for the default) is resolved once, here."""
    backend = resolve_backend(backend, heatmaps)
    floor = check_positive(floor, "floor")
    ref = heatmaps
    hm, A, batched = check_heatmaps(heatmaps, affines, n_joints=SKELETON.n_joints,
                                    nonnegative=True)
    if not (backend == "torch" and is_torch(hm)):        # tensors stay on their device
        hm = to_numpy(hm).astype(np.float64, copy=False)
    B, V, J = hm.shape[:3]
    cameras = check_cameras(cameras, V)
    A = np.broadcast_to(A, (B, V, 2, 3))
    if limb_lengths is None or isinstance(limb_lengths, LimbLengthPrior):
        prior = LIMB_PRIOR if limb_lengths is None else limb_lengths
        lengths = np.broadcast_to(prior.mean, (B, J)).copy()
    else:
        lengths = to_numpy(as_float_array(limb_lengths, "limb_lengths", trailing=(J,)))
        if lengths.shape == (J,):
            lengths = np.broadcast_to(lengths, (B, J)).copy()
        elif lengths.shape != (B, J):
            raise ValueError(f"limb_lengths must have shape ({J},) or ({B}, {J}), got shape "
                             f"{lengths.shape}")
        if (lengths[:, 1:] <= 0).any():
            raise ValueError("limb_lengths must be positive (entry 0, the root, is ignored)")
    A = np.ascontiguousarray(A)
    return Problem(hm, cameras, A, camera_arrays(cameras, A), lengths, batched, ref, floor,
                   backend)


def check_center(center, problem: Problem) -> np.ndarray:
    """Validate ``center`` ``(3,)`` or ``(B, 3)`` against the views; returns ``(B, 3)``.

    A centre whose projection lies more than one heatmap size outside every view's
    heatmap (or behind every camera) cannot be the person's: a clear error beats a
    grid that sees nothing.
    """
    B, H, W = problem.shape[0], problem.shape[3], problem.shape[4]
    c = to_numpy(as_float_array(center, "center", trailing=(3,)))
    if c.shape == (3,):
        c = np.broadcast_to(c, (B, 3)).copy()
    elif c.shape != (B, 3):
        raise ValueError(f"center must have shape (3,) or ({B}, 3), got shape {c.shape}")
    from .kernels.psm_numpy import project

    hx, hy = project(problem.cams, c[:, None, :])       # (B, V, 1)
    seen = (hx > -W) & (hx < 2 * W) & (hy > -H) & (hy < 2 * H)
    lost = ~seen.any(axis=(1, 2))
    if lost.any():
        b = int(np.flatnonzero(lost)[0])
        raise ValueError(f"center {np.round(c[b], 1).tolist()} (frame {b}) projects far outside "
                         "every view's heatmap; it must be near the person (e.g. the "
                         "triangulated root)")
    return c


def kernel_inputs(problem: Problem, family: str) -> tuple:
    """The ``family``'s kernel for the problem's backend, its :class:`~crossview.kernels.
    interface.Bridge`, the prepared heatmap state and the camera arrays in the backend's
    kind."""
    kernel = load_kernel(family, problem.backend)
    bridge = Bridge.for_input(problem.backend, problem.ref)
    state = kernel.prepare(bridge.native(problem.heatmaps), problem.floor)
    return kernel, bridge, state, tuple(bridge.native(a) for a in problem.cams)


def root_centers(problem: Problem, threshold_hm_px: float = 5.0) -> np.ndarray:
    """The root of every frame of a validated problem, ``(B, 3)`` mm; see
    :func:`root_center`."""
    hm = problem.heatmaps
    uv, values, px = peak_observations(hm[:, :, :1], problem.affines)
    threshold = threshold_hm_px * px
    root = triangulate_robust(uv, problem.cameras, values, threshold_px=threshold)[:, 0]
    lost = ~np.isfinite(root).all(-1)
    if lost.any():
        uv, values, _ = peak_observations(hm[_index(lost, hm)], problem.affines[lost])
        X = triangulate_robust(uv, problem.cameras, values, threshold_px=threshold)
        with warnings.catch_warnings():       # frames where no joint triangulates stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            root[lost] = np.nanmedian(X, axis=1)
    if not np.isfinite(root).all():
        b = int(np.flatnonzero(~np.isfinite(root).all(-1))[0])
        raise ValueError(f"center=None: frame {b} has no joint seen in two views to "
                         "triangulate; pass center explicitly")
    return root


def _index(mask: np.ndarray, like_x):
    """A NumPy boolean mask as an index of ``like_x`` (a tensor wants a tensor on its device)."""
    if is_torch(like_x):
        import torch

        return torch.as_tensor(mask, device=like_x.device)
    return mask


def root_center(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike, *,
                threshold_hm_px: float = 5.0) -> np.ndarray:
    """The root joint ``(3,)`` (or ``(B, 3)`` for batched heatmaps), mm, robustly
    triangulated from its heatmap peaks: where :func:`psm` and :func:`crossview.rpsm` put
    their first grid when no ``center`` is given.

    Peaks are weighted by their height; views whose peak disagrees by more than
    ``threshold_hm_px`` heatmap pixels (about 40 image pixels on the Human3.6M crops)
    are left out. When the root cannot be triangulated (fewer than two views see it),
    the median of all triangulated joints stands in.
    """
    problem = prepare_inputs(heatmaps, cameras, affines, None, DEFAULT_FLOOR, "numpy")
    roots = root_centers(problem, check_positive(threshold_hm_px, "threshold_hm_px"))
    return roots if problem.batched else roots[0]


def psm(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike, *,
        center: ArrayLike | None = None,
        limb_lengths: ArrayLike | LimbLengthPrior | None = None, n_bins: int = 16,
        cube_size: float = 2000.0, tolerance: float = 150.0, floor: float = DEFAULT_FLOOR,
        backend: str | None = None) -> Array:
    """Pose ``(J, 3)`` (mm) maximising the pictorial structure model on an ``n_bins^3`` grid.

    Parameters
    ----------
    heatmaps : ``(V, J, H, W)`` non-negative, or batched ``(B, V, J, H, W)``.
    cameras : the ``V`` cameras.
    affines : ``(V, 2, 3)`` image px -> heatmap px, shared by all frames, or ``(B, V, 2, 3)``.
    center : ``(3,)`` or ``(B, 3)`` mm, the middle of the cube; ``None`` triangulates the
        root robustly from its heatmap peaks (:func:`root_center`).
    limb_lengths : ``(J,)`` or ``(B, J)`` expected limb lengths (mm), a
        :class:`~crossview.skeleton.LimbLengthPrior` (its means), or ``None`` for the
        skeleton prior's means.
    n_bins : bins per axis ``N >= 2``; the spacing is ``cube_size / (N - 1)``.
    cube_size : edge of the cube (mm).
    tolerance : a limb is plausible when its length is within this of the expected one (mm).
    floor : heatmap values are clipped from below at this before the logarithm.
    backend : ``"naive"`` (small grids only), ``"numpy"``, ``"numba"``, ``"torch"``, or
        ``None``: torch for tensors, otherwise Numba when installed, else NumPy
        (:func:`crossview.kernels.resolve_backend`). All give the same pose.

    Returns ``(J, 3)``, or ``(B, J, 3)`` for batched heatmaps: the centres of the chosen
    bins, in the kind (NumPy or torch, device and dtype) of ``heatmaps``.
    """
    problem = prepare_inputs(heatmaps, cameras, affines, limb_lengths, floor, backend)
    n_bins = check_int(n_bins, "n_bins", 2)
    cube_size = check_positive(cube_size, "cube_size")
    tolerance = check_positive(tolerance, "tolerance")
    centers = root_centers(problem) if center is None else check_center(center, problem)
    V, J = problem.shape[1:3]
    kernel, bridge, state, cams = kernel_inputs(problem, "psm")
    windows = np.full(J, tolerance)
    poses = kernel.coarse(state, cams, bridge.native(centers), bridge.native(problem.lengths),
                          bridge.native(windows), SKELETON.parents, n_bins, cube_size,
                          penalty(J, V, float(np.log(problem.floor))))
    return bridge.output(poses, problem.ref, problem.batched)


def grid(center: ArrayLike, n_bins: int = 16, cube_size: float = 2000.0) -> np.ndarray:
    """Bin centres ``(n_bins^3, 3)`` of the cube around ``center`` ``(3,)``.

    Bin ``k = (ix N + iy) N + iz`` sits at ``center - cube_size/2 + (ix, iy, iz) s`` with
    spacing ``s = cube_size / (N - 1)``, so the outer bins lie on the cube's faces.
    """
    from .kernels.psm_numpy import grid_points

    c = to_numpy(as_float_array(center, "center", trailing=(3,)))
    if c.shape != (3,):
        raise ValueError(f"center must have shape (3,), got shape {c.shape}")
    n_bins = check_int(n_bins, "n_bins", 2)
    return grid_points(c[None], n_bins, check_positive(cube_size, "cube_size"))[0]


def unary_terms(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike,
                points: ArrayLike, floor: float = DEFAULT_FLOOR) -> np.ndarray:
    """Unary terms ``(J, P)`` of world points ``(P, 3)`` for one frame's heatmaps ``(V, J, H, W)``.

    ``U_j(X) = sum_v log max(h_vj(pi_v(X)), floor)`` with Keys-cubic interpolation of
    the log-heatmap; points outside a heatmap or behind a camera read ``floor``.
    """
    from .kernels import psm_numpy

    problem = prepare_inputs(heatmaps, cameras, affines, None, floor, "numpy")
    if problem.batched:
        raise ValueError("unary_terms takes one frame: heatmaps (V, J, H, W)")
    pts = to_numpy(as_float_array(points, "points", trailing=(3,)))
    if pts.ndim != 2:
        raise ValueError(f"points must have shape (P, 3), got shape {pts.shape}")
    state = psm_numpy.prepare(problem.heatmaps, floor)
    return psm_numpy.unary(state, problem.cams, pts[None])[0]


__all__ = ["DEFAULT_FLOOR", "grid", "limb_stencil", "psm", "root_center", "unary_terms"]
