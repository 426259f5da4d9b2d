"""Joint heatmaps: Gaussian rendering, crop affines, and sub-pixel peak finding.

Heatmaps are ``(V, J, H, W)`` (or with any leading batch dimensions). Heatmap pixel
``(i, j)`` (row, column) has its centre at heatmap coordinates ``x = j, y = i``; so
a heatmap covers ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. Each view has an affine
``A`` of shape ``(2, 3)`` mapping image pixels to heatmap pixels:
``[x_h, y_h] = A @ [u, v, 1]``.

Size order. A size follows the coordinates it is used with. The size of an *array*
(a heatmap, a network input) is its shape, ``(H, W)``: ``heatmap_size=(48, 64)``
is 48 rows and 64 columns, like ``heatmaps.shape[-2:]``. A size measured in *image
pixels* (a camera image, a crop box) follows the pixel ``(u, v)``: ``(width,
height)``, as OpenCV's ``cv::Size`` and :attr:`crossview.Camera.image_size`. The
two meet in :func:`crop_affine`, which maps a box ``(width, height)`` onto a heatmap
``(H, W)``; a pair whose horizontal and vertical scales differ by more than
:data:`ASPECT_TOLERANCE` is refused as a likely swap unless ``anisotropic=True``.
"""

from __future__ import annotations

import numpy as np

from ._array import Array, ArrayLike, concat, is_torch, like, to_numpy, xp
from ._validate import as_float_array, check_affines, check_finite, check_positive, check_size

#: Largest relative difference between the x and y scales of :func:`crop_affine`
#: (heatmap pixels per image pixel) that is not taken for a swapped size. Boxes made
#: with :func:`bounding_box` at the heatmap's aspect match exactly; 2% leaves room
#: for boxes rounded to whole image pixels (half a pixel in 50).
ASPECT_TOLERANCE = 0.02


def render_heatmaps(points: ArrayLike, size: tuple[int, int], sigma: float = 2.0,
                    amplitude: ArrayLike | None = None) -> Array:
    """Gaussian blobs at ``points`` ``(..., 2)`` (heatmap px) -> heatmaps ``(..., H, W)``.

    ``size`` is the heatmap's ``(H, W)`` (rows, columns); ``points`` are ``(x, y)``.
    ``exp(-((x - px)^2 + (y - py)^2) / (2 sigma^2))`` scaled by ``amplitude``
    ``(...)`` (default 1; 0 leaves the map empty). NumPy input gives float32.
    """
    H, W = check_size(size, "size")
    sigma = check_positive(sigma, "sigma")
    points = as_float_array(points, "points", trailing=(2,))
    m = xp(points)
    xs = like(np.arange(W), points)
    ys = like(np.arange(H), points)
    gx = m.exp(-((xs - points[..., 0:1]) ** 2) / (2 * sigma**2))  # (..., W)
    gy = m.exp(-((ys - points[..., 1:2]) ** 2) / (2 * sigma**2))  # (..., H)
    if amplitude is not None:
        amplitude = check_finite(like(amplitude, points), "amplitude")
        if bool((amplitude < 0).any()):
            raise ValueError("amplitude must be non-negative (heatmaps hold evidence, not its "
                             "absence)")
        gy = gy * amplitude[..., None]
    if not is_torch(points):  # the outer product dominates: do it in float32
        gx, gy = gx.astype(np.float32), gy.astype(np.float32)
    return gy[..., :, None] * gx[..., None, :]


# ---------------------------------------------------------------------- crops and affines
def bounding_box(points: ArrayLike, margin: float = 1.2,
                 aspect: float = 1.0) -> tuple[Array, Array]:
    """Box around 2D points ``(..., P, 2)``: centre ``(..., 2)`` and size ``(..., 2)``.

    ``size`` is ``(width, height)`` in the points' units (image pixels). The tight
    box is scaled by ``margin`` and then widened or heightened to the ``aspect``
    ratio width / height: pass the heatmap's ``W / H`` for a box that
    :func:`crop_affine` maps onto that heatmap at one scale.
    """
    points = as_float_array(points, "points", trailing=(None, 2))
    margin = check_positive(margin, "margin")
    aspect = check_positive(aspect, "aspect")
    if points.shape[-2] == 0:
        raise ValueError("points must hold at least one point, got shape "
                         f"{tuple(points.shape)}")
    if is_torch(points):
        lo, hi = points.amin(-2), points.amax(-2)
    else:
        lo, hi = points.min(-2), points.max(-2)
    center = (lo + hi) / 2
    size = (hi - lo) * margin
    m = xp(size)
    w = m.maximum(size[..., 0], size[..., 1] * aspect)
    return center, m.stack([w, w / aspect], -1)


