"""The published book works in a real browser with no network.

The HTML book is built when ``_build/html`` is missing or older than its sources and
reused otherwise. Every page is opened twice in headless Chromium, from a local HTTP
server (``make serve``) and straight from the files (``file://``), with every request
to another host aborted. On each page: no script errors (blocked external requests are
logged in ``_build/browser/report.json``, not counted as errors), every plotly figure
drawn, all math typeset by the book's own MathJax; sliders of plotly figures change
the figure when a reader clicks them, and the PSM chapter's ``N`` slider changes the
plotted data. Screenshots go to ``_build/browser/`` (the whole PSM chapter in
``06_psm-full-page.png``).

Needs Debian's chromium (``make chromium``); ``make test`` installs it and runs this.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path

import book_browser as bb
import pytest

sys.path.insert(0, str(bb.ROOT / "book" / "_ext"))
import script_dedupe
import widgets_offline

browser_test = pytest.mark.browser

TOC = (bb.ROOT / "_toc.yml").read_text()
CHAPTERS = bb.toc_pages(TOC)                         # e.g. book/index, book/01_cameras
PAGES = ["index", "genindex", "search", *CHAPTERS]   # every page the build writes
SCHEMES = ["http", "file"]
PSM = "book/06_psm"
PSM_LISTED = PSM in CHAPTERS


# ----------------------------------------------------------------------------- fixtures

class Reader:
    """A reader's browser on the built book; remembers each page it has visited."""

    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.contexts = {scheme: bb.offline_context(browser) for scheme in SCHEMES}
        self.visits: dict[tuple[str, str], bb.Visit] = {}

    def url(self, page: str, scheme: str = "http") -> str:
        if scheme == "file":
            return (bb.HTML / f"{page}.html").as_uri()
        return f"{self.base_url}{page}.html"

    def open(self, page: str, scheme: str = "http"):
        """A new tab showing ``page``, with its ``Visit``."""
        tab = self.contexts[scheme].new_page()
        return tab, bb.visit(tab, self.url(page, scheme))

    def visit(self, page: str, scheme: str) -> bb.Visit:
        if (page, scheme) not in self.visits:
            tab, result = self.open(page, scheme)
            tab.close()
            self.visits[page, scheme] = result
        return self.visits[page, scheme]


@pytest.fixture(scope="module")
def html_book() -> Path:
    try:
        print(bb.ensure_book_built())
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    return bb.HTML


@pytest.fixture(scope="module")
def reader(html_book):
    if not bb.CHROMIUM.exists():
        pytest.fail(f"{bb.CHROMIUM} is missing: install Debian's chromium with `make chromium`",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    bb.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with bb.serve(html_book) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(bb.CHROMIUM), headless=True,
                                             chromium_sandbox=False, args=bb.CHROMIUM_ARGS)
        reader = Reader(browser, base_url)
        yield reader
        report = {f"{scheme}:{page}": v.report() for (page, scheme), v in reader.visits.items()}
        (bb.ARTIFACTS / "report.json").write_text(json.dumps(report, indent=1))
        blocked = sorted({url for v in reader.visits.values() for url in v.blocked})
        if blocked:   # not errors (the pages work without them), but worth knowing
            warnings.warn(f"external requests blocked: {blocked}", stacklevel=1)
        browser.close()


def static_count(visit: bb.Visit, pattern: str) -> int:
    """How often ``pattern`` occurs in the HTML file of the page that ``visit`` showed."""
    shown = visit.shown.split("?")[0].split("#")[0]
    name = shown.rsplit("/html/", 1)[-1] if shown.startswith("file:") else \
        "/".join(shown.split("/")[3:])
    return len(re.findall(pattern, (bb.HTML / name).read_text()))


# ----------------------------------------------------------------------------- the pages

@browser_test
def test_the_root_page_leads_to_the_preface(reader):
    for scheme in SCHEMES:
        assert reader.visit("index", scheme).shown.endswith("/book/index.html")


