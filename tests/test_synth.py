import numpy as np
import pytest

import crossview as cv
from crossview.body import Occluder, segment_distance, visibility
from crossview.synth import forward_kinematics, simulate_motion, synthesize_heatmaps


def test_scenes_are_reproducible_from_a_seed():
    a = cv.make_scenes(8, seed=3, jitter=1.0, false_peak_prob=0.2)
    b = cv.make_scenes(8, seed=3, jitter=1.0, false_peak_prob=0.2)
    c = cv.make_scenes(8, seed=4)
    assert np.array_equal(a.joints3d, b.joints3d) and np.array_equal(a.heatmaps, b.heatmaps)
    assert not np.allclose(a.joints3d, c.joints3d)


def test_corruption_knobs_leave_the_motion_unchanged():
    clean = cv.make_scenes(6, seed=5)
    noisy = cv.make_scenes(6, seed=5, jitter=2.0, false_peak_prob=0.5, missing_prob=0.2)
    assert np.array_equal(clean.joints3d, noisy.joints3d)
    assert not np.allclose(clean.heatmaps, noisy.heatmaps)


def test_limb_lengths_are_constant_within_a_subject():
    s = cv.make_scenes(60, seed=2, n_subjects=3, heatmaps=False)
    measured = cv.SKELETON.limb_lengths(s.joints3d)
    assert np.allclose(measured, s.limb_lengths, atol=1e-6)
    for subj in np.unique(s.subject):
        ll = s.limb_lengths[s.subject == subj]
        assert np.allclose(ll, ll[0])
    assert len({tuple(s.limb_lengths[s.subject == k][0].round(3)) for k in range(3)}) == 3


def test_shapes_and_projection_consistency(scenes_small):
    s = scenes_small
    F, V, J = s.n_frames, s.n_views, 17
    assert s.joints3d.shape == (F, J, 3) and s.joints2d.shape == (F, V, J, 2)
    assert s.heatmaps.shape == (F, V, J, 64, 64) and s.heatmaps.dtype == np.float32
    assert s.affines.shape == (F, V, 2, 3) and s.head_sizes.shape == (F, V)
    for v, c in enumerate(s.cameras):
        assert np.allclose(c.project(s.joints3d), s.joints2d[:, v])
    assert np.allclose(cv.image_to_heatmap(s.joints2d, s.affines), s.joints_hm)


def test_joints_fall_inside_their_crops(scenes_small):
    H, W = scenes_small.heatmap_size
    jh = scenes_small.joints_hm
    assert jh[..., 0].min() >= -0.5 and jh[..., 0].max() <= W - 0.5
    assert jh[..., 1].min() >= -0.5 and jh[..., 1].max() <= H - 0.5


def test_clean_heatmap_peaks_are_the_joints(scenes_small):
    s = scenes_small
    found, _ = cv.find_peaks(s.heatmaps)
    assert np.abs(found - s.joints_hm).max() < 0.05


def test_people_stand_on_the_floor_and_move_around():
    s = cv.make_scenes(200, seed=11, heatmaps=False, fps=5.0)
    feet = np.minimum(s.joints3d[:, 3, 2], s.joints3d[:, 6, 2])
    assert np.allclose(feet, 0.039 * s.limb_lengths[:, 2] / 0.245)   # ankle height
    assert np.all(s.joints3d[:, 10, 2] > s.joints3d[:, 0, 2])        # head above the pelvis
    travelled = np.linalg.norm(np.diff(s.joints3d[:, 0, :2], axis=0), axis=1).sum()
    assert travelled > 2000
    acts = set(s.activity)
    assert "walk" in acts and len(acts) >= 3


def test_walking_swings_the_legs_in_antiphase():
    X, act = simulate_motion(500, cv.LIMB_PRIOR.mean, np.random.default_rng(0), fps=25.0)
    walking = np.array(act) == "walk"
    assert walking.sum() > 50
    right_dir = X[walking, 1] - X[walking, 4]
    forward = np.cross([0.0, 0.0, 1.0], right_dir)
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    ahead_r = ((X[walking, 3] - X[walking, 0]) * forward).sum(1)
    ahead_l = ((X[walking, 6] - X[walking, 0]) * forward).sum(1)
    assert np.corrcoef(ahead_r, ahead_l)[0, 1] < -0.5


def test_forward_kinematics_keeps_bone_lengths(rng):
    ll = cv.LIMB_PRIOR.mean
    F = 4
    from crossview.synth import _rot

    local = _rot(0, rng.uniform(-1, 1, size=(F, 17))) @ _rot(1, rng.uniform(-1, 1, size=(F, 17)))
    X = forward_kinematics(ll, local, _rot(2, rng.uniform(0, 6, size=F)), np.zeros((F, 3)))
    assert np.allclose(cv.SKELETON.limb_lengths(X), np.broadcast_to(ll, (F, 17)))


def test_segment_distance_known_cases():
    assert np.isclose(segment_distance([0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]), 1.0)
    assert np.isclose(segment_distance([0, 0, 0], [1, 0, 0], [0.5, -1, 1], [0.5, 1, 1]), 1.0)
    assert np.isclose(segment_distance([0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]), 1.0)
    assert np.isclose(segment_distance([0, 0, 0], [0, 0, 0], [1, 1, 0], [1, 1, 0]), np.sqrt(2))


