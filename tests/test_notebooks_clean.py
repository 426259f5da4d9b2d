"""The book's notebooks are stored without outputs, with a Python 3 kernel, and are listed
in the table of contents."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def test_there_are_chapters():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [], f"{path.name}: a cell has stored outputs"
            assert cell.get("execution_count") is None, f"{path.name}: stored execution count"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_the_table_of_contents(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"file: {path.relative_to(ROOT).with_suffix('').as_posix()}" in toc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_chapter_states_claims_as_asserts(path):
    nb = json.loads(path.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "assert " in code, f"{path.name} checks none of its claims"


def _install_cell(path):
    nb = json.loads(path.read_text())
    return next(c for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_cell_installs_crossview_where_it_is_missing(path, monkeypatch):
    """On Colab the chapter's first cell clones the book's repository and installs the
    library; it is removed from the HTML and does nothing where crossview is installed."""
    import importlib.util

    import yaml
    from IPython.core.inputtransformer2 import TransformerManager

    cell = _install_cell(path)
    assert "remove-cell" in cell["metadata"].get("tags", [])
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    code = TransformerManager().transform_cell("".join(cell["source"]))
    calls = []

    class Shell:
        def system(self, cmd):
            calls.append(("system", cmd))

        def run_line_magic(self, name, line, *_):
            calls.append((name, line))

    namespace = {"get_ipython": Shell}
    exec(code, namespace)                                    # crossview is installed here
    assert calls == []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    exec(code, {"get_ipython": Shell})
    assert calls[0] == ("system", f"git clone -q --depth 1 {url} /content/crossview")
    assert calls[1] == ("pip", "install -q -e /content/crossview")
