"""Saving and loading trained weights: :class:`Pose2D` and the file format of
:func:`save_pose2d` / :func:`load_pose2d` (``torch.save`` of plain tensors, numbers,
strings, lists and dicts, loadable with ``weights_only=True``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..camera import load_rig
from ..paths import DATA_DIR
from .config import TrainConfig
from .model import PoseNet

#: The weights shipped with the book (made by ``python -m crossview train``).
PRETRAINED = DATA_DIR / "pose2d_h36m.pt"
_FORMAT = "crossview.pose2d/1"


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
        from ..learned_fusion import LearnedFusion

        V = len(load_rig(config.rig))
        fusion = LearnedFusion(V, (config.heatmap_size,) * 2, self_weight=config.self_weight)
        fusion.load_state_dict({k: v.float() for k, v in state["fusion"].items()})
        fusion.to(device).eval()
    backbone.to(device).eval()
    return Pose2D(backbone, fusion, config, state["history"], state["metrics"],
                  float(state.get("analytic_self_weight", 0.5)))
