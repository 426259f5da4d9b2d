"""A small 2D pose network on rendered multi-view crops, with cross-view fusion heads.

* :class:`PoseNet`: a compact fully convolutional encoder-decoder (hourglass style,
  about a million weights): an RGB crop ``(3, 64, 64)`` -> 17 joint heatmaps
  ``(17, 16, 16)``, the paper's output stride of 4 at a quarter of its resolution.
* :class:`MultiViewPoseNet`: the network applied to every view of a frame, followed by an
  optional fusion head: the learned fully connected layer
  (:class:`crossview.fusion.LearnedFusion`) or the analytic epipolar fusion
  (:func:`crossview.fusion.epipolar_fusion`).
* :class:`RenderedPoseDataset`: a ``torch.utils.data.Dataset`` of rendered synthetic
  frames (all views of one frame per item) with their ground-truth heatmaps.
* :func:`train_backbone`, :func:`train_fusion`: seeded training loops with a progress
  bar, checkpoints and a loss curve; :func:`train_pose2d` runs the whole recipe behind
  ``python -m crossview train`` and the weights shipped in ``data/``.
* :func:`predict`, :func:`fuse`, :func:`jdr_breakdown`: inference and the paper's
  JDR metric split into all, visible and occluded joints.

Everything the network sees is **synthetic** (see :mod:`crossview.render`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .camera import Camera, load_rig
from .heatmap import find_peaks, heatmap_to_image
from .metrics import jdr
from .paths import DATA_DIR
from .render import Renders, render_views
from .skeleton import SKELETON
from .synth import Scenes, make_scenes
from .train_config import TrainConfig

#: The weights shipped with the book (made by ``python -m crossview train``).
PRETRAINED = DATA_DIR / "pose2d_h36m.pt"
#: Seed of the held-out evaluation scenes that the chapter and ``train`` report on.
EVAL_SEED = 2019
_FORMAT = "crossview.pose2d/1"


# ---------------------------------------------------------------------- the network
def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity shortcut (He et al., 2016)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn_relu(channels, channels),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        return torch.relu(x + self.body(x))


class PoseNet(nn.Module):
    """Joint heatmaps from an RGB crop: ``(N, 3, H, W)`` in [0, 1] -> ``(N, J, H/4, W/4)``.

    Four stride-2 stages (each a strided 3x3 convolution and a residual block) bring a
    64 x 64 crop down to 4 x 4, so that the deepest features see the whole person: a
    joint hidden behind a pillar can still be guessed from the rest of the body. Two
    nearest-neighbour upsamplings, each merged with the encoder's features at that
    scale (skip connections, as in an hourglass), return to stride 4, and a 1x1
    convolution gives one heatmap per joint. Leading dimensions other than ``N`` are
    kept: ``(B, V, 3, H, W)`` -> ``(B, V, J, H/4, W/4)``.

    The input is normalised inside the network, so callers pass plain RGB in [0, 1].
    """

    def __init__(self, n_joints: int = SKELETON.n_joints,
                 widths: Sequence[int] = (32, 64, 128, 128)):
        super().__init__()
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"widths must be four positive channel counts, got {widths!r}")
        w1, w2, w3, w4 = (int(w) for w in widths)
        self.n_joints, self.widths = int(n_joints), (w1, w2, w3, w4)
        self.down1 = nn.Sequential(_conv_bn_relu(3, w1, 2), ResidualBlock(w1))     # 1/2
        self.down2 = nn.Sequential(_conv_bn_relu(w1, w2, 2), ResidualBlock(w2))    # 1/4
        self.down3 = nn.Sequential(_conv_bn_relu(w2, w3, 2), ResidualBlock(w3))    # 1/8
        self.down4 = nn.Sequential(_conv_bn_relu(w3, w4, 2), ResidualBlock(w4))    # 1/16
        self.up3 = _conv_bn_relu(w4 + w3, w2)                                       # 1/8
        self.up2 = nn.Sequential(_conv_bn_relu(w2 + w2, w2), _conv_bn_relu(w2, w2))  # 1/4
        self.head = nn.Conv2d(w2, self.n_joints, 1)
        # mean and spread of the rendered crops' pixels (a fixed input normalisation)
        self.register_buffer("mean", torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1))

    #: input pixels per heatmap pixel
    stride = 4

    def forward(self, images):
        lead = images.shape[:-3]
        x = images.reshape(-1, *images.shape[-3:])
        x = (x - self.mean) / self.std
        x1 = self.down1(x)
        x2 = self.down2(x1)
        x3 = self.down3(x2)
        x4 = self.down4(x3)
        up = nn.functional.interpolate
        y = self.up3(torch.cat([up(x4, size=x3.shape[-2:]), x3], 1))
        y = self.up2(torch.cat([up(y, size=x2.shape[-2:]), x2], 1))
        out = self.head(y)
        return out.reshape(*lead, *out.shape[1:])


def count_parameters(module: nn.Module) -> int:
    """Number of trainable weights."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class MultiViewPoseNet(nn.Module):
    """A :class:`PoseNet` applied to every view, then an optional cross-view fusion head.

    ``fusion`` is ``None`` (single-view heatmaps), a
    :class:`crossview.fusion.LearnedFusion` layer, or ``"analytic"``
    (:func:`crossview.fusion.epipolar_fusion`, differentiable through its torch
    backend; needs ``cameras`` and the heatmap ``affines`` at call time).

    ``forward(images (B, V, 3, H, W), cameras=None, affines=None)`` returns
    ``(single, fused)``, both ``(B, V, J, h, w)`` (``fused`` is ``single`` without a
    fusion head): the paper supervises both.
    """

    def __init__(self, backbone: PoseNet, fusion: nn.Module | str | None = None,
                 self_weight: float = 0.5):
        super().__init__()
        if isinstance(fusion, str) and fusion != "analytic":
            raise ValueError(f"fusion must be None, 'analytic' or a LearnedFusion module; "
                             f"got {fusion!r}")
        self.backbone = backbone
        self.fusion = fusion if isinstance(fusion, nn.Module) else None
        self.analytic = fusion == "analytic"
        self.self_weight = float(self_weight)

    def forward(self, images, cameras: Sequence[Camera] | None = None, affines=None):
        if images.ndim != 5:
            raise ValueError(f"images must have shape (B, V, 3, H, W), got {tuple(images.shape)}")
        single = self.backbone(images)
        if self.fusion is not None:
            return single, self.fusion(single)
        if self.analytic:
            if cameras is None or affines is None:
                raise ValueError("analytic fusion needs the cameras and the heatmap affines")
            from .fusion import epipolar_fusion

            return single, epipolar_fusion(single, cameras, affines, self_weight=self.self_weight,
                                           backend="torch")
        return single, single


