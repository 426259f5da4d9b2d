"""Cameras, skeletons and heatmaps: the pictures of chapter 1 and after."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..camera import Camera
from ..skeleton import SKELETON

#: Colours by body side, used consistently in every figure.
SIDE_COLORS = {"right": "#d62728", "left": "#1f77b4", "center": "#2ca02c"}


def joint_side(j: int) -> str:
    """'right', 'left' or 'center' for joint ``j`` (by its name)."""
    name = SKELETON.names[j]
    return "right" if name.startswith("r") and name != "root" else \
        "left" if name.startswith("l") else "center"


def side_polylines(joints: np.ndarray) -> dict[str, list[list]]:
    """The limbs of one pose ``(J, D)`` by body side: ``D`` coordinate lists per side, one
    limb after another with ``None`` between them (a gap in a plotly line)."""
    joints = np.asarray(joints)
    out = {side: [[] for _ in range(joints.shape[1])] for side in SIDE_COLORS}
    for p, c in SKELETON.limbs:
        for coords, ends in zip(out[joint_side(c)], joints[[p, c]].T):
            coords += [*ends, None]
    return out


def draw_skeleton_2d(ax, joints2d: np.ndarray, visible: np.ndarray | None = None,
                     linewidth: float = 2.0, markersize: float = 18.0, alpha: float = 1.0):
    """Draw one 2D pose ``(J, 2)`` (pixels) on a matplotlib axis.

    Limbs are coloured by side; joints not ``visible`` ``(J,)`` are drawn as
    hollow markers so occlusion shows at a glance.
    """
    joints2d = np.asarray(joints2d)
    for p, c in SKELETON.limbs:
        ax.plot(*joints2d[[p, c]].T, color=SIDE_COLORS[joint_side(c)], lw=linewidth, alpha=alpha)
    vis = np.ones(len(joints2d), bool) if visible is None else np.asarray(visible, bool)
    colors = [SIDE_COLORS[joint_side(j)] for j in range(len(joints2d))]
    ax.scatter(*joints2d[vis].T, s=markersize, c=np.array(colors)[vis], zorder=3, alpha=alpha)
    if (~vis).any():
        ax.scatter(*joints2d[~vis].T, s=markersize * 2, facecolors="none", zorder=3,
                   edgecolors=np.array(colors)[~vis], linewidths=1.5, alpha=alpha)
    return ax


def draw_heatmap_overlay(ax, heatmaps: np.ndarray, cmap: str = "magma", **kwargs):
    """Show the joint-wise maximum of heatmaps ``(J, H, W)`` (or one ``(H, W)`` map)."""
    h = np.asarray(heatmaps)
    img = h.max(0) if h.ndim == 3 else h
    return ax.imshow(img, cmap=cmap, origin="upper", **kwargs)


def skeleton_traces(joints3d: np.ndarray, name: str = "pose", opacity: float = 1.0,
                    width: float = 6.0, showlegend: bool = True) -> list:
    """Plotly ``Scatter3d`` traces of one pose ``(J, 3)``: a line set per body side."""
    import plotly.graph_objects as go

    traces = []
    for side, (xs, ys, zs) in side_polylines(joints3d).items():
        color = SIDE_COLORS[side]
        traces.append(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines+markers", name=f"{name} ({side})",
                                   line=dict(color=color, width=width), marker=dict(size=3),
                                   opacity=opacity, showlegend=showlegend,
                                   legendgroup=name))
    return traces


def frustum_lines(camera: Camera, depth: float = 800.0) -> np.ndarray:
    """Edges of a camera's viewing pyramid as a polyline ``(N, 3)`` with NaN breaks."""
    w, h = camera.image_size or (2 * camera.cx, 2 * camera.cy)
    corners_px = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    corners = camera.unproject(corners_px, np.full(4, depth), undistort=False)
    C = camera.center
    nan = np.full(3, np.nan)
    pts = []
    for k in range(4):
        pts += [C, corners[k], nan]
    pts += [corners[0], corners[1], corners[2], corners[3], corners[0], nan]
    return np.array(pts)


