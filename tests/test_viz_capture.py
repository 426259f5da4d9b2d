"""Plotly capture figures with sliders over precomputed states (synthetic scenes)."""

import numpy as np
import pytest

import crossview as cv


@pytest.fixture(scope="module")
def scenes():
    return cv.make_scenes(4, "h36m", seed=1, heatmaps=False)


def test_rig_slider_has_one_step_per_shown_frame(scenes):
    fig = cv.viz.rig_slider(scenes.cameras, scenes.joints3d, every=2)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["0", "2"]
    xs = np.concatenate([np.asarray(x, float) for x in steps[1].args[0]["x"] if x is not None])
    assert np.isclose(np.nanmin(xs), scenes.joints3d[2, :, 0].min(), atol=1e-6)
    with pytest.raises(ValueError, match="every must be a positive integer"):
        cv.viz.rig_slider(scenes.cameras, scenes.joints3d, every=0)


def test_rays_figure_draws_one_ray_per_camera_and_the_points(scenes):
    X = scenes.joints3d[0, 13]
    uv = np.stack([c.project(X) for c in scenes.cameras])
    fig = cv.viz.rays_figure(scenes.cameras, uv, {"truth": X}, false_views=[1])
    rays = [t for t in fig.data if t.name and t.name.startswith("ray of camera")]
    assert len(rays) == 4 and sum("(false)" in t.name for t in rays) == 1
    for ray in rays:                                            # each ray passes the truth
        a, b = (np.array([ray.x[i], ray.y[i], ray.z[i]]) for i in (0, 1))
        d = (b - a) / np.linalg.norm(b - a)
        off = (X - a) - ((X - a) @ d) * d
        assert np.linalg.norm(off) < 1e-6
    with pytest.raises(ValueError, match=r"pixels must be \(V, 2\)"):
        cv.viz.rays_figure(scenes.cameras, uv[:2], {"truth": X})


def test_pose_slider_keeps_its_axes_and_checks_its_steps(scenes):
    truth = scenes.joints3d[0]
    poses = np.stack([truth + 10.0, truth - 10.0])
    fig = cv.viz.pose_slider(truth, poses, poses, ["a", "b"], ["A", "B"])
    assert [s.label for s in fig.layout.sliders[0].steps] == ["a", "b"]
    assert fig.layout.scene.xaxis.range is not None
    with pytest.raises(ValueError, match="one entry per step"):
        cv.viz.pose_slider(truth, poses, poses[:1], ["a", "b"], ["A", "B"])


def test_skeleton_slider_steps_through_the_estimates_on_fixed_axes(scenes):
    truth = scenes.joints3d[0]
    ests = [truth + 20.0, truth - 20.0, truth]
    fig = cv.viz.skeleton_slider(truth, ests, ["a", "b", "c"], ["A", "B", "C"], prefix="N = ",
                                 active=1)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["a", "b", "c"] and fig.layout.sliders[0].active == 1
    scene = cv.viz.cube_scene(truth, margin=100.0)
    half = [r[1] - r[0] for r in (scene[k]["range"] for k in ("xaxis", "yaxis", "zaxis"))]
    assert np.allclose(half, half[0])                           # a cube
    with pytest.raises(ValueError, match="one entry per estimate"):
        cv.viz.skeleton_slider(truth, ests, ["a"], ["A"], prefix="")
    with pytest.raises(ValueError, match="active must be a step index"):
        cv.viz.skeleton_slider(truth, ests, ["a", "b", "c"], ["A", "B", "C"], prefix="",
                               active=3)
