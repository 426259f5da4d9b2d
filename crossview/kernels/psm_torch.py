"""PSM and RPSM with torch, batched over frames, on the CPU or a CUDA device.

No Python loop runs over bins or frames: the coarse unary is a gather of 16
interpolation taps for all frames, bins and joints at once; a limb's message is a
running maximum over shifted views of the child's padded belief (one tensor
operation per stencil offset, all frames together); the refinement stages work on
``(B, J, 8)`` tensors. Frames whose limb lengths differ are grouped by length.
Computes in the dtype of the heatmaps (float64 from NumPy input).
See :mod:`crossview.kernels.psm_common` for the conventions.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from .psm_common import corner_signs, keys_weights, stencil_table

PAD = 4


def prepare(heatmaps: torch.Tensor, floor: float):
    """``(B, V, J, H, W)`` -> ``(E, log(floor))``, ``E = log(max(h, floor) / floor)`` zero-padded
    to ``(B, V, J, H+8, W+8)`` (see :func:`crossview.kernels.psm_numpy.prepare`)."""
    E = (heatmaps.clamp(min=floor) / floor).log()
    return F.pad(E, (PAD, PAD, PAD, PAD)), math.log(floor)


def project(cams, X: torch.Tensor):
    """World points ``(B, P, 3)`` -> heatmap coordinates ``hx, hy`` ``(B, V, P)``."""
    R, t, dist, aff = cams
    Xc = torch.einsum("vij,bpj->bvpi", R, X) + t[None, :, None, :]
    z = Xc[..., 2]
    ok = z > 1e-6
    zs = torch.where(ok, z, torch.ones_like(z))
    x, y = Xc[..., 0] / zs, Xc[..., 1] / zs
    k1, k2, p1, p2, k3 = (dist[None, :, i, None] for i in range(5))
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    a = aff[..., None]
    hx = a[:, :, 0, 0] * xd + a[:, :, 0, 1] * yd + a[:, :, 0, 2]
    hy = a[:, :, 1, 0] * xd + a[:, :, 1, 1] * yd + a[:, :, 1, 2]
    far = torch.full_like(hx, -1e6)
    return torch.where(ok, hx, far), torch.where(ok, hy, far)


def sample(Lp: torch.Tensor, hx: torch.Tensor, hy: torch.Tensor) -> torch.Tensor:
    """Keys-cubic samples of padded log-excess heatmaps: ``(B, V, P)`` or ``(B, V, J, P)`` points
    -> ``(B, V, J, P)``."""
    B, V, J, Hp, Wp = Lp.shape
    H, W = Hp - 2 * PAD, Wp - 2 * PAD
    x = torch.nan_to_num(hx, nan=-1e6).clamp(-3.0, W + 1.5)
    y = torch.nan_to_num(hy, nan=-1e6).clamp(-3.0, H + 1.5)
    x0, y0 = torch.floor(x), torch.floor(y)
    wx, wy = keys_weights(x - x0), keys_weights(y - y0)
    ix = x0.long() + (PAD - 1)
    iy = y0.long() + (PAD - 1)
    if hx.dim() == 3:
        return _sample_shared(Lp, ix, iy, wx, wy)
    flat = Lp.reshape(B, V, J, Hp * Wp)
    out = torch.zeros(hx.shape, dtype=Lp.dtype, device=Lp.device)
    for a in range(4):
        row = torch.zeros_like(out)
        for c in range(4):
            row += wx[c] * flat.gather(-1, (iy + a) * Wp + (ix + c))
        out += wy[a] * row
    return out


def _sample_shared(Lp, ix, iy, wx, wy):
    """Samples at points shared by all joints as one sparse-dense product.

    Interpolation is linear in the heatmap: each sample is 16 weighted pixels. With
    the joints last, the pixels of all frames and views form a dense ``(pixels, J)``
    matrix, and all samples are a sparse ``(samples, pixels)`` matrix with 16 entries
    per row times it: one call, on the CPU or a GPU.
    """
    B, V, J, Hp, Wp = Lp.shape
    P = ix.shape[-1]
    base = (torch.arange(B * V, device=Lp.device) * (Hp * Wp)).reshape(B, V, 1)
    cols = torch.stack([base + (iy + a) * Wp + (ix + c) for a in range(4) for c in range(4)], -1)
    vals = torch.stack([wy[a] * wx[c] for a in range(4) for c in range(4)], -1)
    rows = B * V * P
    crow = torch.arange(0, 16 * rows + 1, 16, device=Lp.device)
    with warnings.catch_warnings():           # CSR support is marked beta in torch
        warnings.simplefilter("ignore", UserWarning)
        W = torch.sparse_csr_tensor(crow, cols.reshape(-1), vals.reshape(-1).to(Lp.dtype),
                                    size=(rows, B * V * Hp * Wp), check_invariants=False)
        pixels = Lp.permute(0, 1, 3, 4, 2).reshape(B * V * Hp * Wp, J)
        out = W @ pixels
    return out.reshape(B, V, P, J).transpose(2, 3)


def sum_views(S: torch.Tensor, logfloor: float) -> torch.Tensor:
    out = S[:, 0].clone()
    for v in range(1, S.shape[1]):
        out += S[:, v]
    return out + S.shape[1] * logfloor


def grid_points(centers: torch.Tensor, n: int, cube: float) -> torch.Tensor:
    s = cube / (n - 1)
    ax = torch.arange(n, dtype=centers.dtype, device=centers.device) * s - cube / 2
    offs = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)
    return centers[:, None, :] + offs[None]


def _chunk(device: torch.device, per_frame: int) -> int:
    budget = 2**26 if device.type == "cuda" else 2**22      # elements of one temporary
    return max(1, budget // per_frame)


def _shell_max(belief: torch.Tensor, offsets: np.ndarray, n: int) -> torch.Tensor:
    """``max_{d in offsets} belief(b + d)`` for beliefs ``(G, n, n, n)`` -> ``(G, n, n, n)``."""
    acc = torch.full_like(belief, -math.inf)
    if len(offsets) == 0:
        return acc
    R = int(np.abs(offsets).max())
    padded = F.pad(belief, (R, R, R, R, R, R), value=-math.inf)
    for dx, dy, dz in offsets.tolist():
        torch.maximum(acc, padded[:, R + dx:R + dx + n, R + dy:R + dy + n, R + dz:R + dz + n],
                      out=acc)
    return acc


def max_product_grid(U, offsets, counts, parents, n, penalty):
    """Exact max-product over the coarse grid for all frames.

    ``U`` ``(B, J, n^3)``, stencils ``offsets`` ``(B, J, S, 3)`` (NumPy) with ``counts``
    ``(B, J)`` -> chosen bins ``(B, J)``. Frames with the same stencil share each shift.
    """
    B, J, nb = U.shape
    belief = U.clone()
    for j in range(J - 1, 0, -1):
        child = belief[:, j].reshape(B, n, n, n)
        groups: dict = {}
        for b in range(B):
            groups.setdefault(offsets[b, j, :counts[b, j]].tobytes(), []).append(b)
        if len(groups) == 1:
            msg = _shell_max(child, offsets[0, j, :counts[0, j]], n)
        else:
            msg = torch.empty_like(child)
            for frames in groups.values():
                sel = torch.as_tensor(frames, device=U.device)
                msg[sel] = _shell_max(child[sel], offsets[frames[0], j, :counts[frames[0], j]], n)
        gmax = belief[:, j].amax(-1)
        msg = torch.maximum(msg.reshape(B, nb), (gmax - penalty)[:, None])
        belief[:, parents[j]] += msg
    return backtrack(belief, offsets, counts, parents, n, penalty)


def backtrack(belief, offsets, counts, parents, n, penalty):
    """Chosen bins ``(B, J)`` from the final beliefs, scanning each child's shell once."""
    B, J, _ = belief.shape
    dev = belief.device
    offs = torch.as_tensor(offsets, device=dev)                       # (B, J, S, 3)
    cnt = torch.as_tensor(counts, device=dev)                         # (B, J)
    S = offs.shape[2]
    in_stencil = torch.arange(S, device=dev)[None, :] < cnt[:, :, None]  # (B, J, S)
    bins = torch.empty((B, J), dtype=torch.int64, device=dev)
    bins[:, 0] = belief[:, 0].argmax(-1)
    for j in range(1, J):
        kp = bins[:, parents[j]]
        ip = torch.stack([kp // (n * n), (kp // n) % n, kp % n], -1)     # (B, 3)
        cand = ip[:, None, :] + offs[:, j]                               # (B, S, 3)
        ok = ((cand >= 0) & (cand < n)).all(-1) & in_stencil[:, j]
        cc = cand.clamp(0, n - 1)
        flat = (cc[..., 0] * n + cc[..., 1]) * n + cc[..., 2]
        minus_inf = torch.full(flat.shape, -math.inf, dtype=belief.dtype, device=dev)
        vals = torch.where(ok, belief[:, j].gather(-1, flat), minus_inf)
        best, k = vals.max(-1)
        gm = belief[:, j].amax(-1)
        use_shell = ok.any(-1) & (best >= gm - penalty)
        bins[:, j] = torch.where(use_shell, flat.gather(-1, k[:, None])[:, 0],
                                 belief[:, j].argmax(-1))
    return bins


def coarse(state, cams, centers, lengths, windows, parents, n, cube, penalty):
    """PSM on an ``n^3`` grid around each frame's centre -> poses ``(B, J, 3)``."""
    Lp, logfloor = state
    R, t, dist, aff = cams
    B, V, J = Lp.shape[:3]
    lengths_np = lengths.detach().cpu().numpy().astype(np.float64)
    offsets, counts = stencil_table(lengths_np, cube / (n - 1), windows.detach().cpu().numpy())
    poses = torch.empty((B, J, 3), dtype=Lp.dtype, device=Lp.device)
    step = _chunk(Lp.device, V * J * n**3)
    for lo in range(0, B, step):
        sl = slice(lo, min(B, lo + step))
        X = grid_points(centers[sl], n, cube)
        hx, hy = project((R, t, dist, aff[sl]), X)
        U = sum_views(sample(Lp[sl], hx, hy), logfloor)
        bins = max_product_grid(U, offsets[sl], counts[sl], parents, n, penalty)
        poses[sl] = X.gather(1, bins[..., None].expand(-1, -1, 3))
    return poses


def max_product_corners(U, C, lengths, windows, parents, excess_cost):
    """Max-product over each joint's 8 corners: ``(B, J, 8)``, ``(B, J, 8, 3)`` -> ``(B, J)``."""
    B, J = U.shape[:2]
    belief = U.clone()
    arg = torch.zeros((B, J, 8), dtype=torch.int64, device=U.device)
    for j in range(J - 1, 0, -1):
        p = parents[j]
        diff = C[:, p, :, None, :] - C[:, j, None, :, :]
        D = (diff * diff).sum(-1).sqrt()
        excess = ((D - lengths[:, j, None, None]).abs() - windows[j]).clamp(min=0.0)
        score = belief[:, j, None, :] - excess_cost * excess
        best, arg[:, j] = score.max(-1)
        belief[:, p] += best
    q = torch.empty((B, J), dtype=torch.int64, device=U.device)
    q[:, 0] = belief[:, 0].argmax(-1)
    for j in range(1, J):
        q[:, j] = arg[:, j].gather(-1, q[:, parents[j], None])[:, 0]
    return q


def refine(state, cams, poses, lengths, windows, sizes, parents, excess_cost):
    """RPSM stages -> estimates ``(B, T, J, 3)``; see :func:`crossview.kernels.psm_numpy.refine`."""
    Lp, logfloor = state
    B, J = poses.shape[:2]
    V = Lp.shape[1]
    signs = torch.as_tensor(corner_signs(), dtype=Lp.dtype, device=Lp.device)
    L = poses.clone()
    out = torch.empty((B, len(sizes), J, 3), dtype=Lp.dtype, device=Lp.device)
    for t, size in enumerate(np.asarray(sizes).tolist()):
        C = L[:, :, None, :] + signs * (size / 2)
        hx, hy = project(cams, C.reshape(B, J * 8, 3))
        U = sum_views(sample(Lp, hx.reshape(B, V, J, 8), hy.reshape(B, V, J, 8)), logfloor)
        q = max_product_corners(U, C, lengths, windows[t], parents, excess_cost)
        L = C.gather(2, q[:, :, None, None].expand(-1, -1, 1, 3))[:, :, 0]
        out[:, t] = L
    return out


def unary(state, cams, points):
    """Unary terms of points ``(B, P, 3)`` (shared by joints) -> ``(B, J, P)``."""
    Lp, logfloor = state
    hx, hy = project(cams, points)
    return sum_views(sample(Lp, hx, hy), logfloor)
