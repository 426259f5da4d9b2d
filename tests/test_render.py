import numpy as np
import pytest
import torch

import crossview as cv
from crossview.body import BODY_CAPSULES, JOINT_RADIUS, Occluder, capsule_exempt, visibility
from crossview.render import (
    box_hits,
    capsule_hits,
    crop_rays,
    depth_visibility,
    input_affines,
    render_views,
)


@pytest.fixture(scope="module")
def scenes():
    return cv.make_scenes(6, "h36m", seed=3, heatmap_size=(16, 16), sigma=1.0, fps=1.0)


@pytest.fixture(scope="module")
def renders(scenes):
    return render_views(scenes, size=(64, 64), return_depth=True)


# ---------------------------------------------------------------------- ray geometry
def _march_inside_capsule(o, d, a, b, r, t_max=9000.0, step=0.5):
    """First t (on a grid of `step` mm) where o + t d lies inside the capsule."""
    t = np.arange(0.0, t_max, step)
    p = o + t[:, None] * d
    ab = b - a
    h = np.clip(((p - a) @ ab) / (ab @ ab), 0, 1)
    inside = np.linalg.norm(p - a - h[:, None] * ab, axis=1) < r
    return t[inside.argmax()] if inside.any() else np.inf


def test_capsule_hits_match_ray_marching(rng):
    o = np.array([0.0, -5000.0, 1000.0])
    n_rays, n_caps = 40, 5
    a = rng.uniform([-400, -300, 500], [400, 300, 1500], size=(n_caps, 3))
    b = a + rng.normal(0, 250, size=(n_caps, 3))
    r = rng.uniform(40, 120, size=n_caps)
    # aim the rays at points near the capsules, so that many hit and many graze
    target = a[rng.integers(n_caps, size=n_rays)] + rng.normal(0, 150, size=(n_rays, 3))
    d = target - o
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    T = lambda x: torch.as_tensor(x, dtype=torch.float64)[None]  # noqa: E731
    t = capsule_hits(T(o), T(d), T(a), T(b), T(r))[0].numpy()
    brute = np.array([[_march_inside_capsule(o, d[i], a[k], b[k], r[k]) for k in range(n_caps)]
                      for i in range(n_rays)])
    hit = np.isfinite(brute)
    assert hit.sum() > 20 and (~hit).sum() > 20
    assert np.array_equal(np.isfinite(t), hit)
    assert np.abs(t[hit] - brute[hit]).max() <= 0.5 + 1e-9


