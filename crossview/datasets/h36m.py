"""Real Human3.6M annotations in the layout of H36M-Toolbox, as the paper's code reads them.

The paper's official code reads ``h36m_train.pkl`` / ``h36m_validation.pkl`` prepared
by H36M-Toolbox: a pickled ``list`` of per-image ``dict`` records with (among others)

* ``joints_2d`` ``(17, 2)``: image pixels (as the distorted camera sees them);
* ``joints_3d`` ``(17, 3)``: the joints in the *camera* frame, millimetres;
* ``joints_vis`` ``(17, 3)`` (or ``(17,)``): 1 where the joint is annotated;
* ``camera``: ``{"R": (3, 3), "T": (3, 1), "fx", "fy", "cx", "cy", "k": (3, 1), "p": (2, 1)}``
  with Human3.6M's convention ``x_cam = R (X - T)``: ``T`` is the camera *centre* in
  the world, not the translation of ``x_cam = R X + t`` used by this library;
* ``center`` ``(2,)`` and ``scale`` ``(2,)``: the person's box, ``scale * 200`` pixels;
* ``subject``, ``action``, ``subaction``, ``image_id``, ``camera_id`` (0-3), ``image``.

The joints are already in the book's (Human3.6M) order. Human3.6M's lens model is the
OpenCV model with ``dist = (k[0], k[1], p[0], p[1], k[2])``.

Pickle files can run arbitrary code when loaded, so :func:`load_h36m` reads them with
an unpickler that admits only plain containers, strings, numbers and NumPy arrays.
"""

from __future__ import annotations

import io
import pickle
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..heatmap import crop_affine, heatmap_to_image
from ..skeleton import SKELETON

#: The joint names of H36M-Toolbox's 17-joint records, in file order.
TOOLBOX_JOINTS = ("root", "rhip", "rkne", "rank", "lhip", "lkne", "lank", "belly", "neck",
                  "nose", "head", "lsho", "lelb", "lwri", "rsho", "relb", "rwri")
#: Index into the file's joints for each of the book's joints (the orders coincide).
TO_BOOK_ORDER = np.array([TOOLBOX_JOINTS.index(n) for n in SKELETON.names])

REQUIRED_KEYS = ("joints_2d", "joints_3d", "camera", "subject", "action", "subaction",
                 "image_id", "camera_id", "center", "scale")
CAMERA_KEYS = ("R", "T", "fx", "fy", "cx", "cy", "k", "p")

# (module, name) pairs that a NumPy array or scalar needs to be rebuilt, and nothing else.
_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("collections", "OrderedDict"),
}


class UnsafePickleError(ValueError):
    """A pickle asked for something other than containers, numbers, strings and arrays."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            if module.startswith("numpy.core."):  # files written by NumPy 1.x
                module = "numpy._core." + module[len("numpy.core."):]
            return super().find_class(module, name)
        if module == "numpy.dtypes" and name.endswith("DType"):
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refusing to load {module}.{name}: an annotation file may hold only lists, dicts, "
            "numbers, strings and NumPy arrays (pickles can run code; this one tries to)")


def safe_load_pickle(path: str | Path):
    """Unpickle ``path`` admitting only plain containers, numbers, strings and arrays.

    Raises :class:`UnsafePickleError` (a ``ValueError``) for anything else.
    """
    data = Path(path).read_bytes()
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
        raise ValueError(f"{path} is not a readable pickle file: {exc}") from None


def camera_from_record(cam: dict) -> Camera:
    """A :class:`~crossview.Camera` from a Human3.6M camera dict (``x_cam = R (X - T)``)."""
    missing = [k for k in CAMERA_KEYS if k not in cam]
    if missing:
        raise ValueError(f"camera record lacks {missing}; expected keys {list(CAMERA_KEYS)}")
    R = np.asarray(cam["R"], dtype=np.float64).reshape(3, 3)
    T = np.asarray(cam["T"], dtype=np.float64).reshape(3)
    k = np.asarray(cam["k"], dtype=np.float64).ravel()
    p = np.asarray(cam["p"], dtype=np.float64).ravel()
    if k.size != 3 or p.size != 2:
        raise ValueError(f"camera k must have 3 and p 2 coefficients, got {k.size}, {p.size}")
    K = np.array([[float(cam["fx"]), 0.0, float(cam["cx"])],
                  [0.0, float(cam["fy"]), float(cam["cy"])],
                  [0.0, 0.0, 1.0]])
    return Camera(K, R, -R @ T, dist=[k[0], k[1], p[0], p[1], k[2]])


def camera_to_record(camera: Camera) -> dict:
    """The inverse of :func:`camera_from_record` (used to write files of this layout)."""
    d = camera.dist
    return {"R": camera.R.copy(), "T": camera.center.reshape(3, 1), "fx": camera.fx,
            "fy": camera.fy, "cx": camera.cx, "cy": camera.cy,
            "k": np.array([[d[0]], [d[1]], [d[4]]]), "p": np.array([[d[2]], [d[3]]])}


@dataclass
class H36MFrames:
    """Synchronised multi-view frames read from an H36M-Toolbox annotation file.

    ``F`` frames with ``V`` views each; cameras may differ between subjects, so each
    frame carries its own rig.
    """

    cameras: list[list[Camera]]   #: F rigs of V cameras
    joints3d: np.ndarray          #: (F, J, 3) world mm
    joints2d: np.ndarray          #: (F, V, J, 2) image px
    visible: np.ndarray           #: (F, V, J) bool: annotated in that view
    box_centers: np.ndarray       #: (F, V, 2) image px
    box_sizes: np.ndarray         #: (F, V) image px (the box side, ``scale * 200``)
    subject: np.ndarray           #: (F,) int
    action: np.ndarray            #: (F,) int
    subaction: np.ndarray         #: (F,) int
    image_id: np.ndarray          #: (F,) int
    images: np.ndarray            #: (F, V) str, image paths relative to the data set root

    @property
    def n_frames(self) -> int:
        return len(self.joints3d)

    def __len__(self) -> int:
        return self.n_frames

    def affines(self, heatmap_size: tuple[int, int] = (64, 64)) -> np.ndarray:
        """Image -> heatmap affines ``(F, V, 2, 3)`` of each view's box."""
        H, W = heatmap_size
        size = np.stack([self.box_sizes, self.box_sizes * H / W], -1)
        return crop_affine(self.box_centers, size, heatmap_size)

    @property
    def head_sizes(self) -> np.ndarray:
        """``(F, V)`` image px: a tenth of the box, the JDR unit of the paper's code."""
        return self.box_sizes / 10.0


