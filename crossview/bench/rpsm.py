"""Benchmark of the recursive pictorial structure model: ``python -m crossview bench rpsm``.

Input: seeded synthetic heatmaps of the Human3.6M rig (4 views, 17 joints, 64 x 64,
1.5 px jitter, 10% false peaks). One call estimates ``--batch`` frames from scratch:
the robust root triangulation, the ``N^3`` grid and ``depth`` refinement stages
(``--depth``, default 10). Every row reports the MPJPE reached and ``max_diff_mm``,
the largest joint difference from the NumPy backend on the same frames.

The ``naive`` backend compares every pair of bins in Python; it runs once on one
frame with a ``4^3`` grid (its row says so in ``n_bins``): the readable reference,
not a contender.

:func:`profile` times the stages of one call separately (``--profile``): where the
time goes.
"""

from __future__ import annotations

import numpy as np

from . import BenchConfig, measure, row

DESCRIPTION = "RPSM (N^3 grid + depth 2x2x2 stages), ms per frame and MPJPE (4 views, 64x64)"
NAIVE_BINS = 4
#: The stages that :func:`profile` times, in the order a call runs them.
STAGES = ("checks", "root", "log-heatmaps", "unary", "max-product", "refinement")


def inputs(config: BenchConfig, frames: int):
    """Synthetic frames for a benchmark: ``frames`` distinct ones, repeated to ``batch``."""
    from ..synth import make_scenes

    distinct = max(1, min(frames, config.frames))
    s = make_scenes(distinct, "h36m", seed=config.seed, jitter=1.5, false_peak_prob=0.1)
    idx = np.arange(frames) % distinct
    return s, s.heatmaps[idx], s.affines[idx], s.joints3d[idx]


def _on_device(config: BenchConfig, *arrays):
    import torch

    return [None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(config.device)
            for a in arrays]


def run(config: BenchConfig, target: str = "rpsm") -> list[dict]:
    import torch

    from ..metrics import mpjpe
    from ..psm import psm, root_center
    from ..rpsm import rpsm

    depth = config.depth
    B = max(1, config.batch)
    s, hm, A, gt = inputs(config, B)
    if target == "psm":
        centers = root_center(hm, s.cameras, A)

    def method(x, aff, backend, n_bins, c):
        if target == "psm":
            return psm(x, s.cameras, aff, center=c, n_bins=n_bins, backend=backend)
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
            x, aff, c = _on_device(config, x, aff, c)

        def call(x=x, aff=aff, backend=backend, n_bins=n_bins, c=c):
            return method(x, aff, backend, n_bins, c)

        timing = measure(call, repeat=1 if naive else config.repeat, warmup=0 if naive else 1,
                         device=config.device if backend == "torch" else "cpu")
        out = timing.output
        out = out.cpu().double().numpy() if torch.is_tensor(out) else out
        if backend == "numpy":
            ref = out
        same = ref is not None and not naive and n_bins == config.n_bins
        rows.append(row(target, backend, timing, frames, config, n_bins=n_bins,
                        depth=depth if target == "rpsm" else 0,
                        dtype=str(x.dtype).replace("torch.", ""),
                        mpjpe_mm=mpjpe(out, gt[:frames]),
                        max_diff_mm=float(np.abs(out - ref[:frames]).max()) if same else None))
    return rows


def profile(config: BenchConfig, backend: str) -> list[dict]:
    """Where the time of one RPSM call goes: each stage timed on its own, per frame.

    Stages (:data:`STAGES`): input checks, the robust root triangulation, the
    log-heatmaps, the coarse grid's unary terms, its max-product (stencil tables,
    messages and back-tracking) and the ``depth`` refinement stages. Rows also give
    the stage's share of their sum and the time of the whole call.
    """
    from ..kernels import load_kernel
    from ..kernels.psm_common import EXCESS_COST, penalty, stencil_table
    from ..psm import kernel_inputs, prepare_inputs, root_centers
    from ..rpsm import PRIOR_MARGIN_STD, rpsm, stage_sizes, stage_windows
    from ..skeleton import LIMB_PRIOR, SKELETON

    if backend not in ("numpy", "numba", "torch"):
        raise ValueError(f"profile needs the numpy, numba or torch backend, got {backend!r}")
    B, n, depth, cube = max(1, config.batch), config.n_bins, config.depth, 2000.0
    s, hm, A, _ = inputs(config, B)
    if backend == "torch":
        hm, A = _on_device(config, hm, A)
    dev = config.device if backend == "torch" else "cpu"
    parents = SKELETON.parents
    J, V = SKELETON.n_joints, len(s.cameras)
    pen = penalty(J, V, float(np.log(1e-3)))
    problem = prepare_inputs(hm, s.cameras, A, None, 1e-3, backend)
    centers = root_centers(problem)
    kernel, bridge, state, cams = kernel_inputs(problem, "psm")
    refine = load_kernel("rpsm", backend).refine
    c, lengths = bridge.native(centers), bridge.native(problem.lengths)
    windows = np.full(J, 150.0)
    U = kernel.grid_unary(state, cams, c, n, cube)
    sizes = stage_sizes(n, depth, cube)
    stage_w = bridge.native(stage_windows(sizes, PRIOR_MARGIN_STD * LIMB_PRIOR.std, 150.0))
    poses = kernel.coarse(state, cams, c, lengths, bridge.native(windows), parents, n, cube,
                          pen)

    def max_product():
        o, k = stencil_table(problem.lengths, cube / (n - 1), windows)
        return kernel.max_product_grid(U, o, k, parents, n, pen)

    calls = {
        "checks": lambda: prepare_inputs(hm, s.cameras, A, None, 1e-3, backend),
        "root": lambda: root_centers(problem),
        "log-heatmaps": lambda: kernel_inputs(problem, "psm"),
        "unary": lambda: kernel.grid_unary(state, cams, c, n, cube),
        "max-product": max_product,
        "refinement": lambda: refine(state, cams, poses, lengths, stage_w, sizes, parents,
                                     EXCESS_COST, 2) if depth else None,
    }
    times = {k: measure(f, repeat=config.repeat, device=dev).median / B for k, f in calls.items()}
    whole = measure(lambda: rpsm(hm, s.cameras, A, n_bins=n, depth=depth, backend=backend),
                    repeat=config.repeat, device=dev).median / B
    total = sum(times.values())
    return [{"backend": backend, "batch": B, "n_bins": n, "depth": depth, "stage": k,
             "ms_per_frame": 1e3 * t, "share": t / total, "call_ms_per_frame": 1e3 * whole}
            for k, t in times.items()]