def test_box_hits_entry_distance_and_face():
    o = torch.tensor([[0.0, -3000.0, 500.0]], dtype=torch.float64)
    d = torch.tensor([[[0.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    d = d / d.norm(dim=-1, keepdim=True)
    lo = torch.tensor([[[-200.0, -250.0, 0.0]]], dtype=torch.float64)
    hi = torch.tensor([[[200.0, 250.0, 1000.0]]], dtype=torch.float64)
    t, axis = box_hits(o, d, lo, hi)
    assert np.isclose(t[0, 0, 0].item(), 2750.0) and axis[0, 0, 0].item() == 1
    assert torch.isinf(t[0, 1:, 0]).all()      # goes over the box / parallel to it


# ---------------------------------------------------------------------- visibility
def test_depth_visibility_equals_the_analytic_segment_test():
    s = cv.make_scenes(80, "h36m", seed=5, heatmaps=False, fps=1.0, n_subjects=2)
    codes = depth_visibility(s.joints3d, s.cameras, s.occluders)
    assert codes.shape == (80, 4, 17) and codes.dtype == np.int8
    assert np.array_equal(codes, visibility(s.joints3d, s.cameras, s.occluders))
    assert {0, 1, 2} <= set(np.unique(codes))


def _brute_force_codes(joints3d, cameras, occluders, step=1.0):
    """Visibility by walking each line of sight in `step` mm and testing every solid."""
    F, J, _ = joints3d.shape
    out = np.zeros((F, len(cameras), J), np.int8)
    for f in range(F):
        for v, cam in enumerate(cameras):
            C = cam.center
            for j in range(J):
                X = joints3d[f, j]
                L = np.linalg.norm(X - C) - JOINT_RADIUS
                d = (X - C) / np.linalg.norm(X - C)
                p = C + np.arange(0.0, L, step)[:, None] * d
                obj = False
                for occ in occluders:
                    if occ.kind == "pillar":
                        ax = np.array([*occ.position, 0.0])
                        h = np.clip(p[:, 2], 0, occ.height)
                        dist = np.linalg.norm(p - ax - h[:, None] * [0, 0, 1], axis=1)
                        obj |= bool((dist < occ.radius).any())
                    else:
                        half = np.asarray(occ.size) / 2
                        c = np.array([*occ.position, half[2]])
                        obj |= bool((np.abs(p - c) <= half).all(1).any())
                body = False
                for a, b, r in BODY_CAPSULES:
                    if j in capsule_exempt(a, b):
                        continue
                    A, B = joints3d[f, a], joints3d[f, b]
                    ab = B - A
                    h = np.clip(((p - A) @ ab) / (ab @ ab), 0, 1)
                    body |= bool((np.linalg.norm(p - A - h[:, None] * ab, axis=1) < r).any())
                uv = cam.project(X)
                out[f, v, j] = 3 if not cam.in_image(uv) else 2 if obj else 1 if body else 0
    return out


def test_depth_visibility_agrees_with_a_brute_force_ray_walk():
    cams = cv.load_rig("ring", n_views=3, radius=4500, azimuth0=10.0)
    occ = (Occluder("pillar", (2000.0, 300.0), height=2600.0, radius=220.0),
           Occluder("box", (-1700.0, 1500.0), size=(900.0, 600.0, 1100.0)))
    s = cv.make_scenes(3, cams, seed=2, heatmaps=False, occluders=occ, fps=0.5)
    codes = depth_visibility(s.joints3d, cams, occ)
    brute = _brute_force_codes(s.joints3d, cams, occ)
    assert np.array_equal(codes, brute)
    assert (codes == 0).any() and (codes == 1).any() and (codes == 2).any()


# ---------------------------------------------------------------------- crops and rays
def test_input_affines_scale_the_heatmap_crop(scenes):
    A = input_affines(scenes.affines, scenes.heatmap_size, (64, 64))
    x_in = cv.apply_affine(A, scenes.joints2d)
    assert np.allclose(x_in, (scenes.joints_hm + 0.5) * 4 - 0.5)


def test_crop_rays_pass_through_their_pixels(scenes):
    cam = scenes.cameras[1]
    A = input_affines(scenes.affines[:3, 1], scenes.heatmap_size, (32, 32))
    d = crop_rays(cam, A, (32, 32)).double().numpy()                   # (3, 32, 32, 3)
    X = cam.center + 4000.0 * d
    uv = cam.project(X).reshape(3, -1, 2)                              # distorted image px
    ii, jj = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    pix = np.stack([jj, ii], -1).reshape(-1, 2)
    # each ray lands on its crop pixel's centre, to a hundredth of a crop pixel
    assert np.abs(cv.apply_affine(A, uv) - pix).max() < 0.01


# ---------------------------------------------------------------------- images
def test_render_shapes_and_types(scenes, renders):
    F, V = scenes.n_frames, scenes.n_views
    assert renders.images.shape == (F, V, 64, 64, 3) and renders.images.dtype == np.uint8
    assert renders.affines.shape == (F, V, 2, 3)
    assert renders.depth.shape == (F, V, 64, 64) and renders.label.shape == (F, V, 64, 64)
    x = renders.as_float()
    assert x.shape == (F, V, 3, 64, 64) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    # images have content: contrast in every crop
    assert renders.images.reshape(F * V, -1).std(1).min() > 10


def test_pixels_at_joints_show_what_the_visibility_test_says(scenes, renders):
    uv = np.rint(cv.apply_affine(renders.affines, scenes.joints2d)).astype(int)  # (F, V, J, 2)
    F, V, J = scenes.occlusion.shape
    f, v, _ = np.meshgrid(np.arange(F), np.arange(V), np.arange(J), indexing="ij")
    lab = renders.label[f, v, uv[..., 1].clip(0, 63), uv[..., 0].clip(0, 63)]
    vis, by_obj = scenes.occlusion == 0, scenes.occlusion == 2
    assert vis.sum() > 50 and by_obj.sum() > 20
    # a visible joint's pixel shows the body; one hidden by an object shows an occluder
    assert np.mean((lab[vis] >= 0) & (lab[vis] < 100)) > 0.97
    assert np.mean(lab[by_obj] >= 100) > 0.9


def test_depth_buffer_is_consistent_with_the_floor(scenes, renders):
    v = 0
    cam = scenes.cameras[v]
    d = crop_rays(cam, renders.affines[:, v], (64, 64)).double().numpy()
    floor = renders.label[:, v] == -1
    assert floor.sum() > 100
    z = cam.center[2] + renders.depth[:, v][floor] * d[floor][:, 2]
    assert np.abs(z).max() < 1.0           # floor points lie on z = 0 (to float32 precision)


def test_rendering_is_seeded_and_frame_independent(scenes, renders):
    again = render_views(scenes, frames=[4, 1], size=(64, 64))
    assert np.array_equal(again.images[0], renders.images[4])
    assert np.array_equal(again.images[1], renders.images[1])
    other = render_views(scenes, frames=[1], size=(64, 64), seed=99)
    assert np.abs(other.images[0].astype(int) - renders.images[1]).mean() > 5


def test_occluders_appear_in_front_of_hidden_joints():
    wall = Occluder("box", (2500.0, 0.0), size=(100.0, 6000.0, 3000.0))
    cams = cv.load_rig("ring", n_views=2, radius=4000, azimuth0=0.0)
    s = cv.make_scenes(1, cams, seed=0, occluders=(wall,), heatmap_size=(16, 16))
    r = render_views(s, size=(32, 32), return_depth=True, noise=0.0)
    assert np.all(r.label[0, 0] == 100)                  # camera 0 sees only the wall
    assert np.any((r.label[0, 1] >= 0) & (r.label[0, 1] < 100))


def test_bad_arguments(scenes):
    with pytest.raises(TypeError, match="scenes"):
        render_views(np.zeros(3))
    with pytest.raises(ValueError, match="size"):
        render_views(scenes, size=(2, 64))
    with pytest.raises(ValueError, match="joints3d"):
        depth_visibility(np.zeros((17, 3)), scenes.cameras)
    with pytest.raises(ValueError, match="occluder kind"):
        depth_visibility(scenes.joints3d, scenes.cameras, (Occluder("cone", (0.0, 0.0)),))
