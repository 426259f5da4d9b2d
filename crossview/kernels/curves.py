"""The tracing of analytic fusion's epipolar curves, written once in plain Python.

:func:`_trace_frame` fills one frame of an :class:`crossview.sampler.EpipolarSampler`'s
arrays: the undistorted rays of every heatmap pixel (Newton's method, a step over all
pixels at a time), the half-plane angle of each pixel (:func:`_atan2`, a branch-free
arctangent that vectorises), and for each curve the part of its line that can hold
points in front of both cameras and inside the lens' fold, and its reads.

The functions are plain Python on NumPy arrays and scalars, so that the same source is
the readable reference and the compiled kernel: :mod:`crossview.kernels.curves_naive`
runs it as it is, and :mod:`crossview.kernels.curves_numba` loads this file a second
time with :data:`COMPILE` set to ``numba.njit``, so that every function marked
``@compiled(...)`` is compiled with those options (and ``cache=True``). Nothing here
imports Numba. The lens model is :func:`crossview.camera.distort_normalized`'s,
reproduced in :func:`_through_lens` and inverted in :func:`_newton_step`
(``tests/test_lens_model.py`` checks both).
"""

from __future__ import annotations

import math

import numpy as np

#: ``numba.njit`` when this source is compiled (:mod:`crossview.kernels.curves_numba` sets
#: it before running the file); ``None`` when it runs as plain Python.
COMPILE = globals().get("COMPILE")


def compiled(**options):
    """Mark a function for compilation with ``njit(cache=True, **options)``; a no-op when
    the source runs as plain Python."""
    if COMPILE is None:
        return lambda f: f
    return COMPILE(cache=True, **options)


@compiled(inline="always", error_model="numpy")
def _atan2(y, x):
    """``atan2(y, x)`` in ``(-pi, pi]`` to about 1e-13 rad, without branches (vectorises).

    With ``z = min / max`` of ``|x|, |y|`` in ``[0, 1]`` and ``c = tan(pi / 8)``,
    ``atan(z) = pi / 8 + atan((z - c) / (1 + c z))``, whose argument is at most ``c``
    in magnitude; there the odd Taylor series ``sum (-1)^n t^(2n+1) / (2n+1)`` is
    summed to ``t^29``: the first term left out is below ``c^31 / 31 < 1e-13``.
    """
    ax = abs(x)
    ay = abs(y)
    big = max(ax, ay)
    z = min(ax, ay) / (big if big > 0.0 else 1.0)
    c = 0.41421356237309503
    t = (z - c) / (1.0 + c * z)
    t2 = t * t
    s = 1.0 / 29.0
    s = 1.0 / 27.0 - t2 * s
    s = 1.0 / 25.0 - t2 * s
    s = 1.0 / 23.0 - t2 * s
    s = 1.0 / 21.0 - t2 * s
    s = 1.0 / 19.0 - t2 * s
    s = 1.0 / 17.0 - t2 * s
    s = 1.0 / 15.0 - t2 * s
    s = 1.0 / 13.0 - t2 * s
    s = 1.0 / 11.0 - t2 * s
    s = 1.0 / 9.0 - t2 * s
    s = 1.0 / 7.0 - t2 * s
    s = 1.0 / 5.0 - t2 * s
    s = 1.0 / 3.0 - t2 * s
    s = 1.0 - t2 * s
    a = 0.39269908169872414 + t * s
    a = 1.5707963267948966 - a if ay > ax else a
    a = 3.141592653589793 - a if x < 0.0 else a
    return -a if y < 0.0 else a


@compiled(error_model="numpy", fastmath=True)
def _newton_step(x, y, xd, yd, k1, k2, p1, p2, k3):
    """One step of Newton's method towards ``distort(x, y) = (xd, yd)`` for every point
    (see :func:`crossview.camera.undistort_normalized`); a loop that vectorises."""
    for n in range(x.shape[0]):
        xx, yy = x[n], y[n]
        r2 = xx * xx + yy * yy
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        d_radial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
        ex = xx * radial + 2.0 * p1 * xx * yy + p2 * (r2 + 2.0 * xx * xx) - xd[n]
        ey = yy * radial + p1 * (r2 + 2.0 * yy * yy) + 2.0 * p2 * xx * yy - yd[n]
        a = radial + 2.0 * xx * xx * d_radial + 2.0 * p1 * yy + 6.0 * p2 * xx
        b = 2.0 * xx * yy * d_radial + 2.0 * p1 * xx + 2.0 * p2 * yy
        d = radial + 2.0 * yy * yy * d_radial + 6.0 * p1 * yy + 2.0 * p2 * xx
        inv = 1.0 / (a * d - b * b)            # the Jacobian [[a, b], [b, d]] is symmetric
        x[n] = xx - (d * ex - b * ey) * inv
        y[n] = yy - (a * ey - b * ex) * inv


