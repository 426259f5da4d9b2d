"""Real Human3.6M annotations in the layout of H36M-Toolbox, as the paper's code reads them.

The paper's official code reads ``h36m_train.pkl`` / ``h36m_validation.pkl`` prepared
by H36M-Toolbox (github.com/CHUNYUWANG/H36M-Toolbox): a pickled ``list`` of per-image
``dict`` records with (among others)

* ``joints_2d`` ``(17, 2)``: image pixels (as the distorted camera sees them);
* ``joints_3d_camera`` ``(17, 3)``: the joints in the *camera* frame, millimetres
  (Human3.6M's ``D3_Positions_mono``);
* ``joints_3d`` ``(17, 3)``: the same pose with every subject's limbs set to one
  *universal* set of lengths, camera frame, millimetres (``D3_Positions_mono_universal``);
  the paper's code scores its 3D estimates against these;
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

from .._validate import check_int, check_positive
from ..camera import Camera, rig_groups
from ..heatmap import _size, crop_affine, heatmap_to_image, image_to_heatmap
from ..skeleton import LIMB_PRIOR, SKELETON

#: The joint names of H36M-Toolbox's 17-joint records, in file order.
TOOLBOX_JOINTS = ("root", "rhip", "rkne", "rank", "lhip", "lkne", "lank", "belly", "neck",
                  "nose", "head", "lsho", "lelb", "lwri", "rsho", "relb", "rwri")
#: Index into the file's joints for each of the book's joints (the orders coincide).
TO_BOOK_ORDER = np.array([TOOLBOX_JOINTS.index(n) for n in SKELETON.names])

REQUIRED_KEYS = ("joints_2d", "camera", "subject", "action", "subaction", "image_id",
                 "camera_id", "center", "scale")
#: Where a record may keep its 3D joints (camera frame, mm), in order of preference.
JOINTS3D_KEYS = ("joints_3d_camera", "joints_3d")
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

    Raises :class:`UnsafePickleError` (a ``ValueError``) for anything else, and
    ``ValueError`` for a file that is not a pickle.
    """
    data = Path(path).read_bytes()
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError,
            TypeError, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise ValueError(f"{path} is not a readable pickle file: {exc}") from None


# ---------------------------------------------------------------------- cameras
def camera_from_record(cam: dict, name: str | None = None) -> Camera:
    """A :class:`~crossview.Camera` from a Human3.6M camera dict (``x_cam = R (X - T)``)."""
    if not isinstance(cam, dict):
        raise ValueError(f"a record's camera must be a dict, got {type(cam).__name__}")
    missing = [k for k in CAMERA_KEYS if k not in cam]
    if missing:
        raise ValueError(f"camera record lacks {missing}; expected keys {list(CAMERA_KEYS)}")
    try:
        R = np.asarray(cam["R"], dtype=np.float64).reshape(3, 3)
        T = np.asarray(cam["T"], dtype=np.float64).reshape(3)
    except ValueError:
        raise ValueError("camera R must have 9 entries (3 x 3) and T 3 (the centre, mm), got "
                         f"shapes {np.shape(cam['R'])} and {np.shape(cam['T'])}") from None
    k = np.asarray(cam["k"], dtype=np.float64).ravel()
    p = np.asarray(cam["p"], dtype=np.float64).ravel()
    if k.size != 3 or p.size != 2:
        raise ValueError(f"camera k must have 3 and p 2 coefficients, got {k.size}, {p.size}")
    K = np.array([[float(cam["fx"]), 0.0, float(cam["cx"])],
                  [0.0, float(cam["fy"]), float(cam["cy"])],
                  [0.0, 0.0, 1.0]])
    return Camera(K, R, -R @ T, dist=[k[0], k[1], p[0], p[1], k[2]], name=name)


def camera_to_record(camera: Camera) -> dict:
    """The inverse of :func:`camera_from_record` (used to write files of this layout)."""
    d = camera.dist
    return {"R": camera.R.copy(), "T": camera.center.reshape(3, 1), "fx": camera.fx,
            "fy": camera.fy, "cx": camera.cx, "cy": camera.cy,
            "k": np.array([[d[0]], [d[1]], [d[4]]]), "p": np.array([[d[2]], [d[3]]])}


