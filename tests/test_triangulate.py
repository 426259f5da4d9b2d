import numpy as np
import pytest
import torch

import crossview as cv
from crossview.triangulate import reprojection_errors


@pytest.fixture(scope="module")
def scenes():
    return cv.make_scenes(6, "h36m", seed=3, heatmaps=False)


def test_exact_on_noise_free_distorted_pixels(scenes):
    X = cv.triangulate(scenes.joints2d, scenes.cameras)
    assert X.shape == (6, 17, 3)
    assert np.abs(X - scenes.joints3d).max() < 1e-6


def test_undistorting_first_matters(scenes):
    pinhole = [cv.Camera(c.K, c.R, c.t) for c in scenes.cameras]
    err = np.abs(cv.triangulate(scenes.joints2d, pinhole) - scenes.joints3d).max()
    assert err > 1.0  # the H36M lenses move pixels by several px


def test_single_frame_and_batch_agree(scenes):
    batch = cv.triangulate(scenes.joints2d, scenes.cameras)
    one = cv.triangulate(scenes.joints2d[2], scenes.cameras)
    assert one.shape == (17, 3)
    assert np.allclose(one, batch[2], atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_in_torch_out(scenes, device, dtype):
    pts = torch.tensor(scenes.joints2d, dtype=dtype, device=device)
    X = cv.triangulate(pts, scenes.cameras, torch.ones(pts.shape[:-1], dtype=dtype,
                                                       device=device))
    assert isinstance(X, torch.Tensor) and X.dtype == dtype and X.device.type == device
    tol = 1e-6 if dtype == torch.float64 else 5.0
    assert np.abs(X.cpu().double().numpy() - scenes.joints3d).max() < tol


def test_zero_weight_leaves_a_view_out(scenes, rng):
    pts = scenes.joints2d.copy()
    pts[:, 1] += rng.normal(0, 80, pts[:, 1].shape)
    w = np.ones(pts.shape[:-1])
    assert np.abs(cv.triangulate(pts, scenes.cameras, w) - scenes.joints3d).max() > 10
    w[:, 1] = 0
    assert np.abs(cv.triangulate(pts, scenes.cameras, w) - scenes.joints3d).max() < 1e-6


def test_weights_are_relative(scenes, rng):
    pts = scenes.joints2d + rng.normal(0, 5, scenes.joints2d.shape)
    w = rng.uniform(0.2, 1.0, pts.shape[:-1])
    a = cv.triangulate(pts, scenes.cameras, w)
    b = cv.triangulate(pts, scenes.cameras, 7.5 * w)
    assert np.allclose(a, b, atol=1e-6)
    # a heavier view pulls the point towards its ray: its reprojection error shrinks
    w2 = w.copy()
    w2[:, 0] *= 20
    e1 = reprojection_errors(a, pts, scenes.cameras)[:, 0].mean()
    e2 = reprojection_errors(cv.triangulate(pts, scenes.cameras, w2), pts, scenes.cameras)[:, 0]
    assert e2.mean() < e1


def test_fewer_than_two_weighted_views_give_nan(scenes):
    w = np.zeros(scenes.joints2d.shape[:-1])
    w[:, 0] = 1.0
    w[:, 2, 5] = 1.0                       # joint 5 is seen by views 0 and 2
    X = cv.triangulate(scenes.joints2d, scenes.cameras, w)
    assert np.isnan(X[:, [0, 1, 4]]).all()
    assert np.abs(X[:, 5] - scenes.joints3d[:, 5]).max() < 1e-6


def test_robust_survives_one_false_peak_per_joint(scenes, rng):
    pts = scenes.joints2d.copy()
    wrong = rng.integers(0, 4, size=pts.shape[:1] + pts.shape[2:3])    # (B, J): a bad view each
    b, j = np.meshgrid(np.arange(pts.shape[0]), np.arange(pts.shape[2]), indexing="ij")
    pts[b, wrong, j] += rng.uniform(80, 300, size=b.shape + (2,)) * rng.choice([-1, 1], (2,))
    plain = cv.mpjpe(cv.triangulate(pts, scenes.cameras), scenes.joints3d)
    robust = cv.triangulate_robust(pts, scenes.cameras)
    print(f"one false view per joint: DLT {plain:.1f} mm, "
          f"robust {cv.mpjpe(robust, scenes.joints3d):.2e} mm")
    assert plain > 50
    assert np.abs(robust - scenes.joints3d).max() < 1e-6


def test_robust_equals_dlt_when_all_views_agree(scenes, rng):
    pts = scenes.joints2d + rng.normal(0, 2, scenes.joints2d.shape)
    assert np.allclose(cv.triangulate_robust(pts, scenes.cameras, threshold=30),
                       cv.triangulate(pts, scenes.cameras), atol=1e-6)


def test_robust_torch_matches_numpy(scenes, rng, device):
    pts = scenes.joints2d + rng.normal(0, 10, scenes.joints2d.shape)
    pts[:, 3, ::3] += 250
    w = rng.uniform(0.5, 1, pts.shape[:-1])
    a = cv.triangulate_robust(pts, scenes.cameras, w)
    b = cv.triangulate_robust(torch.tensor(pts, device=device), scenes.cameras,
                              torch.tensor(w, device=device))
    assert isinstance(b, torch.Tensor) and b.device.type == device
    assert np.allclose(a, b.cpu().numpy(), atol=1e-6)


def test_reprojection_error_is_infinite_behind_a_camera(scenes):
    cam = scenes.cameras[0]
    behind = cam.center - 1000 * cam.R[2]                 # one metre behind camera 0
    X = np.broadcast_to(behind, (17, 3))
    err = reprojection_errors(X, scenes.joints2d[0], scenes.cameras)
    assert np.isinf(err[0]).all() and np.isfinite(err[1:]).all()


@pytest.mark.parametrize("fn", [cv.triangulate, cv.triangulate_robust])
def test_bad_input(scenes, fn):
    pts = scenes.joints2d[0]
    with pytest.raises(ValueError, match="at least two views"):
        fn(pts[:1], scenes.cameras[:1])
    with pytest.raises(ValueError, match="cameras has 3 cameras"):
        fn(pts, scenes.cameras[:3])
    with pytest.raises(ValueError, match="points must have shape"):
        fn(pts[..., :1], scenes.cameras)
    with pytest.raises(ValueError, match="points must be finite"):
        fn(np.full_like(pts, np.nan), scenes.cameras)
    with pytest.raises(ValueError, match="weights must have shape"):
        fn(pts, scenes.cameras, np.ones(4))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        fn(pts, scenes.cameras, -np.ones(pts.shape[:-1]))
    with pytest.raises(TypeError, match="list of Camera"):
        fn(pts, scenes.cameras[0])
