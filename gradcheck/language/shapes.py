"""Shapes, inferred for every node before any number is computed.

So that `X @ W` with X (3,2) and W (3,2) is reported as input that does not fit, naming the node and
both shapes, instead of surfacing as a numpy traceback halfway through an oracle.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..base.errors import ShapeError
from ..base.limits import MAX_ENTRIES, MAX_NODE_DIMENSIONS
from ..ops.arrays import broadcast_shape, format_shape
from .tree import Apply, Const, Node, Var, text, topological

Shape = tuple[int, ...]


def infer_shapes(root: Node, shapes: Mapping[str, Shape]) -> dict[Node, Shape]:
    """The shape of every node reachable from root, given the variables' shapes."""
    found: dict[Node, Shape] = {}
    for node in topological(root):
        if isinstance(node, Const):
            found[node] = ()
        elif isinstance(node, Var):
            found[node] = tuple(shapes[node.name])
        else:
            found[node] = _apply(node, [found[arg] for arg in node.args])
            if len(found[node]) > MAX_NODE_DIMENSIONS:
                raise ShapeError(f"{node.span.text.strip()[:60]} would have {len(found[node])} dimensions; "
                                 f"the limit is {MAX_NODE_DIMENSIONS}", node.span)
            entries = int(np.prod(found[node], dtype=np.float64))
            if entries > MAX_ENTRIES:
                raise ShapeError(f"{node.span.text.strip()[:60]} would have {entries:,} entries; "
                                 f"the limit is {MAX_ENTRIES:,}", node.span)
    return found


def _apply(node: Apply, inputs: list[Shape]) -> Shape:
    rule = node.prim.shape or broadcast_shape
    try:
        return tuple(rule(*inputs, **node.kwargs))
    except ValueError as exc:
        operands = ", ".join(f"{text(arg)} is {format_shape(s)}" for arg, s in zip(node.args, inputs)
                             if not isinstance(arg, Const))
        raise ShapeError(f"{node.span.text.strip()}: {exc} ({operands})", node.span) from None
