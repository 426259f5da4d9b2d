"""Analytic epipolar fusion in torch: batched, CPU or CUDA, differentiable in the heatmaps.

The bilinear reads along all curves of all view pairs are one ``grid_sample`` call
(joints are its channels, so they share the sample positions); the sampler's
arrays are moved to the heatmaps' device once and remembered.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F

_ON_DEVICE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tensors(sampler, device: torch.device, dtype: torch.dtype) -> dict:
    per = _ON_DEVICE.setdefault(sampler, {})
    key = (str(device), dtype)
    if key not in per:
        G, P, K, S = sampler.index.shape
        H, W = sampler.heatmap_size
        index = torch.as_tensor(sampler.index, device=device).long()
        valid = index >= 0
        i = index.clamp(min=0)
        frac = torch.as_tensor(sampler.frac, device=device).double()
        x = (i % W).double() + frac[..., 0]
        y = torch.div(i, W, rounding_mode="floor").double() + frac[..., 1]
        # grid_sample's coordinates with align_corners=True: -1 and 1 are the outer pixel centres
        grid = torch.stack([2 * x / (W - 1) - 1, 2 * y / (H - 1) - 1], -1).to(dtype)
        per[key] = {
            "grid": grid,                                                     # (G, P, K, S, 2)
            "valid": valid.reshape(G, P, 1, K, S),
            "count": valid.sum(-1).reshape(G, P, 1, K),
            "bins": torch.as_tensor(sampler.bins, device=device).long().reshape(G, P, 1, -1),
            "weights": torch.as_tensor(sampler.weights, device=device).to(dtype)
                            .reshape(G, P, 1, -1),
            "src": torch.as_tensor(sampler.pairs[:, 1], device=device).long(),
        }
    return per[key]


def curve_values(heatmaps: torch.Tensor, sampler, reduce: str) -> torch.Tensor:
    """Reduced source heatmap along every curve: ``(B, P, J, K)``."""
    B, _, J, H, W = heatmaps.shape
    G, P, K, S = sampler.index.shape
    t = _tensors(sampler, heatmaps.device, heatmaps.dtype)
    src = heatmaps[:, t["src"]].reshape(B * P, J, H, W)
    grid = t["grid"].expand(B, P, K, S, 2) if G == 1 else t["grid"]
    values = F.grid_sample(src, grid.reshape(B * P, K, S, 2), mode="bilinear",
                           padding_mode="border", align_corners=True).reshape(B, P, J, K, S)
    if reduce == "max":
        red = values.masked_fill(~t["valid"], float("-inf")).amax(-1)
    else:
        red = values.masked_fill(~t["valid"], 0).sum(-1) / t["count"].clamp(min=1)
    return torch.where(t["count"] > 0, red, torch.zeros((), dtype=red.dtype, device=red.device))


def fuse(heatmaps: torch.Tensor, sampler, self_weight: float, reduce: str) -> torch.Tensor:
    B, V, J, H, W = heatmaps.shape
    G, P = sampler.bins.shape[:2]
    t = _tensors(sampler, heatmaps.device, heatmaps.dtype)
    curve = curve_values(heatmaps, sampler, reduce)                              # (B, P, J, K)
    k0 = t["bins"].expand(B if G == 1 else G, P, J, H * W)
    lo = torch.gather(curve, -1, k0)
    hi = torch.gather(curve, -1, k0 + 1)
    w = t["weights"]
    evidence = ((1 - w) * lo + w * hi).reshape(B, V, V - 1, J, H * W).sum(2)
    own = heatmaps.reshape(B, V, J, H * W)
    out = self_weight * own + (1.0 - self_weight) / (V - 1) * evidence
    return out.reshape(B, V, J, H, W)
