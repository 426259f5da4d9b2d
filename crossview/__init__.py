"""crossview: Cross View Fusion for 3D Human Pose Estimation (Qiu et al., ICCV 2019).

A thin library behind an executable book. Units are millimetres and pixels; the
world frame has ``z`` up. Arrays may be NumPy arrays or torch tensors, and
functions return the kind they were given.

>>> import crossview as cv
>>> cams = cv.load_rig("h36m")
>>> scenes = cv.make_scenes(10, cams, seed=0)
>>> uv = cams[0].project(scenes.joints3d[0])      # (17, 2) pixels
"""

from __future__ import annotations

import importlib

from .camera import Camera, list_rigs, load_rig, ring_rig
from .heatmap import (
    apply_affine,
    bounding_box,
    crop_affine,
    find_peaks,
    heatmap_to_image,
    image_to_heatmap,
    invert_affine,
    render_heatmaps,
)
from .limbs import estimate_limb_lengths
from .metrics import jdr, mpjpe
from .psm import psm, root_center
from .rpsm import RPSMResult, rpsm, rpsm_detailed
from .skeleton import LIMB_PRIOR, SKELETON, LimbLengthPrior
from .synth import Scenes, make_scenes
from .triangulate import Triangulation, triangulate, triangulate_detailed, triangulate_robust

__version__ = "0.1.0"

# Names that live in modules with heavier imports (torch, numba) load on first use.
_LAZY = {
    "fundamental_matrix": "epipolar",
    "epipolar_fusion": "fusion",
    "LearnedFusion": "learned_fusion",
}
# triangulate, psm and rpsm are imported above, not lazily: each shares its module's
# name, and importing a submodule rebinds the package attribute to the module.

_SUBMODULES = {"camera", "heatmap", "metrics", "skeleton", "synth", "viz", "epipolar", "fusion",
               "triangulate", "psm", "rpsm", "kernels", "nets", "render", "datasets", "bench",
               "cli", "people", "limbs", "sampler", "learned_fusion", "body", "evaluation",
               "tables"}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'crossview' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    "Camera", "load_rig", "ring_rig", "list_rigs", "SKELETON", "LIMB_PRIOR", "LimbLengthPrior",
    "estimate_limb_lengths", "Scenes",
    "make_scenes", "render_heatmaps", "crop_affine", "bounding_box", "apply_affine",
    "invert_affine", "image_to_heatmap", "heatmap_to_image", "find_peaks", "mpjpe", "jdr",
    "triangulate", "triangulate_robust", "triangulate_detailed", "Triangulation", "psm",
    "rpsm", "rpsm_detailed", "RPSMResult", "root_center",
    *_LAZY,
]
