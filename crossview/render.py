"""Rendered multi-view images of the synthetic people, and visibility by a depth test.

Every pixel of a crop is a ray from the camera centre through that pixel (with the
lens distortion undone). The ray is intersected analytically with the capsule body
model :data:`crossview.body.BODY_CAPSULES`, with the occluders (pillars are vertical
capsules, boxes are axis-aligned), the floor ``z = 0`` and a cylindrical wall around
the capture area. The nearest hit is shaded: Lambert plus ambient light with a
per-frame light direction, a per-subject palette (skin, shirt, trousers, hair, shoes),
a tiled floor and panelled walls. Everything drawn is **synthetic**; the only purpose
is to give a 2D pose network images in which joints hide behind the body and behind
objects in some views and not in others.

The same ray caster decides per-joint visibility (:func:`depth_visibility`): a
joint is hidden when the first surface on its line of sight lies in front of it. It
reproduces the analytic segment test of :func:`crossview.body.visibility`.

The heavy lifting is vectorised in torch (float32 for images, float64 for the
visibility test), over crops, pixels and primitives at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ._validate import check_int
from .body import BODY_CAPSULES, JOINT_RADIUS, Occluder, capsule_exempt, rig_focus
from .camera import Camera, pixels_to_normalized
from .heatmap import invert_affine

#: Radius (mm) of the cylindrical wall around the rig's focus (see :func:`room_center`).
WALL_RADIUS = 7500.0
#: Floor tile size (mm).
TILE = 600.0

# Which garment each body capsule wears (index into BODY_CAPSULES).
_TROUSERS, _SHIRT, _SLEEVE, _SKIN, _HEAD = 0, 1, 2, 3, 4
_CAPSULE_GARMENT = np.array([_TROUSERS] * 4 + [_SHIRT, _SLEEVE, _SHIRT, _SLEEVE]
                            + [_SHIRT] * 3 + [_SKIN, _HEAD])
_SHANKS = (1, 3)

# Palettes (linear RGB in [0, 1]) that appearances are drawn from, with jitter.
_SKIN_TONES = np.array([[0.93, 0.76, 0.62], [0.80, 0.60, 0.45], [0.62, 0.43, 0.30],
                        [0.45, 0.30, 0.20], [0.30, 0.20, 0.14]])
_CLOTHES = np.array([[0.12, 0.16, 0.35], [0.55, 0.10, 0.10], [0.15, 0.40, 0.20],
                     [0.85, 0.85, 0.82], [0.10, 0.10, 0.10], [0.60, 0.55, 0.35],
                     [0.25, 0.45, 0.70], [0.70, 0.40, 0.10], [0.45, 0.45, 0.48],
                     [0.50, 0.20, 0.45]])
_HAIR = np.array([[0.08, 0.06, 0.05], [0.30, 0.18, 0.08], [0.60, 0.45, 0.25],
                  [0.55, 0.55, 0.55]])

# Seed tags keep the renderer's random streams apart from those of crossview.synth.
_TAG_SUBJECT, _TAG_FRAME, _TAG_ROOM = 0x5B1EC7, 0xF4A3E, 0x4003


# ---------------------------------------------------------------------- appearance
@dataclass(frozen=True)
class Appearance:
    """How one synthetic subject looks: colours (linear RGB) and clothing options."""

    skin: np.ndarray
    shirt: np.ndarray
    trousers: np.ndarray
    hair: np.ndarray
    shoes: np.ndarray
    long_sleeves: bool
    stripes: float          #: stripe frequency on the shirt (cycles per limb), 0 for plain

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Appearance:
        def pick(table):
            c = table[rng.integers(len(table))] * rng.uniform(0.8, 1.15)
            return np.clip(c + rng.normal(0, 0.03, 3), 0.02, 0.98)

        shirt, trousers = pick(_CLOTHES), pick(_CLOTHES)
        return cls(skin=pick(_SKIN_TONES), shirt=shirt, trousers=trousers, hair=pick(_HAIR),
                   shoes=pick(_CLOTHES) * 0.5, long_sleeves=bool(rng.uniform() < 0.5),
                   stripes=float(rng.choice([0.0, 0.0, 3.0, 5.0])))


@dataclass(frozen=True)
class Lighting:
    """One frame's light: unit direction towards the light, diffuse and ambient
    intensities, and an RGB tint."""

    direction: np.ndarray
    diffuse: float
    ambient: float
    tint: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Lighting:
        az, el = rng.uniform(0, 2 * np.pi), np.deg2rad(rng.uniform(25, 75))
        direction = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        return cls(direction=direction, diffuse=float(rng.uniform(0.55, 0.95)),
                   ambient=float(rng.uniform(0.25, 0.5)),
                   tint=np.clip(1.0 + rng.normal(0, 0.06, 3), 0.85, 1.15))


@dataclass(frozen=True)
class Room:
    """The floor and walls of one scene set: two tile colours, wall base colour."""

    tile_a: np.ndarray
    tile_b: np.ndarray
    wall: np.ndarray
    pillar: np.ndarray
    box: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Room:
        base = rng.uniform(0.35, 0.7)
        tile_a = np.clip(base * rng.uniform(0.85, 1.15, 3), 0, 1)
        return cls(tile_a=tile_a, tile_b=tile_a * rng.uniform(0.6, 0.85),
                   wall=np.clip(rng.uniform(0.45, 0.85) * rng.uniform(0.85, 1.1, 3), 0, 1),
                   pillar=np.clip(rng.uniform(0.5, 0.75) * rng.uniform(0.9, 1.1, 3), 0, 1),
                   box=np.array([0.55, 0.38, 0.2]) * rng.uniform(0.7, 1.2))


def _rng(seed: int | None, tag: int, index: int) -> np.random.Generator:
    return np.random.default_rng([0 if seed is None else int(seed), tag, int(index)])


# ---------------------------------------------------------------------- ray geometry
def capsule_hits(o, d, a, b, r):
    """Distance along rays to their first entry into capsules (inf where they miss).

    ``o`` ``(N, 3)`` ray origins (one per group of rays), ``d`` ``(N, P, 3)`` unit
    directions, capsules ``a``, ``b`` ``(N, K, 3)`` (segment end points) with radii
    ``r`` ``(N, K)``; all torch tensors of one dtype. Returns ``(N, P, K)``.

    A capsule is the union of a finite cylinder and two balls, so the first entry
    into it is the smallest of the first entries into the three (each convex):
    the cylinder's side solves ``|(p - a) x (b - a)|^2 = r^2 |b - a|^2`` for
    ``p = o + t d``, a quadratic in ``t``; a ball solves ``|o + t d - c|^2 = r^2``.
    """
    import torch

    inf = torch.tensor(float("inf"), dtype=d.dtype, device=d.device)
    ba = b - a
    oa = o[:, None, :] - a
    ob = o[:, None, :] - b
    baba = (ba * ba).sum(-1)[:, None, :]           # (N, 1, K): per capsule, not per ray
    baoa = (ba * oa).sum(-1)[:, None, :]
    oaoa = (oa * oa).sum(-1)[:, None, :]
    obob = (ob * ob).sum(-1)[:, None, :]
    r2 = (r * r)[:, None, :]
    bard = torch.bmm(d, ba.transpose(1, 2))        # (N, P, K)
    rdoa = torch.bmm(d, oa.transpose(1, 2))
    rdob = torch.bmm(d, ob.transpose(1, 2))
    # side of the cylinder: A t^2 + 2 B t + C = 0
    A = baba - bard * bard
    B = baba * rdoa - baoa * bard
    C = baba * oaoa - baoa * baoa - r2 * baba
    h = B * B - A * C
    t_cyl = (-B - h.clamp(min=0).sqrt()) / A.clamp(min=1e-12)
    y = baoa + t_cyl * bard
    t_cyl = torch.where((h > 0) & (y > 0) & (y < baba) & (t_cyl > 0), t_cyl, inf)
    # the two end balls: t^2 + 2 (d.(o - c)) t + |o - c|^2 - r^2 = 0
    out = t_cyl
    for rd, oo in ((rdoa, oaoa), (rdob, obob)):
        hs = rd * rd - (oo - r2)
        t = -rd - hs.clamp(min=0).sqrt()
        out = torch.minimum(out, torch.where((hs > 0) & (t > 0), t, inf))
    return out


def box_hits(o, d, lo, hi):
    """First entry of rays into axis-aligned boxes: distances ``(N, P, B)`` and the entry
    face's axis ``(N, P, B)`` (0, 1, 2). ``o`` ``(N, 3)``, ``d`` ``(N, P, 3)``, box corners
    ``lo``, ``hi`` ``(N, B, 3)``. Slab method: inside the box on every axis at once."""
    import torch

    tiny = 1e-12
    dd = torch.where(d.abs() < tiny, torch.full_like(d, tiny), d)[:, :, None, :]  # (N, P, 1, 3)
    t1 = (lo[:, None] - o[:, None, None, :]) / dd
    t2 = (hi[:, None] - o[:, None, None, :]) / dd
    near = torch.minimum(t1, t2)
    far = torch.maximum(t1, t2)
    t_in, axis = near.max(-1)
    t_out = far.min(-1).values
    hit = (t_in <= t_out) & (t_in > 0)
    return torch.where(hit, t_in, torch.full_like(t_in, float("inf"))), axis


def _scene_primitives(joints3d, occluders, dtype, device):
    """Capsules ``a, b (F, K, 3)``, radii ``(F, K)`` (body first, then pillars) and boxes
    ``lo, hi (F, B, 3)`` for frames of joints ``(F, J, 3)``."""
    import torch

    F = len(joints3d)
    X = torch.as_tensor(np.asarray(joints3d), dtype=dtype, device=device)
    ia = [c[0] for c in BODY_CAPSULES]
    ib = [c[1] for c in BODY_CAPSULES]
    a, b = X[:, ia], X[:, ib]
    r = torch.tensor([c[2] for c in BODY_CAPSULES], dtype=dtype, device=device).expand(F, -1)
    pillars = [o for o in occluders if o.kind == "pillar"]
    boxes = [o for o in occluders if o.kind == "box"]
    unknown = {o.kind for o in occluders} - {"pillar", "box"}
    if unknown:
        raise ValueError(f"unknown occluder kind(s) {sorted(unknown)}; expected 'pillar' or 'box'")
    # where each traced occluder (pillars first, then boxes) sits in ``occluders``
    order = [i for i, o in enumerate(occluders) if o.kind == "pillar"] + \
        [i for i, o in enumerate(occluders) if o.kind == "box"]
    if pillars:
        pa = torch.tensor([[*o.position, 0.0] for o in pillars], dtype=dtype, device=device)
        pb = torch.tensor([[*o.position, o.height] for o in pillars], dtype=dtype, device=device)
        pr = torch.tensor([o.radius for o in pillars], dtype=dtype, device=device)
        a = torch.cat([a, pa.expand(F, -1, -1)], 1)
        b = torch.cat([b, pb.expand(F, -1, -1)], 1)
        r = torch.cat([r, pr.expand(F, -1)], 1)
    lo = torch.zeros((F, len(boxes), 3), dtype=dtype, device=device)
    hi = torch.zeros((F, len(boxes), 3), dtype=dtype, device=device)
    for k, o in enumerate(boxes):
        half = np.asarray(o.size) / 2
        c = np.array([*o.position, half[2]])
        lo[:, k] = torch.as_tensor(c - half, dtype=dtype, device=device)
        hi[:, k] = torch.as_tensor(c + half, dtype=dtype, device=device)
    return a, b, r, lo, hi, order


# ---------------------------------------------------------------------- visibility
def depth_visibility(joints3d: np.ndarray, cameras: list[Camera],
                     occluders: tuple[Occluder, ...] = ()) -> np.ndarray:
    """Per-joint visibility codes ``(F, V, J)`` int8 by a depth test along each line of sight.

    For each camera and joint, the ray from the camera centre towards the joint is
    cast through the scene the renderer draws; the joint is hidden when a surface
    (other than the body parts that contain the joint itself) comes before the point
    :data:`crossview.body.JOINT_RADIUS` in front of it. Codes as
    :func:`crossview.body.visibility`: 0 visible, 1 hidden by the body, 2 hidden by
    an occluder, 3 outside the image.
    """
    import torch

    joints3d = np.asarray(joints3d, dtype=np.float64)
    if joints3d.ndim != 3 or joints3d.shape[-1] != 3:
        raise ValueError(f"joints3d must have shape (F, J, 3), got {joints3d.shape}")
    F, J, _ = joints3d.shape
    dt = torch.float64
    a, b, r, lo, hi, _ = _scene_primitives(joints3d, occluders, dt, "cpu")
    K = len(BODY_CAPSULES)
    # exempt[j, k]: capsule k contains joint j (or is attached to it) and cannot hide it
    exempt = torch.zeros((J, K), dtype=torch.bool)
    for k, (ca, cb, _r) in enumerate(BODY_CAPSULES):
        exempt[sorted(capsule_exempt(ca, cb)), k] = True
    code = np.zeros((F, len(cameras), J), dtype=np.int8)
    X = torch.as_tensor(joints3d, dtype=dt)
    for v, cam in enumerate(cameras):
        C = torch.as_tensor(cam.center, dtype=dt)
        to_joint = X - C
        dist = to_joint.norm(dim=-1)                                   # (F, J)
        d = to_joint / dist[..., None]
        limit = dist - JOINT_RADIUS                                    # the tested end point
        o = C.expand(F, 3)
        t_caps = capsule_hits(o, d, a, b, r)                           # (F, J, K + pillars)
        body = (t_caps[..., :K] < limit[..., None]) & ~exempt
        objects = (t_caps[..., K:] < limit[..., None]).any(-1)
        if lo.shape[1]:
            t_box, _ = box_hits(o, d, lo, hi)
            objects |= (t_box < limit[..., None]).any(-1)
        uv = cam.project(joints3d, allow_behind=True)
        inside = cam.in_image(uv) if cam.image_size is not None else np.ones((F, J), bool)
        code[:, v] = np.where(~inside, 3, np.where(objects.numpy(), 2,
                                                   np.where(body.any(-1).numpy(), 1, 0)))
    return code


def room_center(cameras: list[Camera]) -> np.ndarray:
    """The point ``(x, y, 0)`` the rig looks at (mm): the centre of the room's wall."""
    return rig_focus(cameras)


