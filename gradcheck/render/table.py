"""The colored table a person reads. The only module that imports rich."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..compare import COLUMNS
from ..primitives import PRIMITIVES
from ..result import CaseResult, Report

# Pipes get a width wide enough that a table of four columns of numbers never wraps.
PIPE_WIDTH = 160
# Significant digits shown for a gradient: enough to see agreement to ~1e-10.
DIGITS = 10

PASS, FAIL = "green", "red"


def console(file: TextIO | None = None) -> Console:
    file = file or sys.stdout
    terminal = file.isatty()
    return Console(file=file, highlight=False, width=None if terminal else PIPE_WIDTH,
                   no_color=bool(os.environ.get("NO_COLOR")) or None, soft_wrap=False)


def render_report(report: Report, out: Console) -> None:
    for case in report.cases:
        render_case(case, out)


def render_case(case: CaseResult, out: Console) -> None:
    if case.status == "error":
        return  # the CLI prints input errors to stderr
    out.print(Text.assemble(("f = ", "bold"), (case.expr, "bold"), f" = {case.value:.{DIGITS}g}"))
    out.print(Text("at " + _point(case), style="dim"))
    out.print(gradient_table(case))
    for variable, g in case.gradients.items():
        for column, note in g.notes.items():
            out.print(Text(f"  {column} ∂f/∂{variable}: {note}", style="dim"))
    for variable, g in case.gradients.items():
        if g.formula is not None:
            out.print(f"  ∂f/∂{variable} = {g.formula}")
    mark, style = ("✓", PASS) if case.status == "pass" else ("✗", FAIL)
    out.print(Text(f"{mark} {case.verdict}", style=f"bold {style}"))


def gradient_table(case: CaseResult) -> Table:
    shown = [c for c in COLUMNS if any(c in g.columns for g in case.gradients.values())]
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("∂f/∂")
    for column in shown:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("max rel. error", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for variable, g in case.gradients.items():
        odd = g.verdict.split(" disagrees with ")[0] if " disagrees with " in g.verdict else None
        cells = [_number(g.columns.get(c), FAIL if c == odd else "") for c in shown]
        error = "" if g.max_rel_error is None else f"{g.max_rel_error:.1e}"
        status = Text("✓ pass", style=PASS) if g.status == "pass" else Text("✗ mismatch", style=FAIL)
        table.add_row(variable, *cells, error, status)
    return table


def _number(value: float | None, style: str) -> Text:
    if value is None:
        return Text("—", style="dim")
    return Text(f"{value:.{DIGITS}g}", style=style)


def _point(case: CaseResult) -> str:
    parts = []
    for name, value in case.point.items():
        parts.append(f"{name} = {value:g}" + (" (random)" if name in case.random else ""))
    text = ", ".join(parts)
    if case.random:
        text += f"   [random values drawn with --seed {case.seed}]"
    return text


def render_functions(out: Console) -> None:
    """`gradcheck functions`: every primitive with its local derivatives."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for heading in ("function", "derivative", "meaning"):
        table.add_column(heading)
    for prim in PRIMITIVES:
        derivative = "\n".join(f"∂/∂{p} = {d}" for p, d in zip(prim.params, prim.derivatives))
        meaning = prim.summary
        if prim.domain_text:
            meaning += " (defined where " + prim.domain_text.format(**{p: p for p in prim.params}) + ")"
        table.add_row(prim.signature(), derivative, meaning)
    out.print(table)
    out.print(Text("constants: pi, e.  Operators + - * / ** follow Python's precedence; ^ is power like **.",
                   style="dim"))
