"""Property tests (hypothesis): invariants that must hold for every input, not just a few.

* projection and triangulation undo each other on random cameras, rigs and points, and
  a missing view (NaN pixel) is a view of weight zero;
* every backend computes the same PSM, RPSM and fusion on random heatmaps;
* ``F`` satisfies the epipolar constraint for random camera pairs, in image and in
  heatmap pixels;
* RPSM's answer moves with the scene when rig and pose move together.

The grid of PSM is axis-aligned, so only rotations about the vertical axis by multiples
of 90 degrees (with any translation) map it onto itself: under those the answer must
follow the scene exactly. Under other rotations the rotated scene is solved on a grid
placed differently relative to the person, so the answer only agrees to within the
quantisation of the coarse grid.

Examples are derandomised (the same ones on every run, like every seeded check of the
project) and few, with small grids, so the module runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import crossview as cv
from crossview.camera import look_at

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
fast = settings(max_examples=40, **SETTINGS)
slow = settings(max_examples=8, **SETTINGS)


# ---------------------------------------------------------------------- strategies
def floats(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def rotations(draw):
    """A uniformly spread random rotation matrix, from a unit quaternion."""
    q = np.array([draw(floats(-1.0, 1.0)) for _ in range(4)])
    if np.linalg.norm(q) < 0.1:
        q = np.array([1.0, 0.0, 0.0, 0.0])
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


@st.composite
def intrinsics(draw):
    fx = draw(floats(300.0, 2500.0))
    return np.array([[fx, draw(floats(-2.0, 2.0)), draw(floats(200.0, 800.0))],
                     [0.0, fx * draw(floats(0.9, 1.1)), draw(floats(200.0, 800.0))],
                     [0.0, 0.0, 1.0]])


@st.composite
def lenses(draw):
    """Distortion mild enough for the lens model to be invertible over the field of view
    (its fold, where it turns back, beyond a normalised radius of 1.2)."""
    dist = np.array([draw(floats(-0.3, 0.1)), draw(floats(-0.1, 0.1)), draw(floats(-2e-3, 2e-3)),
                     draw(floats(-2e-3, 2e-3)), draw(floats(-0.01, 0.01))])
    assume(cv.camera.lens_fold_radius(dist) > 1.2)
    return dist


@st.composite
def cameras(draw):
    return cv.Camera(draw(intrinsics()), draw(rotations()),
                     np.array([draw(floats(-5000.0, 5000.0)) for _ in range(3)]), draw(lenses()))


@st.composite
def rigs(draw, min_views: int = 2, max_views: int = 5):
    """Cameras around the origin, 2.5-8 m away, spread over at most 160 degrees of azimuth
    (so that no two of them look at a point along one line), each looking near the origin."""
    V = draw(st.integers(min_views, max_views))
    azimuth = draw(floats(0.0, 360.0))
    cams = []
    for v in range(V):
        if v:
            azimuth += draw(floats(15.0, 160.0 / max(V - 1, 1)))
        a, e = np.deg2rad(azimuth), np.deg2rad(draw(floats(-20.0, 40.0)))
        r = draw(floats(2500.0, 8000.0))
        pos = r * np.array([np.cos(a) * np.cos(e), np.sin(a) * np.cos(e), np.sin(e)])
        R, t = look_at(pos, [draw(floats(-300.0, 300.0)) for _ in range(3)])
        cams.append(cv.Camera(draw(intrinsics()), R, t, draw(lenses())))
    return cams


seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------- projection
@fast
@given(cam=cameras(), seed=seeds)
def test_projection_and_unprojection_undo_each_other(cam, seed):
    rng = np.random.default_rng(seed)
    # points in front of the camera, inside a field of view of about 70 degrees
    xn = rng.uniform(-0.5, 0.5, (20, 2))
    depth = rng.uniform(300.0, 12000.0, 20)
    X = (np.c_[xn, np.ones(20)] * depth[:, None] - cam.t) @ cam.R      # camera -> world
    uv = cam.project(X)
    assert np.allclose(cam.depth(X), depth)
    assert np.allclose(cam.unproject(uv, depth), X, rtol=0, atol=1e-6 * depth.max())
    assert np.allclose(cam.undistort_points(uv), cam.project(X, distort=False), atol=1e-6)
    along = (X - cam.center) / np.linalg.norm(X - cam.center, axis=-1, keepdims=True)
    assert np.allclose(cam.rays(uv), along, atol=1e-9)


@fast
@given(rig=rigs(), seed=seeds)
def test_triangulation_undoes_projection(rig, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-800.0, 800.0, (3, 17, 3)) + [0.0, 0.0, 900.0]
    uv = np.stack([c.project(X) for c in rig], axis=1)                   # (3, V, 17, 2)
    weights = rng.uniform(0.1, 1.0, uv.shape[:-1])
    for got in (cv.triangulate(uv, rig), cv.triangulate(uv, rig, weights),
                cv.triangulate_robust(uv, rig, weights)):
        assert np.abs(got - X).max() < 1e-4
    tensor = cv.triangulate(torch.from_numpy(uv), rig, torch.from_numpy(weights))
    assert np.abs(tensor.numpy() - cv.triangulate(uv, rig, weights)).max() < 1e-6


@fast
@given(rig=rigs(), seed=seeds)
def test_missing_views_are_views_of_weight_zero(rig, seed):
    # a NaN pixel removes exactly its view; fewer than two views left give NaN
    rng = np.random.default_rng(seed)
    X = rng.uniform(-800.0, 800.0, (2, 17, 3)) + [0.0, 0.0, 900.0]
    uv = np.stack([c.project(X) for c in rig], axis=1) + rng.normal(0, 2, (2, len(rig), 17, 2))
    seen = rng.random(uv.shape[:-1]) < 0.7
    weights = rng.uniform(0.1, 1.0, uv.shape[:-1])
    holes = np.where(seen[..., None], uv, np.nan)
    enough = seen.sum(1) >= 2
    for fn in (cv.triangulate, cv.triangulate_robust):
        got = fn(holes, rig, weights)
        assert np.allclose(got[enough], fn(uv, rig, weights * seen)[enough], rtol=0, atol=1e-6)
        assert np.isnan(got[~enough]).all()
        tensor = fn(torch.from_numpy(holes), rig, torch.from_numpy(weights)).numpy()
        assert np.array_equal(np.isnan(tensor), np.isnan(got))
        assert np.allclose(tensor[enough], got[enough], rtol=0, atol=1e-6)


# ---------------------------------------------------------------------- epipolar geometry
@fast
@given(a=cameras(), b=cameras(), seed=seeds)
def test_fundamental_matrix_satisfies_the_epipolar_constraint(a, b, seed):
    assume(np.linalg.norm(a.center - b.center) > 100.0)    # a baseline: epipolar geometry
    rng = np.random.default_rng(seed)
    # points in front of both cameras: on rays of a, at depths where b sees them
    X = (np.c_[rng.uniform(-0.5, 0.5, (200, 2)), np.ones(200)]
         * rng.uniform(500.0, 20000.0, (200, 1)) - a.t) @ a.R
    X = X[b.depth(X) > 50.0]
    assume(len(X) > 0)
    xa, xb = a.project(X, distort=False), b.project(X, distort=False)
    F = cv.fundamental_matrix(a, b)
    # the distance of x_b to the line F x_a, relative to the size of the pixels involved
    scale = 1.0 + np.abs(xb).max()
    assert np.all(cv.epipolar.point_line_distance(xb, cv.epipolar.epipolar_lines(xa, F))
                  < 1e-7 * scale)
    F_ba = cv.fundamental_matrix(b, a)
    assert min(np.abs(F_ba - F.T).max(), np.abs(F_ba + F.T).max()) < 1e-9
    # in heatmap pixels, through any invertible crops
    Aa = cv.crop_affine(rng.uniform(0, 1000, 2), rng.uniform(100, 2000, 2), (48, 64),
                        anisotropic=True)
    Ab = cv.crop_affine(rng.uniform(0, 1000, 2), rng.uniform(100, 2000, 2), (64, 48),
                        anisotropic=True)
    Fh = cv.fundamental_matrix(a, b, Aa, Ab)
    ha, hb = cv.image_to_heatmap(xa, Aa), cv.image_to_heatmap(xb, Ab)
    lines = cv.epipolar.epipolar_lines(ha, Fh)
    assert np.all(cv.epipolar.point_line_distance(hb, lines) < 1e-7 * (1.0 + np.abs(hb).max()))


# ---------------------------------------------------------------------- backends agree
def random_problem(seed: int, n_views: int, size: tuple[int, int]):
    """Random non-negative heatmaps on a random ring whose crops cover the PSM cube."""
    rng = np.random.default_rng(seed)
    cams = cv.ring_rig(n_views, radius=rng.uniform(3000, 6000), height=rng.uniform(800, 2500),
                       focal=rng.uniform(600, 1400), azimuth0=rng.uniform(0, 360),
                       dist=(rng.uniform(-0.2, 0.1), rng.uniform(-0.05, 0.05), 0.0, 0.0, 0.0))
    center = rng.uniform([-300, -300, 700], [300, 300, 1100])
    corners = center + 1000.0 * np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
    uv = np.stack([c.project(corners) for c in cams])
    H, W = size
    box_c, box_s = cv.bounding_box(uv, margin=1.1, aspect=W / H)
    A = cv.crop_affine(box_c, box_s, size)
    # values above the floor everywhere, so no two bins tie at the floor
    hm = rng.uniform(0.01, 1.0, (n_views, 17, H, W))
    return hm, cams, A, center


@slow
@given(seed=seeds, n_views=st.integers(2, 4), n_bins=st.integers(2, 5),
       size=st.sampled_from([(8, 8), (10, 14), (16, 12)]))
def test_psm_backends_agree_on_random_heatmaps(seed, n_views, n_bins, size):
    hm, cams, A, center = random_problem(seed, n_views, size)
    ref = cv.psm(hm, cams, A, center=center, limb_lengths=None, n_bins=n_bins, backend="naive")
    for backend in ("numpy", "numba", "torch"):
        got = cv.psm(hm, cams, A, center=center, limb_lengths=None, n_bins=n_bins, backend=backend)
        assert np.abs(got - ref).max() < 1e-9, backend


@slow
@given(seed=seeds, n_views=st.integers(2, 4), depth=st.integers(1, 2))
def test_rpsm_backends_agree_on_random_heatmaps(seed, n_views, depth):
    hm, cams, A, center = random_problem(seed, n_views, (10, 12))
    ref = cv.rpsm(hm, cams, A, center=center, n_bins=3, depth=depth, backend="naive")
    for backend in ("numpy", "numba", "torch"):
        got = cv.rpsm(hm, cams, A, center=center, n_bins=3, depth=depth, backend=backend)
        assert np.abs(got - ref).max() < 1e-9, backend


@slow
@given(seed=seeds, n_views=st.integers(2, 4), reduce=st.sampled_from(["max", "mean"]),
       self_weight=floats(0.0, 1.0))
def test_fusion_backends_agree_on_random_heatmaps(seed, n_views, reduce, self_weight):
    hm, cams, A, _ = random_problem(seed, n_views, (9, 11))
    hm = hm[:, :2] - 0.3                # a network's raw output may be negative
    ref = cv.epipolar_fusion(hm, cams, A, self_weight=self_weight, reduce=reduce,
                             n_lines=12, backend="naive")
    for backend in ("numpy", "numba", "torch"):
        got = cv.epipolar_fusion(hm, cams, A, self_weight=self_weight, reduce=reduce,
                                 n_lines=12, backend=backend)
        assert np.abs(got - ref).max() < 1e-9, backend


# ---------------------------------------------------------------------- RPSM follows the scene
@pytest.fixture(scope="module")
def scenes():
    """Synthetic frames with noisy heatmaps (jitter and false peaks), and clean ones."""
    noisy = cv.make_scenes(4, "h36m", seed=13, jitter=0.8, false_peak_prob=0.1)
    return noisy, noisy.with_heatmaps()


def turn(angle: float) -> np.ndarray:
    """Rotation about the vertical (z) axis."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def moved(cameras, Q, shift):
    """The rig after the world moves by ``X -> Q X + shift``: the images stay the same."""
    return [cv.Camera(c.K, c.R @ Q.T, c.t - c.R @ Q.T @ shift, c.dist, c.image_size)
            for c in cameras]


