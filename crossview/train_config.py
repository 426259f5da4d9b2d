"""The settings of the 2D network's training recipe (``python -m crossview train``).

Kept apart from :mod:`crossview.nets` so that reading them (the command line does, for
its defaults) does not import torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TrainConfig:
    """Everything that determines the trained weights (printed by ``train``, stored with them)."""

    rig: str = "h36m"
    train_frames: int = 3200          #: rendered frames (x views = training crops)
    scene_sets: int = 8               #: occluder layouts / rooms among the training frames
    val_frames: int = 200             #: frames of the validation set, evaluated every epoch
    eval_frames: int = 200            #: held-out frames (seed EVAL_SEED) of the final report
    input_size: int = 64              #: crop side (px)
    heatmap_size: int = 16            #: heatmap side (px); stride 4
    sigma: float = 1.0                #: Gaussian of the target heatmaps (heatmap px)
    widths: tuple[int, ...] = (32, 64, 128, 128)
    epochs: int = 20
    batch_frames: int = 16            #: frames per step (x views = crops per step)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    fusion_epochs: int = 8
    fusion_lr: float = 2e-3
    self_weight: float = 0.5          #: weight of a view's own heatmap in the learned fusion
    #: candidate own-view weights of the analytic fusion, chosen on the validation frames
    analytic_self_weights: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    seed: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["analytic_self_weights"] = list(self.analytic_self_weights)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        for k in ("widths", "analytic_self_weights"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)
