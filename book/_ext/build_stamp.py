"""Sphinx extension: leave a stamp in the HTML folder when a build has finished.

Sphinx rewrites only the pages whose sources changed, so no file of ``_build/html``
tells when the book was last built. ``tests/test_book_html.py`` compares this stamp
with the book's sources to decide whether to rebuild the book or reuse it.
"""

from __future__ import annotations

from pathlib import Path

STAMP = ".crossview-build-finished"


def _write_stamp(app, exception):
    if exception is None and app.builder.format == "html":
        (Path(app.outdir) / STAMP).write_text("the last HTML build of this book finished\n")


def setup(app):
    app.connect("build-finished", _write_stamp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
