"""Laying text out in a given width: aligned columns that are measured before they are drawn, and
paragraphs wrapped at word boundaries. A renderer asks whether a layout fits and picks another one
if not, so nothing is ever cut with an ellipsis (rich's tables shrink and truncate instead).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.text import Text

from .escape import visible

GAP = 2  # spaces between two columns


def literal(text: object, style: str = "") -> Text:
    """User text as it is: never read as rich markup, control characters made visible."""
    return Text(visible(text), style=style)


@dataclass
class Grid:
    """Rows of cells in aligned columns; a cell is a Text (possibly of several lines) or a str (literal)."""

    header: list
    rows: list
    right: frozenset = frozenset()  # indexes of the right-justified columns
    indent: int = 0

    def _cells(self):
        return [[_lines(c) for c in row] for row in [self.header, *self.rows]]

    def widths(self) -> list[int]:
        cells = self._cells()
        return [max((line.cell_len for row in cells for line in row[i]), default=0) for i in range(len(self.header))]

    @property
    def width(self) -> int:
        widths = self.widths()
        return self.indent + sum(widths) + GAP * (len(widths) - 1)

    def lines(self, header_style: str = "bold") -> list[Text]:
        widths = self.widths()
        out = []
        for number, row in enumerate(self._cells()):
            height = max(len(c) for c in row)
            if number == 0:  # headings sit on the bottom line of a header of several lines
                row = [[Text("")] * (height - len(c)) + c for c in row]
            for k in range(height):
                line = Text(" " * self.indent)
                for i, cell in enumerate(row):
                    part = cell[k] if k < len(cell) else Text("")
                    pad = " " * (widths[i] - part.cell_len)
                    if number == 0 and header_style:
                        part = part.copy()
                        part.stylize(header_style)
                    line.append_text(Text(pad) + part if i in self.right else part + Text(pad))
                    if i < len(row) - 1:
                        line.append(" " * GAP)
                line.rstrip()
                out.append(line)
        return out


def _lines(cell) -> list[Text]:
    if cell is None:
        return [Text("")]
    if isinstance(cell, str):
        cell = literal(cell)
    return list(cell.split("\n")) if "\n" in cell.plain else [cell]


def paragraph(text: str, width: int, indent: str = "", hanging: str | None = None, style: str = "") -> list[Text]:
    """text wrapped at word boundaries into width (a word longer than a line keeps its own line whole)."""
    hanging = indent + "  " if hanging is None else hanging
    wrapped = textwrap.wrap(visible(text), width=max(width, len(indent) + 10), initial_indent=indent,
                            subsequent_indent=hanging, break_long_words=False, break_on_hyphens=False)
    return [Text(line, style=style) for line in wrapped or [indent]]


def pack(items: list[str], width: int, separator: str = ", ", indent: str = "", hanging: str = "    ",
         style: str = "") -> list[Text]:
    """items joined by separator, a new line started only between two items."""
    lines, current, placed = [], indent, False
    for i, item in enumerate(items):
        piece = visible(item) + (separator.rstrip() if i < len(items) - 1 else "")
        gap = " " * (len(separator) - len(separator.rstrip())) if placed else ""
        if placed and len(current) + len(gap) + len(piece) > width:
            lines.append(current.rstrip())
            current, gap = hanging, ""
        current += gap + piece
        placed = True
    lines.append(current.rstrip())
    return [Text(line, style=style) for line in lines]
