"""The Human3.6M loader, on tiny files of the H36M-Toolbox layout written here (synthetic)."""

import pickle

import numpy as np
import pytest

import crossview as cv
from crossview.datasets.h36m import (
    UnsafePickleError,
    camera_from_record,
    camera_to_record,
    load_h36m,
    records_from_scenes,
    safe_load_pickle,
    universal_pose,
    write_records,
)


@pytest.fixture(scope="module")
def scenes():
    return cv.make_scenes(5, "h36m", seed=21, heatmaps=False)


@pytest.fixture
def tiny_file(tmp_path, scenes):
    return write_records(tmp_path / "h36m_validation.pkl", records_from_scenes(scenes))


def test_camera_record_round_trip_and_convention(h36m):
    for cam in h36m:
        rec = camera_to_record(cam)
        # Human3.6M's T is the camera centre: x_cam = R (X - T)
        X = np.array([100.0, -200.0, 900.0])
        assert np.allclose(rec["R"] @ (X - rec["T"].ravel()), cam.world_to_camera(X))
        back = camera_from_record(rec)
        assert np.allclose(back.K, cam.K) and np.allclose(back.R, cam.R)
        assert np.allclose(back.t, cam.t) and np.allclose(back.dist, cam.dist)


def test_human36m_lens_model_is_opencv_with_k_and_p_reordered(h36m):
    # the paper's code distorts normalised y by radial(k) + 2 p0 y_2 + 2 p1 y_1, plus [p1, p0] r^2
    cam = h36m[1]
    rec = camera_to_record(cam)
    X = np.array([[300.0, -500.0, 1200.0], [-900.0, 400.0, 300.0]])
    xc = (rec["R"] @ (X.T - rec["T"])).T
    y = xc[:, :2] / xc[:, 2:]
    r2 = (y**2).sum(1)
    k, p = rec["k"].ravel(), rec["p"].ravel()
    radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
    tan = 2 * p[0] * y[:, 1] + 2 * p[1] * y[:, 0]
    yd = y * (radial + tan)[:, None] + np.outer(r2, [p[1], p[0]])
    uv = yd * [rec["fx"], rec["fy"]] + [rec["cx"], rec["cy"]]
    assert np.allclose(camera_from_record(rec).project(X), uv, atol=1e-9)


def test_round_trip_of_cameras_joints_and_crops(tiny_file, scenes):
    frames = load_h36m(tiny_file)
    assert frames.n_frames == scenes.n_frames and frames.n_views == 4
    assert frames.joints3d_key == "joints_3d_camera" and frames.dropped == 0
    assert np.allclose(frames.joints3d, scenes.joints3d, atol=1e-6)
    assert np.allclose(frames.joints2d, scenes.joints2d)
    assert frames.visible.all()                    # the toolbox marks every joint annotated
    for rig in frames.cameras:
        for cam, ref in zip(rig, scenes.cameras):
            assert np.allclose(cam.project(scenes.joints3d[0]), ref.project(scenes.joints3d[0]))
    assert np.allclose(frames.affines(scenes.heatmap_size), scenes.affines)
    assert np.allclose(frames.head_sizes, scenes.head_sizes)
    assert frames.subject.tolist() == [9] * 5 and frames.image_id.tolist() == [1, 2, 3, 4, 5]
    assert "S9" in repr(frames)
    assert [c.name for c in frames.cameras[0]] == [f"camera_id {v}" for v in range(4)]


def test_universal_skeleton_is_the_other_3d_field(tiny_file, scenes):
    frames = load_h36m(tiny_file, joints3d_key="joints_3d")
    assert frames.joints3d_key == "joints_3d"
    assert np.allclose(frames.joints3d, universal_pose(scenes.joints3d), atol=1e-6)
    assert np.allclose(frames.joints3d[:, 0], scenes.joints3d[:, 0], atol=1e-6)   # same root
    lengths = cv.SKELETON.limb_lengths(frames.joints3d)
    assert np.allclose(lengths[:, 1:], cv.LIMB_PRIOR.mean[1:], atol=1e-6)
    assert not np.allclose(cv.SKELETON.limb_lengths(scenes.joints3d), lengths, atol=1.0)