@browser_test
def test_the_pages_opened_are_the_pages_built(html_book):
    built = {str(p.relative_to(html_book).with_suffix("")) for p in html_book.rglob("*.html")
             if not {"_static", "_sources", "_images"} & set(p.relative_to(html_book).parts)}
    assert set(PAGES) <= built, f"pages not built: {set(PAGES) - built}"
    if built - set(PAGES):    # Sphinx leaves the pages of removed chapters behind
        warnings.warn(f"_build/html has pages of chapters no longer listed: "
                      f"{sorted(built - set(PAGES))} (`make clean` removes them)", stacklevel=1)


@browser_test
def test_pages_load_scripts_and_styles_from_the_book(html_book):
    remote = re.compile(r'\s(?:src|href)="(?:https?:)?//')
    for page in PAGES:
        html = (html_book / f"{page}.html").read_text()
        tags = re.findall(r"<script\b[^>]*>|<link\b[^>]*>", html)
        # links to other sites (the repository, Binder) are fine; loading from them is not
        loads = [t for t in tags if remote.search(t) and (
            t.startswith("<script") or re.search(r'rel="(?:stylesheet|preload|icon)', t))]
        assert not loads, f"{page}: loads from the network: {loads}"
    assert (html_book / "_static" / "plotly.min.js").stat().st_size > 1_000_000
    assert (html_book / "_static" / "mathjax" / "tex-chtml.js").exists()


def _notebook_chapters() -> list[str]:
    return [p for p in CHAPTERS if (bb.ROOT / f"{p}.ipynb").exists()]


@browser_test
@pytest.mark.parametrize("page", _notebook_chapters())
def test_chapters_have_launch_and_repository_buttons(html_book, page):
    import yaml

    repo = yaml.safe_load((bb.ROOT / "_config.yml").read_text())["repository"]
    owner_name = repo["url"].removeprefix("https://github.com/").strip("/")
    html = (html_book / f"{page}.html").read_text()
    assert f'href="{repo["url"]}"' in html                                  # repository
    assert (f"https://mybinder.org/v2/gh/{owner_name}/{repo['branch']}"
            f"?urlpath=lab/tree/{page}.ipynb") in html                      # Binder
    assert (f"https://colab.research.google.com/github/{owner_name}/blob/{repo['branch']}"
            f"/{page}.ipynb") in html                                        # Colab


@browser_test
@pytest.mark.parametrize("page", _notebook_chapters())
def test_figure_captions_are_shown(html_book, page):
    cells = json.loads((bb.ROOT / f"{page}.ipynb").read_text())["cells"]
    named = [c["metadata"]["mystnb"]["figure"]["name"] for c in cells
             if c["metadata"].get("mystnb", {}).get("figure", {}).get("caption")]
    html = (html_book / f"{page}.html").read_text()
    for name in named:
        figure = re.search(rf'<figure[^>]*id="{re.escape(name)}".*?</figure>', html, re.S)
        assert figure and "<figcaption" in figure.group(0), f"{page}: no caption for {name}"


@browser_test
def test_every_widget_output_says_where_it_runs(html_book):
    for page in PAGES:
        html = (html_book / f"{page}.html").read_text()
        views = html.count('type="application/vnd.jupyter.widget-view+json"')
        assert html.count("crossview-widget-note") == views, page


@browser_test
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("page", PAGES)
def test_no_script_errors(reader, page, scheme):
    visit = reader.visit(page, scheme)
    print(f"{visit.url}: blocked {len(visit.blocked)} external requests {visit.blocked}")
    assert visit.script_errors == []
    assert visit.console_errors == []
    assert visit.failed_local == []


@browser_test
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("page", PAGES)
def test_every_plotly_figure_is_drawn(reader, page, scheme):
    visit = reader.visit(page, scheme)
    figures = visit.figures
    print(f"{page}: {len(figures)} figures",
          [(f["types"], f["width"], f["height"]) for f in figures])
    assert len(figures) == static_count(visit, r'class="plotly-graph-div"')
    for f in figures:
        assert f["initialised"], f"{page}: figure {f['id']} was not drawn"
        assert f["traces"] > 0 and f["drawn_traces"] == f["traces"], f
        assert f["svg_layers"] >= 1 and f["width"] > 100 and f["height"] > 100, f
        if f["needs_webgl"]:
            assert f["webgl_canvases"] >= 1, f"{page}: 3D figure {f['id']} has no WebGL canvas"


