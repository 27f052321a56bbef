"""The width output is laid out for, without rich (the CLI's error lines use it at start-up cost only).

On a terminal, the terminal's width; in a pipe or a file, COLUMNS when it is set, else PIPE_WIDTH.
"""

from __future__ import annotations

import os
import textwrap
from typing import TextIO

# Output to a pipe or a file, without COLUMNS: the width of a wide editor window or a CI log
# viewer; wide enough for the sigmoid neuron's table with a claim, its error columns folded.
PIPE_WIDTH = 100
# The narrowest console we lay out for; narrower ones get this width (and the terminal wraps).
MIN_WIDTH = 40


def _columns() -> int | None:
    """COLUMNS when it is set to a positive whole number."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def pipe_width() -> int:
    """COLUMNS when it is set to a number, else PIPE_WIDTH."""
    columns = _columns()
    return PIPE_WIDTH if columns is None else max(columns, MIN_WIDTH)


def stream_width(stream: TextIO) -> int:
    """The width to lay text out for on stream: COLUMNS when set, else the terminal's, else PIPE_WIDTH."""
    if _columns() is None:
        try:
            if stream.isatty():
                return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
        except (AttributeError, OSError, ValueError):  # a stream without a descriptor (a test's buffer)
            pass
    return pipe_width()


def wrapped(text: str, width: int, first: str = "", hanging: str = "  ") -> str:
    """text (lines kept) wrapped at word boundaries into width, the first line led by `first` and the
    lines it continues on indented by `hanging`; a word longer than a line keeps its own line whole."""
    lines: list[str] = []
    for number, line in enumerate(text.split("\n")):
        lead = first if number == 0 else hanging
        lines += textwrap.wrap(line, width=max(width, len(lead) + 10), initial_indent=lead, subsequent_indent=hanging,
                               break_long_words=False, break_on_hyphens=False) or [lead.rstrip()]
    return "\n".join(lines)