# ---------------------------------------------------------------------- data
class RenderedPoseDataset(torch.utils.data.Dataset):
    """Rendered synthetic frames with ground truth: one item is one frame, all its views.

    Built from one or more :class:`crossview.Scenes` of the same rig (several scene
    sets give several occluder layouts), each with heatmaps; the crops are rendered
    once at ``size`` (``(H, W)``, a multiple of the heatmap size) and kept as uint8.

    An item is a dict of tensors: ``images`` ``(V, 3, H, W)`` float32 in [0, 1],
    ``heatmaps`` ``(V, J, h, w)`` (the training target), ``visible`` ``(V, J)`` bool,
    ``affines`` ``(V, 2, 3)`` (image px -> heatmap px), and ``index``. The whole set's
    ground truth is available as NumPy arrays (``joints2d``, ``affines``,
    ``occlusion``, ``head_sizes``, ``joints3d``, ``joints_hm``, ``heatmaps``), with the
    crops (``images`` ``(N, V, H, W, 3)`` uint8 and their ``input_affines``).
    """

    def __init__(self, scenes: Scenes | Sequence[Scenes], size: tuple[int, int] = (64, 64),
                 renders: Renders | Sequence[Renders] | None = None, progress: bool = False):
        parts = [scenes] if isinstance(scenes, Scenes) else list(scenes)
        if not parts or not all(isinstance(s, Scenes) for s in parts):
            raise TypeError("scenes must be a crossview.Scenes or a list of them")
        if any(s.heatmaps is None for s in parts):
            raise ValueError("the scenes need ground-truth heatmaps (make_scenes(heatmaps=True))")
        if len({s.heatmap_size for s in parts}) != 1 or len({s.n_views for s in parts}) != 1:
            raise ValueError("all scene sets must share the heatmap size and the number of views")
        h, w = parts[0].heatmap_size
        if size[0] % h or size[1] % w:
            raise ValueError(f"size {tuple(size)} must be a multiple of the heatmap size {(h, w)}")
        if renders is None:
            renders = [render_views(s, size=size, progress=progress) for s in parts]
        elif isinstance(renders, Renders):
            renders = [renders]
        if len(renders) != len(parts) or any(len(r) != s.n_frames for r, s in zip(renders, parts)):
            raise ValueError("renders must match the scene sets frame for frame")
        self.scenes = parts
        self.cameras: list[Camera] = parts[0].cameras
        self.size = (int(size[0]), int(size[1]))
        self.heatmap_size = (h, w)
        cat = lambda k: np.concatenate([getattr(s, k) for s in parts])  # noqa: E731
        self.joints3d, self.joints2d, self.occlusion = cat("joints3d"), cat("joints2d"), \
            cat("occlusion")
        self.affines, self.head_sizes, self.heatmaps = cat("affines"), cat("head_sizes"), \
            cat("heatmaps")
        self.joints_hm = cat("joints_hm")
        self.images = np.concatenate([r.images for r in renders])          # (N, V, H, W, 3)
        self.input_affines = np.concatenate([r.affines for r in renders])  # image -> input px

    @property
    def visible(self) -> np.ndarray:
        """(N, V, J) bool: seen by the camera (not hidden, inside the image)."""
        return self.occlusion == 0

    @property
    def n_views(self) -> int:
        return len(self.cameras)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        img = torch.from_numpy(self.images[i]).permute(0, 3, 1, 2).float() / 255.0
        return {"images": img, "heatmaps": torch.from_numpy(self.heatmaps[i]),
                "visible": torch.from_numpy(self.visible[i]),
                "affines": torch.from_numpy(self.affines[i]), "index": i}

    def __repr__(self) -> str:
        return (f"RenderedPoseDataset(frames={len(self)}, views={self.n_views}, "
                f"scene_sets={len(self.scenes)}, input={self.size}, heatmaps={self.heatmap_size}, "
                f"visible={100 * self.visible.mean():.1f}%, synthetic)")


