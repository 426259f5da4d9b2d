"""A subject's limb lengths from the heatmaps of a sequence of its frames.

RPSM needs limb lengths. The paper's code reads them from the ground truth, and a
prior (:data:`crossview.LIMB_PRIOR`, or one fitted to a training set with
:meth:`crossview.skeleton.LimbLengthPrior.fit`) describes a population, not the person
in front of the cameras. But a person's limbs do not change from frame to frame, so
many frames together can measure them without any truth:

1. in every frame, triangulate each joint robustly from the heatmap peaks of the views
   that are confident about it (peak height at least ``min_confidence``), and keep it
   only when at least ``min_views`` of those views agree on it;
2. a limb's length in a frame is the distance of its two ends where both were kept;
3. the subject's length is the median over frames, which ignores the frames where a
   false peak got through.

The result is a :class:`~crossview.skeleton.LimbLengthPrior` whose spread is the
uncertainty of that median (``1.2533 s / sqrt(n)`` for ``n`` frames of robust spread
``s``, at least ``min_std``), so RPSM holds the limbs close to what was measured. A
limb seen in fewer than ``min_frames`` frames keeps the fallback prior's mean and
spread. Chapter 7 of the book derives this and measures it against the truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._array import ArrayLike, to_numpy
from ._validate import as_float_array, check_int, check_positive
from .camera import Camera
from .rpsm import peak_observations
from .skeleton import LIMB_PRIOR, MAD_TO_STD, SKELETON, LimbLengthPrior
from .triangulate import triangulate_detailed

#: Standard error of a normal sample's median, in units of ``s / sqrt(n)`` (sqrt(pi / 2)).
MEDIAN_STD_ERROR = 1.2533141373155001


def confident_joints(uv: np.ndarray, confidence: np.ndarray, cameras: Sequence[Camera], *,
                     min_confidence: float = 0.5, min_views: int = 3,
                     threshold_px: float = 40.0) -> np.ndarray:
    """Joints ``(F, J, 3)`` (mm) triangulated from confident, agreeing views; NaN elsewhere.

    ``uv`` ``(F, V, J, 2)`` image px and ``confidence`` ``(F, V, J)`` are each view's
    peak and its height. Views below ``min_confidence`` are left out; the rest are
    triangulated robustly (:func:`crossview.triangulate_robust`, inliers within
    ``threshold_px`` image px), and a joint is kept when at least ``min_views`` views
    are inliers and the point lies in front of them.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    weights = np.where(conf >= min_confidence, conf, 0.0)
    found = triangulate_detailed(np.asarray(uv, dtype=np.float64), cameras, weights,
                                 robust=True, threshold_px=threshold_px)
    keep = np.asarray(found.valid) & (np.asarray(found.views) >= min_views)
    return np.where(keep[..., None], found.points, np.nan)


def limb_lengths_from_joints(joints3d: np.ndarray, *, min_frames: int = 5,
                             min_std: float = 2.0,
                             fallback: LimbLengthPrior = LIMB_PRIOR) -> LimbLengthPrior:
    """One subject's limb lengths from joints ``(F, J, 3)`` with NaN where unknown.

    The median over the frames where both ends of a limb are known, with the
    spread of that median (see the module docstring); limbs known in fewer than
    ``min_frames`` frames take ``fallback``'s mean and spread.
    """
    X = np.asarray(joints3d, dtype=np.float64)
    parents = [max(p, 0) for p in SKELETON.parents]
    lengths = np.linalg.norm(X - X[:, parents], axis=-1)              # (F, J), NaN if unknown
    n = np.isfinite(lengths).sum(0)
    known = n >= min_frames
    known[0] = False
    mean = np.array(fallback.mean)
    std = np.array(fallback.std)
    if known.any():
        L = lengths[:, known]
        med = np.nanmedian(L, axis=0)
        spread = MAD_TO_STD * np.nanmedian(np.abs(L - med), axis=0)
        mean[known] = med
        std[known] = np.maximum(MEDIAN_STD_ERROR * spread / np.sqrt(n[known]), min_std)
    return LimbLengthPrior(mean=mean, std=std, n_poses=len(X),
                           source=f"estimated from the heatmaps of {len(X)} frames "
                                  f"({int(known.sum())} of {SKELETON.n_joints - 1} limbs "
                                  "measured)")


def estimate_limb_lengths(heatmaps: ArrayLike, cameras: Sequence[Camera], affines: ArrayLike,
                          *, min_confidence: float = 0.5, min_views: int = 3,
                          threshold_hm_px: float = 5.0, min_frames: int = 5,
                          fallback: LimbLengthPrior = LIMB_PRIOR) -> LimbLengthPrior:
    """A subject's limb lengths from the heatmaps ``(F, V, J, H, W)`` of its frames.

    ``affines`` ``(V, 2, 3)`` or ``(F, V, 2, 3)`` map image px to heatmap px;
    ``threshold_hm_px`` is the robust triangulation's inlier threshold in heatmap
    pixels. Returns a :class:`~crossview.skeleton.LimbLengthPrior` to pass to
    :func:`crossview.rpsm` as ``limb_lengths`` (its ``mean`` are the lengths, mm).
    All frames must show the same person.

    Examples
    --------
    >>> import crossview as cv
    >>> s = cv.make_scenes(20, seed=0)
    >>> est = cv.estimate_limb_lengths(s.heatmaps, s.cameras, s.affines)
    >>> poses = cv.rpsm(s.heatmaps, s.cameras, s.affines, limb_lengths=est)
    """
    hm = to_numpy(as_float_array(heatmaps, "heatmaps", trailing=(None, None, None, None)))
    if hm.ndim != 5:
        raise ValueError("heatmaps must have shape (F, V, J, H, W): a sequence of frames of one "
                         f"subject, got shape {hm.shape}")
    A = to_numpy(as_float_array(affines, "affines", trailing=(None, 2, 3)))
    F, V = hm.shape[:2]
    if A.shape == (V, 2, 3):
        A = np.broadcast_to(A, (F, V, 2, 3))
    if A.shape != (F, V, 2, 3):
        raise ValueError(f"affines must have shape ({V}, 2, 3) or ({F}, {V}, 2, 3), got "
                         f"{A.shape}")
    min_confidence = check_positive(min_confidence, "min_confidence")
    min_views = check_int(min_views, "min_views", 2)
    threshold_hm_px = check_positive(threshold_hm_px, "threshold_hm_px")
    min_frames = check_int(min_frames, "min_frames", 1)
    uv, conf, px = peak_observations(hm, A)
    X = confident_joints(uv, conf, cameras, min_confidence=min_confidence, min_views=min_views,
                         threshold_px=threshold_hm_px * px)
    return limb_lengths_from_joints(X, min_frames=min_frames, fallback=fallback)


__all__ = ["confident_joints", "estimate_limb_lengths", "limb_lengths_from_joints"]
