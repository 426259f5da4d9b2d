"""Evaluation metrics of the paper: MPJPE (3D, mm) and JDR (2D, %).

Two head sizes are in use for the JDR, and the book names which one it reports:

* the **paper's**: its code (``lib/dataset/multiview_h36m.py``, ``evaluate``) takes a
  fixed head size of a tenth of the network's input width, ``image_size[0] / 10``,
  in original-image pixels (:data:`PAPER_HEAD_SIZE_PX`, 25.6 px for its 256 x 256
  inputs), and a joint is detected within half of it (12.8 px);
* the **crop's**: a tenth of each view's crop width, in image pixels (what
  ``Scenes.head_sizes`` and ``H36MFrames.head_sizes`` hold), which scales with the
  person's size in the image.
"""

from __future__ import annotations

import numpy as np

from ._array import ArrayLike, to_numpy
from ._validate import as_float_array, check_positive

#: The paper's JDR head size: a tenth of its 256-pixel network input, original-image pixels.
PAPER_HEAD_SIZE_PX = 25.6


def joint_errors(pred: ArrayLike, gt: ArrayLike) -> np.ndarray:
    """Euclidean error of every joint, ``(..., J, D)`` x2 -> ``(..., J)`` as NumPy."""
    pred = to_numpy(as_float_array(pred, "pred", trailing=(None, None), finite=False))
    gt = to_numpy(as_float_array(gt, "gt", trailing=(None, None)))
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt must have the same shape, got {pred.shape} and {gt.shape}")
    if gt.size == 0:
        raise ValueError(f"pred and gt must hold at least one joint, got shape {gt.shape}")
    return np.linalg.norm(pred - gt, axis=-1)


def mpjpe(pred: ArrayLike, gt: ArrayLike, per_joint: bool = False) -> float | np.ndarray:
    """Mean per-joint position error (mm) of poses ``(..., J, 3)``.

    Returns a float, or the mean over all leading dimensions per joint ``(J,)``
    when ``per_joint``. A non-finite prediction counts as an infinite error.
    """
    err = joint_errors(pred, gt)
    err = np.where(np.isfinite(err), err, np.inf)
    if per_joint:
        return err.reshape(-1, err.shape[-1]).mean(0)
    return float(err.mean())


def jdr(pred2d: ArrayLike, gt2d: ArrayLike, head_sizes: ArrayLike, threshold: float = 0.5,
        mask: ArrayLike | None = None, per_joint: bool = False) -> float | np.ndarray:
    """Joint detection rate (%): share of joints within ``threshold`` head sizes of the truth.

    ``pred2d`` and ``gt2d`` are ``(..., J, 2)`` pixels; ``head_sizes`` (pixels)
    broadcasts against ``(...)``: :data:`PAPER_HEAD_SIZE_PX` for the paper's JDR, or a
    tenth of each crop's width (see the module docstring). A joint is detected when it
    lies within ``threshold`` (half) of it; a non-finite prediction is not detected. ``mask``
    ``(..., J)`` restricts the count (e.g. to occluded joints). Returns a float, or
    ``(J,)`` with ``per_joint`` (NaN where a joint has no entries under the mask).
    """
    err = joint_errors(pred2d, gt2d)
    threshold = check_positive(threshold, "threshold")
    hs = to_numpy(as_float_array(head_sizes, "head_sizes"))
    if (hs <= 0).any():
        raise ValueError("head_sizes must be positive (pixels)")
    try:
        limit = threshold * np.broadcast_to(hs[..., None], err.shape)
    except ValueError:
        raise ValueError(f"head_sizes of shape {hs.shape} does not broadcast against the "
                         f"leading dimensions {err.shape[:-1]} of pred2d") from None
    detected = err <= limit
    if mask is None:
        m = np.ones_like(detected)
    else:
        m = to_numpy(mask).astype(bool)
        try:
            m = np.broadcast_to(m, detected.shape)
        except ValueError:
            raise ValueError(f"mask of shape {m.shape} does not broadcast against "
                             f"{detected.shape} (pred2d without its last axis)") from None
    if per_joint:
        d = detected.reshape(-1, err.shape[-1])
        mm = m.reshape(-1, err.shape[-1])
        with np.errstate(invalid="ignore"):
            return 100.0 * (d & mm).sum(0) / mm.sum(0)
    n = m.sum()
    return float(100.0 * (detected & m).sum() / n) if n else float("nan")