def rig_figure(cameras: Sequence[Camera], joints3d: np.ndarray | None = None, occluders=(),
               frustum_depth: float = 800.0, title: str | None = None):
    """An interactive plotly 3D figure of a rig: camera frusta, labels, floor, a pose.

    ``joints3d`` is one pose ``(J, 3)`` or ``None``; ``occluders`` are
    :class:`crossview.synth.Occluder` objects drawn as boxes or pillars.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, cam in enumerate(cameras):
        pts = frustum_lines(cam, frustum_depth)
        fig.add_trace(go.Scatter3d(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="lines",
                                   line=dict(color="#444", width=3), name=f"camera {cam.name or i}",
                                   showlegend=False, hoverinfo="skip"))
        C = cam.center
        fig.add_trace(go.Scatter3d(x=[C[0]], y=[C[1]], z=[C[2]], mode="markers+text",
                                   marker=dict(size=4, color="#444"), text=[str(cam.name or i)],
                                   textposition="top center", showlegend=False,
                                   name=f"camera {cam.name or i}"))
    centers = np.array([c.center for c in cameras])
    r = 1.1 * np.abs(centers[:, :2]).max()
    fig.add_trace(go.Mesh3d(x=[-r, r, r, -r], y=[-r, -r, r, r], z=[0, 0, 0, 0],
                            i=[0, 0], j=[1, 2], k=[2, 3], color="#bbb", opacity=0.25,
                            name="floor", hoverinfo="skip", showscale=False))
    for occ in occluders:
        fig.add_trace(_occluder_mesh(occ))
    if joints3d is not None:
        for t in skeleton_traces(joints3d):
            fig.add_trace(t)
    fig.update_layout(scene=dict(aspectmode="data", xaxis_title="x (mm)", yaxis_title="y (mm)",
                                 zaxis_title="z (mm)"),
                      margin=dict(l=0, r=0, t=40 if title else 0, b=0), title=title,
                      height=520, legend=dict(x=0, y=1))
    return fig


def _occluder_mesh(occ):
    import plotly.graph_objects as go

    if occ.kind == "box":
        dx, dy, dz = np.asarray(occ.size) / 2
        cx, cy = occ.position
        x = cx + np.array([-dx, dx, dx, -dx, -dx, dx, dx, -dx])
        y = cy + np.array([-dy, -dy, dy, dy, -dy, -dy, dy, dy])
        z = np.array([0, 0, 0, 0, 2 * dz, 2 * dz, 2 * dz, 2 * dz])
        return go.Mesh3d(x=x, y=y, z=z, alphahull=0, color="#8c564b", opacity=0.5, name="box",
                         hoverinfo="name")
    a = np.linspace(0, 2 * np.pi, 17)
    x = np.concatenate([occ.position[0] + occ.radius * np.cos(a)] * 2)
    y = np.concatenate([occ.position[1] + occ.radius * np.sin(a)] * 2)
    z = np.concatenate([np.zeros(17), np.full(17, occ.height)])
    return go.Mesh3d(x=x, y=y, z=z, alphahull=0, color="#7f7f7f", opacity=0.5, name="pillar",
                     hoverinfo="name")


#: The panels of :func:`pose_grid_views`: title and the world axes (horizontal, vertical).
ORTHO_VIEWS = (("front: x, z", 0, 2), ("side: y, z", 1, 2), ("top: x, y", 0, 1))


def pose_grid_views(estimate: np.ndarray, truth: np.ndarray, center: np.ndarray, n_bins: int,
                    cube_size: float = 2000.0, title: str | None = None,
                    panel_inches: float = 3.6):
    """A pose estimated on a PSM grid against the truth, in three orthographic views side
    by side (matplotlib), on the grid's bins.

    ``estimate`` and ``truth`` are poses ``(J, 3)`` (mm, world frame, z up); ``center``
    ``(3,)``, ``n_bins`` and ``cube_size`` (mm) describe the grid as in
    :func:`crossview.psm.grid`. Every panel has equal axes fixed to the cube (whatever the
    poses), so figures for different ``n_bins`` share one scale; thin lines mark the bin
    centres, and the title states the bin spacing, ``cube_size / (n_bins - 1)`` mm.
    ``title`` is appended to that. Each panel is ``panel_inches`` square. Returns the
    figure.
    """
    import matplotlib.pyplot as plt

    estimate, truth = np.asarray(estimate, float), np.asarray(truth, float)
    center = np.asarray(center, float)
    for name, pose in (("estimate", estimate), ("truth", truth)):
        if pose.shape != (SKELETON.n_joints, 3):
            raise ValueError(f"{name} must have shape ({SKELETON.n_joints}, 3), got {pose.shape}")
    if center.shape != (3,):
        raise ValueError(f"center must have shape (3,), got {center.shape}")
    if isinstance(n_bins, bool) or not hasattr(n_bins, "__index__") or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    if not np.isfinite(cube_size) or cube_size <= 0:
        raise ValueError(f"cube_size must be a finite positive number (mm), got {cube_size!r}")
    spacing = cube_size / (n_bins - 1)
    offsets = np.linspace(-cube_size / 2, cube_size / 2, n_bins)     # as crossview.psm.grid
    reach = 0.55 * cube_size                                          # the cube and a margin

    fig, axes = plt.subplots(1, len(ORTHO_VIEWS), layout="constrained",
                             figsize=(panel_inches * len(ORTHO_VIEWS), panel_inches + 0.6))
    for ax, (label, h, v) in zip(axes, ORTHO_VIEWS):
        for i, along in ((h, ax.axvline), (v, ax.axhline)):
            for o in offsets:
                along(center[i] + o, color="#ddd", lw=0.6, zorder=0)
        draw_skeleton_2d(ax, truth[:, [h, v]], linewidth=4.0, markersize=10.0, alpha=0.25)
        draw_skeleton_2d(ax, estimate[:, [h, v]], linewidth=1.8, markersize=14.0)
        ax.set_xlim(center[h] - reach, center[h] + reach)
        ax.set_ylim(center[v] - reach, center[v] + reach)
        ax.set_aspect("equal", adjustable="box")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(f"{'xyz'[h]} (mm)")
        ax.set_ylabel(f"{'xyz'[v]} (mm)")
        ax.tick_params(labelsize=8)
    head = f"N = {n_bins}: bins {spacing:.0f} mm apart (grey lines)"
    fig.suptitle(head + ("; " + title if title else "") + "\ncoloured: the estimate; "
                 "faint: the truth", fontsize=10)
    return fig
