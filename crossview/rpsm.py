"""The recursive pictorial structure model (RPSM) of Qiu et al. (2019).

Stage 0 is a PSM on a coarse ``N^3`` grid around the root. Each later stage places
a ``2 x 2 x 2`` grid around *every* joint's current estimate (corners at
``+-size/2`` per axis), re-solves all joints jointly by max-product on the tree,
and halves ``size``; it starts at ``cube_size / N`` (Qiu et al.'s official code).
Picking one of two points ``+-size/2`` per axis and halving is a binary search:
after ``depth`` stages the estimate can move ``cube_size / N`` from the coarse bin
and resolves ``cube_size / (N 2^depth)``.

A binary search has no slack: once a stage picks the wrong side along an axis, the
later stages together move back at most ``size/2``, so the error stays. With
clean heatmaps that happens when the unary, a quadratic form near its peak (a sum
of log-Gaussians over views), has an ellipsoid that is not aligned with the grid's
axes: the best of the 8 corners can lie on the wrong side along one axis (on the
Human3.6M rig turned by 30 degrees about the vertical, a few joints end up tens of
mm off). ``refine_bins=3`` adds the current estimate on each axis (points at
``-size/2, 0, +size/2``, 27 candidates per joint, 729 limb pairs instead of 64), so
a stage can keep an axis where it is; the stage sizes and the halving stay the same.
Chapter 7 measures both.

The pairwise term of a stage is computed on the fly from the corners' distances.
Its window shrinks with the grid: two corners can be up to ``sqrt(3) size`` closer
or farther apart than the points they stand for, so limb ``j`` is plausible when
``|distance - L_j| <= min(tolerance, margin_j + sqrt(3) size)``. The ``margin``
is how far the true limb may be from the expected length ``L_j``:
:data:`PRIOR_MARGIN_STD` standard deviations of the prior when the lengths come from
one (the skeleton's default prior, a prior fitted to training poses, or lengths
estimated from the heatmaps of a sequence, :func:`crossview.estimate_limb_lengths`),
zero when they are given as numbers. Early stages are as loose as the paper's; late
ones hold the limbs to what the prior allows, which pulls noisy joints back onto a
plausible skeleton. A limb outside its window costs
:data:`~crossview.kernels.psm_common.EXCESS_COST` per mm (the paper's term is binary
at every stage; a graded cost still ranks poses whose limbs cannot all fit the small
grid). Chapter 7 of the book measures what the
shrinking windows gain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._array import ArrayLike, to_numpy
from ._validate import as_float_array, check_int, check_positive
from .camera import Camera
from .heatmap import peak_observations
from .kernels import load_kernel
from .kernels.interface import Array
from .kernels.psm_common import EXCESS_COST, REFINE_BINS, penalty
from .psm import (
    DEFAULT_FLOOR,
    check_center,
    kernel_inputs,
    prepare_inputs,
    root_centers,
)
from .skeleton import LIMB_PRIOR, SKELETON, LimbLengthPrior

#: Standard deviations of the limb-length prior that the late stages allow. Chosen by
#: measurement on synthetic people the prior did not generate (chapter 7): with 7, a
#: person with Human3.6M-like joint placement (shoulders about 6 prior standard
#: deviations off) costs well under 1 mm on clean heatmaps, where 3 cost 9 mm, and
#: noisy heatmaps of such people are estimated as well as with 3.
PRIOR_MARGIN_STD = 7.0


def stage_sizes(n_bins: int, depth: int, cube_size: float) -> np.ndarray:
    """Grid sizes ``(depth,)`` of the refinement stages: ``cube_size / N / 2^t``."""
    return cube_size / n_bins / 2.0 ** np.arange(depth)


def stage_windows(sizes: np.ndarray, margin: np.ndarray, tolerance: float) -> np.ndarray:
    """Limb windows ``(T, J)`` of the refinement stages (mm); see the module docstring."""
    return np.minimum(tolerance, margin[None, :] + np.sqrt(3.0) * sizes[:, None])


@dataclass(frozen=True)
class RPSMResult:
    """What :func:`rpsm_detailed` found, in the kind of the input heatmaps (``B`` frames;
    without the batch axis for one frame)."""

    pose: Array                   #: (B, J, 3) mm: the estimate after the last stage
    stages: Array                 #: (B, depth + 1, J, 3) mm: stage 0 is the coarse PSM
    center: np.ndarray            #: (B, 3) mm: the middle of each frame's first grid
    limb_lengths: np.ndarray      #: (B, J) mm: the expected limb lengths
    margin: np.ndarray            #: (J,) mm: how far the late stages let a limb be off


def _margin(length_margin, limb_lengths, J: int) -> np.ndarray:
    if length_margin is None:
        prior = LIMB_PRIOR if limb_lengths is None else limb_lengths
        return (PRIOR_MARGIN_STD * prior.std if isinstance(prior, LimbLengthPrior)
                else np.zeros(J))
    margin = to_numpy(as_float_array(length_margin, "length_margin"))
    if margin.shape not in ((), (J,)) or (margin < 0).any():
        raise ValueError(f"length_margin must be a non-negative number (mm) or have shape "
                         f"({J},), got {margin!r}")
    return np.broadcast_to(margin, (J,)).astype(np.float64)


def solve(heatmaps, cameras, affines, *, center, limb_lengths, n_bins, depth, cube_size,
          tolerance, length_margin, refine_bins, floor, backend,
          detailed: bool) -> Array | RPSMResult:
    """The shared body of :func:`crossview.psm` (``depth = 0``), :func:`rpsm` and
    :func:`rpsm_detailed`: validate, pick the kernels, call them, convert back."""
    problem = prepare_inputs(heatmaps, cameras, affines, limb_lengths, floor, backend)
    n_bins = check_int(n_bins, "n_bins", 2)
    depth = check_int(depth, "depth", 0)
    cube_size = check_positive(cube_size, "cube_size")
    tolerance = check_positive(tolerance, "tolerance")
    refine_bins = check_int(refine_bins, "refine_bins")
    if refine_bins not in REFINE_BINS:
        raise ValueError(f"refine_bins must be one of {REFINE_BINS} (candidate points per "
                         f"axis in a refinement stage), got {refine_bins}")
    V, J = problem.shape[1:3]
    margin = _margin(length_margin, limb_lengths, J)
    centers = root_centers(problem) if center is None else check_center(center, problem)

    kernel, bridge, state, cams = kernel_inputs(problem, "psm")
    lengths = bridge.native(problem.lengths)
    coarse = kernel.coarse(state, cams, bridge.native(centers), lengths,
                           bridge.native(np.full(J, tolerance)), SKELETON.parents, n_bins,
                           cube_size, penalty(J, V, float(np.log(problem.floor))))
    sizes = stage_sizes(n_bins, depth, cube_size)
    stages = None
    if depth:
        windows = stage_windows(sizes, margin, tolerance)
        stages = load_kernel("rpsm", problem.backend).refine(
            state, cams, coarse, lengths, bridge.native(windows), sizes, SKELETON.parents,
            EXCESS_COST, refine_bins)
    pose = bridge.output(coarse if stages is None else stages[:, -1], problem.ref,
                         problem.batched)
    if not detailed:
        return pose
    every = np.concatenate([to_numpy(coarse)[:, None]]
                           + ([to_numpy(stages)] if depth else []), axis=1)
    keep = (lambda a: a) if problem.batched else (lambda a: a[0])
    return RPSMResult(pose=pose, stages=bridge.output(every, problem.ref, problem.batched),
                      center=keep(centers), limb_lengths=keep(problem.lengths), margin=margin)


def rpsm(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike, *,
         center: ArrayLike | None = None,
         limb_lengths: ArrayLike | LimbLengthPrior | None = None, n_bins: int = 16,
         depth: int = 10, cube_size: float = 2000.0, tolerance: float = 150.0,
         length_margin: ArrayLike | float | None = None, refine_bins: int = 2,
         floor: float = DEFAULT_FLOOR, backend: str | None = None) -> Array:
    """Pose ``(J, 3)`` (mm) by the recursive pictorial structure model.

    Parameters
    ----------
    heatmaps : ``(V, J, H, W)`` non-negative, or batched ``(B, V, J, H, W)``.
    cameras : the ``V`` cameras.
    affines : ``(V, 2, 3)`` image px -> heatmap px shared by all frames, or ``(B, V, 2, 3)``.
    center : ``(3,)`` or ``(B, 3)`` middle of the first grid (mm); ``None`` triangulates
        the root robustly from its heatmap peaks (:func:`crossview.psm.root_center`).
    limb_lengths : ``(J,)`` or ``(B, J)`` mm; or a :class:`~crossview.skeleton.LimbLengthPrior`
        (a fitted one, or :func:`crossview.estimate_limb_lengths`' estimate), whose means
        are the lengths and whose spreads set the late stages' margin; ``None`` for the
        skeleton's default prior :data:`crossview.LIMB_PRIOR`.
    n_bins : bins per axis of the first grid (``N >= 2``).
    depth : refinement stages after the first (``>= 0``; 0 is plain PSM).
    cube_size : edge of the first grid's cube (mm).
    tolerance : the widest limb window (mm), used by the first stage.
    length_margin : how far (mm) true limbs may be from ``limb_lengths``, scalar or ``(J,)``;
        default :data:`PRIOR_MARGIN_STD` standard deviations of a prior, 0 for lengths
        given as numbers.
    refine_bins : candidate points per axis in each refinement stage: ``2``, the paper's
        ``2 x 2 x 2`` corners at ``+-size/2`` (a binary search), or ``3``, which adds the
        current estimate on each axis (27 candidates; robust to unaries whose ellipsoid
        is not aligned with the grid, at about three times the refinement's cost).
    floor : heatmap values are clipped from below at this before the logarithm.
    backend : ``"naive"`` (small grids only), ``"numpy"``, ``"numba"``, ``"torch"``, or
        ``None``: torch for tensors, otherwise Numba when installed, else NumPy
        (:func:`crossview.kernels.resolve_backend`). All give the same pose.

    Returns the pose ``(J, 3)`` or ``(B, J, 3)`` in the kind of ``heatmaps``;
    :func:`rpsm_detailed` also returns every stage's estimate and the grid centres.

    Examples
    --------
    >>> import crossview as cv
    >>> s = cv.make_scenes(2, seed=0)
    >>> poses = cv.rpsm(s.heatmaps, s.cameras, s.affines)        # (2, 17, 3)
    """
    return solve(heatmaps, cameras, affines, center=center, limb_lengths=limb_lengths,
                 n_bins=n_bins, depth=depth, cube_size=cube_size, tolerance=tolerance,
                 length_margin=length_margin, refine_bins=refine_bins, floor=floor,
                 backend=backend, detailed=False)


def rpsm_detailed(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike, *,
                  center: ArrayLike | None = None,
                  limb_lengths: ArrayLike | LimbLengthPrior | None = None, n_bins: int = 16,
                  depth: int = 10, cube_size: float = 2000.0, tolerance: float = 150.0,
                  length_margin: ArrayLike | float | None = None, refine_bins: int = 2,
                  floor: float = DEFAULT_FLOOR, backend: str | None = None) -> RPSMResult:
    """:func:`rpsm` with what it went through: an :class:`RPSMResult` holding the pose,
    every stage's estimate (stage 0 the coarse PSM), the grid centres, the expected limb
    lengths and the late stages' margin. The arguments are those of :func:`rpsm`."""
    return solve(heatmaps, cameras, affines, center=center, limb_lengths=limb_lengths,
                 n_bins=n_bins, depth=depth, cube_size=cube_size, tolerance=tolerance,
                 length_margin=length_margin, refine_bins=refine_bins, floor=floor,
                 backend=backend, detailed=True)


__all__ = ["PRIOR_MARGIN_STD", "RPSMResult", "peak_observations", "rpsm", "rpsm_detailed",
           "stage_sizes", "stage_windows"]
