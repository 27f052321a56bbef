"""The colored table a person reads. Only render/ imports rich.

Every table is measured before it is drawn. When the widest layout does not fit the console, a
narrower one is chosen (the error columns folded into a line under each row, then fewer digits,
then one block per variable), so names, numbers and statuses are never cut.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING, TextIO

import numpy as np
from rich.console import Console
from rich.text import Text

from ..base.columns import COLUMNS
from ..base.status import Status
from ..ops.arrays import format_shape
from ..ops.registry import PRIMITIVES
from .escape import visible
from .layout import Grid, literal, pack, paragraph
from .width import MIN_WIDTH, PIPE_WIDTH, pipe_width  # noqa: F401 - PIPE_WIDTH: where the width comes from

if TYPE_CHECKING:  # annotations only: result.py imports this module to print itself
    from ..verdict.result import CaseResult, Report

# Significant digits shown for a gradient: enough to see agreement to ~1e-10; where that does not
# fit, enough to see agreement to ~1e-6 (the default rtol is 1e-5).
DIGITS, FEW_DIGITS = 10, 6
# How far a variable's block (the layout of the narrowest terminals) is indented under its title.
BLOCK_INDENT = 2

PASS, FAIL, KINK = "green", "red", "yellow"
# Arrays with at most this many entries are shown in full in the "at ..." line; larger ones by shape.
SHOWN_ENTRIES = 6
# A progress bar is worth drawing from this many cases on.
PROGRESS_MIN_CASES = 10


def console(file: TextIO | None = None) -> Console:
    file = file or sys.stdout
    terminal = file.isatty()
    return Console(file=file, highlight=False, width=None if terminal else pipe_width(),
                   no_color=bool(os.environ.get("NO_COLOR")) or None, soft_wrap=False)


def text_console(file: TextIO, width: int | None = None) -> Console:
    """A console without color for text that is not a terminal (print(result), JUnit, notebooks)."""
    return Console(file=file, width=width or pipe_width(), no_color=True, highlight=False,
                   force_terminal=False, force_jupyter=False, soft_wrap=False)


def console_width(out: Console) -> int:
    """The width to lay out for: the console's, never below MIN_WIDTH."""
    return max(out.width, MIN_WIDTH)


def emit(out: Console, lines: list[Text]) -> None:
    """Lines already laid out for the width; one still longer (a single word wider than the console, such
    as a long path) is printed whole for the terminal to wrap, never folded or cropped by rich."""
    for line in lines:
        out.print(line, soft_wrap=True)


def render_report(report: Report, out: Console, show: bool = False) -> None:
    for case in report.cases:
        render_case(case, out, show)


# A note shared by more variables than this names the first few and counts the rest.
NOTE_NAMES = 3


def _shared_notes(case: CaseResult) -> dict[tuple[str, str], list[str]]:
    """Each column's note, with the variables it is said of (fast mode's pool gives many the same one)."""
    shared: dict[tuple[str, str], list[str]] = {}
    for variable, g in case.gradients.items():
        for column, note in g.notes.items():
            if column == "claimed" and g.columns.get("claimed", 0) is None:
                continue  # a claim with no value: the verdict is this note ("claimed has shape (4,), but ...")
            shared.setdefault((column, note), []).append(variable)
    return shared


def _some(variables: list[str]) -> str:
    named = ", ".join(f"∂f/∂{v}" for v in variables[:NOTE_NAMES])
    rest = len(variables) - NOTE_NAMES
    return f"{named} and {rest:,} more" if rest > 0 else named


