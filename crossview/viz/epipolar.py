"""Pictures of epipolar geometry: lines and curves across the views of a rig."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..camera import Camera
from ..epipolar import epipolar_curve, epipolar_lines, fundamental_matrix
from .scene import SIDE_COLORS, side_polylines


def _line_in_image(line: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The segment ``(2, 2)`` of line ``(a, b, c)`` inside an image of ``(width, height)``."""
    w, h = size
    a, b, c = line
    pts = []
    if abs(b) > 1e-12:
        for x in (0.0, w - 1.0):
            pts.append((x, -(a * x + c) / b))
    if abs(a) > 1e-12:
        for y in (0.0, h - 1.0):
            pts.append((-(b * y + c) / a, y))
    pts = [p for p in pts if -1e-6 <= p[0] <= w - 1 + 1e-6 and -1e-6 <= p[1] <= h - 1 + 1e-6]
    if len(pts) < 2:
        return np.full((2, 2), np.nan)
    pts = np.array(pts)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    i, j = np.unravel_index(d.argmax(), d.shape)
    return pts[[i, j]]


def _xy(points: np.ndarray) -> dict:
    """Plotly coordinates of points ``(N, 2)``; NaN (gaps) become ``None``."""
    return {k: [None if np.isnan(v) else float(v) for v in points[:, i]]
            for i, k in enumerate("xy")}


def epipolar_slider(cameras: Sequence[Camera], uv: np.ndarray, source: int = 0,
                    labels: Sequence[str] | None = None, poses: np.ndarray | None = None,
                    title: str | None = None):
    """A plotly figure: pixels of view ``source`` and their epipolar curves in every other view.

    ``uv`` ``(N, 2)`` are pixels of the source view (as it records them); a slider steps
    through them, labelled by ``labels``. Each other view shows the lens-aware curve
    (solid) and the ideal straight line ``F x`` of the undistorted pixel (dotted).
    ``poses`` ``(V, J, 2)`` draws a 2D skeleton in every view for context.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cameras = list(cameras)
    V = len(cameras)
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    labels = list(labels) if labels is not None else [str(i) for i in range(len(uv))]
    names = [f"camera {c.name or i}" + (" (source)" if i == source else "")
             for i, c in enumerate(cameras)]
    sizes = [cam.image_size or (int(2 * cam.cx), int(2 * cam.cy)) for cam in cameras]
    fig = make_subplots(1, V, subplot_titles=names, horizontal_spacing=0.02)
    for v, (w, h) in enumerate(sizes):
        fig.add_trace(go.Scatter(x=[0, w, w, 0, 0], y=[0, 0, h, h, 0], mode="lines",
                                 line=dict(color="#999", width=1), hoverinfo="skip",
                                 showlegend=False), 1, v + 1)
        if poses is not None:
            for side, (xs, ys) in side_polylines(poses[v]).items():
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines",
                                         line=dict(color=SIDE_COLORS[side], width=2),
                                         opacity=0.6, hoverinfo="skip", showlegend=False),
                              1, v + 1)
        fig.update_xaxes(range=[0, w], visible=False, row=1, col=v + 1)
        fig.update_yaxes(range=[h, 0], visible=False, scaleanchor=f"x{v + 1 if v else ''}",
                         row=1, col=v + 1)

    # every pixel's curve and line in every other view, computed once for all slider steps
    src = cameras[source]
    others = [v for v in range(V) if v != source]
    depths = np.linspace(300.0, 15000.0, 400)
    curves = {v: epipolar_curve(uv, src, cameras[v], depths=depths) for v in others}  # (N, S, 2)
    ideal = src.undistort_points(uv)
    lines = {v: epipolar_lines(ideal, fundamental_matrix(src, cameras[v])) for v in others}

    def dynamic(n):
        """The traces that change with the slider: the pixel, then curve and line per view."""
        out = [_xy(uv[n:n + 1])]
        for v in others:
            out += [_xy(curves[v][n]), _xy(_line_in_image(lines[v][n], sizes[v]))]
        return out

    first = len(fig.data)
    per_step = [dynamic(n) for n in range(len(labels))]
    start = per_step[0]
    fig.add_trace(go.Scatter(**start[0], mode="markers", marker=dict(size=11, color="black",
                                                                      symbol="x"),
                             name="pixel"), 1, source + 1)
    k = 1
    for v in range(V):
        if v == source:
            continue
        fig.add_trace(go.Scatter(**start[k], mode="lines", line=dict(color="black", width=2),
                                 name="epipolar curve (lens)", showlegend=k == 1), 1, v + 1)
        fig.add_trace(go.Scatter(**start[k + 1], mode="lines",
                                 line=dict(color="#d62728", width=1.5, dash="dot"),
                                 name="straight line F x", showlegend=k == 1), 1, v + 1)
        k += 2
    moving = list(range(first, len(fig.data)))
    steps = []
    for label, traces in zip(labels, per_step):
        steps.append(dict(method="restyle", label=label,
                          args=[{"x": [t["x"] for t in traces], "y": [t["y"] for t in traces]},
                                moving]))
    fig.update_layout(sliders=[dict(steps=steps, currentvalue=dict(prefix="pixel: "),
                                    pad=dict(t=30))],
                      height=420, margin=dict(l=10, r=10, t=60 if title else 40, b=10),
                      title=title, legend=dict(orientation="h", y=-0.05))
    return fig
