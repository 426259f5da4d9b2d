"""Benchmark of analytic epipolar fusion: ``python -m crossview bench fusion``.

Input: synthetic corrupted heatmaps of the Human3.6M rig (4 views, 17 joints,
64 x 64, 1 px jitter, 10% false peaks, occluded joints at 30% height). Two settings
per backend:

* ``shared``: one set of crop affines for all frames (a fixed rig and fixed crops);
  the epipolar curves are traced once and the time is the fusion alone. The input
  is the first frame, repeated ``--batch`` times, so that its crops are right;
* ``per-frame``: every frame has its own crops (the realistic case: crops follow the
  person), so every call traces the curves again; ``geometry_ms`` is that part.

Accuracy: ``mpjpe_mm`` is the error of the confidence-weighted DLT of the fused
heatmaps' peaks (``mpjpe_unfused_mm``: of the input heatmaps' peaks), and
``max_abs_diff`` compares each backend with the NumPy backend on the same input
(the tests check NumPy against the plain-Python reference). The ``naive`` backend
runs once, on one frame with shared affines: it is the readable reference, not a
contender.

Work: ``reads_m`` is how many heatmap values the curves' reads take per frame
(millions; two per read and joint), the number the kernels' time is best judged by.
"""

from __future__ import annotations

import numpy as np

from . import BenchConfig, measure, row

DESCRIPTION = "analytic epipolar fusion, ms per frame and MPJPE of the fused peaks (4 views, 64x64)"
HEATMAP_SIZE = (64, 64)


def peak_mpjpe(heatmaps: np.ndarray, scenes, affines: np.ndarray, frames: np.ndarray) -> float:
    """MPJPE (mm) of the weighted DLT of the peaks of heatmaps ``(B, V, J, H, W)`` of the
    scenes' ``frames`` ``(B,)`` with crop ``affines`` ``(B, V, 2, 3)``."""
    from ..metrics import mpjpe
    from ..rpsm import peak_observations
    from ..triangulate import triangulate

    uv, conf, _ = peak_observations(np.asarray(heatmaps, np.float64), affines)
    return mpjpe(triangulate(uv, scenes.cameras, conf), scenes.joints3d[frames])


def run(config: BenchConfig) -> list[dict]:
    import torch

    from ..fusion import epipolar_fusion
    from ..sampler import EpipolarSampler, clear_sampler_cache, get_sampler
    from ..synth import make_scenes

    B = max(1, config.batch)
    scenes = make_scenes(B, "h36m", seed=config.seed, heatmap_size=HEATMAP_SIZE, jitter=1.0,
                         false_peak_prob=0.1, occluded_scale=0.3)
    cams = scenes.cameras
    first = np.zeros(B, int)
    settings = {"shared": (scenes.heatmaps[first], scenes.affines[0], first),
                "per-frame": (scenes.heatmaps, scenes.affines, np.arange(B))}

    # the curves of all frames' crops; the warm-up compiles (or loads) the tracing kernel
    # that this batch size runs: one frame traces serially, a batch in parallel
    geometry = measure(lambda: EpipolarSampler.build(cams, scenes.affines, HEATMAP_SIZE),
                       repeat=config.repeat)
    geometry_ms = 1e3 * geometry.median / B
    J = scenes.heatmaps.shape[2]
    reads = {"shared": 2e-6 * J * float(get_sampler(
                 cams, scenes.affines[0], HEATMAP_SIZE).count.sum()),
             "per-frame": 2e-6 * J * float(geometry.output.count.sum()) / B}

    rows = []
    for name, (hm, affines, frame) in settings.items():
        ref = epipolar_fusion(hm, cams, affines, backend="numpy")
        full = scenes.affines[frame]
        unfused = peak_mpjpe(hm, scenes, full, frame)
        for backend in config.backends:
            if backend == "naive" and name != "shared":
                continue
            frames = 1 if backend == "naive" else B
            x = hm[:frames]
            if backend == "torch":
                x = torch.from_numpy(x).to(config.device)

            shared = name == "shared"
            aff = affines if shared else affines[:frames]

            def call(x=x, backend=backend, aff=aff, shared=shared):
                if not shared:
                    clear_sampler_cache()      # new crops every frame: trace the curves again
                return epipolar_fusion(x, cams, aff, backend=backend)

            naive = backend == "naive"
            timing = measure(call, repeat=1 if naive else config.repeat, warmup=0 if naive else 1,
                             device=config.device if backend == "torch" else "cpu")
            out = timing.output
            out = out.cpu().numpy() if torch.is_tensor(out) else out
            rows.append(row("fusion", backend, timing, frames, config, affines=name,
                            views=len(cams), joints=hm.shape[2],
                            heatmap=f"{HEATMAP_SIZE[0]}x{HEATMAP_SIZE[1]}",
                            geometry_ms=geometry_ms if name == "per-frame" else 0.0,
                            reads_m=reads[name],
                            mpjpe_mm=peak_mpjpe(out, scenes, full[:frames], frame[:frames]),
                            mpjpe_unfused_mm=unfused,
                            max_abs_diff=float(np.abs(out - ref[:frames]).max())))
    return rows
