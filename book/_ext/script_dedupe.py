"""Sphinx extension: write each of a page's scripts once.

Sphinx 7.4 keeps an inline script that an extension adds after the builder started
(sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's selector) twice,
once with the file name ``None`` and once with ``''``, so the page declares the same
``const`` twice and the browser stops on a SyntaxError. This extension drops the
second copy of every script, comparing file name and attributes.
"""

from __future__ import annotations


def _key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return filename, tuple(sorted((k, str(v)) for k, v in attributes.items()))


def unique_scripts(scripts: list) -> list:
    """The scripts in their order, each (file name, attributes) kept once."""
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def _on_page(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is not None:
        # in place: the list is the builder's own, which later handlers may extend
        scripts[:] = unique_scripts(scripts)


def setup(app):
    # late, after every other extension has added its scripts to the page
    app.connect("html-page-context", _on_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
