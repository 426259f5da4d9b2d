"""``python -m crossview evaluate``: MPJPE of a 3D pose method on heatmaps with known 3D truth.

The command parses its options, loads the frames and prints the results; the work is
:func:`crossview.evaluation.evaluate`. The frames are seeded synthetic scenes (or a file
written by ``python -m crossview synth``), or Human3.6M frames (``--h36m
h36m_validation.pkl``) with heatmaps rendered from their annotated 2D joints or read from
a file of a network's outputs (``--heatmaps``).
"""

from __future__ import annotations

import argparse

import numpy as np

from ..evaluation import METHODS, RenderedHeatmaps, evaluate, load_prior
from ..kernels import BACKENDS, resolve_backend
from ..skeleton import SKELETON
from ..tables import add_json_flag, emit_json, format_table


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
    m.add_argument("--backend", default=None, choices=BACKENDS,
                   help="compute backend of PSM and RPSM (default: Numba when installed, "
                        "else NumPy); all give the same poses")
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
        try:
            prior = load_prior(args.prior_from)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"--prior-from: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"--prior-from {exc}") from None
        return prior, {"source": f"prior from {args.prior_from}", "prior": prior.to_dict()}
    return None, {"source": "the skeleton's default prior (anthropometric)"}


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
                    tolerance=args.tolerance, backend=resolve_backend(args.backend),
                    batch=args.batch,
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
