"""Interactive pictures of a capture: a rig with a moving person, the rays that
triangulation intersects, and one pose estimated under changing conditions.

Each figure is plotly with a slider over precomputed states, so it stays interactive
in the published HTML book without a Python kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..camera import Camera
from .scene import rig_figure, skeleton_traces

#: Colours of single points drawn over a pose (truth, a method, another method...).
POINT_COLORS = ("black", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


def _poses(joints3d, name: str) -> np.ndarray:
    arr = np.asarray(joints3d, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must be poses (F, J, 3) in mm, got shape {arr.shape}")
    return arr


def _coords(traces) -> dict:
    """The x, y, z lists of some plotly traces, as a ``restyle`` argument."""
    return {k: [getattr(t, k) for t in traces] for k in "xyz"}


def rig_slider(cameras: Sequence[Camera], joints3d: np.ndarray, occluders=(), every: int = 2,
               title: str | None = None):
    """The rig of :func:`~crossview.viz.rig_figure` with a slider over the frames of a
    motion ``joints3d`` ``(F, J, 3)`` mm, one step every ``every`` frames."""
    joints3d = _poses(joints3d, "joints3d")
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    fig = rig_figure(cameras, joints3d[0], occluders, title=title)
    first = len(fig.data) - len(skeleton_traces(joints3d[0]))   # the skeleton comes last
    moving = list(range(first, len(fig.data)))
    steps = [dict(method="restyle", label=str(i),
                  args=[_coords(skeleton_traces(joints3d[i])), moving])
             for i in range(0, len(joints3d), every)]
    fig.update_layout(sliders=[dict(steps=steps, currentvalue=dict(prefix="frame "),
                                    pad=dict(t=10))])
    return fig


def rays_figure(cameras: Sequence[Camera], pixels: np.ndarray, points: Mapping[str, np.ndarray],
                joints3d: np.ndarray | None = None, false_views: Sequence[int] = (),
                title: str | None = None):
    """The ray of every camera through its pixel of one joint, and some 3D points.

    ``pixels`` ``(V, 2)`` are the (distorted) image pixels of one joint, one per camera;
    rays of ``false_views`` are drawn red. ``points`` maps a name to a point ``(3,)`` mm
    (the truth, a method's answer...); ``joints3d`` ``(J, 3)`` draws the whole pose.
    Each ray runs from its camera's centre to 1.25 times the distance of the first point.
    """
    import plotly.graph_objects as go

    cameras = list(cameras)
    pixels = np.asarray(pixels, dtype=np.float64)
    if pixels.shape != (len(cameras), 2):
        raise ValueError(f"pixels must be (V, 2) with V = {len(cameras)} cameras, got shape "
                         f"{pixels.shape}")
    if not points:
        raise ValueError("points must name at least one 3D point")
    target = np.asarray(next(iter(points.values())), dtype=np.float64)
    fig = rig_figure(cameras, joints3d, title=title)
    for v, cam in enumerate(cameras):
        ray = cam.rays(pixels[v][None])[0]
        end = cam.center + 1.25 * np.linalg.norm(target - cam.center) * ray
        bad = v in false_views
        fig.add_trace(go.Scatter3d(
            x=[cam.center[0], end[0]], y=[cam.center[1], end[1]], z=[cam.center[2], end[2]],
            mode="lines", line=dict(color="#d62728" if bad else "#7f7f7f", width=4),
            name=f"ray of camera {cam.name or v}" + (" (false)" if bad else "")))
    for (name, P), color in zip(points.items(), POINT_COLORS):
        P = np.asarray(P, dtype=np.float64)
        fig.add_trace(go.Scatter3d(x=[P[0]], y=[P[1]], z=[P[2]], mode="markers", name=name,
                                   marker=dict(size=6, color=color)))
    return fig


def pose_slider(truth: np.ndarray, poses: np.ndarray, points: np.ndarray,
                labels: Sequence[str], titles: Sequence[str], pose_name: str = "estimate",
                points_name: str = "points", prefix: str = "", margin: float = 300.0):
    """One true pose (grey) against estimates that change along a slider.

    ``poses`` ``(S, J, 3)`` are drawn as skeletons and ``points`` ``(S, J, 3)`` as dots
    (two methods), one state per slider step, labelled ``labels`` with figure titles
    ``titles``. The axes stay ``margin`` mm around the truth, so a method that fails far
    away leaves the picture instead of shrinking it.
    """
    import plotly.graph_objects as go

    truth = np.asarray(truth, dtype=np.float64)
    poses, points = _poses(poses, "poses"), _poses(points, "points")
    S = len(poses)
    if len(points) != S or len(labels) != S or len(titles) != S:
        raise ValueError(f"poses, points, labels and titles must have one entry per step, got "
                         f"{len(poses)}, {len(points)}, {len(labels)}, {len(titles)}")
    grey = skeleton_traces(truth, name="truth", opacity=0.35)
    for t in grey:
        t.line.color = t.marker.color = "#888"

    def dots(p):
        return go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers", name=points_name,
                            marker=dict(size=4, color=POINT_COLORS[1]))

    fig = go.Figure(grey + skeleton_traces(poses[0], name=pose_name) + [dots(points[0])])
    moving = list(range(len(grey), len(fig.data)))
    steps = [dict(method="update", label=label,
                  args=[_coords(skeleton_traces(p, name=pose_name) + [dots(q)]),
                        {"title.text": title}, moving])
             for p, q, label, title in zip(poses, points, labels, titles)]
    c, h = truth.mean(0), np.ptp(truth, 0).max() / 2 + margin
    axes = {k: dict(range=[c[i] - h, c[i] + h]) for i, k in enumerate(("xaxis", "yaxis", "zaxis"))}
    fig.update_layout(sliders=[dict(steps=steps, active=0, currentvalue=dict(prefix=prefix),
                                    pad=dict(t=20))],
                      title=dict(text=titles[0], font=dict(size=13)),
                      scene=dict(aspectmode="cube", **axes),
                      height=580, margin=dict(l=0, r=0, t=60, b=0))
    return fig


__all__ = ["pose_slider", "rays_figure", "rig_slider"]
