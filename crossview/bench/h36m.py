"""Benchmark of reading Human3.6M annotations: ``python -m crossview bench h36m``.

A full H36M-Toolbox validation file holds about 550,000 per-image records (1.15 GB).
This target writes a synthetic file of that size the way the toolbox writes one (its
loops over subjects 9 and 11, actions 2 to 16, subactions 1 and 2 and the four cameras;
its keys and value types; one video without camera 1, as subject 11, action 2,
subaction 2 lacks it; ``pickle.dump`` at protocol 3), into a temporary directory that is
removed afterwards (``--records`` for a smaller file). It then reads the file in a fresh
Python process per run, so each run's peak resident memory is its own:

* ``pickle.load``: the reference, a plain load of the same file;
* ``load_h36m every=64``: the frames ``evaluate --h36m`` scores by default;
* ``load_h36m every=1``: every complete frame.

Each row gives the median seconds and the peak resident set size (the process's
``ru_maxrss``, which includes the interpreter and NumPy, measured as ``import_rss_mib``
before loading), and both as ratios to ``pickle.load``'s. Each reader runs ``--repeat``
times, at most 3 (a full-size load takes tens of seconds).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import BenchConfig

DESCRIPTION = ("load_h36m on a synthetic full-size H36M-Toolbox file against plain pickle.load: "
               "seconds and peak memory (--records for a smaller file)")
#: Records of a full validation file (subjects 9 and 11), about.
FULL_RECORDS = 550_000
#: The table's columns (this target has no compute backends).
COLUMNS = ["reader", "records", "frames", "dropped", "file_mib", "seconds", "time_ratio",
           "peak_rss_mib", "memory_ratio", "import_rss_mib", "repeats"]
IN_ALL = False      #: ``bench all`` times compute backends; this one writes a 1 GB file

SUBJECTS, ACTIONS, SUBACTIONS = (9, 11), tuple(range(2, 17)), (1, 2)
MISSING_VIDEO = (11, 2, 2, 1)   # (subject, action, subaction, camera): absent in Human3.6M

READERS = {"pickle.load": None, "load_h36m every=64": 64, "load_h36m every=1": 1}

_CHILD = """
import json, pickle, resource, sys, time
import numpy
from crossview.datasets.h36m import load_h36m
path, every = sys.argv[1], int(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if every == 0:
    with open(path, "rb") as f:
        n, dropped = len(pickle.load(f)), None
else:
    frames = load_h36m(path, every=every)
    n, dropped = frames.n_frames, frames.dropped
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "n": n, "dropped": dropped,
                  "import_kib": before, "peak_kib": peak}))
"""


def _calibration() -> dict:
    """``{(subject, camera 1..4): (R, T, f, c, k, p, name)}`` like the toolbox's camera file:
    S1's cameras, subject 11's moved by a few millimetres (synthetic)."""
    from ..camera import load_rig

    out = {}
    for n, s in enumerate(SUBJECTS):
        for c, cam in enumerate(load_rig("h36m"), start=1):
            d = cam.dist
            out[(s, c)] = (np.array(cam.R), (cam.center + np.array([7.0, -4.0, 3.0]) * n
                                             ).reshape(3, 1),
                           np.array([[cam.fx], [cam.fy]]), np.array([[cam.cx], [cam.cy]]),
                           np.array([[d[0]], [d[1]], [d[4]]]), np.array([[d[2]], [d[3]]]),
                           cam.name)
    return out


def _project(X: np.ndarray, camera: tuple) -> np.ndarray:
    """World points ``(..., 3)`` -> distorted pixels ``(..., 2)``, Human3.6M's lens model."""
    R, T, f, c, k, p = camera[:6]
    x = (X - T.ravel()) @ R.T
    y = x[..., :2] / x[..., 2:]
    r2 = (y ** 2).sum(-1, keepdims=True)
    radial = 1 + k[0, 0] * r2 + k[1, 0] * r2 ** 2 + k[2, 0] * r2 ** 3
    tan = 2 * p[0, 0] * y[..., 1:] + 2 * p[1, 0] * y[..., :1]
    y = y * (radial + tan) + r2 * np.array([p[1, 0], p[0, 0]])
    return y * f.ravel() + c.ravel()


