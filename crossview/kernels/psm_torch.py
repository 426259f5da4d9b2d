"""PSM with torch (:class:`~crossview.kernels.interface.PSMKernel`), batched over frames, on
the CPU or a CUDA device; its state, projection and sampling also serve
:mod:`crossview.kernels.rpsm_torch`.

No Python loop runs over bins or frames, and nothing waits for the device inside
the algorithm (the one transfer back is the result):

* the log-heatmaps are stored joint-last and zero-padded, ``(B, V, H + 8, W + 8, J)``,
  so the pixels of all frames and views are the rows of one dense ``(pixels, J)``
  matrix;
* the coarse unary is one sparse-dense product: Keys interpolation is linear in the
  heatmap, so all samples of all frames, views and bins are a sparse matrix with 16
  entries per row times that pixel matrix (all joints at once);
* a limb's message is a running maximum over the runs of its stencil
  (:func:`~crossview.kernels.psm_common.stencil_runs`): a table of sliding maxima
  along ``z`` grows by one ``maximum`` per run length, and each run is then one
  ``maximum`` of a shifted view, for all frames together;
* the refinement stages work on ``(B, J, K)`` tensors (``K = 8`` corners, or 27 with
  three points per axis).

Frames whose limb lengths differ are grouped by stencil. Computes in the dtype of
the heatmaps (float64 from NumPy input). See :mod:`crossview.kernels.psm_common`
for the conventions.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ..camera import distort_normalized
from .psm_common import (
    depth_levels,
    keys_weights,
    run_table,
    stencil_table,
    sum_views,
)

#: Zero pixels around each heatmap: taps of points clamped to ``[-3, W + 1.5]`` stay inside.
PAD = 4


def prepare(heatmaps: torch.Tensor, floor: float):
    """``(B, V, J, H, W)`` -> ``(E, log(floor))``, ``E = log(max(h, floor) / floor)``,
    joint-last and zero-padded: ``(B, V, H + 8, W + 8, J)``."""
    B, V, J, H, W = heatmaps.shape
    E = heatmaps.new_zeros((B, V, H + 2 * PAD, W + 2 * PAD, J))
    inner = E[:, :, PAD:PAD + H, PAD:PAD + W]
    inner.copy_(heatmaps.permute(0, 1, 3, 4, 2))
    inner.clamp_(min=floor).div_(floor).log_()            # in place: one buffer for the batch
    return E, math.log(floor)


def project(cams, X: torch.Tensor):
    """World points ``(B, P, 3)`` -> heatmap coordinates ``hx, hy`` ``(B, V, P)``."""
    R, t, dist, aff = cams
    Xc = torch.einsum("vij,bpj->bvpi", R, X) + t[None, :, None, :]
    z = Xc[..., 2]
    ok = z > 1e-6
    zs = torch.where(ok, z, torch.ones_like(z))
    xn = Xc[..., :2] / zs[..., None]
    # the lens model of crossview.camera, with each view's coefficients broadcast
    xdn = distort_normalized(xn, [dist[None, :, i, None] for i in range(5)])
    xd, yd = xdn[..., 0], xdn[..., 1]
    a = aff[..., None]
    hx = a[:, :, 0, 0] * xd + a[:, :, 0, 1] * yd + a[:, :, 0, 2]
    hy = a[:, :, 1, 0] * xd + a[:, :, 1, 1] * yd + a[:, :, 1, 2]
    far = torch.full_like(hx, -1e6)
    return torch.where(ok, hx, far), torch.where(ok, hy, far)


def _taps(E: torch.Tensor, hx: torch.Tensor, hy: torch.Tensor):
    """First tap (padded row, column) and the Keys weights of sample points."""
    H, W = E.shape[2] - 2 * PAD, E.shape[3] - 2 * PAD
    x = torch.nan_to_num(hx, nan=-1e6).clamp(-3.0, W + 1.5)
    y = torch.nan_to_num(hy, nan=-1e6).clamp(-3.0, H + 1.5)
    x0, y0 = torch.floor(x), torch.floor(y)
    return y0.long() + (PAD - 1), x0.long() + (PAD - 1), keys_weights(x - x0), keys_weights(y - y0)


def sample(E: torch.Tensor, hx: torch.Tensor, hy: torch.Tensor) -> torch.Tensor:
    """Keys-cubic samples of the padded joint-last log-heatmaps ``E``.

    ``hx, hy`` ``(B, V, P)`` (points shared by all joints) or ``(B, V, J, P)`` (each
    joint its own points) -> ``(B, V, J, P)``.
    """
    if hx.dim() == 3:
        return _sample_shared(E, hx, hy)
    B, V, Hp, Wp, J = E.shape
    iy, ix, wx, wy = _taps(E, hx, hy)
    flat = E.reshape(B, V, Hp * Wp * J)
    joint = torch.arange(J, device=E.device)[:, None]
    first = (iy * Wp + ix) * J + joint                         # (B, V, J, P)
    out = torch.zeros(hx.shape, dtype=E.dtype, device=E.device)
    for a in range(4):
        row = torch.zeros_like(out)
        for c in range(4):
            taps = flat.gather(-1, (first + (a * Wp + c) * J).reshape(B, V, -1)).reshape(hx.shape)
            row += wx[c] * taps
        out += wy[a] * row
    return out


def _sample_shared(E, hx, hy):
    """Samples at points shared by all joints as one sparse-dense product.

    Interpolation is linear in the heatmap: each sample is 16 weighted pixels. The
    pixels of all frames and views form a dense ``(pixels, J)`` matrix (``E`` is
    joint-last, so this is a view), and all samples a sparse ``(samples, pixels)``
    matrix with 16 entries per row: one call, on the CPU or a GPU.
    """
    B, V, Hp, Wp, J = E.shape
    P = hx.shape[-1]
    iy, ix, wx, wy = _taps(E, hx, hy)
    dev = E.device
    # 32-bit column indices: half the memory traffic of 64-bit ones, and a faster product
    first = (iy * Wp + ix).int() + torch.arange(0, B * V * Hp * Wp, Hp * Wp, device=dev,
                                                 dtype=torch.int32).reshape(B, V, 1)
    four = torch.arange(4, device=dev, dtype=torch.int32)
    cols = first[..., None] + (four[:, None] * Wp + four[None, :]).reshape(16)   # (B, V, P, 16)
    vals = torch.stack(wy, -1)[..., :, None] * torch.stack(wx, -1)[..., None, :]
    rows = B * V * P
    crow = torch.arange(0, 16 * rows + 1, 16, device=dev, dtype=torch.int32)
    with warnings.catch_warnings():           # CSR support is marked beta in torch
        warnings.simplefilter("ignore", UserWarning)
        Wm = torch.sparse_csr_tensor(crow, cols.reshape(-1), vals.reshape(-1).to(E.dtype),
                                     size=(rows, B * V * Hp * Wp), check_invariants=False)
        out = Wm @ E.reshape(B * V * Hp * Wp, J)
    return out.reshape(B, V, P, J).transpose(2, 3)


def grid_points(centers: torch.Tensor, n: int, cube: float) -> torch.Tensor:
    """Coarse bins ``(B, n^3, 3)`` around ``centers`` ``(B, 3)``, made on their device in
    their dtype."""
    s = cube / (n - 1)
    ax = torch.arange(n, dtype=centers.dtype, device=centers.device) * s - cube / 2
    offs = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)
    return centers[:, None, :] + offs[None]


def _chunk(device: torch.device, per_frame: int) -> int:
    """Frames per chunk of the coarse grid, so that its largest temporaries stay bounded."""
    budget = 2**27 if device.type == "cuda" else 2**22      # elements of one temporary
    return max(1, budget // per_frame)


def _shell_max(belief: torch.Tensor, runs: np.ndarray, n: int) -> torch.Tensor:
    """``max_{d in stencil} belief(b + d)`` for beliefs ``(n, n, n, G)`` -> ``(n, n, n, G)``.

    ``runs`` ``(R, 4)`` is the stencil as runs along ``z``, sorted by length. The
    frames (and limbs) are the last axis, so a shifted view of the grid is ``n^2``
    contiguous blocks of ``n G`` values: long vectors on a CPU, coalesced reads on a GPU.
    """
    acc = torch.full_like(belief, -math.inf)
    if len(runs) == 0:
        return acc
    r = int(max(np.abs(runs[:, :3]).max(), np.abs(runs[:, 2] + runs[:, 3] - 1).max()))
    P = n + 2 * r
    padded = F.pad(belief, (0, 0, r, r, r, r, r, r), value=-math.inf)
    table = padded.clone()                # table[:, :, z] = max(padded[:, :, z : z + L])
    L = 1
    for dx, dy, dz, length in runs.tolist():
        while L < length:
            grown = table[:, :, :P - L]
            torch.maximum(grown, padded[:, :, L:], out=grown)
            L += 1
        torch.maximum(acc, table[r + dx:r + dx + n, r + dy:r + dy + n, r + dz:r + dz + n],
                      out=acc)
    return acc


def max_product_grid(U, offsets, counts, parents, n, penalty):
    """Exact max-product over the coarse grid for all frames.

    ``U`` ``(B, J, n^3)``, stencils ``offsets`` ``(B, J, S, 3)`` (NumPy) with ``counts``
    ``(B, J)`` -> chosen bins ``(B, J)``.

    The tree is solved level by level from the leaves: the children on one level
    are independent, and limbs with the same stencil (left and right, and all
    frames with the same limb lengths) share every operation. Each parent still
    receives its children's messages in the order of the other backends (decreasing
    joint index), so the sums, and the poses, are the same.
    """
    B, J, nb = U.shape
    runs, n_runs = run_table(offsets, counts)
    belief = U.permute(1, 2, 0).reshape(J, n, n, n, B).contiguous()      # frames last
    everyone = slice(None)
    for level in reversed(depth_levels(parents)[1:]):
        # tasks (joint, frames) grouped by stencil; usually every frame shares a limb's stencil
        groups: dict = {}
        for j in level:
            by_stencil: dict = {}
            if (runs[:, j] == runs[0, j]).all():
                by_stencil[None] = list(range(B))
            else:
                for b in range(B):
                    by_stencil.setdefault(runs[b, j, :n_runs[b, j]].tobytes(), []).append(b)
            for frames in by_stencil.values():
                sel = everyone if len(frames) == B else \
                    torch.as_tensor(frames, device=U.device)
                key = runs[frames[0], j, :n_runs[frames[0], j]]
                groups.setdefault(key.tobytes(), (key, []))[1].append((j, sel))
        messages = []                                                   # (joint, frames, msg)
        for key, tasks in groups.values():
            child = torch.cat([belief[j][..., sel] for j, sel in tasks], -1)
            msg = _shell_max(child, key, n)
            start = 0
            for j, sel in tasks:
                width = B if isinstance(sel, slice) else len(sel)
                messages.append((j, sel, msg[..., start:start + width]))
                start += width
        for j in sorted(level, reverse=True):
            gmax = belief[j].reshape(nb, B).max(0).values               # (B,)
            for _, sel, msg in (m for m in messages if m[0] == j):
                # a parent bin may also take any child bin, at the cost of a broken limb
                msg = torch.maximum(msg, gmax[sel] - penalty)
                parent = belief[parents[j]]
                parent[..., sel] += msg
    final = belief.reshape(J, nb, B).permute(2, 0, 1).contiguous()
    return backtrack(final, offsets, counts, parents, n, penalty)


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
    gm = belief.amax(-1)                                              # (B, J)
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
        use_shell = ok.any(-1) & (best >= gm[:, j] - penalty)
        bins[:, j] = torch.where(use_shell, flat.gather(-1, k[:, None])[:, 0],
                                 belief[:, j].argmax(-1))
    return bins


def coarse(state, cams, centers, lengths, windows, parents, n, cube, penalty):
    """PSM on an ``n^3`` grid around each frame's centre -> poses ``(B, J, 3)``."""
    E, logfloor = state
    R, t, dist, aff = cams
    B, V, J = E.shape[0], E.shape[1], E.shape[4]
    lengths_np = lengths.detach().cpu().numpy().astype(np.float64)
    offsets, counts = stencil_table(lengths_np, cube / (n - 1), windows.detach().cpu().numpy(),
                                    max_offset=n - 1)
    poses = torch.empty((B, J, 3), dtype=E.dtype, device=E.device)
    step = _chunk(E.device, V * J * n**3)
    for lo in range(0, B, step):
        sl = slice(lo, min(B, lo + step))
        X = grid_points(centers[sl], n, cube)
        hx, hy = project((R, t, dist, aff[sl]), X)
        U = sum_views(sample(E[sl], hx, hy), logfloor)
        bins = max_product_grid(U, offsets[sl], counts[sl], parents, n, penalty)
        poses[sl] = X.gather(1, bins[..., None].expand(-1, -1, 3))
    return poses


def grid_unary(state, cams, centers: torch.Tensor, n: int, cube: float) -> torch.Tensor:
    """Unary terms ``(B, J, n^3)`` of each frame's coarse grid around ``centers`` ``(B, 3)``."""
    return unary(state, cams, grid_points(centers, n, cube))


def unary(state, cams, points):
    """Unary terms of points ``(B, P, 3)`` (shared by joints) -> ``(B, J, P)``."""
    E, logfloor = state
    hx, hy = project(cams, points)
    return sum_views(sample(E, hx, hy), logfloor)
