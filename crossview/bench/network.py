"""Benchmark of the image side of the pipeline: ``python -m crossview bench network``.

Three rows, all torch (the renderer computes on the CPU; the network on ``--device``):
rendering the 64 x 64 crops of synthetic frames (4 views), the shipped network's
forward pass on them (with the JDR it reaches there), and one training step (forward,
backward, Adam) on them (with its loss). ``--batch`` frames per call.
"""

from __future__ import annotations

from . import BenchConfig, measure, row

DESCRIPTION = "render 64x64 crops, run and train the 2D network; ms per frame of 4 views"


def run(config: BenchConfig) -> list[dict]:
    if "torch" not in config.backends:
        return []
    import torch

    from .. import nets
    from ..render import depth_visibility, render_views
    from ..synth import make_scenes

    B = max(1, config.batch)
    scenes = make_scenes(B, "h36m", seed=config.seed, heatmap_size=(16, 16), sigma=1.0,
                         fps=1.0)
    rows = []
    timing = measure(lambda: render_views(scenes, size=(64, 64)), repeat=config.repeat)
    agree = float((depth_visibility(scenes.joints3d, scenes.cameras, scenes.occluders)
                   == scenes.occlusion).mean())
    rows.append(row("network", "torch", timing, B, config, stage="render",
                    crops_per_s=B * scenes.n_views / timing.median,
                    visibility_agreement=agree))
    rows[-1]["device"] = "cpu"

    data = nets.RenderedPoseDataset(scenes, renders=timing.output)
    pose = nets.load_pose2d(device=config.device)
    x = torch.from_numpy(data.images).permute(0, 1, 4, 2, 3).float().div(255).to(config.device)

    def forward():
        with torch.no_grad():
            return pose.backbone(x)

    timing = measure(forward, repeat=config.repeat, device=config.device)
    hm = timing.output.cpu().numpy()
    rows.append(row("network", "torch", timing, B, config, stage="forward",
                    jdr_pct=nets.jdr_breakdown(hm, data)["all"]))

    net = nets.PoseNet(widths=pose.config.widths).to(config.device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    y = torch.from_numpy(data.heatmaps).to(config.device)

    def step():
        loss = nets.heatmap_loss(net(x.flatten(0, 1)), y.flatten(0, 1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    timing = measure(step, repeat=config.repeat, device=config.device)
    rows.append(row("network", "torch", timing, B, config, stage="train step",
                    loss=timing.output))
    return rows