def make_dataset(n_frames: int, seed: int, scene_sets: int = 4, rig: str = "h36m",
                 input_size: int = 64, heatmap_size: int = 16, sigma: float = 1.0,
                 subjects_per_set: int = 2, fps: float = 1.0,
                 progress: bool = False) -> RenderedPoseDataset:
    """Rendered synthetic frames split over ``scene_sets`` scene sets.

    Every scene set has its own seed (derived from ``seed``), hence its own subjects,
    occluder layout, room and lighting; ``fps`` sets how far apart consecutive frames
    are in time (1 frame per second gives varied poses).
    """
    if scene_sets < 1 or n_frames < scene_sets:
        raise ValueError(f"need n_frames >= scene_sets >= 1, got {n_frames} and {scene_sets}")
    cams = load_rig(rig)
    counts = np.diff(np.linspace(0, n_frames, scene_sets + 1).round().astype(int))
    seeds = np.random.SeedSequence(seed).generate_state(scene_sets)
    parts = [make_scenes(int(n), cams, seed=int(s), heatmap_size=(heatmap_size, heatmap_size),
                         sigma=sigma, n_subjects=subjects_per_set, fps=fps)
             for n, s in zip(counts, seeds)]
    return RenderedPoseDataset(parts, size=(input_size, input_size), progress=progress)