def _camera_key(cam: dict) -> bytes:
    parts = [np.asarray(cam[k], dtype=np.float64).ravel() for k in CAMERA_KEYS]
    return np.concatenate(parts).tobytes()


# ---------------------------------------------------------------------- frames
@dataclass
class H36MFrames:
    """Synchronised multi-view frames read from an H36M-Toolbox annotation file.

    ``F`` frames with ``V`` views each. Human3.6M calibrates the cameras per subject, so
    each frame carries its own rig; frames of one subject share the same list object
    (see :meth:`rig_groups`).
    """

    cameras: list[list[Camera]]   #: F rigs of V cameras
    joints3d: np.ndarray          #: (F, J, 3) world mm
    joints2d: np.ndarray          #: (F, V, J, 2) image px
    visible: np.ndarray           #: (F, V, J) bool: annotated in that view
    box_centers: np.ndarray       #: (F, V, 2) image px
    box_sizes: np.ndarray         #: (F, V) image px (the box width, ``scale[0] * 200``)
    subject: np.ndarray           #: (F,) int
    action: np.ndarray            #: (F,) int
    subaction: np.ndarray         #: (F,) int
    image_id: np.ndarray          #: (F,) int
    images: np.ndarray            #: (F, V) str, image paths relative to the data set root
    joints3d_key: str = "joints_3d_camera"   #: the record field ``joints3d`` was read from
    dropped: int = 0              #: frames skipped because they lacked a view

    @property
    def n_frames(self) -> int:
        return len(self.joints3d)

    @property
    def n_views(self) -> int:
        return self.joints2d.shape[1]

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        subjects = ", ".join(f"S{s}" for s in np.unique(self.subject))
        return (f"H36MFrames(frames={self.n_frames}, views={self.n_views}, subjects=[{subjects}], "
                f"joints3d from {self.joints3d_key!r}, dropped={self.dropped})")

    def affines(self, heatmap_size: tuple[int, int] = (64, 64), official: bool = False):
        """Image -> heatmap affines ``(F, V, 2, 3)`` of each view's box.

        The box ``scale[0] * 200`` pixels wide, centred on ``center``, fills the heatmap's
        width (its height follows the heatmap's aspect ratio), as in the paper's code.
        The book maps the box centre to the heatmap's middle, ``((W - 1) / 2, (H - 1) / 2)``;
        ``official=True`` maps it to ``(W / 2, H / 2)`` like the paper's code does, which
        is what heatmaps of a network trained with that code need (half a heatmap pixel
        matters: several image pixels).
        """
        H, W = _size(heatmap_size)
        size = np.stack([self.box_sizes, self.box_sizes * H / W], -1)
        A = crop_affine(self.box_centers, size, (H, W))
        if official:
            A = A.copy()
            A[..., 2] += 0.5
        return A

    @property
    def head_sizes(self) -> np.ndarray:
        """``(F, V)`` image px: a tenth of the box, the JDR unit of the paper's code."""
        return self.box_sizes / 10.0

    def rig_groups(self) -> list[tuple[np.ndarray, list[Camera]]]:
        """Frames that share a rig: a list of ``(frame indices, cameras)``, in frame order."""
        return rig_groups(self.cameras, self.n_frames)

    def render_heatmaps(self, heatmap_size: tuple[int, int] = (64, 64), sigma: float = 2.0,
                        frames=None, seed: int = 0, official: bool = False,
                        **corruption) -> np.ndarray:
        """Heatmaps ``(F', V, J, H, W)`` float32 rendered from the annotated 2D joints.

        These are ground-truth heatmaps (a Gaussian at each annotated joint, in the box
        of :meth:`affines`), optionally corrupted like a detector's output by the knobs
        of :func:`crossview.synth.synthesize_heatmaps` (``jitter``, ``false_peak_prob``,
        ``missing_prob``, ...). ``frames`` (indices, slice or mask; default all) picks the
        frames; each frame draws its corruption from its own seeded stream, so a frame's
        heatmaps do not depend on which others are rendered with it. A full validation
        set is large (about 1.1 MB per 4-view frame at 64 x 64): render it in chunks.
        """
        from ..synth import synthesize_heatmaps

        idx = np.arange(self.n_frames)[slice(None) if frames is None else frames]
        idx = np.atleast_1d(idx)
        sigma = check_positive(sigma, "sigma")
        A = self.affines(heatmap_size, official=official)[idx]
        joints_hm = image_to_heatmap(self.joints2d[idx], A)
        H, W = _size(heatmap_size)
        out = np.empty((len(idx), self.n_views, SKELETON.n_joints, H, W), np.float32)
        for k, f in enumerate(idx):
            rng = np.random.default_rng([int(seed), int(f)])
            out[k] = synthesize_heatmaps(joints_hm[k], self.visible[f], (H, W), sigma, rng,
                                         **corruption)[0]
        return out


