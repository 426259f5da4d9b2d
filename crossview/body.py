"""The body model and the scene geometry shared by the synthetic scenes and their renderer.

A person is a set of capsules between joints (:data:`BODY_CAPSULES`); the scene holds
static occluders (:class:`Occluder`: pillars and boxes) placed between the capture area
and some cameras (:func:`place_occluders`). :func:`visibility` says which joints each
camera sees, with an analytic segment test; :mod:`crossview.synth` uses it for the
ground truth of its scenes and :mod:`crossview.render` draws the same capsules and
occluders (and reproduces the same test by ray casting). Everything here is NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Camera


@dataclass(frozen=True)
class Occluder:
    """A static object that hides what is behind it.

    ``kind="pillar"``: a vertical capsule of ``radius`` (mm) standing on the floor at
    ``position`` ``(x, y)`` up to ``height``. ``kind="box"``: an axis-aligned box
    with ``position`` ``(x, y)`` its footprint centre, ``size`` ``(dx, dy, dz)``.
    """

    kind: str
    position: tuple[float, float]
    height: float = 2500.0
    radius: float = 200.0
    size: tuple[float, float, float] = (800.0, 500.0, 1000.0)

    def blocks(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Boolean ``(...)``: does the segment ``start -> end`` (``(..., 3)`` each) hit me?"""
        if self.kind == "pillar":
            a = np.array([*self.position, 0.0])
            b = np.array([*self.position, self.height])
            return segment_distance(start, end, a, b) < self.radius
        if self.kind == "box":
            half = np.asarray(self.size) / 2
            c = np.array([*self.position, half[2]])
            return _segment_hits_box(start, end, c - half, c + half)
        raise ValueError(f"unknown occluder kind {self.kind!r}; expected 'pillar' or 'box'")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "position": list(self.position), "height": self.height,
                "radius": self.radius, "size": list(self.size)}


def segment_distance(p1, q1, p2, q2) -> np.ndarray:
    """Shortest distance between segments ``p1-q1`` and ``p2-q2`` (``(..., 3)``, broadcast).

    Minimises ``|p1 + s d1 - p2 - t d2|`` over ``s, t`` in ``[0, 1]``: the
    unconstrained optimum of ``s`` is clamped, ``t`` follows from it and is
    clamped, and ``s`` is recomputed for the clamped ``t``.
    """
    p1, q1, p2, q2 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                           for v in (p1, q1, p2, q2)))
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a = (d1 * d1).sum(-1)
    e = (d2 * d2).sum(-1)
    f = (d2 * r).sum(-1)
    c = (d1 * r).sum(-1)
    b = (d1 * d2).sum(-1)
    denom = a * e - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > 1e-12, np.clip((b * f - c * e) / denom, 0, 1), 0.0)
        t = np.where(e > 1e-12, (b * s + f) / e, 0.0)
        t_c = np.clip(t, 0, 1)
        s = np.where(t != t_c, np.where(a > 1e-12, np.clip((b * t_c - c) / a, 0, 1), 0.0), s)
    diff = p1 + s[..., None] * d1 - p2 - t_c[..., None] * d2
    return np.linalg.norm(diff, axis=-1)


def _segment_hits_box(start, end, lo, hi) -> np.ndarray:
    d = end - start
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - start) / d
        t2 = (hi - start) / d
    tmin = np.where(np.isnan(t1), -np.inf, np.minimum(t1, t2))
    tmax = np.where(np.isnan(t2), np.inf, np.maximum(t1, t2))
    # a zero component of d: inside the slab means no constraint, outside means no hit
    flat = d == 0
    inside = (start >= lo) & (start <= hi)
    tmin = np.where(flat, np.where(inside, -np.inf, np.inf), tmin)
    tmax = np.where(flat, np.where(inside, np.inf, -np.inf), tmax)
    enter = np.maximum(tmin.max(-1), 0.0)
    leave = np.minimum(tmax.min(-1), 1.0)
    return enter <= leave


# Body capsules (joint a, joint b, radius mm) and the joints each one cannot hide.
_TORSO = (0, 1, 4, 7, 8, 11, 14)
BODY_CAPSULES = (
    (1, 2, 75.0), (2, 3, 55.0), (4, 5, 75.0), (5, 6, 55.0),        # thighs, shanks
    (11, 12, 50.0), (12, 13, 40.0), (14, 15, 50.0), (15, 16, 40.0),  # upper arms, forearms
    (0, 8, 110.0), (1, 14, 85.0), (4, 11, 85.0),                    # spine, torso sides
    (8, 9, 55.0), (9, 10, 95.0),                                    # neck, head
)
"""Capsules of the body model that decides self-occlusion (also drawn by the renderer)."""


