"""Sweeps behind the pipeline chapters that take too long to run on every build of the
book, computed with the library and stored in ``data/pipeline_studies.json``.

* :func:`robustness_study`: MPJPE of every 3D method (:data:`crossview.evaluation.METHODS`)
  on seeded synthetic heatmaps corrupted one knob at a time (false peaks, jitter) at
  several strengths of hidden joints, on each view's own heatmaps and on their analytic
  fusion; one setting is :func:`robustness_case`.
* :func:`weight_floor_study`: RPSM's MPJPE on the shipped network's heatmaps over a grid
  of the analytic fusion's own-view weight and the floor under the log-heatmaps, on the
  validation frames (those that chose the fusion's weight for 2D) and on the held-out
  frames; one frame set is :func:`weight_floor_grid`.

Remake the file with ``python -m crossview.studies`` (both studies; about a minute on two
CPU cores) or one study by name (``python -m crossview.studies robustness``); read it with
:func:`load_studies`. The chapters recompute a few entries live and check them against
the file, so a change of the library or of the shipped weights that moves the numbers
shows up as a failing check rather than as a stale table.

Everything measured here is **synthetic** (:mod:`crossview.synth`, :mod:`crossview.render`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._validate import check_int
from .bench import machine_line
from .camera import load_rig
from .evaluation import METHODS, evaluate
from .fusion import epipolar_fusion
from .metrics import mpjpe
from .paths import DATA_DIR
from .psm import root_center
from .rpsm import rpsm
from .synth import Scenes, make_scenes

#: The file the studies are stored in.
STUDIES_FILE = DATA_DIR / "pipeline_studies.json"

#: The command that remakes :data:`STUDIES_FILE`.
COMMAND = "python -m crossview.studies"

#: Settings of the stored robustness study (the arguments of :func:`robustness_study`).
ROBUSTNESS = {"n_frames": 30, "seed": 8, "n_subjects": 2,
              "false_rates": (0.0, 0.1, 0.2, 0.3, 0.4), "jitters": (0.0, 0.5, 1.0, 2.0, 3.0),
              "occluded_scales": (1.0, 0.5, 0.2), "fused_weight": 0.5, "n_bins": 16,
              "depth": 10}

#: Settings of the stored weight-and-floor study (the arguments of :func:`weight_floor_study`).
WEIGHT_FLOOR = {"weights": (0.2, 0.4, 0.6, 0.8, 0.9, 1.0),
                "floors": (1e-3, 1e-2, 3e-2, 1e-1, 3e-1), "n_bins": 16, "depth": 10}

HEATMAP_KINDS = ("single view", "fused")
"""The two kinds of heatmaps of the robustness study: each view's own, and their analytic
fusion."""


def _fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _methods(methods: Sequence[str]) -> tuple[str, ...]:
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    if not methods:
        raise ValueError(f"methods must name at least one of {', '.join(METHODS)}")
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"methods must be among {', '.join(METHODS)}; got {m!r}")
    return methods


def corruption_settings(false_rates: Sequence[float],
                        jitters: Sequence[float]) -> list[tuple[float, float]]:
    """``(jitter, false-peak rate)`` pairs that turn one knob at a time: every false-peak
    rate without jitter, then every non-zero jitter without false peaks (the clean setting
    once, first when ``0`` is among the rates)."""
    rates = [_fraction(p, "false_rates") for p in false_rates]
    jits = [float(j) for j in jitters]
    if any(j < 0 for j in jits):
        raise ValueError(f"jitters must be >= 0 (heatmap px), got {list(jitters)}")
    return [(0.0, p) for p in rates] + [(j, 0.0) for j in jits if j > 0 or not rates]


def robustness_case(scenes: Scenes, *, jitter: float = 0.0, false_peak_prob: float = 0.0,
                    occluded_scale: float = 1.0, fused_weight: float = 0.5,
                    methods: Sequence[str] = METHODS, **settings) -> dict:
    """MPJPE (mm) of ``methods`` on one corruption of ``scenes``' synthetic heatmaps.

    ``scenes`` gives the poses, cameras and crops (its own heatmaps are not used; make it
    with ``heatmaps=False``); its heatmaps are drawn afresh with
    :meth:`crossview.Scenes.with_heatmaps` (``jitter`` in heatmap px, ``false_peak_prob``,
    ``occluded_scale``: the height of a hidden joint's blob), and every method runs on them
    as they are and on their analytic fusion with own-view weight ``fused_weight``.
    ``settings`` go to :func:`crossview.evaluation.evaluate` (``n_bins``, ``depth``,
    ``backend``...); the DLT's warnings about points behind a camera (false peaks cause
    them) are silenced. Returns ``{"single view": {method: mm}, "fused": {method: mm},
    "root_error": [mm per frame]}``, the last being the error of the triangulated root
    (:func:`crossview.root_center`) on the heatmaps as they are.
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be a crossview.Scenes, got {type(scenes).__name__}")
    fused_weight = _fraction(fused_weight, "fused_weight")
    methods = _methods(methods)
    sc = scenes.with_heatmaps(jitter=jitter, false_peak_prob=false_peak_prob,
                              occluded_scale=occluded_scale)
    fused = epipolar_fusion(sc.heatmaps, sc.cameras, sc.affines, self_weight=fused_weight)
    out = {}
    for kind, hm in zip(HEATMAP_KINDS, (sc.heatmaps, fused)):
        with warnings.catch_warnings():
            # false peaks put some DLT points behind a camera; their error is counted
            warnings.filterwarnings("ignore", message="triangulate:", category=RuntimeWarning)
            r = evaluate(hm, sc.cameras, sc.affines, sc.joints3d, methods, **settings)
        out[kind] = {m: r[m]["mpjpe"] for m in methods}
    root = root_center(sc.heatmaps, sc.cameras, sc.affines)
    out["root_error"] = np.linalg.norm(root - sc.joints3d[:, 0], axis=-1).tolist()
    return out