def test_segment_distance_against_brute_force(rng):
    p1, q1, p2, q2 = (rng.normal(size=(200, 3)) for _ in range(4))
    s = np.linspace(0, 1, 201)
    a = p1[:, None] + s[None, :, None] * (q1 - p1)[:, None]
    b = p2[:, None] + s[None, :, None] * (q2 - p2)[:, None]
    brute = np.linalg.norm(a[:, :, None] - b[:, None, :], axis=-1).min(axis=(1, 2))
    d = segment_distance(p1, q1, p2, q2)
    assert np.all(d <= brute + 1e-12) and np.allclose(d, brute, atol=2e-2)


def test_occluders_block_lines_of_sight():
    pillar = Occluder("pillar", (0.0, 0.0), height=2000.0, radius=200.0)
    box = Occluder("box", (0.0, 0.0), size=(400.0, 400.0, 1000.0))
    start = np.array([[-3000.0, 0.0, 500.0], [-3000.0, 0.0, 1500.0], [-3000.0, 1000.0, 500.0]])
    end = start * [-1, 1, 1]
    assert pillar.blocks(start, end).tolist() == [True, True, False]
    assert box.blocks(start, end).tolist() == [True, False, False]


def test_visibility_codes_agree_with_an_explicit_wall():
    cams = cv.load_rig("ring", n_views=2, radius=4000, azimuth0=0.0)
    X = np.tile(cv.make_scenes(1, cams, seed=0, occluders=None, heatmaps=False).joints3d, (1, 1, 1))
    # a wide, tall box right in front of camera 0 hides everything from it
    wall = Occluder("box", (2500.0, 0.0), size=(100.0, 6000.0, 3000.0))
    code = visibility(X, cams, (wall,))
    assert np.all(code[0, 0] == 2)
    assert np.all(code[0, 1] != 2)


def test_occluders_hide_some_joints_in_some_views_only():
    s = cv.make_scenes(150, seed=0, heatmaps=False)
    obj = s.occlusion == 2
    assert obj.any()
    # a joint hidden by an object in one view is almost always seen by another view
    hidden_anywhere = obj.any(1)
    seen_elsewhere = s.visible.any(1)
    assert seen_elsewhere[hidden_anywhere].mean() > 0.95


def test_heatmap_corruption_knobs(rng):
    jh = rng.uniform(10, 50, size=(400, 2))
    vis = np.ones(400, bool)
    maps, info = synthesize_heatmaps(jh, vis, (64, 64), 2.0, rng, jitter=1.5, false_peak_prob=0.3,
                                     missing_prob=0.1)
    moved = np.linalg.norm(info["peaks"] - jh, axis=-1)
    assert 1.2 < moved.mean() < 2.6          # Rayleigh mean of sigma=1.5 is 1.88
    assert 0.05 < info["missing"].mean() < 0.15
    assert np.allclose(maps[info["missing"] & np.isnan(info["false_peaks"][:, 0])], 0)
    fp = ~np.isnan(info["false_peaks"][:, 0])
    assert 0.2 < fp.mean() < 0.4
    assert np.all(np.linalg.norm(info["false_peaks"][fp] - jh[fp], axis=-1) > 6.0)


def test_occluded_scale_drops_hidden_joints():
    s = cv.make_scenes(10, seed=1, occluded_scale=0.0)
    hidden = ~s.visible
    assert hidden.any()
    assert np.all(s.heatmaps[hidden].max(axis=(-1, -2)) == 0)
    assert np.all(s.heatmaps[s.visible].max(axis=(-1, -2)) > 0.8)


def test_subset_with_heatmaps_and_save_load_round_trip(tmp_path):
    s = cv.make_scenes(6, seed=9, jitter=1.0)
    sub = s.subset([1, 3])
    assert sub.n_frames == 2 and np.array_equal(sub.heatmaps[1], s.heatmaps[3])
    path = s.save(tmp_path / "s.npz")
    t = cv.Scenes.load(path)
    for k in ("joints3d", "joints2d", "occlusion", "affines", "heatmaps", "limb_lengths"):
        assert np.array_equal(getattr(s, k), getattr(t, k))
    assert t.occluders == s.occluders and t.corruption["jitter"] == 1.0
    assert np.allclose(t.cameras[0].K, s.cameras[0].K)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_frames=0), "n_frames"),
    (dict(rig="nope"), "unknown rig"),
    (dict(heatmap_size=(2, 64)), "heatmap_size"),
    (dict(sigma=-1.0), "sigma"),
])
def test_bad_make_scenes_arguments(kwargs, match):
    args = dict(n_frames=2, heatmaps=False)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        cv.make_scenes(**args)


@pytest.mark.parametrize("n_views", [2, 3, 6])
def test_other_rigs(n_views):
    s = cv.make_scenes(4, cv.load_rig("ring", n_views=n_views), seed=0, heatmap_size=(48, 32))
    assert s.heatmaps.shape == (4, n_views, 17, 48, 32)
    found, _ = cv.find_peaks(s.heatmaps)
    assert np.abs(found - s.joints_hm).max() < 0.05