def render_case(case: CaseResult, out: Console, show: bool = False, verdict: bool = True) -> None:
    """The case's table and notes, ending with its verdict (left out where the caller shows it itself)."""
    if case.status == Status.ERROR:
        return  # the CLI prints input errors to stderr
    width = console_width(out)
    result = f" = {case.value:.{DIGITS}g}" if case.value is not None else f" → {case.output}" if case.output else ""
    head = paragraph(f"f = {case.expr}{result}", width, hanging="    ", style="bold")
    emit(out, head)
    emit(out, _point_lines(case, width))
    for sentence in case.reading:
        emit(out, paragraph(f"note: {sentence}", width, indent="  ", style="yellow"))
    arrays = any(g.shape for g in case.gradients.values())
    emit(out, (array_table if arrays else gradient_table)(case, width=width))
    if case.hessian:
        second = any(g.shape for g in case.hessian.values())
        emit(out, (array_table if second else gradient_table)(case, case.hessian, "∂²f/∂", width=width))
    if show:
        for variable, g in case.gradients.items():
            render_gradient(variable, g, out)
    for (column, note), variables in _shared_notes(case).items():
        emit(out, paragraph(f"{column} {_some(variables)}: {note}", width, indent="  ", style="dim"))
    for note in case.notes:
        emit(out, paragraph(note, width, indent="  ", style="dim"))
    for variable, g in case.gradients.items():
        if g.formula is not None:
            emit(out, paragraph(f"∂f/∂{variable} = {g.formula}", width, indent="  ", hanging="      "))
        if g.matrix_formula is not None and g.matrix_formula != g.formula:
            lead = "  by the chain rule: " if g.formula is not None else f"∂f/∂{variable} = "
            emit(out, paragraph(f"{lead}{g.matrix_formula}", width, indent="  ", hanging="      "))
        elif g.matrix_note is not None and g.formula is None:
            emit(out, paragraph(f"∂f/∂{variable}: {g.matrix_note}", width, indent="  ", style="dim"))
    if any(g.matrix_formula for g in case.gradients.values()):
        emit(out, paragraph("(the matrix forms are derived by gradcheck's own rules, then evaluated at the point: "
                            "each agrees with symbolic and backprop)", width, indent="  ", style="dim"))
    said = _same_diagnosis(case)
    for variable, g in case.gradients.items():
        if g.diagnosis and g.status != Status.PASS and said[g.diagnosis][0] == variable:
            names = ", ".join(f"∂f/∂{v}" for v in said[g.diagnosis])
            verb = "is" if len(said[g.diagnosis]) == 1 else "are"
            emit(out, paragraph(f"how the claimed {names} {verb} wrong: {g.diagnosis}", width, indent="  ",
                                 style=FAIL))
        if g.correct:
            emit(out, paragraph(f"the right one: ∂f/∂{variable} = {g.correct}", width, indent="  ",
                                 hanging="      ", style=PASS))
    if verdict:
        mark, style = verdict_mark(case)
        emit(out, paragraph(f"{mark} {case.verdict}", width, style=f"bold {style}"))


def _same_diagnosis(case: CaseResult) -> dict[str, list[str]]:
    """Each diagnosis once, with every variable it is said of (an LSTM's six inputs, one missing path)."""
    said: dict[str, list[str]] = {}
    for variable, g in case.gradients.items():
        if g.diagnosis and g.status != Status.PASS:
            said.setdefault(g.diagnosis, []).append(variable)
    return said


def verdict_mark(case: CaseResult) -> tuple[str, str]:
    """✓, ⚠ or ✗ and its color: a pass with a diagnosis (agreement by chance) is a warning."""
    warned = case.status == Status.PASS and any(g.diagnosis for g in case.gradients.values())
    return {Status.PASS: ("⚠", KINK) if warned else ("✓", PASS), Status.KINK: ("⚠", KINK),
            Status.INCONCLUSIVE: ("?", KINK), Status.CONTRACT: ("✗", KINK)}.get(case.status, ("✗", FAIL))


# ----- scalar gradients ---------------------------------------------------------------------------
def gradient_table(case: CaseResult, gradients: dict | None = None, heading: str = "∂f/∂",
                   width: int = PIPE_WIDTH) -> list[Text]:
    """The widest of: every column on one line; the error columns folded under each row; the same with
    fewer digits; one block per variable."""
    gradients = case.gradients if gradients is None else gradients
    shown = [c for c in COLUMNS if any(c in g.columns for g in gradients.values())]
    estimates = "numeric" in shown and any(g.numeric_error is not None for g in gradients.values())
    for digits in (DIGITS, FEW_DIGITS):
        wide = _wide_grid(gradients, shown, estimates, heading, digits)
        if wide.width <= width:
            return wide.lines()
        folded = _folded_lines(gradients, shown, estimates, heading, digits, width)
        if folded is not None:
            return folded
    return _gradient_blocks(gradients, shown, estimates, heading, width)


def _values(g, shown: list[str], digits: int) -> list[Text]:
    cells = [_number(g.columns.get(c), FAIL if c == g.odd else "", digits) for c in shown]
    if g.kinks and "numeric" in shown:
        _, left, right = g.kinks[0]
        text = "jump: no derivative" if np.isnan(left) else f"left {left:.{digits}g}, right {right:.{digits}g}"
        cells[shown.index("numeric")] = Text(text, style=KINK)
    return cells