@compiled(error_model="numpy")
def _normalised_rays(Kc, dist, lens, Ainv, pts, xn):
    """Heatmap points ``pts`` ``(N, 2)`` of one view -> undistorted normalised ``xn`` ``(N, 2)``.

    ``Ainv`` ``(2, 3)`` maps heatmap to image pixels. With ``lens``, 8 steps of Newton's
    method from the distorted point invert the distortion, as
    :func:`crossview.camera.undistort_normalized` does.
    """
    fx, skew, cx, fy, cy = Kc[0, 0], Kc[0, 1], Kc[0, 2], Kc[1, 1], Kc[1, 2]
    N = pts.shape[0]
    xd = np.empty(N)
    yd = np.empty(N)
    for n in range(N):
        u = Ainv[0, 0] * pts[n, 0] + Ainv[0, 1] * pts[n, 1] + Ainv[0, 2]
        v = Ainv[1, 0] * pts[n, 0] + Ainv[1, 1] * pts[n, 1] + Ainv[1, 2]
        yd[n] = (v - cy) / fy
        xd[n] = (u - cx - skew * yd[n]) / fx
    x = xd.copy()
    y = yd.copy()
    if lens:
        for _ in range(8):
            _newton_step(x, y, xd, yd, dist[0], dist[1], dist[2], dist[3], dist[4])
    for n in range(N):
        xn[n, 0] = x[n]
        xn[n, 1] = y[n]


@compiled(inline="always", error_model="numpy")
def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@compiled(inline="always", error_model="numpy")
def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


@compiled(inline="always", error_model="numpy")
def _scaled(a, s):
    return (a[0] * s, a[1] * s, a[2] * s)


@compiled(inline="always", error_model="numpy")
def _unit(a):
    n = math.sqrt(_dot(a, a))
    return _scaled(a, 1.0 / n) if n > 0.0 else a


@compiled(inline="always", error_model="numpy")
def _mul(M, a):
    """``M @ a`` for a 3 x 3 array and a 3-tuple."""
    return (M[0, 0] * a[0] + M[0, 1] * a[1] + M[0, 2] * a[2],
            M[1, 0] * a[0] + M[1, 1] * a[1] + M[1, 2] * a[2],
            M[2, 0] * a[0] + M[2, 1] * a[1] + M[2, 2] * a[2])


@compiled(inline="always", error_model="numpy")
def _mul_t(M, a):
    """``M.T @ a`` for a 3 x 3 array and a 3-tuple."""
    return (M[0, 0] * a[0] + M[1, 0] * a[1] + M[2, 0] * a[2],
            M[0, 1] * a[0] + M[1, 1] * a[1] + M[2, 1] * a[2],
            M[0, 2] * a[0] + M[1, 2] * a[1] + M[2, 2] * a[2])


@compiled(inline="always", error_model="numpy")
def _front(px, py, Kc, bv, dv, bd, dd):
    """Can ideal pixel ``(px, py)`` of camera ``v`` be a point in front of both cameras?

    With the unit baseline ``b`` from ``u`` to ``v``, a ray ``d`` of camera ``u`` in the
    curve's half-plane and the pixel's ray ``r = (x_n, y_n, 1)`` (camera ``v``'s frame),
    ``alpha d - beta r = b`` needs ``alpha, beta >= 0``; by
    ``(a x c).(e x c) = (a.e)(c.c) - (a.c)(e.c)`` that takes ``bv = R_v b``,
    ``dv = R_v d``, ``bd = b.d`` and ``dd = d.d``. The epipole itself (``alpha = 0``)
    is kept, whatever the rounding says.
    """
    yn = (py - Kc[1, 2]) / Kc[1, 1]
    xn = (px - Kc[0, 2] - Kc[0, 1] * yn) / Kc[0, 0]
    rr = 1.0 + xn * xn + yn * yn
    br = xn * bv[0] + yn * bv[1] + bv[2]
    dr = xn * dv[0] + yn * dv[1] + dv[2]
    tol = 1e-9 * math.sqrt(dd * rr)
    return bd * rr - br * dr > -tol and bd * dr - br * dd > -tol


