"""Figures of the fusion chapters: learned weight maps against epipolar curves, the loss
curve of the shipped 2D network, and a slider over hidden joints and their fused heatmaps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def weight_maps_figure(maps: Sequence[Sequence[np.ndarray]], curves: Sequence[np.ndarray],
                       row_labels: Sequence[str], col_titles: Sequence[str], title: str = ""):
    """A matplotlib grid of weight maps, one curve drawn on every map of a column.

    ``maps[r][c]`` is an ``(H, W)`` map (drawn as its absolute value), ``curves[c]`` an
    ``(S, 2)`` polyline ``(x, y)`` in heatmap pixels of column ``c`` (NaN breaks it),
    ``row_labels`` names the rows and ``col_titles`` the columns. Returns the figure.
    """
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(maps), len(maps[0])
    if len(curves) != n_cols or len(col_titles) != n_cols or len(row_labels) != n_rows:
        raise ValueError(f"need {n_cols} curves and column titles and {n_rows} row labels, "
                         f"got {len(curves)}, {len(col_titles)} and {len(row_labels)}")
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.1 * n_cols, 3.1 * n_rows),
                             squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax, m = axes[r, c], np.abs(np.asarray(maps[r][c], dtype=float))
            H, W = m.shape
            ax.imshow(m, cmap="viridis")
            ax.plot(*np.asarray(curves[c], dtype=float).T, "r-", lw=1)
            ax.set_xlim(-0.5, W - 0.5)
            ax.set_ylim(H - 0.5, -0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_titles[c], fontsize=10)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def loss_curve_figure(step_loss: Sequence[float], val_jdr: Sequence[float],
                      live: Sequence[float] | None = None, window: int = 50):
    """Training loss per step with its running mean (and a live run's steps), and the
    validation JDR (%) per epoch, side by side. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    step_loss = np.asarray(step_loss, dtype=float)
    if window < 1 or len(step_loss) < window:
        raise ValueError(f"window must be in [1, {len(step_loss)}] (the number of steps), "
                         f"got {window}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    steps = np.arange(1, len(step_loss) + 1)
    axes[0].semilogy(steps, step_loss, color="#bbb", lw=0.6, label="step")
    axes[0].semilogy(steps[window - 1:], np.convolve(step_loss, np.ones(window) / window,
                                                     "valid"), label="running mean")
    if live is not None:
        axes[0].semilogy(np.arange(1, len(live) + 1), live, color="C3", label="live run")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("training loss (MSE)")
    axes[0].legend()
    axes[1].plot(np.arange(1, len(val_jdr) + 1), val_jdr, "o-")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("validation JDR (%)")
    axes[1].set_title("single-view JDR on the validation frames")
    fig.tight_layout()
    return fig


def fused_examples_slider(images: np.ndarray, maps: Sequence[np.ndarray], names: Sequence[str],
                          truth_hm: np.ndarray, examples: np.ndarray, labels: Sequence[str],
                          stride: int = 4):
    """A plotly figure with a slider over examples: an image crop and heatmaps side by side.

    ``images`` ``(F, V, h, w, 3)`` are the crops, ``maps`` a list of heatmap arrays
    ``(F, V, J, H, W)`` named by ``names``, ``truth_hm`` ``(F, V, J, 2)`` the true joint
    in heatmap pixels, ``examples`` ``(N, 3)`` rows ``(frame, view, joint)`` and
    ``labels`` one title per example. ``stride`` is crop pixels per heatmap pixel (the
    truth is drawn on the crop too). Returns the figure.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    examples = np.asarray(examples, dtype=int).reshape(-1, 3)
    if len(labels) != len(examples) or len(names) != len(maps):
        raise ValueError("need one label per example and one name per heatmap array")
    n_panels = 1 + len(maps)
    fig = make_subplots(rows=1, cols=n_panels, subplot_titles=["image crop", *names],
                        horizontal_spacing=0.03)
    cross = dict(symbol="x", color="white", size=10)
    for n, (f, v, j) in enumerate(examples):
        gt = truth_hm[f, v, j]
        fig.add_trace(go.Image(z=images[f, v], visible=n == 0), row=1, col=1)
        gi = (gt + 0.5) * stride - 0.5                       # heatmap -> crop pixels
        fig.add_trace(go.Scatter(x=[gi[0]], y=[gi[1]], mode="markers", marker=cross,
                                 visible=n == 0, showlegend=False), row=1, col=1)
        for c, m in enumerate(maps, start=2):
            fig.add_trace(go.Heatmap(z=m[f, v, j], colorscale="Magma", showscale=False,
                                     visible=n == 0), row=1, col=c)
            fig.add_trace(go.Scatter(x=[gt[0]], y=[gt[1]], mode="markers", marker=cross,
                                     visible=n == 0, showlegend=False), row=1, col=c)
    per = 2 * n_panels
    steps = []
    for n, label in enumerate(labels):
        shown = [False] * (per * len(examples))
        shown[n * per:(n + 1) * per] = [True] * per
        steps.append(dict(method="update", label=str(n + 1),
                          args=[{"visible": shown}, {"title.text": label}]))
    fig.update_layout(sliders=[dict(steps=steps, currentvalue=dict(prefix="example "),
                                    pad=dict(t=30))],
                      title=labels[0] if len(labels) else "", height=420,
                      margin=dict(l=10, r=10, t=70, b=10))
    H, W = np.asarray(maps[0]).shape[-2:]
    for c in range(2, n_panels + 1):
        fig.update_xaxes(range=[-0.5, W - 0.5], constrain="domain", row=1, col=c)
        fig.update_yaxes(range=[H - 0.5, -0.5], scaleanchor=f"x{c}", constrain="domain",
                         row=1, col=c)
    return fig
