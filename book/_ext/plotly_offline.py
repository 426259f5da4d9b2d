"""Sphinx extension: serve plotly.js from the book itself, once per page that needs it.

Figures rendered with ``crossview.viz.use_book_renderer`` call ``Plotly.newPlot`` and
expect ``window.Plotly``. This extension copies ``plotly.min.js`` from the installed
``plotly`` package into the build's ``_static`` folder and adds it to the pages that
contain a plotly figure, so the HTML book works without a network.

require.js, where a page has it (MyST-NB adds it to widget pages when
``nb_ipywidgets_js`` names it; this book's ``_config.yml`` does not), would make
plotly.js register itself as an AMD module instead of a global; the two inline scripts
around it hide ``define`` while plotly.js loads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import plotly

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _add_to_page(app, pagename, templatename, context, doctree):
    if "plotly-graph-div" not in context.get("body", ""):
        return
    hide = "window.__crossviewDefine = window.define; window.define = undefined;"
    app.add_js_file(None, body=hide, priority=90)
    app.add_js_file("plotly.min.js", priority=91)
    app.add_js_file(None, body="if (window.__crossviewDefine) { window.define = "
                               "window.__crossviewDefine; }", priority=92)


def _copy_plotly(app, exception):
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PLOTLY_JS, static / "plotly.min.js")


def setup(app):
    app.connect("html-page-context", _add_to_page)
    app.connect("build-finished", _copy_plotly)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
