"""Rendered synthetic frames as a torch dataset: :class:`RenderedPoseDataset`, the seeded
sets of :func:`make_dataset` and the held-out frames of :func:`evaluation_data`.

Everything the network sees is **synthetic** (see :mod:`crossview.render`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..camera import Camera, load_rig
from ..render import Renders, render_views
from ..synth import Scenes, make_scenes
from .config import TrainConfig

#: Seed of the held-out evaluation scenes that the chapter and ``train`` report on.
EVAL_SEED = 2019


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


def evaluation_data(n_frames: int = 200, config: TrainConfig | None = None,
                    seed: int = EVAL_SEED, progress: bool = False) -> RenderedPoseDataset:
    """The held-out frames the weights are reported on: subjects, occluder layouts,
    rooms and lighting that neither training nor validation saw."""
    c = config or TrainConfig()
    return make_dataset(n_frames, seed, scene_sets=2, rig=c.rig, input_size=c.input_size,
                        heatmap_size=c.heatmap_size, sigma=c.sigma, progress=progress)
