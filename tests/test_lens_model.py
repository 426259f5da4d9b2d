"""One lens model: every copy that the kernels compile or unroll agrees with its one
documented source, :func:`crossview.camera.distort_normalized` (OpenCV's
``(k1, k2, p1, p2, k3)`` model)."""

import numpy as np
import pytest
import torch

from crossview.camera import distort_normalized
from crossview.kernels import psm_naive, psm_numba, psm_numpy, psm_torch


@pytest.fixture(scope="module")
def lenses():
    rng = np.random.default_rng(7)
    dist = np.column_stack([rng.uniform(-0.3, 0.3, 6), rng.uniform(-0.1, 0.1, 6),
                            rng.uniform(-0.01, 0.01, 6), rng.uniform(-0.01, 0.01, 6),
                            rng.uniform(-0.02, 0.02, 6)])
    dist[0] = 0.0                                         # a pinhole among them
    xn = rng.uniform(-0.6, 0.6, (6, 50, 2))               # normalised points, per lens
    return dist, xn


def _cams(d):
    """Camera arrays of one view that maps normalised coordinates to themselves."""
    R, t = np.eye(3)[None], np.zeros((1, 3))
    aff = np.array([[[[1.0, 0, 0], [0, 1.0, 0]]]])        # (B=1, V=1, 2, 3)
    return R, t, d[None], aff


def test_the_source_is_opencvs_formula(lenses):
    dist, xn = lenses
    k1, k2, p1, p2, k3 = dist[3]
    x, y = xn[3, :, 0], xn[3, :, 1]
    r2 = x**2 + y**2
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    want = np.stack([x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x**2),
                     y * radial + p1 * (r2 + 2 * y**2) + 2 * p2 * x * y], -1)
    assert np.allclose(distort_normalized(xn[3], dist[3]), want, atol=1e-15)


def test_every_copy_agrees_with_the_source(lenses):
    dist, xn = lenses
    for d, pts in zip(dist, xn):
        want = distort_normalized(pts, d)
        X = np.column_stack([pts, np.ones(len(pts))])         # depth 1: normalised = (x, y)
        R, t, dd, aff = _cams(d)
        naive = np.array([psm_naive.project_point(R[0], t[0], d, aff[0, 0], p) for p in X])
        numba = np.array([psm_numba.project_point(R, t, dd, aff, 0, 0, *p) for p in X])
        numpy = np.stack(psm_numpy.project((R, t, dd, aff), X[None]), -1)[0, 0]
        cams_t = tuple(torch.as_tensor(a) for a in (R, t, dd, aff))
        tensor = torch.stack(psm_torch.project(cams_t, torch.as_tensor(X[None])), -1)[0, 0]
        for name, got in (("psm_naive", naive), ("psm_numba", numba), ("psm_numpy", numpy),
                          ("psm_torch", tensor.numpy())):
            assert np.allclose(got, want, rtol=0, atol=1e-12), name


def test_the_curve_tracers_copies_agree_with_the_source(lenses):
    from crossview.camera import undistort_normalized
    from crossview.kernels import curves, curves_numba

    dist, xn = lenses
    K, A = np.eye(3), np.array([[1.0, 0, 0], [0, 1.0, 0]])       # ideal pixel = normalised
    for d, pts in zip(dist, xn):
        want = distort_normalized(pts, d)
        for module in (curves, curves_numba._compiled):           # plain and compiled
            got = np.array([module._through_lens(0.0, x, y, 1.0, 0.0, K, d, A, True)[:2]
                            for x, y in pts])
            assert np.allclose(got, want, rtol=0, atol=1e-12), module.__name__
            x, y = want[:, 0].copy(), want[:, 1].copy()           # Newton from the image
            for _ in range(8):
                module._newton_step(x, y, want[:, 0], want[:, 1], *d[[0, 1, 2, 3, 4]])
            ref = undistort_normalized(want, d)
            assert np.allclose(np.column_stack([x, y]), ref, atol=1e-10), module.__name__