@compiled(inline="always", error_model="numpy")
def _point_on_line(pt, p0x, p0y, dx, dy):
    """Parameter ``tau`` of the homogeneous point ``pt`` (3-tuple) on ``p0 + tau d``; NaN
    when it lies at infinity."""
    if abs(pt[2]) <= 1e-12 * max(abs(pt[0]), abs(pt[1]), abs(pt[2])):
        return np.nan
    return (pt[0] / pt[2] - p0x) * dx + (pt[1] / pt[2] - p0y) * dy


@compiled(inline="always", error_model="numpy")
def _distorted(xn, yn, vx, vy, k1, k2, p1, p2, k3):
    """OpenCV's lens model (:func:`crossview.camera.distort_normalized`) at normalised
    ``(xn, yn)``, and its derivative along the direction ``(vx, vy)``."""
    r2 = xn * xn + yn * yn
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    d_radial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
    dr2 = 2.0 * (xn * vx + yn * vy)
    xd = xn * radial + 2.0 * p1 * xn * yn + p2 * (r2 + 2.0 * xn * xn)
    yd = yn * radial + p1 * (r2 + 2.0 * yn * yn) + 2.0 * p2 * xn * yn
    dxd = vx * radial + xn * d_radial * dr2 + 2.0 * p1 * (vx * yn + xn * vy) + \
        p2 * (dr2 + 4.0 * xn * vx)
    dyd = vy * radial + yn * d_radial * dr2 + p1 * (dr2 + 4.0 * yn * vy) + \
        2.0 * p2 * (vx * yn + xn * vy)
    return xd, yd, dxd, dyd


@compiled(inline="always", error_model="numpy")
def _through_lens(t, p0x, p0y, dx, dy, Kc, dist, A, lens):
    """Heatmap position ``(x, y)`` of ideal pixel ``p0 + t d`` seen through the lens
    (OpenCV ``dist``, intrinsics ``Kc``; none unless ``lens``) and the affine ``A``, and
    its derivative in ``t``."""
    if not lens:
        px, py = p0x + t * dx, p0y + t * dy
        return (A[0, 0] * px + A[0, 1] * py + A[0, 2], A[1, 0] * px + A[1, 1] * py + A[1, 2],
                A[0, 0] * dx + A[0, 1] * dy, A[1, 0] * dx + A[1, 1] * dy)
    fx, skew, cx, fy, cy = Kc[0, 0], Kc[0, 1], Kc[0, 2], Kc[1, 1], Kc[1, 2]
    k1, k2, p1, p2, k3 = dist[0], dist[1], dist[2], dist[3], dist[4]
    vy = dy / fy                                   # d y_n / dt
    vx = (dx - skew * vy) / fx                     # d x_n / dt
    yn = (p0y + t * dy - cy) / fy
    xn = (p0x + t * dx - cx - skew * yn) / fx
    xd, yd, dxd, dyd = _distorted(xn, yn, vx, vy, k1, k2, p1, p2, k3)
    u = fx * xd + skew * yd + cx
    v = fy * yd + cy
    du = fx * dxd + skew * dyd
    dv = fy * dyd
    return (A[0, 0] * u + A[0, 1] * v + A[0, 2], A[1, 0] * u + A[1, 1] * v + A[1, 2],
            A[0, 0] * du + A[0, 1] * dv, A[1, 0] * du + A[1, 1] * dv)


#: Most heatmap pixels between two points at which a curve seen through a lens is traced.
KNOT_SPACING = 24.0
#: The same where the cubics between those points miss the curve by more than
#: :data:`KNOT_TOLERANCE` heatmap pixels half-way (near a lens' fold); the points are then
#: joined by chords.
FINE_SPACING = 1.0
KNOT_TOLERANCE = 0.002



@compiled(inline="always", error_model="numpy")
def _hermite(s, o0, o1, d0, d1):
    """The cubic with values ``o0``, ``o1`` and slopes ``d0``, ``d1`` (per unit ``s``) at
    ``s = 0, 1``, at ``s``."""
    s2 = s * s
    s3 = s2 * s
    return (2.0 * s3 - 3.0 * s2 + 1.0) * o0 + (s3 - 2.0 * s2 + s) * d0 + \
        (3.0 * s2 - 2.0 * s3) * o1 + (s3 - s2) * d1