def _frame_key(rec: dict) -> tuple[int, int, int, int]:
    return (int(rec["subject"]), int(rec["action"]), int(rec["subaction"]), int(rec["image_id"]))


def _group(records, n_views: int):
    """Records -> ``{frame key: {camera_id: record}}``, checking each record's layout."""
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
    return groups


def group_records(records: list, n_views: int = 4, on_missing: str = "error",
                  ) -> list[list[dict]]:
    """Group per-image records into synchronised frames, ordered by ``camera_id``.

    A frame lacking a view raises ``ValueError`` (``on_missing="error"``) or is
    dropped (``"drop"``, what the paper's code does).
    """
    return _complete_frames(records, n_views, on_missing)[0]


def _complete_frames(records, n_views: int, on_missing: str):
    if on_missing not in ("error", "drop"):
        raise ValueError(f"on_missing must be 'error' or 'drop', got {on_missing!r}")
    groups = _group(records, n_views)
    frames, dropped = [], 0
    for key in sorted(groups):
        views = groups[key]
        if len(views) < n_views:
            if on_missing == "error":
                lacking = sorted(set(range(n_views)) - set(views))
                raise ValueError(
                    f"frame subject={key[0]} action={key[1]} subaction={key[2]} "
                    f"image_id={key[3]} lacks view(s) {lacking}; pass on_missing='drop' to skip "
                    "incomplete frames")
            dropped += 1
            continue
        frames.append([views[v] for v in range(n_views)])
    return frames, dropped


def _ids(values, name: str) -> set[int] | None:
    """Subject or action numbers: ints, or strings like ``"S9"`` / ``"9"``."""
    if values is None:
        return None
    out = set()
    for v in np.atleast_1d(np.asarray(values, dtype=object)).ravel():
        text = str(v).strip()
        if name == "subjects" and text[:1] in ("S", "s"):
            text = text[1:]
        try:
            out.add(int(text))
        except ValueError:
            raise ValueError(f"{name} must be numbers (e.g. 9 or 'S9'), got {v!r}") from None
    return out


