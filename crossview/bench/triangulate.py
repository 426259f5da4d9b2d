"""Benchmark of triangulation: ``python -m crossview bench triangulate``.

Input: the sub-pixel heatmap peaks of synthetic frames (4 views, 17 joints, 1.5 px
jitter, 10% false peaks), weighted by peak height. Two rows per backend: the
confidence-weighted DLT and the robust view-pair search. Triangulation has NumPy
and torch code paths only (the other backends are skipped); ``--batch`` frames per
call.
"""

from __future__ import annotations

import numpy as np

from . import BenchConfig, measure, row

DESCRIPTION = "weighted and robust DLT of heatmap peaks, ms per frame and MPJPE (4 views)"


def run(config: BenchConfig) -> list[dict]:
    import torch

    from ..heatmap import peak_observations
    from ..metrics import mpjpe
    from ..triangulate import triangulate, triangulate_robust
    from .rpsm import inputs

    B = max(1, config.batch)
    s, hm, A, gt = inputs(config, B)
    uv, conf, px = peak_observations(hm.astype(np.float64), A)
    rows = []
    for backend in config.backends:
        if backend not in ("numpy", "torch"):
            continue
        x, w = uv, conf
        if backend == "torch":
            x = torch.from_numpy(uv).to(config.device)
            w = torch.from_numpy(conf).to(config.device)
        for name, fn in (("dlt", triangulate), ("robust-dlt", triangulate_robust)):
            kwargs = {"threshold_px": 5.0 * px} if name == "robust-dlt" else {}

            def call(x=x, w=w, fn=fn, kwargs=kwargs):
                return fn(x, s.cameras, w, **kwargs)

            timing = measure(call, repeat=config.repeat,
                             device=config.device if backend == "torch" else "cpu")
            out = timing.output
            out = out.cpu().numpy() if torch.is_tensor(out) else out
            rows.append(row("triangulate", backend, timing, B, config, method=name,
                            mpjpe_mm=mpjpe(out, gt)))
    return rows