# ---------------------------------------------------------------------- crops
def input_affines(affines: np.ndarray, heatmap_size: tuple[int, int],
                  input_size: tuple[int, int]) -> np.ndarray:
    """Affines ``(..., 2, 3)`` image px -> network-input px, from the heatmap affines.

    ``heatmap_size`` and ``input_size`` are array shapes ``(H, W)`` (rows, columns).

    The input crop covers the same image region as the heatmap: both map the crop's
    outer edges onto their own outer pixel edges, so ``x_in = s (x_h + 1/2) - 1/2``
    with ``s = W_in / W_h`` (and likewise for ``y``).
    """
    A = np.array(affines, dtype=np.float64)
    sy, sx = input_size[0] / heatmap_size[0], input_size[1] / heatmap_size[1]
    for row, s in ((0, sx), (1, sy)):
        A[..., row, :] *= s
        A[..., row, 2] += 0.5 * s - 0.5
    return A


def crop_rays(camera: Camera, affines: np.ndarray, size: tuple[int, int], grid: int = 9):
    """World ray directions ``(N, H, W, 3)`` (unit) through the pixel centres of crops.

    ``affines`` ``(N, 2, 3)`` map image px to crop px for a crop of ``size`` ``(H, W)``.
    The lens is undone exactly on a ``grid x grid`` lattice per crop and bilinearly
    interpolated in between: the distortion is smooth at the scale of a crop, and
    this is far cheaper than undistorting every pixel (the rays land within 0.01
    crop px of their pixel centres; see the tests).
    """
    import torch

    H, W = size
    N = len(affines)
    inv = invert_affine(np.asarray(affines, dtype=np.float64))            # crop px -> image px
    gy, gx = np.meshgrid(np.linspace(0, H - 1, grid), np.linspace(0, W - 1, grid), indexing="ij")
    lattice = np.stack([gx, gy], -1).reshape(1, -1, 2)
    uv = (lattice[..., None, :] * inv[:, None, :, :2]).sum(-1) + inv[:, None, :, 2]
    xn = pixels_to_normalized(camera.undistort_points(uv), camera.K)
    xn = torch.as_tensor(xn.reshape(N, grid, grid, 2), dtype=torch.float32).permute(0, 3, 1, 2)
    xn = torch.nn.functional.interpolate(xn, size=(H, W), mode="bilinear", align_corners=True)
    xn = xn.permute(0, 2, 3, 1)
    R = torch.tensor(np.array(camera.R), dtype=torch.float32)
    d = torch.cat([xn, torch.ones_like(xn[..., :1])], -1) @ R    # rows of R^T x, per ray
    return d / d.norm(dim=-1, keepdim=True)


