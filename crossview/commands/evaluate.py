"""``python -m crossview evaluate``: MPJPE of a 3D pose method on heatmaps with known 3D truth.

The core, :func:`evaluate`, takes heatmaps, cameras, affines and ground-truth poses
and does not care where they come from; the command feeds it seeded synthetic
scenes (or a file written by ``python -m crossview synth``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from ..cli import add_json_flag, emit_json, format_table

METHODS = ("dlt", "robust-dlt", "psm", "rpsm")
"""``dlt``: confidence-weighted DLT of each view's heatmap peak; ``robust-dlt``: the same
with view-pair search (:func:`crossview.triangulate_robust`); ``psm``: the pictorial
structure model on one grid around the robustly triangulated root; ``rpsm``: its
recursive refinement."""

#: Robust triangulation leaves out views more than this many heatmap pixels off.
ROBUST_THRESHOLD_HM_PX = 5.0


def estimate(method: str, heatmaps: np.ndarray, cameras, affines: np.ndarray, *,
             center: np.ndarray | None = None, limb_lengths: np.ndarray | None = None,
             n_bins: int = 16, depth: int = 10, cube_size: float = 2000.0,
             tolerance: float = 150.0, backend: str = "numpy", batch: int = 16,
             progress=None) -> np.ndarray:
    """3D poses ``(F, J, 3)`` (mm) of frames ``(F, V, J, H, W)`` by ``method`` (:data:`METHODS`).

    ``affines`` ``(F, V, 2, 3)`` or ``(V, 2, 3)``; ``center`` ``(F, 3)`` and ``limb_lengths``
    ``(F, J)`` are optional (the methods estimate or assume them otherwise). Frames go
    through in batches of ``batch``; ``progress`` (a tqdm bar) is advanced per batch.
    """
    from ..psm import psm
    from ..rpsm import peak_observations, root_center
    from ..triangulate import triangulate, triangulate_robust

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    heatmaps = np.asarray(heatmaps)
    F = heatmaps.shape[0]
    A = np.broadcast_to(np.asarray(affines, dtype=np.float64), (F, *np.shape(affines)[-3:]))
    out = np.empty((F, heatmaps.shape[2], 3))
    for lo in range(0, F, max(1, int(batch))):
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
            ll = None if limb_lengths is None else limb_lengths[sl]
            c = None if center is None else center[sl]
            if method == "psm":
                if c is None:
                    from ..psm import prepare_inputs

                    c = root_center(prepare_inputs(hm, cameras, A[sl], None, 1e-3, backend))
                out[sl] = psm(hm, cameras, A[sl], c, ll, n_bins=n_bins, cube_size=cube_size,
                              tolerance=tolerance, backend=backend)
            else:
                from ..rpsm import rpsm

                out[sl] = rpsm(hm, cameras, A[sl], c, ll, n_bins=n_bins, depth=depth,
                               cube_size=cube_size, tolerance=tolerance, backend=backend)
        if progress is not None:
            progress.update(hm.shape[0])
    return out


def evaluate(heatmaps: np.ndarray, cameras, affines: np.ndarray, joints3d: np.ndarray,
             methods: Sequence[str] = ("rpsm",), *, gt_root: bool = False,
             limb_lengths: np.ndarray | None = None, show_progress: bool = False,
             **settings) -> dict:
    """MPJPE of each method on the same frames.

    ``joints3d`` ``(F, J, 3)`` is the truth; ``gt_root`` gives PSM/RPSM the true root as
    the grid centre; ``limb_lengths`` ``(F, J)`` (e.g. the true ones) replaces the
    skeleton prior. Other keywords go to :func:`estimate`. Returns, per method, the
    mean, median and 90th percentile joint error (mm), the per-joint mean, and the
    wall-clock time per frame.
    """
    from tqdm.auto import tqdm

    from ..metrics import joint_errors
    from ..skeleton import SKELETON

    joints3d = np.asarray(joints3d, dtype=np.float64)
    results = {}
    for method in methods:
        bar = tqdm(total=len(joints3d), desc=method, unit="frame", file=sys.stderr,
                   disable=not show_progress, leave=False)
        t0 = time.perf_counter()
        pred = estimate(method, heatmaps, cameras, affines,
                        center=joints3d[:, 0] if gt_root else None, limb_lengths=limb_lengths,
                        progress=bar, **settings)
        seconds = time.perf_counter() - t0
        bar.close()
        err = joint_errors(pred, joints3d)
        err = np.where(np.isfinite(err), err, np.inf)
        results[method] = {
            "mpjpe": float(err.mean()), "median": float(np.median(err)),
            "p90": float(np.percentile(err, 90)),
            "per_joint": dict(zip(SKELETON.names, err.mean(0).tolist())),
            "frames": len(err), "ms_per_frame": 1e3 * seconds / len(err),
        }
    return results


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="MPJPE of DLT, robust DLT, PSM or RPSM on synthetic heatmaps",
        description="Estimate 3D poses from multi-view heatmaps with one or more methods and "
                    "report the mean per-joint position error (MPJPE, mm) against the truth. "
                    "The frames are seeded synthetic scenes (or a file from 'crossview synth'); "
                    "PSM and RPSM triangulate the root and use the skeleton's limb-length prior "
                    "unless --gt-root / --gt-limbs give them the truth.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--method", nargs="+", default=["rpsm"], choices=METHODS,
                   help="methods to evaluate on the same frames")
    data = p.add_argument_group("data (synthetic)")
    data.add_argument("--scenes", help="a .npz written by 'python -m crossview synth' "
                                       "(instead of generating frames)")
    data.add_argument("--frames", type=int, default=50, help="number of frames")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--rig", default="h36m", help="rig name ('h36m', 'ring') or a rig file")
    data.add_argument("--views", type=int, default=4, help="views of a 'ring' rig")
    data.add_argument("--subjects", type=int, default=1)
    data.add_argument("--jitter", type=float, default=0.0, help="peak jitter (heatmap px, std)")
    data.add_argument("--false-peaks", type=float, default=0.0,
                      help="probability of a false second peak per view and joint")
    data.add_argument("--missing", type=float, default=0.0,
                      help="probability that a joint's heatmap is empty")
    m = p.add_argument_group("PSM / RPSM")
    m.add_argument("--n-bins", type=int, default=16, help="grid size N of the (first) grid")
    m.add_argument("--depth", type=int, default=10, help="RPSM refinement stages")
    m.add_argument("--cube-size", type=float, default=2000.0, help="edge of the cube (mm)")
    m.add_argument("--tolerance", type=float, default=150.0, help="limb-length window (mm)")
    m.add_argument("--backend", default="numpy", choices=["naive", "numpy", "numba", "torch"])
    m.add_argument("--batch", type=int, default=16, help="frames per call")
    m.add_argument("--gt-root", action="store_true", help="centre the grid on the true root")
    m.add_argument("--gt-limbs", action="store_true", help="use the true limb lengths")
    p.add_argument("--verbose", action="store_true", help="also print the error per joint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_flag(p)
    p.set_defaults(func=run)


def _scenes(args):
    from ..camera import load_rig
    from ..synth import Scenes, make_scenes

    if args.scenes:
        s = Scenes.load(args.scenes)
        if s.heatmaps is None:
            raise ValueError(f"{args.scenes} holds no heatmaps (written with --no-heatmaps)")
        return s, {"source": str(args.scenes), "synthetic": True, **{
            k: v for k, v in s.corruption.items() if not isinstance(v, np.ndarray)}}
    rig = load_rig("ring", n_views=args.views) if args.rig == "ring" else load_rig(args.rig)
    s = make_scenes(args.frames, rig, seed=args.seed, n_subjects=args.subjects,
                    jitter=args.jitter, false_peak_prob=args.false_peaks,
                    missing_prob=args.missing)
    return s, {"source": "make_scenes", "synthetic": True, "rig": args.rig, "seed": args.seed,
               "jitter": args.jitter, "false_peak_prob": args.false_peaks,
               "missing_prob": args.missing}


def run(args) -> int:
    from ..skeleton import SKELETON

    s, data = _scenes(args)
    data.update(frames=s.n_frames, views=s.n_views, heatmap_size=list(s.heatmap_size))
    settings = dict(n_bins=args.n_bins, depth=args.depth, cube_size=args.cube_size,
                    tolerance=args.tolerance, backend=args.backend, batch=args.batch)
    results = evaluate(s.heatmaps, s.cameras, s.affines, s.joints3d, args.method,
                       gt_root=args.gt_root,
                       limb_lengths=s.limb_lengths if args.gt_limbs else None,
                       show_progress=not args.no_progress, **settings)
    if args.json:
        emit_json({"data": data, "settings": {**settings, "gt_root": args.gt_root,
                                              "gt_limbs": args.gt_limbs},
                   "results": results})
        return 0
    print(f"{data['frames']} synthetic frames x {data['views']} views "
          f"({data.get('rig', data['source'])}), heatmaps {s.heatmap_size[0]}x"
          f"{s.heatmap_size[1]}, jitter {data.get('jitter', 0)} px, false peaks "
          f"{100 * data.get('false_peak_prob', 0):.0f}%, missing "
          f"{100 * data.get('missing_prob', 0):.0f}%")
    truth = [name for name, on in (("root", args.gt_root), ("limb lengths", args.gt_limbs)) if on]
    print(f"ground truth given: {', '.join(truth) or 'none'}; PSM/RPSM: N={args.n_bins}, "
          f"depth={args.depth}, backend={args.backend}")
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