def write_file(path: str | Path, n_records: int = FULL_RECORDS, seed: int = 0,
               protocol: int = 3) -> dict:
    """Write a synthetic annotation file of about ``n_records`` records as the toolbox does.

    Records follow the toolbox's loops (subject, action, subaction, camera, frame) with
    its keys and value types (``fx`` an array of shape ``(1,)``, ``center`` a tuple of
    NumPy float64 scalars, float64 joints, one camera dict per video); every video has
    the same number of frames, and one video is missing (:data:`MISSING_VIDEO`). Poses
    are synthetic people drifting about the capture space. Returns the number of
    records and of complete frames.
    """
    from ..synth import make_scenes

    n_videos = len(SUBJECTS) * len(ACTIONS) * len(SUBACTIONS) * 4
    n_frames = max(1, -(-int(n_records) // n_videos))
    rng = np.random.default_rng(seed)
    people = make_scenes(min(n_frames, 64), "h36m", seed=seed, heatmaps=False).joints3d
    calibration = _calibration()
    db, cnt = [], 0
    for s in SUBJECTS:
        for a in ACTIONS:
            for sa in SUBACTIONS:
                drift = np.cumsum(rng.normal(0.0, 2.0, (n_frames, 1, 3)), 0) * [1, 1, 0]
                world = people[np.arange(n_frames) % len(people)] + drift
                root = world[:, :1]
                universal = root + 0.95 * (world - root)   # stands in for the universal skeleton
                for c in range(1, 5):
                    if (s, a, sa, c) == MISSING_VIDEO:
                        cnt += 1
                        continue
                    camera = calibration[(s, c)]
                    R, T = camera[0], camera[1]
                    camera_dict = {"R": R, "T": T, "fx": camera[2][0], "fy": camera[2][1],
                                   "cx": camera[3][0], "cy": camera[3][1], "k": camera[4],
                                   "p": camera[5]}
                    joints_cam = (world - T.ravel()) @ R.T
                    joints_uni = (universal - T.ravel()) @ R.T
                    joints_2d = _project(world, camera)
                    # the toolbox's box: root +- 1 m across, 0.9 m up, 1.1 m down, weakly projected
                    corners = joints_cam[:, 0, None, :] + [[-1000.0, -900.0, 0.0],
                                                           [1000.0, 1100.0, 0.0]]
                    box = (corners[..., :2] / corners[..., 2:] * camera[2].ravel()
                           + camera[3].ravel()).reshape(n_frames, 4)
                    subdir = f"s_{s:02d}_act_{a:02d}_subact_{sa:02d}_ca_{c:02d}"
                    for i in range(n_frames):
                        b = box[i]
                        db.append({
                            "image": f"{subdir}/{subdir}_{i + 1:06d}.jpg",
                            "joints_2d": joints_2d[i], "joints_3d": joints_uni[i],
                            "joints_3d_camera": joints_cam[i],
                            "joints_vis": np.ones((17, 3)), "video_id": cnt,
                            "image_id": i + 1, "subject": s, "action": a, "subaction": sa,
                            "camera_id": c - 1, "source": "h36m", "camera": camera_dict,
                            "center": (0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])),
                            "scale": ((b[2] - b[0]) / 200.0, (b[3] - b[1]) / 200.0),
                            "box": b.copy()})
                    cnt += 1
    with open(path, "wb") as f:
        pickle.dump(db, f, protocol=protocol)
    return {"records": len(db), "frames": (n_videos // 4 - 1) * n_frames}


def _measure(path: Path, every: int) -> dict:
    """One load in a fresh interpreter (``every=0``: plain ``pickle.load``)."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(every)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"loading {path.name} (every={every}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(config: BenchConfig) -> list[dict]:
    if "numpy" not in config.backends:    # NumPy is the only code path here
        return []
    n_records = FULL_RECORDS if config.records is None else int(config.records)
    if n_records < 1:
        raise ValueError(f"records must be >= 1, got {n_records}")
    repeats = max(1, min(int(config.repeat), 3))
    rows = []
    with tempfile.TemporaryDirectory(prefix="crossview_h36m_bench_") as tmp:
        path = Path(tmp) / "h36m_validation.pkl"
        t = time.perf_counter()
        # written by a child process, so that this one does not hold the records
        script = ("import sys, json; from crossview.bench.h36m import write_file; "
                  "print(json.dumps(write_file(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))")
        out = subprocess.run([sys.executable, "-c", script, str(path), str(n_records),
                              str(config.seed)], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"writing the synthetic file failed:\n{out.stderr[-2000:]}")
        written = json.loads(out.stdout.strip().splitlines()[-1])
        write_s = time.perf_counter() - t
        file_mib = path.stat().st_size / 2**20
        for reader, every in READERS.items():
            runs = [_measure(path, every or 0) for _ in range(repeats)]
            seconds = float(np.median([r["seconds"] for r in runs]))
            rows.append({"target": "h36m", "backend": "numpy", "device": "cpu", "threads": 1,
                         "reader": reader, "records": written["records"],
                         "frames": runs[0]["n"] if every else None,
                         "dropped": runs[0]["dropped"], "file_mib": file_mib,
                         "seconds": seconds, "best_s": min(r["seconds"] for r in runs),
                         "peak_rss_mib": max(r["peak_kib"] for r in runs) / 1024,
                         "import_rss_mib": max(r["import_kib"] for r in runs) / 1024,
                         "repeats": repeats, "write_s": write_s})
    ref = rows[0]
    ref_loaded = ref["peak_rss_mib"] - ref["import_rss_mib"]
    for r in rows:
        r["time_ratio"] = r["seconds"] / ref["seconds"]
        r["memory_ratio"] = r["peak_rss_mib"] / ref["peak_rss_mib"]
        # the same ratio without the interpreter's own memory (none for a file too small to
        # raise the peak that the imports left)
        r["memory_ratio_loaded"] = ((r["peak_rss_mib"] - r["import_rss_mib"]) / ref_loaded
                                    if ref_loaded > 0 else None)
    return rows
