"""Helpers for tests/test_book_html.py: build or reuse the HTML book, serve it on
127.0.0.1, and visit its pages in headless Chromium as a reader without a network.

Chromium is Debian's package (``/usr/bin/chromium``; ``make chromium`` installs it)
driven by PyPI's ``playwright`` through ``executable_path``: no browser is ever
downloaded. Every request to a host other than this machine is aborted and logged, so
a page that needs the network shows up as broken here even where CI has one.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
EXTENSIONS = ROOT / "book" / "_ext"     # the book's Sphinx extensions
BUILD = ROOT / "_build"
HTML = BUILD / "html"
ARTIFACTS = BUILD / "browser"           # screenshots and the report of the last run
STAMP = HTML / ".crossview-build-finished"   # written by book/_ext/build_stamp.py
CHROMIUM = Path(os.environ.get("CROSSVIEW_CHROMIUM", "/usr/bin/chromium"))
# The flags that keep Chromium from calling home: without the networking ones its
# background connections are refused by a closed network, many at a time.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# The same command as `make book`.
BUILD_COMMAND = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                 "-W", "-n", "--keep-going"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


# ----------------------------------------------------------------------------- building

def toc_pages(toc_text: str) -> list[str]:
    """The pages that ``_toc.yml`` lists (root first), as paths without suffix.

    Commented-out entries (planned chapters) are not listed.
    """
    pages = []
    for line in toc_text.splitlines():
        line = line.split("#", 1)[0]
        match = re.match(r"\s*(?:-\s*)?(?:root|file):\s*(\S+)", line)
        if match:
            pages.append(match.group(1).strip("'\""))
    return pages


def book_sources() -> list[Path]:
    """The files the HTML book is built from: configuration, bibliography, chapters, and
    what the chapters' outputs depend on (the library, data/, the pins: the files that
    key the execution cache, book/_ext/execution_key.py)."""
    if str(EXTENSIONS) not in sys.path:
        sys.path.insert(0, str(EXTENSIONS))
    from execution_key import key_files

    files = [ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "references.bib"]
    files += key_files(ROOT)
    for path in (ROOT / "book").rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if path.is_file() and not parts & {".ipynb_checkpoints", "__pycache__"}:
            files.append(path)
    return [f for f in files if f.exists()]


def stale_sources() -> list[Path]:
    """Sources newer than the last finished build (all of them when there is none)."""
    if not STAMP.exists():
        return book_sources()
    built = STAMP.stat().st_mtime
    return [f for f in book_sources() if f.stat().st_mtime > built]


def ensure_book_built() -> str:
    """Build the HTML book if it is missing or older than its sources.

    Returns what was done, for the test log. A build that finishes with warnings (which
    fail `make book`) still wrote every page, so its pages are tested and the warnings
    are reported with ``warnings.warn``; a build that stops before writing the pages
    raises ``RuntimeError`` with the end of its log.
    """
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # one build at a time in this checkout
        stale = stale_sources()
        if not stale:
            return "reused _build/html (newer than every source)"
        log = BUILD / "book-build.log"
        started = time.time()
        with open(log, "w") as out:
            proc = subprocess.run(BUILD_COMMAND, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        if not STAMP.exists() or STAMP.stat().st_mtime < started:   # it never finished
            raise RuntimeError(f"the book build failed ({' '.join(BUILD_COMMAND[1:])}); "
                               f"end of {log}:\n{tail}")
        if proc.returncode != 0:
            warnings.warn(f"the book build finished with problems (`make book` fails); "
                          f"the pages are tested anyway. End of {log}:\n{tail}", stacklevel=2)
        names = ", ".join(str(f.relative_to(ROOT)) for f in stale[:3])
        return f"built _build/html ({len(stale)} sources newer than the last build: {names}...)"


# ----------------------------------------------------------------------------- serving

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the test reports failed requests itself
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- visiting

@dataclass
class Visit:
    """What a reader's browser met on one page."""

    url: str
    shown: str = ""                                         # the URL shown after redirects
    blocked: list[str] = field(default_factory=list)        # external requests aborted
    script_errors: list[str] = field(default_factory=list)  # uncaught exceptions
    console_errors: list[str] = field(default_factory=list)  # not caused by a blocked request
    failed_local: list[str] = field(default_factory=list)   # local files missing or failing
    figures: list[dict] = field(default_factory=list)       # one entry per plotly figure
    math: dict = field(default_factory=dict)                # MathJax's work on the page

    def report(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"file", "data", "blob", "about"} or parts.hostname in LOCAL_HOSTS


# A JSON-safe, comparable snapshot of a figure's traces (typed arrays become lists).
_SNAPSHOT_JS = """gd => JSON.stringify(gd.data, (k, v) =>
    ArrayBuffer.isView(v) ? Array.from(v) : v)"""

