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


def test_round_trip_of_cameras_joints_and_crops(tiny_file, scenes):
    frames = load_h36m(tiny_file)
    assert frames.n_frames == scenes.n_frames
    assert np.allclose(frames.joints3d, scenes.joints3d, atol=1e-6)
    assert np.allclose(frames.joints2d, scenes.joints2d)
    assert np.array_equal(frames.visible, scenes.visible)
    for rig in frames.cameras:
        for cam, ref in zip(rig, scenes.cameras):
            assert np.allclose(cam.project(scenes.joints3d[0]), ref.project(scenes.joints3d[0]))
    assert np.allclose(frames.affines(scenes.heatmap_size), scenes.affines)
    assert np.allclose(frames.head_sizes, scenes.head_sizes)
    assert frames.subject.tolist() == [9] * 5 and frames.image_id.tolist() == [1, 2, 3, 4, 5]


def test_grouping_orders_views_by_camera_id(tmp_path, scenes):
    records = records_from_scenes(scenes)[::-1]          # shuffled order in the file
    frames = load_h36m(write_records(tmp_path / "r.pkl", records))
    assert np.allclose(frames.joints2d, scenes.joints2d)
    assert frames.images[0, 2].startswith("s_09_act_02_subact_01_ca_03/")


def test_selection_and_subsampling(tmp_path, scenes):
    recs = records_from_scenes(scenes, subject=9) + records_from_scenes(scenes, subject=11)
    path = write_records(tmp_path / "two.pkl", recs)
    assert load_h36m(path).n_frames == 10
    assert load_h36m(path, subjects=[11]).subject.tolist() == [11] * 5
    assert load_h36m(path, every=3).n_frames == 4
    with pytest.raises(ValueError, match="no complete"):
        load_h36m(path, subjects=[5])


def test_missing_view_is_an_error_or_dropped(tmp_path, scenes):
    recs = [r for r in records_from_scenes(scenes)
            if not (r["image_id"] == 2 and r["camera_id"] == 3)]
    path = write_records(tmp_path / "missing.pkl", recs)
    with pytest.raises(ValueError, match=r"lacks view\(s\) \[3\]"):
        load_h36m(path)
    assert load_h36m(path, on_missing="drop").n_frames == 4


def test_wrong_layouts_are_rejected(tmp_path, scenes):
    recs = records_from_scenes(scenes)
    del recs[0]["camera"]
    with pytest.raises(ValueError, match="lacks \\['camera'\\]"):
        load_h36m(write_records(tmp_path / "a.pkl", recs))
    recs = records_from_scenes(scenes)
    recs[0]["joints_2d"] = np.zeros((16, 2))
    with pytest.raises(ValueError, match=r"joints_2d.*\(17, 2\)"):
        load_h36m(write_records(tmp_path / "b.pkl", recs))
    recs = records_from_scenes(scenes)
    for r in recs:  # world joints where camera-frame joints belong
        r["joints_3d"] = scenes.joints3d[r["image_id"] - 1]
    with pytest.raises(ValueError, match="disagree"):
        load_h36m(write_records(tmp_path / "c.pkl", recs))
    with pytest.raises(ValueError, match="list of per-image records"):
        load_h36m(write_records(tmp_path / "d.pkl", {"not": "a list"}))
    (tmp_path / "e.pkl").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_h36m(tmp_path / "e.pkl")
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


def test_numpy_arrays_and_scalars_load(tmp_path):
    path = tmp_path / "ok.pkl"
    payload = [{"a": np.arange(6.0).reshape(2, 3), "b": np.float32(2.5), "c": np.int64(3)}]
    for protocol in (2, 4, 5):
        path.write_bytes(pickle.dumps(payload, protocol=protocol))
        out = safe_load_pickle(path)
        assert np.array_equal(out[0]["a"], payload[0]["a"]) and out[0]["b"] == 2.5
