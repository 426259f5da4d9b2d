"""Plotly figures with a slider over precomputed settings: they stay interactive in the
published HTML book, where no kernel runs (chapters 6 and 7)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .scene import skeleton_traces

#: Colour of the ground-truth pose drawn under every estimate.
TRUTH_COLOR = "#888"


def cube_scene(points: np.ndarray, margin: float = 350.0) -> dict:
    """A plotly ``scene`` with equal, fixed axis ranges around ``points`` ``(..., 3)`` (mm),
    plus ``margin`` mm on every side, so that moving a slider does not rescale the view."""
    P = np.reshape(np.asarray(points, dtype=float), (-1, 3))
    if P.size == 0 or not np.isfinite(P).all():
        raise ValueError("points must be a non-empty array (..., 3) of finite numbers")
    c, h = (P.min(0) + P.max(0)) / 2, (P.max(0) - P.min(0)).max() / 2 + margin
    return dict(aspectmode="cube", **{k: dict(range=[c[i] - h, c[i] + h])
                                      for i, k in enumerate(("xaxis", "yaxis", "zaxis"))})


def skeleton_slider(truth: np.ndarray, estimates: Sequence[np.ndarray], labels: Sequence[str],
                titles: Sequence[str], *, prefix: str, active: int = 0,
                name: str = "estimate", around: np.ndarray | None = None,
                margin: float = 350.0, height: int = 560):
    """A 3D figure of one pose's ``estimates`` (each ``(J, 3)`` mm), one per slider step,
    over the ``truth`` ``(J, 3)`` drawn in grey.

    Step ``k`` is labelled ``labels[k]`` (shown after ``prefix``) and sets the figure's
    title to ``titles[k]``; ``active`` is the step shown first. The axes are fixed to a
    cube around ``around`` (default: the truth) with ``margin`` mm to spare.
    """
    import plotly.graph_objects as go

    truth = np.asarray(truth, dtype=float)
    poses = [np.asarray(p, dtype=float) for p in estimates]
    if truth.ndim != 2 or truth.shape[1] != 3:
        raise ValueError(f"truth must have shape (J, 3), got {truth.shape}")
    if not poses or any(p.shape != truth.shape for p in poses):
        raise ValueError(f"estimates must be a non-empty list of poses {truth.shape}, got "
                         f"{[p.shape for p in poses]}")
    if not len(labels) == len(titles) == len(poses):
        raise ValueError(f"labels and titles need one entry per estimate ({len(poses)}), got "
                         f"{len(labels)} and {len(titles)}")
    if not 0 <= active < len(poses):
        raise ValueError(f"active must be a step index in [0, {len(poses)}), got {active}")
    grey = skeleton_traces(truth, name="truth", opacity=0.35)
    for t in grey:
        t.line.color = TRUTH_COLOR
        t.marker.color = TRUTH_COLOR
    shown = skeleton_traces(poses[active], name=name)
    moving = list(range(len(grey), len(grey) + len(shown)))     # the traces a step replaces
    steps = []
    for pose, label, title in zip(poses, labels, titles):
        tr = skeleton_traces(pose, name=name)
        steps.append(dict(method="update", label=str(label),
                          args=[{"x": [t.x for t in tr], "y": [t.y for t in tr],
                                 "z": [t.z for t in tr]}, {"title.text": title}, moving]))
    fig = go.Figure(grey + shown)
    fig.update_layout(sliders=[dict(steps=steps, active=active,
                                    currentvalue=dict(prefix=prefix), pad=dict(t=20))],
                      title=titles[active], height=height, margin=dict(l=0, r=0, t=40, b=0),
                      scene=cube_scene(truth if around is None else around, margin))
    return fig


__all__ = ["cube_scene", "skeleton_slider"]
