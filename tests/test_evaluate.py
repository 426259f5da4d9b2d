import json

import numpy as np
import pytest

import crossview as cv
from crossview.cli import main
from crossview.commands.evaluate import METHODS, estimate, evaluate


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
    b = cv.psm(scenes.heatmaps, scenes.cameras, scenes.affines, scenes.joints3d[:, 0],
               scenes.limb_lengths, n_bins=8)
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