def _frame_key(rec: dict) -> tuple[int, int, int, int]:
    return (int(rec["subject"]), int(rec["action"]), int(rec["subaction"]), int(rec["image_id"]))


def group_records(records: list, n_views: int = 4, on_missing: str = "error",
                  ) -> list[list[dict]]:
    """Group per-image records into synchronised frames, ordered by ``camera_id``.

    A frame lacking a view raises ``ValueError`` (``on_missing="error"``) or is
    dropped (``"drop"``, what the paper's code does).
    """
    if on_missing not in ("error", "drop"):
        raise ValueError(f"on_missing must be 'error' or 'drop', got {on_missing!r}")
    if not isinstance(records, list):
        raise ValueError(f"expected a list of per-image records, got {type(records).__name__}")
    groups: dict = defaultdict(dict)
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ValueError(f"record {i} is a {type(rec).__name__}, expected a dict")
        missing = [k for k in REQUIRED_KEYS if k not in rec]
        if missing:
            raise ValueError(f"record {i} lacks {missing}; is this an H36M-Toolbox file?")
        cam_id = int(rec["camera_id"])
        if not 0 <= cam_id < n_views:
            raise ValueError(f"record {i} has camera_id {cam_id}, expected 0..{n_views - 1}")
        groups[_frame_key(rec)][cam_id] = rec
    frames = []
    for key in sorted(groups):
        views = groups[key]
        if len(views) < n_views:
            if on_missing == "error":
                lacking = sorted(set(range(n_views)) - set(views))
                raise ValueError(
                    f"frame subject={key[0]} action={key[1]} subaction={key[2]} "
                    f"image_id={key[3]} lacks view(s) {lacking}; pass on_missing='drop' to skip "
                    "incomplete frames")
            continue
        frames.append([views[v] for v in range(n_views)])
    return frames


