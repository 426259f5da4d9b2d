import json

import numpy as np
import pytest

import crossview as cv
from crossview.cli import main
from crossview.evaluation import METHODS, estimate, evaluate
from crossview.metrics import joint_errors


@pytest.fixture(scope="module")
def scenes():
    return cv.make_scenes(3, "h36m", seed=31, jitter=1.0, false_peak_prob=0.3)


def test_core_takes_arrays_from_anywhere(scenes):
    res = evaluate(scenes.heatmaps, scenes.cameras, scenes.affines, scenes.joints3d,
                   ["dlt", "robust-dlt", "rpsm"], depth=6)
    assert set(res) == {"dlt", "robust-dlt", "rpsm"}
    for r in res.values():
        assert r["frames"] == 3 and len(r["per_joint"]) == 17
        assert r["median"] <= r["p90"] and r["ms_per_frame"] > 0
    # the numbers are those of the library functions on the same input
    pose = cv.rpsm(scenes.heatmaps, scenes.cameras, scenes.affines, depth=6)
    assert np.isclose(res["rpsm"]["mpjpe"], cv.mpjpe(pose, scenes.joints3d))


def test_given_truth_is_used(scenes):
    a = estimate("psm", scenes.heatmaps, scenes.cameras, scenes.affines,
                 center=scenes.joints3d[:, 0], limb_lengths=scenes.limb_lengths, n_bins=8)
    b = cv.psm(scenes.heatmaps, scenes.cameras, scenes.affines, center=scenes.joints3d[:, 0],
               limb_lengths=scenes.limb_lengths, n_bins=8)
    assert np.array_equal(a, b)


def test_unknown_method_is_an_error(scenes):
    with pytest.raises(ValueError, match="method must be one of"):
        estimate("ransac", scenes.heatmaps, scenes.cameras, scenes.affines)
    assert METHODS == ("dlt", "robust-dlt", "psm", "rpsm")