def _rel_error(g) -> str:
    return "—" if g.max_rel_error is None else f"{g.max_rel_error:.1e}"


def _wide_grid(gradients, shown, estimates, heading, digits) -> Grid:
    header = [heading, *shown] + (["numeric's error est."] if estimates else []) + ["max rel. error", "status"]
    rows = []
    for variable, g in gradients.items():
        extra = [Text(_estimate(g.numeric_error, g.numeric_method), style="dim")] if estimates else []
        rows.append([literal(variable), *_values(g, shown, digits), *extra, _rel_error(g), _status(g.status)])
    return Grid(header, rows, right=frozenset(range(1, len(header) - 1)))


def _folded_lines(gradients, shown, estimates, heading, digits, width) -> list[Text] | None:
    header = [heading, *shown, "status"]
    rows = [[literal(variable), *_values(g, shown, digits), _status(g.status)] for variable, g in gradients.items()]
    grid = Grid(header, rows, right=frozenset(range(1, len(header) - 1)))
    if grid.width > width:
        return None
    lines = grid.lines()
    out = [lines[0]]
    for line, g in zip(lines[1:], gradients.values()):
        out.append(line)
        errors = [f"max rel. error {_rel_error(g)}"]
        if estimates:
            errors.append(f"numeric ± {_estimate(g.numeric_error, g.numeric_method)}")
        out.extend(pack(errors, width, separator=", ", indent="    ", hanging="    ", style="dim"))
    return out


def _gradient_blocks(gradients, shown, estimates, heading, width) -> list[Text]:
    out = []
    for variable, g in gradients.items():
        title = literal(f"{heading}{variable}", style="bold") + Text("  ") + _status(g.status)
        out.append(title)
        rows = [[c, cell] for c, cell in zip(shown, _values(g, shown, DIGITS))]
        rows.append(["max rel. error", _rel_error(g)])
        if estimates:
            rows.append(["error est.", Text(_estimate(g.numeric_error, g.numeric_method), style="dim")])
        out.extend(_block(rows, width))
    return out


def _block(rows: list, width: int) -> list[Text]:
    """A variable's block of label and value lines, indented under its title where that fits the width."""
    grid = Grid(["", ""], rows, indent=BLOCK_INDENT)
    if grid.width > width:
        grid = Grid(["", ""], rows)
    return grid.lines()[1:]


# ----- array gradients ----------------------------------------------------------------------------
def array_table(case: CaseResult, gradients: dict | None = None, heading: str = "∂f/∂",
                width: int = PIPE_WIDTH) -> list[Text]:
    """One row per variable: its shape, and how far each column is from the reference column
    (backprop; numeric for check_function, which has no backprop of its own) as abs / rel error;
    one block per variable where that does not fit."""
    gradients = case.gradients if gradients is None else gradients
    present = [c for c in COLUMNS if any(c in g.columns for g in gradients.values())]
    reference = "backprop" if "backprop" in present else "numeric"
    others = [c for c in present if c != reference]
    estimates = any(g.numeric_error is not None for g in gradients.values())
    header = [heading, "shape", *(f"{c} vs {reference}\nmax abs / rel error" for c in others)]
    header += ["numeric's\nerror est."] if estimates else []
    header += ["status"]
    rows = []
    for variable, g in gradients.items():
        cells = [_pair_cell(g, column, reference) for column in others]
        if estimates:
            cells.append(Text(_estimate(g.numeric_error, g.numeric_method), style="dim"))
        rows.append([literal(variable), format_shape(g.shape), *cells, _status(g.status)])
    grid = Grid([Text(h) for h in header], rows, right=frozenset(range(2, len(header) - 1)))
    if grid.width <= width:
        return grid.lines()
    if estimates:  # the estimate folded under its row
        slim = Grid([Text(h) for h in header[:-2] + header[-1:]], [r[:-2] + r[-1:] for r in rows],
                    right=frozenset(range(2, len(header) - 2)))
        if slim.width <= width:
            lines = slim.lines()
            top = len(lines) - len(rows)
            out = lines[:top]
            for line, row in zip(lines[top:], rows):
                out += [line, Text("    numeric ± ", style="dim") + row[-2]]
            return out
    out = []
    for (variable, g), row in zip(gradients.items(), rows):
        out.append(literal(f"{heading}{variable}", style="bold") + Text(f"  {format_shape(g.shape)}  ")
                   + _status(g.status))
        details = [[f"{c} vs {reference}", cell] for c, cell in zip(others, row[2:])]
        if estimates:
            details.append(["numeric's error est.", row[2 + len(others)]])
        out.extend(_block(details, width))
    return out