@browser_test
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(reader, page, scheme):
    visit = reader.visit(page, scheme)
    math = visit.math
    print(f"{page}: {math}")
    assert math["elements"] == static_count(visit, r'class="math[ "]')
    if math["elements"]:
        assert math["typeset"] == math["elements"]
        assert math["errors"] == 0
        assert bb.is_local(math["mathjax"]) and "_static/mathjax/" in math["mathjax"]


# ----------------------------------------------------------------------------- interaction

def _slider_figures(visit: bb.Visit) -> list[int]:
    return [i for i, f in enumerate(visit.figures) if f["sliders"]]


def _slider_pages() -> list[str]:
    """Chapters whose HTML has a plotly figure with a slider (known once the book is built)."""
    return [p for p in CHAPTERS if (bb.HTML / f"{p}.html").exists()
            and '"sliders"' in (bb.HTML / f"{p}.html").read_text()]


@browser_test
def test_sliders_change_their_figure(reader):
    pages = _slider_pages()
    assert pages, "the book has no plotly figure with a slider"
    for page in pages:
        tab, visit = reader.open(page)
        for index in _slider_figures(visit):
            for slider in range(len(visit.figures[index]["sliders"])):
                moved = bb.move_slider(tab, index, slider)
                before, after = moved["before"], moved["after"]
                name = f"{Path(page).name}-figure{index}-slider{slider}.png"
                (bb.ARTIFACTS / name).write_bytes(after["png"])
                where = f"{page}, figure {index}, slider {slider}"
                print(f"{where}: step {before['active']} -> {after['active']} "
                      f"of {moved['n_steps']}")
                assert after["active"] != before["active"], f"{where}: the slider did not move"
                assert after["png"] != before["png"], f"{where}: the figure looks the same"
        tab.close()


def find_n_slider(figures: list[dict]) -> tuple[int, int] | None:
    """(figure, slider) of the slider that runs over the grid size ``N``, or None.

    A slider counts when its prefix, its step labels or its figure's title name ``N``
    (as in ``N = 16`` or ``N=16``); a page with a single slider needs no name.
    """
    named = re.compile(r"(^|[^A-Za-z])N\s*[=:]|(^|[^A-Za-z])N($|[^A-Za-z])")
    sliders = [(i, k) for i, f in enumerate(figures) for k in range(len(f["sliders"]))]
    for i, k in sliders:
        s = figures[i]["sliders"][k]
        if any(named.search(t) for t in [s["prefix"], *s["labels"]]):
            return i, k
    for i, k in sliders:
        if named.search(str(figures[i]["title"])) and len(figures[i]["sliders"]) == 1:
            return i, k
    return sliders[0] if len(sliders) == 1 else None


@browser_test
def test_psm_chapter_n_slider_changes_the_plotted_data(reader):
    if not PSM_LISTED:
        # Not a skip: the check starts to run (and must pass) once the chapter is listed.
        warnings.warn(f"{PSM} is not in _toc.yml yet: its N slider was not checked",
                      stacklevel=1)
        return
    tab, visit = reader.open(PSM)
    found = find_n_slider(visit.figures)
    assert found is not None, f"{PSM}: no plotly figure with a slider over N " \
        f"(figures: {[(f['title'], f['sliders']) for f in visit.figures]})"
    index, slider = found
    bb.wait_until_still(tab.locator(".plotly-graph-div").nth(index))
    tab.screenshot(path=str(bb.ARTIFACTS / "06_psm-full-page.png"), full_page=True)
    moved = bb.move_slider(tab, index, slider)
    before, after = moved["before"], moved["after"]
    labels = visit.figures[index]["sliders"][slider]["labels"]
    print(f"{PSM}: N slider {labels}: step {before['active']} -> {after['active']}")
    (bb.ARTIFACTS / "06_psm-n-slider-before.png").write_bytes(before["png"])
    (bb.ARTIFACTS / "06_psm-n-slider-after.png").write_bytes(after["png"])
    tab.close()
    assert after["active"] != before["active"], "the N slider did not move"
    assert after["data"] != before["data"], "moving the N slider left the plotted data unchanged"
    assert after["png"] != before["png"], "moving the N slider left the picture unchanged"


