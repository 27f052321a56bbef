"""The forward pass: every node's value at a point, with numpy.

A value that is not a finite number stops the pass with a DomainError naming the node and its
inputs ("log(x) is undefined at x = -1 (needs x > 0)"), so no oracle ever works on NaN or Inf.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .errors import DomainError
from .tree import Apply, Const, Node, Var, text, topological

# Floating-point events that make a value meaningless raise; underflow to 0 is ordinary rounding.
STRICT = {"all": "raise", "under": "ignore"}


def forward(root: Node, point: Mapping[str, Any]) -> dict[Node, Any]:
    """The value of every node reachable from root, keyed by node."""
    values: dict[Node, Any] = {}
    with np.errstate(**STRICT):
        for node in topological(root):
            if isinstance(node, Const):
                values[node] = np.float64(node.value)
            elif isinstance(node, Var):
                values[node] = point[node.name]
            else:
                values[node] = apply(node, [values[arg] for arg in node.args])
    return values


def value(root: Node, point: Mapping[str, Any]) -> Any:
    return forward(root, point)[root]


def apply(node: Apply, inputs: list[Any]) -> Any:
    prim = node.prim
    if prim.domain is not None and not np.all(prim.domain(*inputs)):
        condition = prim.domain_text.format(**{p: text(a) for p, a in zip(prim.params, node.args)})
        raise DomainError(f"{node.span.text.strip()} is undefined{describe_inputs(node, inputs)} (needs {condition})",
                          node.span)
    try:
        out = prim.forward(*inputs)
    except FloatingPointError as exc:
        raise DomainError(f"{node.span.text.strip()} {_failure(exc)}{describe_inputs(node, inputs)}", node.span) from None
    if not np.all(np.isfinite(out)):
        raise DomainError(f"{node.span.text.strip()} is not finite{describe_inputs(node, inputs)}", node.span)
    return out


def _failure(exc: FloatingPointError) -> str:
    return "overflows" if "overflow" in str(exc) else "is undefined"


def describe_inputs(node: Apply, inputs: list[Any]) -> str:
    """' at x = -1, y = 0' for the inputs that are not literal numbers."""
    named = [f"{text(arg)} = {format_value(v)}" for arg, v in zip(node.args, inputs)
             if not isinstance(arg, Const)]
    return f" at {', '.join(named)}" if named else ""


def format_value(v: Any) -> str:
    return f"{float(v):.6g}"
