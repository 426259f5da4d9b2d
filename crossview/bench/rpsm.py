"""Benchmark of the recursive pictorial structure model: ``python -m crossview bench rpsm``.

Input: seeded synthetic heatmaps of the Human3.6M rig (4 views, 17 joints, 64 x 64,
1.5 px jitter, 10% false peaks). One call estimates ``--batch`` frames from scratch:
the robust root triangulation, the ``N^3`` grid and ``depth`` refinement stages
(``depth`` from ``config.extra``, default 10). Every row reports the MPJPE reached
and ``max_diff_mm``, the largest joint difference from the NumPy backend on the same
frames.

The ``naive`` backend compares every pair of bins in Python; it runs once on one
frame with a ``4^3`` grid (its row says so in ``n_bins``): the readable reference,
not a contender.
"""

from __future__ import annotations

import numpy as np

from . import BenchConfig, measure, row

DESCRIPTION = "RPSM (N^3 grid + depth 2x2x2 stages), ms per frame and MPJPE (4 views, 64x64)"
NAIVE_BINS = 4


def inputs(config: BenchConfig, frames: int):
    """Synthetic frames for a benchmark: ``frames`` distinct ones, repeated to ``batch``."""
    from ..synth import make_scenes

    distinct = max(1, min(frames, config.frames))
    s = make_scenes(distinct, "h36m", seed=config.seed, jitter=1.5, false_peak_prob=0.1)
    idx = np.arange(frames) % distinct
    return s, s.heatmaps[idx], s.affines[idx], s.joints3d[idx]


def run(config: BenchConfig, target: str = "rpsm") -> list[dict]:
    import torch

    from ..metrics import mpjpe
    from ..psm import prepare_inputs, psm
    from ..rpsm import root_center, rpsm

    depth = int(config.extra.get("depth", 10))
    B = max(1, config.batch)
    s, hm, A, gt = inputs(config, B)
    if target == "psm":
        centers = root_center(prepare_inputs(hm, s.cameras, A, None, 1e-3, "numpy"))

    def method(x, aff, backend, n_bins, c):
        if target == "psm":
            return psm(x, s.cameras, aff, c, None, n_bins=n_bins, backend=backend)
        return rpsm(x, s.cameras, aff, n_bins=n_bins, depth=depth, backend=backend)

    ref = None
    rows = []
    order = sorted(config.backends, key=lambda b: b != "numpy")   # NumPy first: the reference
    for backend in order:
        naive = backend == "naive"
        frames = 1 if naive else B
        n_bins = min(NAIVE_BINS, config.n_bins) if naive else config.n_bins
        x, aff = hm[:frames], A[:frames]
        c = centers[:frames] if target == "psm" else None
        if backend == "torch":
            x = torch.from_numpy(x).to(config.device)
            aff = torch.from_numpy(np.ascontiguousarray(aff)).to(config.device)
            c = None if c is None else torch.from_numpy(c).to(config.device)

        def call(x=x, aff=aff, backend=backend, n_bins=n_bins, c=c):
            return method(x, aff, backend, n_bins, c)

        out = call()
        out = out.cpu().numpy() if torch.is_tensor(out) else out
        timing = measure(call, repeat=1 if naive else config.repeat, warmup=0 if naive else 1,
                         device=config.device)
        if backend == "numpy":
            ref = out
        same = ref is not None and not naive and n_bins == config.n_bins
        rows.append(row(target, backend, timing, frames, config, n_bins=n_bins,
                        depth=depth if target == "rpsm" else 0,
                        mpjpe_mm=mpjpe(out, gt[:frames]),
                        max_diff_mm=float(np.abs(out - ref[:frames]).max()) if same else None))
    return rows
