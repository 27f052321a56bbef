"""`gradcheck trace`: the graph as a table, one node per line in evaluation order (one block per node
where the table does not fit the console)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.text import Text

from ..teach.summary import summary
from .escape import visible
from .layout import Grid, literal, paragraph
from .table import console_width, emit

if TYPE_CHECKING:
    from ..teach.trace import Trace

# Forward values in green, gradients in red, as in the graph's drawing (terminal color names).
VALUE_COLOR, GRADIENT_COLOR = "green", "red"
# Inputs are named by their text in the local-gradient column when it is this short, else by key.
SHORT_NAME = 12
LOCALS_HEADING = "local ∂node/∂input → sent"
NOTE = ("For each input (the last column, or the → lines): the node's local gradient ∂node/∂input → what it "
        "sends into that input, ∂f/∂node × local; an input used by several nodes adds what it receives (its ∂f/∂node is the sum).")


def trace_lines(result: Trace, width: int) -> list[Text]:
    """The table of nodes, or where it is wider than width, one block per node."""
    names = {n.key: (n.text if len(n.text) <= SHORT_NAME else n.key) for n in result.nodes}
    rows: list[list] = []
    sends: list[list[str]] = []  # per node, what it sends into each input
    for n in result.nodes:
        locals_ = []
        for source, local, sent in zip(n.inputs, n.local, n.sent):
            if sent is None:
                continue
            head = f"∂/∂{names[source]} = {summary(local)} → " if local is not None else f"→ {names[source]}: "
            locals_.append(head + summary(sent))
        rows.append([n.key, literal(n.text), literal(n.op), Text(summary(n.value), style=VALUE_COLOR),
                     Text(summary(n.gradient), style=GRADIENT_COLOR), Text("\n".join(visible(x) for x in locals_))])
        sends.append(locals_)
    grid = Grid(["", "node", "op", "value", "∂f/∂node", LOCALS_HEADING], rows, right=frozenset({0, 3, 4}))
    if grid.width <= width:
        return grid.lines()
    out = []
    for n, row, locals_ in zip(result.nodes, rows, sends):
        title = paragraph(f"{n.key}  {n.text}" + (f"  ({n.op})" if n.op != n.text else ""), width,
                          hanging="    ", style="bold")
        out.extend(title)
        out.append(Text("    value ") + row[3])
        out.append(Text("    ∂f/∂node ") + row[4])
        for local in locals_:
            if local:
                out.extend(paragraph(local, width, indent="    ", hanging="      "))
    return out


def render_trace(result: Trace, out: Console, show: bool = False) -> None:
    width = console_width(out)
    emit(out, paragraph(f"f = {result.expr} = {result.value:.10g}", width, hanging="    ", style="bold"))
    emit(out, paragraph(f"read as {result.reading}", width, hanging="    ", style="dim"))
    for sentence in result.slips:
        emit(out, paragraph(f"note: {sentence}", width, indent="  ", style="yellow"))
    emit(out, trace_lines(result, width))
    emit(out, paragraph(NOTE, width, hanging="", style="dim"))
    if show:
        for n in result.nodes:
            if np.ndim(n.value):
                out.print(literal(f"{n.key} {n.text}", style="bold"))
                for label, value in (("value", n.value), ("∂f/∂node", n.gradient)):
                    if value is None:
                        continue
                    body = np.array2string(np.asarray(value), max_line_width=width - 4)
                    emit(out, [Text(f"  {label}:")] + [Text("    " + line) for line in body.split("\n")])
