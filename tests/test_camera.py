import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import crossview as cv
from crossview.camera import distort_normalized, look_at, undistort_normalized


def test_projection_against_a_hand_computation():
    K = np.array([[1000.0, 0.0, 500.0], [0.0, 1100.0, 400.0], [0.0, 0.0, 1.0]])
    cam = cv.Camera(K, np.eye(3), [0.0, 0.0, 2000.0])
    # X = (100, -200, 0) -> camera (100, -200, 2000) -> normalised (0.05, -0.1)
    uv = cam.project([[100.0, -200.0, 0.0]])
    assert np.allclose(uv, [[500 + 1000 * 0.05, 400 - 1100 * 0.1]])


def test_projection_equals_P_without_distortion(h36m, rng):
    X = rng.uniform(-1000, 1000, size=(100, 3)) + [0, 0, 1000]
    for c in h36m:
        cam = cv.Camera(c.K, c.R, c.t)
        Xh = np.hstack([X, np.ones((100, 1))]) @ cam.P.T
        assert np.allclose(cam.project(X), Xh[:, :2] / Xh[:, 2:], atol=1e-9)


def test_camera_center_maps_to_origin(h36m):
    for c in h36m:
        assert np.allclose(c.world_to_camera(c.center), 0.0, atol=1e-9)
        assert np.allclose(c.center, -c.R.T @ c.t)


def test_distortion_matches_opencv_formula_on_one_point():
    k1, k2, p1, p2, k3 = 0.1, -0.05, 0.001, -0.002, 0.01
    x, y = 0.3, -0.2
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    expect = [x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
              y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y]
    got = distort_normalized(np.array([x, y]), np.array([k1, k2, p1, p2, k3]))
    assert np.allclose(got, expect, atol=1e-15)


def test_undistort_round_trip_below_1e6_px_on_h36m(h36m, rng):
    for c in h36m:
        X = rng.uniform([-1500, -1500, 0], [1500, 1500, 2000], size=(3000, 3))
        assert np.abs(c.undistort_points(c.project(X)) - c.project(X, distort=False)).max() < 1e-6


def test_undistort_normalized_inverts_distort_on_image_corners(h36m):
    c = h36m[0]
    corners = np.array([[0, 0], [999, 0], [999, 1001], [0, 1001]], dtype=float)
    xd = (corners - c.K[:2, 2]) / [c.fx, c.fy]
    xn = undistort_normalized(xd, c.dist)
    assert np.abs(distort_normalized(xn, c.dist) - xd).max() * c.fx < 1e-9


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_in_torch_out(h36m, rng, device, dtype):
    c = h36m[1]
    X = rng.uniform([-800, -800, 0], [800, 800, 1800], size=(50, 3))
    Xt = torch.as_tensor(X, dtype=dtype, device=device)
    uv = c.project(Xt)
    assert isinstance(uv, torch.Tensor) and uv.dtype == dtype and uv.device.type == device
    tol = 1e-3 if dtype == torch.float32 else 1e-8
    assert np.allclose(uv.cpu().numpy(), c.project(X), atol=tol)
    und = c.undistort_points(uv)
    assert und.dtype == dtype
    assert np.allclose(und.cpu().numpy(), c.project(X, distort=False), atol=tol * 10)


def test_unproject_inverts_project(h36m, rng):
    c = h36m[2]
    X = rng.uniform([-800, -800, 0], [800, 800, 1800], size=(40, 3))
    back = c.unproject(c.project(X), c.depth(X))
    assert np.allclose(back, X, atol=1e-6)
    d = c.rays(c.project(X))
    to_X = (X - c.center) / np.linalg.norm(X - c.center, axis=1, keepdims=True)
    assert np.allclose(d, to_X, atol=1e-9)


