"""Where a piece of text came from, so errors can point at the exact column."""

from __future__ import annotations

from dataclasses import dataclass

# Longest excerpt shown under an error; a megabyte-long input is cut around the column.
EXCERPT_WIDTH = 72


@dataclass(frozen=True)
class Source:
    """One piece of user text: the expression, a --let body, a --grad claim."""

    text: str
    origin: str  # how the user knows it: "the expression", "--let z", "--grad w0"


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of a Source."""

    source: Source
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def where(self) -> str:
        return f"{self.source.origin}, column {self.start + 1}"

    def caret(self) -> str:
        """Two lines: the text (cut to EXCERPT_WIDTH around the span) and ^^^ under the span."""
        text = self.source.text
        left = max(0, min(self.start - EXCERPT_WIDTH // 3, len(text) - EXCERPT_WIDTH))
        shown = text[left : left + EXCERPT_WIDTH]
        prefix = "…" if left > 0 else ""
        suffix = "…" if left + EXCERPT_WIDTH < len(text) else ""
        width = max(1, min(self.end, left + EXCERPT_WIDTH) - self.start)
        pad = " " * (len(prefix) + self.start - left)
        printable = "".join(c if c.isprintable() else "?" for c in shown)
        return f"  {prefix}{printable}{suffix}\n  {pad}{'^' * width}"