def _pair_cell(g, column: str, reference: str) -> Text:
    pair = next((p for p in g.pairs if {p.a, p.b} == {column, reference}), None)
    if pair is None:
        return Text("—", style="dim")
    return Text(f"{pair.max_abs_error:.1e} / {_relative(pair.max_rel_error)}", style="" if pair.agree else FAIL)


def _relative(value: float, digits: int = 1) -> str:
    """A pair's relative error; "—" for a gradient that is 0 to both columns (none is defined)."""
    return "—" if np.isnan(value) else f"{value:.{digits}e}"


def render_gradient(variable: str, g, out: Console) -> None:
    """--show: every column of ∂f/∂variable in full."""
    width = console_width(out)
    out.print(literal(f"∂f/∂{variable}", style="bold"))
    for column, value in g.columns.items():
        if value is None:
            body = "— " + g.notes.get(column, "")
        elif not isinstance(value, (float, np.ndarray, np.generic)):
            body = "(fast mode measured random projections only; see the note)"
        else:
            body = np.array2string(np.asarray(value), precision=8, max_line_width=width - 4, threshold=10_000)
        out.print(Text(f"  {column}:", style="dim"))
        emit(out, [Text("    " + line) for line in body.split("\n")])
    for pair in g.pairs:
        mark, style = ("✓", PASS) if pair.agree else ("✗", FAIL)
        worst = ""
        if pair.worst and not pair.agree:
            worst = f", furthest apart {'at ' if pair.worst.startswith('[') else ''}{pair.worst}"
        emit(out, paragraph(f"{mark} {pair.a} vs {pair.b}: max abs error {pair.max_abs_error:.2e}, "
                             f"max rel error {_relative(pair.max_rel_error, 2)}{worst}", width, indent="  ", style=style))


def _estimate(error, method: str) -> str:
    if error is None:
        return "—"
    finite = np.asarray(error)[np.isfinite(error)]
    # no entry measured by the method (each on a kink, measured one-sidedly): no method to name
    return f"{float(np.max(finite)):.1e} ({method})" if finite.size else "—"


def _status(status: Status) -> Text:
    return {Status.PASS: Text("✓ pass", style=PASS), Status.KINK: Text("⚠ kink", style=KINK),
            Status.INCONCLUSIVE: Text("? inconclusive", style=KINK)}.get(status, Text("✗ mismatch", style=FAIL))


def _number(value, style: str, digits: int = DIGITS) -> Text:
    if value is None:
        return Text("—", style="dim")
    if not isinstance(value, (float, int, np.ndarray, np.generic)):
        return Text("fast mode", style="dim")  # fast mode's probes: the note says what they checked
    return Text(f"{value:.{digits}g}", style=style)


def array_text(value, precision: int = 4, width: int = PIPE_WIDTH) -> str:
    """An array as numpy prints it; integer-valued arrays (labels) as integers: [0 2 1], not [0. 2. 1.]."""
    array = np.asarray(value)
    if array.dtype.kind == "f" and array.size and np.all(np.isfinite(array)) and np.all(array == np.round(array)) \
            and np.max(np.abs(array)) < 2**53:
        array = array.astype(np.int64)
    return np.array2string(array, precision=precision, max_line_width=width)


def _point_lines(case: CaseResult, width: int) -> list[Text]:
    """'at x = 1, y = 2', packed to the width, then its bracketed notes: after the last value where
    they fit, else on a line of their own (they went past a 60-column terminal after a long name)."""
    lines = pack(_point(case, width), width, indent="at ", style="dim")
    for note in _point_notes(case):
        if len(lines[-1].plain) + 3 + len(note) <= width:
            lines[-1] = Text(f"{lines[-1].plain}   {note}", style="dim")
        else:
            lines.append(Text(f"    {note}", style="dim"))
    return lines


def _point_notes(case: CaseResult) -> list[str]:
    notes = [f"[random values drawn with --seed {case.seed}]"] if case.random else []
    return notes + ([f"[evaluated in {case.dtype}]"] if case.dtype != "float64" else [])