def robustness_scenes(n_frames: int = 30, seed: int = 8, n_subjects: int = 2,
                      rig: str = "h36m") -> Scenes:
    """The poses of the robustness study: ``n_frames`` synthetic frames (one per second of
    motion) of ``n_subjects`` people on ``rig``, without heatmaps."""
    return make_scenes(n_frames, load_rig(rig), seed=seed, fps=1.0, n_subjects=n_subjects,
                       heatmaps=False)


def robustness_study(n_frames: int = 30, seed: int = 8, n_subjects: int = 2, *,
                     false_rates: Sequence[float] = ROBUSTNESS["false_rates"],
                     jitters: Sequence[float] = ROBUSTNESS["jitters"],
                     occluded_scales: Sequence[float] = ROBUSTNESS["occluded_scales"],
                     fused_weight: float = 0.5, methods: Sequence[str] = METHODS,
                     n_bins: int = 16, depth: int = 10, backend: str | None = None,
                     progress: bool = False) -> dict:
    """Every method's MPJPE over :func:`corruption_settings` at every ``occluded_scales``,
    on the frames of :func:`robustness_scenes` (the same poses and random draws for every
    setting, so the results differ only by the knob).

    Returns a JSON-ready dict: ``"settings"`` (the arguments), ``"cases"`` (one dict per
    setting: ``occluded_scale``, ``jitter``, ``false_peak_prob`` and the result of
    :func:`robustness_case`), ``"seconds"``.
    """
    n_frames = check_int(n_frames, "n_frames", 1)
    scales = [_fraction(s, "occluded_scales") for s in occluded_scales]
    knobs = corruption_settings(false_rates, jitters)
    methods = _methods(methods)
    base = robustness_scenes(n_frames, seed, n_subjects)
    t0 = time.perf_counter()
    cases = []
    for scale in scales:
        for jit, fp in knobs:
            r = robustness_case(base, jitter=jit, false_peak_prob=fp, occluded_scale=scale,
                                fused_weight=fused_weight, methods=methods, n_bins=n_bins,
                                depth=depth, backend=backend)
            cases.append({"occluded_scale": scale, "jitter": jit, "false_peak_prob": fp, **r})
            if progress:
                print(f"  hidden {scale:g}, jitter {jit:g} px, false peaks {fp:g}: "
                      + ", ".join(f"{m} {v:.1f}" for m, v in r["single view"].items())
                      + f" mm ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    settings = {"n_frames": n_frames, "seed": seed, "n_subjects": n_subjects,
                "false_rates": list(false_rates), "jitters": list(jitters),
                "occluded_scales": scales, "fused_weight": fused_weight,
                "methods": list(methods), "n_bins": n_bins, "depth": depth}
    return {"settings": settings, "cases": cases, "seconds": time.perf_counter() - t0}


