"""The settings of the 2D network's training recipe (``python -m crossview train``).

This module does not import torch (nor does importing :mod:`crossview.nets` itself), so
that the command line reads the defaults without loading it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from .._validate import check_int, check_positive

#: The least value of each integer setting that still trains and evaluates a network:
#: no epoch leaves the random weights, and the validation and held-out sets are rendered
#: as two scene sets of at least one frame each (:func:`crossview.nets.make_dataset`).
INT_MINIMUM = {"train_frames": 1, "scene_sets": 1, "val_frames": 2, "eval_frames": 2,
               "epochs": 1, "batch_frames": 1, "fusion_epochs": 1, "seed": 0}
#: Settings that must be finite and strictly positive.
POSITIVE = ("lr", "fusion_lr", "sigma")


def check_settings(values: Mapping[str, object],
                   names: Mapping[str, str] | None = None) -> None:
    """Raise ``ValueError`` (``TypeError`` for a wrong type) unless the settings can train a
    network: each integer at least its :data:`INT_MINIMUM`, learning rates and ``sigma``
    finite and positive, ``weight_decay`` finite and >= 0, and no more scene sets and no
    larger batch than there are training frames (a batch is only ever taken whole, so a
    larger one would give no training step at all).

    ``values`` maps some of :class:`TrainConfig`'s field names to values (the others are
    not checked); ``names`` says what to call a field in the message (the command line
    passes its option names), the field's own name by default.
    """
    names = names or {}

    def name(key: str) -> str:
        return names.get(key, key)

    for key, low in INT_MINIMUM.items():
        if key in values:
            check_int(values[key], name(key), low)
    for key in POSITIVE:
        if key in values:
            check_positive(values[key], name(key))
    if "weight_decay" in values:
        decay = values["weight_decay"]
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real) \
                or not math.isfinite(decay) or decay < 0:
            raise ValueError(f"{name('weight_decay')} must be a finite number >= 0, got "
                             f"{decay!r}")
    frames = values.get("train_frames")
    for key in ("scene_sets", "batch_frames"):
        if frames is not None and values.get(key) is not None and values[key] > frames:
            raise ValueError(f"{name(key)} must be at most {name('train_frames')} "
                             f"({frames}), got {values[key]}")


@dataclass
class TrainConfig:
    """Everything that determines the trained weights (printed by ``train``, stored with them).

    Settings that cannot give a trained network (no epoch, a batch larger than the
    training set, a learning rate of zero...) are refused with :func:`check_settings`.
    """

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

    def __post_init__(self) -> None:
        check_settings({f.name: getattr(self, f.name) for f in fields(self)})

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