def _point(case: CaseResult, width: int = PIPE_WIDTH) -> list[str]:
    parts = []
    for name, value in case.point.items():
        shown = f"{name} = {' '.join(array_text(value).split())}" if np.ndim(value) else ""
        if np.ndim(value) == 0:
            parts.append(f"{name} = {value:g}" + (" (random)" if name in case.random else ""))
        elif np.size(value) <= SHOWN_ENTRIES and len(shown) + 5 <= width:  # on a line of its own, with ", "
            parts.append(shown)
        else:
            parts.append(f"{name} {format_shape(np.shape(value))}")
    return parts


# ----- gradcheck check ----------------------------------------------------------------------------
def render_batch(report: Report, out: Console, show: bool = False) -> None:
    """`gradcheck check`: a row per case (a block per case where that does not fit), then the details
    of every case not as expected, failures first, then a summary."""
    width = console_width(out)
    emit(out, batch_table(report, width))
    for case in failures_first(report.cases):
        if case.status != Status.ERROR and (show or not case.as_expected):
            out.print()
            emit(out, paragraph(f"{case.name} ({where_text(case)})", width, style="bold"))
            if case.expect == Status.MISMATCH and case.status == Status.PASS:
                emit(out, paragraph("expected a mismatch: the wrong derivation this case documents was not caught",
                                     width, style=FAIL))
            render_case(case, out, show)
    out.print()
    emit(out, paragraph(summary_text(report), width, style=f"bold {PASS if summary_ok(report) else FAIL}"))


def failures_first(cases: list[CaseResult]) -> list[CaseResult]:
    """Errors, then cases not as expected, then the rest, each group in file order."""
    return sorted(cases, key=lambda c: 0 if c.status == Status.ERROR else 1 if not c.as_expected else 2)


def batch_table(report: Report, width: int) -> list[Text]:
    header = ["case", "where", "status", "worst rel. error", "time"]
    rows = [[literal(c.name), literal(where_text(c)), case_status(c), worst_error(c), f"{c.seconds:.2f} s"]
            for c in report.cases]
    grid = Grid(header, rows, right=frozenset({3, 4}))
    if grid.width <= width:
        return grid.lines()
    # each name on its own line, the other columns aligned under it
    aligned = Grid(header[1:], [row[1:] for row in rows], right=frozenset({2, 3}), indent=4)
    if aligned.width <= width:
        lines = aligned.lines()
        out = [Text("case", style="bold"), lines[0]]
        for case, line in zip(report.cases, lines[1:]):
            out.extend(paragraph(case.name, width, hanging="", style="bold"))
            out.append(line)
        return out
    out = []  # narrower still: the details packed onto as many lines as they need
    for case in report.cases:
        out.extend(paragraph(case.name, width, hanging="", style="bold"))  # a long name goes on whole lines
        status = case_status(case)
        details = [status.plain, where_text(case), f"worst rel. error {worst_error(case)}", f"{case.seconds:.2f} s"]
        for line in pack(details, width, separator="  ", indent="    ", hanging="    "):
            if line.plain.startswith("    " + status.plain):
                line.stylize(status.style, 4, 4 + len(status.plain))
            out.append(line)
    return out


def worst_error(case: CaseResult) -> str:
    """The largest relative error among the gradients that decided the status (the mismatched ones,
    if any). A claim that could not be compared (a wrong shape) has none: "—", never the agreeing
    oracles' 1e-16, which would read as a near miss."""
    gradients = list(case.gradients.values())
    wrong = [g for g in gradients if g.status == Status.MISMATCH] or gradients
    if any("claimed" in g.columns and g.columns["claimed"] is None for g in wrong):
        return "—"
    errors = [g.max_rel_error for g in wrong if g.max_rel_error is not None]
    return f"{max(errors):.1e}" if errors else "—"


def where_text(case: CaseResult) -> str:
    return f"{case.file}:{case.line}" if case.line else str(case.file)


def case_status(case: CaseResult) -> Text:
    if case.status == Status.ERROR:
        return Text("✗ error", style=FAIL)
    if case.as_expected:
        label = {Status.PASS: "✓ pass", Status.KINK: "⚠ kink"}.get(case.status, "✓ mismatch (expected)")
        return Text(label, style=KINK if case.status == Status.KINK else PASS)
    if case.status == Status.KINK:  # not as expected: failed by --strict, or a mismatch was expected
        return Text("✗ kink (strict)" if case.strict else "✗ kink (expected a mismatch)", style=FAIL)
    if case.status == Status.INCONCLUSIVE:
        return Text("? inconclusive", style=KINK)
    if case.status == Status.CONTRACT:  # right gradients, a broken contract: not the mismatch a case may expect
        return Text("✗ contract", style=KINK)
    if case.status == Status.MISMATCH and case.expect == Status.MISMATCH:  # expected the claim's, found the oracles'
        return Text("✗ mismatch (not the claim's)", style=FAIL)
    return Text("✗ mismatch" if case.status == Status.MISMATCH else "✗ pass (expected a mismatch)", style=FAIL)


