"""``python -m crossview synth``: write a synthetic scene set to ``.npz``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..tables import add_json_flag, emit_json, format_table


def register(sub) -> None:
    p = sub.add_parser(
        "synth", help="generate synthetic multi-view scenes (.npz)",
        description="Generate seeded synthetic multi-view frames (motion on the Human3.6M "
                    "skeleton, projected into a camera rig, with occluders, crops and heatmaps) "
                    "and write them to a compressed .npz that crossview.Scenes.load reads.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True,
                   help="output file; its name must end in .npz (NumPy would add the suffix "
                        "to any other name)")
    p.add_argument("--frames", type=int, default=100, help="number of frames")
    p.add_argument("--rig", default="h36m", help="rig name ('h36m', 'ring') or a rig JSON file")
    p.add_argument("--views", type=int, default=4, help="number of views of a 'ring' rig")
    p.add_argument("--subjects", type=int, default=1, help="number of subjects")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heatmap-size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    p.add_argument("--sigma", type=float, default=2.0, help="Gaussian sigma (heatmap px)")
    p.add_argument("--fps", type=float, default=5.0, help="motion sampling rate")
    p.add_argument("--no-occluders", action="store_true", help="leave out pillars and boxes")
    p.add_argument("--no-heatmaps", action="store_true", help="store ground truth only")
    p.add_argument("--jitter", type=float, default=0.0, help="peak jitter (heatmap px, std)")
    p.add_argument("--false-peaks", type=float, default=0.0,
                   help="probability of a false second peak per view and joint")
    p.add_argument("--missing", type=float, default=0.0,
                   help="probability that a joint's heatmap is empty")
    add_json_flag(p)
    p.set_defaults(func=run)


def output_path(out: str) -> Path:
    """``--out`` as a path, checked before anything is computed: a name ending in ``.npz``
    (``numpy.savez`` appends the suffix to any other name, so the file written would not
    be the one named), not a folder, in a folder that exists and can be written."""
    path = Path(out)
    if path.is_dir():
        raise ValueError(f"--out {out!r} is a folder; name a .npz file")
    if path.suffix != ".npz":
        raise ValueError(f"--out must name a .npz file (NumPy appends .npz to any other "
                         f"name), got {out!r}; try {str(path.with_suffix('.npz'))!r}")
    if not path.parent.is_dir():
        raise ValueError(f"--out {out!r}: the folder {str(path.parent)!r} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise ValueError(f"--out {out!r}: the folder {str(path.parent)!r} is not writable")
    return path


def save_whole(scenes, path: Path) -> Path:
    """Write ``scenes`` to ``path`` through a temporary file in the same folder, so that an
    error while writing leaves neither a partial file nor one under another name."""
    part = path.with_name(f".{path.stem}.partial.npz")
    try:
        scenes.save(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return path


def run(args) -> int:
    import numpy as np

    from ..camera import load_rig
    from ..synth import make_scenes

    out = output_path(args.out)
    rig = load_rig("ring", n_views=args.views) if args.rig == "ring" else load_rig(args.rig)
    scenes = make_scenes(args.frames, rig, seed=args.seed, heatmap_size=tuple(args.heatmap_size),
                         sigma=args.sigma, n_subjects=args.subjects, fps=args.fps,
                         occluders=None if args.no_occluders else "auto",
                         heatmaps=not args.no_heatmaps, jitter=args.jitter,
                         false_peak_prob=args.false_peaks, missing_prob=args.missing)
    path = save_whole(scenes, out)
    occ = scenes.occlusion
    summary = {
        "path": str(path), "frames": scenes.n_frames, "views": scenes.n_views,
        "subjects": len(np.unique(scenes.subject)), "seed": args.seed,
        "heatmaps": None if scenes.heatmaps is None else list(scenes.heatmaps.shape),
        "visible_pct": 100 * float((occ == 0).mean()),
        "self_occluded_pct": 100 * float((occ == 1).mean()),
        "object_occluded_pct": 100 * float((occ == 2).mean()),
        "outside_image_pct": 100 * float((occ == 3).mean()),
        "bytes": path.stat().st_size, "synthetic": True,
    }
    if args.json:
        emit_json(summary)
    else:
        print(f"wrote {summary['frames']} synthetic frames x {summary['views']} views to {path} "
              f"({summary['bytes'] / 1e6:.1f} MB)")
        print(format_table([(k, v) for k, v in summary.items() if k.endswith("_pct")],
                           ["joints", "%"], floatfmt=".1f"))
    return 0
