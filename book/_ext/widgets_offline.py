"""Sphinx extension: say what an ipywidgets control is, where the static book cannot run it.

An ipywidgets control (a slider over the grid size ``N``, say) calls back into a Python
kernel; a static HTML page has none, so the book does not load require.js and the
widget manager from CDNs (``nb_ipywidgets_js: {}`` in ``_config.yml``). MyST-NB still
writes each widget output as an inert ``<script type="...widget-view+json">`` tag,
which would show nothing. This extension puts a short note after each such tag that
tells the reader how to get the live control. Chapters keep what they need to show in
plotly figures with sliders over precomputed settings, which work without a kernel.
"""

from __future__ import annotations

import re

WIDGET_VIEW = re.compile(
    r'(<script type="application/vnd\.jupyter\.widget-view\+json">.*?</script>)', re.S)

NOTE = (
    '<div class="admonition note crossview-widget-note">'
    '<p class="admonition-title">Live control</p>'
    "<p>This output is an interactive control that needs a running Python kernel. "
    "Open the chapter in JupyterLab (<code>make lab</code>), or on Binder or Colab "
    "with the launch button at the top of the page, to use it.</p></div>"
)


def add_widget_notes(body: str) -> tuple[str, int]:
    """Put ``NOTE`` after every widget-view script tag of an HTML body.

    Returns the new body and the number of notes added.
    """
    return WIDGET_VIEW.subn(lambda m: m.group(1) + NOTE, body)


def _on_page(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and "widget-view+json" in body:
        context["body"], _ = add_widget_notes(body)


def setup(app):
    app.connect("html-page-context", _on_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