def crop_affine(center: ArrayLike, size: ArrayLike, heatmap_size: tuple[int, int], *,
                anisotropic: bool = False) -> np.ndarray:
    """Affine ``(..., 2, 3)`` mapping an image crop onto a heatmap.

    ``center`` ``(..., 2)`` is ``(u, v)`` and ``size`` ``(..., 2)`` is ``(width,
    height)``, both in image pixels; ``heatmap_size`` is ``(H, W)`` (rows, columns).
    The crop's edges map onto the heatmap's outer pixel edges, so
    ``x_h = (u - c_u + width / 2) * W / width - 1/2``, and likewise ``y_h`` with
    ``H / height``.

    The box should have the heatmap's aspect ratio (``width / height = W / H``, as
    :func:`bounding_box` makes it), so that both axes share one scale. A box whose
    two scales differ by more than :data:`ASPECT_TOLERANCE` is refused: that is what
    a ``(W, H)`` heatmap size or a ``(height, width)`` box gives. ``anisotropic=True``
    accepts it, for a deliberately stretched crop.
    """
    H, W = check_size(heatmap_size, "heatmap_size")
    center = as_float_array(center, "center", trailing=(2,))
    size = as_float_array(size, "size", trailing=(2,))
    if bool((size <= 0).any()):
        raise ValueError("size must be a positive crop (width, height) in image pixels")
    if not anisotropic:
        _check_aspect(to_numpy(size), H, W)
    m = xp(center)
    sx, sy = W / size[..., 0], H / size[..., 1]
    zero = m.zeros_like(sx)
    row0 = m.stack([sx, zero, (size[..., 0] / 2 - center[..., 0]) * sx - 0.5], -1)
    row1 = m.stack([zero, sy, (size[..., 1] / 2 - center[..., 1]) * sy - 0.5], -1)
    return m.stack([row0, row1], -2)


def _check_aspect(size: np.ndarray, H: int, W: int) -> None:
    """Refuse boxes ``(..., 2)`` (width, height) whose x and y scales onto ``(H, W)`` differ."""
    size = np.asarray(size, dtype=np.float64)
    # log of (W / width) / (H / height): 0 for one scale; a swap gives +-2 log(W / H)
    log_ratio = np.log(W * size[..., 1]) - np.log(H * size[..., 0])
    worst = np.unravel_index(np.argmax(np.abs(log_ratio)), log_ratio.shape)
    if not abs(log_ratio[worst]) > np.log1p(ASPECT_TOLERANCE):
        return
    w, h = size[worst]
    where = f"size[{', '.join(map(str, worst))}]" if worst else "size"
    swapped = abs(np.log(H * h) - np.log(W * w)) <= np.log1p(ASPECT_TOLERANCE)
    hint = ("; swapping either one would match, so one of them is likely swapped"
            if swapped else "")
    raise ValueError(
        f"crop_affine would scale x and y differently: {where} = (width, height) = "
        f"({w:g}, {h:g}) image px onto heatmap_size = (H, W) = ({H}, {W}) gives "
        f"{W / w:.4g} heatmap px per image px along x but {H / h:.4g} along y{hint}. "
        "heatmap_size is (rows, columns) and size is (width, height); pass "
        "anisotropic=True for a deliberately stretched crop")


def apply_affine(A: ArrayLike, points: ArrayLike) -> Array:
    """Apply affines ``(..., 2, 3)`` to points ``(..., P, 2)`` -> ``(..., P, 2)``.

    The batch dimensions of ``A`` broadcast against those of ``points`` (without ``P``).
    """
    A = as_float_array(A, "A", trailing=(2, 3))
    points = as_float_array(points, "points", trailing=(2,))
    A = like(A, points)
    # (..., P, 1, 2) * (..., 1, 2, 2) summed over the last axis is A[:, :2] @ p per point.
    return (points[..., :, None, :] * A[..., None, :, :2]).sum(-1) + A[..., None, :, 2]


def invert_affine(A: ArrayLike) -> Array:
    """Inverse of affines ``(..., 2, 3)``, also ``(..., 2, 3)``."""
    A = check_affines(as_float_array(A, "A", trailing=(2, 3)), "A")
    m = xp(A)
    M, b = A[..., :2], A[..., 2:]
    Minv = m.linalg.inv(M)
    return concat([Minv, -Minv @ b], -1)


