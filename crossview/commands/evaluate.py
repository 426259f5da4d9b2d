"""``python -m crossview evaluate``: MPJPE of a 3D pose method on heatmaps with known 3D truth.

The core, :func:`evaluate`, takes heatmaps, cameras, affines and ground-truth poses
and does not care where they come from; the command feeds it seeded synthetic
scenes (or a file written by ``python -m crossview synth``), or Human3.6M frames
(``--h36m h36m_validation.pkl``) with heatmaps rendered from their annotated 2D joints
or read from a file of a network's outputs (``--heatmaps``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from ..camera import rig_groups
from ..skeleton import SKELETON, LimbLengthPrior
from ..tables import add_json_flag, emit_json, format_table

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
             tolerance: float = 150.0, backend: str = "numpy", batch: int = 16,
             refine_bins: int = 2, progress=None) -> np.ndarray:
    """3D poses ``(F, J, 3)`` (mm) of frames ``(F, V, J, H, W)`` by ``method`` (:data:`METHODS`).

    ``affines`` ``(F, V, 2, 3)`` or ``(V, 2, 3)``; ``center`` ``(F, 3)`` and ``limb_lengths``
    (``(F, J)`` mm, or one :class:`~crossview.skeleton.LimbLengthPrior` for all frames) are
    optional (the methods estimate or assume them otherwise). Frames go
    through in batches of ``batch``; ``progress`` (a tqdm bar) is advanced per batch.
    ``refine_bins`` is RPSM's candidate points per axis in a refinement stage (2 or 3; see
    :func:`crossview.rpsm`).
    """
    from .._validate import check_int
    from ..rpsm import peak_observations, rpsm
    from ..triangulate import triangulate, triangulate_robust

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
                                             threshold=ROBUST_THRESHOLD_HM_PX * px)
        else:
            # PSM is RPSM's first stage alone (depth 0); both triangulate the root without center
            lengths = (limb_lengths if limb_lengths is None
                       or isinstance(limb_lengths, LimbLengthPrior) else limb_lengths[sl])
            out[sl] = rpsm(hm, cameras, A[sl], None if center is None else center[sl],
                           lengths, n_bins=n_bins,
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

    from .._validate import check_int
    from ..metrics import joint_errors

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

    from ..limbs import confident_joints, limb_lengths_from_joints
    from ..rpsm import peak_observations

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


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="MPJPE of DLT, robust DLT, PSM or RPSM on synthetic or Human3.6M frames",
        description="Estimate 3D poses from multi-view heatmaps with one or more methods and "
                    "report the mean per-joint position error (MPJPE, mm) against the truth. "
                    "The frames are seeded synthetic scenes, a file from 'crossview synth', or "
                    "Human3.6M annotations (--h36m) with heatmaps rendered from their 2D joints "
                    "or read from a file of a network's outputs (--heatmaps). PSM and RPSM "
                    "triangulate the root and use the skeleton's limb-length prior unless "
                    "--gt-root / --gt-limbs give them the truth.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--method", nargs="+", default=["rpsm"], choices=METHODS,
                   help="methods to evaluate on the same frames")
    data = p.add_argument_group("data (synthetic)")
    data.add_argument("--scenes", help="a .npz written by 'python -m crossview synth' "
                                       "(instead of generating frames)")
    data.add_argument("--frames", type=int, default=50, help="number of frames")
    data.add_argument("--seed", type=int, default=0,
                      help="seed of the synthetic scenes and of any heatmap corruption")
    data.add_argument("--rig", default="h36m", help="rig name ('h36m', 'ring') or a rig file")
    data.add_argument("--views", type=int, default=4, help="views of a 'ring' rig")
    data.add_argument("--subjects", nargs="+", default=None, metavar="S",
                      help="synthetic: how many subjects (one number, default 1); with --h36m: "
                           "the subjects to keep, e.g. 9 11 or S9 S11 (default all)")
    data.add_argument("--jitter", type=float, default=0.0, help="peak jitter (heatmap px, std)")
    data.add_argument("--false-peaks", type=float, default=0.0,
                      help="probability of a false second peak per view and joint")
    data.add_argument("--missing", type=float, default=0.0,
                      help="probability that a joint's heatmap is empty")
    h36m = p.add_argument_group("data (Human3.6M, from H36M-Toolbox)")
    h36m.add_argument("--h36m", metavar="PATH",
                      help="an annotation pickle such as h36m_validation.pkl")
    h36m.add_argument("--every", type=int, default=64,
                      help="keep every N-th complete frame of the whole file, in file order, "
                           "before --subjects/--actions choose among them: the paper's "
                           "validation frames (get_group()[::64] in its "
                           "lib/dataset/multiview_h36m.py)")
    h36m.add_argument("--stride-over", choices=["file", "selection"], default="file",
                      help="'file': --every counts over the whole file as the paper's code "
                           "does; 'selection': over the chosen subjects' and actions' frames, "
                           "sorted by subject, action, subaction and image")
    h36m.add_argument("--actions", nargs="+", type=int, default=None, metavar="A",
                      help="the actions to keep (default all)")
    h36m.add_argument("--universal", action="store_true",
                      help="score against joints_3d, the universal skeleton, instead of the "
                           "subject's own joints_3d_camera; the paper's code scores against "
                           "joints_3d_camera of the first view taken to the world "
                           "(run/pose3d/estimate.py since its commit e1211e3, 2019-11-05) "
                           "and against joints_3d before that commit")
    h36m.add_argument("--world-from", choices=["first", "mean"], default="first",
                      help="the 3D truth from view 0 (camera_id 0), as the paper's code, or "
                           "the mean of the views' joints in the world")
    h36m.add_argument("--official-focal", action="store_true",
                      help="project with one focal length (fx + fy) / 2 as the paper's code "
                           "does (lib/multiviews/cameras.py), instead of fx and fy apart; for "
                           "comparing with the paper's numbers")
    h36m.add_argument("--heatmaps", metavar="NPY",
                      help="a network's heatmaps (F, V, J, H, W) for the selected frames in "
                           "order, as .npy (default: render them from the 2D annotations; "
                           "--jitter, --false-peaks and --missing corrupt those)")
    h36m.add_argument("--official-crops", action="store_true",
                      help="heatmap pixels as the paper's code crops them (box centre at W/2, "
                           "H/2); use it for heatmaps of a network trained with that code")
    h36m.add_argument("--heatmap-size", nargs=2, type=int, default=[64, 64], metavar=("H", "W"),
                      help="size of rendered heatmaps")
    h36m.add_argument("--sigma", type=float, default=2.0,
                      help="Gaussian width of rendered heatmaps (heatmap px)")
    m = p.add_argument_group("PSM / RPSM")
    m.add_argument("--n-bins", type=int, default=16, help="grid size N of the (first) grid")
    m.add_argument("--depth", type=int, default=10, help="RPSM refinement stages")
    m.add_argument("--refine-bins", type=int, default=2, choices=(2, 3),
                   help="RPSM candidate points per axis in a refinement stage: 2, the paper's "
                        "2x2x2 corners, or 3, which adds the current estimate (27 candidates)")
    m.add_argument("--cube-size", type=float, default=2000.0, help="edge of the cube (mm)")
    m.add_argument("--tolerance", type=float, default=150.0, help="limb-length window (mm)")
    m.add_argument("--backend", default="numpy", choices=["naive", "numpy", "numba", "torch"])
    m.add_argument("--batch", type=int, default=16, help="frames per call")
    m.add_argument("--gt-root", action="store_true", help="centre the grid on the true root")
    limbs = m.add_mutually_exclusive_group()
    limbs.add_argument("--gt-limbs", action="store_true", help="use the true limb lengths")
    limbs.add_argument("--estimate-limbs", action="store_true",
                       help="measure each subject's limb lengths from the heatmaps of all its "
                            "evaluated frames (robust triangulation of confident joints, a "
                            "median per limb) instead of using a prior")
    limbs.add_argument("--prior-from", metavar="PATH",
                       help="a limb-length prior fitted to the poses of a training file (an "
                            "H36M-Toolbox pickle such as h36m_train.pkl, every 5th complete "
                            "frame as the paper's training grouping), or a prior saved as JSON "
                            "by LimbLengthPrior.to_dict; the paper's code builds its pairwise "
                            "terms from training data")
    p.add_argument("--verbose", action="store_true", help="also print the error per joint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_flag(p)
    p.set_defaults(func=run)


def _scenes(args):
    from ..camera import load_rig
    from ..synth import Scenes, make_scenes

    if args.scenes:
        try:
            s = Scenes.load(args.scenes)
        except ValueError as exc:           # Scenes.load says what the file is instead
            raise ValueError(f"--scenes {exc}") from None
        if s.heatmaps is None:
            raise ValueError(f"--scenes {args.scenes} holds no heatmaps (written with "
                             "--no-heatmaps)")
        return s, {"source": str(args.scenes), "synthetic": True, **{
            k: v for k, v in s.corruption.items() if not isinstance(v, np.ndarray)}}
    subjects = args.subjects or ["1"]
    if len(subjects) != 1 or not subjects[0].isdigit():
        raise ValueError("--subjects: synthetic data takes one number (how many subjects), got "
                         f"{' '.join(subjects)}")
    rig = load_rig("ring", n_views=args.views) if args.rig == "ring" else load_rig(args.rig)
    s = make_scenes(args.frames, rig, seed=args.seed, n_subjects=int(subjects[0]),
                    jitter=args.jitter, false_peak_prob=args.false_peaks,
                    missing_prob=args.missing)
    return s, {"source": "make_scenes", "synthetic": True, "rig": args.rig, "seed": args.seed,
               "jitter": args.jitter, "false_peak_prob": args.false_peaks,
               "missing_prob": args.missing}


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

    def __getitem__(self, key):
        return self.frames.render_heatmaps(self.size, self.sigma, frames=key, seed=self.seed,
                                           official=self.official, **self.corruption)


def _h36m(args):
    from ..datasets.h36m import load_h36m

    frames = load_h36m(args.h36m, subjects=args.subjects, actions=args.actions, every=args.every,
                       on_missing="drop", joints3d_key="joints_3d" if args.universal else None,
                       stride_over=args.stride_over, world_from=args.world_from,
                       focal="average" if args.official_focal else "separate")
    if args.heatmaps:
        heatmaps = np.load(args.heatmaps, mmap_mode="r", allow_pickle=False)
        want = (frames.n_frames, frames.n_views, SKELETON.n_joints)
        if heatmaps.ndim != 5 or heatmaps.shape[:3] != want:
            raise ValueError(f"--heatmaps must have shape ({want[0]}, {want[1]}, {want[2]}, H, W) "
                             f"for the {want[0]} selected frames, got {heatmaps.shape}")
        size = heatmaps.shape[3:]
        source = str(args.heatmaps)
    else:
        size = tuple(args.heatmap_size)
        heatmaps = RenderedHeatmaps(frames, size, args.sigma, args.seed, args.official_crops,
                                    jitter=args.jitter, false_peak_prob=args.false_peaks,
                                    missing_prob=args.missing)
        source = "rendered from the annotated 2D joints (ground truth)"
    data = {"source": "h36m", "path": str(args.h36m), "frames": frames.n_frames,
            "views": frames.n_views, "heatmap_size": list(size),
            "subjects": sorted({int(s) for s in frames.subject}), "every": args.every,
            "stride_over": args.stride_over, "dropped": frames.dropped,
            "joints3d": frames.joints3d_key, "world_from": frames.world_from,
            "focal": frames.focal, "heatmaps": source, "official_crops": args.official_crops}
    if not args.heatmaps:
        data.update(sigma=args.sigma, seed=args.seed, jitter=args.jitter,
                    false_peak_prob=args.false_peaks, missing_prob=args.missing)
    return (heatmaps, frames.cameras, frames.affines(size, official=args.official_crops),
            frames.joints3d, SKELETON.limb_lengths(frames.joints3d), data, frames.subject)


def _limb_source(args, true_lengths: np.ndarray):
    """What PSM and RPSM take as ``limb_lengths``, and a description of it for the output."""
    if args.gt_limbs:
        return true_lengths, {"source": "ground truth"}
    if args.estimate_limbs:
        return "estimate", {"source": "estimated per subject from the evaluated frames' "
                                      "heatmaps"}
    if args.prior_from:
        prior = load_prior(args.prior_from)
        return prior, {"source": f"prior from {args.prior_from}", "prior": prior.to_dict()}
    return None, {"source": "the skeleton's default prior (anthropometric)"}


def load_prior(path) -> LimbLengthPrior:
    """A limb-length prior from ``path``: JSON written from :meth:`LimbLengthPrior.to_dict`,
    or fitted to the poses of an H36M-Toolbox annotation pickle (its 3D truth, every 5th
    complete frame, as the paper's code groups its training split)."""
    import json
    from pathlib import Path

    from ..datasets.h36m import load_h36m

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--prior-from: no file at {path}")
    if path.suffix.lower() == ".json":
        try:
            return LimbLengthPrior.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"--prior-from {path} is not a limb-length prior written by "
                             f"LimbLengthPrior.to_dict ({exc})") from None
    frames = load_h36m(path, every=5)
    return LimbLengthPrior.fit(frames.joints3d, source=f"fitted to {path.name}")


