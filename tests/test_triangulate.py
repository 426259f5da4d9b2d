import warnings

import numpy as np
import pytest
import torch

import crossview as cv
from crossview.triangulate import Triangulation, reprojection_errors


def detailed(fn, *args, **kw):
    """``(points, Triangulation)`` of :func:`cv.triangulate_detailed` in ``fn``'s variant."""
    result = cv.triangulate_detailed(*args, robust=fn is cv.triangulate_robust, **kw)
    return result.points, result

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


def missing(pts, rng, share=0.3):
    """``pts`` with NaN pixels (whole or half) in a random ``share`` of (frame, view, joint)."""
    out = pts.copy()
    gone = rng.random(pts.shape[:-1]) < share
    which = rng.integers(0, 3, gone.shape)               # 0: u, 1: v, 2: both are NaN
    out[gone & (which != 1), 0] = np.nan
    out[gone & (which != 0), 1] = np.nan
    return out, ~gone


@pytest.mark.parametrize("fn", [cv.triangulate, cv.triangulate_robust])
def test_a_nan_pixel_is_a_view_with_weight_zero(scenes, rng, fn):
    noisy = scenes.joints2d + rng.normal(0, 3, scenes.joints2d.shape)
    pts, seen = missing(noisy, rng)
    w = rng.uniform(0.2, 1.0, seen.shape)
    got = fn(pts, scenes.cameras, w)
    ref = fn(noisy, scenes.cameras, np.where(seen, w, 0.0))
    enough = seen.sum(1) >= 2                                        # (B, J)
    assert 0 < enough.mean() < 1                                     # both cases occur
    assert np.allclose(got[enough], ref[enough], rtol=0, atol=1e-9)
    assert np.isnan(got[~enough]).all()                              # NaN, not an error
    assert np.abs(fn(np.where(seen[..., None], scenes.joints2d, np.nan), scenes.cameras)[enough]
                  - scenes.joints3d[enough]).max() < 1e-6


def test_a_nan_pixel_equals_leaving_the_camera_out(scenes):
    pts = scenes.joints2d.copy()
    pts[:, 2] = np.nan                                               # camera 2 saw nothing
    three = [c for v, c in enumerate(scenes.cameras) if v != 2]
    for fn in (cv.triangulate, cv.triangulate_robust):
        a = fn(pts, scenes.cameras)
        b = fn(np.delete(scenes.joints2d, 2, 1), three)
        assert np.allclose(a, b, rtol=0, atol=1e-9)
        assert np.allclose(fn(pts[3], scenes.cameras), b[3], rtol=0, atol=1e-9)   # unbatched


def test_fewer_than_two_seen_views_give_nan_without_an_error(scenes):
    pts = np.full_like(scenes.joints2d, np.nan)
    pts[:, 0] = scenes.joints2d[:, 0]                    # every joint in view 0 only ...
    pts[:, 3, 5] = scenes.joints2d[:, 3, 5]              # ... and joint 5 in view 3 too
    for fn in (cv.triangulate, cv.triangulate_robust):
        X, info = detailed(fn, pts, scenes.cameras)
        assert np.isnan(np.delete(X, 5, 1)).all() and not info.valid[:, [0, 4, 16]].any()
        assert np.abs(X[:, 5] - scenes.joints3d[:, 5]).max() < 1e-6 and info.valid[:, 5].all()
        assert np.isnan(fn(np.full_like(pts, np.nan), scenes.cameras)).all()


def test_robust_survives_a_missing_view_and_a_false_peak(scenes, rng):
    pts = scenes.joints2d.copy()
    pts[:, 0] = np.nan                                   # view 0 missed everything
    pts[:, 2] += rng.uniform(80, 300, pts[:, 2].shape) * rng.choice([-1, 1], (2,))
    X, info = detailed(cv.triangulate_robust, pts, scenes.cameras)
    assert np.abs(X - scenes.joints3d).max() < 1e-6
    assert (info.views == 2).all() and info.valid.all()  # views 1 and 3, the ones that agree


@pytest.mark.parametrize("fn", [cv.triangulate, cv.triangulate_robust])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_missing_views_torch_matches_numpy(scenes, rng, device, dtype, fn):
    noisy = scenes.joints2d + rng.normal(0, 5, scenes.joints2d.shape)
    noisy[:, 1, ::4] += 200                              # false peaks for the robust search
    pts, seen = missing(noisy, rng)
    w = rng.uniform(0.5, 1.0, seen.shape)
    ref, ref_info = detailed(fn, pts, scenes.cameras, w)
    got, info = detailed(fn, torch.tensor(pts, dtype=dtype, device=device), scenes.cameras,
                   torch.tensor(w, dtype=dtype, device=device))
    assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.device.type == device
    assert isinstance(info.valid, torch.Tensor) and info.valid.device.type == device
    got = got.cpu().double().numpy()
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    tol = 1e-6 if dtype == torch.float64 else 5.0
    assert np.nanmax(np.abs(got - ref)) < tol
    assert np.array_equal(info.views.cpu().numpy(), ref_info.views)


