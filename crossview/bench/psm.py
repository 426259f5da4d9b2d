"""Benchmark of the pictorial structure model on one grid: ``python -m crossview bench psm``.

The same input as :mod:`crossview.bench.rpsm` (synthetic, 4 views, 64 x 64, 1.5 px
jitter, 10% false peaks); the grid is centred on the robustly triangulated root,
computed once outside the timing, so the rows time the PSM alone: unary terms on
``N^3`` bins and exact max-product with the limb stencils.
"""

from __future__ import annotations

from . import BenchConfig

DESCRIPTION = "PSM on one N^3 grid, ms per frame and MPJPE (4 views, 17 joints, 64x64)"


def run(config: BenchConfig) -> list[dict]:
    from .rpsm import run as run_rpsm

    return run_rpsm(config, target="psm")