def load_h36m(path: str | Path, subjects=None, actions=None, every: int = 1, n_views: int = 4,
              on_missing: str = "error", tolerance_mm: float = 1.0) -> H36MFrames:
    """Read an H36M-Toolbox annotation pickle into synchronised multi-view frames.

    Parameters
    ----------
    path : ``h36m_train.pkl``, ``h36m_validation.pkl`` or a file of the same layout.
    subjects, actions : keep only these subject / action numbers (``None``: all).
    every : keep every ``every``-th frame (the paper's code evaluates every 64th).
    on_missing : ``"error"`` or ``"drop"`` for frames that lack a view.
    tolerance_mm : the views' ``joints_3d``, brought to the world frame, must agree
        this closely; a larger disagreement means the cameras or joints are not of
        the layout described in this module.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no annotation file at {path}")
    records = safe_load_pickle(path)
    if subjects is not None or actions is not None:
        keep_s = None if subjects is None else {int(s) for s in np.atleast_1d(subjects)}
        keep_a = None if actions is None else {int(a) for a in np.atleast_1d(actions)}
        records = [r for r in records if isinstance(r, dict)
                   and (keep_s is None or int(r.get("subject", -1)) in keep_s)
                   and (keep_a is None or int(r.get("action", -1)) in keep_a)]
    frames = group_records(records, n_views=n_views, on_missing=on_missing)[::max(1, int(every))]
    if not frames:
        raise ValueError(f"{path} holds no complete {n_views}-view frame for this selection")

    J = SKELETON.n_joints
    cams, X, x2d, vis, centers, sizes, meta, images = [], [], [], [], [], [], [], []
    for views in frames:
        rig = [camera_from_record(r["camera"]) for r in views]
        world = []
        for r, cam in zip(views, rig):
            j3 = _joints(r, "joints_3d", 3)
            world.append((j3 - cam.t) @ cam.R)          # camera frame -> world frame
        world = np.stack(world)
        spread = np.abs(world - world[0]).max()
        if spread > tolerance_mm:
            raise ValueError(
                f"the views of frame {_frame_key(views[0])} disagree by {spread:.1f} mm in 3D "
                "after converting joints_3d from camera to world frame; expected joints_3d in "
                "the camera frame (mm) and camera T the camera centre (x_cam = R (X - T))")
        cams.append(rig)
        X.append(world.mean(0))
        x2d.append(np.stack([_joints(r, "joints_2d", 2) for r in views]))
        vis.append(np.stack([_visibility(r, J) for r in views]))
        centers.append(np.stack([np.asarray(r["center"], dtype=np.float64).reshape(2)
                                 for r in views]))
        sizes.append(np.array([200.0 * float(np.asarray(r["scale"]).ravel()[0]) for r in views]))
        meta.append(_frame_key(views[0]))
        images.append([str(r.get("image", "")) for r in views])
    meta = np.array(meta)
    return H36MFrames(cameras=cams, joints3d=np.stack(X), joints2d=np.stack(x2d),
                      visible=np.stack(vis), box_centers=np.stack(centers),
                      box_sizes=np.stack(sizes), subject=meta[:, 0], action=meta[:, 1],
                      subaction=meta[:, 2], image_id=meta[:, 3], images=np.array(images))


def _joints(rec: dict, key: str, dim: int) -> np.ndarray:
    arr = np.asarray(rec[key], dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != len(TOOLBOX_JOINTS) or arr.shape[1] < dim:
        raise ValueError(f"record field {key!r} must have shape (17, {dim}), got {arr.shape}")
    if not np.isfinite(arr[:, :dim]).all():
        raise ValueError(f"record field {key!r} holds NaN or infinite values")
    return arr[TO_BOOK_ORDER, :dim]


def _visibility(rec: dict, J: int) -> np.ndarray:
    if "joints_vis" not in rec:
        return np.ones(J, bool)
    v = np.asarray(rec["joints_vis"], dtype=np.float64)
    v = v[:, 0] if v.ndim == 2 else v
    return v[TO_BOOK_ORDER] > 0


def records_from_scenes(scenes, subject: int = 9, action: int = 2, subaction: int = 1) -> list:
    """Per-image records in the H36M-Toolbox layout from synthetic :class:`~crossview.Scenes`.

    Used to make tiny files of the real layout for tests and for the book; the values
    are synthetic.
    """
    H, W = scenes.heatmap_size
    mid = np.array([[(W - 1) / 2, (H - 1) / 2]])
    records = []
    for f in range(scenes.n_frames):
        for v, cam in enumerate(scenes.cameras):
            box = scenes.head_sizes[f, v] * 10.0   # the crop width
            center = heatmap_to_image(mid, scenes.affines[f, v])[0]
            records.append({
                "image": f"s_{subject:02d}_act_{action:02d}_subact_{subaction:02d}_ca_{v + 1:02d}/"
                         f"s_{subject:02d}_act_{action:02d}_subact_{subaction:02d}_ca_{v + 1:02d}_"
                         f"{f + 1:06d}.jpg",
                "joints_2d": scenes.joints2d[f, v].copy(),
                "joints_3d": cam.world_to_camera(scenes.joints3d[f]),
                "joints_vis": np.repeat(scenes.visible[f, v][:, None].astype(np.float64), 3, 1),
                "camera": camera_to_record(cam), "center": center,
                "scale": np.array([box / 200.0, box / 200.0]), "subject": subject,
                "action": action, "subaction": subaction, "image_id": f + 1, "camera_id": v,
                "source": "h36m",
            })
    return records


def write_records(path: str | Path, records: list) -> Path:
    """Pickle records the way H36M-Toolbox does (a plain list of dicts)."""
    path = Path(path)
    with open(path, "wb") as f:
        pickle.dump(records, f, protocol=2)
    return path
