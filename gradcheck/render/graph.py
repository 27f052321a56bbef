"""`gradcheck trace`: the graph as a table, one node per line in evaluation order."""

from __future__ import annotations

from typing import Literal

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..graph import GRADIENT_COLOR, VALUE_COLOR, Trace, summary
from .table import PIPE_WIDTH

# Inputs are named by their text in the local-gradient column when it is this short, else by key.
SHORT_NAME = 12


def render_trace(result: Trace, out: Console, show: bool = False) -> None:
    names = {n.key: (n.text if len(n.text) <= SHORT_NAME else n.key) for n in result.nodes}
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("", "right"), ("node", "left"), ("op", "left"), ("value", "right"), ("∂f/∂node", "right"),
        ("local gradients ∂node/∂input → sent = ∂f/∂node × local", "left"))
    for heading, justify in columns:
        table.add_column(heading, justify=justify, overflow="fold")
    for n in result.nodes:
        locals_ = []
        for source, local, sent in zip(n.inputs, n.local, n.sent):
            if sent is None:
                continue
            head = f"∂/∂{names[source]} = {summary(local)} → " if local is not None else f"→ {names[source]}: "
            locals_.append(head + summary(sent))
        table.add_row(n.key, n.text, n.op, Text(summary(n.value), style=VALUE_COLOR),
                      Text(summary(n.gradient), style=GRADIENT_COLOR), "\n".join(locals_))
    out.print(Text(f"f = {result.expr} = {result.value:.10g}", style="bold"))
    out.print(table)
    out.print(Text("Each node sends ∂f/∂node × its local gradient into each input; an input used by several "
                   "nodes adds what it receives (its ∂f/∂node is the sum).", style="dim"))
    if show:
        for n in result.nodes:
            if np.ndim(n.value):
                out.print(Text(f"{n.key} {n.text}", style="bold"))
                out.print("  value:\n    " + np.array2string(np.asarray(n.value), max_line_width=PIPE_WIDTH)
                          .replace("\n", "\n    "), markup=False, highlight=False)
                if n.gradient is not None:
                    out.print("  ∂f/∂node:\n    " + np.array2string(np.asarray(n.gradient), max_line_width=PIPE_WIDTH)
                              .replace("\n", "\n    "), markup=False, highlight=False)