def test_official_affines_shift_the_box_centre_half_a_heatmap_pixel(tiny_file):
    frames = load_h36m(tiny_file)
    H, W = 48, 64
    book = frames.affines((H, W))
    official = frames.affines((H, W), official=True)
    c = frames.box_centers[..., None, :]
    assert np.allclose(cv.image_to_heatmap(c, book)[..., 0, :], [(W - 1) / 2, (H - 1) / 2])
    assert np.allclose(cv.image_to_heatmap(c, official)[..., 0, :], [W / 2, H / 2])
    # the box's width fills the heatmap's width
    left = c - np.stack([frames.box_sizes / 2, 0 * frames.box_sizes], -1)[..., None, :]
    assert np.allclose(cv.image_to_heatmap(left, book)[..., 0, 0], -0.5)


def test_visibility_is_read_from_joints_vis(tmp_path, scenes):
    recs = records_from_scenes(scenes)
    recs[5]["joints_vis"] = np.ones(17)
    recs[5]["joints_vis"][[3, 13]] = 0                 # frame 1, camera 1
    del recs[6]["joints_vis"]                          # absent: all annotated
    frames = load_h36m(write_records(tmp_path / "v.pkl", recs))
    assert np.flatnonzero(~frames.visible[1, 1]).tolist() == [3, 13]
    assert frames.visible.sum() == frames.visible.size - 2


def test_rendered_heatmaps_are_the_ground_truth_blobs(tiny_file, scenes):
    frames = load_h36m(tiny_file)
    hm = frames.render_heatmaps(scenes.heatmap_size, sigma=scenes.sigma)
    clean = scenes.with_heatmaps()
    assert hm.shape == clean.heatmaps.shape and hm.dtype == np.float32
    assert np.abs(hm - clean.heatmaps).max() < 1e-5
    # corruption is drawn per frame: a frame's maps do not depend on its neighbours
    noisy = frames.render_heatmaps(scenes.heatmap_size, jitter=2.0, false_peak_prob=0.5, seed=3)
    assert np.array_equal(frames.render_heatmaps(scenes.heatmap_size, frames=[2], jitter=2.0,
                                                 false_peak_prob=0.5, seed=3)[0], noisy[2])
    assert np.abs(noisy - hm).max() > 0.5


def test_grouping_orders_views_by_camera_id(tmp_path, scenes):
    records = records_from_scenes(scenes)[::-1]          # shuffled order in the file
    frames = load_h36m(write_records(tmp_path / "r.pkl", records))
    assert np.allclose(frames.joints2d, scenes.joints2d)
    assert frames.images[0, 2].startswith("s_09_act_02_subact_01_ca_03/")


def test_rigs_are_shared_per_subject_and_grouped(tmp_path, scenes):
    ring = cv.make_scenes(3, cv.load_rig("ring", n_views=4), seed=2, heatmaps=False)
    recs = records_from_scenes(scenes, subject=9) + records_from_scenes(ring, subject=11)
    frames = load_h36m(write_records(tmp_path / "two_rigs.pkl", recs))
    groups = frames.rig_groups()
    assert [g[0].tolist() for g in groups] == [[0, 1, 2, 3, 4], [5, 6, 7]]
    assert all(frames.cameras[f] is groups[0][1] for f in range(5))
    assert np.allclose(groups[1][1][2].P, ring.cameras[2].P)
    assert np.allclose(frames.joints3d[5:], ring.joints3d, atol=1e-6)


def test_selection_and_subsampling(tmp_path, scenes):
    recs = records_from_scenes(scenes, subject=9) + records_from_scenes(scenes, subject=11)
    path = write_records(tmp_path / "two.pkl", recs)
    assert load_h36m(path).n_frames == 10
    assert load_h36m(path, subjects=[11]).subject.tolist() == [11] * 5
    assert load_h36m(path, subjects=["S11", "9"]).n_frames == 10
    assert load_h36m(path, actions=2, subjects=9).n_frames == 5
    assert load_h36m(path, every=3).n_frames == 4
    with pytest.raises(ValueError, match="no complete"):
        load_h36m(path, subjects=[5])
    with pytest.raises(ValueError, match="every must be >= 1"):
        load_h36m(path, every=0)
    with pytest.raises(ValueError, match="subjects must be numbers"):
        load_h36m(path, subjects=["Alice"])


