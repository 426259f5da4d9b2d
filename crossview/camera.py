"""Calibrated pinhole cameras with OpenCV radial-tangential distortion, and camera rigs.

Conventions (used everywhere in the library):

* world frame in millimetres, ``z`` up;
* camera frame ``x_cam = R @ X + t``: ``x`` right, ``y`` down, ``z`` forward;
* pixels ``(u, v)`` with ``u`` to the right and ``v`` down, pixel centres at integers;
* distortion coefficients in OpenCV order ``(k1, k2, p1, p2, k3)``;
* sizes follow the coordinates they go with: an image size in pixels is ``(width,
  height)`` like a pixel ``(u, v)`` (OpenCV's ``cv::Size``), while the size of an
  array, such as a heatmap, is its shape ``(H, W)`` (see :mod:`crossview.heatmap`).
  A camera refuses an ``image_size`` that is clearly ``(height, width)``: one that
  puts the principal point far off the image centre when the swapped size centres it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._array import Array, ArrayLike, concat, is_torch, like, to_numpy, xp
from ._validate import as_float_array, check_cameras, check_int, check_positive
from .paths import DATA_DIR


def _param(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if is_torch(value):
        value = to_numpy(value)
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array of shape {shape}") from exc
    if arr.shape != shape:
        if shape == (3,) and arr.shape == (3, 1):
            arr = arr[:, 0]
        else:
            raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, but it contains NaN or infinite values")
    return arr


class Camera:
    """A calibrated camera: intrinsics ``K``, pose ``(R, t)`` and lens distortion.

    Parameters
    ----------
    K : (3, 3) intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
    R : (3, 3) rotation from world to camera frame.
    t : (3,) translation in millimetres, so that ``x_cam = R @ X + t``.
    dist : (5,) or (4,) OpenCV distortion ``(k1, k2, p1, p2[, k3])``; ``None`` for none.
    image_size : ``(width, height)`` in pixels (OpenCV's order, not the ``(H, W)`` of
        an array), or ``None`` when unknown. A size that is clearly swapped is refused
        (see :func:`check_image_size`).
    name : optional label (e.g. the Human3.6M camera id).

    Examples
    --------
    >>> import crossview as cv
    >>> cams = cv.load_rig("h36m")
    >>> uv = cams[0].project([[0.0, 0.0, 1000.0]])   # (1, 2) pixels
    """

    def __init__(self, K: ArrayLike, R: ArrayLike, t: ArrayLike, dist: ArrayLike | None = None,
                 image_size: Sequence[int] | None = None, name: str | None = None):
        K = _param(K, "K", (3, 3))
        if not (np.allclose(K[2], [0.0, 0.0, 1.0]) and K[1, 0] == 0.0 and K[2, 0] == 0.0):
            raise ValueError(f"K must be upper triangular with last row [0, 0, 1], got\n{K}")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValueError(f"K must have positive focal lengths fx, fy; got {K[0, 0]}, {K[1, 1]}")
        R = _param(R, "R", (3, 3))
        err = np.abs(R.T @ R - np.eye(3)).max()
        if err > 1e-6 or np.linalg.det(R) <= 0:
            raise ValueError(
                f"R must be a rotation matrix (orthonormal, det +1); R^T R deviates from I by "
                f"{err:.2e} and det(R) = {np.linalg.det(R):.6f}")
        t = _param(t, "t", (3,))
        if dist is None:
            dist = np.zeros(5)
        else:
            d = np.array(to_numpy(dist), dtype=np.float64).ravel()
            if d.shape not in ((4,), (5,)):
                raise ValueError(f"dist must have 4 or 5 coefficients (k1, k2, p1, p2[, k3]), "
                                 f"got shape {np.shape(dist)}")
            dist = _param(np.concatenate([d, np.zeros(5 - d.size)]), "dist", (5,))
        if image_size is not None:
            image_size = check_image_size(image_size, K)
        self.K, self.R, self.t, self.dist = K, R, t, dist
        self.image_size = image_size
        self.name = name
        for arr in (self.K, self.R, self.t, self.dist):
            arr.setflags(write=False)

    # ---------------------------------------------------------------- properties
    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix ``K [R | t]`` (ignores distortion)."""
        return self.K @ np.hstack([self.R, self.t[:, None]])

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in the world frame, ``-R^T t``."""
        return -self.R.T @ self.t

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0))

    @property
    def fold_radius(self) -> float:
        """Normalised radius where the lens model folds back (``inf``: it never does).

        See :func:`lens_fold_radius`. Ideal points at or beyond it have no faithful
        image: :meth:`undistort_points` never returns them, and epipolar curves stop
        there.
        """
        return lens_fold_radius(self.dist)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        size = f", image_size={self.image_size}" if self.image_size else ""
        return (f"Camera{label}(fx={self.fx:.1f}, fy={self.fy:.1f}, cx={self.cx:.1f}, "
                f"cy={self.cy:.1f}, center={np.round(self.center, 1).tolist()}{size})")

    # ---------------------------------------------------------------- geometry
    def world_to_camera(self, X: ArrayLike) -> Array:
        """World points ``(..., 3)`` -> camera-frame points ``(..., 3)`` (mm)."""
        X = as_float_array(X, "X", trailing=(3,))
        return X @ like(self.R, X).T + like(self.t, X)

    def depth(self, X: ArrayLike) -> Array:
        """Depth ``z_cam`` of world points ``(..., 3)`` -> ``(...)`` (mm)."""
        return self.world_to_camera(X)[..., 2]

    def project(self, X: ArrayLike, distort: bool = True, allow_behind: bool = False) -> Array:
        """Project world points ``(..., 3)`` (mm) to pixels ``(..., 2)``.

        With ``distort=True`` (default) the OpenCV lens model is applied, giving the
        pixel where the point appears in the real (distorted) image. Points at or
        behind the camera plane raise ``ValueError`` unless ``allow_behind=True``.
        """
        Xc = self.world_to_camera(X)
        z = Xc[..., 2]
        if not allow_behind and bool((z <= 0).any()):
            n = int((z <= 0).sum())
            label = f" {self.name}" if self.name else ""
            raise ValueError(f"X has {n} point(s) behind camera{label} (depth <= 0); "
                             "they have no image")
        xn = Xc[..., :2] / z[..., None]
        if distort and self.has_distortion:
            xn = distort_normalized(xn, like(self.dist, xn))
        return normalized_to_pixels(xn, like(self.K, xn))

    def undistort_points(self, uv: ArrayLike, iterations: int = 20) -> Array:
        """Distorted pixels ``(..., 2)`` -> the pixels an ideal pinhole camera would see.

        Inverts the lens model by Newton's method on the normalised coordinates;
        on the Human3.6M cameras it converges to below 1e-9 px in a few iterations.

        Past the lens' fold (:attr:`fold_radius`) the polynomial model maps ideal
        points back towards the centre, so a distorted pixel can have two ideal
        pixels inside the fold, or none: with barrel distortion, pixels farther from
        the principal point than the image of the fold circle have none inside it
        (the polynomial still maps some ideal points far beyond the fold there, but no
        real lens does). The result is the ideal pixel inside the fold, and NaN where
        there is none, or where the iteration
        does not reproduce ``uv`` when distorted again (to 1e-6 of the normalised
        radius). OpenCV's ``cv::undistortPoints`` uses the same model and an
        approximate iteration (5 steps by default) and returns a number for every
        pixel, also where it does not invert the model.
        """
        uv = as_float_array(uv, "uv", trailing=(2,))
        if not self.has_distortion:
            return uv
        # iterate in float64 and round once at the end (half precision would round every step)
        x = uv.double() if is_torch(uv) else uv
        K = like(self.K, x)
        dist = like(self.dist, x)
        xd = pixels_to_normalized(x, K)
        xn = undistort_normalized(xd, dist, iterations=iterations)
        m = xp(xn)
        back = distort_normalized(xn, dist)
        miss = ((back - xd) ** 2).sum(-1) ** 0.5
        r = (xn ** 2).sum(-1) ** 0.5
        bad = ~(miss <= 1e-6 * (1.0 + (xd ** 2).sum(-1) ** 0.5)) | ~(r < self.fold_radius)
        xn = m.where(bad[..., None], m.full_like(xn, float("nan")), xn)
        out = normalized_to_pixels(xn, K)
        return out.to(uv.dtype) if is_torch(uv) else out

    def unproject(self, uv: ArrayLike, depth: ArrayLike, undistort: bool = True) -> Array:
        """Pixels ``(..., 2)`` at camera depths ``(...)`` (mm) -> world points ``(..., 3)``."""
        uv = as_float_array(uv, "uv", trailing=(2,))
        if undistort:
            uv = self.undistort_points(uv)
        xn = pixels_to_normalized(uv, like(self.K, uv))
        depth = like(depth, uv)
        Xc = concat([xn, xp(xn).ones_like(xn[..., :1])], -1) * depth[..., None]
        return (Xc - like(self.t, uv)) @ like(self.R, uv)

    def rays(self, uv: ArrayLike, undistort: bool = True) -> tuple[Array, Array]:
        """Unit directions ``(..., 3)`` in the world frame of the rays through pixels ``uv``.

        The rays start at ``self.center``; ``undistort=False`` treats ``uv`` as ideal
        (already undistorted) pixels.
        """
        uv = as_float_array(uv, "uv", trailing=(2,))
        if undistort:
            uv = self.undistort_points(uv)
        xn = pixels_to_normalized(uv, like(self.K, uv))
        d = concat([xn, xp(xn).ones_like(xn[..., :1])], -1) @ like(self.R, uv)
        return d / (d * d).sum(-1, keepdims=True) ** 0.5 if not is_torch(d) else \
            d / d.norm(dim=-1, keepdim=True)

    def in_image(self, uv: ArrayLike, margin: float = 0.0) -> Array:
        """Boolean ``(...)``: pixels inside the image (needs ``image_size``)."""
        if self.image_size is None:
            raise ValueError("in_image needs a camera with image_size set")
        w, h = self.image_size
        u, v = uv[..., 0], uv[..., 1]
        return (u >= -0.5 + margin) & (u <= w - 0.5 - margin) & (v >= -0.5 + margin) & \
            (v <= h - 0.5 - margin)

    # ---------------------------------------------------------------- io
    def to_dict(self) -> dict:
        """A JSON-serialisable description (the format of ``data/*.json`` rig files)."""
        d = {"K": self.K.tolist(), "R": self.R.tolist(), "t": self.t.tolist(),
             "distortion": self.dist.tolist()}
        if self.image_size is not None:
            d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, d: dict, name: str | None = None) -> Camera:
        """Inverse of :meth:`to_dict`."""
        missing = {"K", "R", "t"} - set(d)
        if missing:
            raise ValueError(f"camera description lacks {sorted(missing)}")
        return cls(d["K"], d["R"], d["t"], d.get("distortion"), d.get("image_size"), name=name)


def check_image_size(image_size: Sequence[int], K: ArrayLike) -> tuple[int, int]:
    """``image_size`` as ``(width, height)``, refusing one that is clearly ``(height, width)``.

    A camera's principal point ``(cx, cy)`` of ``K`` ``(3, 3)`` lies near the image
    centre ``((width - 1) / 2, (height - 1) / 2)``. A size that puts it more than 15%
    of the width or height off that centre while the swapped size puts it within 5%
    is refused; anything less clear-cut passes (cropped images may have the
    principal point anywhere). Swaps of nearly square images are harmless and pass.
    """
    try:
        n = len(image_size)
    except TypeError:
        n = 0
    if n != 2:
        raise ValueError(f"image_size must be (width, height), got {image_size!r}")
    w = check_int(image_size[0], "image_size[0]", 1)
    h = check_int(image_size[1], "image_size[1]", 1)
    cx, cy = float(K[0][2]), float(K[1][2])

    def off_centre(width: int, height: int) -> float:
        """How far the principal point is from the centre, in image widths or heights."""
        return max(abs(cx - (width - 1) / 2) / width, abs(cy - (height - 1) / 2) / height)

    if off_centre(w, h) > 0.15 and off_centre(h, w) < 0.05:
        raise ValueError(f"image_size must be (width, height) in pixels, but {(w, h)} puts the "
                         f"principal point ({cx:g}, {cy:g}) far off the image centre and "
                         f"{(h, w)} centres it: it looks like (height, width)")
    return w, h


# ---------------------------------------------------------------------- lens model
def distort_normalized(xn, dist) -> Array:
    """Apply OpenCV radial-tangential distortion to normalised coordinates ``(..., 2)``.

    ``dist`` is ``(k1, k2, p1, p2, k3)``. With ``r^2 = x^2 + y^2``::

        x' = x (1 + k1 r^2 + k2 r^4 + k3 r^6) + 2 p1 x y + p2 (r^2 + 2 x^2)
        y' = y (1 + k1 r^2 + k2 r^4 + k3 r^6) + p1 (r^2 + 2 y^2) + 2 p2 x y
    """
    k1, k2, p1, p2, k3 = (dist[i] for i in range(5))
    x, y = xn[..., 0], xn[..., 1]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return xp(xn).stack([xd, yd], -1)


def lens_fold_radius(dist: ArrayLike) -> float:
    """The normalised radius where the radial lens model folds back, ``inf`` if never.

    An ideal point at normalised radius ``r`` appears at radius ``r radial(r)`` with
    ``radial(r) = 1 + k1 r^2 + k2 r^4 + k3 r^6``. While that grows with ``r`` the lens
    maps circles to circles in order; where ``d(r radial(r)) / dr = 1 + 3 k1 r^2 +
    5 k2 r^4 + 7 k3 r^6`` first reaches 0 the model turns back (as barrel distortion,
    ``k1 < 0``, does unless the higher terms bend it up in time), and points beyond
    appear nearer the centre than points inside, which no real lens does. This is the
    smallest positive root of that polynomial (tangential terms left out, as in the
    usual definition of the model's valid radius).
    """
    k1, k2, _, _, k3 = (float(v) for v in np.asarray(to_numpy(dist), dtype=np.float64))
    return _fold_radius(k1, k2, k3)


@functools.lru_cache(maxsize=64)
def _fold_radius(k1: float, k2: float, k3: float) -> float:
    coeffs = np.array([7.0 * k3, 5.0 * k2, 3.0 * k1, 1.0])          # in s = r^2
    # a negligible leading term only moves a root far beyond any image: leave it out
    coeffs = coeffs[np.argmax(np.abs(coeffs) > 1e-12):]
    roots = np.roots(coeffs) if len(coeffs) > 1 else np.array([])
    s = [z.real for z in roots if abs(z.imag) <= 1e-12 * max(1.0, abs(z)) and z.real > 0]
    return float(np.sqrt(min(s))) if s else float("inf")


def undistort_normalized(xd, dist, iterations: int = 20) -> Array:
    """Invert :func:`distort_normalized` by Newton's method, ``(..., 2)`` -> ``(..., 2)``."""
    k1, k2, p1, p2, k3 = (dist[i] for i in range(5))
    stack = xp(xd).stack
    x, y = xd[..., 0], xd[..., 1]
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        d_radial = k1 + r2 * (2 * k2 + 3 * k3 * r2)  # d radial / d r2
        fx = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xd[..., 0]
        fy = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - xd[..., 1]
        a = radial + 2 * x * x * d_radial + 2 * p1 * y + 6 * p2 * x
        b = 2 * x * y * d_radial + 2 * p1 * x + 2 * p2 * y
        d = radial + 2 * y * y * d_radial + 6 * p1 * y + 2 * p2 * x
        det = a * d - b * b  # the Jacobian [[a, b], [b, d]] is symmetric
        x = x - (d * fx - b * fy) / det
        y = y - (a * fy - b * fx) / det
    return stack([x, y], -1)


def normalized_to_pixels(xn, K) -> Array:
    """Normalised image coordinates ``(..., 2)`` -> pixels with intrinsics ``K``."""
    x, y = xn[..., 0], xn[..., 1]
    u = K[0, 0] * x + K[0, 1] * y + K[0, 2]
    v = K[1, 1] * y + K[1, 2]
    return xp(xn).stack([u, v], -1)


def pixels_to_normalized(uv, K) -> Array:
    """Pixels ``(..., 2)`` -> normalised image coordinates (inverse of ``K``)."""
    y = (uv[..., 1] - K[1, 2]) / K[1, 1]
    x = (uv[..., 0] - K[0, 2] - K[0, 1] * y) / K[0, 0]
    return xp(uv).stack([x, y], -1)


# ---------------------------------------------------------------------- rigs
def look_at(position: ArrayLike, target: ArrayLike, up: ArrayLike = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Rotation ``R`` and translation ``t`` of a camera at ``position`` looking at ``target``.

    The camera's ``y`` axis points as far down (against ``up``) as possible, so the
    horizon is level.
    """
    position = np.asarray(position, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - position
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("the viewing direction is parallel to up; pick another up vector")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ position


def ring_rig(n_views: int = 4, radius: float = 5000.0, height: float = 1500.0,
             target: Sequence[float] = (0.0, 0.0, 900.0),
             focal: float | tuple[float, float] = 1150.0,
             image_size: tuple[int, int] = (1000, 1000), dist: ArrayLike | None = None,
             azimuth0: float = 45.0) -> list[Camera]:
    """``n_views`` cameras evenly spaced on a horizontal circle, all looking at ``target``.

    ``radius`` and ``height`` (mm) place the ring; ``focal`` is ``f`` or ``(fx, fy)``
    in pixels; ``image_size`` is ``(width, height)`` in pixels and the principal point
    is its centre; ``azimuth0`` (degrees) is the azimuth of the first camera.
    """
    n_views = check_int(n_views, "n_views", 2)
    check_positive(radius, "radius")
    fx, fy = (focal, focal) if np.isscalar(focal) else focal
    w, h = image_size
    K = np.array([[fx, 0.0, (w - 1) / 2], [0.0, fy, (h - 1) / 2], [0.0, 0.0, 1.0]])
    cams = []
    for i in range(n_views):
        a = np.deg2rad(azimuth0 + 360.0 * i / n_views)
        R, t = look_at([radius * np.cos(a), radius * np.sin(a), height], target)
        cams.append(Camera(K, R, t, dist, image_size=image_size, name=f"ring{i}"))
    return cams


def load_rig(name: str | Path = "h36m", **kwargs) -> list[Camera]:
    """A named camera rig as a list of :class:`Camera`.

    * ``"h36m"``: the four Human3.6M cameras of subject S1 (see ``data/README.md``
      for the source and licence of the numbers);
    * ``"ring"``: a synthetic ring, keyword arguments as :func:`ring_rig`
      (e.g. ``load_rig("ring", n_views=8)``);
    * a path to a JSON file in the format of ``data/h36m_s1_cameras.json``.
    """
    if isinstance(name, str) and name == "ring":
        return ring_rig(**kwargs)
    if kwargs:
        raise TypeError(f"rig {name!r} takes no keyword arguments, got {sorted(kwargs)}")
    if isinstance(name, str) and name in _NAMED_RIGS:
        path = DATA_DIR / _NAMED_RIGS[name]
    else:
        path = Path(name)
        if not (path.suffix == ".json" and path.is_file()):
            raise ValueError(f"unknown rig {str(name)!r}; expected one of {list_rigs()} "
                             "or the path of a rig JSON file")
    with open(path) as f:
        spec = json.load(f)
    sizes = spec.get("image_sizes", {})
    cams = []
    for cam_name, d in spec["cameras"].items():
        d = dict(d)
        d.setdefault("image_size", sizes.get(cam_name))
        cams.append(Camera.from_dict(d, name=cam_name))
    return cams


def rig_groups(cameras, n_frames: int) -> list[tuple[np.ndarray, Sequence[Camera]]]:
    """Frames that share a rig, ``[(frame indices, cameras), ...]`` in order of appearance.

    ``cameras`` is one list of :class:`Camera` for all frames, or one such list per
    frame (Human3.6M calibrates per subject); frames whose lists hold the same camera
    objects form one group.
    """
    if isinstance(cameras, Camera) or not isinstance(cameras, Sequence) or not cameras:
        raise TypeError("cameras must be a list of crossview.Camera objects, one per view, or "
                        "one such list per frame")
    if all(isinstance(c, Camera) for c in cameras):
        return [(np.arange(n_frames), list(cameras))]
    if len(cameras) != n_frames:
        raise ValueError(f"cameras holds {len(cameras)} rigs but there are {n_frames} frames; "
                         "give one list of cameras, or one per frame")
    groups: dict[tuple, tuple[list[int], Sequence[Camera]]] = {}
    for f, rig in enumerate(cameras):
        check_cameras(rig, name=f"cameras[{f}]")
        groups.setdefault(tuple(map(id, rig)), ([], rig))[0].append(f)
    return [(np.array(idx), rig) for idx, rig in groups.values()]


_NAMED_RIGS = {"h36m": "h36m_s1_cameras.json"}


def list_rigs() -> list[str]:
    """Names accepted by :func:`load_rig`."""
    return sorted([*_NAMED_RIGS, "ring"])