def load_h36m(path: str | Path, subjects=None, actions=None, every: int = 1, n_views: int = 4,
              on_missing: str = "error", tolerance_mm: float = 1.0,
              joints3d_key: str | None = None) -> H36MFrames:
    """Read an H36M-Toolbox annotation pickle into synchronised multi-view frames.

    Parameters
    ----------
    path : ``h36m_train.pkl``, ``h36m_validation.pkl`` or a file of the same layout.
    subjects, actions : keep only these subject / action numbers (``None``: all);
        subjects may also be written ``"S9"``.
    every : keep every ``every``-th complete frame (the paper's code evaluates every 64th).
    n_views : cameras per frame (``camera_id`` runs over ``0 .. n_views - 1``).
    on_missing : ``"error"`` or ``"drop"`` for frames that lack a view (Human3.6M has a
        few, and the paper's code drops them); :attr:`H36MFrames.dropped` counts them.
    tolerance_mm : the views' 3D joints, brought to the world frame, must agree this
        closely; a larger disagreement means the cameras or joints are not of the layout
        described in this module.
    joints3d_key : the record field of the 3D truth: ``"joints_3d_camera"`` (the subject's
        own pose, which the images and ``joints_2d`` show), ``"joints_3d"`` (the universal
        skeleton, what the paper's code scores against), or ``None`` for the first of
        these that the records hold.
    """
    path = Path(path)
    every = check_int(every, "every", 1)
    n_views = check_int(n_views, "n_views", 2)
    tolerance_mm = check_positive(tolerance_mm, "tolerance_mm")
    if joints3d_key is not None and joints3d_key not in JOINTS3D_KEYS:
        raise ValueError(f"joints3d_key must be one of {JOINTS3D_KEYS} or None, "
                         f"got {joints3d_key!r}")
    keep_s, keep_a = _ids(subjects, "subjects"), _ids(actions, "actions")
    if not path.is_file():
        raise FileNotFoundError(f"no annotation file at {path}")
    records = safe_load_pickle(path)
    if keep_s is not None or keep_a is not None:
        if not isinstance(records, list):
            raise ValueError("expected a list of per-image records, got "
                             f"{type(records).__name__}")
        records = [r for r in records if not isinstance(r, dict)
                   or ((keep_s is None or int(r.get("subject", -1)) in keep_s)
                       and (keep_a is None or int(r.get("action", -1)) in keep_a))]
    frames, dropped = _complete_frames(records, n_views, on_missing)
    frames = frames[::every]
    if not frames:
        raise ValueError(f"{path} holds no complete {n_views}-view frame for this selection")
    if joints3d_key is None:
        joints3d_key = next((k for k in JOINTS3D_KEYS if k in frames[0][0]), JOINTS3D_KEYS[-1])

    J = SKELETON.n_joints
    rigs: dict[bytes, Camera] = {}     # one Camera per calibration and view, one list per rig
    rig_lists: dict[tuple, list[Camera]] = {}
    cams, X, x2d, vis, centers, sizes, meta, images = [], [], [], [], [], [], [], []
    for views in frames:
        keys = []
        for v, r in enumerate(views):
            key = (_camera_key(r["camera"]) if isinstance(r["camera"], dict) else b"") + bytes([v])
            if key not in rigs:
                rigs[key] = camera_from_record(r["camera"], name=f"camera_id {v}")
            keys.append(key)
        rig = rig_lists.setdefault(tuple(keys), [rigs[k] for k in keys])
        world = np.stack([(_joints(r, joints3d_key, 3) - cam.t) @ cam.R   # camera -> world
                          for r, cam in zip(views, rig)])
        spread = np.abs(world - world[0]).max()
        if spread > tolerance_mm:
            raise ValueError(
                f"the views of frame {_frame_key(views[0])} disagree by {spread:.1f} mm in 3D "
                f"after converting {joints3d_key} from camera to world frame; expected it in "
                "the camera frame (mm) and camera T the camera centre (x_cam = R (X - T))")
        cams.append(rig)
        X.append(world.mean(0))
        x2d.append(np.stack([_joints(r, "joints_2d", 2) for r in views]))
        vis.append(np.stack([_visibility(r, J) for r in views]))
        centers.append(np.stack([_vector(r, "center", 2) for r in views]))
        sizes.append(np.array([200.0 * _vector(r, "scale", 1)[0] for r in views]))
        meta.append(_frame_key(views[0]))
        images.append([str(r.get("image", "")) for r in views])
    sizes = np.stack(sizes)
    if not (sizes > 0).all():
        raise ValueError("record field 'scale' must be positive (the box is scale * 200 px)")
    meta = np.array(meta)
    return H36MFrames(cameras=cams, joints3d=np.stack(X), joints2d=np.stack(x2d),
                      visible=np.stack(vis), box_centers=np.stack(centers), box_sizes=sizes,
                      subject=meta[:, 0], action=meta[:, 1], subaction=meta[:, 2],
                      image_id=meta[:, 3], images=np.array(images), joints3d_key=joints3d_key,
                      dropped=dropped)


