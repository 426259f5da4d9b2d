"""Where the library finds the small files it ships in ``data/``."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's ``data/`` folder (override with the ``CROSSVIEW_DATA`` variable).
DATA_DIR = Path(os.environ.get("CROSSVIEW_DATA", Path(__file__).resolve().parent.parent / "data"))