def weight_floor_grid(heatmaps: np.ndarray, evidence: np.ndarray, cameras, affines: np.ndarray,
                      joints3d: np.ndarray, weights: Sequence[float], floors: Sequence[float],
                      **settings) -> np.ndarray:
    """RPSM's MPJPE (mm) ``(len(weights), len(floors))`` on the analytic fusion at every
    own-view weight and floor.

    ``heatmaps`` ``(F, V, J, H, W)`` are each view's own heatmaps and ``evidence`` their
    fusion at own-view weight 0 (:func:`crossview.epipolar_fusion` with
    ``self_weight=0``): the fusion is linear in the weight, so the fusion at ``w`` is
    ``w * heatmaps + (1 - w) * evidence``, clipped at zero before RPSM reads it. ``affines``
    ``(F, V, 2, 3)`` or ``(V, 2, 3)``, ``joints3d`` ``(F, J, 3)`` the truth; ``settings`` go
    to :func:`crossview.rpsm` (``n_bins``, ``depth``, ``backend``...).
    """
    heatmaps, evidence = np.asarray(heatmaps), np.asarray(evidence)
    if heatmaps.ndim != 5 or heatmaps.shape != evidence.shape:
        raise ValueError(f"heatmaps and evidence must both be (F, V, J, H, W) of one shape, "
                         f"got {heatmaps.shape} and {evidence.shape}")
    ws = [_fraction(w, "weights") for w in weights]
    fl = [float(f) for f in floors]
    if not ws or not fl or any(not 0.0 < f < 1.0 for f in fl):
        raise ValueError(f"weights must be non-empty and floors non-empty values in (0, 1), "
                         f"got {list(weights)} and {list(floors)}")
    out = np.empty((len(ws), len(fl)))
    for i, w in enumerate(ws):
        hm = np.clip(w * heatmaps + (1 - w) * evidence, 0, None).astype(np.float32)
        for k, f in enumerate(fl):
            out[i, k] = mpjpe(rpsm(hm, cameras, affines, floor=f, **settings), joints3d)
    return out


def weight_floor_frames(config, n_frames: int | None = None) -> dict:
    """The two frame sets of :func:`weight_floor_study`, rendered as the training recipe
    ``config`` (a :class:`crossview.nets.TrainConfig`, e.g. the shipped network's) renders
    them: ``{"validation": ..., "held-out": ...}`` (each a
    :class:`crossview.nets.RenderedPoseDataset`); ``n_frames`` overrides the recipe's
    frame counts (for quick checks)."""
    from . import nets

    c = config
    val_n = c.val_frames if n_frames is None else check_int(n_frames, "n_frames", 2)
    eval_n = c.eval_frames if n_frames is None else val_n
    # the validation frames exactly as nets.train_pose2d draws them
    val = nets.make_dataset(val_n, c.seed + 10_000, scene_sets=2, rig=c.rig,
                            input_size=c.input_size, heatmap_size=c.heatmap_size, sigma=c.sigma)
    return {"validation": val, "held-out": nets.evaluation_data(eval_n, c)}


