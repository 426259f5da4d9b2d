"""Inference and scores: single-view heatmaps (:func:`predict`), fused ones (:func:`fuse`),
joints from heatmaps, and the paper's JDR split into all, visible and occluded joints
(:func:`jdr_breakdown`, :func:`evaluate`, :func:`jdr_table_rows`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..heatmap import find_peaks, heatmap_to_image
from ..metrics import jdr
from .data import RenderedPoseDataset
from .weights import Pose2D


@torch.no_grad()
def predict(model: nn.Module, data: RenderedPoseDataset | np.ndarray, batch_frames: int = 32,
            device: str | torch.device | None = None) -> np.ndarray:
    """Single-view heatmaps ``(N, V, J, h, w)`` float32 for a dataset, or for images
    ``(N, V, 3, H, W)`` float in [0, 1] (``(N, V, H, W, 3)`` uint8 is accepted too).

    Runs on ``device`` (the model is moved there), by default where the model is.
    """
    model.eval()
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    model.to(device)
    if isinstance(data, RenderedPoseDataset):
        images = data.images
    else:
        images = np.asarray(data)
    out = []
    for s in range(0, len(images), batch_frames):
        x = torch.from_numpy(np.ascontiguousarray(images[s:s + batch_frames]))
        if x.dtype == torch.uint8:
            x = x.permute(0, 1, 4, 2, 3).float() / 255.0
        out.append(model(x.to(device).float()).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def fuse(heatmaps: np.ndarray, data: RenderedPoseDataset, method: str,
         layer: nn.Module | None = None, self_weight: float = 0.5,
         batch_frames: int = 64) -> np.ndarray:
    """Fused heatmaps ``(N, V, J, h, w)``: ``method`` ``"analytic"`` (epipolar fusion with
    each frame's own crop affines) or ``"learned"`` (the given :class:`LearnedFusion`)."""
    from ..fusion import epipolar_fusion

    if method == "analytic":
        return np.asarray(epipolar_fusion(heatmaps, data.cameras, data.affines,
                                          self_weight=self_weight), dtype=np.float32)
    if method == "learned":
        if layer is None:
            raise ValueError('method="learned" needs the fusion layer')
        device = next(layer.parameters()).device
        with torch.no_grad():
            parts = [layer(torch.from_numpy(heatmaps[s:s + batch_frames]).to(device)).cpu().numpy()
                     for s in range(0, len(heatmaps), batch_frames)]
        return np.concatenate(parts).astype(np.float32)
    raise ValueError(f"method must be 'analytic' or 'learned', got {method!r}")


def heatmap_joints(heatmaps: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Image-pixel joints ``(N, V, J, 2)`` from heatmaps ``(N, V, J, h, w)`` (sub-pixel peaks)."""
    peaks, _ = find_peaks(heatmaps)
    return heatmap_to_image(peaks, affines)


def jdr_breakdown(heatmaps: np.ndarray, data: RenderedPoseDataset) -> dict:
    """JDR (%) of heatmaps on a dataset, for all joints and split by visibility.

    Keys: ``all``, ``visible``, ``occluded`` (hidden by the body or an object),
    ``self`` (by the body), ``object`` (by an occluder); the paper's threshold of
    half a head size (the head size is a tenth of the crop width).
    """
    pred = heatmap_joints(heatmaps, data.affines)
    occ = data.occlusion
    masks = {"all": None, "visible": occ == 0, "occluded": (occ == 1) | (occ == 2),
             "self": occ == 1, "object": occ == 2}
    return {k: jdr(pred, data.joints2d, data.head_sizes, mask=m) for k, m in masks.items()}


def evaluate(pose: Pose2D, data: RenderedPoseDataset, heatmaps: np.ndarray | None = None,
             ) -> dict:
    """JDR breakdowns (see :func:`jdr_breakdown`) of single-view, analytically fused and
    (when the model has a fusion layer) learned-fused heatmaps on ``data``:
    ``{"single": ..., "analytic": ..., "learned": ...}``."""
    hm = predict(pose.backbone, data) if heatmaps is None else heatmaps
    out = {"single": jdr_breakdown(hm, data),
           "analytic": jdr_breakdown(fuse(hm, data, "analytic",
                                          self_weight=pose.analytic_self_weight), data)}
    if pose.fusion is not None:
        out["learned"] = jdr_breakdown(fuse(hm, data, "learned", pose.fusion), data)
    return out


def choose_self_weight(heatmaps: np.ndarray, data: RenderedPoseDataset,
                       candidates: Sequence[float]) -> tuple[float, dict]:
    """The analytic fusion's own-view weight with the best JDR on ``data`` (validation
    frames), and the JDR of every candidate."""
    scores = {float(w): jdr_breakdown(fuse(heatmaps, data, "analytic", self_weight=w),
                                      data)["all"] for w in candidates}
    return max(scores, key=scores.get), scores


def jdr_table_rows(metrics: dict) -> list[list]:
    """Rows ``[method, all, visible, occluded]`` of a dict of JDR breakdowns (for tables);
    entries that are not breakdowns (such as the ``seconds`` of :attr:`Pose2D.metrics`)
    are left out."""
    names = {"single": "single view", "analytic": "fused (analytic)",
             "learned": "fused (learned)"}
    return [[names.get(k, k), v["all"], v["visible"], v["occluded"]]
            for k, v in metrics.items() if isinstance(v, dict)]
