"""Tables and figures of the pipeline chapters: joints pooled left and right for per-joint
tables, and the robustness study as a plotly figure with a slider (it stays
interactive in the published HTML book without a Python kernel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..skeleton import SKELETON

#: Joint groups of the per-joint tables: left and right pooled (a narrower table and twice
#: the samples per column); the name is the column header.
JOINT_GROUPS: dict[str, tuple[int, ...]] = {
    "root": (0,), "belly": (7,), "neck": (8,), "nose": (9,), "head": (10,), "hip": (1, 4),
    "knee": (2, 5), "ankle": (3, 6), "shldr": (11, 14), "elbow": (12, 15), "wrist": (13, 16)}

#: How the chapters name the 3D methods of :data:`crossview.evaluation.METHODS`.
METHOD_LABELS = {"dlt": "DLT", "robust-dlt": "robust DLT", "psm": "PSM", "rpsm": "RPSM"}

_COLORS = {"dlt": "#1f77b4", "robust-dlt": "#2ca02c", "psm": "#9467bd", "rpsm": "#d62728"}


def pool_joints(values, weights=None) -> list[float]:
    """Per-joint values ``(J,)`` (a sequence, or a dict by joint name) averaged over each
    group of :data:`JOINT_GROUPS`, in its order; ``weights`` ``(J,)`` (e.g. the number of
    samples per joint) weight the average."""
    if isinstance(values, Mapping):
        values = [values[n] for n in SKELETON.names]
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (SKELETON.n_joints,):
        raise ValueError(f"values must hold one number per joint ({SKELETON.n_joints}), "
                         f"got shape {v.shape}")
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != v.shape:
        raise ValueError(f"weights must have shape {v.shape}, got {w.shape}")
    return [float(np.average(v[list(idx)], weights=w[list(idx)]))
            for idx in JOINT_GROUPS.values()]


def robustness_figure(study: Mapping, floor_mm: float = 0.5):
    """The robustness study of :func:`crossview.studies.robustness_study` as a plotly
    figure: MPJPE against the false-peak rate (left) and the jitter (right), each method
    on the heatmaps as they are (solid) and fused (dashed), with a slider over the height
    of hidden joints' blobs. Errors below ``floor_mm`` are drawn at it (log axis)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    s = study["settings"]
    rates, jitters, scales, methods = (s["false_rates"], s["jitters"], s["occluded_scales"],
                                       s["methods"])
    cases = {(c["occluded_scale"], c["jitter"], c["false_peak_prob"]): c
             for c in study["cases"]}
    n, w = s["n_frames"], s["fused_weight"]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=["false peaks (no jitter)", "jitter (no false peaks)"])
    for k, scale in enumerate(scales):
        for m in methods:
            for kind, dash in (("single view", "solid"), ("fused", "dash")):
                curves = ((1, [100 * p for p in rates], [cases[scale, 0.0, p] for p in rates]),
                          (2, jitters, [cases[scale, j, 0.0] for j in jitters]))
                for col, xs, row in curves:
                    fig.add_trace(go.Scatter(
                        x=xs, y=[max(c[kind][m], floor_mm) for c in row],
                        mode="lines+markers", visible=k == 0, name=METHOD_LABELS.get(m, m),
                        legendgroup=m, showlegend=col == 1 and dash == "solid",
                        line=dict(color=_COLORS.get(m), dash=dash), marker=dict(size=6),
                        hovertemplate="%{y:.1f} mm<extra>"
                                      + f"{METHOD_LABELS.get(m, m)}, {kind}</extra>"),
                        row=1, col=col)
    per_scale = len(fig.data) // len(scales)

    def title(scale: float) -> str:
        return (f"MPJPE on {n} synthetic frames, hidden joints at height {scale:g}"
                f"<br><sup>solid: each view's own heatmaps; dashed: analytically fused "
                f"(w = {w:g})</sup>")

    steps = []
    for k, scale in enumerate(scales):
        visible = [k * per_scale <= i < (k + 1) * per_scale for i in range(len(fig.data))]
        steps.append(dict(method="update", label=f"{scale:g}",
                          args=[{"visible": visible}, {"title.text": title(scale)}]))
    fig.update_layout(
        sliders=[dict(steps=steps, active=0, y=-0.3, yanchor="top",
                      currentvalue=dict(prefix="height of hidden joints' blobs: "))],
        title=title(scales[0]), height=600, margin=dict(l=10, r=10, t=90, b=10),
        legend=dict(orientation="h", x=0, y=-0.2, yanchor="top"))
    ticks = dict(type="log", range=[np.log10(floor_mm), np.log10(3000)],
                 tickvals=[1, 10, 100, 1000])
    fig.update_yaxes(title_text="MPJPE (mm)", row=1, col=1, **ticks)
    fig.update_yaxes(row=1, col=2, **ticks)
    fig.update_xaxes(title_text="false-peak rate p (%)", row=1, col=1)
    fig.update_xaxes(title_text="jitter (heatmap px, std per axis)", row=1, col=2)
    return fig


