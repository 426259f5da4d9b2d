"""The Human3.6M loader, on tiny files written the way H36M-Toolbox writes them (synthetic).

``toolbox_records`` (in ``tests/toolbox_records.py``) reproduces the toolbox's loops, keys,
value types, missing views and pickling; the library's own writer is tested on its own.
"""

import json
import pathlib
import pickle

import numpy as np
import pytest
from toolbox_records import JOINT_IDX, calibration, dump, project, toolbox_records

import crossview as cv
from crossview.cli import main
from crossview.datasets.h36m import (
    UnsafePickleError,
    camera_from_record,
    camera_to_record,
    group_records,
    load_h36m,
    records_from_scenes,
    safe_load_pickle,
    universal_pose,
    write_records,
)

PROTOCOLS = (2, 3, 4, 5)
NUMPY_PATHS = ("numpy.core", "numpy._core")


@pytest.fixture(scope="module")
def toolbox():
    """Two subjects, two actions, two subactions, 3 frames; S11/2/2 lacks camera 1 and one
    image of S9/3/1 is missing: 20 complete frames of 24 (float64, as the real files)."""
    return toolbox_records()


@pytest.fixture(scope="module")
def toolbox32():
    return toolbox_records(dtype=np.float32, seed=1)


@pytest.fixture(scope="module")
def real_file(tmp_path_factory, toolbox):
    """Protocol 3 with ``numpy.core`` paths: Python 3.6 and NumPy 1.x, as the toolbox ran."""
    return dump(toolbox.records, tmp_path_factory.mktemp("h36m") / "h36m_validation.pkl")


def _key_list(frames):
    return [tuple(k) for k in np.c_[frames.subject, frames.action, frames.subaction,
                                    frames.image_id].tolist()]


def _expected_world(tb, keys):
    return np.stack([tb.world_from_file(k) for k in keys])


# ---------------------------------------------------------------------- the toolbox's files
def test_fixture_writes_the_toolbox_value_types(toolbox, real_file):
    rec = toolbox.records[0]
    assert list(rec) == ["image", "joints_2d", "joints_3d", "joints_3d_camera", "joints_vis",
                         "video_id", "image_id", "subject", "action", "subaction", "camera_id",
                         "source", "camera", "center", "scale", "box"]
    cam = rec["camera"]
    assert {k: np.shape(v) for k, v in cam.items()} == {
        "R": (3, 3), "T": (3, 1), "fx": (1,), "fy": (1,), "cx": (1,), "cy": (1,),
        "k": (3, 1), "p": (2, 1)}
    assert all(type(x) is np.float64 for x in rec["center"] + rec["scale"])
    assert rec["box"].shape == (4,) and rec["joints_vis"].shape == (17, 3)
    assert toolbox.records[1]["camera"] is cam          # one dict per video
    # the file names NumPy's helpers as NumPy 1.x did, at protocol 3
    data = real_file.read_bytes()
    assert data[:2] == b"\x80\x03" and b"numpy.core.multiarray\n_reconstruct" in data
    assert b"numpy._core" not in data


