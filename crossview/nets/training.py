"""Training: seeded loops for the network (:func:`train_backbone`) and the learned fusion
layer (:func:`train_fusion`), with a progress bar, checkpoints and a loss curve
(:class:`History`), and :func:`train_pose2d`, the whole recipe behind ``python -m
crossview train`` and the weights shipped in ``data/``. Its settings are
:class:`~crossview.nets.config.TrainConfig`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data import EVAL_SEED, RenderedPoseDataset, evaluation_data, make_dataset
from .inference import choose_self_weight, evaluate, jdr_breakdown, predict
from .model import PoseNet, count_parameters
from .weights import Pose2D, save_pose2d


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch (CPU and CUDA: weight initialisation) and return a generator for shuffling.

    NumPy needs no seeding here: everything random in the data comes from explicit,
    seeded generators (:mod:`crossview.synth`, :mod:`crossview.render`).
    """
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def heatmap_loss(pred, target) -> torch.Tensor:
    """Mean squared error between heatmaps (the loss of the simple baselines and the paper)."""
    return nn.functional.mse_loss(pred, target)


@dataclass
class History:
    """The loss curve: per-step training loss and per-epoch validation numbers."""

    step_loss: list = field(default_factory=list)
    epoch_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_jdr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: [float(x) for x in v] for k, v in asdict(self).items()}


def _cosine_schedule(opt: torch.optim.Optimizer, total: int):
    """Learning rate decayed from its initial value to zero over ``total`` steps (cosine)."""
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1))))


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False)


def train_backbone(model: PoseNet, data: RenderedPoseDataset, epochs: int = 24,
                   batch_frames: int = 16, lr: float = 2e-3, weight_decay: float = 1e-4,
                   seed: int = 0, val: RenderedPoseDataset | None = None,
                   device: str | torch.device = "cpu", checkpoint: str | Path | None = None,
                   progress: bool = True, log: Callable[[str], None] | None = None) -> History:
    """Train the single-view network on every view of every frame (MSE on heatmaps).

    Adam with a cosine learning-rate decay to zero over ``epochs``; the order of the
    frames comes from a generator seeded with ``seed``. With ``checkpoint``, the model,
    optimiser, schedule and loss curve are written after every epoch, and a run
    started again with the same path resumes from it. Returns the :class:`History`.
    """
    device = torch.device(device)
    gen = seed_everything(seed)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_frames, shuffle=True,
                                         generator=gen, drop_last=True)
    total = epochs * len(loader)
    sched = _cosine_schedule(opt, total)
    hist, start = History(), 0
    if checkpoint is not None and Path(checkpoint).is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        hist = History(**state["history"])
        start = int(state["epoch"])
    t0 = time.perf_counter()
    bar = _progress(total, "training", progress)
    if bar is not None:
        bar.update(start * len(loader))
    for epoch in range(start, epochs):
        model.train()
        losses = []
        for batch in loader:
            x = batch["images"].to(device)
            y = batch["heatmaps"].to(device)
            loss = heatmap_loss(model(x.flatten(0, 1)), y.flatten(0, 1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            hist.step_loss.append(losses[-1])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.2e}")
        hist.epoch_loss.append(float(np.mean(losses)))
        hist.seconds.append(time.perf_counter() - t0)
        if val is not None:
            hm = predict(model, val, device=device)
            hist.val_loss.append(float(np.mean((hm - val.heatmaps) ** 2)))
            hist.val_jdr.append(jdr_breakdown(hm, val)["all"])
        if checkpoint is not None:   # only whole epochs: a resumed run repeats no step
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "generator": gen.get_state(),
                        "history": asdict(hist), "epoch": epoch + 1}, checkpoint)
        if log is not None:
            extra = f", val JDR {hist.val_jdr[-1]:.1f}%" if hist.val_jdr else ""
            log(f"epoch {epoch + 1}/{epochs}: loss {hist.epoch_loss[-1]:.3e}{extra} "
                f"({hist.seconds[-1]:.0f} s)")
    if bar is not None:
        bar.close()
    model.eval()
    return hist


