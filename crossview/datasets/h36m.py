"""Real Human3.6M annotations in the layout of H36M-Toolbox, as the paper's code reads them.

The paper's official code reads ``h36m_train.pkl`` / ``h36m_validation.pkl`` prepared
by H36M-Toolbox (github.com/CHUNYUWANG/H36M-Toolbox, ``generate_labels.py``): a pickled
``list`` of per-image ``dict`` records, in the order of the toolbox's loops (subject,
action, subaction, camera, frame), with these keys and value types:

* ``image`` ``str``: the image path relative to ``images/``;
* ``joints_2d`` ``(17, 2)``: image pixels (as the distorted camera sees them);
* ``joints_3d`` ``(17, 3)``: the pose with every subject's limbs set to one *universal*
  set of lengths, camera frame, millimetres (Human3.6M's ``D3_Positions_mono_universal``);
* ``joints_3d_camera`` ``(17, 3)``: the subject's own joints in the *camera* frame,
  millimetres (``D3_Positions_mono``); the joints are float64 or float32 arrays;
* ``joints_vis`` ``(17, 3)`` float64: 1 where the joint is annotated (all of them);
* ``video_id``, ``image_id`` (from 1), ``subject``, ``action``, ``subaction``,
  ``camera_id`` (0-3): ``int``; ``source``: ``"h36m"``;
* ``camera``: a ``dict`` shared by the records of one video, ``R`` ``(3, 3)``, ``T``
  ``(3, 1)``, ``fx``, ``fy``, ``cx``, ``cy`` arrays of shape ``(1,)`` (rows of the
  calibration's ``(2, 1)`` arrays), ``k`` ``(3, 1)``, ``p`` ``(2, 1)``, with Human3.6M's
  convention ``x_cam = R (X - T)``: ``T`` is the camera *centre* in the world, not the
  translation of ``x_cam = R X + t`` used by this library;
* ``center`` and ``scale``: tuples of two NumPy float scalars, the person's box centre
  and its size divided by 200; ``box`` ``(4,)``: the box's corners ``(x0, y0, x1, y1)``.

The joints are already in the book's (Human3.6M) order. Human3.6M's lens model is the
OpenCV model with ``dist = (k[0], k[1], p[0], p[1], k[2])``. The paper's code projects
with one focal length ``f = (fx + fy) / 2`` (``lib/multiviews/cameras.py``); the cameras
made here keep ``fx`` and ``fy`` apart unless asked for the paper's (``focal="average"``).

Some images are missing in the data set, and the toolbox skips their records, so some
frames lack a view. The paper's code keeps only frames with all four views
(``get_group`` in ``lib/dataset/multiview_h36m.py``), in the order in which their keys
first appear in the file, and evaluates every 64th of them over the whole validation
file; :func:`load_h36m` does the same by default.

Pickle files can run arbitrary code when loaded, so :func:`load_h36m` reads them with
an unpickler that admits only plain containers, strings, numbers and NumPy arrays. It
reads the open file as a stream (no copy of the file's bytes in memory) and protocols 2
to 5 as written by NumPy 1.x (``numpy.core``) or 2.x (``numpy._core``).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validate import check_int, check_positive, check_size
from ..camera import Camera, rig_groups
from ..heatmap import crop_affine, heatmap_to_image, image_to_heatmap
from ..skeleton import LIMB_PRIOR, SKELETON

#: The joint names of H36M-Toolbox's 17-joint records, in file order.
TOOLBOX_JOINTS = ("root", "rhip", "rkne", "rank", "lhip", "lkne", "lank", "belly", "neck",
                  "nose", "head", "lsho", "lelb", "lwri", "rsho", "relb", "rwri")
#: Index into the file's joints for each of the book's joints (the orders coincide).
TO_BOOK_ORDER = np.array([TOOLBOX_JOINTS.index(n) for n in SKELETON.names])

REQUIRED_KEYS = ("joints_2d", "camera", "subject", "action", "subaction", "image_id",
                 "camera_id", "center", "scale")
#: The fields that key a synchronised frame, in the paper's code's order.
FRAME_KEYS = ("subject", "action", "subaction", "image_id")
#: Where a record may keep its 3D joints (camera frame, mm), in order of preference.
JOINTS3D_KEYS = ("joints_3d_camera", "joints_3d")
CAMERA_KEYS = ("R", "T", "fx", "fy", "cx", "cy", "k", "p")
#: ``stride_over``: ``"file"``, the paper's code (every ``every``-th complete frame of the
#: whole file, in file order, then the subject / action filter); ``"selection"`` (the
#: filter first, then every ``every``-th complete frame sorted by subject, action,
#: subaction and image).
STRIDES = ("file", "selection")
#: ``world_from``: the world joints of view 0 (``camera_id`` 0), as the paper's code scores
#: against, or the mean over the views.
WORLD_FROM = ("first", "mean")
#: ``focal``: ``fx`` and ``fy`` as stored, or both set to ``(fx + fy) / 2`` as the paper's
#: code projects.
FOCALS = ("separate", "average")

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
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _ALLOWED_GLOBALS:
            if module.startswith("numpy.core."):  # files written by NumPy 1.x
                module = "numpy._core." + module[len("numpy.core."):]
            return super().find_class(module, name)
        if module == "numpy.dtypes" and name.endswith("DType"):
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refusing to load {module}.{name}: an annotation file may hold only lists, dicts, "
            "numbers, strings and NumPy arrays (pickles can run code; this one tries to)")


def safe_load_pickle(path: str | Path) -> object:
    """Unpickle ``path`` admitting only plain containers, numbers, strings and arrays.

    The unpickler reads the open file as a stream, so memory holds the loaded objects
    and not also the file's bytes. Raises :class:`UnsafePickleError` (a ``ValueError``)
    for anything else, and ``ValueError`` for a file that is not a pickle.
    """
    with open(path, "rb", buffering=1 << 20) as f:
        try:
            return _RestrictedUnpickler(f, encoding="latin1").load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError,
                KeyError, TypeError, ValueError, UnicodeDecodeError, OverflowError) as exc:
            raise ValueError(f"{path} is not a readable pickle file: {exc}") from None


# ---------------------------------------------------------------------- values
def _describe(value) -> str:
    """A short description of a value for error messages: its type, and shape for arrays."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _numeric(value, where: str, what: str) -> np.ndarray:
    """``value`` as a float64 array, refusing strings, booleans and other non-numbers."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):   # ragged nesting
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        raise ValueError(f"{where} must be {what}, got {_describe(value)}")
    return arr.astype(np.float64, copy=False)


def _number(value, where: str) -> float:
    """One finite number: a Python or NumPy scalar, or an array holding one (the toolbox's
    ``fx`` is an array of shape ``(1,)``, a row of the calibration's ``(2, 1)`` array)."""
    what = "one finite number (a scalar, or an array of shape (1,) or (1, 1))"
    arr = _numeric(value, where, what)
    if arr.size != 1 or arr.ndim > 2 or not np.isfinite(arr).all():
        raise ValueError(f"{where} must be {what}, got {_describe(value)}")
    return float(arr.reshape(()))


def _values(value, where: str, sizes: tuple[int, ...]) -> np.ndarray:
    """A flat float64 vector of one of ``sizes`` finite numbers (a tuple of NumPy scalars, a
    list or an array of any shape with that many entries)."""
    arr = _numeric(value, where, f"{' or '.join(map(str, sizes))} finite numbers").ravel()
    if arr.size not in sizes or not np.isfinite(arr).all():
        raise ValueError(f"{where} must be {' or '.join(map(str, sizes))} finite numbers, got "
                         f"{_describe(value)}")
    return arr


def _integer(value, where: str) -> int:
    if type(value) is int:            # the toolbox's ints: the common case, checked first
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise ValueError(f"{where} must be an integer, got {_describe(value)}")


def _matrix(value, where: str, shape: tuple[int, int]) -> np.ndarray:
    arr = _numeric(value, where, f"a {shape[0]} x {shape[1]} array")
    if arr.size != shape[0] * shape[1] or arr.ndim > 2 or not np.isfinite(arr).all():
        raise ValueError(f"{where} must be a finite {shape[0]} x {shape[1]} array, got "
                         f"{_describe(value)}")
    return arr.reshape(shape)


# ---------------------------------------------------------------------- cameras
def _check_focal(focal: str) -> str:
    if focal not in FOCALS:
        raise ValueError(f"focal must be one of {FOCALS}, got {focal!r}")
    return focal


def camera_from_record(cam: dict, name: str | None = None, focal: str = "separate",
                       where: str = "camera") -> Camera:
    """A :class:`~crossview.Camera` from a Human3.6M camera dict (``x_cam = R (X - T)``).

    ``fx``, ``fy``, ``cx``, ``cy`` may be Python or NumPy scalars or arrays of one number
    (the toolbox stores arrays of shape ``(1,)``). ``focal="separate"`` keeps ``fx`` and
    ``fy`` as stored; ``"average"`` sets both to ``(fx + fy) / 2``, the one focal length
    the paper's code projects with (``f = 0.5 * (fx + fy)`` in ``lib/multiviews/cameras.py``;
    they differ by up to 0.37 px on S1's cameras). ``where`` names the camera in error
    messages (e.g. ``"record 12 key 'camera'"``).
    """
    _check_focal(focal)
    if not isinstance(cam, dict):
        raise ValueError(f"{where} must be a dict, got {_describe(cam)}")
    missing = [k for k in CAMERA_KEYS if k not in cam]
    if missing:
        raise ValueError(f"{where} lacks {missing}; expected keys {list(CAMERA_KEYS)}")
    R = _matrix(cam["R"], f"{where} entry 'R'", (3, 3))
    T = _values(cam["T"], f"{where} entry 'T' (the camera centre, mm)", (3,))
    k = _values(cam["k"], f"{where} entry 'k'", (3,))
    p = _values(cam["p"], f"{where} entry 'p'", (2,))
    fx, fy, cx, cy = (_number(cam[key], f"{where} entry {key!r}")
                      for key in ("fx", "fy", "cx", "cy"))
    if focal == "average":
        fx = fy = 0.5 * (fx + fy)
    K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    try:
        return Camera(K, R, -R @ T, dist=[k[0], k[1], p[0], p[1], k[2]], name=name)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def camera_to_record(camera: Camera) -> dict:
    """The inverse of :func:`camera_from_record`, with the toolbox's value types.

    ``R`` ``(3, 3)``, ``T`` ``(3, 1)`` (the centre), ``fx``, ``fy``, ``cx``, ``cy`` arrays of
    shape ``(1,)``, ``k`` ``(3, 1)`` and ``p`` ``(2, 1)``, all float64.
    """
    d = camera.dist
    return {"R": camera.R.copy(), "T": camera.center.reshape(3, 1),
            "fx": np.array([camera.fx]), "fy": np.array([camera.fy]),
            "cx": np.array([camera.cx]), "cy": np.array([camera.cy]),
            "k": np.array([[d[0]], [d[1]], [d[4]]]), "p": np.array([[d[2]], [d[3]]])}


def _camera_key(cam: dict, where: str) -> bytes:
    parts = [_numeric(cam[k], f"{where} entry {k!r}", "numbers").ravel() for k in CAMERA_KEYS]
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
    images: np.ndarray            #: (F, V) object array of str, paths relative to ``images/``
    joints3d_key: str = "joints_3d_camera"   #: the record field ``joints3d`` was read from
    dropped: int = 0              #: incomplete frames (lacking a view) of the chosen subjects
    world_from: str = "first"     #: ``joints3d`` from view 0 (``"first"``) or the views' mean
    focal: str = "separate"       #: the cameras' focal lengths: ``fx``, ``fy`` or their mean

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
        views = "view 0" if self.world_from == "first" else "the mean of the views"
        return (f"H36MFrames(frames={self.n_frames}, views={self.n_views}, subjects=[{subjects}], "
                f"joints3d from {self.joints3d_key!r} of {views}, focal {self.focal}, "
                f"dropped={self.dropped})")

    def affines(self, heatmap_size: tuple[int, int] = (64, 64),
                official: bool = False) -> np.ndarray:
        """Image -> heatmap affines ``(F, V, 2, 3)`` of each view's box.

        The box ``scale[0] * 200`` pixels wide, centred on ``center``, fills the heatmap's
        width (its height follows the heatmap's aspect ratio), as in the paper's code.
        The book maps the box centre to the heatmap's middle, ``((W - 1) / 2, (H - 1) / 2)``;
        ``official=True`` maps it to ``(W / 2, H / 2)`` like the paper's code does, which
        is what heatmaps of a network trained with that code need (half a heatmap pixel
        matters: several image pixels).
        """
        H, W = check_size(heatmap_size, "heatmap_size")
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
        H, W = check_size(heatmap_size, "heatmap_size")
        out = np.empty((len(idx), self.n_views, SKELETON.n_joints, H, W), np.float32)
        for k, f in enumerate(idx):
            rng = np.random.default_rng([int(seed), int(f)])
            out[k] = synthesize_heatmaps(joints_hm[k], self.visible[f], (H, W), sigma, rng,
                                         **corruption)[0]
        return out


def _index(records, n_views: int) -> dict[tuple[int, int, int, int], list[int]]:
    """``{(subject, action, subaction, image_id): [record index per camera_id, -1 if none]}``.

    The keys are in the order they first appear in the file, like the paper's
    ``get_group``; a later record of the same frame and camera replaces an earlier one,
    as there. Checks that each record is a dict with the keys of the layout.
    """
    if not isinstance(records, list):
        raise ValueError(f"expected a list of per-image records, got {type(records).__name__}")
    required = frozenset(REQUIRED_KEYS)
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ValueError(f"record {i} is a {type(rec).__name__}, expected a dict")
        if not rec.keys() >= required:
            missing = [k for k in REQUIRED_KEYS if k not in rec]
            raise ValueError(f"record {i} lacks {missing}; is this an H36M-Toolbox file?")
        key = (rec["subject"], rec["action"], rec["subaction"], rec["image_id"])
        cam_id = rec["camera_id"]
        # the toolbox writes Python ints; anything else goes through the checked path
        if not (type(key[0]) is type(key[1]) is type(key[2]) is type(key[3]) is int
                and type(cam_id) is int):
            key = tuple(_integer(rec[k], f"record {i} key {k!r}") for k in FRAME_KEYS)
            cam_id = _integer(cam_id, f"record {i} key 'camera_id'")
        if not 0 <= cam_id < n_views:
            raise ValueError(f"record {i} key 'camera_id' is {cam_id}, expected "
                             f"0..{n_views - 1}")
        views = groups.get(key)
        if views is None:
            views = groups[key] = [-1] * n_views
        views[cam_id] = i
    return groups


def _select(groups: dict, every: int, keep_s: set[int] | None, keep_a: set[int] | None,
            stride_over: str, on_missing: str) -> tuple[list, int]:
    """The chosen complete frames, ``(key, record index per view)``, and the number of
    incomplete frames among the chosen subjects and actions."""
    def chosen(key) -> bool:
        return (keep_s is None or key[0] in keep_s) and (keep_a is None or key[1] in keep_a)

    if stride_over == "file":
        # the paper's code: every `every`-th complete frame of the whole file, in file order
        complete = [(key, views) for key, views in groups.items() if -1 not in views]
        picked = [(key, views) for key, views in complete[::every] if chosen(key)]
        incomplete = [key for key, views in groups.items() if -1 in views and chosen(key)]
    else:
        keys = sorted(key for key in groups if chosen(key))
        incomplete = [key for key in keys if -1 in groups[key]]
        picked = [(key, groups[key]) for key in keys if -1 not in groups[key]][::every]
    if incomplete and on_missing == "error":
        key = incomplete[0]
        lacking = [v for v, i in enumerate(groups[key]) if i < 0]
        raise ValueError(
            f"frame subject={key[0]} action={key[1]} subaction={key[2]} image_id={key[3]} "
            f"lacks view(s) {lacking} ({len(incomplete)} incomplete frame(s) in all); pass "
            "on_missing='drop' to skip incomplete frames")
    return picked, len(incomplete)


def group_records(records: list, n_views: int = 4, on_missing: str = "drop",
                  ) -> list[list[dict]]:
    """Group per-image records into synchronised frames, ordered by ``camera_id``.

    Frames come in the order their keys first appear in ``records`` (the paper's
    ``get_group``). A frame lacking a view is dropped (``on_missing="drop"``, what the
    paper's code does) or raises ``ValueError`` (``"error"``).
    """
    _check_choice(on_missing, "on_missing", ("drop", "error"))
    n_views = check_int(n_views, "n_views", 2)
    picked, _ = _select(_index(records, n_views), 1, None, None, "file", on_missing)
    return [[records[i] for i in views] for _, views in picked]


def _check_choice(value, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


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


def load_h36m(path: str | Path, subjects=None, actions=None, every: int = 64, n_views: int = 4,
              on_missing: str = "drop", tolerance_mm: float = 1.0,
              joints3d_key: str | None = None, stride_over: str = "file",
              world_from: str = "first", focal: str = "separate") -> H36MFrames:
    """Read an H36M-Toolbox annotation pickle into synchronised multi-view frames.

    By default frames are chosen and scored as the paper's official code does:
    complete frames in the order they first appear in the file, every 64th of them
    over the whole file (``get_group()[::64]`` for validation in
    ``lib/dataset/multiview_h36m.py``; ``every=1`` keeps all), and world joints from
    ``joints_3d_camera`` of the frame's first view (``camera_to_world_frame`` in
    ``run/pose3d/estimate.py`` since its commit e1211e3 of 2019-11-05; before that
    commit the code used ``joints_3d``).

    Parameters
    ----------
    path : ``h36m_train.pkl``, ``h36m_validation.pkl`` or a file of the same layout.
    subjects, actions : keep only these subject / action numbers (``None``: all);
        subjects may also be written ``"S9"``.
    every : keep every ``every``-th complete frame: 64 (the default) as the paper's code
        evaluates, 5 as it trains, 1 for all.
    n_views : cameras per frame (``camera_id`` runs over ``0 .. n_views - 1``).
    on_missing : ``"drop"`` (the paper's code) or ``"error"`` for frames that lack a view
        (Human3.6M has some); :attr:`H36MFrames.dropped` counts those of the chosen
        subjects and actions.
    tolerance_mm : the views' 3D joints, brought to the world frame, must agree this
        closely; a larger disagreement means the cameras or joints are not of the layout
        described in this module.
    joints3d_key : the record field of the 3D truth: ``"joints_3d_camera"`` (the subject's
        own pose, which the images and ``joints_2d`` show, and what the paper's code scores
        against), ``"joints_3d"`` (the universal skeleton, what it scored against before
        commit e1211e3), or ``None`` for the first of these that the records hold.
    stride_over : ``"file"`` (the paper's code: the stride runs over all complete frames
        of the file in file order, then ``subjects`` / ``actions`` filter the chosen ones)
        or ``"selection"`` (the filter first, then the stride over the remaining frames
        sorted by subject, action, subaction and image).
    world_from : ``"first"`` (view 0's joints taken to the world, as the paper's code) or
        ``"mean"`` (the mean over the views).
    focal : ``"separate"`` (``fx`` and ``fy`` as stored) or ``"average"`` (the paper's code:
        one focal length ``(fx + fy) / 2``), see :func:`camera_from_record`.

    A malformed value raises ``ValueError`` naming the record's index in the file and
    its key.
    """
    path = Path(path)
    every = check_int(every, "every", 1)
    n_views = check_int(n_views, "n_views", 2)
    tolerance_mm = check_positive(tolerance_mm, "tolerance_mm")
    _check_choice(on_missing, "on_missing", ("drop", "error"))
    _check_choice(stride_over, "stride_over", STRIDES)
    _check_choice(world_from, "world_from", WORLD_FROM)
    _check_focal(focal)
    if joints3d_key is not None and joints3d_key not in JOINTS3D_KEYS:
        raise ValueError(f"joints3d_key must be one of {JOINTS3D_KEYS} or None, "
                         f"got {joints3d_key!r}")
    keep_s, keep_a = _ids(subjects, "subjects"), _ids(actions, "actions")
    if not path.is_file():
        raise FileNotFoundError(f"no annotation file at {path}")
    records = safe_load_pickle(path)
    picked, dropped = _select(_index(records, n_views), every, keep_s, keep_a, stride_over,
                              on_missing)
    if not picked:
        raise ValueError(f"{path} holds no complete {n_views}-view frame for this selection")
    if joints3d_key is None:
        first = records[picked[0][1][0]]
        joints3d_key = next((k for k in JOINTS3D_KEYS if k in first), JOINTS3D_KEYS[-1])
    frames = _frames(records, picked, joints3d_key, tolerance_mm, world_from, focal)
    frames.dropped = dropped
    return frames


def _frames(records: list, picked: list, joints3d_key: str, tolerance_mm: float,
            world_from: str, focal: str) -> H36MFrames:
    """The chosen records' values, written straight into preallocated frame arrays.

    Values of the toolbox's own types are copied without conversion; anything else
    goes through the checked conversions. Finiteness is checked once per array at the
    end, and a failure is traced back to its record.
    """
    F, V, J = len(picked), len(picked[0][1]), SKELETON.n_joints
    X = np.empty((F, J, 3))
    x2d = np.empty((F, V, J, 2))
    vis = np.empty((F, V, J), bool)
    centers = np.empty((F, V, 2))
    widths = np.empty((F, V))
    meta = np.array([key for key, _ in picked], dtype=np.int64).reshape(F, 4)
    images = np.empty((F, V), object)
    world = np.empty((V, J, 3))
    # One Camera per calibration and view, one list per rig. The toolbox shares a camera
    # dict between the records of a video, so each dict is read once (kept referenced, so
    # that its id stays its own).
    by_dict: dict[int, tuple[dict, list[bytes]]] = {}
    cameras: dict[bytes, Camera] = {}
    rigs: dict[tuple, list[Camera]] = {}
    rig_per_frame = []
    for f, (key, views) in enumerate(picked):
        keys = []
        for v, i in enumerate(views):
            cam = records[i]["camera"]
            seen = by_dict.get(id(cam))
            if seen is None:
                where = f"record {i} key 'camera'"
                camera_from_record(cam, focal=focal, where=where)     # checks every value
                calib = _camera_key(cam, where)
                seen = by_dict[id(cam)] = (cam, [calib + bytes([u]) for u in range(V)])
            k = seen[1][v]
            if k not in cameras:
                cameras[k] = camera_from_record(cam, name=f"camera_id {v}", focal=focal)
            keys.append(k)
        rig = rigs.setdefault(tuple(keys), [cameras[k] for k in keys])
        rig_per_frame.append(rig)
        for v, (i, cam) in enumerate(zip(views, rig)):
            rec = records[i]
            world[v] = (_joints(rec, joints3d_key, 3, i) - cam.t) @ cam.R   # camera -> world
            x2d[f, v] = _joints(rec, "joints_2d", 2, i)
            vis[f, v] = _visibility(rec, J, i)
            centers[f, v] = _pair(rec, "center", i, (2,))
            widths[f, v] = _pair(rec, "scale", i, (1, 2))[0]
            images[f, v] = str(rec.get("image", ""))
        spread = np.abs(world - world[0]).max()
        if not spread <= tolerance_mm:
            bad = ~np.isfinite(world).all(axis=(1, 2))
            if bad.any():
                raise ValueError(f"record {views[int(np.argmax(bad))]} key {joints3d_key!r} "
                                 "holds NaN or infinite values")
            raise ValueError(
                f"the views of frame {key} (records {views}) disagree by {spread:.1f} mm in 3D "
                f"after converting {joints3d_key} from camera to world frame; expected it in "
                "the camera frame (mm) and camera T the camera centre (x_cam = R (X - T))")
        X[f] = world[0] if world_from == "first" else world.mean(0)
    for name, arr in (("joints_2d", x2d), ("center", centers), ("scale", widths)):
        bad = ~np.isfinite(arr.reshape(F, V, -1)).all(-1)
        if bad.any():
            f, v = np.argwhere(bad)[0]
            raise ValueError(f"record {picked[f][1][v]} key {name!r} holds NaN or infinite "
                             "values")
    if not (widths > 0).all():
        f, v = np.argwhere(~(widths > 0))[0]
        raise ValueError(f"record {picked[f][1][v]} key 'scale' must be positive (the box is "
                         "scale * 200 px)")
    return H36MFrames(cameras=rig_per_frame, joints3d=X, joints2d=x2d, visible=vis,
                      box_centers=centers, box_sizes=200.0 * widths, subject=meta[:, 0],
                      action=meta[:, 1], subaction=meta[:, 2], image_id=meta[:, 3],
                      images=images, joints3d_key=joints3d_key, world_from=world_from,
                      focal=focal)


_IDENTITY_ORDER = bool(np.array_equal(TO_BOOK_ORDER, np.arange(len(TOOLBOX_JOINTS))))
_NUMBER_TYPES = (float, int, np.float64, np.float32, np.int64, np.int32)


def _joints(rec: dict, key: str, dim: int, i: int) -> np.ndarray:
    """``rec[key]`` ``(17, >= dim)`` as ``(J, dim)`` in the book's order (finiteness is
    checked by the caller, on all frames at once)."""
    if key not in rec:
        others = [k for k in JOINTS3D_KEYS if k in rec and k != key]
        hint = f" (it has {others[0]!r}: pass joints3d_key={others[0]!r})" if others else ""
        raise ValueError(f"record {i} lacks the key {key!r}{hint}")
    arr = rec[key]
    if not (type(arr) is np.ndarray and arr.dtype.kind in "iuf"):   # else: the toolbox's own
        arr = _numeric(arr, f"record {i} key {key!r}", f"a (17, {dim}) array of numbers")
    if arr.ndim != 2 or arr.shape[0] != len(TOOLBOX_JOINTS) or arr.shape[1] < dim:
        raise ValueError(f"record {i} key {key!r} must have shape (17, {dim}), got "
                         f"{_describe(rec[key])}")
    arr = arr[:, :dim]
    return arr if _IDENTITY_ORDER else arr[TO_BOOK_ORDER]


def _pair(rec: dict, key: str, i: int, sizes: tuple[int, ...]):
    """``center`` or ``scale``: the toolbox's tuple of two NumPy scalars as it is, anything
    else through :func:`_values`."""
    value = rec[key]
    if (type(value) is tuple and len(value) == 2 and type(value[0]) in _NUMBER_TYPES
            and type(value[1]) in _NUMBER_TYPES):
        return value
    return _values(value, f"record {i} key {key!r}", sizes)


def _visibility(rec: dict, J: int, i: int) -> np.ndarray:
    if "joints_vis" not in rec:
        return np.ones(J, bool)
    v = rec["joints_vis"]
    if not (type(v) is np.ndarray and v.dtype.kind in "iuf"):
        v = _numeric(v, f"record {i} key 'joints_vis'", "a (17, 3) or (17,) array of numbers")
    v = v[:, 0] if v.ndim == 2 else v
    if v.shape != (len(TOOLBOX_JOINTS),):
        raise ValueError(f"record {i} key 'joints_vis' must have shape (17, 3) or (17,), got "
                         f"{_describe(rec['joints_vis'])}")
    return (v if _IDENTITY_ORDER else v[TO_BOOK_ORDER]) > 0


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


def records_from_scenes(scenes, subject: int = 9, action: int = 2, subaction: int = 1,
                        video_id: int = 0) -> list:
    """Per-image records in the H36M-Toolbox layout from synthetic :class:`~crossview.Scenes`.

    Used to make tiny files of the real layout for the book; the values are synthetic,
    the types and the order are the toolbox's: records run over cameras, then frames
    (``video_id`` counts the cameras from ``video_id``), every joint is marked annotated,
    ``joints_3d_camera`` holds the pose and ``joints_3d`` its universal-skeleton version
    (:func:`universal_pose`), each camera's dict (:func:`camera_to_record`) is shared by
    its records, ``center`` and ``scale`` are tuples of NumPy float64 scalars and ``box``
    a ``(4,)`` array. The box is the scenes' crop (the toolbox infers its own from the
    root joint).
    """
    H, W = scenes.heatmap_size
    mid = np.array([[(W - 1) / 2, (H - 1) / 2]])
    universal = universal_pose(scenes.joints3d)
    records = []
    for v, cam in enumerate(scenes.cameras):
        camera = camera_to_record(cam)
        name = f"s_{subject:02d}_act_{action:02d}_subact_{subaction:02d}_ca_{v + 1:02d}"
        for f in range(scenes.n_frames):
            width = np.float64(scenes.head_sizes[f, v] * 10.0)
            height = width * H / W
            cx, cy = heatmap_to_image(mid, scenes.affines[f, v])[0]
            box = np.array([cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2])
            records.append({
                "image": f"{name}/{name}_{f + 1:06d}.jpg",
                "joints_2d": scenes.joints2d[f, v].copy(),
                "joints_3d": cam.world_to_camera(universal[f]),
                "joints_3d_camera": cam.world_to_camera(scenes.joints3d[f]),
                "joints_vis": np.ones((len(TOOLBOX_JOINTS), 3)),
                "video_id": video_id + v, "image_id": f + 1, "subject": subject,
                "action": action, "subaction": subaction, "camera_id": v, "source": "h36m",
                "camera": camera,
                "center": (0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])),
                "scale": ((box[2] - box[0]) / 200.0, (box[3] - box[1]) / 200.0),
                "box": box,
            })
    return records


def write_records(path: str | Path, records: list, protocol: int = 3) -> Path:
    """Pickle records the way H36M-Toolbox does: a plain list of dicts, ``pickle.dump`` at
    Python 3.6's default protocol 3 (later Pythons default to 4)."""
    path = Path(path)
    with open(path, "wb") as f:
        pickle.dump(records, f, protocol=protocol)
    return path
