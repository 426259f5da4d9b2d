"""Analytic epipolar fusion, vectorised with NumPy gathers (same result as ``fusion_naive``)."""

from __future__ import annotations

import numpy as np


def curve_values(heatmaps: np.ndarray, sampler, reduce: str) -> np.ndarray:
    """Reduced source heatmap along every curve: ``(B, P, J, K)``."""
    B, V, J, H, W = heatmaps.shape
    G, P, K, S = sampler.index.shape
    src = heatmaps.reshape(B, V, J, H * W)[:, sampler.pairs[:, 1]]      # (B, P, J, HW)
    valid = sampler.index >= 0                                          # (G, P, K, S)
    first = np.where(valid, sampler.index, 0)
    second = np.where(valid, first + sampler.step[..., None], 0)
    f = sampler.frac.astype(heatmaps.dtype).reshape(G, P, 1, K, S)

    def read(idx):
        return np.take_along_axis(src, idx.reshape(G, P, 1, K * S), axis=-1).reshape(B, P, J, K, S)

    values = (1 - f) * read(first) + f * read(second)                  # (B, P, J, K, S)
    valid = valid[:, :, None]
    count = valid.sum(-1)
    if reduce == "max":
        red = np.where(valid, values, -np.inf).max(-1)
    else:
        red = np.where(valid, values, 0).sum(-1) / np.maximum(count, 1)
    return np.where(count > 0, red, 0).astype(heatmaps.dtype)


def fuse(heatmaps: np.ndarray, sampler, self_weight: float, reduce: str) -> np.ndarray:
    B, V, J, H, W = heatmaps.shape
    G, P = sampler.bins.shape[:2]
    curve = curve_values(heatmaps, sampler, reduce)                    # (B, P, J, K)
    k0 = sampler.bins.reshape(G, P, 1, H * W)
    w = sampler.weights.astype(heatmaps.dtype).reshape(G, P, 1, H * W)
    lo = np.take_along_axis(curve, k0, axis=-1)
    hi = np.take_along_axis(curve, k0 + 1, axis=-1)
    evidence = ((1 - w) * lo + w * hi).reshape(B, V, V - 1, J, H * W).sum(2)
    own = heatmaps.reshape(B, V, J, H * W)
    out = self_weight * own + (1.0 - self_weight) / (V - 1) * evidence
    return out.astype(heatmaps.dtype).reshape(B, V, J, H, W)