def test_points_behind_the_camera_raise(h36m):
    c = h36m[0]
    behind = c.center + 100 * c.R[2] * -1  # a point 100 mm behind the camera
    with pytest.raises(ValueError, match="behind camera"):
        c.project(behind[None])
    assert np.isfinite(c.project(behind[None], allow_behind=True)).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(K=np.eye(2)), "K must have shape"),
    (dict(K=np.array([[1.0, 0, 0], [1.0, 1, 0], [0, 0, 1]])), "upper triangular"),
    (dict(K=np.diag([-1.0, 1, 1])), "positive focal"),
    (dict(R=np.diag([1.0, 1, 2])), "rotation"),
    (dict(R=np.diag([1.0, 1, -1])), "rotation"),
    (dict(t=[0.0, 1.0]), "t must have shape"),
    (dict(t=[0.0, np.nan, 1.0]), "t must be finite"),
    (dict(dist=[0.1, 0.2, 0.3]), "dist must have 4 or 5"),
    (dict(image_size=(10,)), "image_size"),
])
def test_bad_camera_parameters_name_the_argument(kwargs, match):
    args = dict(K=np.diag([1000.0, 1000.0, 1.0]), R=np.eye(3), t=np.zeros(3))
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        cv.Camera(**args)


@pytest.mark.parametrize("width, height", [(1920, 1080), (640, 480), (1080, 1920)])
def test_image_size_is_width_height_and_a_clear_swap_is_refused(width, height):
    K = np.array([[900.0, 0.0, (width - 1) / 2], [0.0, 900.0, (height - 1) / 2], [0.0, 0.0, 1.0]])
    cam = cv.Camera(K, np.eye(3), np.zeros(3), image_size=(width, height))
    assert cam.image_size == (width, height)
    assert cam.in_image(np.array([width - 1.0, height - 1.0])) and \
        not cam.in_image(np.array([height - 1.0, width - 1.0]))
    with pytest.raises(ValueError, match=rf"\({height}, {width}\) puts the principal point .* "
                                         r"looks like \(height, width\)"):
        cv.Camera(K, np.eye(3), np.zeros(3), image_size=(height, width))


def test_image_size_check_leaves_what_is_not_clear_cut():
    # nearly square (Human3.6M, 1000 x 1002): a swap changes nothing that matters
    assert [c.image_size for c in cv.load_rig("h36m")][:2] == [(1000, 1002), (1000, 1000)]
    K = np.array([[900.0, 0.0, 511.5], [0.0, 900.0, 501.0], [0.0, 0.0, 1.0]])
    assert cv.Camera(K, np.eye(3), np.zeros(3), image_size=(1002, 1000)).image_size == (1002, 1000)
    # a crop whose principal point is far off-centre either way round
    K = np.array([[900.0, 0.0, 50.0], [0.0, 900.0, 700.0], [0.0, 0.0, 1.0]])
    assert cv.Camera(K, np.eye(3), np.zeros(3), image_size=(800, 600)).image_size == (800, 600)


def test_wrong_trailing_dimension_is_rejected(h36m):
    with pytest.raises(ValueError, match=r"X must have shape \(\.\.\., 3\)"):
        h36m[0].project(np.zeros((4, 2)))


def test_load_rig_h36m_and_unknown_name():
    cams = cv.load_rig("h36m")
    assert [c.name for c in cams] == ["54138969", "55011271", "58860488", "60457274"]
    assert cams[0].image_size == (1000, 1002) and cams[1].image_size == (1000, 1000)
    assert np.isclose(cams[0].fx, 1145.04940458804)
    with pytest.raises(ValueError, match="unknown rig"):
        cv.load_rig("nope")


def test_load_rig_from_a_json_file(tmp_path, h36m):
    path = tmp_path / "rig.json"
    path.write_text(json.dumps({"cameras": {c.name: c.to_dict() for c in h36m[:2]}}))
    cams = cv.load_rig(path)
    assert len(cams) == 2 and np.allclose(cams[1].K, h36m[1].K)


@pytest.mark.parametrize("n_views", [2, 3, 8])
def test_ring_rig_cameras_look_at_the_target(n_views):
    cams = cv.load_rig("ring", n_views=n_views, radius=4000, height=1200, focal=(900, 950),
                       image_size=(640, 480))
    assert len(cams) == n_views
    for c in cams:
        assert np.allclose(c.project(np.array([[0.0, 0.0, 900.0]])), [[319.5, 239.5]])
        assert np.isclose(np.linalg.norm(c.center[:2]), 4000) and np.isclose(c.center[2], 1200)
        assert c.fx == 900 and c.fy == 950