# ---------------------------------------------------------------------- training
def seed_everything(seed: int) -> torch.Generator:
    """Seed torch (CPU and CUDA: weight initialisation) and return a generator for shuffling.

    NumPy needs no seeding here: everything random in the data comes from explicit,
    seeded generators (:mod:`crossview.synth`, :mod:`crossview.render`).
    """
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def heatmap_loss(pred, target):
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
    """Fit a :class:`crossview.fusion.LearnedFusion` layer on fixed single-view heatmaps.

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


# ---------------------------------------------------------------------- inference
@torch.no_grad()
def predict(model: nn.Module, data: RenderedPoseDataset | np.ndarray, batch_frames: int = 32,
            device: str | torch.device | None = None) -> np.ndarray:
    """Single-view heatmaps ``(N, V, J, h, w)`` float32 for a dataset, or for images
    ``(N, V, 3, H, W)`` float in [0, 1] (``(N, V, H, W, 3)`` uint8 is accepted too).

    Runs on ``device`` (the model is moved there), by default where the model is.
    """
    model.eval()
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    model.to(device)
    if isinstance(data, RenderedPoseDataset):
        images = data.images
    else:
        images = np.asarray(data)
    out = []
    for s in range(0, len(images), batch_frames):
        x = torch.from_numpy(np.ascontiguousarray(images[s:s + batch_frames]))
        if x.dtype == torch.uint8:
            x = x.permute(0, 1, 4, 2, 3).float() / 255.0
        out.append(model(x.to(device).float()).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def fuse(heatmaps: np.ndarray, data: RenderedPoseDataset, method: str,
         layer: nn.Module | None = None, self_weight: float = 0.5,
         batch_frames: int = 64) -> np.ndarray:
    """Fused heatmaps ``(N, V, J, h, w)``: ``method`` ``"analytic"`` (epipolar fusion with
    each frame's own crop affines) or ``"learned"`` (the given :class:`LearnedFusion`)."""
    from .fusion import epipolar_fusion

    if method == "analytic":
        return np.asarray(epipolar_fusion(heatmaps, data.cameras, data.affines,
                                          self_weight=self_weight), dtype=np.float32)
    if method == "learned":
        if layer is None:
            raise ValueError('method="learned" needs the fusion layer')
        device = next(layer.parameters()).device
        with torch.no_grad():
            parts = [layer(torch.from_numpy(heatmaps[s:s + batch_frames]).to(device)).cpu().numpy()
                     for s in range(0, len(heatmaps), batch_frames)]
        return np.concatenate(parts).astype(np.float32)
    raise ValueError(f"method must be 'analytic' or 'learned', got {method!r}")


def heatmap_joints(heatmaps: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Image-pixel joints ``(N, V, J, 2)`` from heatmaps ``(N, V, J, h, w)`` (sub-pixel peaks)."""
    peaks, _ = find_peaks(heatmaps)
    return heatmap_to_image(peaks, affines)


def jdr_breakdown(heatmaps: np.ndarray, data: RenderedPoseDataset) -> dict:
    """JDR (%) of heatmaps on a dataset, for all joints and split by visibility.

    Keys: ``all``, ``visible``, ``occluded`` (hidden by the body or an object),
    ``self`` (by the body), ``object`` (by an occluder); the paper's threshold of
    half a head size (the head size is a tenth of the crop width).
    """
    pred = heatmap_joints(heatmaps, data.affines)
    occ = data.occlusion
    masks = {"all": None, "visible": occ == 0, "occluded": (occ == 1) | (occ == 2),
             "self": occ == 1, "object": occ == 2}
    return {k: jdr(pred, data.joints2d, data.head_sizes, mask=m) for k, m in masks.items()}


# ---------------------------------------------------------------------- saving and loading
@dataclass
class Pose2D:
    """Trained weights and what they were made with (see :func:`load_pose2d`).

    ``analytic_self_weight`` is the own-view weight of the analytic fusion that did
    best on the validation frames.
    """

    backbone: PoseNet
    fusion: nn.Module | None
    config: TrainConfig
    history: dict
    metrics: dict
    analytic_self_weight: float = 0.5


def _half(state: dict) -> dict:
    # float16 halves the file; the weights are used in float32 after loading
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
            for k, v in state.items()}


def save_pose2d(path: str | Path, pose: Pose2D) -> Path:
    """Write weights (float16), settings, loss curve and metrics to a ``torch.save`` file
    that loads with ``weights_only=True`` (plain tensors, numbers, strings, lists, dicts)."""
    path = Path(path)
    payload = {"format": _FORMAT, "config": pose.config.to_dict(), "history": pose.history,
               "metrics": pose.metrics, "analytic_self_weight": float(pose.analytic_self_weight),
               "backbone": _half(pose.backbone.state_dict()),
               "fusion": None if pose.fusion is None else _half(pose.fusion.state_dict())}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_pose2d(path: str | Path | None = None, device: str | torch.device = "cpu") -> Pose2D:
    """Load weights written by :func:`save_pose2d` (default: the shipped ones,
    ``data/pose2d_h36m.pt``), with ``torch.load(..., weights_only=True)``."""
    path = PRETRAINED if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights at {path}; make them with `python -m crossview train`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a crossview 2D pose weights file ({_FORMAT})")
    config = TrainConfig.from_dict(state["config"])
    backbone = PoseNet(widths=config.widths)
    backbone.load_state_dict({k: v.float() if v.is_floating_point() else v
                              for k, v in state["backbone"].items()})
    fusion = None
    if state["fusion"] is not None:
        from .fusion import LearnedFusion

        V = len(load_rig(config.rig))
        fusion = LearnedFusion(V, (config.heatmap_size,) * 2, self_weight=config.self_weight)
        fusion.load_state_dict({k: v.float() for k, v in state["fusion"].items()})
        fusion.to(device).eval()
    backbone.to(device).eval()
    return Pose2D(backbone, fusion, config, state["history"], state["metrics"],
                  float(state.get("analytic_self_weight", 0.5)))


# ---------------------------------------------------------------------- the whole recipe
def evaluation_data(n_frames: int = 200, config: TrainConfig | None = None,
                    seed: int = EVAL_SEED, progress: bool = False) -> RenderedPoseDataset:
    """The held-out frames the weights are reported on: subjects, occluder layouts,
    rooms and lighting that neither training nor validation saw."""
    c = config or TrainConfig()
    return make_dataset(n_frames, seed, scene_sets=2, rig=c.rig, input_size=c.input_size,
                        heatmap_size=c.heatmap_size, sigma=c.sigma, progress=progress)


def evaluate(pose: Pose2D, data: RenderedPoseDataset, heatmaps: np.ndarray | None = None,
             ) -> dict:
    """JDR breakdowns (see :func:`jdr_breakdown`) of single-view, analytically fused and
    (when the model has a fusion layer) learned-fused heatmaps on ``data``:
    ``{"single": ..., "analytic": ..., "learned": ...}``."""
    hm = predict(pose.backbone, data) if heatmaps is None else heatmaps
    out = {"single": jdr_breakdown(hm, data),
           "analytic": jdr_breakdown(fuse(hm, data, "analytic",
                                          self_weight=pose.analytic_self_weight), data)}
    if pose.fusion is not None:
        out["learned"] = jdr_breakdown(fuse(hm, data, "learned", pose.fusion), data)
    return out


def choose_self_weight(heatmaps: np.ndarray, data: RenderedPoseDataset,
                       candidates: Sequence[float]) -> tuple[float, dict]:
    """The analytic fusion's own-view weight with the best JDR on ``data`` (validation
    frames), and the JDR of every candidate."""
    scores = {float(w): jdr_breakdown(fuse(heatmaps, data, "analytic", self_weight=w),
                                      data)["all"] for w in candidates}
    return max(scores, key=scores.get), scores


def train_pose2d(config: TrainConfig, out: str | Path | None = None,
                 device: str | torch.device | None = None, checkpoint: str | Path | None = None,
                 progress: bool = True, log: Callable[[str], None] = print) -> Pose2D:
    """The recipe of the shipped weights: render, train the network, fit the learned
    fusion on its frozen outputs, choose the analytic fusion's own-view weight on the
    validation frames, evaluate on held-out frames, save.

    ``device`` defaults to CUDA when present. Returns the trained :class:`Pose2D`.
    """
    from .fusion import LearnedFusion

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


def jdr_table_rows(metrics: dict) -> list[list]:
    """Rows ``[method, all, visible, occluded]`` of a dict of JDR breakdowns (for tables);
    entries that are not breakdowns (such as the ``seconds`` of :attr:`Pose2D.metrics`)
    are left out."""
    names = {"single": "single view", "analytic": "fused (analytic)",
             "learned": "fused (learned)"}
    return [[names.get(k, k), v["all"], v["visible"], v["occluded"]]
            for k, v in metrics.items() if isinstance(v, dict)]