def run(args) -> int:

    if args.h36m:
        heatmaps, cameras, affines, joints3d, limbs, data, subjects = _h36m(args)
    else:
        s, data = _scenes(args)
        data.update(frames=s.n_frames, views=s.n_views, heatmap_size=list(s.heatmap_size))
        heatmaps, cameras, affines, joints3d, limbs = (s.heatmaps, s.cameras, s.affines,
                                                       s.joints3d, s.limb_lengths)
        subjects = s.subject
    settings = dict(n_bins=args.n_bins, depth=args.depth, cube_size=args.cube_size,
                    tolerance=args.tolerance, backend=args.backend, batch=args.batch,
                    refine_bins=args.refine_bins)
    lengths, limbs_info = _limb_source(args, limbs)
    results = evaluate(heatmaps, cameras, affines, joints3d, args.method,
                       gt_root=args.gt_root, limb_lengths=lengths, subjects=subjects,
                       show_progress=not args.no_progress, **settings)
    estimates = results.pop("limb_estimates", None)
    if estimates is not None:
        limbs_info["per_subject"] = estimates
    if args.json:
        emit_json({"data": data, "settings": {**settings, "gt_root": args.gt_root,
                                              "gt_limbs": args.gt_limbs, "limbs": limbs_info},
                   "results": results})
        return 0
    H, W = data["heatmap_size"]
    if args.h36m:
        subjects = ", ".join(f"S{s}" for s in data["subjects"])
        every = (f"one complete frame in {args.every} of the "
                 f"{'whole file' if args.stride_over == 'file' else 'selection'}"
                 if args.every > 1 else "all complete frames")
        truth = (f"{data['joints3d']} of view 0" if data["world_from"] == "first"
                 else f"{data['joints3d']}, mean of the views")
        focal = "(fx + fy) / 2" if data["focal"] == "average" else "fx, fy"
        print(f"{data['frames']} Human3.6M frames x {data['views']} views from {data['path']} "
              f"(subjects {subjects}; {every}; "
              f"{data['dropped']} incomplete dropped); 3D truth: {truth}; focal: {focal}")
        print(f"heatmaps {H}x{W}: {data['heatmaps']}" + (
            "" if args.heatmaps else f", sigma {args.sigma}, jitter {args.jitter} px, false "
            f"peaks {100 * args.false_peaks:.0f}%, missing {100 * args.missing:.0f}%"))
    else:
        print(f"{data['frames']} synthetic frames x {data['views']} views "
              f"({data.get('rig', data['source'])}), heatmaps {H}x{W}, jitter "
              f"{data.get('jitter', 0)} px, false peaks "
              f"{100 * data.get('false_peak_prob', 0):.0f}%, missing "
              f"{100 * data.get('missing_prob', 0):.0f}%")
    truth = [name for name, on in (("root", args.gt_root), ("limb lengths", args.gt_limbs)) if on]
    print(f"ground truth given: {', '.join(truth) or 'none'}; PSM/RPSM: N={args.n_bins}, "
          f"depth={args.depth}, refine bins={args.refine_bins}, backend={args.backend}; "
          f"limb lengths: {limbs_info['source']}")
    rows = [(m, r["frames"], r["mpjpe"], r["median"], r["p90"], r["ms_per_frame"])
            for m, r in results.items()]
    print(format_table(rows, ["method", "frames", "MPJPE mm", "median mm", "p90 mm",
                              "ms/frame"], floatfmt=".2f"))
    if args.verbose:
        print()
        rows = [[name] + [results[m]["per_joint"][name] for m in results]
                for name in SKELETON.names]
        print(format_table(rows, ["joint (mm)", *results], floatfmt=".1f"))
    return 0
