"""The chapters' live ``ipywidgets`` controls, checked without a browser or a kernel.

A live control only works where a kernel runs (JupyterLab, Binder, Colab); the HTML book
shows a note in its place (tests/test_book_html.py). Here the control's cell is run on
its own, with the chapter's data made small, and the slider is moved as a reader would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

import crossview as cv
from crossview.viz import scene

ROOT = Path(__file__).resolve().parents[1]
PSM = ROOT / "book" / "06_psm.ipynb"


def widget_cell(path: Path, description: str) -> str:
    """The source of the code cell that makes the slider called ``description``."""
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
             if c["cell_type"] == "code"]
    found = [c for c in cells if "IntSlider(" in c and f'description="{description}"' in c]
    assert len(found) == 1, f"{path.name}: {len(found)} cells make a slider {description!r}"
    return found[0]


@pytest.fixture
def drawn(monkeypatch) -> list:
    """Every (n_bins, figure) that cv.viz.pose_grid_views draws during a test."""
    calls = []

    def record(estimate, truth, center, n_bins, *args, **kwargs):
        fig = scene.pose_grid_views(estimate, truth, center, n_bins, *args, **kwargs)
        fig.canvas.draw()                        # lay out, so that sizes can be measured
        calls.append((n_bins, fig))
        return fig

    monkeypatch.setattr(cv.viz, "pose_grid_views", record)
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    yield calls
    plt.close("all")


def test_psm_n_slider_draws_the_grid_views_not_one_camera():
    src = widget_cell(PSM, "N")
    assert "cv.viz.pose_grid_views(" in src
    assert ".project(" not in src            # no longer one camera's image of the pose


def test_moving_the_psm_n_slider_redraws_readable_views(drawn):
    clean = cv.make_scenes(1, "h36m", seed=1, fps=1.0)
    shown = []
    namespace = {"widgets": ipywidgets, "time": time, "cv": cv, "plt": plt,
                 "display": shown.append, "clean": clean, "cams": clean.cameras,
                 "centers": clean.joints3d[:, 0] + [40.0, -30.0, 20.0]}
    exec(widget_cell(PSM, "N"), namespace)
    slider = namespace["slider"]
    assert len(shown) == 1 and slider in shown[0].children
    assert [n for n, _ in drawn] == [slider.value]
    slider.value = 16                                      # what dragging the slider does
    assert [n for n, _ in drawn] == [8, 16]
    assert len(namespace["out"].outputs) == 1              # the new figure replaces the old
    limits = []
    for n_bins, fig in drawn:
        assert f"N = {n_bins}: bins {2000 / (n_bins - 1):.0f} mm apart" in fig.get_suptitle()
        assert len(fig.axes) == 3
        for ax in fig.axes:
            box = ax.get_window_extent()
            # a readable panel: square, at least 2.5 inches (180 px at Jupyter's 72 dpi)
            # each way; the single view it replaced was about 30 px wide and 350 px tall
            assert box.width >= 2.5 * fig.dpi and box.height >= 2.5 * fig.dpi
            assert box.width == pytest.approx(box.height, rel=0.05)
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            assert x1 - x0 == pytest.approx(y1 - y0)        # equal axes
            limits.append((ax.get_xlim(), ax.get_ylim()))
    assert limits[:3] == limits[3:]                        # fixed: N does not rescale them


def test_pose_grid_views_keeps_its_axes_whatever_the_pose():
    truth = cv.make_scenes(1, seed=2, heatmaps=False).joints3d[0]
    center = truth[0]
    far = truth + [600.0, -500.0, 300.0]                   # a poor estimate
    a = scene.pose_grid_views(truth, truth, center, 8)
    b = scene.pose_grid_views(far, truth, center, 24, cube_size=2000.0, title="x")
    for pa, pb, (_, h, v) in zip(a.axes, b.axes, scene.ORTHO_VIEWS):
        assert pa.get_xlim() == pb.get_xlim() and pa.get_ylim() == pb.get_ylim()
        for (lo, hi), c in ((pa.get_xlim(), center[h]), (pa.get_ylim(), center[v])):
            assert lo < c - 1000 and hi > c + 1000                # the whole cube is shown
        assert pa.get_aspect() == 1.0
    assert "N = 24: bins 87 mm apart (grey lines); x\n" in b.get_suptitle()
    plt.close("all")


@pytest.mark.parametrize("bad, message", [
    (dict(n_bins=1), "n_bins must be an integer >= 2"),
    (dict(cube_size=-1.0), "cube_size must be a finite positive number"),
    (dict(center=np.zeros(2)), "center must have shape"),
    (dict(estimate=np.zeros((16, 3))), "estimate must have shape"),
])
def test_pose_grid_views_names_a_bad_argument(bad, message):
    args = dict(estimate=np.zeros((17, 3)), truth=np.zeros((17, 3)), center=np.zeros(3),
                n_bins=8)
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        scene.pose_grid_views(**args)