def weight_floor_study(weights: Sequence[float] = WEIGHT_FLOOR["weights"],
                       floors: Sequence[float] = WEIGHT_FLOOR["floors"], *, n_bins: int = 16,
                       depth: int = 10, backend: str | None = None,
                       n_frames: int | None = None, progress: bool = False) -> dict:
    """:func:`weight_floor_grid` of the shipped network (:func:`crossview.nets.load_pose2d`)
    on the frames of :func:`weight_floor_frames`.

    Returns a JSON-ready dict: ``"settings"``, ``"self_weight_2d"`` (the weight the
    training recipe chose for 2D detection), and per frame set ``"grids"[name]`` (a list of
    rows, one per weight, of MPJPE in mm per floor), ``"seconds"``.
    """
    from . import nets

    pose = nets.load_pose2d()
    t0 = time.perf_counter()
    grids = {}
    for name, data in weight_floor_frames(pose.config, n_frames).items():
        single = nets.predict(pose.backbone, data)
        evidence = nets.fuse(single, data, "analytic", self_weight=0.0)
        grid = weight_floor_grid(single, evidence, data.cameras, data.affines, data.joints3d,
                                 weights, floors, n_bins=n_bins, depth=depth, backend=backend)
        grids[name] = grid.tolist()
        if progress:
            print(f"  {name}: {len(data)} frames, best {grid.min():.1f} mm "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    settings = {"weights": [float(w) for w in weights], "floors": [float(f) for f in floors],
                "n_bins": n_bins, "depth": depth,
                "n_frames": {k: len(v) for k, v in grids.items()} if n_frames is None
                else n_frames}
    return {"settings": settings, "self_weight_2d": pose.analytic_self_weight, "grids": grids,
            "seconds": time.perf_counter() - t0}


#: The studies by name, each with the defaults that the stored file uses.
STUDIES = {"robustness": lambda **kw: robustness_study(**ROBUSTNESS, **kw),
           "weight_floor": lambda **kw: weight_floor_study(**WEIGHT_FLOOR, **kw)}


def load_studies(path: str | Path | None = None) -> dict:
    """The stored studies ``{name: study}`` (see :data:`STUDIES`) from ``path`` (default
    :data:`STUDIES_FILE`)."""
    path = Path(STUDIES_FILE if path is None else path)
    if not path.is_file():
        raise FileNotFoundError(f"no studies file at {path}; make it with {COMMAND}")
    return json.loads(path.read_text())


def write_studies(names: Sequence[str] | None = None, path: str | Path | None = None,
                  progress: bool = False) -> Path:
    """Run the studies ``names`` (default: all of :data:`STUDIES`) with their stored
    settings and write them into ``path`` (default :data:`STUDIES_FILE`), keeping the
    other studies already in the file. Returns the path."""
    names = list(STUDIES) if names is None else list(names)
    for n in names:
        if n not in STUDIES:
            raise ValueError(f"names must be among {', '.join(STUDIES)}; got {n!r}")
    path = Path(STUDIES_FILE if path is None else path)
    stored = json.loads(path.read_text()) if path.is_file() else {}
    for n in names:
        if progress:
            print(f"{n}:", file=sys.stderr)
        where = machine_line()           # before the runs: the load they add is not theirs
        study = STUDIES[n](progress=progress)
        study["made_by"] = f"{COMMAND} {n}"
        study["machine"] = where
        stored[n] = study
    text = json.dumps(_rounded(stored), indent=1)
    # lists of plain numbers on one line each: a file a reader can skim
    text = re.sub(r"\[[^\[\]{}\"]*\]", lambda m: "[" + " ".join(m.group(0)[1:-1].split()) + "]",
                  text)
    path.write_text(text + "\n")
    return path


def _rounded(value):
    """Floats to 4 decimals (a hundredth of a micrometre or less matters nowhere here)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m crossview.studies [NAME ...] [--out PATH]``: remake the stored studies."""
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Remake the precomputed studies of the pipeline chapters "
                                  f"(synthetic data) in {STUDIES_FILE.name}.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"studies to run: {', '.join(STUDIES)} (default: all)")
    parser.add_argument("--out", default=None, help=f"file to write (default: {STUDIES_FILE})")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in STUDIES]
    if unknown:
        parser.error(f"unknown study {unknown[0]!r}; choose from {', '.join(STUDIES)}")
    t0 = time.perf_counter()
    path = write_studies(args.names or None, args.out, progress=True)
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