# ---------------------------------------------------------------------- shading
def _hash2(ix, iy):
    """A cheap deterministic pseudo-random value in [0, 1) per integer cell."""
    import torch

    return torch.frac(torch.sin(ix * 12.9898 + iy * 78.233) * 43758.5453).abs()


def _shade(o, d, t_caps, t_box, box_axis, a, b, r, app, room, focus):
    """Colours ``(N, P, 3)`` of the nearest surface along each ray (linear RGB)."""
    import torch

    K = len(BODY_CAPSULES)
    dt = d.dtype
    inf = torch.tensor(float("inf"), dtype=dt)
    # floor and wall
    dz = d[..., 2]
    t_floor = torch.where(dz < -1e-6, -o[:, None, 2] / torch.where(dz < -1e-6, dz, -1.0), inf)
    oc = o[:, None, :2] - focus[:2]
    dxy = d[..., :2]
    qa = (dxy * dxy).sum(-1).clamp(min=1e-9)
    qb = (oc * dxy).sum(-1)
    qc = (oc * oc).sum(-1) - WALL_RADIUS**2
    t_wall = (-qb + (qb * qb - qa * qc).clamp(min=0).sqrt()) / qa
    cand = [t_caps, t_box, t_floor[..., None], t_wall[..., None]]
    t_all = torch.cat(cand, -1)
    t, which = t_all.min(-1)                        # (N, P)
    n_caps, n_box = t_caps.shape[-1], t_box.shape[-1]
    p = o[:, None, :] + t[..., None] * d
    normal = torch.zeros_like(p)
    albedo = torch.zeros_like(p)

    # capsules (body parts and pillars)
    is_cap = which < n_caps
    k = which.clamp(max=n_caps - 1)
    ka = torch.gather(a, 1, k[..., None].expand(-1, -1, 3))
    kb = torch.gather(b, 1, k[..., None].expand(-1, -1, 3))
    kr = torch.gather(r, 1, k)
    ba = kb - ka
    hpos = (((p - ka) * ba).sum(-1) / (ba * ba).sum(-1).clamp(min=1e-9)).clamp(0, 1)
    n_cap = (p - ka - hpos[..., None] * ba) / kr[..., None]
    normal = torch.where(is_cap[..., None], n_cap, normal)
    # body albedo by garment; pillars beyond the body capsules
    garments = torch.stack([app["trousers"], app["shirt"], app["sleeve"], app["skin"],
                            app["skin"]], 1)           # (N, 5, 3)
    g = torch.as_tensor(_CAPSULE_GARMENT)[k.clamp(max=K - 1)]
    body_col = torch.gather(garments, 1, g[..., None].expand(-1, -1, 3))
    stripe = 1.0 - 0.25 * (torch.sin(2 * np.pi * app["stripes"][:, None] * hpos) > 0.3).to(dt)
    shirt = (g == _SHIRT) | (g == _SLEEVE)
    body_col = torch.where(shirt[..., None], body_col * stripe[..., None], body_col)
    hair = (g == _HEAD) & ((hpos > 0.45) | (n_cap[..., 2] > 0.55))
    body_col = torch.where(hair[..., None], app["hair"][:, None, :], body_col)
    shank = (k == _SHANKS[0]) | (k == _SHANKS[1])
    body_col = torch.where((shank & (hpos > 0.88))[..., None], app["shoes"][:, None, :], body_col)
    pillar_col = torch.as_tensor(room.pillar, dtype=dt) * (
        0.9 + 0.1 * torch.sin(p[..., 2:3] / 90.0))
    col = torch.where((k < K)[..., None], body_col, pillar_col)
    albedo = torch.where(is_cap[..., None], col, albedo)

    # boxes
    if n_box:
        is_box = (which >= n_caps) & (which < n_caps + n_box)
        kb_i = (which - n_caps).clamp(0, n_box - 1)
        ax = torch.gather(box_axis, 2, kb_i[..., None])[..., 0]
        sgn = -torch.sign(torch.gather(d, 2, ax[..., None]))
        n_box_ = torch.zeros_like(p).scatter_(2, ax[..., None], sgn)
        normal = torch.where(is_box[..., None], n_box_, normal)
        grain = 0.85 + 0.15 * torch.sin((p[..., 0] + p[..., 1]) / 40.0 + p[..., 2] / 300.0)
        wood = torch.as_tensor(room.box, dtype=dt) * grain[..., None]
        albedo = torch.where(is_box[..., None], wood, albedo)

    # floor: tiles with grout lines and per-tile variation
    is_floor = which == n_caps + n_box
    fx, fy = p[..., 0] / TILE, p[..., 1] / TILE
    ix, iy = torch.floor(fx), torch.floor(fy)
    checker = ((ix + iy) % 2 == 0)[..., None]
    tile = torch.where(checker, torch.as_tensor(room.tile_a, dtype=dt),
                       torch.as_tensor(room.tile_b, dtype=dt))
    tile = tile * (0.9 + 0.2 * _hash2(ix, iy))[..., None]
    grout = ((fx - ix) < 0.03) | ((fy - iy) < 0.03)
    tile = torch.where(grout[..., None], tile * 0.55, tile)
    # a soft contact shadow under the person
    root_xy = app["root_xy"][:, None, :]
    d2 = ((p[..., :2] - root_xy) ** 2).sum(-1)
    tile = tile * (1.0 - 0.35 * torch.exp(-d2 / (2 * 350.0**2)))[..., None]
    up = torch.tensor([0.0, 0.0, 1.0], dtype=dt)
    normal = torch.where(is_floor[..., None], up, normal)
    albedo = torch.where(is_floor[..., None], tile, albedo)

    # wall: vertical panels, a skirting board and a darker band
    is_wall = which == n_caps + n_box + 1
    rel = p[..., :2] - focus[:2]
    ang = torch.atan2(rel[..., 1], rel[..., 0])
    panel = torch.floor(ang * WALL_RADIUS / 900.0)
    wall = torch.as_tensor(room.wall, dtype=dt) * (0.8 + 0.3 * _hash2(panel, panel * 0.37 + 3))[
        ..., None]
    z = p[..., 2]
    wall = torch.where(((z < 150) | ((z > 1900) & (z < 2050)))[..., None], wall * 0.5, wall)
    seam = torch.frac(ang * WALL_RADIUS / 900.0) < 0.02
    wall = torch.where(seam[..., None], wall * 0.6, wall)
    n_wall = torch.cat([-rel / WALL_RADIUS, torch.zeros_like(rel[..., :1])], -1)
    normal = torch.where(is_wall[..., None], n_wall, normal)
    albedo = torch.where(is_wall[..., None], wall, albedo)

    lam = (normal * app["light"][:, None, :]).sum(-1).clamp(min=0)
    sky = 0.75 + 0.25 * normal[..., 2]                      # more ambient light from above
    shade = app["ambient"][:, None] * sky + app["diffuse"][:, None] * lam
    return albedo * shade[..., None] * app["tint"][:, None, :], t, which


