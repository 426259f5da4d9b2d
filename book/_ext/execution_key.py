"""Sphinx extension: execute the chapters again when the library, the data or the pins change.

MyST-NB's execution cache (``execute_notebooks: cache``) is keyed on each notebook's own
code cells, and Sphinx reads again only the pages whose sources changed. A chapter's
outputs also depend on ``crossview/`` (the library it imports), ``data/`` (rigs,
weights) and the pinned packages, so after a change there a build kept outputs computed
by the old library.

This extension keys the execution cache on those files: the cache of a build is the
folder ``<cache>/<key>`` (``<cache>`` is ``execute: cache`` of ``_config.yml``, by default
``_build/.jupyter_cache``), where ``key`` hashes the names and contents of every file in
:data:`SOURCES`. A new key is a new ``nb_execution_cache_path``, which Sphinx sees as a
changed setting: it reads every page again, and MyST-NB finds an empty cache and runs
every chapter. Folders of older keys are removed. The publishing workflow caches
``_build/.jupyter_cache`` under a hash of the same files, so a restored cache holds the
folder of the current key.

``python book/_ext/execution_key.py [ROOT]`` prints the key of a checkout.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from pathlib import Path

#: What the chapters' outputs depend on besides their own cells (paths from the root).
SOURCES = ("crossview", "data", "requirements.txt", "pyproject.toml")
#: Folders and suffixes that running the code writes next to the sources.
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo")
KEY_LENGTH = 16
_KEY = re.compile(f"[0-9a-f]{{{KEY_LENGTH}}}")


def key_files(root: Path) -> list[Path]:
    """The files of :data:`SOURCES` under ``root``, sorted, without bytecode caches."""
    files = []
    for name in SOURCES:
        path = root / name
        candidates = [path] if path.is_file() else path.rglob("*")
        for f in candidates:
            rel = f.relative_to(root)
            if f.is_file() and not SKIP_DIRS & set(rel.parts) and f.suffix not in SKIP_SUFFIXES:
                files.append(f)
    return sorted(files, key=lambda f: f.relative_to(root).as_posix())


def execution_key(root: Path) -> str:
    """A hash (hex, :data:`KEY_LENGTH` characters) of the names and bytes of
    :func:`key_files`: it changes when any of those files is added, removed, renamed or
    edited."""
    digest = hashlib.sha256()
    for f in key_files(root):
        digest.update(f.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()[:KEY_LENGTH]


def keyed_cache_path(base: Path, key: str) -> Path:
    """The cache folder of ``key`` inside ``base``; removes the folders of other keys."""
    if base.is_dir():
        for old in base.iterdir():
            if old.is_dir() and _KEY.fullmatch(old.name) and old.name != key:
                shutil.rmtree(old, ignore_errors=True)
    return base / key


def _key_the_cache(app, config) -> None:
    root = Path(app.srcdir)
    base = config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    base = Path(base) if Path(base).is_absolute() else root / base
    config.nb_execution_cache_path = str(keyed_cache_path(base, execution_key(root)))


def setup(app):
    app.connect("config-inited", _key_the_cache)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print(execution_key(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