_FIGURES_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(gd => {
    const full = gd._fullData || [];
    const gl = full.some(t => /3d|gl|mesh|cone|volume|surface|isosurface/.test(t.type));
    const canvases = [...gd.querySelectorAll('canvas')];
    const box = gd.getBoundingClientRect();
    const sliders = (gd.layout && gd.layout.sliders) || [];
    return {
        id: gd.id,
        initialised: gd.classList.contains('js-plotly-plot') && !!gd._fullLayout,
        traces: (gd.data || []).length,
        drawn_traces: full.length,
        types: [...new Set(full.map(t => t.type))],
        svg_layers: gd.querySelectorAll('svg.main-svg').length,
        needs_webgl: gl,
        webgl_canvases: canvases.filter(c => c.width > 0 && c.height > 0).length,
        width: Math.round(box.width), height: Math.round(box.height),
        sliders: sliders.map(s => ({
            active: s.active || 0,
            prefix: (s.currentvalue && s.currentvalue.prefix) || '',
            labels: (s.steps || []).map(st => String(st.label)),
            methods: [...new Set((s.steps || []).map(st => st.method))],
        })),
        title: (gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '',
    };
})"""

_MATH_JS = """async () => {
    const elements = [...document.querySelectorAll('.math')];
    if (!elements.length) return {elements: 0, typeset: 0, errors: 0, mathjax: null};
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise))
        return {elements: elements.length, typeset: 0, errors: 0, mathjax: null};
    await MathJax.startup.promise;
    const script = [...document.scripts].find(s => /mathjax/i.test(s.src));
    return {
        elements: elements.length,
        typeset: elements.filter(e => e.querySelector('mjx-container')).length,
        errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
        mathjax: script ? script.src : null,
    };
}"""


def redirect_target(url: str) -> str | None:
    """Where the page at ``url`` sends the browser with a ``<meta http-equiv="Refresh">``."""
    with urllib.request.urlopen(url) as response:
        html = response.read().decode(errors="replace")
    match = re.search(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', html, re.I)
    return urljoin(url, match.group(1)) if match else None


def visit(page, url: str, timeout_ms: int = 30_000) -> Visit:
    """Open ``url`` in ``page`` and wait until plotly and MathJax have drawn what they can.

    ``page`` must come from a context made by ``offline_context``.
    """
    result = Visit(url)
    page._crossview_visit = result        # the context's listeners write here
    page.goto(url, wait_until="load", timeout=timeout_ms)
    redirect = redirect_target(url)
    if redirect:    # the book's root page only sends the reader on to the preface
        page.wait_for_url(redirect, timeout=timeout_ms)
        page.wait_for_load_state("load")
    result.shown = page.url
    # plotly.js draws synchronously at load, except WebGL scenes; MathJax typesets after load
    with contextlib.suppress(Exception):
        page.wait_for_function(
            """() => [...document.querySelectorAll('.plotly-graph-div')]
                     .every(gd => gd._fullLayout && gd.querySelector('svg.main-svg'))""",
            timeout=timeout_ms)
    result.math = page.evaluate(_MATH_JS)
    result.figures = page.evaluate(_FIGURES_JS)
    page.wait_for_timeout(200)             # late console messages
    return result


def offline_context(browser, **kwargs):
    """A fresh browser context that aborts every non-local request, as without a network."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **kwargs)

    def route(route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            _current(route.request.frame.page).blocked.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", route)
    context.on("page", _listen)
    return context


def _current(page) -> Visit:
    visit = getattr(page, "_crossview_visit", None)
    return visit if visit is not None else Visit("(no page)")


def _listen(page) -> None:
    def on_console(message):
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        text = f"{message.text} ({where})"
        visit = _current(page)
        # every request to another host is aborted; the console reports each one
        caused_by_block = bool(where) and not is_local(where)
        if not caused_by_block:
            visit.console_errors.append(text)

    def on_response(response):
        if is_local(response.url) and response.status >= 400:
            _current(page).failed_local.append(f"{response.status} {response.url}")

    def on_failed(request):
        if is_local(request.url):
            _current(page).failed_local.append(f"{request.failure} {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: _current(page).script_errors.append(str(error)))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)


def wait_until_still(figure, timeout_s: float = 10.0) -> str:
    """Wait until a figure's data stops changing (a figure with frames may play them
    when the page opens); returns its last snapshot."""
    last = figure.evaluate(_SNAPSHOT_JS)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        figure.page.wait_for_timeout(400)
        now = figure.evaluate(_SNAPSHOT_JS)
        if now == last:
            break
        last = now
    return last


def move_slider(page, index: int, slider: int = 0) -> dict:
    """Click the rail of a figure's slider far from its active step, like a reader would.

    Returns the figure's data and picture before and after, and the active steps.
    """
    figure = page.locator(".plotly-graph-div").nth(index)
    figure.scroll_into_view_if_needed()
    before = {"data": wait_until_still(figure), "png": figure.screenshot(),
              "active": figure.evaluate(f"gd => gd._fullLayout.sliders[{slider}].active")}
    rail = figure.locator("g.slider-group").nth(slider).locator(".slider-rail-touch-rect")
    rail.evaluate("el => el.scrollIntoView({block: 'center'})")   # clear of the page header
    page.wait_for_timeout(200)
    box = rail.bounding_box()
    n_steps = figure.evaluate(f"gd => gd._fullLayout.sliders[{slider}].steps.length")
    target = 0.97 if before["active"] < n_steps / 2 else 0.03   # the far end of the rail
    page.mouse.click(box["x"] + target * box["width"], box["y"] + box["height"] / 2)
    # wait for the step to take effect (restyle is immediate; animate and WebGL take a while)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        if figure.evaluate(_SNAPSHOT_JS) != before["data"]:
            break
    wait_until_still(figure)
    page.wait_for_timeout(300)             # let WebGL scenes redraw
    after = {"data": figure.evaluate(_SNAPSHOT_JS), "png": figure.screenshot(),
             "active": figure.evaluate(f"gd => gd._fullLayout.sliders[{slider}].active")}
    return {"before": before, "after": after, "n_steps": n_steps}