# ---------------------------------------------------------------------- entry point
@runtime_checkable
class SceneSet(Protocol):
    """What the renderer reads of a scene set: the fields of :class:`crossview.synth.Scenes`
    that place the people, the objects and the crops (the renderer never builds scenes, so it
    names what it needs instead of importing them)."""

    cameras: list[Camera]
    joints3d: np.ndarray          #: (F, J, 3) world mm
    affines: np.ndarray           #: (F, V, 2, 3) image px -> heatmap px
    heatmap_size: tuple[int, int]
    subject: np.ndarray           #: (F,) int: one appearance per subject
    occluders: tuple[Occluder, ...]
    seed: int | None
    n_frames: int
    n_views: int


@dataclass
class Renders:
    """Rendered crops of a scene set (all NumPy; **synthetic** images)."""

    images: np.ndarray           #: (F, V, H, W, 3) uint8 RGB
    affines: np.ndarray          #: (F, V, 2, 3) image px -> crop (network input) px
    frames: np.ndarray           #: (F,) the frames of the scene set these are
    depth: np.ndarray | None = None   #: (F, V, H, W) float32 mm along each pixel's ray
    #: (F, V, H, W) int16, what each pixel shows: ``k`` body capsule ``BODY_CAPSULES[k]``,
    #: ``100 + i`` occluder ``scenes.occluders[i]``, -1 the floor, -2 the wall
    label: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def as_float(self):
        """Images as float32 ``(F, V, 3, H, W)`` in [0, 1], the layout torch networks read."""
        return np.ascontiguousarray(self.images.transpose(0, 1, 4, 2, 3), dtype=np.float32) / 255.0