@browser_test
def test_screenshots_of_the_chapters(reader):
    """A picture of the top of every chapter, for a person to look at."""
    for page in CHAPTERS:
        tab, _ = reader.open(page)
        path = bb.ARTIFACTS / f"{Path(page).name}.png"
        tab.screenshot(path=str(path))
        tab.close()
        assert path.stat().st_size > 10_000


# ----------------------------------------------------------------------------- the machinery

def test_binder_environment_installs_the_pinned_requirements_and_the_library():
    import yaml

    env = yaml.safe_load((bb.ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = [line.split("#")[0].strip() for line in
            (bb.ROOT / "requirements.txt").read_text().splitlines()]
    pins = [p for p in pins if p]
    assert [p for p in pip if "==" in p] == pins
    assert pip[-1] == "-e ."                       # the library, in editable mode
    assert "python=3.11" in env["dependencies"]


def test_toc_pages_skip_planned_chapters():
    toc = "root: book/index\nchapters:\n  - file: book/01_a\n  # - file: book/02_b\n" \
          "  - file: book/03_c  # a note\n"
    assert bb.toc_pages(toc) == ["book/index", "book/01_a", "book/03_c"]


def test_sources_newer_than_the_last_build_are_stale(tmp_path, monkeypatch):
    stamp = tmp_path / "stamp"
    monkeypatch.setattr(bb, "STAMP", stamp)
    sources = bb.book_sources()
    assert bb.stale_sources() == sources                      # never built
    stamp.write_text("")
    newest = max(sources, key=lambda f: f.stat().st_mtime)
    t = newest.stat().st_mtime
    os.utime(stamp, (t + 10, t + 10))
    assert bb.stale_sources() == []                           # built after every change
    os.utime(stamp, (t - 1e-3, t - 1e-3))
    assert newest in bb.stale_sources()                       # one source changed since


def test_external_requests_are_told_apart_from_local_ones():
    assert bb.is_local("http://127.0.0.1:8000/book/index.html")
    assert bb.is_local("file:///work/_build/html/index.html")
    assert bb.is_local("data:image/png;base64,AAAA")
    assert not bb.is_local("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js")


def test_find_n_slider_prefers_a_slider_named_n():
    def fig(prefix, labels, title=""):
        return {"sliders": [{"prefix": prefix, "labels": labels}] if labels else [],
                "title": title}
    frames = fig("frame ", ["0", "2"])
    grid = fig("N = ", ["4", "8", "16"])
    assert find_n_slider([fig("", []), frames, grid]) == (2, 0)
    assert find_n_slider([fig("", []), fig("grid ", ["N=4", "N=8"])]) == (1, 0)
    assert find_n_slider([frames]) == (0, 0)                  # the only slider on the page
    assert find_n_slider([frames, fig("depth ", ["1", "2"])]) is None
    two = {"sliders": [{"prefix": "depth ", "labels": ["1", "2"]},
                       {"prefix": "N = ", "labels": ["4", "8"]}], "title": ""}
    assert find_n_slider([frames, two]) == (1, 1)             # the second slider of a figure
    titled = fig("", ["4", "8", "16"], title="error against N")
    assert find_n_slider([frames, titled]) == (1, 0)


def test_widget_outputs_get_a_note():
    view = '<script type="application/vnd.jupyter.widget-view+json">{"model_id": "%s"}</script>'
    body = "<p>N</p>" + view % "a" + "<div>x</div>" + view % "b"
    noted, n = widgets_offline.add_widget_notes(body)
    assert n == 2
    assert noted == ("<p>N</p>" + view % "a" + widgets_offline.NOTE + "<div>x</div>"
                     + view % "b" + widgets_offline.NOTE)
    assert widgets_offline.add_widget_notes("<p>no widgets</p>") == ("<p>no widgets</p>", 0)


def test_a_script_added_twice_is_written_once():
    from sphinx.builders.html._assets import _JavaScript

    thebe = {"body": "const THEBE_JS_URL = 'x';"}
    scripts = [_JavaScript("_static/doctools.js"), _JavaScript(None, **thebe),
               _JavaScript("_static/sphinx-thebe.js", **{"async": "async"}),
               _JavaScript("", **thebe), _JavaScript("", body="let a = 1;")]
    kept = script_dedupe.unique_scripts(scripts)
    assert kept == [scripts[0], scripts[1], scripts[2], scripts[4]]
