"""What the command line and the book print: plain-text tables, and JSON for ``--json``.

A base module (NumPy and the standard library only), so that the command line's entry
point (:mod:`crossview.cli`), its commands (:mod:`crossview.commands`) and the chapters
all import it without importing each other.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence

import numpy as np


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Give a command the ``--json`` option (machine-readable output, see :func:`emit_json`)."""
    parser.add_argument("--json", action="store_true",
                        help="print machine-readable JSON instead of a table")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit_json(result: dict) -> None:
    """Print ``result`` as indented JSON (NumPy values converted; NaN and infinities, which
    JSON has no numbers for, as null)."""
    print(json.dumps(_jsonable(result), indent=2))


def format_table(rows: Sequence[Sequence], header: Sequence[str], floatfmt: str = ".2f") -> str:
    """A plain-text table: numbers right-aligned, text left-aligned."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return format(float(v), floatfmt)
        return str(v)

    numeric = [all(isinstance(r[i], (int, float, np.number)) for r in rows) if rows else False
               for i in range(len(header))]
    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in body]) for i, h in enumerate(header)]

    def fmt(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [fmt([str(h) for h in header]), "  ".join("-" * w for w in widths)]
    out += [fmt(r) for r in body]
    return "\n".join(out)
