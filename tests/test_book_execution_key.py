"""`make book` executes the chapters again when the library, data/ or the pins change.

MyST-NB caches executed notebooks by their own cells; book/_ext/execution_key.py keys
that cache on a hash of crossview/**, data/**, requirements.txt and pyproject.toml, so a
change there makes the next build read and run every chapter (and no change reuses the
cache). Checked on the hash itself and on a tiny book built twice with Jupyter Book.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "book" / "_ext"
sys.path.insert(0, str(EXT))
import execution_key as ek  # noqa: E402


def _tree(root: Path) -> Path:
    """A checkout in miniature: the key's sources and a chapter."""
    (root / "crossview").mkdir(parents=True)
    (root / "crossview" / "psm.py").write_text("N_BINS = 16\n")
    (root / "data").mkdir()
    (root / "data" / "rig.json").write_text("{}\n")
    (root / "requirements.txt").write_text("numpy==2.4.1\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'crossview'\n")
    (root / "book").mkdir()
    (root / "book" / "01.ipynb").write_text("{}\n")
    return root


@pytest.mark.parametrize("change", [
    lambda r: (r / "crossview" / "psm.py").write_text("N_BINS = 32\n"),      # library edited
    lambda r: (r / "crossview" / "new.py").write_text(""),                    # module added
    lambda r: (r / "crossview" / "psm.py").rename(r / "crossview" / "grid.py"),
    lambda r: (r / "data" / "rig.json").write_text('{"views": 4}\n'),        # data changed
    lambda r: (r / "data" / "rig.json").unlink(),
    lambda r: (r / "requirements.txt").write_text("numpy==2.4.2\n"),         # a pin moved
    lambda r: (r / "pyproject.toml").write_text("[project]\nname = 'cv'\n"),
], ids=["edit", "add", "rename", "data", "delete", "pin", "pyproject"])
def test_the_key_changes_with_the_library_the_data_and_the_pins(tmp_path, change):
    root = _tree(tmp_path)
    before = ek.execution_key(root)
    change(root)
    assert ek.execution_key(root) != before


def test_the_key_ignores_bytecode_and_the_chapters(tmp_path):
    root = _tree(tmp_path)
    before = ek.execution_key(root)
    (root / "crossview" / "__pycache__").mkdir()
    (root / "crossview" / "__pycache__" / "psm.cpython-311.pyc").write_bytes(b"\0")
    (root / "book" / "01.ipynb").write_text('{"cells": []}\n')   # MyST-NB keys on cells itself
    (root / "README.md").write_text("words\n")
    assert ek.execution_key(root) == before
    assert re.fullmatch("[0-9a-f]{16}", before)


def test_the_script_prints_the_key_of_the_checkout():
    out = subprocess.run([sys.executable, str(EXT / "execution_key.py")], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == ek.execution_key(ROOT)


def test_only_the_current_key_keeps_a_cache_folder(tmp_path):
    base = tmp_path / ".jupyter_cache"
    old, other = base / "0123456789abcdef", base / "notes"
    old.mkdir(parents=True)
    other.mkdir()
    path = ek.keyed_cache_path(base, "fedcba9876543210")
    assert path == base / "fedcba9876543210"
    assert not old.exists() and other.exists()           # only folders named like keys


def test_the_book_loads_the_extension():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["execution_key"] == "book/_ext"
    assert config["execute"]["execute_notebooks"] == "cache"


def _notebook(source: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": "c1",
                                  "metadata": {}, "outputs": [], "source": source}],
                       "metadata": {"kernelspec": {"display_name": "Python 3",
                                                   "language": "python", "name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.slow
def test_a_build_runs_the_chapters_again_after_a_library_change(tmp_path):
    book = tmp_path / "book"
    (book / "crossview").mkdir(parents=True)
    (book / "_config.yml").write_text(
        "title: t\nonly_build_toc_files: true\n"
        "execute:\n  execute_notebooks: cache\n  timeout: 120\n"
        f"sphinx:\n  local_extensions:\n    execution_key: {EXT}\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    # the chapter prints what the library says and a random number, which tells a run
    # from a cached output
    (book / "index.ipynb").write_text(_notebook(
        "import pathlib, random\n"
        "print('library says', pathlib.Path('crossview/value.txt').read_text().strip(), "
        "'run', random.random())"))
    jb = Path(sys.executable).parent / "jupyter-book"

    def build() -> tuple[str, str]:
        proc = subprocess.run([str(jb), "build", str(book), "-W", "-n", "--keep-going"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        html = (book / "_build" / "html" / "index.html").read_text()
        return re.search(r"library says (\w+) run ([0-9.]+)", html).groups()

    (book / "crossview" / "value.txt").write_text("first\n")
    said, run = build()
    assert said == "first"
    assert build() == (said, run)                          # nothing changed: cached
    (book / "crossview" / "value.txt").write_text("second\n")
    said, run_again = build()
    assert said == "second" and run_again != run           # executed with the new library
    assert [p.name for p in (book / "_build" / ".jupyter_cache").iterdir()] == \
        [ek.execution_key(book)]


def test_the_browser_test_rebuilds_the_book_after_a_library_change():
    import book_browser as bb

    sources = bb.book_sources()
    for f in ek.key_files(ROOT):
        assert f in sources
    assert ROOT / "crossview" / "psm.py" in sources and ROOT / "requirements.txt" in sources