def _joints(rec: dict, key: str, dim: int) -> np.ndarray:
    if key not in rec:
        others = [k for k in JOINTS3D_KEYS if k in rec and k != key]
        hint = f" (it has {others[0]!r}: pass joints3d_key={others[0]!r})" if others else ""
        raise ValueError(f"a record lacks the field {key!r}{hint}")
    arr = np.asarray(rec[key], dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != len(TOOLBOX_JOINTS) or arr.shape[1] < dim:
        raise ValueError(f"record field {key!r} must have shape (17, {dim}), got {arr.shape}")
    if not np.isfinite(arr[:, :dim]).all():
        raise ValueError(f"record field {key!r} holds NaN or infinite values")
    return arr[TO_BOOK_ORDER, :dim]


def _vector(rec: dict, key: str, n: int) -> np.ndarray:
    arr = np.asarray(rec[key], dtype=np.float64).ravel()
    if arr.size < n or not np.isfinite(arr).all():
        raise ValueError(f"record field {key!r} must hold {n} finite numbers, got {rec[key]!r}")
    return arr[:n]


def _visibility(rec: dict, J: int) -> np.ndarray:
    if "joints_vis" not in rec:
        return np.ones(J, bool)
    v = np.asarray(rec["joints_vis"], dtype=np.float64)
    v = v[:, 0] if v.ndim == 2 else v
    if v.shape != (len(TOOLBOX_JOINTS),):
        raise ValueError(f"record field 'joints_vis' must have shape (17, 3) or (17,), got "
                         f"{np.shape(rec['joints_vis'])}")
    return v[TO_BOOK_ORDER] > 0


# ---------------------------------------------------------------------- tiny files
def universal_pose(joints3d: np.ndarray, limb_lengths: np.ndarray | None = None) -> np.ndarray:
    """Poses ``(..., J, 3)`` with every limb set to ``limb_lengths`` ``(J,)`` (default: the
    prior's means), keeping the root and each limb's direction.

    This is how the tiny files of :func:`records_from_scenes` fill ``joints_3d``, in the
    spirit of Human3.6M's universal skeleton (the same limb lengths for every subject).
    """
    X = np.asarray(joints3d, dtype=np.float64)
    L = LIMB_PRIOR.mean if limb_lengths is None else np.asarray(limb_lengths, dtype=np.float64)
    out = X.copy()
    for j, p in enumerate(SKELETON.parents):
        if p >= 0:   # parents precede children: out[..., p] is already placed
            d = X[..., j, :] - X[..., p, :]
            out[..., j, :] = out[..., p, :] + d / np.linalg.norm(d, axis=-1,
                                                                 keepdims=True) * L[j]
    return out


def records_from_scenes(scenes, subject: int = 9, action: int = 2, subaction: int = 1) -> list:
    """Per-image records in the H36M-Toolbox layout from synthetic :class:`~crossview.Scenes`.

    Used to make tiny files of the real layout for tests and for the book; the values
    are synthetic. Like the toolbox, every joint is marked annotated, ``joints_3d_camera``
    holds the pose and ``joints_3d`` its universal-skeleton version (:func:`universal_pose`);
    each camera's dict is shared by its records.
    """
    H, W = scenes.heatmap_size
    mid = np.array([[(W - 1) / 2, (H - 1) / 2]])
    universal = universal_pose(scenes.joints3d)
    cam_records = [camera_to_record(cam) for cam in scenes.cameras]
    records = []
    for f in range(scenes.n_frames):
        for v, cam in enumerate(scenes.cameras):
            width = scenes.head_sizes[f, v] * 10.0
            height = width * H / W
            cx, cy = heatmap_to_image(mid, scenes.affines[f, v])[0]
            name = f"s_{subject:02d}_act_{action:02d}_subact_{subaction:02d}_ca_{v + 1:02d}"
            records.append({
                "image": f"{name}/{name}_{f + 1:06d}.jpg",
                "joints_2d": scenes.joints2d[f, v].copy(),
                "joints_3d": cam.world_to_camera(universal[f]),
                "joints_3d_camera": cam.world_to_camera(scenes.joints3d[f]),
                "joints_vis": np.ones((len(TOOLBOX_JOINTS), 3)),
                "video_id": v, "image_id": f + 1, "subject": subject, "action": action,
                "subaction": subaction, "camera_id": v, "source": "h36m",
                "camera": cam_records[v], "center": (cx, cy),
                "scale": (width / 200.0, height / 200.0),
                "box": np.array([cx - width / 2, cy - height / 2, cx + width / 2,
                                 cy + height / 2]),
            })
    return records


def write_records(path: str | Path, records: list) -> Path:
    """Pickle records the way H36M-Toolbox does (a plain list of dicts)."""
    path = Path(path)
    with open(path, "wb") as f:
        pickle.dump(records, f, protocol=2)
    return path
