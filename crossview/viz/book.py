"""Plotly output that works both in Jupyter and in the static HTML book.

Plotly's default output in a notebook is the ``application/vnd.plotly.v1+json``
mime type, which JupyterLab draws but Sphinx (myst-nb) cannot. The renderer
registered here emits that mime type *and* a small ``text/html`` fallback that
calls ``Plotly.newPlot``; the book loads ``plotly.min.js`` once per page from its
own static files (see ``book/_ext/plotly_offline.py``), so figures need no network.
"""

from __future__ import annotations

import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer

RENDERER = "crossview_book"


class _BookRenderer(MimetypeRenderer):
    def __init__(self, config=None):
        self.config = dict(config or {})

    def to_mimebundle(self, fig_dict):
        config = {"displaylogo": False, "responsive": True, **self.config}
        # auto_play=False: a figure with frames waits for the reader instead of
        # animating on page load
        html = pio.to_html(fig_dict, include_plotlyjs=False, full_html=False, config=config,
                           auto_play=False, validate=False)
        return {
            "application/vnd.plotly.v1+json": {"data": fig_dict.get("data", []),
                                               "layout": fig_dict.get("layout", {}),
                                               "config": config},
            "text/html": html,
        }


def use_book_renderer() -> str:
    """Make plotly figures display in both JupyterLab and the built HTML book.

    Call once at the top of a chapter; returns the renderer's name.
    """
    if RENDERER not in pio.renderers:
        pio.renderers[RENDERER] = _BookRenderer()
    pio.renderers.default = RENDERER
    return RENDERER