@pytest.mark.parametrize("paths", NUMPY_PATHS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_and_numpy_path_loads(tmp_path, toolbox, protocol, paths):
    path = dump(toolbox.records, tmp_path / "v.pkl", protocol, paths)
    assert path.read_bytes()[1] == protocol
    frames = load_h36m(path, every=1)
    keys = toolbox.complete_keys()
    assert frames.n_frames == 20 and frames.dropped == 4 and _key_list(frames) == keys
    truth = np.stack([toolbox.world[k] for k in keys])
    assert np.abs(frames.joints3d - truth).max() < 1e-6
    assert np.abs(frames.joints3d - _expected_world(toolbox, keys)).max() < 1e-9


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_float32_joints_load_as_stored(tmp_path, toolbox32, protocol):
    rec = toolbox32.records[0]
    assert rec["joints_3d_camera"].dtype == np.float32 and type(rec["center"][0]) is np.float32
    frames = load_h36m(dump(toolbox32.records, tmp_path / "f32.pkl", protocol), every=1)
    keys = toolbox32.complete_keys()
    # the stored float32 values, taken to the world in float64, exactly
    assert np.abs(frames.joints3d - _expected_world(toolbox32, keys)).max() < 1e-6
    # and the synthetic truth to float32's rounding (about 1e-4 mm at 5 m)
    truth = np.stack([toolbox32.world[k] for k in keys])
    assert np.abs(frames.joints3d - truth).max() < 2e-3
    stored = next(r["joints_2d"] for r in toolbox32.records if r["camera_id"] == 2
                  and (r["subject"], r["action"], r["subaction"], r["image_id"]) == keys[4])
    assert np.array_equal(frames.joints2d[4, 2], stored.astype(np.float64))


def test_cameras_project_the_truth_onto_the_stored_2d_joints(real_file, toolbox):
    frames = load_h36m(real_file, every=1)
    keys = _key_list(frames)
    for f in (0, 7, 19):
        world = toolbox.world[keys[f]]
        for v, cam in enumerate(frames.cameras[f]):
            assert np.abs(cam.project(world) - frames.joints2d[f, v]).max() < 1e-9
            assert cam.name == f"camera_id {v}"
    # centre and box size as stored
    first = toolbox.records[0]
    assert np.allclose(frames.box_centers[0, 0], first["center"])
    assert frames.box_sizes[0, 0] == pytest.approx(200.0 * first["scale"][0])
    assert frames.visible.all() and frames.images[0, 1] == toolbox.records[3]["image"]


def test_rigs_are_shared_per_subject(real_file, toolbox):
    frames = load_h36m(real_file, every=1)
    groups = frames.rig_groups()
    assert [len(idx) for idx, _ in groups] == [11, 9]
    assert frames.subject[groups[0][0]].tolist() == [9] * 11
    R, T = toolbox.calibration[(11, 3)][:2]
    assert np.allclose(groups[1][1][2].center, T.ravel()) and np.allclose(groups[1][1][2].R, R)


@pytest.mark.parametrize("value", [
    1145.0, np.float64(1145.0), np.float32(1145.0), np.array([1145.0]), np.array([[1145.0]]),
    np.array(1145.0), [1145.0], 1145])
def test_intrinsics_may_be_scalars_or_arrays_of_one_number(value):
    R, T, f, c, k, p, _ = calibration([1])[(1, 1)]
    cam = camera_from_record({"R": R, "T": T, "fx": value, "fy": f[1], "cx": c[0], "cy": c[1],
                              "k": k, "p": p})
    assert cam.fx == pytest.approx(1145.0) and cam.fy == f[1, 0] and cam.cx == c[0, 0]


def test_centre_and_scale_may_be_tuples_lists_or_arrays(tmp_path, toolbox):
    recs = [dict(r) for r in toolbox.records]
    recs[0]["center"] = [float(x) for x in recs[0]["center"]]
    recs[3]["center"] = np.array(recs[3]["center"])
    recs[6]["scale"] = np.float64(recs[6]["scale"][0])           # one number: the width
    recs[9]["scale"] = np.array(recs[9]["scale"]).reshape(2, 1)
    frames = load_h36m(dump(recs, tmp_path / "c.pkl"), every=1)
    ref = load_h36m(dump(toolbox.records, tmp_path / "ref.pkl"), every=1)
    assert np.array_equal(frames.box_centers, ref.box_centers)
    assert np.array_equal(frames.box_sizes, ref.box_sizes)


def _broken(toolbox, tmp_path, i, **changes):
    """The toolbox file with record ``i`` changed (its camera dict copied if touched)."""
    recs = [dict(r) for r in toolbox.records]
    cam = changes.pop("camera", None)
    if cam is not None:
        recs[i]["camera"] = {**recs[i]["camera"], **cam}
    recs[i].update(changes)
    return dump(recs, tmp_path / f"broken_{i}.pkl")


@pytest.mark.parametrize(("i", "change", "message"), [
    (1, {"camera": {"fx": np.array([1145.0, 1146.0])}},
     r"record 1 key 'camera' entry 'fx' must be one finite number .* shape \(2,\)"),
    (4, {"camera": {"cy": "512"}}, r"record 4 key 'camera' entry 'cy' must be one finite"),
    (5, {"camera": {"R": np.eye(2)}}, r"record 5 key 'camera' entry 'R' must be a finite 3 x 3"),
    (5, {"camera": {"T": np.zeros((4, 1))}}, r"record 5 key 'camera' entry 'T' .* must be 3"),
    (13, {"camera": {"R": 2 * np.eye(3)}}, r"record 13 key 'camera': R must be a rotation"),
    (7, {"center": (np.float64(1.0), np.float64(2.0), np.float64(3.0))},
     r"record 7 key 'center' must be 2 finite numbers, got tuple"),
    (7, {"scale": (np.nan, 1.0)}, r"record 7 key 'scale' holds NaN or infinite values"),
    (7, {"scale": [1.0, 2.0, 3.0]}, r"record 7 key 'scale' must be 1 or 2 finite numbers"),
    (9, {"joints_2d": np.full((17, 2), np.inf)}, r"record 9 key 'joints_2d' holds NaN"),
    (10, {"joints_3d_camera": np.full((17, 3), np.nan)},
     r"record 10 key 'joints_3d_camera' holds NaN"),
    (8, {"joints_2d": np.zeros((16, 2))}, r"record 8 key 'joints_2d' must have shape \(17, 2\)"),
    (8, {"joints_3d_camera": "pose"}, r"record 8 key 'joints_3d_camera' must be a \(17, 3\)"),
    (2, {"joints_vis": np.ones((17, 2, 2))}, r"record 2 key 'joints_vis' must have shape"),
    (3, {"subject": "S9"}, r"record 3 key 'subject' must be an integer, got str 'S9'"),
    (3, {"image_id": 1.0}, r"record 3 key 'image_id' must be an integer"),
    (6, {"camera_id": 4}, r"record 6 key 'camera_id' is 4, expected 0..3"),
    (2, {"camera": None}, r"record 2 key 'camera' must be a dict, got NoneType"),
])
def test_malformed_values_name_the_record_and_key(tmp_path, toolbox, i, change, message):
    if "camera" in change and change["camera"] is None:
        recs = [dict(r) for r in toolbox.records]
        recs[i]["camera"] = None
        path = dump(recs, tmp_path / "none.pkl")
    else:
        path = _broken(toolbox, tmp_path, i, **change)
    with pytest.raises(ValueError, match=message):
        load_h36m(path, every=1)


def test_incomplete_frames_are_dropped_and_counted(real_file, toolbox):
    frames = load_h36m(real_file, every=1)
    assert frames.dropped == 4 and "dropped=4" in repr(frames)
    assert (9, 3, 1, 2) not in _key_list(frames)           # lacks camera 3 (camera_id 2)
    with pytest.raises(ValueError, match=r"image_id=2 lacks view\(s\) \[2\] \(4 incomplete"):
        load_h36m(real_file, on_missing="error", every=1)
    # counted among the chosen subjects only
    assert load_h36m(real_file, subjects=[11], every=1).dropped == 3
    assert load_h36m(real_file, subjects=[9], actions=[2], every=1).dropped == 0
    assert len(group_records(toolbox.records)) == 20


def test_stride_runs_over_the_whole_file_before_the_filter(real_file, toolbox):
    keys = toolbox.complete_keys()
    official = load_h36m(real_file, subjects=["S11"], every=3)
    assert _key_list(official) == [k for k in keys[::3] if k[0] == 11]
    assert len(official) == 3                       # complete frames 12, 15 and 18
    # today's alternative: the filter first, then the stride over the sorted frames
    mine = load_h36m(real_file, subjects=["S11"], every=3, stride_over="selection")
    assert _key_list(mine) == sorted(k for k in keys if k[0] == 11)[::3]
    assert _key_list(mine) != _key_list(official)
    assert load_h36m(real_file, every=64).n_frames == 1
    assert load_h36m(real_file).n_frames == 1            # the paper's every 64th by default
    assert load_h36m(real_file, actions=3, subjects=9, every=1).n_frames == 5
    with pytest.raises(ValueError, match="no complete"):
        load_h36m(real_file, subjects=[5], every=1)
    with pytest.raises(ValueError, match="subjects must be numbers"):
        load_h36m(real_file, subjects=["Alice"], every=1)
    with pytest.raises(ValueError, match="stride_over must be one of"):
        load_h36m(real_file, stride_over="sorted", every=1)


def test_frames_keep_the_files_order(tmp_path, toolbox):
    recs = toolbox.records[::-1]                        # a file in another order
    path = dump(recs, tmp_path / "reversed.pkl")
    frames = load_h36m(path, every=1)
    assert _key_list(frames) == toolbox.complete_keys()[::-1]
    assert np.array_equal(frames.joints2d[-1, 2], toolbox.records[6]["joints_2d"])
    assert (_key_list(load_h36m(path, stride_over="selection", every=1))
            == sorted(toolbox.complete_keys()))


def test_scoring_target_is_view_0s_own_joints_in_the_world(tmp_path, toolbox):
    recs = [dict(r) for r in toolbox.records]
    for r in recs:                     # views disagree by up to 0.3 mm (along their axes)
        r["joints_3d_camera"] = r["joints_3d_camera"] + [0.0, 0.0, 0.1 * r["camera_id"]]
    path = dump(recs, tmp_path / "noisy.pkl")
    keys = toolbox.complete_keys()
    first = load_h36m(path, every=1)
    assert first.joints3d_key == "joints_3d_camera" and first.world_from == "first"
    view0 = np.stack([toolbox.world[k] for k in keys])   # view 0 carries no offset
    assert np.abs(first.joints3d - view0).max() < 1e-6
    mean = load_h36m(path, world_from="mean", every=1)
    assert 0.01 < np.abs(mean.joints3d - view0).max() < 0.3
    universal = load_h36m(path, joints3d_key="joints_3d", every=1)
    root = view0[:, :1]
    assert np.abs(universal.joints3d - (root + 0.95 * (view0 - root))).max() < 1e-6
    with pytest.raises(ValueError, match=r"frame \(9, 2, 1, 1\) .* disagree by 0\.[23] mm"):
        load_h36m(path, tolerance_mm=0.15, every=1)


def test_official_focal_length_is_the_mean_of_fx_and_fy(real_file, toolbox):
    ours = load_h36m(real_file, every=1)
    official = load_h36m(real_file, focal="average", every=1)
    assert official.focal == "average" and "focal average" in repr(official)
    for cam, ref in zip(official.cameras[0], ours.cameras[0]):
        assert cam.fx == cam.fy == pytest.approx(0.5 * (ref.fx + ref.fy))
    # the paper's projection (one focal length, its formula) is what the cameras now do
    R, T, f, c, k, p, _ = toolbox.calibration[(9, 1)]
    world = toolbox.world[(9, 2, 1, 1)]
    papers = project(world, (R, T, np.full((2, 1), f.mean()), c, k, p))
    assert np.abs(official.cameras[0][0].project(world) - papers).max() < 1e-9
    gap = np.abs(ours.cameras[0][0].project(world) - papers).max()
    print(f"fx, fy apart vs their mean: up to {gap:.2f} px on this frame")
    assert gap > 0.1
    with pytest.raises(ValueError, match="focal must be one of"):
        load_h36m(real_file, focal="mean", every=1)


def test_loading_streams_the_file(monkeypatch, real_file):
    def no_whole_file(self):
        raise AssertionError("the file was read whole into memory")

    monkeypatch.setattr(pathlib.Path, "read_bytes", no_whole_file)
    assert load_h36m(real_file, every=1).n_frames == 20
    assert len(safe_load_pickle(real_file)) == 92


# ---------------------------------------------------------------------- the command line
ROUND_TRIPS = [   # (protocol, NumPy paths, joints dtype): the real file first
    (3, "numpy.core", np.float64), (2, "numpy.core", np.float32),
    (4, "numpy._core", np.float64), (5, "numpy.core", np.float32),
    (5, "numpy._core", np.float64)]


@pytest.mark.parametrize(("protocol", "paths", "dtype"), ROUND_TRIPS)
def test_evaluate_round_trip_recovers_the_world_joints(tmp_path, monkeypatch, capsys,
                                                       protocol, paths, dtype):
    import crossview.commands.evaluate as evaluate_command

    # (these seeds keep every joint inside the toolbox's boxes; a raised hand can leave one)
    tb = toolbox_records(dtype=dtype, seed=0 if dtype == np.float64 else 1)
    path = dump(tb.records, tmp_path / "h36m_validation.pkl", protocol, paths)
    seen = {}
    original = evaluate_command.evaluate

    def spy(heatmaps, cameras, affines, joints3d, *args, **kwargs):
        seen["joints3d"] = np.array(joints3d)   # the truth the command scores against
        return original(heatmaps, cameras, affines, joints3d, *args, **kwargs)

    monkeypatch.setattr(evaluate_command, "evaluate", spy)
    argv = ["evaluate", "--h36m", str(path), "--method", "dlt", "rpsm", "--every", "4",
            "--depth", "6", "--json", "--no-progress"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    data = out["data"]
    assert data["frames"] == 5 and data["dropped"] == 4 and data["subjects"] == [9, 11]
    assert data["joints3d"] == "joints_3d_camera" and data["world_from"] == "first"
    keys = tb.complete_keys()[::4]
    assert np.abs(seen["joints3d"] - _expected_world(tb, keys)).max() < 1e-6
    if dtype == np.float64:
        assert np.abs(seen["joints3d"] - np.stack([tb.world[k] for k in keys])).max() < 1e-6
    dlt, rpsm = out["results"]["dlt"]["mpjpe"], out["results"]["rpsm"]["mpjpe"]
    print(f"protocol {protocol}, {paths}, {np.dtype(dtype).name}: DLT {dlt:.2e} mm, "
          f"RPSM {rpsm:.2f} mm (ground-truth heatmaps, synthetic)")
    # exact blobs give exact peaks; float32 2D joints are rounded to about 1e-4 px
    assert dlt < (1e-4 if dtype == np.float64 else 1e-3) and rpsm < 5.0


def test_evaluate_options_reach_the_loader(real_file, toolbox, capsys):
    def run(*extra):
        assert main(["evaluate", "--h36m", str(real_file), "--method", "dlt", "--json",
                     "--no-progress", *extra]) == 0
        return json.loads(capsys.readouterr().out)["data"]

    data = run("--every", "2", "--subjects", "11")     # S11 holds complete frames 11 to 19
    assert data["frames"] == 4 and data["stride_over"] == "file" and data["dropped"] == 3
    assert run("--every", "2", "--subjects", "11", "--stride-over", "selection")["frames"] == 5
    data = run("--every", "1", "--official-focal", "--world-from", "mean", "--universal")
    assert data["focal"] == "average" and data["world_from"] == "mean"
    assert data["joints3d"] == "joints_3d" and data["frames"] == 20
    assert main(["evaluate", "--h36m", str(real_file), "--every", "1", "--method", "dlt",
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "4 incomplete dropped" in text and "joints_3d_camera of view 0" in text
    assert "fx, fy" in text


# ---------------------------------------------------------------------- the library's writer
@pytest.fixture(scope="module")
def scenes():
    return cv.make_scenes(5, "h36m", seed=21, heatmaps=False)


@pytest.fixture
def tiny_file(tmp_path, scenes):
    return write_records(tmp_path / "h36m_validation.pkl", records_from_scenes(scenes))


def test_camera_record_round_trip_and_convention(h36m):
    for cam in h36m:
        rec = camera_to_record(cam)
        assert rec["fx"].shape == (1,) and rec["T"].shape == (3, 1)    # the toolbox's types
        # Human3.6M's T is the camera centre: x_cam = R (X - T)
        X = np.array([100.0, -200.0, 900.0])
        assert np.allclose(rec["R"] @ (X - rec["T"].ravel()), cam.world_to_camera(X))
        back = camera_from_record(rec)
        assert np.allclose(back.K, cam.K) and np.allclose(back.R, cam.R)
        assert np.allclose(back.t, cam.t) and np.allclose(back.dist, cam.dist)


def test_human36m_lens_model_is_opencv_with_k_and_p_reordered(h36m):
    # the toolbox's calibration tuple and Human3.6M's formula, against our Camera
    R, T, f, c, k, p, _ = calibration([1])[(1, 2)]
    rec = {"R": R, "T": T, "fx": f[0], "fy": f[1], "cx": c[0], "cy": c[1], "k": k, "p": p}
    X = np.array([[300.0, -500.0, 1200.0], [-900.0, 400.0, 300.0]])
    assert np.abs(camera_from_record(rec).project(X) - project(X, (R, T, f, c, k, p))).max() < 1e-9
    assert np.allclose(camera_from_record(rec).P, h36m[1].P)


def test_library_writer_round_trips_scenes(tiny_file, scenes):
    recs = pickle.loads(tiny_file.read_bytes())
    assert tiny_file.read_bytes()[:2] == b"\x80\x03"                    # protocol 3
    assert [r["camera_id"] for r in recs[:6]] == [0] * 5 + [1]           # cameras, then frames
    assert type(recs[0]["center"][0]) is np.float64 and recs[0]["box"].shape == (4,)
    frames = load_h36m(tiny_file, every=1)
    assert frames.n_frames == scenes.n_frames and frames.n_views == 4
    assert frames.joints3d_key == "joints_3d_camera" and frames.dropped == 0
    assert np.allclose(frames.joints3d, scenes.joints3d, atol=1e-6)
    assert np.allclose(frames.joints2d, scenes.joints2d)
    assert np.allclose(frames.affines(scenes.heatmap_size), scenes.affines)
    assert np.allclose(frames.head_sizes, scenes.head_sizes)
    assert frames.subject.tolist() == [9] * 5 and frames.image_id.tolist() == [1, 2, 3, 4, 5]
    assert "S9" in repr(frames)


def test_universal_skeleton_is_the_other_3d_field(tiny_file, scenes):
    frames = load_h36m(tiny_file, joints3d_key="joints_3d", every=1)
    assert frames.joints3d_key == "joints_3d"
    assert np.allclose(frames.joints3d, universal_pose(scenes.joints3d), atol=1e-6)
    assert np.allclose(frames.joints3d[:, 0], scenes.joints3d[:, 0], atol=1e-6)   # same root
    lengths = cv.SKELETON.limb_lengths(frames.joints3d)
    assert np.allclose(lengths[:, 1:], cv.LIMB_PRIOR.mean[1:], atol=1e-6)
    assert not np.allclose(cv.SKELETON.limb_lengths(scenes.joints3d), lengths, atol=1.0)


def test_official_affines_shift_the_box_centre_half_a_heatmap_pixel(tiny_file):
    frames = load_h36m(tiny_file, every=1)
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
    recs[6]["joints_vis"] = np.ones(17)
    recs[6]["joints_vis"][[3, 13]] = 0                 # frame 1, camera 1
    del recs[7]["joints_vis"]                          # absent: all annotated
    frames = load_h36m(write_records(tmp_path / "v.pkl", recs), every=1)
    assert np.flatnonzero(~frames.visible[1, 1]).tolist() == [3, 13]
    assert frames.visible.sum() == frames.visible.size - 2


def test_rendered_heatmaps_are_the_ground_truth_blobs(tiny_file, scenes):
    frames = load_h36m(tiny_file, every=1)
    hm = frames.render_heatmaps(scenes.heatmap_size, sigma=scenes.sigma)
    clean = scenes.with_heatmaps()
    assert hm.shape == clean.heatmaps.shape and hm.dtype == np.float32
    assert np.abs(hm - clean.heatmaps).max() < 1e-5
    # corruption is drawn per frame: a frame's maps do not depend on its neighbours
    noisy = frames.render_heatmaps(scenes.heatmap_size, jitter=2.0, false_peak_prob=0.5, seed=3)
    assert np.array_equal(frames.render_heatmaps(scenes.heatmap_size, frames=[2], jitter=2.0,
                                                 false_peak_prob=0.5, seed=3)[0], noisy[2])
    assert np.abs(noisy - hm).max() > 0.5


def test_wrong_layouts_are_rejected(tmp_path, scenes):
    def load_with(change, name):
        recs = records_from_scenes(scenes)
        change(recs)
        return load_h36m(write_records(tmp_path / name, recs), every=1)

    with pytest.raises(ValueError, match=r"record 0 lacks \['camera'\]"):
        load_with(lambda recs: recs[0].pop("camera"), "a.pkl")

    def world_joints(recs):      # world joints where camera-frame joints belong
        for r in recs:
            r["joints_3d_camera"] = scenes.joints3d[r["image_id"] - 1]
    with pytest.raises(ValueError, match=r"\(records \[0, 5, 10, 15\]\) disagree"):
        load_with(world_joints, "c.pkl")

    def no_3d(recs):
        for r in recs:
            del r["joints_3d_camera"]
    assert load_with(no_3d, "c2.pkl").joints3d_key == "joints_3d"    # older files: fall back
    with pytest.raises(ValueError, match=r"record 0 lacks the key 'joints_3d_camera'.*joints_3d"):
        recs = records_from_scenes(scenes)
        no_3d(recs)
        load_h36m(write_records(tmp_path / "c3.pkl", recs), joints3d_key="joints_3d_camera",
                  every=1)
    with pytest.raises(ValueError, match="record 4 key 'scale' must be positive"):
        load_with(lambda recs: recs[4].update(scale=(0.0, 0.0)), "c4.pkl")
    with pytest.raises(ValueError, match="list of per-image records"):
        load_h36m(write_records(tmp_path / "d.pkl", {"not": "a list"}), every=1)
    with pytest.raises(ValueError, match="record 1 is a str"):
        load_h36m(write_records(tmp_path / "d2.pkl", [records_from_scenes(scenes)[0], "x"]),
                  every=1)
    (tmp_path / "e.pkl").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_h36m(tmp_path / "e.pkl", every=1)
    (tmp_path / "f.pkl").write_bytes(pickle.dumps(records_from_scenes(scenes))[:500])
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_h36m(tmp_path / "f.pkl", every=1)
    with pytest.raises(FileNotFoundError):
        load_h36m(tmp_path / "nope.pkl", every=1)


# ---------------------------------------------------------------------- unsafe pickles
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
        load_h36m(path, every=1)
    assert not marker.exists()
    path.write_bytes(pickle.dumps([eval], protocol=4))   # any other global is refused too
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        safe_load_pickle(path)
    # array subclasses are classes too: only plain ndarrays are rebuilt
    path.write_bytes(pickle.dumps(np.ma.masked_array([1.0, 2.0]), protocol=2))
    with pytest.raises(UnsafePickleError, match=r"numpy\.ma"):
        safe_load_pickle(path)


@pytest.mark.parametrize("paths", NUMPY_PATHS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_numpy_arrays_and_scalars_load(tmp_path, protocol, paths):
    payload = [{"a": np.arange(6.0).reshape(2, 3), "b": np.float32(2.5), "c": np.int64(3),
                "d": (np.float64(1.5), "text"), "e": np.ones((17, 3), np.float32)[JOINT_IDX[:3]]}]
    out = safe_load_pickle(dump(payload, tmp_path / "ok.pkl", protocol, paths))
    assert np.array_equal(out[0]["a"], payload[0]["a"]) and out[0]["b"] == 2.5
    assert type(out[0]["b"]) is np.float32 and out[0]["d"] == (1.5, "text")
    assert out[0]["e"].dtype == np.float32 and out[0]["e"].shape == (3, 3)


# ---------------------------------------------------------------------- the benchmark
@pytest.mark.slow
def test_bench_h36m_measures_load_h36m_against_pickle_load(tmp_path, monkeypatch, capsys):
    import tempfile

    from crossview.bench import targets

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["bench", "h36m", "--records", "960", "--repeat", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["reader"] for r in rows] == ["pickle.load", "load_h36m every=64",
                                          "load_h36m every=1"]
    # 240 videos of 4 frames, one video missing: 956 records, 236 complete frames
    assert {r["records"] for r in rows} == {956} and rows[0]["frames"] is None
    assert [r["frames"] for r in rows[1:]] == [4, 236] and rows[2]["dropped"] == 4
    assert rows[0]["time_ratio"] == rows[0]["memory_ratio"] == 1.0
    for r in rows:
        assert r["seconds"] > 0 and r["peak_rss_mib"] >= r["import_rss_mib"] > 0
    # a tiny file: the interpreter dominates; the full-size numbers are in the README
    assert rows[2]["memory_ratio"] < 1.5
    assert list(tmp_path.iterdir()) == []              # the file and its folder are gone
    assert targets()["h36m"].IN_ALL is False           # `bench all` does not write 1 GB