@compiled(error_model="numpy")
def _lens_points(T, XN, YN, VX, VY, Kc, dist, A, out):
    """Points ``p0 + t d`` of lines of ideal pixels through the lens and the affine ``A``:
    ``out[i] = (x, y, dx/dt, dy/dt)`` in heatmap pixels. Point ``i`` is given by its
    ``T[i]`` and its line's normalised ``(XN, YN)`` at ``t = 0`` and ``(VX, VY)`` per unit
    ``t``, one entry per point: a loop without branches or gathers, which vectorises."""
    fx, skew, cx, fy, cy = Kc[0, 0], Kc[0, 1], Kc[0, 2], Kc[1, 1], Kc[1, 2]
    k1, k2, p1, p2, k3 = dist[0], dist[1], dist[2], dist[3], dist[4]
    a00, a01, a02, a10, a11, a12 = A[0, 0], A[0, 1], A[0, 2], A[1, 0], A[1, 1], A[1, 2]
    for i in range(T.shape[0]):
        vx, vy = VX[i], VY[i]
        xn = XN[i] + T[i] * vx
        yn = YN[i] + T[i] * vy
        xd, yd, dxd, dyd = _distorted(xn, yn, vx, vy, k1, k2, p1, p2, k3)
        u = fx * xd + skew * yd + cx
        v = fy * yd + cy
        du = fx * dxd + skew * dyd
        dv = fy * dyd
        out[i, 0] = a00 * u + a01 * v + a02
        out[i, 1] = a10 * u + a11 * v + a12
        out[i, 2] = a00 * du + a01 * dv
        out[i, 3] = a10 * du + a11 * dv


@compiled(inline="always", error_model="numpy")
def _set_knot(knots, i, x, y, vx, vy, along_x):
    """``knots[i] = (m, o, do/dm)`` from a point ``(x, y)`` and its derivative."""
    mm, oo, dm, do = (x, y, vx, vy) if along_x else (y, x, vy, vx)
    knots[i, 0] = mm
    knots[i, 1] = oo
    knots[i, 2] = do / dm if abs(dm) > 1e-12 * abs(do) else 0.0


@compiled(inline="always", error_model="numpy")
def _worst_segment(knots, n):
    """The segment of ``knots`` ``(n, 3)`` whose slopes differ most (where a cubic errs
    most), or -1 when ``m`` does not run one way."""
    up = knots[n - 1, 0] > knots[0, 0]
    worst, bend = 0, -1.0
    for i in range(n - 1):
        h = knots[i + 1, 0] - knots[i, 0]
        if (h > 0.0) != up or h == 0.0:
            return -1
        turn = abs(h * (knots[i + 1, 2] - knots[i, 2]))
        if turn > bend:
            worst, bend = i, turn
    return worst


@compiled(inline="always", error_model="numpy")
def _fine_knots(lo, hi, p0x, p0y, dx, dy, Kc, dist, A, along_x, knots):
    """Knots :data:`FINE_SPACING` apart along the longest run of a curve (through a lens)
    in which ``m`` keeps the direction of its ends; returns their number."""
    x0, y0, _, _ = _through_lens(lo, p0x, p0y, dx, dy, Kc, dist, A, True)
    x1, y1, _, _ = _through_lens(hi, p0x, p0y, dx, dy, Kc, dist, A, True)
    n = min(max(math.ceil(math.hypot(x1 - x0, y1 - y0) / FINE_SPACING), 1) + 1,
            knots.shape[0])
    for i in range(n):
        t = lo + (hi - lo) * i / (n - 1)
        x, y, vx, vy = _through_lens(t, p0x, p0y, dx, dy, Kc, dist, A, True)
        _set_knot(knots, i, x, y, vx, vy, along_x)
    up = knots[n - 1, 0] > knots[0, 0]
    best0, best1, run0 = 0, 0, 0
    for i in range(n - 1):
        if (knots[i + 1, 0] > knots[i, 0]) != up or knots[i + 1, 0] == knots[i, 0]:
            run0 = i + 1
        elif i + 1 - run0 > best1 - best0:
            best0, best1 = run0, i + 1
    n = best1 - best0 + 1
    for i in range(n):
        for c in range(3):
            knots[i, c] = knots[best0 + i, c]
    return n