SMALL = dict(n_bins=8, depth=4)
shifts = st.tuples(floats(-5000.0, 5000.0), floats(-5000.0, 5000.0), floats(-1000.0, 1000.0))


@fast
@given(frame=st.integers(0, 3), quarter_turns=st.integers(0, 3), shift=shifts,
       offset=st.tuples(*[floats(-150.0, 150.0)] * 3))
def test_rpsm_follows_quarter_turns_and_translations_exactly(scenes, frame, quarter_turns,
                                                             shift, offset):
    # the grid maps onto itself: the moved scene is solved on the moved grid, bin for bin
    s = scenes[0]
    Q, shift = turn(quarter_turns * np.pi / 2), np.array(shift)
    hm, A = s.heatmaps[frame], s.affines[frame]
    center = s.joints3d[frame, 0] + offset
    before = cv.rpsm(hm, s.cameras, A, center=center, **SMALL)
    after = cv.rpsm(hm, moved(s.cameras, Q, shift), A, center=Q @ center + shift, **SMALL)
    assert np.abs(after - (before @ Q.T + shift)).max() < 1e-6


@fast
@given(frame=st.integers(0, 3), quarter_turns=st.integers(0, 3))
def test_rpsm_with_a_triangulated_root_follows_quarter_turns(scenes, frame, quarter_turns):
    # the DLT commutes with rotations about the world origin (they keep |X~| = 1), so the
    # triangulated root, and with it the grid, turns with the scene even for noisy peaks
    s = scenes[0]
    Q = turn(quarter_turns * np.pi / 2)
    before = cv.rpsm(s.heatmaps[frame], s.cameras, s.affines[frame], **SMALL)
    after = cv.rpsm(s.heatmaps[frame], moved(s.cameras, Q, np.zeros(3)), s.affines[frame],
                    **SMALL)
    assert np.abs(after - before @ Q.T).max() < 1e-6


@slow
@given(frame=st.integers(0, 3), angle=floats(0.0, 2 * np.pi), shift=shifts)
def test_rpsm_follows_any_turn_to_within_the_coarse_grid(scenes, frame, angle, shift):
    # a turned grid is placed differently relative to the person: the answers differ by
    # quantisation (RPSM can move a joint at most cube / N from its coarse bin)
    s = scenes[1]
    Q, shift = turn(angle), np.array(shift)
    hm, A, root = s.heatmaps[frame], s.affines[frame], s.joints3d[frame, 0]
    n_bins, cube = 16, 2000.0
    before = cv.rpsm(hm, s.cameras, A, center=root, n_bins=n_bins, depth=6)
    after = cv.rpsm(hm, moved(s.cameras, Q, shift), A, center=Q @ root + shift, n_bins=n_bins,
                    depth=6)
    diff = np.linalg.norm(after - (before @ Q.T + shift), axis=-1)
    assert diff.max() <= np.sqrt(3) * cube / (n_bins - 1)
    # and the turned answer is as close to the (turned) truth as quantisation allows
    truth = s.joints3d[frame] @ Q.T + shift
    assert np.linalg.norm(after - truth, axis=-1).max() <= np.sqrt(3) * cube / (n_bins - 1)
