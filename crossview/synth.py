"""Seeded synthetic multi-view scenes on the Human3.6M skeleton.

Everything here is *synthetic*: a kinematic model walks a person around the
capture space (walking, turning, stopping for arm gestures, bending, squatting),
with limb lengths drawn per subject by :mod:`crossview.people` from distributions
wider than and different from the solver's prior (:data:`crossview.LIMB_PRIOR`).
The poses are projected into every camera of a rig; a capsule body model and
occluding objects (pillars, boxes; both in :mod:`crossview.body`) decide which joints
each camera sees; crops, affines and (optionally corrupted) ground-truth heatmaps
complete a scene set. :mod:`crossview.render` draws images of these scenes.

The single entry point for most readers is :func:`make_scenes`.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ._validate import check_int, check_positive
from .body import Occluder, place_occluders, rig_focus, visibility
from .camera import Camera, load_rig
from .heatmap import bounding_box, crop_affine, image_to_heatmap, render_heatmaps
from .people import sample_limb_lengths
from .skeleton import SKELETON

# Rest directions of each bone in the body frame (x right, y forward, z up): the
# vector from the joint's parent to the joint in a standing pose, arms hanging.
_REST = np.array([
    [0, 0, 0],                       # root
    [1, 0, 0], [0, 0, -1], [0, 0, -1],     # right hip, knee, ankle
    [-1, 0, 0], [0, 0, -1], [0, 0, -1],    # left hip, knee, ankle
    [0, 0, 1], [0, 0, 1],            # belly, neck
    [0, 0.45, 0.89], [0, -0.3, 0.95],      # nose, head
    [-1, 0, 0], [0, 0, -1], [0, 0, -1],    # left shoulder, elbow, wrist
    [1, 0, 0], [0, 0, -1], [0, 0, -1],     # right shoulder, elbow, wrist
], dtype=np.float64)
_REST /= np.maximum(np.linalg.norm(_REST, axis=1, keepdims=True), 1e-12)

GESTURES = ("wave_right", "wave_left", "raise_both", "point_right", "point_left", "reach",
            "bend", "squat", "t_pose")
"""Arm and body gestures the motion model performs when it stops walking."""


# ---------------------------------------------------------------------- rotations
def _rot(axis: int, angle):
    """Rotation matrices ``(..., 3, 3)`` about a coordinate axis by ``angle`` (rad)."""
    angle = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[..., axis, axis] = 1.0
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def forward_kinematics(limb_lengths: np.ndarray, local: np.ndarray, body: np.ndarray,
                       root: np.ndarray) -> np.ndarray:
    """Joint positions ``(F, J, 3)`` from local joint rotations.

    ``limb_lengths`` ``(J,)``; ``local`` ``(F, J, 3, 3)`` is the rotation applied at
    each joint to everything below it; ``body`` ``(F, 3, 3)`` turns the body frame
    into the world frame; ``root`` ``(F, 3)`` is the root position (mm).
    """
    F, J = local.shape[:2]
    G = np.empty_like(local)
    X = np.empty((F, J, 3))
    G[:, 0] = body @ local[:, 0]
    X[:, 0] = root
    for j in range(1, J):
        p = SKELETON.parents[j]
        X[:, j] = X[:, p] + (G[:, p] @ _REST[j]) * limb_lengths[j]
        G[:, j] = G[:, p] @ local[:, j]
    return X


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def simulate_motion(n_frames: int, limb_lengths: np.ndarray, rng: np.random.Generator,
                    fps: float = 5.0, area_radius: float = 1500.0,
                    area_center: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, list[str]]:
    """One subject's motion: joints ``(n_frames, J, 3)`` (mm) and the activity of each frame.

    A state machine alternates *walking* to random way-points inside a disc of
    ``area_radius`` around ``area_center`` (turning at a bounded rate, slowing in
    sharp turns) and *gestures* performed standing (see :data:`GESTURES`). Walking
    drives a gait cycle (hip and knee flexion, counter-swinging arms, torso twist);
    the stance foot stays on the floor (``z = 0``). The model is simulated at 50 Hz
    and sampled at ``fps``.
    """
    n_frames = check_int(n_frames, "n_frames", 1)
    fps = check_positive(fps, "fps")
    dt = 0.02
    sub = max(1, round(1.0 / (fps * dt)))
    steps = n_frames * sub
    stature = limb_lengths[2] / 0.245
    speed = rng.uniform(0.9, 1.4) * stature / 1750.0 * 1000.0      # mm/s
    stride = 0.8 * stature                                          # mm per gait cycle
    swing_hip, swing_knee, swing_arm = (np.deg2rad(rng.uniform(*r)) for r in
                                        ((20, 30), (50, 65), (12, 25)))
    leg_abd = np.deg2rad(rng.uniform(2, 6))
    arm_abd = np.deg2rad(rng.uniform(6, 12))
    center = np.asarray(area_center, dtype=np.float64)

    def waypoint():
        r = area_radius * np.sqrt(rng.uniform(0.0, 1.0))
        a = rng.uniform(0, 2 * np.pi)
        return center + r * np.array([np.cos(a), np.sin(a)])

    pos = center + 0.7 * (waypoint() - center)
    heading = rng.uniform(0, 2 * np.pi)
    phase, walk = rng.uniform(0, 2 * np.pi), 0.0
    mode = "walk" if rng.uniform() < 0.6 else "gesture"
    target = waypoint()
    gesture, g_t, g_dur = rng.choice(GESTURES), 0.0, rng.uniform(2.0, 4.0)

    names = ("hip_r", "hip_l", "knee_r", "knee_l", "sho_flex_r", "sho_flex_l", "sho_abd_r",
             "sho_abd_l", "elb_r", "elb_l", "bend", "twist", "head")
    ang = {k: np.zeros(steps) for k in names}
    xy, yaw, activity = np.zeros((steps, 2)), np.zeros(steps), []
    for s in range(steps):
        if mode == "walk":
            delta = target - pos
            dist = np.linalg.norm(delta)
            err = (np.arctan2(delta[1], delta[0]) - heading + np.pi) % (2 * np.pi) - np.pi
            heading += np.clip(err, -np.deg2rad(150) * dt, np.deg2rad(150) * dt)
            v = speed * max(0.0, np.cos(err)) * min(1.0, dist / 300.0)
            pos = pos + v * dt * np.array([np.cos(heading), np.sin(heading)])
            walk += (v / speed - walk) * min(1.0, dt / 0.3)
            if dist < 150.0:
                if rng.uniform() < 0.6:
                    mode, gesture, g_t = "gesture", rng.choice(GESTURES), 0.0
                    g_dur = rng.uniform(2.0, 4.0)
                target = waypoint()
            env = 0.0
        else:
            walk += (0.0 - walk) * min(1.0, dt / 0.3)
            g_t += dt
            env = float(_smoothstep(g_t / 0.7) * _smoothstep((g_dur - g_t) / 0.7))
            if g_t >= g_dur:
                mode, target = "walk", waypoint()
        phase += 2 * np.pi * walk * speed / stride * dt
        sp, cp = np.sin(phase), np.cos(phase)
        a = {k: 0.0 for k in names}
        a["hip_r"], a["hip_l"] = walk * swing_hip * sp, -walk * swing_hip * sp
        a["knee_r"] = np.deg2rad(4) + walk * swing_knee * max(0.0, cp) ** 2
        a["knee_l"] = np.deg2rad(4) + walk * swing_knee * max(0.0, -cp) ** 2
        a["sho_flex_r"], a["sho_flex_l"] = -walk * swing_arm * sp, walk * swing_arm * sp
        a["elb_r"] = a["elb_l"] = np.deg2rad(10) + walk * np.deg2rad(15)
        a["bend"], a["twist"] = walk * np.deg2rad(5), walk * np.deg2rad(6) * sp
        if env > 0:
            _apply_gesture(a, str(gesture), env, g_t)
        for k in names:
            ang[k][s] = a[k]
        xy[s], yaw[s] = pos, heading
        activity.append("walk" if walk > 0.3 else (str(gesture) if env > 0.05 else "stand"))

    idx = np.arange(0, steps, sub)
    ang = {k: v[idx] for k, v in ang.items()}
    F, J = len(idx), SKELETON.n_joints
    local = np.tile(np.eye(3), (F, J, 1, 1))
    local[:, 1] = _rot(1, -leg_abd) @ _rot(0, ang["hip_r"])
    local[:, 2] = _rot(0, -ang["knee_r"])
    local[:, 4] = _rot(1, leg_abd) @ _rot(0, ang["hip_l"])
    local[:, 5] = _rot(0, -ang["knee_l"])
    local[:, 7] = _rot(0, -0.6 * ang["bend"])
    local[:, 8] = _rot(2, ang["twist"]) @ _rot(0, -0.4 * ang["bend"])
    local[:, 9] = _rot(0, -ang["head"])
    local[:, 11] = _rot(1, arm_abd + ang["sho_abd_l"]) @ _rot(0, ang["sho_flex_l"])
    local[:, 12] = _rot(0, ang["elb_l"])
    local[:, 14] = _rot(1, -arm_abd - ang["sho_abd_r"]) @ _rot(0, ang["sho_flex_r"])
    local[:, 15] = _rot(0, ang["elb_r"])
    body = _rot(2, yaw[idx] - np.pi / 2)
    root = np.concatenate([xy[idx], np.zeros((F, 1))], axis=1)
    joints = forward_kinematics(limb_lengths, local, body, root)
    ankle_height = 0.039 * stature  # Drillis and Contini: ankle height 0.039 H
    joints[..., 2] += ankle_height - np.minimum(joints[:, 3, 2], joints[:, 6, 2])[:, None]
    return joints, [activity[i] for i in idx]


def _apply_gesture(a: dict, gesture: str, env: float, t: float) -> None:
    d = np.deg2rad
    wave = d(50) + d(35) * np.sin(2 * np.pi * 1.5 * t)
    if gesture == "wave_right":
        a["sho_abd_r"] += env * d(130)
        a["elb_r"] = (1 - env) * a["elb_r"] + env * wave
    elif gesture == "wave_left":
        a["sho_abd_l"] += env * d(130)
        a["elb_l"] = (1 - env) * a["elb_l"] + env * wave
    elif gesture == "raise_both":
        a["sho_abd_r"] += env * d(160)
        a["sho_abd_l"] += env * d(160)
    elif gesture == "point_right":
        a["sho_flex_r"] += env * d(85)
        a["twist"] += env * d(15)
    elif gesture == "point_left":
        a["sho_flex_l"] += env * d(85)
        a["twist"] -= env * d(15)
    elif gesture == "reach":
        a["sho_flex_r"] += env * d(70)
        a["sho_flex_l"] += env * d(70)
        a["elb_r"] += env * d(20)
        a["elb_l"] += env * d(20)
        a["bend"] += env * d(25)
    elif gesture == "bend":
        a["bend"] += env * d(55)
        a["sho_flex_r"] += env * d(30)
        a["sho_flex_l"] += env * d(30)
        a["head"] += env * d(15)
    elif gesture == "squat":
        a["hip_r"] += env * d(85)
        a["hip_l"] += env * d(85)
        a["knee_r"] += env * d(115)
        a["knee_l"] += env * d(115)
        a["bend"] += env * d(35)
        a["sho_flex_r"] += env * d(75)
        a["sho_flex_l"] += env * d(75)
    elif gesture == "t_pose":
        a["sho_abd_r"] += env * d(90)
        a["sho_abd_l"] += env * d(90)
    else:  # pragma: no cover - GESTURES is closed
        raise ValueError(f"unknown gesture {gesture!r}")


# ---------------------------------------------------------------------- heatmaps
def _check_corruption(jitter, false_peak_prob, false_peak_strength, missing_prob,
                      occluded_scale) -> None:
    for name, value, hi in (("jitter", jitter, np.inf), ("false_peak_prob", false_peak_prob, 1.0),
                            ("missing_prob", missing_prob, 1.0),
                            ("occluded_scale", occluded_scale, np.inf)):
        v = float(value)
        if not (np.isfinite(v) and 0.0 <= v <= hi):
            bound = "a finite number >= 0" if hi == np.inf else "a probability in [0, 1]"
            raise ValueError(f"{name} must be {bound}, got {value!r}")
    lo, hi = (float(x) for x in false_peak_strength)
    if not 0.0 < lo <= hi < np.inf:
        raise ValueError("false_peak_strength must be (low, high) with 0 < low <= high, got "
                         f"{false_peak_strength!r}")


def synthesize_heatmaps(joints_hm: np.ndarray, visible: np.ndarray, size: tuple[int, int],
                        sigma: float, rng: np.random.Generator, jitter: float = 0.0,
                        false_peak_prob: float = 0.0,
                        false_peak_strength: tuple[float, float] = (0.9, 1.3),
                        missing_prob: float = 0.0,
                        occluded_scale: float = 1.0) -> tuple[np.ndarray, dict]:
    """Ground-truth heatmaps with controlled corruption, like a 2D detector's output.

    ``joints_hm`` ``(..., J, 2)`` heatmap px; ``visible`` ``(..., J)`` bool.
    Corruption (each drawn independently per view and joint):

    * ``jitter``: the blob centre moves by ``N(0, jitter^2)`` heatmap px per axis;
    * ``missing_prob``: the blob is left out (the map is all zero);
    * ``occluded_scale``: amplitude of joints that are not visible (0 drops them);
    * ``false_peak_prob``: a second blob appears at a uniform random place at least
      ``3 sigma`` from the true one, with amplitude uniform in ``false_peak_strength``
      (above 1 it wins the arg-max).

    Returns ``(heatmaps, info)``: float32 ``(..., J, H, W)`` and a dict with ``peaks``
    (where the true blobs were drawn), ``amplitude``, ``false_peaks`` (NaN where none)
    and ``missing``.
    """
    H, W = size
    _check_corruption(jitter, false_peak_prob, false_peak_strength, missing_prob, occluded_scale)
    shape = joints_hm.shape[:-1]
    peaks = joints_hm + rng.normal(0.0, 1.0, shape + (2,)) * jitter
    missing = rng.uniform(size=shape) < missing_prob
    amp = np.where(visible, 1.0, occluded_scale) * ~missing
    has_false = rng.uniform(size=shape) < false_peak_prob
    fp = np.full(shape + (2,), np.nan)
    if has_false.any():
        n = int(has_false.sum())
        lo = np.array([2.0, 2.0])
        hi = np.array([W - 3.0, H - 3.0])
        cand = rng.uniform(lo, hi, size=(n, 8, 2))
        far = np.linalg.norm(cand - joints_hm[has_false][:, None], axis=-1) > 3 * sigma
        pick = np.where(far.any(1), far.argmax(1), 0)
        fp[has_false] = cand[np.arange(n), pick]
    fp_amp = np.where(has_false, rng.uniform(*false_peak_strength, size=shape), 0.0)
    maps = render_heatmaps(peaks, (H, W), sigma, amplitude=amp)
    if has_false.any():
        extra = render_heatmaps(np.nan_to_num(fp), (H, W), sigma, amplitude=fp_amp)
        maps = np.maximum(maps, extra)
    info = {"peaks": peaks, "amplitude": amp, "false_peaks": fp, "missing": missing}
    return maps, info


# ---------------------------------------------------------------------- scene sets
# The fields of Scenes with one entry per frame (axis 0): what subset() slices and save() writes.
_FRAME_ARRAYS = ("joints3d", "joints2d", "occlusion", "affines", "joints_hm", "head_sizes",
                 "limb_lengths", "subject", "activity")


@dataclass
class Scenes:
    """A set of synthetic multi-view frames (all arrays NumPy; units mm and pixels).

    ``F`` frames, ``V`` views, ``J = 17`` joints, heatmaps ``H x W``.
    """

    cameras: list[Camera]
    joints3d: np.ndarray          #: (F, J, 3) world mm
    joints2d: np.ndarray          #: (F, V, J, 2) image px (distorted, as a camera sees them)
    occlusion: np.ndarray         #: (F, V, J) int8: 0 visible, 1 self, 2 object, 3 outside image
    affines: np.ndarray           #: (F, V, 2, 3) image px -> heatmap px
    joints_hm: np.ndarray         #: (F, V, J, 2) ground-truth joints in heatmap px
    head_sizes: np.ndarray        #: (F, V) image px: a tenth of the crop width (JDR unit)
    limb_lengths: np.ndarray      #: (F, J) mm, constant within a subject
    subject: np.ndarray           #: (F,) int, which subject each frame shows
    activity: np.ndarray          #: (F,) str: walk, stand or a gesture name
    heatmap_size: tuple[int, int]
    sigma: float
    occluders: tuple[Occluder, ...] = ()
    heatmaps: np.ndarray | None = None     #: (F, V, J, H, W) float32
    corruption: dict = field(default_factory=dict)  #: what :func:`synthesize_heatmaps` did
    seed: int | None = None

    @property
    def visible(self) -> np.ndarray:
        """(F, V, J) bool: the joint is inside the image and not hidden."""
        return self.occlusion == 0

    @property
    def n_frames(self) -> int:
        return self.joints3d.shape[0]

    @property
    def n_views(self) -> int:
        return len(self.cameras)

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        hm = "none" if self.heatmaps is None else "x".join(map(str, self.heatmaps.shape))
        return (f"Scenes(frames={self.n_frames}, views={self.n_views}, subjects="
                f"{len(np.unique(self.subject))}, heatmaps={hm}, visible="
                f"{100 * self.visible.mean():.1f}%, synthetic)")

    def subset(self, frames) -> Scenes:
        """The frames selected by an index array, slice or boolean mask."""
        idx = np.arange(self.n_frames)[frames]
        pick = {k: getattr(self, k)[idx] for k in _FRAME_ARRAYS}
        hm = None if self.heatmaps is None else self.heatmaps[idx]
        corr = {k: v[idx] for k, v in self.corruption.items() if isinstance(v, np.ndarray)}
        corr.update({k: v for k, v in self.corruption.items() if not isinstance(v, np.ndarray)})
        return replace(self, heatmaps=hm, corruption=corr, **pick)

    def with_heatmaps(self, seed: int | None = None, jitter: float = 0.0,
                      false_peak_prob: float = 0.0,
                      false_peak_strength: tuple[float, float] = (0.9, 1.3),
                      missing_prob: float = 0.0, occluded_scale: float = 1.0,
                      sigma: float | None = None) -> Scenes:
        """A copy with freshly rendered heatmaps (see :func:`synthesize_heatmaps`)."""
        sigma = self.sigma if sigma is None else check_positive(sigma, "sigma")
        rng = np.random.default_rng(_child_seed(self.seed if seed is None else seed, 3))
        maps, info = synthesize_heatmaps(
            self.joints_hm, self.visible, self.heatmap_size, sigma, rng, jitter=jitter,
            false_peak_prob=false_peak_prob, false_peak_strength=false_peak_strength,
            missing_prob=missing_prob, occluded_scale=occluded_scale)
        info.update(jitter=jitter, false_peak_prob=false_peak_prob, missing_prob=missing_prob,
                    occluded_scale=occluded_scale)
        return replace(self, heatmaps=maps, corruption=info, sigma=sigma)

    # -------------------------------------------------------------- io
    def save(self, path: str | Path) -> Path:
        """Write to a compressed ``.npz`` (cameras and settings as JSON inside)."""
        path = Path(path)
        meta = {"cameras": {c.name or str(i): c.to_dict() for i, c in enumerate(self.cameras)},
                "heatmap_size": list(self.heatmap_size), "sigma": self.sigma, "seed": self.seed,
                "occluders": [o.to_dict() for o in self.occluders],
                "corruption": {k: v for k, v in self.corruption.items()
                               if not isinstance(v, np.ndarray)},
                "synthetic": True}
        arrays = {k: getattr(self, k) for k in _FRAME_ARRAYS}
        arrays["activity"] = self.activity.astype("U16")
        if self.heatmaps is not None:
            arrays["heatmaps"] = self.heatmaps
        arrays.update({f"corruption_{k}": v for k, v in self.corruption.items()
                       if isinstance(v, np.ndarray)})
        np.savez_compressed(path, meta=json.dumps(meta), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Scenes:
        """Read a file written by :meth:`save` (``python -m crossview synth``).

        Any other file is refused with a ``ValueError`` that says what it holds instead
        (an empty file, text, a pickle, a ``.npy`` array, an archive of other arrays...).
        """
        meta, arrays = _read_scenes_archive(Path(path))
        cams = [Camera.from_dict(d, name=n) for n, d in meta["cameras"].items()]
        corr = dict(meta.get("corruption", {}))
        corr.update({k[len("corruption_"):]: arrays.pop(k) for k in list(arrays)
                     if k.startswith("corruption_")})
        occ = tuple(Occluder(o["kind"], tuple(o["position"]), o["height"], o["radius"],
                             tuple(o["size"])) for o in meta["occluders"])
        return cls(cameras=cams, heatmap_size=tuple(meta["heatmap_size"]), sigma=meta["sigma"],
                   seed=meta["seed"], occluders=occ, corruption=corr,
                   heatmaps=arrays.pop("heatmaps", None), **arrays)


#: What :meth:`Scenes.save` writes besides the per-frame arrays.
_META_KEYS = ("cameras", "heatmap_size", "sigma", "seed", "occluders")


def _read_scenes_archive(path: Path) -> tuple[dict, dict]:
    """``(meta, arrays)`` of a file written by :meth:`Scenes.save`; a ``ValueError`` that
    says what the file holds instead for any other file (missing files raise
    ``FileNotFoundError`` as usual)."""
    def refuse(found: str) -> ValueError:
        return ValueError(f"{path} is not a scenes file written by 'python -m crossview "
                          f"synth': it is {found}")

    if path.is_dir():
        raise refuse("a folder")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise refuse(_file_kind(path)) from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise refuse(f"a NumPy .npy array of shape {z.shape} and dtype {z.dtype}")
    with z:
        missing = [k for k in ("meta", *_FRAME_ARRAYS) if k not in z.files]
        if missing:
            held = ", ".join(z.files[:6]) + (", ..." if len(z.files) > 6 else "")
            lacks = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more of the arrays "
                                              "a scenes file holds" if len(missing) > 3 else "")
            raise refuse(f"an archive holding {held or 'nothing'}, without {lacks}")
        try:
            meta = json.loads(str(z["meta"]))
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or not all(k in meta for k in _META_KEYS):
            raise refuse("a .npz archive whose 'meta' entry is not the JSON settings that "
                         f"Scenes.save writes (keys {', '.join(_META_KEYS)})")
        arrays = {k: z[k] for k in z.files if k != "meta"}
    return meta, arrays


def _file_kind(path: Path) -> str:
    """What a file that NumPy cannot open holds, in a few words (for error messages)."""
    with open(path, "rb") as f:
        head = f.read(256)
    if not head:
        return "an empty file"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy array of Python objects"
    if head.startswith(b"PK"):
        return "a zip archive that NumPy cannot read"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return f"a Python pickle (protocol {head[1]})"
    try:
        # incremental: the 256 bytes may end inside a character
        text = codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        return f"binary data starting with the bytes {head[:8].hex(' ')}"
    first = text.strip().splitlines()[0][:60] if text.strip() else ""
    return f"a text file starting {first!r}"


def _child_seed(seed: int | None, k: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed).spawn(k + 1)[k]


def make_scenes(n_frames: int, rig: str | list[Camera] = "h36m", seed: int | None = 0,
                heatmap_size: tuple[int, int] = (64, 64), sigma: float = 2.0,
                n_subjects: int = 1, fps: float = 5.0, area_radius: float = 1200.0,
                occluders: str | tuple[Occluder, ...] | None = "auto", crop_margin: float = 1.25,
                heatmaps: bool = True, jitter: float = 0.0, false_peak_prob: float = 0.0,
                false_peak_strength: tuple[float, float] = (0.9, 1.3), missing_prob: float = 0.0,
                occluded_scale: float = 1.0, people: str | np.ndarray = "varied") -> Scenes:
    """Synthetic multi-view frames with ground truth and (optionally corrupted) heatmaps.

    Parameters
    ----------
    n_frames : total number of frames, split into ``n_subjects`` contiguous sequences,
        each with its own limb lengths.
    rig : a rig name for :func:`crossview.load_rig` or a list of cameras.
    seed : one integer reproduces everything; motion, occluders and heatmap
        corruption draw from independent streams, so changing a corruption knob
        leaves the poses unchanged.
    heatmap_size : ``(H, W)``; ``sigma`` is the Gaussian's standard deviation in heatmap px.
    fps : sampling rate of the motion (lower = more varied poses per frame).
    area_radius : the person wanders inside this disc (mm) around the rig's target.
    occluders : ``"auto"`` places objects with :func:`place_occluders`, ``None`` or
        ``()`` for none, or a tuple of :class:`Occluder`.
    crop_margin : the crop is the joints' bounding box scaled by this factor, with
        the heatmap's aspect ratio.
    heatmaps : render heatmaps (``F V J H W`` float32; about 1.1 MB per 4-view frame
        at 64 x 64); the corruption knobs are those of :func:`synthesize_heatmaps`.
    people : how the subjects' limb lengths are drawn: ``"varied"`` (default),
        ``"h36m-like"`` or ``"prior"`` (see :mod:`crossview.people`), or an array
        ``(n_subjects, J)`` of limb lengths (mm) to use as they are.
    """
    n_frames = check_int(n_frames, "n_frames", 1)
    n_subjects = check_int(n_subjects, "n_subjects", 1)
    cameras = load_rig(rig) if isinstance(rig, str) else list(rig)
    if len(cameras) < 2 or not all(isinstance(c, Camera) for c in cameras):
        raise ValueError("rig must name a rig or be a list of at least two Camera objects")
    if len(heatmap_size) != 2 or not all(hasattr(n, "__index__") and not isinstance(n, bool)
                                         and n >= 4 for n in heatmap_size):
        raise ValueError(f"heatmap_size must be (H, W) with integers H, W >= 4, got "
                         f"{heatmap_size!r}")
    heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
    motion_rng = np.random.default_rng(_child_seed(seed, 0))
    occ_rng = np.random.default_rng(_child_seed(seed, 1))

    # people stand where the cameras look: the point nearest to all optical axes
    center = rig_focus(cameras)[:2]
    counts = np.diff(np.linspace(0, n_frames, n_subjects + 1).round().astype(int))
    given = _given_people(people, n_subjects)
    joints, lengths, subject, activity = [], [], [], []
    for s, n in enumerate(counts):
        if n == 0:
            continue
        ll = sample_limb_lengths(motion_rng, people=people) if given is None else given[s]
        X, act = simulate_motion(int(n), ll, motion_rng, fps=fps, area_radius=area_radius,
                                 area_center=tuple(center))
        joints.append(X)
        lengths.append(np.tile(ll, (n, 1)))
        subject += [s] * n
        activity += act
    joints3d = np.concatenate(joints)
    if occluders == "auto":
        occluders = place_occluders(cameras, occ_rng, area_radius=area_radius,
                                    area_center=tuple(center))
    occluders = tuple(occluders or ())

    joints2d = np.stack([c.project(joints3d) for c in cameras], axis=1)
    occlusion = visibility(joints3d, cameras, occluders)
    H, W = heatmap_size
    box_c, box_s = bounding_box(joints2d, margin=crop_margin, aspect=W / H)
    affines = crop_affine(box_c, box_s, heatmap_size)
    joints_hm = image_to_heatmap(joints2d, affines)
    scenes = Scenes(cameras=cameras, joints3d=joints3d, joints2d=joints2d, occlusion=occlusion,
                    affines=affines, joints_hm=joints_hm, head_sizes=box_s[..., 0] / 10.0,
                    limb_lengths=np.concatenate(lengths), subject=np.asarray(subject),
                    activity=np.asarray(activity), heatmap_size=heatmap_size,
                    sigma=check_positive(sigma, "sigma"), occluders=occluders, seed=seed)
    if heatmaps:
        scenes = scenes.with_heatmaps(jitter=jitter, false_peak_prob=false_peak_prob,
                                      false_peak_strength=false_peak_strength,
                                      missing_prob=missing_prob, occluded_scale=occluded_scale)
    return scenes


def _given_people(people, n_subjects: int) -> np.ndarray | None:
    """Limb lengths ``(n_subjects, J)`` when ``people`` gives them, ``None`` for a kind's name."""
    if isinstance(people, str):
        return None
    lengths = np.asarray(people, dtype=np.float64)
    J = SKELETON.n_joints
    if lengths.shape == (J,):
        lengths = np.broadcast_to(lengths, (n_subjects, J))
    if lengths.shape != (n_subjects, J) or not np.isfinite(lengths).all() \
            or (lengths[:, 1:] <= 0).any():
        raise ValueError(f"people must name a kind of people or be positive limb lengths of "
                         f"shape ({n_subjects}, {J}) (one row per subject, mm), got "
                         f"{'shape ' + str(lengths.shape) if lengths.ndim else repr(people)}")
    return lengths
