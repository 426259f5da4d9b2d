"""Annotation files written the way H36M-Toolbox's ``generate_labels.py`` writes them.

The values are synthetic; what follows the toolbox is everything a reader meets:

* the calibration: a dict keyed ``(subject, camera)`` of tuples ``(R (3, 3), T (3, 1),
  f (2, 1), c (2, 1), k (3, 1), p (2, 1), name)`` of float64 arrays, like the toolbox's
  ``camera_data.pkl`` (built here from ``data/h36m_s1_cameras.json``, each subject's
  cameras moved by a few millimetres);
* the loops (subject, action, subaction, camera, frame), the records' keys in the
  toolbox's order, one camera dict per video shared by its records, ``fx = f[0]`` an
  array of shape ``(1,)``, joints as fancy-indexed rows of 32-joint poses (float64 or
  float32, as the pose files hold them), ``joints_vis = np.ones((17, 3))``, the box
  inferred from the root joint by a weak projection, ``center`` and ``scale`` tuples of
  NumPy scalars;
* records skipped where an image is missing, so some frames lack views;
* ``pickle.dump`` at any protocol from 2 to 5, with NumPy's helpers named
  ``numpy.core...`` as NumPy 1.x writes them, or ``numpy._core...`` as NumPy 2 does.

The library's own writer (``camera_to_record``, ``write_records``) is not used.
"""

from __future__ import annotations

import json
import pickle
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import crossview as cv

CAMERA_NAMES = ("54138969", "55011271", "58860488", "60457274")   # the toolbox's c = 1..4
#: Rows of Human3.6M's 32-joint poses that the toolbox keeps, in its order.
JOINT_IDX = [0, 1, 2, 3, 6, 7, 8, 12, 16, 14, 15, 17, 18, 19, 25, 26, 27]
RIG_FILE = Path(__file__).resolve().parents[1] / "data" / "h36m_s1_cameras.json"


def calibration(subjects) -> dict:
    """``{(subject, camera 1..4): (R, T, f, c, k, p, name)}`` like the toolbox's camera file.

    S1's published calibration (``x_cam = R X + t``) turned into Human3.6M's convention
    (``T`` the centre); every further subject's cameras sit a few millimetres away, as
    per-subject calibrations do (synthetic offsets).
    """
    cams = json.loads(RIG_FILE.read_text())["cameras"]
    out = {}
    for n, s in enumerate(subjects):
        for c, name in enumerate(CAMERA_NAMES, start=1):
            cam = cams[name]
            R = np.array(cam["R"], dtype=np.float64)
            T = -R.T @ np.array(cam["t"]) + np.array([7.0, -4.0, 3.0]) * n
            K, d = np.array(cam["K"]), cam["distortion"]        # OpenCV (k1, k2, p1, p2, k3)
            out[(s, c)] = (R, T.reshape(3, 1), np.array([[K[0, 0]], [K[1, 1]]]),
                           np.array([[K[0, 2]], [K[1, 2]]]), np.array([[d[0]], [d[1]], [d[4]]]),
                           np.array([[d[2]], [d[3]]]), name)
    return out


def project(X: np.ndarray, camera: tuple) -> np.ndarray:
    """World points ``(N, 3)`` to distorted pixels ``(N, 2)``: Human3.6M's lens model with
    the focal lengths ``f`` ``(2, 1)`` of each axis."""
    R, T, f, c, k, p = camera[:6]
    xcam = R.dot(X.T - T)
    y = xcam[:2] / xcam[2]
    r2 = np.sum(y ** 2, axis=0)
    radial = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3
    tan = 2 * p[0] * y[1] + 2 * p[1] * y[0]
    y = y * (radial + tan) + np.outer(np.array([p[1], p[0]]).reshape(-1), r2)
    return (f * y + c).T


def _weak_project(pose3d, fx, fy, cx, cy):
    pose2d = pose3d[:, :2] / pose3d[:, 2:3]
    pose2d[:, 0] *= fx
    pose2d[:, 1] *= fy
    pose2d[:, 0] += cx
    pose2d[:, 1] += cy
    return pose2d


def _infer_box(pose3d, camera, root):
    # the toolbox's box: 2 m wide around the root, 0.9 m up and 1.1 m down, weakly projected
    tl = pose3d[root, :].copy()
    tl[0] -= 1000.0
    tl[1] -= 900.0
    br = pose3d[root, :].copy()
    br[0] += 1000.0
    br[1] += 1100.0
    tl2d = _weak_project(tl.reshape(1, 3), camera["fx"], camera["fy"], camera["cx"],
                         camera["cy"]).flatten()
    br2d = _weak_project(br.reshape(1, 3), camera["fx"], camera["fy"], camera["cx"],
                         camera["cy"]).flatten()
    return np.array([tl2d[0], tl2d[1], br2d[0], br2d[1]])


def _pose32(joints17: np.ndarray, dtype) -> np.ndarray:
    """``(N, 17, D)`` -> ``(N, 32, D)`` of ``dtype``, the 17 joints at the toolbox's rows and
    the rows it drops filled with the root (they must not leak into a record)."""
    out = np.repeat(joints17[:, :1], 32, axis=1).astype(dtype)
    out[:, JOINT_IDX] = joints17
    return out