def behind_camera_0(scenes):
    """Pinhole cameras and pixels ``(V, J, 2)`` of points ``(J, 3)`` behind camera 0 only.

    Camera 0 sees them through its mirror image (the projection of a point behind it),
    which is on the same line through its centre, so the DLT finds them exactly. The
    lenses are left out: the points are outside the field of view of cameras 1-3,
    where the polynomial lens model of Human3.6M does not hold.
    """
    cams = [cv.Camera(c.K, c.R, c.t) for c in scenes.cameras]
    c0, z0 = cams[0].center, cams[0].R[2]
    off = scenes.joints3d[0] - c0
    X = c0 - 1000.0 * z0 + 0.1 * (off - (off @ z0)[:, None] * z0)
    assert (cams[0].depth(X) < 0).all() and all((c.depth(X) > 0).all() for c in cams[1:])
    uv = np.stack([c.project(X, allow_behind=True) for c in cams])        # (V, J, 2)
    return cams, X, uv


def test_a_point_behind_a_used_camera_is_flagged(scenes):
    cams, X_true, uv = behind_camera_0(scenes)
    front = np.stack([c.project(scenes.joints3d[0]) for c in cams])
    uv = np.stack([front, uv])                           # frame 0 real, frame 1 behind camera 0
    uv[1, :, :3] = front[:, :3]                          # except joints 0-2
    with pytest.warns(RuntimeWarning, match=r"triangulate: 14 of 34 points lie behind a camera"):
        X = cv.triangulate(uv, cams)
    assert np.abs(X[1, 3:] - X_true[3:]).max() < 1e-6    # returned as found, not hidden
    assert np.abs(X[0] - scenes.joints3d[0]).max() < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no warning when the mask is asked for
        X2, info = detailed(cv.triangulate, uv, cams)
    assert isinstance(info, Triangulation) and np.array_equal(X, X2)
    assert info.behind.shape == (2, 4, 17) and info.valid.shape == info.views.shape == (2, 17)
    assert info.behind[1, 0, 3:].all() and not info.behind[1, 1:].any()
    assert not info.behind[:, :, :3].any() and not info.behind[0].any()
    assert np.array_equal(info.valid, ~info.behind.any(1)) and (info.views == 4).all()
    # camera 0 left out (NaN): the same points, now in front of every camera used
    uv[1, 0] = np.nan
    X3, info = detailed(cv.triangulate, uv, cams)
    assert info.valid.all() and (info.views[1] == 3).all()
    assert np.abs(X3[1, 3:] - X_true[3:]).max() < 1e-6


def test_robust_drops_a_camera_that_sees_the_point_behind_it(scenes):
    cams, X_true, uv = behind_camera_0(scenes)
    # three cameras agree and camera 0 cannot see the point: an outlier, left out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, info = detailed(cv.triangulate_robust, uv, cams)
    assert np.abs(X - X_true).max() < 1e-6 and (info.views == 3).all() and info.valid.all()
    # with two cameras there is nothing to vote with: the pair is kept, and flagged
    with pytest.warns(RuntimeWarning, match=r"triangulate_robust: 17 of 17 points"):
        X = cv.triangulate_robust(uv[:2], cams[:2])
    X2, info = detailed(cv.triangulate_robust, uv[:2], cams[:2])
    assert np.abs(X - X_true).max() < 1e-6 and np.array_equal(X, X2)
    assert info.behind[0].all() and not info.behind[1].any() and not info.valid.any()


def test_behind_flag_torch_matches_numpy(scenes, device):
    cams, _, uv = behind_camera_0(scenes)
    ref, ref_info = detailed(cv.triangulate, uv, cams)
    with pytest.warns(RuntimeWarning, match="17 of 17 points"):
        cv.triangulate(torch.tensor(uv, device=device), cams)
    got, info = detailed(cv.triangulate, torch.tensor(uv, device=device), cams)
    assert np.allclose(got.cpu().numpy(), ref, atol=1e-6)
    for a, b in ((info.views, ref_info.views), (info.behind, ref_info.behind),
                 (info.valid, ref_info.valid)):
        assert np.array_equal(a.cpu().numpy(), b)


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
    assert np.allclose(cv.triangulate_robust(pts, scenes.cameras, threshold_px=30),
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
    with pytest.raises(ValueError, match="points must be finite pixels, or NaN where a view"):
        fn(np.where(np.arange(4)[:, None, None] == 1, np.inf, pts), scenes.cameras)
    with pytest.raises(ValueError, match="weights must have shape"):
        fn(pts, scenes.cameras, np.ones(4))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        fn(pts, scenes.cameras, -np.ones(pts.shape[:-1]))
    with pytest.raises(TypeError, match=r"list of crossview\.Camera"):
        fn(pts, scenes.cameras[0])
