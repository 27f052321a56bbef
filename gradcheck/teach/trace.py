"""The computational graph of an expression, with every node's forward value and gradient: the
chain rule made visible, as the CS231n notes draw their circuits.

For each node: its value, ∂f/∂node (the upstream gradient arriving from the nodes that use it),
and for each input the local gradient ∂node/∂input — so that the gradient sent into that input is
upstream × local, summed over every node the input feeds. An add gate's local gradients are 1, a
multiply gate's are the other input: `gradcheck trace` shows why ∂f/∂w2 of the sigmoid neuron is
"1 · σ'(z)".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..base.errors import GradcheckError
from ..base.presentation import view
from ..diagnose.reading import parenthesized, slips
from ..inputs.problem import Spec, build
from ..inputs.values import Assignments
from ..language.evaluate import STRICT, forward
from ..language.tree import Apply, Const, Node, Var, text, topological
from ..oracles.backprop import adjoints, vjp
from ..verdict.result import plain


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

        return {"expr": self.expr, "value": self.value, "reading": self.reading, "slips": list(self.slips),
                "nodes": [{"key": n.key, "text": n.text, "op": n.op, "value": plain(n.value),
                           "gradient": plain(n.gradient), "inputs": n.inputs,
                           "local": [plain(v) for v in n.local], "sent": [plain(v) for v in n.sent]}
                          for n in self.nodes]}

    def dot(self) -> str:
        """The graph as Graphviz DOT: values in green, gradients in red, each edge labelled with what it carries back."""
        return view("trace_dot", self)

    def svg(self, inline: bool = False) -> str:
        """The graph as SVG: Graphviz's layout when its dot is installed, else gradcheck's own
        (render/svg.py). inline: without the XML prologue, for embedding in HTML."""
        return view("trace_svg", self, inline=inline)

    def __str__(self) -> str:
        """The table `gradcheck trace` prints, without color."""
        return view("trace_text", self)

    # Jupyter: the table and the graph; IPython in a terminal: the table.
    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        return view("trace_html", self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def trace(expr: str, at: Assignments = None, let: Assignments = None, wrt: str | Iterable[str] | None = None,
          *, seed: int = 0, base: str | Path | None = None) -> Trace:
    """Every node of expr with its value and gradient at the point (variables as in gradcheck.check);
    gradcheck.trace documents it."""
    problem = build(Spec(expr, at=at, let=let, wrt=wrt, base=Path(base) if base is not None else None), seed)
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
