"""A small 2D pose network on rendered multi-view crops, with cross-view fusion heads.

One module per purpose:

* :mod:`~crossview.nets.model`: :class:`PoseNet`, a compact fully convolutional
  encoder-decoder (hourglass style, about a million weights): an RGB crop
  ``(3, 64, 64)`` -> 17 joint heatmaps ``(17, 16, 16)``, the paper's output stride of 4
  at a quarter of its resolution; :class:`MultiViewPoseNet`, the network applied to every
  view of a frame, followed by an optional fusion head: the learned fully connected
  layer (:class:`crossview.learned_fusion.LearnedFusion`) or the analytic epipolar fusion
  (:func:`crossview.fusion.epipolar_fusion`).
* :mod:`~crossview.nets.data`: :class:`RenderedPoseDataset`, a
  ``torch.utils.data.Dataset`` of rendered synthetic frames (all views of one frame per
  item) with their ground-truth heatmaps; :func:`make_dataset`, :func:`evaluation_data`.
* :mod:`~crossview.nets.training`: :func:`train_backbone`, :func:`train_fusion`, seeded
  training loops with a progress bar, checkpoints and a loss curve; :func:`train_pose2d`
  runs the whole recipe behind ``python -m crossview train`` and the weights shipped in
  ``data/``, with the settings of :mod:`~crossview.nets.config` (:class:`TrainConfig`).
* :mod:`~crossview.nets.inference`: :func:`predict`, :func:`fuse`, :func:`jdr_breakdown`:
  inference and the paper's JDR metric split into all, visible and occluded joints.
* :mod:`~crossview.nets.weights`: :class:`Pose2D`, :func:`save_pose2d`,
  :func:`load_pose2d` and the shipped weights, :data:`PRETRAINED`.

Every public name is available here (``nets.load_pose2d()``); each loads its module on
first use, so that ``import crossview.nets`` and :mod:`~crossview.nets.config` do not
import torch (the command line reads the training defaults without it).

Everything the network sees is **synthetic** (see :mod:`crossview.render`).
"""

from __future__ import annotations

import importlib

#: The module of each public name.
_NAMES = {
    "TrainConfig": "config", "check_settings": "config",
    "PoseNet": "model", "ResidualBlock": "model", "MultiViewPoseNet": "model",
    "count_parameters": "model",
    "RenderedPoseDataset": "data", "make_dataset": "data", "evaluation_data": "data",
    "EVAL_SEED": "data",
    "seed_everything": "training", "heatmap_loss": "training", "History": "training",
    "train_backbone": "training", "train_fusion": "training", "train_pose2d": "training",
    "predict": "inference", "fuse": "inference", "heatmap_joints": "inference",
    "jdr_breakdown": "inference", "evaluate": "inference", "choose_self_weight": "inference",
    "jdr_table_rows": "inference",
    "Pose2D": "weights", "save_pose2d": "weights", "load_pose2d": "weights",
    "PRETRAINED": "weights",
}
_SUBMODULES = {"config", "model", "data", "training", "inference", "weights"}


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value          # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'crossview.nets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES) | _SUBMODULES)


__all__ = sorted(_NAMES)