def capsule_exempt(a: int, b: int) -> set[int]:
    """The joints that the body capsule from joint ``a`` to joint ``b`` cannot hide: those it
    contains or is attached to (every torso joint for a torso capsule; neck, nose, head and
    shoulders for the neck and head)."""
    if (a, b) in ((0, 8), (1, 14), (4, 11)):
        return set(_TORSO)
    if (a, b) in ((8, 9), (9, 10)):
        return {8, 9, 10, 11, 14}
    return {a, b}


JOINT_RADIUS = 35.0
"""A joint is hidden when the sight line to a point this far (mm) in front of it is blocked."""


def visibility(joints3d: np.ndarray, cameras: list[Camera], occluders: tuple[Occluder, ...] = (),
               ) -> np.ndarray:
    """Why each joint is (in)visible in each view: ``(F, V, J)`` int8 codes.

    ``0`` visible; ``1`` hidden by the body itself (:data:`BODY_CAPSULES`); ``2``
    hidden by an occluder; ``3`` outside the image. A joint is tested along the
    segment from the camera centre to a point :data:`JOINT_RADIUS` in front of it.
    """
    joints3d = np.asarray(joints3d, dtype=np.float64)
    F, J, _ = joints3d.shape
    code = np.zeros((F, len(cameras), J), dtype=np.int8)
    for v, cam in enumerate(cameras):
        C = cam.center
        to_cam = C - joints3d
        end = joints3d + JOINT_RADIUS * to_cam / np.linalg.norm(to_cam, axis=-1, keepdims=True)
        start = np.broadcast_to(C, end.shape)
        self_hidden = np.zeros((F, J), dtype=bool)
        for a, b, r in BODY_CAPSULES:
            hit = segment_distance(start, end, joints3d[:, a:a + 1], joints3d[:, b:b + 1]) < r
            hit[:, sorted(capsule_exempt(a, b))] = False
            self_hidden |= hit
        obj_hidden = np.zeros((F, J), dtype=bool)
        for occ in occluders:
            obj_hidden |= occ.blocks(start, end)
        uv = cam.project(joints3d, allow_behind=True)
        inside = cam.in_image(uv) if cam.image_size is not None else np.ones((F, J), bool)
        code[:, v] = np.where(~inside, 3, np.where(obj_hidden, 2, np.where(self_hidden, 1, 0)))
    return code


def place_occluders(cameras: list[Camera], rng: np.random.Generator, area_radius: float = 1500.0,
                    area_center: tuple[float, float] = (0.0, 0.0), n: int | None = None,
                    ) -> tuple[Occluder, ...]:
    """Put ``n`` occluders (default: half the views) between the capture area and some cameras.

    Each stands just outside the walking disc on the way to a chosen camera, so
    it hides joints from that camera while the others still see them.
    """
    V = len(cameras)
    n = max(1, V // 2) if n is None else n
    chosen = rng.choice(V, size=min(n, V), replace=False)
    center = np.asarray(area_center, dtype=np.float64)
    out = []
    for k, v in enumerate(chosen):
        to_cam = cameras[v].center[:2] - center
        dist_cam = np.linalg.norm(to_cam)
        u = to_cam / dist_cam
        d = min(area_radius + rng.uniform(300.0, 900.0), 0.6 * dist_cam)
        lateral = np.array([-u[1], u[0]]) * rng.uniform(-400.0, 400.0)
        p = center + d * u + lateral
        if k % 2 == 0:
            out.append(Occluder("pillar", (float(p[0]), float(p[1])), height=2600.0,
                                radius=float(rng.uniform(150.0, 250.0))))
        else:
            out.append(Occluder("box", (float(p[0]), float(p[1])),
                                size=(float(rng.uniform(700, 1100)), float(rng.uniform(400, 700)),
                                      float(rng.uniform(900, 1300)))))
    return tuple(out)


def rig_focus(cameras: list[Camera]) -> np.ndarray:
    """The point ``(x, y, 0)`` (mm) the rig looks at: the least-squares point closest to all
    optical axes, with its height set to 0 (where the people stand and the room is centred)."""
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for c in cameras:
        d = c.R[2]
        M = np.eye(3) - np.outer(d, d)
        A += M
        b += M @ c.center
    p = np.linalg.lstsq(A, b, rcond=None)[0]
    p[2] = 0.0
    return p
