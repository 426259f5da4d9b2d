"""Analytic epipolar fusion in torch: batched, CPU or CUDA, differentiable in the heatmaps.

Both steps of the fusion are linear maps of heatmap values, apart from the max
along each curve, so both are sparse matrices built once per geometry (and
remembered, per device and dtype):

* the *read* operator ``R``: one row per read slot of a curve, two entries (the
  weights of the two pixels it interpolates; zero for an empty slot). ``R @ pixels``
  gives every read's value for every frame and joint at once; the max (or mean) over a
  curve's reads is a reduction of that result;
* the *spread* operator ``T``: one row per target pixel, two entries per source view
  (the two curves that bracket the pixel's half-plane, weights ``1 - w`` and ``w``).

With affines shared by all frames, frames and joints are the columns of the dense
operand, so each operator is applied once for the whole batch; with per-frame
affines the operators are block-diagonal over frames. A sparse-dense product is
one call on the CPU or a GPU, and torch differentiates it in the dense operand.
"""

from __future__ import annotations

import math
import warnings
import weakref

import torch

_ON_DEVICE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _csr(rows: int, cols: int, col: torch.Tensor, val: torch.Tensor, per_row: int):
    """A CSR matrix with ``per_row`` entries in every row (``col``, ``val`` row-major)."""
    crow = torch.arange(0, per_row * rows + 1, per_row, device=col.device, dtype=torch.int32)
    with warnings.catch_warnings():           # CSR support is marked beta in torch
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col.reshape(-1).int(), val.reshape(-1),
                                       size=(rows, cols), check_invariants=False)


def _operators(sampler, device: torch.device, dtype: torch.dtype) -> dict:
    """The read and spread operators of ``sampler`` on ``device`` (built once, remembered)."""
    per = _ON_DEVICE.setdefault(sampler, {})
    key = (str(device), dtype)
    if key in per:
        return per[key]
    G, P, K, S = sampler.index.shape
    H, W = sampler.heatmap_size
    V, HW = sampler.n_views, H * W
    index = torch.as_tensor(sampler.index, device=device).long()             # (G, P, K, S)
    valid = index >= 0
    f = torch.as_tensor(sampler.frac, device=device).to(torch.float64)
    step = torch.as_tensor(sampler.step, device=device).long()[..., None]     # (G, P, K, 1)
    src = torch.as_tensor(sampler.pairs[:, 1], device=device).long()
    g = torch.arange(G, device=device)[:, None, None, None]
    first = (g * V + src[None, :, None, None]) * HW + index.clamp(min=0)     # (G, P, K, S)
    cols = torch.stack([first, first + step.expand_as(first)], -1)
    weights = torch.stack([1 - f, f], -1)
    weights = torch.where(valid[..., None], weights, torch.zeros_like(weights))
    read = _csr(G * P * K * S, G * V * HW, cols, weights.to(dtype), 2)
    count = valid.sum(-1).reshape(G * P * K, 1)
    # a sample outside the source heatmap reads 0 and must not win the max
    outside = torch.where(valid, 0.0, -math.inf).to(dtype).reshape(G * P * K, S, 1)

    bins = torch.as_tensor(sampler.bins, device=device).long()               # (G, P, HW)
    w = torch.as_tensor(sampler.weights, device=device).to(torch.float64)
    base = (torch.arange(G, device=device)[:, None, None] * P
            + torch.arange(P, device=device)[None, :, None]) * K + bins    # (G, P, HW)
    # rows are the target pixels (g, u, q); pair p = u (V - 1) + i holds target u
    base = base.reshape(G, V, V - 1, HW).permute(0, 1, 3, 2)                # (G, V, HW, V - 1)
    w = w.reshape(G, V, V - 1, HW).permute(0, 1, 3, 2)
    cols = torch.stack([base, base + 1], -1)                                # (..., V - 1, 2)
    vals = torch.stack([1 - w, w], -1)
    spread = _csr(G * V * HW, G * P * K, cols, vals.to(dtype), 2 * (V - 1))
    per[key] = {"read": read, "count": count, "outside": outside, "spread": spread}
    return per[key]


def _columns(x: torch.Tensor, G: int) -> torch.Tensor:
    """``(B, V, J, H, W)`` as the dense operand: ``(V H W, B J)`` for one geometry shared by
    all frames, ``(B V H W, J)`` for one geometry per frame."""
    B, V, J, H, W = x.shape
    if G == 1:
        return x.permute(1, 3, 4, 0, 2).reshape(V * H * W, B * J)
    return x.permute(0, 1, 3, 4, 2).reshape(B * V * H * W, J)


def _from_columns(y: torch.Tensor, B: int, G: int, rows: int, J: int) -> torch.Tensor:
    """The inverse layout of :func:`_columns` for ``rows`` rows per frame: ``(B, rows, J)``."""
    if G == 1:
        return y.reshape(rows, B, J).transpose(0, 1)
    return y.reshape(B, rows, J)


def _curves(x: torch.Tensor, sampler, reduce: str) -> torch.Tensor:
    """Reduced curves in the operand layout: ``(P K, B J)`` or ``(B P K, J)``."""
    G, P, K, S = sampler.index.shape
    ops = _operators(sampler, x.device, x.dtype)
    samples = ops["read"] @ _columns(x, G)                       # (G P K S, columns)
    samples = samples.reshape(G * P * K, S, -1)
    count = ops["count"]
    if reduce == "max":
        red = samples.add_(ops["outside"]).amax(1)            # in place: the largest buffer
    else:
        red = samples.sum(1) / count.clamp(min=1)
    return torch.where(count > 0, red, torch.zeros((), dtype=red.dtype, device=red.device))


def _frames_per_chunk(sampler, J: int, device: torch.device) -> int:
    """Frames per product when the geometry is shared: the samples of a chunk, ``P K S``
    rows by ``frames x J`` columns, stay within a fixed budget of elements."""
    budget = 2**28 if device.type == "cuda" else 2**25
    return max(1, budget // (sampler.index[0].size * J))


def fuse(heatmaps: torch.Tensor, sampler, self_weight: float, reduce: str) -> torch.Tensor:
    if heatmaps.dtype in (torch.float16, torch.bfloat16):    # no sparse products in half
        return fuse(heatmaps.float(), sampler, self_weight, reduce).to(heatmaps.dtype)
    B, V, J, H, W = heatmaps.shape
    G = sampler.n_frames
    step = _frames_per_chunk(sampler, J, heatmaps.device)
    if G == 1 and B > step:
        return torch.cat([fuse(heatmaps[i:i + step], sampler, self_weight, reduce)
                          for i in range(0, B, step)])
    ops = _operators(sampler, heatmaps.device, heatmaps.dtype)
    evidence = ops["spread"] @ _curves(heatmaps, sampler, reduce)       # (G V HW, columns)
    evidence = _from_columns(evidence, B, G, V * H * W, J)               # (B, V HW, J)
    evidence = evidence.reshape(B, V, H, W, J).permute(0, 1, 4, 2, 3)
    return self_weight * heatmaps + (1.0 - self_weight) / (V - 1) * evidence