def weight_sweep_figure(weights: Sequence[float], jdr: Sequence[float],
                        errors: Mapping[str, Sequence[float]], contrast: Sequence[float],
                        chosen: float):
    """Three panels over the analytic fusion's own-view weight: the JDR (%), the MPJPE
    (mm) of each method in ``errors``, and RPSM's contrast along the rays (nats); a dotted
    line marks the weight ``chosen`` for 2D. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].plot(weights, jdr, "o-")
    axes[0].set_ylabel("JDR, all joints (%)")
    axes[0].set_title("2D detection")
    for (m, e), mk in zip(errors.items(), ("s-", "o-", "^-", "d-")):
        axes[1].plot(weights, e, mk, label=METHOD_LABELS.get(m, m))
    axes[1].set_ylabel("MPJPE (mm)")
    axes[1].set_title("3D error")
    axes[1].legend(fontsize=8)
    axes[2].plot(weights, contrast, "o-", color="C2")
    axes[2].set_ylabel("log-evidence drop at 200 mm (nats)")
    axes[2].set_title("RPSM's contrast along the rays")
    for ax in axes:
        ax.set_xlabel("own-view weight w  (w = 1: single view)")
        ax.axvline(chosen, color="#999", lw=0.8, ls=":")
    fig.tight_layout()
    return fig


def weight_floor_figure(grids: Mapping[str, np.ndarray], weights: Sequence[float],
                        floors: Sequence[float]):
    """RPSM's MPJPE (mm) over own-view weight (rows) and floor (columns), one panel per
    frame set in ``grids``, each cell labelled and the best of each panel boxed. Returns
    the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(grids), figsize=(5.2 * len(grids), 3.6), squeeze=False)
    for ax, (name, grid) in zip(axes[0], grids.items()):
        g = np.asarray(grid)
        ax.imshow(g, cmap="viridis_r", aspect="auto")
        for (i, k), v in np.ndenumerate(g):
            ax.text(k, i, f"{v:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if v > (g.min() + g.max()) / 2 else "black")  # dark cells
        i, k = np.unravel_index(np.argmin(g), g.shape)
        ax.add_patch(plt.Rectangle((k - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
        ax.set_xticks(range(len(floors)), [f"{f:g}" for f in floors])
        ax.set_yticks(range(len(weights)), [f"{w:g}" for w in weights])
        ax.set_xlabel("floor under the log-heatmaps")
        ax.set_ylabel("own-view weight w")
        ax.set_title(f"{name} frames: RPSM MPJPE (mm)")
    fig.tight_layout()
    return fig


__all__ = ["JOINT_GROUPS", "METHOD_LABELS", "pool_joints", "robustness_figure",
           "weight_floor_figure", "weight_sweep_figure"]