def image_to_heatmap(points: ArrayLike, affines: ArrayLike) -> Array:
    """Image pixels ``(..., P, 2)`` -> heatmap pixels, with affines ``(..., 2, 3)``."""
    return apply_affine(affines, points)


def heatmap_to_image(points: ArrayLike, affines: ArrayLike) -> Array:
    """Heatmap pixels ``(..., P, 2)`` -> image pixels, with affines ``(..., 2, 3)``."""
    return apply_affine(invert_affine(affines), points)


# ---------------------------------------------------------------------- peaks
def find_peaks(heatmaps: ArrayLike, subpixel: bool = True,
               eps: float = 1e-10) -> tuple[Array, Array]:
    """Locate the maximum of each heatmap ``(..., H, W)``.

    Returns ``(coords, values)``: ``coords`` ``(..., 2)`` as heatmap ``(x, y)`` and
    ``values`` ``(...)`` the heatmap value at the arg-max pixel. With ``subpixel``
    each axis is refined by the vertex of the parabola through the logarithms of
    the arg-max and its two neighbours; for a Gaussian blob this is exact, since
    the log of a Gaussian is a quadratic. Peaks on the border are not refined
    along the axis that leaves the map.
    """
    heatmaps = as_float_array(heatmaps, "heatmaps", trailing=(None, None))
    m = xp(heatmaps)
    H, W = heatmaps.shape[-2:]
    if H == 0 or W == 0:
        raise ValueError(f"heatmaps must be at least 1 x 1 pixels, got shape "
                         f"{tuple(heatmaps.shape)}")
    flat = heatmaps.reshape(*heatmaps.shape[:-2], H * W)

    def take(index):
        """The heatmap values at flat pixel indices ``(...)``."""
        if is_torch(flat):
            return flat.gather(-1, index[..., None])[..., 0]
        return np.take_along_axis(flat, index[..., None], -1)[..., 0]

    idx = flat.argmax(-1)
    values = take(idx)
    iy, ix = idx // W, idx % W
    x, y = like(ix, heatmaps), like(iy, heatmaps)
    if subpixel:
        def log_at(dy, dx):
            yy, xx = m.clip(iy + dy, 0, H - 1), m.clip(ix + dx, 0, W - 1)
            return m.log(m.clip(take(yy * W + xx), eps, None))

        def vertex(lo, c, hi, inside):
            """Offset of the parabola's vertex through log values at -1, 0, +1 (0 if none)."""
            curv = lo - 2 * c + hi
            ok = inside & (curv < 0)
            off = m.clip(0.5 * (lo - hi) / m.where(ok, curv, -m.ones_like(curv)), -0.5, 0.5)
            return m.where(ok, off, m.zeros_like(off))

        c = log_at(0, 0)
        x = x + vertex(log_at(0, -1), c, log_at(0, 1), (ix > 0) & (ix < W - 1))
        y = y + vertex(log_at(-1, 0), c, log_at(1, 0), (iy > 0) & (iy < H - 1))
    return m.stack([x, y], -1), values


def peak_observations(heatmaps: ArrayLike,
                      affines: ArrayLike) -> tuple[np.ndarray, np.ndarray, float]:
    """Heatmap peaks as triangulation input: image pixels ``(..., V, J, 2)``, peak heights
    ``(..., V, J)`` (the confidences), and the size of one heatmap pixel in image pixels.

    ``heatmaps`` ``(..., V, J, H, W)``, ``affines`` ``(..., V, 2, 3)`` (NumPy). Peaks are
    sub-pixel refined arg-maxes (:func:`find_peaks`), in float64; heatmaps on a GPU are
    searched there, so that only the peaks cross to the host.
    """
    affines = np.asarray(to_numpy(affines), dtype=np.float64)
    if is_torch(heatmaps) and heatmaps.device.type != "cpu":
        peaks, values = (to_numpy(a) for a in find_peaks(heatmaps.double()))
    else:
        peaks, values = find_peaks(to_numpy(heatmaps).astype(np.float64, copy=False))
    uv = heatmap_to_image(peaks, affines)
    scale = np.sqrt(np.abs(np.linalg.det(affines[..., :2])))     # heatmap px per image px
    return uv, values, float(1.0 / scale.mean())
