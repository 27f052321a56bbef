"""The computational graph of an expression, with every node's forward value and gradient: the
chain rule made visible, as the CS231n notes draw their circuits.

For each node: its value, ∂f/∂node (the upstream gradient arriving from the nodes that use it),
and for each input the local gradient ∂node/∂input — so that the gradient sent into that input is
upstream × local, summed over every node the input feeds. An add gate's local gradients are 1, a
multiply gate's are the other input: `gradcheck trace` shows why ∂f/∂w2 of the sigmoid neuron is
"1 · σ'(z)".
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import GradcheckError
from .evaluate import STRICT, forward
from .oracles.backprop import adjoints, vjp
from .problem import build
from .render.summary import GRADIENT_COLOR, VALUE_COLOR, summary  # noqa: F401 (summary: part of this module's API)
from .tree import Apply, Const, Node, Var, text, topological
from .values import Assignments


@dataclass
class TraceNode:
    """One node of a Trace: its value, its gradient, and what it sends back to each of its inputs.

    Attributes:
        key: "n1", "n2", ... in evaluation order.
        text: the node as written, or its --let name.
        op: "input", "constant", an operator (`+`, `*`, `@`) or a function name.
        value: its forward value.
        gradient: ∂f/∂node (None where f does not depend on it).
        inputs: the keys of its input nodes.
        local: ∂node/∂input for each input, for scalars (None for arrays).
        sent: the gradient sent to each input, upstream × local.
    """

    key: str  # "n1", "n2", ... in evaluation order
    text: str  # as written, or its --let name
    op: str  # "input", "constant", an operator (+, *, @) or a function name
    value: Any
    gradient: Any | None  # ∂f/∂node; None where f does not depend on the node through the variables
    inputs: list[str] = field(default_factory=list)  # keys of the input nodes
    local: list[Any | None] = field(default_factory=list)  # ∂node/∂input (scalars), None for arrays
    sent: list[Any | None] = field(default_factory=list)  # gradient sent to each input: upstream × local


@dataclass
class Trace:
    """The computational graph of an expression at a point, as gradcheck.trace returns it.

    print(trace) shows the table gradcheck trace prints; in a notebook the table and the graph.

    Attributes:
        expr: the expression.
        value: f at the point.
        nodes: every TraceNode in evaluation order (the inputs first, f last).
        point: every variable's value.
        reading: f with every operation in parentheses, as it was parsed.
        slips: where that reading is a classic slip (`1 / 1 + exp(-z)`).
    """

    expr: str
    value: float
    nodes: list[TraceNode]
    point: dict[str, Any]
    reading: str = ""  # f with every operation in parentheses, as it was parsed
    slips: list[str] = field(default_factory=list)  # where that reading is a classic slip (reading.py)

    def to_dict(self) -> dict[str, Any]:
        """The graph as gradcheck trace --format json writes it."""
        from .result import plain

        return {"expr": self.expr, "value": self.value, "reading": self.reading, "slips": list(self.slips),
                "nodes": [{"key": n.key, "text": n.text, "op": n.op, "value": plain(n.value),
                           "gradient": plain(n.gradient), "inputs": n.inputs,
                           "local": [plain(v) for v in n.local], "sent": [plain(v) for v in n.sent]}
                          for n in self.nodes]}

    def dot(self) -> str:
        """The graph as Graphviz DOT: values in green, gradients in red, each edge labelled with what it carries back."""
        return to_dot(self)

    def svg(self, inline: bool = False) -> str:
        """The graph as SVG: Graphviz's layout when its dot is installed, else gradcheck's own
        (render/svg.py). inline: without the XML prologue, for embedding in HTML."""
        if shutil.which("dot"):
            try:
                text = render(self.dot(), "svg").decode()
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                text = None
            if text is not None:
                return text[text.index("<svg"):] if inline else text
        from .render.svg import to_svg

        return to_svg(self)

    def __str__(self) -> str:
        """The table `gradcheck trace` prints, without color."""
        import io

        from .render.graph import render_trace
        from .render.table import text_console

        buffer = io.StringIO()
        render_trace(self, text_console(buffer))
        return buffer.getvalue()

    # Jupyter: the table and the graph; IPython in a terminal: the table.
    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        from .render.html import fragment, trace_html

        return fragment(trace_html(self))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def trace(expr: str, at: Assignments = None, let: Assignments = None, wrt: str | Iterable[str] | None = None,
          *, seed: int = 0, base: str | Path | None = None) -> Trace:
    """Every node of expr with its value and gradient at the point (variables as in gradcheck.check);
    gradcheck.trace documents it."""
    problem = build(expr, at=at, let=let, wrt=wrt, seed=seed, base=Path(base) if base is not None else None)
    values = forward(problem.root, problem.point)
    grads = adjoints(problem.root, values, problem.wrt)
    order = topological(problem.root)
    keys = {id(node): f"n{i + 1}" for i, node in enumerate(order)}
    nodes = []
    for node in order:
        upstream = grads.get(node)
        entry = TraceNode(keys[id(node)], text(node), _op(node), values[node], upstream)
        if isinstance(node, Apply):
            inputs = [values[a] for a in node.args]
            for i, arg in enumerate(node.args):
                entry.inputs.append(keys[id(arg)])
                wanted = arg in grads and i not in node.prim.labels
                scalar = np.ndim(values[node]) == 0 and np.ndim(inputs[i]) == 0
                entry.local.append(_vjp(node, i, np.float64(1.0), values[node], inputs) if wanted and scalar else None)
                entry.sent.append(_vjp(node, i, upstream, values[node], inputs) if wanted and upstream is not None
                                  else None)
        nodes.append(entry)
    from .reading import parenthesized, slips

    return Trace(expr, float(values[problem.root]), nodes,
                 {k: float(v) if np.ndim(v) == 0 else v for k, v in problem.point.items()},
                 parenthesized(problem.root), [s.sentence for s in slips(problem.root)])


def _vjp(node: Apply, i: int, g: Any, ans: Any, inputs: list[Any]) -> Any:
    """A local gradient or contribution, or None where it is undefined (the table shows —)."""
    try:
        with np.errstate(**STRICT):
            return vjp(node, i, g, ans, inputs)
    except GradcheckError:
        return None


def _op(node: Node) -> str:
    if isinstance(node, Var):
        return "input"
    if isinstance(node, Const):
        return "constant"
    return node.prim.operator or node.prim.name


# ----- Graphviz ------------------------------------------------------------------------------------


def to_dot(result: Trace) -> str:
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
