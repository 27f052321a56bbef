"""A trace's graph as Graphviz DOT and as SVG (Graphviz's layout where its dot is installed, else
gradcheck's own, render/svg.py)."""

from __future__ import annotations

import html
import shutil
import subprocess
from typing import TYPE_CHECKING

from ..teach.summary import GRADIENT_COLOR, VALUE_COLOR, summary
from .svg import to_svg

if TYPE_CHECKING:
    from ..teach.trace import Trace

def to_dot(result: Trace) -> str:
    """The graph as Graphviz DOT: values in green, gradients in red, each edge labelled with what it carries back."""
    lines = ["digraph gradcheck {", "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="Helvetica"];']
    for n in result.nodes:
        parts = [f"<b>{html.escape(n.text if len(n.text) <= 40 else n.op)}</b>"]
        if n.op not in ("input", "constant") and n.text != n.op:
            parts[0] += f" <i>({html.escape(n.op)})</i>"
        parts.append(f'<font color="{VALUE_COLOR}">{html.escape(summary(n.value))}</font>')
        if n.gradient is not None:
            parts.append(f'<font color="{GRADIENT_COLOR}">∂f = {html.escape(summary(n.gradient))}</font>')
        lines.append(f"  {n.key} [label=<{'<br/>'.join(parts)}>];")
    for n in result.nodes:
        for source, sent in zip(n.inputs, n.sent):
            label = f' [label="{html.escape(summary(sent))}", fontcolor="{GRADIENT_COLOR}"]' if sent is not None else ""
            lines.append(f"  {source} -> {n.key}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot: str, fmt: str) -> bytes:
    """Graphviz's dot, run on the DOT text; the caller checks that it is installed."""
    done = subprocess.run(["dot", f"-T{fmt}"], input=dot.encode(), capture_output=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace").strip())
    return done.stdout


def trace_svg(trace: Trace, inline: bool = False) -> str:
    """The graph as SVG: Graphviz's layout when its dot is installed, else gradcheck's own. inline:
    without the XML prologue, for embedding in HTML."""
    if shutil.which("dot"):
        try:
            text = render(to_dot(trace), "svg").decode()
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            text = None
        if text is not None:
            return text[text.index("<svg"):] if inline else text
    return to_svg(trace)
