"""The precomputed studies of the pipeline chapters (crossview.studies) and their file."""

import json

import numpy as np
import pytest

import crossview as cv
from crossview import studies
from crossview.studies import (
    ROBUSTNESS,
    STUDIES,
    WEIGHT_FLOOR,
    corruption_settings,
    load_studies,
    robustness_case,
    robustness_scenes,
    robustness_study,
    weight_floor_grid,
    weight_floor_study,
    write_studies,
)

QUICK = dict(n_bins=8, depth=2)


@pytest.fixture(scope="module")
def poses():
    return robustness_scenes(2, seed=5, n_subjects=1)


def test_corruption_settings_turn_one_knob_at_a_time():
    assert corruption_settings([0.0, 0.1], [0.0, 1.0, 2.0]) == [
        (0.0, 0.0), (0.0, 0.1), (1.0, 0.0), (2.0, 0.0)]
    assert corruption_settings([], [0.0, 1.0]) == [(0.0, 0.0), (1.0, 0.0)]


def test_corruption_settings_reject_values_out_of_range():
    with pytest.raises(ValueError, match="false_rates must be in"):
        corruption_settings([1.5], [0.0])
    with pytest.raises(ValueError, match="jitters must be >= 0"):
        corruption_settings([0.0], [-1.0])


def test_robustness_case_on_clean_heatmaps_finds_the_truth(poses):
    r = robustness_case(poses, methods=("dlt",))
    assert set(r) == {"single view", "fused", "root_error"}
    assert set(r["single view"]) == set(r["fused"]) == {"dlt"}
    assert r["single view"]["dlt"] < 1.0
    assert len(r["root_error"]) == 2 and max(r["root_error"]) < 1.0


def test_robustness_case_rejects_bad_arguments(poses):
    with pytest.raises(ValueError, match="fused_weight must be in"):
        robustness_case(poses, fused_weight=1.5)
    with pytest.raises(ValueError, match="methods must be among"):
        robustness_case(poses, methods=("ransac",))
    with pytest.raises(TypeError, match=r"scenes must be a crossview\.Scenes"):
        robustness_case(poses.heatmaps)


def test_robustness_study_has_one_case_per_setting_as_robustness_case_computes_it(poses):
    study = robustness_study(2, seed=5, n_subjects=1, false_rates=(0.0, 0.2),
                             jitters=(0.0, 1.0), occluded_scales=(1.0, 0.5),
                             methods=("dlt", "rpsm"), **QUICK)
    json.dumps(study)                                     # ready to store as it is
    cases = study["cases"]
    assert [(c["occluded_scale"], c["jitter"], c["false_peak_prob"]) for c in cases] == [
        (s, j, p) for s in (1.0, 0.5) for j, p in ((0.0, 0.0), (0.0, 0.2), (1.0, 0.0))]
    again = robustness_case(poses, jitter=1.0, occluded_scale=0.5, methods=("dlt", "rpsm"),
                            **QUICK)
    assert cases[-1]["single view"] == again["single view"]
    assert cases[-1]["fused"] == again["fused"]
    assert study["settings"]["methods"] == ["dlt", "rpsm"]


def test_weight_floor_grid_at_weight_one_is_rpsm_on_the_heatmaps_themselves(poses):
    sc = poses.with_heatmaps(jitter=1.0)
    evidence = cv.epipolar_fusion(sc.heatmaps, sc.cameras, sc.affines, self_weight=0.0)
    grid = weight_floor_grid(sc.heatmaps, evidence, sc.cameras, sc.affines, sc.joints3d,
                             [0.5, 1.0], [1e-3, 0.1], **QUICK)
    assert grid.shape == (2, 2)
    for k, floor in enumerate([1e-3, 0.1]):
        pose = cv.rpsm(sc.heatmaps, sc.cameras, sc.affines, floor=floor, **QUICK)
        assert grid[1, k] == pytest.approx(cv.mpjpe(pose, sc.joints3d), abs=1e-9)


def test_weight_floor_grid_rejects_bad_arguments(poses):
    sc = poses.with_heatmaps()
    hm = sc.heatmaps
    with pytest.raises(ValueError, match="heatmaps and evidence must both be"):
        weight_floor_grid(hm, hm[:1], sc.cameras, sc.affines, sc.joints3d, [1.0], [0.1])
    with pytest.raises(ValueError, match="floors non-empty values in"):
        weight_floor_grid(hm, hm, sc.cameras, sc.affines, sc.joints3d, [1.0], [1.0])
    with pytest.raises(ValueError, match="weights must be in"):
        weight_floor_grid(hm, hm, sc.cameras, sc.affines, sc.joints3d, [1.2], [0.1])


