"""The colored table a person reads. The only module that imports rich."""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING, Literal, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

import numpy as np

from ..array_ops import format_shape
from ..columns import COLUMNS
from ..primitives import PRIMITIVES

if TYPE_CHECKING:  # annotations only: result.py imports this module to print itself
    from ..result import CaseResult, Report

# Pipes get a width wide enough that a table of four columns of numbers never wraps.
PIPE_WIDTH = 160
# Significant digits shown for a gradient: enough to see agreement to ~1e-10.
DIGITS = 10

PASS, FAIL, KINK = "green", "red", "yellow"
# Arrays with at most this many entries are shown in full in the "at ..." line; larger ones by shape.
SHOWN_ENTRIES = 6
# A progress bar is worth drawing from this many cases on.
PROGRESS_MIN_CASES = 10


def console(file: TextIO | None = None) -> Console:
    file = file or sys.stdout
    terminal = file.isatty()
    return Console(file=file, highlight=False, width=None if terminal else PIPE_WIDTH,
                   no_color=bool(os.environ.get("NO_COLOR")) or None, soft_wrap=False)


def render_report(report: Report, out: Console, show: bool = False) -> None:
    for case in report.cases:
        render_case(case, out, show)


def render_case(case: CaseResult, out: Console, show: bool = False) -> None:
    if case.status == "error":
        return  # the CLI prints input errors to stderr
    result = f" = {case.value:.{DIGITS}g}" if case.value is not None else f" → {case.output}" if case.output else ""
    out.print(Text.assemble(("f = ", "bold"), (case.expr, "bold"), result))
    out.print(Text("at " + _point(case) + (f"   [evaluated in {case.dtype}]" if case.dtype != "float64" else ""),
                   style="dim"))
    arrays = any(g.shape for g in case.gradients.values())
    out.print(array_table(case) if arrays else gradient_table(case))
    if case.hessian:
        second = any(g.shape for g in case.hessian.values())
        out.print(array_table(case, case.hessian, "∂²f/∂") if second else gradient_table(case, case.hessian, "∂²f/∂"))
    if show:
        for variable, g in case.gradients.items():
            render_gradient(variable, g, out)
    for variable, g in case.gradients.items():
        for column, note in g.notes.items():
            out.print(Text(f"  {column} ∂f/∂{variable}: {note}", style="dim"))
    for note in case.notes:
        out.print(Text(f"  {note}", style="dim"))
    for variable, g in case.gradients.items():
        if g.formula is not None:
            out.print(f"  ∂f/∂{variable} = {g.formula}")
    for variable, g in case.gradients.items():
        if g.diagnosis and g.status != "pass":
            out.print(Text(f"  how the claimed ∂f/∂{variable} is wrong: {g.diagnosis}", style=FAIL))
        if g.correct:
            out.print(Text(f"  the right one: ∂f/∂{variable} = {g.correct}", style=PASS))
    warned = case.status == "pass" and any(g.diagnosis for g in case.gradients.values())
    mark, style = {"pass": ("⚠", KINK) if warned else ("✓", PASS), "kink": ("⚠", KINK)}.get(case.status, ("✗", FAIL))
    out.print(Text(f"{mark} {case.verdict}", style=f"bold {style}"))