def test_missing_view_is_an_error_or_dropped(tmp_path, scenes):
    recs = [r for r in records_from_scenes(scenes)
            if not (r["image_id"] == 2 and r["camera_id"] == 3)]
    path = write_records(tmp_path / "missing.pkl", recs)
    with pytest.raises(ValueError, match=r"lacks view\(s\) \[3\]"):
        load_h36m(path)
    frames = load_h36m(path, on_missing="drop")
    assert frames.n_frames == 4 and frames.dropped == 1
    assert frames.image_id.tolist() == [1, 3, 4, 5]


def test_wrong_layouts_are_rejected(tmp_path, scenes):
    def load_with(change, name):
        recs = records_from_scenes(scenes)
        change(recs)
        return load_h36m(write_records(tmp_path / name, recs))

    with pytest.raises(ValueError, match="lacks \\['camera'\\]"):
        load_with(lambda recs: recs[0].pop("camera"), "a.pkl")
    with pytest.raises(ValueError, match=r"joints_2d.*\(17, 2\)"):
        load_with(lambda recs: recs[0].update(joints_2d=np.zeros((16, 2))), "b.pkl")

    def world_joints(recs):      # world joints where camera-frame joints belong
        for r in recs:
            r["joints_3d_camera"] = scenes.joints3d[r["image_id"] - 1]
    with pytest.raises(ValueError, match="disagree"):
        load_with(world_joints, "c.pkl")

    def no_3d(recs):
        for r in recs:
            del r["joints_3d_camera"]
    assert load_with(no_3d, "c2.pkl").joints3d_key == "joints_3d"    # older files: fall back
    with pytest.raises(ValueError, match=r"lacks the field 'joints_3d_camera'.*joints_3d"):
        recs = records_from_scenes(scenes)
        no_3d(recs)
        load_h36m(write_records(tmp_path / "c3.pkl", recs), joints3d_key="joints_3d_camera")
    with pytest.raises(ValueError, match="'scale' must be positive"):
        load_with(lambda recs: recs[4].update(scale=(0.0, 0.0)), "c4.pkl")
    with pytest.raises(ValueError, match="camera_id 4"):
        load_with(lambda recs: recs[0].update(camera_id=4), "c5.pkl")
    with pytest.raises(ValueError, match="list of per-image records"):
        load_h36m(write_records(tmp_path / "d.pkl", {"not": "a list"}))
    (tmp_path / "e.pkl").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_h36m(tmp_path / "e.pkl")
    (tmp_path / "f.pkl").write_bytes(pickle.dumps(records_from_scenes(scenes))[:500])
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_h36m(tmp_path / "f.pkl")
    with pytest.raises(FileNotFoundError):
        load_h36m(tmp_path / "nope.pkl")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_rejected_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps([{"subject": 1, "payload": _Exploit(marker)}], protocol=2))
    with pytest.raises(UnsafePickleError, match="refusing to load"):
        load_h36m(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps([eval], protocol=4))   # any other global is refused too
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        safe_load_pickle(path)
    # array subclasses are classes too: only plain ndarrays are rebuilt
    path.write_bytes(pickle.dumps(np.ma.masked_array([1.0, 2.0]), protocol=2))
    with pytest.raises(UnsafePickleError, match=r"numpy\.ma"):
        safe_load_pickle(path)


def test_numpy_arrays_and_scalars_load(tmp_path):
    path = tmp_path / "ok.pkl"
    payload = [{"a": np.arange(6.0).reshape(2, 3), "b": np.float32(2.5), "c": np.int64(3),
                "d": (np.float64(1.5), "text")}]
    for protocol in (2, 4, 5):
        path.write_bytes(pickle.dumps(payload, protocol=protocol))
        out = safe_load_pickle(path)
        assert np.array_equal(out[0]["a"], payload[0]["a"]) and out[0]["b"] == 2.5
        assert out[0]["d"] == (1.5, "text")
    # files written under NumPy 1.x name numpy.core instead of numpy._core
    old = pickle.dumps(payload, protocol=2).replace(b"numpy._core", b"numpy.core")
    assert b"numpy.core.multiarray" in old
    path.write_bytes(old)
    assert np.array_equal(safe_load_pickle(path)[0]["a"], payload[0]["a"])
