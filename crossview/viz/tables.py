"""One table helper for the whole book: an HTML table that Jupyter and the built book
both draw, with captions, number formatting, bold best values and row blocks."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

_CELL = "padding:2px 6px;"


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value,
                                                                                     bool)


class Table:
    """An HTML table for notebooks (``_repr_html_``), also readable as plain text (``str``)."""

    def __init__(self, html_text: str, text: str):
        self._html, self._text = html_text, text

    def _repr_html_(self) -> str:
        return self._html

    def __str__(self) -> str:
        return self._text

    __repr__ = __str__


def table(header: Sequence[str], rows: Sequence[Sequence], caption: str = "",
          fmt: str = "{:.1f}", best: str | None = None, block: int = 1) -> Table:
    """A table of ``rows`` under ``header``, with ``caption`` above it.

    Numbers are written with ``fmt`` (``"{:.1f}"``; integers as they are) and aligned
    right, text aligned left. Rows come in blocks of ``block``: with ``block > 1`` the
    first cell of a block's rows is its title, shown once on a row of its own (and
    ``header[0]`` is dropped). ``best`` (``"max"`` or ``"min"``) puts the best number of
    each column of a block in bold. Wide tables scroll sideways on a narrow page.
    """
    if best not in (None, "max", "min"):
        raise ValueError(f"best must be None, 'max' or 'min', got {best!r}")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block!r}")
    header = list(header)[1:] if block > 1 else list(header)

    def text_of(v) -> str:
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return str(int(v))
        return fmt.format(v) if _is_number(v) else str(v)

    body, lines = [], [" | ".join(header)]
    for lo in range(0, len(rows), block):
        part = [list(r)[1:] for r in rows[lo:lo + block]] if block > 1 else \
            [list(r) for r in rows[lo:lo + block]]
        if block > 1:
            body.append(f'<tr style="border-top:1px solid #999"><th colspan="{len(header)}" '
                        f'style="{_CELL} text-align:left">{html.escape(str(rows[lo][0]))}'
                        "</th></tr>")
            lines.append(str(rows[lo][0]))
        bold = set()
        for c in range(len(header)):
            values = [r[c] for r in part if c < len(r)]
            if best and len(part) > 1 and values and all(_is_number(v) for v in values):
                pick = np.argmax(values) if best == "max" else np.argmin(values)
                bold.add((int(pick), c))
        for i, r in enumerate(part):
            cells = []
            for c, v in enumerate(r):
                t = html.escape(text_of(v))
                t = f"<b>{t}</b>" if (i, c) in bold else t
                align = "right" if _is_number(v) else "left"
                cells.append(f'<td style="{_CELL} text-align:{align}">{t}</td>')
            body.append("<tr>" + "".join(cells) + "</tr>")
            lines.append(" | ".join(text_of(v) for v in r))
    head = "".join(f'<th style="{_CELL}">{html.escape(str(h))}</th>' for h in header)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    html_text = (f'<div style="overflow-x:auto"><table style="font-size:0.85em">{cap}'
                 f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")
    return Table(html_text, (caption + "\n" if caption else "") + "\n".join(lines))


__all__ = ["Table", "table"]