def test_look_at_keeps_the_horizon_level():
    R, _ = look_at([0, -3000, 1500], [0, 0, 1000])
    assert np.isclose(R[0, 2], 0.0)  # camera x axis is horizontal
    assert R[1, 2] < 0               # camera y axis points down


def test_numpy_camera_work_imports_neither_torch_nor_numba():
    # `import crossview` stays fast, and NumPy users of the camera never pay for torch
    code = ("import sys, numpy as np, crossview as cv\n"
            "c = cv.load_rig('h36m')[0]\n"
            "uv = c.project(np.array([[0.0, 0.0, 1000.0]]))\n"
            "c.undistort_points(uv); c.unproject(uv, np.ones(1)); c.rays(uv)\n"
            "print(sorted({'torch', 'numba'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------- the lens fold
STRONG = (-0.25, -0.08, 0.0, 0.0, 0.0)          # barrel: folds back at r = 0.949


def test_fold_radius_is_where_the_radial_map_turns_back():
    from crossview.camera import lens_fold_radius

    r = lens_fold_radius(STRONG)
    k1, k2 = STRONG[:2]
    assert np.isclose(1 + 3 * k1 * r**2 + 5 * k2 * r**4, 0.0, atol=1e-12)
    grid = np.linspace(0.0, 1.5, 3001)
    slope = np.gradient(grid * (1 + k1 * grid**2 + k2 * grid**4), grid)
    assert (slope[grid < r - 1e-3] > 0).all() and (slope[grid > r + 1e-3] < 0).all()
    assert lens_fold_radius((0, 0, 0, 0, 0)) == np.inf
    assert lens_fold_radius((0.1, 0.01, 0.001, 0.001, 0.0)) == np.inf       # pincushion
    assert cv.ring_rig(2, dist=STRONG)[0].fold_radius == r


def test_human36m_images_lie_well_inside_their_folds(h36m):
    for c in h36m:
        w, h = c.image_size
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=float)
        radius = np.linalg.norm(cv.camera.pixels_to_normalized(c.undistort_points(corners), c.K),
                                axis=-1)
        assert radius.max() < 0.5 * c.fold_radius


def test_undistort_points_is_nan_past_the_fold_and_exact_inside():
    cam = cv.ring_rig(3, focal=800, dist=STRONG)[1]
    r_fold = cam.fold_radius
    radii = np.linspace(0.05, 1.4, 271)                   # normalised ideal radii
    ideal = np.stack([radii * np.cos(0.3), radii * np.sin(0.3)], -1)
    seen = cv.camera.normalized_to_pixels(distort_normalized(ideal, cam.dist), cam.K)
    back = cam.undistort_points(seen)
    inside = radii < r_fold - 1e-3
    expect = cv.camera.normalized_to_pixels(ideal, cam.K)
    assert np.abs(back[inside] - expect[inside]).max() < 1e-6
    # past the fold the model maps points back inwards, onto pixels that an ideal point
    # inside the fold also reaches: that one is returned, never the folded one
    got = cv.camera.pixels_to_normalized(back[~inside], cam.K)
    ok = ~np.isnan(got).any(-1)
    assert ok.mean() > 0.9
    assert (np.linalg.norm(got[ok], axis=-1) < r_fold).all()
    again = distort_normalized(got[ok], cam.dist)
    assert np.abs(cv.camera.normalized_to_pixels(again, cam.K) - seen[~inside][ok]).max() < 1e-6
    # beyond the largest radius the lens reaches, no ideal point exists
    r_max = r_fold * (1 + STRONG[0] * r_fold**2 + STRONG[1] * r_fold**4)
    far = cv.camera.normalized_to_pixels(np.array([[1.01 * r_max, 0.0]]), cam.K)
    assert np.isnan(cam.undistort_points(far)).all()
    t = torch.tensor(far)
    assert torch.isnan(cam.undistort_points(t)).all()