def test_weight_floor_study_scores_both_frame_sets_with_the_shipped_network():
    from crossview import nets

    study = weight_floor_study((1.0,), (0.1,), n_frames=2, n_bins=8, depth=1)
    assert set(study["grids"]) == {"validation", "held-out"}
    assert all(np.shape(g) == (1, 1) and np.isfinite(g).all() for g in study["grids"].values())
    assert study["self_weight_2d"] == nets.load_pose2d().analytic_self_weight
    json.dumps(study)


def test_write_studies_replaces_one_study_and_keeps_the_others(tmp_path, monkeypatch):
    path = tmp_path / "studies.json"
    path.write_text(json.dumps({"weight_floor": {"kept": 1}}))
    monkeypatch.setitem(STUDIES, "robustness", lambda **kw: {"cases": [], "x": 1 / 3})
    assert write_studies(["robustness"], path) == path
    stored = load_studies(path)
    assert stored["weight_floor"] == {"kept": 1}
    assert stored["robustness"]["x"] == 0.3333                     # stored to 4 decimals
    assert stored["robustness"]["made_by"] == "python -m crossview.studies robustness"
    assert "CPUs" in stored["robustness"]["machine"]


def test_unknown_studies_and_missing_files_are_errors(tmp_path):
    with pytest.raises(ValueError, match="names must be among robustness, weight_floor"):
        write_studies(["speed"], tmp_path / "s.json")
    with pytest.raises(FileNotFoundError, match=r"python -m crossview\.studies"):
        load_studies(tmp_path / "missing.json")
    with pytest.raises(SystemExit) as exc:
        studies.main(["speed"])
    assert exc.value.code == 2


def test_the_shipped_file_holds_the_stored_settings():
    stored = load_studies()
    rob, wf = stored["robustness"], stored["weight_floor"]
    for key, value in ROBUSTNESS.items():
        expected = list(value) if isinstance(value, tuple) else value
        assert rob["settings"][key] == expected, key
    knobs = corruption_settings(ROBUSTNESS["false_rates"], ROBUSTNESS["jitters"])
    assert len(rob["cases"]) == len(ROBUSTNESS["occluded_scales"]) * len(knobs)
    assert wf["settings"]["weights"] == list(WEIGHT_FLOOR["weights"])
    assert wf["settings"]["floors"] == list(WEIGHT_FLOOR["floors"])
    for grid in wf["grids"].values():
        assert np.shape(grid) == (len(WEIGHT_FLOOR["weights"]), len(WEIGHT_FLOOR["floors"]))
    assert rob["made_by"] == "python -m crossview.studies robustness"
    assert wf["made_by"] == "python -m crossview.studies weight_floor"


# ---------------------------------------------------------------------- their figures
def test_pool_joints_averages_left_and_right():
    from crossview.viz.pipeline import JOINT_GROUPS, pool_joints

    values = np.arange(17, dtype=float)
    pooled = dict(zip(JOINT_GROUPS, pool_joints(values)))
    assert pooled["root"] == 0 and pooled["hip"] == 2.5 and pooled["wrist"] == 14.5
    by_name = dict(zip(cv.SKELETON.names, values))
    assert pool_joints(by_name) == pool_joints(values)
    weights = np.ones(17)
    weights[4] = 3.0                                        # lhip counts three times
    assert dict(zip(JOINT_GROUPS, pool_joints(values, weights)))["hip"] == (1 + 3 * 4) / 4
    with pytest.raises(ValueError, match="one number per joint"):
        pool_joints(values[:5])


def test_robustness_figure_has_a_slider_step_per_height_of_hidden_joints():
    from crossview.viz.pipeline import robustness_figure

    study = load_studies()["robustness"]
    fig = robustness_figure(study)
    s = study["settings"]
    assert len(fig.data) == len(s["occluded_scales"]) * len(s["methods"]) * 2 * 2
    steps = fig.layout.sliders[0].steps
    assert len(steps) == len(s["occluded_scales"])
    assert sum(steps[1].args[0]["visible"]) == len(fig.data) // len(steps)


def test_weight_figures_draw_one_panel_per_quantity_or_frame_set():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crossview.viz.pipeline import weight_floor_figure, weight_sweep_figure

    fig = weight_sweep_figure([0.5, 1.0], [90, 80], {"rpsm": [50, 55]}, [0.5, 1.0], 0.5)
    assert len(fig.axes) == 3
    grids = {"a": np.ones((2, 3)), "b": np.arange(6.0).reshape(2, 3)}
    fig2 = weight_floor_figure(grids, [0.5, 1.0], [1e-3, 1e-2, 1e-1])
    assert [ax.get_title().split(" ")[0] for ax in fig2.axes] == ["a", "b"]
    plt.close("all")