def render_views(scenes: SceneSet, frames=None, size: tuple[int, int] = (64, 64),
                 seed: int | None = None, noise: float = 0.02, supersample: int = 1,
                 return_depth: bool = False, chunk: int = 64, progress: bool = False) -> Renders:
    """Render the crops of ``scenes`` that the heatmaps cover, as RGB images.

    Parameters
    ----------
    scenes : a :class:`crossview.synth.Scenes`; its crops (``scenes.affines``) are
        rendered at ``size`` ``(H, W)`` pixels (a multiple of the heatmap size keeps
        input and heatmap pixel grids aligned, see :func:`input_affines`).
    frames : which frames (indices, slice or mask; default all).
    seed : appearance (per subject), lighting and noise (per frame) and the room
        (per scene set) are drawn from it; default ``scenes.seed``. A frame renders
        the same whichever other frames are rendered with it.
    noise : standard deviation of additive Gaussian pixel noise (on [0, 1]).
    supersample : rays per pixel along each axis (anti-aliasing; cost grows as its square).
    return_depth : also return the per-pixel ray depth (mm) and what each pixel shows.
    chunk : crops traced at once (memory: about ``chunk * H * W * 2`` KB).
    """
    import torch

    if not isinstance(scenes, SceneSet):
        raise TypeError(f"scenes must be a crossview.Scenes (or have the fields of a SceneSet), "
                        f"got {type(scenes).__name__}")
    H, W = int(size[0]), int(size[1])
    if H < 4 or W < 4:
        raise ValueError(f"size must be (H, W) with H, W >= 4, got {size!r}")
    supersample = check_int(supersample, "supersample", 1)
    chunk = check_int(chunk, "chunk", 1)
    idx = np.arange(scenes.n_frames)[slice(None) if frames is None else frames]
    idx = np.atleast_1d(idx)
    seed = scenes.seed if seed is None else seed
    F, V = len(idx), scenes.n_views
    A_in = input_affines(scenes.affines[idx], scenes.heatmap_size, (H, W))
    Hs, Ws = H * supersample, W * supersample
    A_trace = input_affines(scenes.affines[idx], scenes.heatmap_size, (Hs, Ws))

    room = Room.draw(_rng(seed, _TAG_ROOM, 0))
    apps = {s: Appearance.draw(_rng(seed, _TAG_SUBJECT, s)) for s in np.unique(scenes.subject)}
    lights = [Lighting.draw(_rng(seed, _TAG_FRAME, f)) for f in idx]
    focus = torch.as_tensor(room_center(scenes.cameras), dtype=torch.float32)

    images = np.empty((F, V, H, W, 3), np.uint8)
    depth = np.empty((F, V, H, W), np.float32) if return_depth else None
    label = np.empty((F, V, H, W), np.int16) if return_depth else None
    a_all, b_all, r_all, lo_all, hi_all, order = _scene_primitives(
        scenes.joints3d[idx], scenes.occluders, torch.float32, "cpu")
    # what the tracer's primitive index means: body capsules, occluders, floor, wall
    lut = np.array([*range(len(BODY_CAPSULES)), *(100 + np.array(order, int)), -1, -2],
                   dtype=np.int16)

    def appearance_batch(fr):
        sub = [apps[s] for s in scenes.subject[idx[fr]]]
        lt = [lights[i] for i in fr]
        t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
        return {
            "skin": t([s.skin for s in sub]), "shirt": t([s.shirt for s in sub]),
            "trousers": t([s.trousers for s in sub]), "hair": t([s.hair for s in sub]),
            "shoes": t([s.shoes for s in sub]),
            "sleeve": t([s.shirt if s.long_sleeves else s.skin for s in sub]),
            "stripes": t([s.stripes for s in sub]),
            "light": t([x.direction for x in lt]), "diffuse": t([x.diffuse for x in lt]),
            "ambient": t([x.ambient for x in lt]), "tint": t([x.tint for x in lt]),
            "root_xy": t(scenes.joints3d[idx[fr], 0, :2]),
        }

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=F * V, desc="rendering", unit="crop", leave=False)
    with torch.no_grad():
        for v, cam in enumerate(scenes.cameras):
            C = torch.as_tensor(cam.center, dtype=torch.float32)
            for s in range(0, F, chunk):
                fr = np.arange(s, min(F, s + chunk))
                n = len(fr)
                d = crop_rays(cam, A_trace[fr, v], (Hs, Ws)).reshape(n, Hs * Ws, 3)
                o = C.expand(n, 3)
                a, b, r = a_all[fr], b_all[fr], r_all[fr]
                t_caps = capsule_hits(o, d, a, b, r)
                if lo_all.shape[1]:
                    t_box, box_axis = box_hits(o, d, lo_all[fr], hi_all[fr])
                else:
                    t_box = torch.zeros((n, Hs * Ws, 0))
                    box_axis = torch.zeros((n, Hs * Ws, 0), dtype=torch.long)
                col, t, which = _shade(o, d, t_caps, t_box, box_axis, a, b, r,
                                       appearance_batch(fr), room, focus)
                col = col.reshape(n, Hs, Ws, 3)
                if supersample > 1:
                    col = torch.nn.functional.avg_pool2d(col.permute(0, 3, 1, 2), supersample)
                    col = col.permute(0, 2, 3, 1)
                col = col.numpy()
                for i, f in enumerate(fr):
                    g = _rng(seed, _TAG_FRAME, idx[f]).spawn(V)[v]  # per frame and view
                    col[i] = col[i] + g.normal(0.0, noise, col[i].shape) if noise > 0 else col[i]
                # display gamma: the shading is linear, screens are not
                images[fr, v] = (np.clip(col, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)
                if return_depth:
                    tt = t.reshape(n, Hs, Ws)[:, ::supersample, ::supersample]
                    ww = which.reshape(n, Hs, Ws)[:, ::supersample, ::supersample]
                    depth[fr, v] = tt.numpy()
                    label[fr, v] = lut[ww.numpy()]
                if bar is not None:
                    bar.update(n)
    if bar is not None:
        bar.close()
    return Renders(images=images, affines=A_in, frames=idx, depth=depth, label=label)