def test_command_prints_json(capsys):
    assert main(["evaluate", "--method", "dlt", "rpsm", "--frames", "3", "--seed", "4",
                 "--depth", "8", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data"]["synthetic"] is True and out["data"]["frames"] == 3
    assert out["settings"]["depth"] == 8
    print("clean heatmaps, MPJPE (mm):", {m: round(r["mpjpe"], 2) for m, r in
                                          out["results"].items()})
    assert out["results"]["rpsm"]["mpjpe"] < 2.0      # clean heatmaps: sub-bin accurate
    assert out["results"]["dlt"]["mpjpe"] < 5.0


def test_command_table_per_joint_and_progress(capsys):
    assert main(["evaluate", "--method", "robust-dlt", "--frames", "2", "--jitter", "1",
                 "--verbose"]) == 0
    captured = capsys.readouterr()
    assert "MPJPE mm" in captured.out and "robust-dlt" in captured.out
    assert "lwri" in captured.out and "synthetic" in captured.out
    assert "robust-dlt" in captured.err                 # the progress bar, on stderr


def test_command_reads_a_synth_file(tmp_path, capsys):
    path = tmp_path / "s.npz"
    cv.make_scenes(2, seed=5, jitter=0.5).save(path)
    assert main(["evaluate", "--scenes", str(path), "--method", "dlt", "--json",
                 "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data"]["frames"] == 2 and out["data"]["source"] == str(path)


def test_command_reports_bad_settings(capsys):
    assert main(["evaluate", "--frames", "1", "--n-bins", "1", "--no-progress"]) == 2
    assert "n_bins" in capsys.readouterr().err
    assert main(["evaluate", "--frames", "1", "--batch", "0", "--no-progress"]) == 2
    assert "batch must be >= 1" in capsys.readouterr().err


# ---------------------------------------------------------------------- Human3.6M files
@pytest.fixture(scope="module")
def h36m_file(tmp_path_factory):
    """A tiny file of the H36M-Toolbox layout: two subjects, each with its own rig (synthetic)."""
    from crossview.datasets.h36m import records_from_scenes, write_records

    s9 = cv.make_scenes(3, "h36m", seed=41, heatmaps=False)
    s11 = cv.make_scenes(2, cv.load_rig("ring", n_views=4), seed=42, heatmaps=False)
    path = tmp_path_factory.mktemp("h36m") / "h36m_validation.pkl"
    write_records(path, records_from_scenes(s9, subject=9) + records_from_scenes(s11, subject=11))
    return path, s9, s11


def _run_json(capsys, *argv):
    assert main(["evaluate", *argv, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)


def test_h36m_command_runs_each_subject_on_its_own_rig(h36m_file, capsys):
    path, s9, s11 = h36m_file
    out = _run_json(capsys, "--h36m", str(path), "--every", "1", "--method", "dlt", "rpsm",
                    "--depth", "6")
    data = out["data"]
    assert data["source"] == "h36m" and data["frames"] == 5 and data["subjects"] == [9, 11]
    assert data["joints3d"] == "joints_3d_camera" and data["dropped"] == 0
    assert "ground truth" in data["heatmaps"]
    print("ground-truth heatmaps of a tiny synthetic file, MPJPE (mm):",
          {m: round(r["mpjpe"], 3) for m, r in out["results"].items()})
    assert out["results"]["dlt"]["mpjpe"] < 1e-3      # exact blobs: exact peaks, exact DLT
    # the same numbers as the library on the synthetic scenes the file was written from
    errors = [joint_errors(cv.rpsm(s.with_heatmaps().heatmaps, s.cameras, s.affines, depth=6),
                           s.joints3d) for s in (s9, s11)]
    assert np.isclose(out["results"]["rpsm"]["mpjpe"], np.concatenate(errors).mean(), atol=1e-3)


def test_h36m_selection_and_universal_truth(h36m_file, capsys):
    path, *_ = h36m_file
    out = _run_json(capsys, "--h36m", str(path), "--every", "1", "--subjects", "S11",
                    "--method", "dlt", "--universal")
    assert out["data"]["frames"] == 2 and out["data"]["joints3d"] == "joints_3d"
    universal = out["results"]["dlt"]["mpjpe"]
    out = _run_json(capsys, "--h36m", str(path), "--every", "2", "--method", "dlt")
    assert out["data"]["frames"] == 3 and out["data"]["every"] == 2
    # the images show the subject's own limbs, the universal skeleton has others
    print(f"DLT against the universal skeleton: {universal:.1f} mm")
    assert universal > 5.0


def test_h36m_with_a_networks_heatmaps_and_the_official_crop_convention(h36m_file, tmp_path,
                                                                       capsys):
    from crossview.datasets.h36m import load_h36m

    path, *_ = h36m_file
    frames = load_h36m(path, every=1)
    npy = tmp_path / "net.npy"
    np.save(npy, frames.render_heatmaps((48, 48), official=True))   # stands in for a network
    right = _run_json(capsys, "--h36m", str(path), "--every", "1", "--heatmaps", str(npy),
                      "--official-crops", "--method", "dlt")
    wrong = _run_json(capsys, "--h36m", str(path), "--every", "1", "--heatmaps", str(npy),
                      "--method", "dlt")
    assert right["data"]["heatmaps"] == str(npy) and right["data"]["heatmap_size"] == [48, 48]
    e_right, e_wrong = right["results"]["dlt"]["mpjpe"], wrong["results"]["dlt"]["mpjpe"]
    print(f"half a heatmap pixel of crop convention: {e_right:.4f} mm vs {e_wrong:.2f} mm")
    assert e_right < 1e-3 and e_wrong > 2.0


def test_h36m_command_reports_bad_inputs(h36m_file, tmp_path, capsys):
    path, *_ = h36m_file
    npy = tmp_path / "short.npy"
    np.save(npy, np.zeros((2, 4, 17, 8, 8), np.float32))
    assert main(["evaluate", "--h36m", str(path), "--every", "1", "--heatmaps", str(npy),
                 "--no-progress"]) == 2
    assert "--heatmaps must have shape (5, 4, 17, H, W)" in capsys.readouterr().err
    assert main(["evaluate", "--h36m", str(tmp_path / "nope.pkl"), "--no-progress"]) == 2
    assert "no annotation file" in capsys.readouterr().err
    assert main(["evaluate", "--subjects", "1", "2", "--frames", "1", "--no-progress"]) == 2
    assert "--subjects" in capsys.readouterr().err


def test_core_reads_lazy_heatmaps_in_chunks_and_per_frame_rigs(h36m_file):
    from crossview.camera import rig_groups
    from crossview.datasets.h36m import load_h36m
    from crossview.evaluation import RenderedHeatmaps

    path, *_ = h36m_file
    frames = load_h36m(path, every=1)
    lazy = RenderedHeatmaps(frames, (64, 64), 2.0, seed=0, official=False, jitter=1.0)
    A = frames.affines((64, 64))
    a = evaluate(lazy, frames.cameras, A, frames.joints3d, ["robust-dlt"], chunk=2)
    b = evaluate(lazy[:], frames.cameras, A, frames.joints3d, ["robust-dlt"])
    assert a["robust-dlt"]["mpjpe"] == pytest.approx(b["robust-dlt"]["mpjpe"], abs=1e-9)
    groups = rig_groups(frames.cameras, 5)
    assert [g[0].tolist() for g in groups] == [[0, 1, 2], [3, 4]]
    with pytest.raises(ValueError, match="4 rigs but there are 5 frames"):
        rig_groups(frames.cameras[:4], 5)
    with pytest.raises(TypeError, match=r"list of crossview\.Camera objects"):
        rig_groups(frames.cameras[0][0], 5)


def test_refine_bins_reach_rpsm(scenes, capsys):
    a = estimate("rpsm", scenes.heatmaps, scenes.cameras, scenes.affines, depth=6, refine_bins=3)
    b = cv.rpsm(scenes.heatmaps, scenes.cameras, scenes.affines, depth=6, refine_bins=3)
    assert np.array_equal(a, b)
    assert main(["evaluate", "--method", "rpsm", "--frames", "2", "--seed", "4", "--depth", "6",
                 "--refine-bins", "3", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["settings"]["refine_bins"] == 3
    s = cv.make_scenes(2, "h36m", seed=4)
    pose = cv.rpsm(s.heatmaps, s.cameras, s.affines, depth=6, refine_bins=3)
    assert np.isclose(out["results"]["rpsm"]["mpjpe"], cv.mpjpe(pose, s.joints3d))
    with pytest.raises(SystemExit):
        main(["evaluate", "--frames", "1", "--refine-bins", "4", "--no-progress"])
    assert "--refine-bins" in capsys.readouterr().err


# ---------------------------------------------------------------------- limb lengths
def test_prior_from_a_training_file_is_fitted_to_its_poses(tmp_path, capsys):
    from toolbox_records import dump, toolbox_records

    # the same synthetic person in both splits: a prior fitted on training is exact
    train = toolbox_records(subjects=(1, 5), n_frames=6)
    valid = toolbox_records(subjects=(9, 11), n_frames=3)
    train_path = dump(train.records, tmp_path / "h36m_train.pkl")
    valid_path = dump(valid.records, tmp_path / "h36m_validation.pkl")
    out = _run_json(capsys, "--h36m", str(valid_path), "--every", "1", "--method", "rpsm",
                    "--prior-from", str(train_path))
    limbs = out["settings"]["limbs"]
    truth = cv.SKELETON.limb_lengths(next(iter(train.world.values())))
    assert limbs["source"] == f"prior from {train_path}"
    assert np.allclose(limbs["prior"]["mean"], truth, atol=1e-4)
    assert out["results"]["rpsm"]["mpjpe"] < 1.0
    # the same prior, saved as JSON, gives the same result
    (tmp_path / "prior.json").write_text(json.dumps(limbs["prior"]))
    again = _run_json(capsys, "--h36m", str(valid_path), "--every", "1", "--method", "rpsm",
                      "--prior-from", str(tmp_path / "prior.json"))
    assert again["results"]["rpsm"]["mpjpe"] == out["results"]["rpsm"]["mpjpe"]


def test_estimated_limbs_are_measured_per_subject(capsys):
    out = _run_json(capsys, "--frames", "16", "--subjects", "2", "--method", "rpsm",
                    "--estimate-limbs", "--depth", "6")
    per_subject = out["settings"]["limbs"]["per_subject"]
    assert sorted(per_subject) == ["0", "1"] and per_subject["0"]["frames"] == 8
    s = cv.make_scenes(16, "h36m", seed=0, n_subjects=2, heatmaps=False)
    for k in (0, 1):
        est = np.array(list(per_subject[str(k)]["limb_lengths"].values()))
        assert np.abs(est - s.limb_lengths[8 * k, 1:]).max() < 1.0     # clean heatmaps
    direct = evaluate(*(getattr(cv.make_scenes(16, "h36m", seed=0, n_subjects=2), k)
                        for k in ("heatmaps", "cameras", "affines", "joints3d")),
                      ["rpsm"], limb_lengths="estimate", subjects=s.subject, depth=6)
    assert np.isclose(direct["rpsm"]["mpjpe"], out["results"]["rpsm"]["mpjpe"])


def test_limb_sources_exclude_each_other_and_missing_priors_are_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--gt-limbs", "--estimate-limbs"])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err
    assert main(["evaluate", "--frames", "2", "--prior-from", str(tmp_path / "nope.pkl"),
                 "--no-progress"]) == 2
    assert "--prior-from: no file at" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{}")
    assert main(["evaluate", "--frames", "2", "--prior-from", str(tmp_path / "bad.json"),
                 "--no-progress"]) == 2
    assert "is not a limb-length prior" in capsys.readouterr().err
    with pytest.raises(ValueError, match="limb_lengths must be an array"):
        s = cv.make_scenes(2, seed=0)
        evaluate(s.heatmaps, s.cameras, s.affines, s.joints3d, limb_lengths="guess")
