"""`gradcheck explain` as plain text: the backward pass, one numbered step per rule applied.

Every piece of user text (the expression, --let names, formulas built from them) goes into rich
Text objects as literal text, never as markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ..array_ops import format_shape
from ..explain import Explanation


def render_explanation(e: Explanation, out: Console) -> None:
    out.print(Text.assemble(("∂f/∂", "bold"), (e.variable, "bold"), f" {format_shape(e.shape)}, for f = ",
                            (e.expr, "bold")), soft_wrap=True)
    out.print(Text("the backward pass, from f down to " + e.variable + " (G is ∂f/∂node so far; f's own G is 1):",
                   style="dim"), soft_wrap=True)
    for n, step in enumerate(e.steps, 1):
        out.print(Text.assemble(f"{n:>2}. ", (step.node, "bold"), f"  {format_shape(step.node_shape)}"),
                  soft_wrap=True)
        out.print(Text(f"    G = {step.upstream}"), soft_wrap=True)
        rule = f"    {step.rule}, to its input {step.input} {format_shape(step.input_shape)}"
        if step.local:
            rule += f": local gradient {step.local}"
        out.print(Text(rule), soft_wrap=True)
        applied = f"G * {step.local} = G" if step.applied == "G" and step.local else step.applied
        out.print(Text(f"    applied: {applied}"), soft_wrap=True)
        if step.note:
            out.print(Text(f"    ({step.note})", style="dim"), soft_wrap=True)
        target = step.input if step.input.isidentifier() else f"({step.input})"
        out.print(Text(f"    → ∂f/∂{target} receives {step.received}"), soft_wrap=True)
    if e.formula is not None:
        out.print(Text.assemble(("∂f/∂" + e.variable + " = ", "bold"), (e.formula, "bold green")), soft_wrap=True)
        out.print(Text(f"({e.check})", style="dim"), soft_wrap=True)
    else:
        out.print(Text(f"no formula for ∂f/∂{e.variable}: {e.withheld}", style="yellow"), soft_wrap=True)