def train_fusion(layer: nn.Module, heatmaps: np.ndarray, targets: np.ndarray, epochs: int = 8,
                 batch_frames: int = 32, lr: float = 2e-3, seed: int = 0,
                 device: str | torch.device = "cpu", progress: bool = True) -> list[float]:
    """Fit a :class:`crossview.learned_fusion.LearnedFusion` layer on fixed single-view heatmaps.

    ``heatmaps`` ``(N, V, J, h, w)`` are the frozen network's outputs on the training
    frames, ``targets`` the ground truth. The paper trains network and fusion together;
    freezing the network keeps the single-view baseline identical for the comparison
    and costs one pass of the network instead of many. Returns the loss per epoch.
    """
    device = torch.device(device)
    gen = seed_everything(seed)
    layer.to(device).train()
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    x_all, y_all = torch.from_numpy(heatmaps), torch.from_numpy(targets)
    n = len(x_all)
    steps = max(1, n // batch_frames)
    total = epochs * steps
    sched = _cosine_schedule(opt, total)
    bar = _progress(total, "fusion layer", progress)
    curve = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        losses = []
        for s in range(steps):
            idx = order[s * batch_frames:(s + 1) * batch_frames]
            loss = heatmap_loss(layer(x_all[idx].to(device)), y_all[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if bar is not None:
                bar.update(1)
        curve.append(float(np.mean(losses)))
    if bar is not None:
        bar.close()
    layer.eval()
    return curve


def train_pose2d(config: TrainConfig, out: str | Path | None = None,
                 device: str | torch.device | None = None, checkpoint: str | Path | None = None,
                 progress: bool = True, log: Callable[[str], None] = print) -> Pose2D:
    """The recipe of the shipped weights: render, train the network, fit the learned
    fusion on its frozen outputs, choose the analytic fusion's own-view weight on the
    validation frames, evaluate on held-out frames, save.

    ``device`` defaults to CUDA when present. Returns the trained :class:`Pose2D`.
    """
    from ..learned_fusion import LearnedFusion

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.perf_counter()
    c = config
    log(f"rendering {c.train_frames} training frames ({c.scene_sets} scene sets) and "
        f"{c.val_frames} validation frames (synthetic)")
    train = make_dataset(c.train_frames, c.seed, scene_sets=c.scene_sets, rig=c.rig,
                         input_size=c.input_size, heatmap_size=c.heatmap_size, sigma=c.sigma,
                         progress=progress)
    val = make_dataset(c.val_frames, c.seed + 10_000, scene_sets=2, rig=c.rig,
                       input_size=c.input_size, heatmap_size=c.heatmap_size, sigma=c.sigma,
                       progress=progress)
    log(f"  {train}  ({time.perf_counter() - t0:.0f} s)")
    seed_everything(c.seed)
    backbone = PoseNet(widths=c.widths)
    log(f"network: {count_parameters(backbone):,} weights; training on {device}")
    hist = train_backbone(backbone, train, epochs=c.epochs, batch_frames=c.batch_frames,
                          lr=c.lr, weight_decay=c.weight_decay, seed=c.seed, val=val,
                          device=device, checkpoint=checkpoint, progress=progress, log=log)
    backbone.eval()                      # stays on the device for the predictions below
    log("fitting the learned fusion layer on the frozen network's heatmaps")
    single = predict(backbone, train)
    seed_everything(c.seed)
    layer = LearnedFusion(train.n_views, (c.heatmap_size,) * 2, self_weight=c.self_weight)
    fusion_curve = train_fusion(layer, single, train.heatmaps, epochs=c.fusion_epochs,
                                lr=c.fusion_lr, seed=c.seed, device=device, progress=progress)
    layer.eval()
    sw, sweep = choose_self_weight(predict(backbone, val), val, c.analytic_self_weights)
    log(f"analytic fusion: own-view weight {sw} (validation JDR "
        + ", ".join(f"{w}: {v:.1f}%" for w, v in sweep.items()) + ")")
    log(f"evaluating on {c.eval_frames} held-out frames (seed {EVAL_SEED})")
    history = hist.to_dict()
    history["fusion_loss"] = fusion_curve
    history["analytic_sweep"] = {str(w): v for w, v in sweep.items()}
    pose = Pose2D(backbone, layer, c, history, {}, sw)
    pose.metrics = evaluate(pose, evaluation_data(c.eval_frames, config=c, progress=progress))
    pose.metrics["seconds"] = time.perf_counter() - t0
    backbone.cpu()
    layer.cpu()
    if out is not None:
        save_pose2d(out, pose)
    return pose