def gradient_table(case: CaseResult, gradients: dict | None = None, heading: str = "∂f/∂") -> Table:
    gradients = case.gradients if gradients is None else gradients
    shown = [c for c in COLUMNS if any(c in g.columns for g in gradients.values())]
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column(heading)
    for column in shown:
        table.add_column(column, justify="right", no_wrap=True)
    estimates = "numeric" in shown and any(g.numeric_error is not None for g in gradients.values())
    if estimates:
        table.add_column("numeric's error est.", justify="right", no_wrap=True)
    table.add_column("max rel. error", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for variable, g in gradients.items():
        cells = [_number(g.columns.get(c), FAIL if c == g.odd else "") for c in shown]
        if g.kinks and "numeric" in shown:
            _, left, right = g.kinks[0]
            text = "jump: no derivative" if left != left else f"left {left:.6g}, right {right:.6g}"
            cells[shown.index("numeric")] = Text(text, style=KINK)
        error = "" if g.max_rel_error is None else f"{g.max_rel_error:.1e}"
        if estimates:
            cells.append(Text(_estimate(g.numeric_error, g.numeric_method), style="dim"))
        table.add_row(variable, *cells, error, _status(g.status))
    return table


def array_table(case: CaseResult, gradients: dict | None = None, heading: str = "∂f/∂") -> Table:
    """One row per variable: its shape, and how far each column is from the reference column
    (backprop; numeric for check_function, which has no backprop of its own) as abs / rel error."""
    gradients = case.gradients if gradients is None else gradients
    present = [c for c in COLUMNS if any(c in g.columns for g in gradients.values())]
    reference = "backprop" if "backprop" in present else "numeric"
    others = [c for c in present if c != reference]
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column(heading)
    table.add_column("shape", no_wrap=True)
    for column in others:
        table.add_column(f"{column} vs {reference}\nmax abs / rel error", justify="right", no_wrap=True)
    estimates = any(g.numeric_error is not None for g in gradients.values())
    if estimates:
        table.add_column("numeric's\nerror est.", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for variable, g in gradients.items():
        cells = []
        for column in others:
            pair = next((p for p in g.pairs if {p.a, p.b} == {column, reference}), None)
            if pair is None:
                cells.append(Text("—", style="dim"))
            else:
                cells.append(Text(f"{pair.max_abs_error:.1e} / {pair.max_rel_error:.1e}",
                                  style="" if pair.agree else FAIL))
        if estimates:
            cells.append(Text(_estimate(g.numeric_error, g.numeric_method), style="dim"))
        table.add_row(variable, format_shape(g.shape), *cells, _status(g.status))
    return table


def render_gradient(variable: str, g, out: Console) -> None:
    """--show: every column of ∂f/∂variable in full."""
    out.print(Text(f"∂f/∂{variable}", style="bold"))
    for column, value in g.columns.items():
        if value is None:
            body = "— " + g.notes.get(column, "")
        elif not isinstance(value, (float, np.ndarray, np.generic)):
            body = "(fast mode measured random projections only; see the note)"
        else:
            body = np.array2string(np.asarray(value), precision=8, max_line_width=PIPE_WIDTH, threshold=10_000)
        out.print(Text(f"  {column}:", style="dim"))
        out.print("    " + body.replace("\n", "\n    "), markup=False, highlight=False)
    for pair in g.pairs:
        mark, style = ("✓", PASS) if pair.agree else ("✗", FAIL)
        worst = f", furthest apart at {pair.worst}" if pair.worst and not pair.agree else ""
        out.print(Text(f"  {mark} {pair.a} vs {pair.b}: max abs error {pair.max_abs_error:.2e}, "
                       f"max rel error {pair.max_rel_error:.2e}{worst}", style=style))


def _estimate(error, method: str) -> str:
    if error is None:
        return "—"
    finite = np.asarray(error)[np.isfinite(error)]
    return f"{float(np.max(finite)):.1e} ({method})" if finite.size else f"— ({method})"


def _status(status: str) -> Text:
    return {"pass": Text("✓ pass", style=PASS), "kink": Text("⚠ kink", style=KINK)}.get(
        status, Text("✗ mismatch", style=FAIL))


def _number(value, style: str) -> Text:
    if value is None:
        return Text("—", style="dim")
    if not isinstance(value, (float, int, np.ndarray, np.generic)):
        return Text("fast mode", style="dim")  # fast mode's probes: the note says what they checked
    return Text(f"{value:.{DIGITS}g}", style=style)


def _point(case: CaseResult) -> str:
    parts = []
    for name, value in case.point.items():
        if np.ndim(value) == 0:
            parts.append(f"{name} = {value:g}" + (" (random)" if name in case.random else ""))
        elif np.size(value) <= SHOWN_ENTRIES:
            parts.append(f"{name} = {' '.join(np.array2string(np.asarray(value), precision=4).split())}")
        else:
            parts.append(f"{name} {format_shape(np.shape(value))}")
    text = ", ".join(parts)
    if case.random:
        text += f"   [random values drawn with --seed {case.seed}]"
    return text


def render_batch(report: Report, out: Console, show: bool = False) -> None:
    """`gradcheck check`: a row per case, then the details of every case not as expected, then a summary."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("case", "left"), ("where", "left"), ("status", "left"), ("worst rel. error", "right"), ("time", "right"))
    for heading, justify in columns:
        table.add_column(heading, justify=justify, no_wrap=heading != "case")
    for case in report.cases:
        errors = [g.max_rel_error for g in case.gradients.values() if g.max_rel_error is not None]
        table.add_row(case.name, _where(case), _case_status(case),
                      f"{max(errors):.1e}" if errors else "—", f"{case.seconds:.2f} s")
    out.print(table)
    for case in report.cases:
        if case.status != "error" and (show or not case.as_expected):
            out.print()
            out.print(Text(f"{case.name} ({_where(case)})", style="bold"))
            if case.expect == "mismatch" and case.status == "pass":
                out.print(Text("expected a mismatch: the wrong derivation this case documents was not caught",
                               style=FAIL))
            render_case(case, out, show)
    out.print()
    out.print(_summary(report))


def _where(case: CaseResult) -> str:
    return f"{case.file}:{case.line}" if case.line else str(case.file)


def _case_status(case: CaseResult) -> Text:
    if case.status == "error":
        return Text("✗ error", style=FAIL)
    if case.as_expected:
        label = {"pass": "✓ pass", "kink": "⚠ kink"}.get(case.status, "✓ mismatch (expected)")
        return Text(label, style=KINK if case.status == "kink" else PASS)
    return Text("✗ mismatch" if case.status == "mismatch" else "✗ pass (expected a mismatch)", style=FAIL)


def _summary(report: Report) -> Text:
    cases = report.cases
    good = [c for c in cases if c.as_expected]
    caught = sum(1 for c in good if c.status == "mismatch")
    errors = sum(1 for c in cases if c.status == "error")
    failed = len(cases) - len(good) - errors
    seconds = sum(c.seconds for c in cases)
    parts = [f"{len(good) - caught} passed"]
    if caught:
        parts.append(f"{caught} mismatch{'es' if caught != 1 else ''} caught as expected")
    if failed:
        parts.append(f"{failed} failed")
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    ok = not failed and not errors
    text = f"{'✓' if ok else '✗'} {len(cases)} case{'s' if len(cases) != 1 else ''}: {', '.join(parts)} " \
           f"(checking took {seconds:.2f} s)"
    return Text(text, style=f"bold {PASS if ok else FAIL}")


def progress(total: int):
    """A progress bar on stderr, for a terminal; None where there is none to draw on."""
    if total < PROGRESS_MIN_CASES or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(file=sys.stderr), transient=True)


def render_text(case: CaseResult, show: bool = False) -> str:
    """The table as plain text (no color), as print(result) shows it."""
    buffer = io.StringIO()
    render_case(case, Console(file=buffer, width=PIPE_WIDTH, no_color=True, highlight=False,
                              force_terminal=False, soft_wrap=False), show)
    return buffer.getvalue()


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
        for alias in prim.aliases:
            table.add_row(f"{alias}({', '.join(prim.params)})", derivative, f"the same as {prim.signature()}")
    out.print(table)
    out.print(Text("constants: pi, e.  Operators + - * / ** follow Python's precedence; ^ is power like **.",
                   style="dim"))