@compiled(inline="always", error_model="numpy")
def _reads(knots, n, hermite, along_x, H, W, tmp, index, frac):
    """Reads of a curve given as knots ``(m, o, do/dm)`` ``(n, 3)`` along its major axis
    (any order of ``m``): at every column (row, when not ``along_x``) ``c`` between the
    end knots, ``o(c)`` by cubic Hermite interpolation (by chords unless ``hermite``),
    from where the curve enters the heatmap to where it leaves it; with more columns
    than ``S = len(index)``, every second (third, ...). Writes ``index`` and ``frac``
    (``-1`` and 0 after the last read), uses ``tmp`` ``(S,)``; returns the number."""
    S = index.shape[0]
    if knots[n - 1, 0] < knots[0, 0]:                  # increasing m
        for i in range(n // 2):
            for c in range(3):
                knots[i, c], knots[n - 1 - i, c] = knots[n - 1 - i, c], knots[i, c]
    ma, mb = knots[0, 0], knots[n - 1, 0]
    n_axis = W if along_x else H
    n_other = H if along_x else W
    count = 0
    c0 = max(math.ceil(ma), 0.0)
    c1 = min(math.floor(mb), n_axis - 1.0)
    m = int(c1 - c0) + 1 if mb > ma and n > 1 else 0
    if m > 0:
        every = (m + S - 1) // S
        m = (m + every - 1) // every
        # each segment's columns: one loop without branches (it vectorises)
        r0 = 0
        for seg in range(n - 1):
            m0, m1 = knots[seg, 0], knots[seg + 1, 0]
            r1 = m if seg == n - 2 else min(max(math.ceil((m1 - c0) / every), r0), m)
            h = m1 - m0
            o0, o1 = knots[seg, 1], knots[seg + 1, 1]
            d0, d1 = (h * knots[seg, 2], h * knots[seg + 1, 2]) if hermite else \
                (o1 - o0, o1 - o0)
            for r in range(r0, r1):
                tmp[r] = _hermite((c0 + r * every - m0) / h, o0, o1, d0, d1)
            r0 = r1
        # from where the curve enters the heatmap to where it leaves it
        first, last = 0, m - 1
        while first <= last and not -0.5 <= tmp[first] <= n_other - 0.5:
            first += 1
        while last >= first and not -0.5 <= tmp[last] <= n_other - 0.5:
            last -= 1
        count = last - first + 1
        for r in range(count):
            c = int(c0) + (first + r) * every
            o = min(max(tmp[first + r], 0.0), n_other - 1.0)
            o0 = min(math.floor(o), n_other - 2.0)
            index[r] = int(o0) * W + c if along_x else c * W + int(o0)
            frac[r] = o - o0
    for r in range(count, S):
        index[r] = -1
        frac[r] = 0.0
    return count


@compiled(error_model="numpy")
def _trace_pair(lines, ok, Kc, dist, lens, A, H, W, step, count, index, frac):
    """Reads of the ``K`` curves of one view pair in one frame.

    ``lines`` ``(K, 6)``: each curve's line of ideal pixels ``p0 + t d`` of the source
    camera (``p0x, p0y, dx, dy``) and the interval ``[lo, hi]`` of ``t`` it covers;
    curves with ``ok`` false have no reads. Writes ``step``, ``count`` ``(K,)`` and
    ``index``, ``frac`` ``(K, S)``.

    The curve is read where it crosses the heatmap's columns, when its ends lie farther
    apart along x than along y, or else its rows. Along that major axis ``m`` the minor
    coordinate is a function ``o(m)``: affine without a lens; with one, the curve is
    traced at points about :data:`KNOT_SPACING` heatmap pixels apart (position and
    slope, from the lens model's derivative; all points of all curves in one loop that
    vectorises) and interpolated between them by cubic Hermite polynomials, checked
    half-way against the curve where the slope turns most (:data:`KNOT_TOLERANCE`).
    Where that misses, or ``m`` turns back (near a lens' fold), the points are
    :data:`FINE_SPACING` apart and joined by chords, and the curve is read along its
    longest run in one direction.
    """
    K, S = index.shape
    fx, skew, cx, fy, cy = Kc[0, 0], Kc[0, 1], Kc[0, 2], Kc[1, 1], Kc[1, 2]
    knots = np.empty((math.ceil(math.hypot(H, W) / FINE_SPACING) + 2, 3))
    tmp = np.empty(S)
    if not lens:
        for k in range(K):
            step[k], count[k] = 1, 0
            if not ok[k]:
                for r in range(S):
                    index[k, r], frac[k, r] = -1, 0.0
                continue
            p0x, p0y, dx, dy, lo, hi = lines[k, 0], lines[k, 1], lines[k, 2], lines[k, 3], \
                lines[k, 4], lines[k, 5]
            xa, ya, vx, vy = _through_lens(lo, p0x, p0y, dx, dy, Kc, dist, A, False)
            xb, yb, _, _ = _through_lens(hi, p0x, p0y, dx, dy, Kc, dist, A, False)
            along_x = abs(xb - xa) >= abs(yb - ya)
            _set_knot(knots, 0, xa, ya, vx, vy, along_x)
            _set_knot(knots, 1, xb, yb, vx, vy, along_x)
            step[k] = W if along_x else 1
            count[k] = _reads(knots, 2, True, along_x, H, W, tmp, index[k], frac[k])
        return
    # how many points each curve is traced at: from its chord without the lens
    n_of = np.zeros(K, dtype=np.int64)
    first = np.zeros(K + 1, dtype=np.int64)
    for k in range(K):
        if ok[k]:
            lo, hi = lines[k, 4], lines[k, 5]
            ex = (A[0, 0] * lines[k, 2] + A[0, 1] * lines[k, 3]) * (hi - lo)
            ey = (A[1, 0] * lines[k, 2] + A[1, 1] * lines[k, 3]) * (hi - lo)
            n_of[k] = min(max(math.ceil(math.hypot(ex, ey) / KNOT_SPACING), 1) + 1,
                          knots.shape[0])
        first[k + 1] = first[k] + n_of[k]
    N = first[K]
    T, XN, YN, VX, VY = np.empty(N), np.empty(N), np.empty(N), np.empty(N), np.empty(N)
    for k in range(K):
        p0x, p0y, dx, dy, lo, hi = lines[k, 0], lines[k, 1], lines[k, 2], lines[k, 3], \
            lines[k, 4], lines[k, 5]
        yn0 = (p0y - cy) / fy
        vy = dy / fy
        xn0 = (p0x - cx - skew * yn0) / fx
        vx = (dx - skew * vy) / fx
        for i in range(n_of[k]):
            j = first[k] + i
            T[j] = lo + (hi - lo) * i / (n_of[k] - 1)
            XN[j], YN[j], VX[j], VY[j] = xn0, yn0, vx, vy
    pts = np.empty((N, 4))
    _lens_points(T, XN, YN, VX, VY, Kc, dist, A, pts)
    # per curve: its axis, its knots, and the point that checks its cubics
    axis_x = np.zeros(K, dtype=np.bool_)
    seg = np.full(K, -1, dtype=np.int64)
    Tc = np.zeros(K)
    for k in range(K):
        if not ok[k]:
            continue
        f, n = first[k], n_of[k]
        axis_x[k] = abs(pts[f + n - 1, 0] - pts[f, 0]) >= abs(pts[f + n - 1, 1] - pts[f, 1])
        for i in range(n):
            _set_knot(knots, i, pts[f + i, 0], pts[f + i, 1], pts[f + i, 2], pts[f + i, 3],
                      axis_x[k])
        seg[k] = _worst_segment(knots, n)
        Tc[k] = T[f] + (seg[k] + 0.5) * (T[f + n - 1] - T[f]) / (n - 1)
    checks = np.empty((K, 4))
    XNk, YNk, VXk, VYk = np.empty(K), np.empty(K), np.empty(K), np.empty(K)
    for k in range(K):
        j = first[k]
        if n_of[k] > 0:
            XNk[k], YNk[k], VXk[k], VYk[k] = XN[j], YN[j], VX[j], VY[j]
        else:
            XNk[k] = YNk[k] = VXk[k] = VYk[k] = 0.0
    _lens_points(Tc, XNk, YNk, VXk, VYk, Kc, dist, A, checks)
    for k in range(K):
        step[k], count[k] = 1, 0
        if not ok[k]:
            for r in range(S):
                index[k, r], frac[k, r] = -1, 0.0
            continue
        f, n, along_x = first[k], n_of[k], axis_x[k]
        for i in range(n):
            _set_knot(knots, i, pts[f + i, 0], pts[f + i, 1], pts[f + i, 2], pts[f + i, 3],
                      along_x)
        smooth = seg[k] >= 0
        if smooth:
            i = seg[k]
            h = knots[i + 1, 0] - knots[i, 0]
            mm, oo = (checks[k, 0], checks[k, 1]) if along_x else (checks[k, 1], checks[k, 0])
            guess = _hermite((mm - knots[i, 0]) / h, knots[i, 1], knots[i + 1, 1],
                             h * knots[i, 2], h * knots[i + 1, 2])
            smooth = abs(guess - oo) <= KNOT_TOLERANCE
        if not smooth:
            n = _fine_knots(lines[k, 4], lines[k, 5], lines[k, 0], lines[k, 1], lines[k, 2],
                            lines[k, 3], Kc, dist, A, along_x, knots)
        step[k] = W if along_x else 1
        count[k] = _reads(knots, n, smooth, along_x, H, W, tmp, index[k], frac[k])


@compiled(error_model="numpy")
def _trace_frame(g, Ks, Kinvs, Rs, ts, dists, lens, fold2, A, Ainv, pairs, H, W, border,
                 index, count, step, frac, bins, weights, angles):
    """Frame ``g`` of :func:`trace`."""
    V = Ks.shape[0]
    P, K = index.shape[1], index.shape[2]
    HW = H * W
    # every view: the undistorted rays of its pixel centres, of its heatmap's centre
    # (world frame) and the box of ideal pixels its heatmap's border spans
    pts = np.empty((HW + 1 + border.shape[0], 2))
    for q in range(HW):
        pts[q, 0] = q % W
        pts[q, 1] = q // W
    pts[HW, 0] = (W - 1) / 2.0
    pts[HW, 1] = (H - 1) / 2.0
    pts[HW + 1:] = border
    rays = np.empty((V, pts.shape[0], 2))
    centre = np.empty((V, 3))
    box = np.empty((V, 4))
    for v in range(V):
        _normalised_rays(Ks[v], dists[v], lens[v], Ainv[g, v], pts, rays[v])
        c = _mul_t(Rs[v], (rays[v, HW, 0], rays[v, HW, 1], 1.0))
        centre[v, 0], centre[v, 1], centre[v, 2] = c
        xlo, xhi, ylo, yhi = np.inf, -np.inf, np.inf, -np.inf
        for n in range(HW + 1, pts.shape[0]):
            x = Ks[v, 0, 0] * rays[v, n, 0] + Ks[v, 0, 1] * rays[v, n, 1] + Ks[v, 0, 2]
            y = Ks[v, 1, 1] * rays[v, n, 1] + Ks[v, 1, 2]
            xlo, xhi, ylo, yhi = min(xlo, x), max(xhi, x), min(ylo, y), max(yhi, y)
        pad = 1e-6 * max(xhi - xlo, yhi - ylo)
        box[v, 0], box[v, 1], box[v, 2], box[v, 3] = xlo - pad, xhi + pad, ylo - pad, yhi + pad

    phi = np.empty(HW)
    lines = np.empty((K, 6))
    ok = np.zeros(K, dtype=np.bool_)
    for p in range(P):
        u, v = pairs[p, 0], pairs[p, 1]
        Cu = _scaled(_mul_t(Rs[u], (ts[u, 0], ts[u, 1], ts[u, 2])), -1.0)
        Cv = _scaled(_mul_t(Rs[v], (ts[v, 0], ts[v, 1], ts[v, 2])), -1.0)
        base = _unit((Cv[0] - Cu[0], Cv[1] - Cu[1], Cv[2] - Cu[2]))
        cu = (centre[u, 0], centre[u, 1], centre[u, 2])
        # half-planes bounded by the baseline, by their angle about it from the half-plane
        # of the target heatmap's centre (basis e1, e2 of the normals n = base x d)
        e1 = _cross(base, cu)
        if math.sqrt(_dot(e1, e1)) <= 1e-9 * math.sqrt(_dot(cu, cu)):
            i = 0 if abs(base[0]) <= min(abs(base[1]), abs(base[2])) else \
                (1 if abs(base[1]) <= abs(base[2]) else 2)
            e1 = _cross(base, (1.0 if i == 0 else 0.0, 1.0 if i == 1 else 0.0,
                               1.0 if i == 2 else 0.0))
        e1 = _unit(e1)
        e2 = _cross(base, e1)
        # for unit base perpendicular to e1: n . e1 = -d . e2 and n . e2 = d . e1, with the
        # dot products taken in u's camera frame, where d is (x_n, y_n, 1)
        m1 = _mul(Rs[u], e1)
        m2 = _mul(Rs[u], e2)
        for q in range(HW):
            a = rays[u, q, 0] * m1[0] + rays[u, q, 1] * m1[1] + m1[2]
            b = rays[u, q, 0] * m2[0] + rays[u, q, 1] * m2[1] + m2[2]
            phi[q] = _atan2(a, -b)
        lo, hi = np.inf, -np.inf
        for q in range(HW):
            lo = min(lo, phi[q])
            hi = max(hi, phi[q])
        # a heatmap around the epipole (camera v in view) meets every half-plane
        if hi - lo > np.pi:
            lo, hi = -np.pi, np.pi
        hi = max(hi, lo + 1e-12)
        for q in range(HW):
            t = (phi[q] - lo) / (hi - lo) * (K - 1)
            k0 = min(max(math.floor(t), 0.0), K - 2.0)
            bins[g, p, q] = int(k0)
            weights[g, p, q] = min(max(t - k0, 0.0), 1.0)

        Kv = Ks[v]
        Kv_inv = Kinvs[v]
        bv = _mul(Rs[v], base)
        Xu = _mul(Rs[v], Cu)                                 # camera u in v's frame
        e = _mul(Kv, (Xu[0] + ts[v, 0], Xu[1] + ts[v, 1], Xu[2] + ts[v, 2]))   # the epipole
        fxv, skv, cxv, fyv, cyv = Kv[0, 0], Kv[0, 1], Kv[0, 2], Kv[1, 1], Kv[1, 2]
        for k in range(K):
            ang = lo + (hi - lo) * k / (K - 1)
            angles[g, p, k] = ang
            ca, sa = math.cos(ang), math.sin(ang)
            nk = (ca * e1[0] + sa * e2[0], ca * e1[1] + sa * e2[1], ca * e1[2] + sa * e2[2])
            # a ray of the half-plane: the heatmap centre's ray projected onto its plane,
            # mirrored across the baseline when it falls into the other half
            s = _dot(cu, nk)
            dk = (cu[0] - s * nk[0], cu[1] - s * nk[1], cu[2] - s * nk[2])
            if _dot(dk, _cross(nk, base)) < 0.0:
                s = 2.0 * _dot(dk, base)
                dk = (s * base[0] - dk[0], s * base[1] - dk[1], s * base[2] - dk[2])
            ok[k] = False
            # the half-plane seen from C_v: the line K_v^{-T} R_v n of ideal pixels
            line = _mul_t(Kv_inv, _mul(Rs[v], nk))
            ab = math.hypot(line[0], line[1])
            if ab <= 1e-12:
                continue
            nx, ny = line[0] / ab, line[1] / ab
            p0x, p0y = -nx * line[2] / ab, -ny * line[2] / ab
            dx, dy = -ny, nx
            # the part of the line inside the box of the source heatmap (Liang-Barsky)
            t0, t1 = -np.inf, np.inf
            for axis in range(2):
                blo, bhi = box[v, 2 * axis], box[v, 2 * axis + 1]
                pa, da = (p0x, dx) if axis == 0 else (p0y, dy)
                if abs(da) < 1e-12:
                    if pa < blo or pa > bhi:
                        t0, t1 = np.inf, -np.inf
                else:
                    ta = (blo - pa) / da
                    tb = (bhi - pa) / da
                    t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
            # inside the lens' fold: |x_n|^2 < fold^2, with x_n affine in tau
            if fold2[v] < np.inf:
                a0y = (p0y - cyv) / fyv
                a1y = dy / fyv
                a0x = (p0x - cxv - skv * a0y) / fxv
                a1x = (dx - skv * a1y) / fxv
                qa = a1x * a1x + a1y * a1y
                qb = a0x * a1x + a0y * a1y
                qc = a0x * a0x + a0y * a0y - fold2[v]
                disc = qb * qb - qa * qc
                if disc <= 0.0:
                    continue
                root = math.sqrt(disc)
                t0, t1 = max(t0, (-qb - root) / qa), min(t1, (-qb + root) / qa)
            if not t0 < t1:
                continue
            # in front of both cameras: the image of u's ray runs from the epipole
            # (alpha = 0) to its vanishing point in v; one interval of tau, which can only
            # start or end at those two points
            dv = _mul(Rs[v], dk)
            bd = _dot(base, dk)
            dd = _dot(dk, dk)
            c1 = _point_on_line(e, p0x, p0y, dx, dy)
            c2 = _point_on_line(_mul(Kv, dv), p0x, p0y, dx, dy)
            c1 = min(max(c1, t0), t1) if c1 == c1 else t0
            c2 = min(max(c2, t0), t1) if c2 == c2 else t0
            c1, c2 = min(c1, c2), max(c1, c2)
            lo_t, hi_t = np.inf, -np.inf
            for a, b in ((t0, c1), (c1, c2), (c2, t1)):
                if b > a:
                    mid = 0.5 * (a + b)
                    if _front(p0x + mid * dx, p0y + mid * dy, Kv, bv, dv, bd, dd):
                        lo_t = min(lo_t, a)
                        hi_t = max(hi_t, b)
            if not lo_t < hi_t:
                continue
            ok[k] = True
            lines[k, 0], lines[k, 1], lines[k, 2], lines[k, 3] = p0x, p0y, dx, dy
            lines[k, 4], lines[k, 5] = lo_t, hi_t
        _trace_pair(lines, ok, Kv, dists[v], lens[v], A[g, v], H, W, step[g, p], count[g, p],
                    index[g, p], frac[g, p])
