"""Evaluation of the 3D methods: MPJPE of DLT, robust DLT, PSM and RPSM on heatmaps with
known 3D truth.

The core, :func:`evaluate`, takes heatmaps, cameras, affines and ground-truth poses and
does not care where they come from: seeded synthetic scenes (:func:`crossview.make_scenes`),
Human3.6M frames (:func:`crossview.datasets.h36m.load_h36m`) with heatmaps rendered from
their annotated 2D joints when sliced (:class:`RenderedHeatmaps`), or a file of a network's
outputs. :func:`estimate` runs one method on a batch of frames. ``python -m crossview
evaluate`` (:mod:`crossview.commands.evaluate`) is the command line around them, and the
book's chapters 7 and 8 call them directly.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .camera import rig_groups
from .skeleton import SKELETON, LimbLengthPrior

METHODS = ("dlt", "robust-dlt", "psm", "rpsm")
"""``dlt``: confidence-weighted DLT of each view's heatmap peak; ``robust-dlt``: the same
with view-pair search (:func:`crossview.triangulate_robust`); ``psm``: the pictorial
structure model on one grid around the robustly triangulated root; ``rpsm``: its
recursive refinement."""

#: Robust triangulation leaves out views more than this many heatmap pixels off.
ROBUST_THRESHOLD_HM_PX = 5.0


def estimate(method: str, heatmaps: np.ndarray, cameras, affines: np.ndarray, *,
             center: np.ndarray | None = None, limb_lengths=None,
             n_bins: int = 16, depth: int = 10, cube_size: float = 2000.0,
             tolerance: float = 150.0, backend: str | None = None, batch: int = 16,
             refine_bins: int = 2, progress=None) -> np.ndarray:
    """3D poses ``(F, J, 3)`` (mm) of frames ``(F, V, J, H, W)`` by ``method`` (:data:`METHODS`).

    ``affines`` ``(F, V, 2, 3)`` or ``(V, 2, 3)``; ``center`` ``(F, 3)`` and ``limb_lengths``
    (``(F, J)`` mm, or one :class:`~crossview.skeleton.LimbLengthPrior` for all frames) are
    optional (the methods estimate or assume them otherwise). Frames go
    through in batches of ``batch``; ``progress`` (a tqdm bar) is advanced per batch.
    ``refine_bins`` is RPSM's candidate points per axis in a refinement stage (2 or 3; see
    :func:`crossview.rpsm`).
    """
    from ._validate import check_int
    from .rpsm import peak_observations, rpsm
    from .triangulate import triangulate, triangulate_robust

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    batch = check_int(batch, "batch", 1)
    heatmaps = np.asarray(heatmaps)
    F = heatmaps.shape[0]
    A = np.broadcast_to(np.asarray(affines, dtype=np.float64), (F, *np.shape(affines)[-3:]))
    out = np.empty((F, heatmaps.shape[2], 3))
    for lo in range(0, F, batch):
        sl = slice(lo, min(F, lo + batch))
        hm = heatmaps[sl]
        if method in ("dlt", "robust-dlt"):
            uv, conf, px = peak_observations(hm.astype(np.float64), A[sl])
            if method == "dlt":
                out[sl] = triangulate(uv, cameras, conf)
            else:
                out[sl] = triangulate_robust(uv, cameras, conf,
                                             threshold_px=ROBUST_THRESHOLD_HM_PX * px)
        else:
            # PSM is RPSM's first stage alone (depth 0); both triangulate the root without center
            lengths = (limb_lengths if limb_lengths is None
                       or isinstance(limb_lengths, LimbLengthPrior) else limb_lengths[sl])
            out[sl] = rpsm(hm, cameras, A[sl], center=None if center is None else center[sl],
                           limb_lengths=lengths, n_bins=n_bins,
                           depth=0 if method == "psm" else depth, cube_size=cube_size,
                           tolerance=tolerance, backend=backend, refine_bins=refine_bins)
        if progress is not None:
            progress.update(hm.shape[0])
    return out


def _take(heatmaps, idx: np.ndarray) -> np.ndarray:
    """Frames ``idx`` of an array or array-like (memory map, h5py dataset, lazy renderer)."""
    if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return np.asarray(heatmaps[int(idx[0]):int(idx[0]) + len(idx)])
    return np.asarray(heatmaps[idx])


def evaluate(heatmaps, cameras, affines: np.ndarray, joints3d: np.ndarray,
             methods: Sequence[str] = ("rpsm",), *, gt_root: bool = False,
             limb_lengths=None, subjects: np.ndarray | None = None,
             show_progress: bool = False, chunk: int = 256, **settings) -> dict:
    """MPJPE of each method on the same frames.

    ``heatmaps`` ``(F, V, J, H, W)`` is an array or anything with ``shape`` and slicing
    along frames (``np.load(..., mmap_mode="r")``, an h5py dataset), read ``chunk`` frames
    at a time. ``cameras`` is one rig for all frames or one rig per frame (see
    :func:`crossview.camera.rig_groups`); ``affines`` ``(F, V, 2, 3)`` or ``(V, 2, 3)``.
    ``joints3d`` ``(F, J, 3)`` is the truth; ``gt_root`` gives PSM/RPSM the true root as the grid
    centre. ``limb_lengths`` replaces the skeleton prior of PSM and RPSM: ``(F, J)`` mm (e.g.
    the true ones), a :class:`~crossview.skeleton.LimbLengthPrior` (e.g. fitted to training
    poses), or ``"estimate"``: each subject's lengths measured from the heatmaps of all its
    frames (:func:`crossview.estimate_limb_lengths`), with ``subjects`` ``(F,)`` saying which
    frames show whom (default: all frames one subject).
    Other keywords go to :func:`estimate`. Returns, per method, the mean, median and
    90th percentile joint error (mm), the per-joint mean, and the time per frame spent
    in the method (reading the heatmaps excluded); with ``"estimate"`` also
    ``"limb_estimates"``: per subject, the estimated lengths and the seconds it took.
    """
    from tqdm.auto import tqdm

    from ._validate import check_int
    from .metrics import joint_errors

    joints3d = np.asarray(joints3d, dtype=np.float64)
    F = len(joints3d)
    if not hasattr(heatmaps, "shape"):
        heatmaps = np.asarray(heatmaps)
    if len(heatmaps.shape) != 5 or heatmaps.shape[0] != F:
        raise ValueError(f"heatmaps must have shape ({F}, V, J, H, W) to match joints3d, got "
                         f"{tuple(heatmaps.shape)}")
    chunk = check_int(chunk, "chunk", 1)
    A = np.asarray(affines, dtype=np.float64)
    A = np.broadcast_to(A, (F, *A.shape[-3:])) if A.ndim == 3 else A
    groups = rig_groups(cameras, F)
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {m!r}")
    preds = {m: np.full((F, SKELETON.n_joints, 3), np.nan) for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    who = np.zeros(F, np.int64) if subjects is None else np.asarray(subjects)
    if len(who) != F:
        raise ValueError(f"subjects must have one entry per frame ({F}), got {len(who)}")
    per_subject = None
    if isinstance(limb_lengths, str):
        if limb_lengths != "estimate":
            raise ValueError(f"limb_lengths must be an array, a LimbLengthPrior, None or "
                             f"'estimate', got {limb_lengths!r}")
        per_subject = _estimate_per_subject(heatmaps, groups, A, who, chunk, show_progress)
    bar = tqdm(total=F * len(methods), desc=" ".join(methods), unit="frame", file=sys.stderr,
               disable=not show_progress, leave=False)
    for idx, rig in groups:
        for lo in range(0, len(idx), chunk):
            sel = idx[lo:lo + chunk]
            hm = _take(heatmaps, sel)
            parts = ([(np.ones(len(sel), bool), limb_lengths)] if per_subject is None else
                     [(who[sel] == s, per_subject[s]["prior"]) for s in np.unique(who[sel])])
            for keep, limbs in parts:
                if not isinstance(limbs, LimbLengthPrior) and limbs is not None:
                    limbs = np.asarray(limbs)[sel[keep]]
                for method in methods:
                    t0 = time.perf_counter()
                    preds[method][sel[keep]] = estimate(
                        method, hm[keep], rig, A[sel[keep]],
                        center=joints3d[sel[keep], 0] if gt_root else None,
                        limb_lengths=limbs, progress=bar, **settings)
                    seconds[method] += time.perf_counter() - t0
    bar.close()
    results = {}
    for method in methods:
        err = joint_errors(preds[method], joints3d)
        err = np.where(np.isfinite(err), err, np.inf)
        results[method] = {
            "mpjpe": float(err.mean()), "median": float(np.median(err)),
            "p90": float(np.percentile(err, 90)),
            "per_joint": dict(zip(SKELETON.names, err.mean(0).tolist())),
            "frames": len(err), "ms_per_frame": 1e3 * seconds[method] / len(err),
        }
    if per_subject is not None:
        results["limb_estimates"] = {
            str(s): {"limb_lengths": dict(zip(SKELETON.names[1:], e["prior"].mean[1:].tolist())),
                     "frames": e["frames"], "seconds": e["seconds"]}
            for s, e in per_subject.items()}
    return results


def _estimate_per_subject(heatmaps, groups, A: np.ndarray, who: np.ndarray, chunk: int,
                          show_progress: bool) -> dict:
    """``{subject: {"prior", "frames", "seconds"}}``: each subject's limb lengths measured
    from the heatmaps of all its frames (:func:`crossview.estimate_limb_lengths`, computed
    chunk by chunk so that lazy heatmaps are read once)."""
    from tqdm.auto import tqdm

    from .limbs import confident_joints, limb_lengths_from_joints
    from .rpsm import peak_observations

    t0 = time.perf_counter()
    X = np.full((len(who), SKELETON.n_joints, 3), np.nan)
    bar = tqdm(total=len(who), desc="limb lengths", unit="frame", file=sys.stderr,
               disable=not show_progress, leave=False)
    for idx, rig in groups:
        for lo in range(0, len(idx), chunk):
            sel = idx[lo:lo + chunk]
            uv, conf, px = peak_observations(_take(heatmaps, sel).astype(np.float64), A[sel])
            X[sel] = confident_joints(uv, conf, rig, threshold_px=ROBUST_THRESHOLD_HM_PX * px)
            bar.update(len(sel))
    bar.close()
    shared = (time.perf_counter() - t0) / len(who)
    out = {}
    for s in np.unique(who):
        frames = who == s
        out[s.item()] = {"prior": limb_lengths_from_joints(X[frames]),
                         "frames": int(frames.sum()), "seconds": shared * int(frames.sum())}
    return out


class RenderedHeatmaps:
    """Ground-truth heatmaps of :class:`~crossview.datasets.H36MFrames`, rendered when sliced.

    Behaves like a read-only ``(F, V, J, H, W)`` array for :func:`evaluate`, so a whole
    validation set never sits in memory at once.
    """

    def __init__(self, frames, heatmap_size, sigma: float, seed: int, official: bool,
                 **corruption):
        self.frames, self.size, self.sigma, self.seed = frames, tuple(heatmap_size), sigma, seed
        self.official, self.corruption = official, corruption
        self.shape = (frames.n_frames, frames.n_views, frames.joints2d.shape[2], *self.size)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        return self.frames.render_heatmaps(self.size, self.sigma, frames=key, seed=self.seed,
                                           official=self.official, **self.corruption)


def load_prior(path: str | Path) -> LimbLengthPrior:
    """A limb-length prior from ``path``: JSON written from :meth:`LimbLengthPrior.to_dict`,
    or fitted to the poses of an H36M-Toolbox annotation pickle (its 3D truth, every 5th
    complete frame, as the paper's code groups its training split)."""
    from .datasets.h36m import load_h36m

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    if path.suffix.lower() == ".json":
        try:
            return LimbLengthPrior.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a limb-length prior written by "
                             f"LimbLengthPrior.to_dict ({exc})") from None
    frames = load_h36m(path, every=5)
    return LimbLengthPrior.fit(frames.joints3d, source=f"fitted to {path.name}")
