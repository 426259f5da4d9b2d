"""Analytic epipolar fusion in plain Python loops: the readable reference.

Every backend computes the same thing from an :class:`crossview.sampler.EpipolarSampler`:

1. for each ordered view pair ``(u, v)``, each joint and each curve ``k`` of the
   pair's fan, reduce (max or mean) the values of the source heatmap ``h_v`` where
   the curve crosses its pixel columns (or rows), each the linear interpolation of
   the two pixels on either side (0 when the curve has no reads);
2. give every pixel of view ``u`` the interpolation of the values of the two
   curves that bracket its epipolar plane;
3. ``fused_u = self_weight * h_u + (1 - self_weight) * mean over v != u``.
"""

from __future__ import annotations

import numpy as np


def interpolate(flat: list, i: int, step: int, f: float) -> float:
    """Linear interpolation between pixels ``i`` and ``i + step`` of a row-major heatmap
    ``flat``, weight ``f`` on the second."""
    return (1.0 - f) * flat[i] + f * flat[i + step]


def curve_value(flat: list, index: list, step: int, frac: list, reduce: str) -> float:
    """Max or mean of a heatmap along one curve (its reads: first pixels, step, weights)."""
    best, total, count = -float("inf"), 0.0, 0
    for i, f in zip(index, frac):
        if i < 0:           # the curve has no more reads
            break
        value = interpolate(flat, i, step, f)
        best = max(best, value)
        total += value
        count += 1
    if count == 0:
        return 0.0
    return best if reduce == "max" else total / count


def fuse(heatmaps: np.ndarray, sampler, self_weight: float, reduce: str) -> np.ndarray:
    """Fuse heatmaps ``(B, V, J, H, W)``; the sampler holds ``G = 1`` or ``G = B`` geometries."""
    B, V, J, H, W = heatmaps.shape
    maps = heatmaps.reshape(B, V, J, H * W).tolist()
    index, step, frac = sampler.index.tolist(), sampler.step.tolist(), sampler.frac.tolist()
    bins, weights = sampler.bins.tolist(), sampler.weights.tolist()
    pairs = sampler.pairs.tolist()
    K = sampler.n_lines
    out = np.empty((B, V, J, H * W), dtype=heatmaps.dtype)
    for b in range(B):
        g = 0 if sampler.n_frames == 1 else b
        for u in range(V):
            for j in range(J):
                evidence = [0.0] * (H * W)
                for p, (target, v) in enumerate(pairs):
                    if target != u:
                        continue
                    src = maps[b][v][j]
                    curve = [curve_value(src, index[g][p][k], step[g][p][k], frac[g][p][k], reduce)
                             for k in range(K)]
                    for q in range(H * W):
                        k, w = bins[g][p][q], weights[g][p][q]
                        evidence[q] += (1.0 - w) * curve[k] + w * curve[k + 1]
                own = maps[b][u][j]
                for q in range(H * W):
                    out[b, u, j, q] = self_weight * own[q] + \
                        (1.0 - self_weight) * evidence[q] / (V - 1)
    return out.reshape(B, V, J, H, W)
