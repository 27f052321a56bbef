"""`gradcheck explain` as plain text: the backward pass, one numbered step per rule applied.

Every piece of user text (the expression, --let names, formulas built from them) goes into rich
Text objects as literal text, never as markup. Lines are laid out for the console's width (an
80-column terminal included): a long formula continues on the next line, indented under its step.
"""

from __future__ import annotations

from rich.console import Console

from ..ops.arrays import format_shape
from ..teach.explain import Explanation
from .layout import paragraph
from .table import console_width, emit

# A step's lines are indented this much under its number; their continuations this much more.
STEP_INDENT = "    "
CONTINUED = "  "


def render_explanation(e: Explanation, out: Console) -> None:
    width = console_width(out)

    def said(text: str, indent: str = STEP_INDENT, style: str = "") -> None:
        emit(out, paragraph(text, width, indent=indent, hanging=indent + CONTINUED, style=style))

    title = f"∂f/∂{e.variable} {format_shape(e.shape)}, for f = {e.expr}"
    said(title, indent="", style="bold")
    said("the backward pass, from f down to " + e.variable + " (G is ∂f/∂node so far; f's own G is 1):",
         indent="", style="dim")
    for n, step in enumerate(e.steps, 1):
        said(f"{n:>2}. {step.node}  {format_shape(step.node_shape)}", indent="", style="bold")
        said(f"G = {step.upstream}")
        rule = f"{step.rule}, to its input {step.input} {format_shape(step.input_shape)}"
        if step.local:
            rule += f": local gradient {step.local}"
        said(rule)
        applied = f"G * {step.local} = G" if step.applied == "G" and step.local else step.applied
        said(f"applied: {applied}")
        if step.note:
            said(f"({step.note})", style="dim")
        target = step.input if step.input.isidentifier() else f"({step.input})"
        said(f"→ ∂f/∂{target} receives {step.received}")
    if e.formula is not None:
        said(f"∂f/∂{e.variable} = {e.formula}", indent="", style="bold green")
        said(f"({e.check})", indent="", style="dim")
    else:
        said(f"no formula for ∂f/∂{e.variable}: {e.withheld}", indent="", style="yellow")