@dataclass
class ToolboxFile:
    """Records as the toolbox makes them, and the synthetic truth they were made from."""

    records: list
    world: dict = field(default_factory=dict)   #: (s, a, sa, image_id) -> (17, 3) world mm
    calibration: dict = field(default_factory=dict)

    def complete_keys(self, n_views: int = 4) -> list:
        """Keys of frames with every view, in the order they first appear in the records."""
        views: dict = {}
        for r in self.records:
            views.setdefault((r["subject"], r["action"], r["subaction"], r["image_id"]),
                             set()).add(r["camera_id"])
        return [k for k, v in views.items() if len(v) == n_views]

    def world_from_file(self, key) -> np.ndarray:
        """What the paper's code scores against: view 0's ``joints_3d_camera`` in the world,
        ``R^T x + T`` (``camera_to_world_frame``), computed in float64 from the stored values."""
        rec = next(r for r in self.records if r["camera_id"] == 0 and
                   (r["subject"], r["action"], r["subaction"], r["image_id"]) == key)
        cam = rec["camera"]
        x = rec["joints_3d_camera"].astype(np.float64)
        return (cam["R"].T.dot(x.T) + cam["T"]).T


def toolbox_records(subjects=(9, 11), actions=(2, 3), subactions=(1, 2), n_frames: int = 3,
                    dtype=np.float64, missing_videos=((11, 2, 2, 1),),
                    missing_images=((9, 3, 1, 3, 2),), seed: int = 0,
                    universal_scale: float = 0.95) -> ToolboxFile:
    """Records in the toolbox's loops, keys and value types (synthetic poses).

    ``missing_videos`` ``(s, a, sa, c)`` and ``missing_images`` ``(s, a, sa, c, frame)``
    (``c`` from 1, ``frame`` from 1) are skipped, like images the toolbox cannot find;
    by default subject 11, action 2, subaction 2 has no camera 1 (54138969), as in the
    real data. ``joints_3d`` (the universal skeleton) is imitated by scaling each pose
    about its root by ``universal_scale``.
    """
    camera_data = calibration(subjects)
    n_videos = len(subjects) * len(actions) * len(subactions)
    motion = cv.make_scenes(n_videos * n_frames, "h36m", seed=seed, heatmaps=False).joints3d
    motion = motion.reshape(n_videos, n_frames, 17, 3)
    out = ToolboxFile([], calibration=camera_data)
    db, cnt, video = out.records, 0, 0
    for s in subjects:
        for a in actions:
            for sa in subactions:
                world = motion[video]
                video += 1
                universal = world[:, :1] + universal_scale * (world - world[:, :1])
                for i in range(n_frames):
                    out.world[(s, a, sa, i + 1)] = world[i]
                for c in range(1, 5):
                    camera = camera_data[(s, c)]
                    camera_dict = {}
                    camera_dict["R"] = camera[0]
                    camera_dict["T"] = camera[1]
                    camera_dict["fx"] = camera[2][0]
                    camera_dict["fy"] = camera[2][1]
                    camera_dict["cx"] = camera[3][0]
                    camera_dict["cy"] = camera[3][1]
                    camera_dict["k"] = camera[4]
                    camera_dict["p"] = camera[5]
                    subdir = f"s_{s:02d}_act_{a:02d}_subact_{sa:02d}_ca_{c:02d}"
                    R, T = camera[0], camera[1]
                    pose3d = _pose32(np.stack([R.dot(u.T - T).T for u in universal]), dtype)
                    pose3d_camera = _pose32(np.stack([R.dot(w.T - T).T for w in world]), dtype)
                    pose2d = _pose32(np.stack([project(w, camera) for w in world]), dtype)
                    nposes = min(pose3d.shape[0], pose2d.shape[0])
                    for i in range(nposes):
                        if ((s, a, sa, c) in missing_videos
                                or (s, a, sa, c, i + 1) in missing_images):
                            continue
                        datum = {}
                        datum["image"] = f"{subdir}/{subdir}_{i + 1:06d}.jpg"
                        datum["joints_2d"] = pose2d[i, JOINT_IDX, :]
                        datum["joints_3d"] = pose3d[i, JOINT_IDX, :]
                        datum["joints_3d_camera"] = pose3d_camera[i, JOINT_IDX, :]
                        datum["joints_vis"] = np.ones((17, 3))
                        datum["video_id"] = cnt
                        datum["image_id"] = i + 1
                        datum["subject"] = s
                        datum["action"] = a
                        datum["subaction"] = sa
                        datum["camera_id"] = c - 1
                        datum["source"] = "h36m"
                        datum["camera"] = camera_dict
                        box = _infer_box(datum["joints_3d_camera"], camera_dict, 0)
                        datum["center"] = (0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]))
                        datum["scale"] = ((box[2] - box[0]) / 200.0, (box[3] - box[1]) / 200.0)
                        datum["box"] = box
                        db.append(datum)
                    cnt += 1
    return out


class _NumPy1Pickler(pickle._Pickler):
    """The standard pickler, naming NumPy's helpers ``numpy.core.*`` as NumPy 1.x does.

    NumPy 2 moved ``numpy.core`` to ``numpy._core`` and its arrays pickle under the new
    name; files written before name the old one, which is what this reproduces.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        if not module.startswith("numpy._core."):
            return super().save_global(obj, name)
        module = "numpy.core." + module[len("numpy._core."):]
        name = name or obj.__qualname__
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)

    dispatch[types.FunctionType] = save_global     # numpy._core.numeric._frombuffer


def dump(records, path: str | Path, protocol: int = 3, numpy_paths: str = "numpy.core") -> Path:
    """``pickle.dump(records, f, protocol)`` as the toolbox calls it, under NumPy 1.x
    (``numpy_paths="numpy.core"``) or 2.x (``"numpy._core"``)."""
    if numpy_paths not in ("numpy.core", "numpy._core"):
        raise ValueError(f"numpy_paths must be 'numpy.core' or 'numpy._core', got {numpy_paths!r}")
    path = Path(path)
    with open(path, "wb") as f:
        if numpy_paths == "numpy.core":
            _NumPy1Pickler(f, protocol=protocol).dump(records)
        else:
            pickle.dump(records, f, protocol=protocol)
    return path