def summary_ok(report: Report) -> bool:
    return all(c.as_expected for c in report.cases)


def summary_text(report: Report) -> str:
    cases = report.cases
    good = [c for c in cases if c.as_expected]
    caught = sum(1 for c in good if c.status == Status.MISMATCH)
    errors = sum(1 for c in cases if c.status == Status.ERROR)
    unsure = sum(1 for c in cases if c.status == Status.INCONCLUSIVE)
    broken = sum(1 for c in cases if c.status == Status.CONTRACT)
    failed = len(cases) - len(good) - errors - unsure - broken
    seconds = sum(c.seconds for c in cases)
    parts = [f"{len(good) - caught} passed"]
    if caught:
        parts.append(f"{caught} mismatch{'es' if caught != 1 else ''} caught as expected")
    if failed:
        parts.append(f"{failed} failed")
    if unsure:
        parts.append(f"{unsure} inconclusive")
    if broken:
        parts.append(f"{broken} with a broken contract")
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    ok = not failed and not errors and not unsure and not broken
    return f"{'✓' if ok else '✗'} {len(cases)} case{'s' if len(cases) != 1 else ''}: {', '.join(parts)} " \
           f"(checking took {seconds:.2f} s)"


def progress(total: int):
    """A progress bar on stderr, for a terminal; None where there is none to draw on."""
    if total < PROGRESS_MIN_CASES or not sys.stderr.isatty():
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(file=sys.stderr), transient=True)


def render_text(case: CaseResult, show: bool = False, width: int | None = None, verdict: bool = True) -> str:
    """The table as plain text (no color), as print(result) shows it."""
    buffer = io.StringIO()
    render_case(case, text_console(buffer, width), show, verdict)
    return buffer.getvalue()


# ----- gradcheck functions ------------------------------------------------------------------------
def render_functions(out: Console) -> None:
    """`gradcheck functions`: every primitive with its local derivatives (the registry's text, literally)."""
    width = console_width(out)
    rows = []
    for prim in PRIMITIVES:
        derivative = "\n".join(visible(f"∂/∂{p} = {d}") for p, d in zip(prim.params, prim.derivatives))
        meaning = prim.summary
        if prim.domain_text:
            meaning += " (needs " + prim.domain_text.format(**{p: p for p in prim.params}) + ")"
        rows.append((prim.signature(), derivative, meaning))
        for alias in prim.aliases:
            rows.append((f"{alias}({', '.join(prim.params)})", derivative, f"the same as {prim.signature()}"))
    grid = Grid(["function", "derivative", "meaning"], [[a, Text(b), c] for a, b, c in rows])
    if grid.width <= width:
        emit(out, grid.lines())
    else:  # the meaning wrapped under its column, or under the function where even that does not fit
        first = Grid(["function", "derivative"], [[a, Text(b)] for a, b, _ in rows])
        widths = first.widths()
        column = sum(widths) + 2 * 2
        if width - column >= 24:
            lines = first.lines()
            out_lines, k = [Text.assemble(lines[0], " " * (column - lines[0].cell_len), ("meaning", "bold"))], 1
            for (_, b, c) in rows:
                height = b.count("\n") + 1
                wrapped = paragraph(c, width - column, hanging="")
                for i in range(max(height, len(wrapped))):
                    left = lines[k + i] if i < height else Text("")
                    right = wrapped[i] if i < len(wrapped) else Text("")
                    out_lines.append(left + Text(" " * (column - left.cell_len)) + right if right.plain else left)
                k += height
            emit(out, out_lines)
        else:
            for a, b, c in rows:
                out.print(literal(a, style="bold"))
                for line in filter(None, b.split("\n")):  # a long derivative wraps at its spaces, under itself
                    emit(out, paragraph(line, width, indent="  ", hanging="      "))  # (constructors have none)
                emit(out, paragraph(c, width, indent="  ", hanging="  ", style="dim"))
    emit(out, paragraph("constants: pi, e.  Operators + - * / ** follow Python's precedence; ^ is power like **.",
                         width, style="dim"))
