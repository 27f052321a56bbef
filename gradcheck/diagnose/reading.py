"""How an expression was read: fully parenthesized, and where the parse differs from what was likely meant.

The seed question's `1 / 1 + math.exp(-product)` computes (1/1) + e^(-t), not the sigmoid
1/(1 + e^(-t)): / binds tighter than +. A division written without parentheses whose result is
then added to (`a / b + c`) is such a classic slip; `slips` names each, with the likelier reading,
and `likelier_claim` says when a claim that disagrees with f is right for that likelier reading.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..base.errors import GradcheckError
from ..language.evaluate import forward
from ..language.tree import Apply, Const, Node, Var, text, topological
from ..ops.registry import BY_NAME
from ..oracles.backprop import backprop


@dataclass(frozen=True)
class Slip:
    node: Apply  # the a / b + c as parsed
    likelier: Node  # a / (b + c)
    sentence: str


def parenthesized(root: Node) -> str:
    """Every operation in parentheses, as the parser read it: ((1 / 1) + exp((-z)))."""
    written: dict[Node, str] = {}
    for node in topological(root):  # iterative: a long chain of + cannot exhaust the stack
        if not isinstance(node, Apply) or node.label:
            written[node] = text(node) if not isinstance(node, Const) else node.span.text.strip()
            continue
        args = [written[a] for a in node.args]
        prim = node.prim
        if prim.operator and prim.arity == 2:
            written[node] = f"({args[0]} {prim.operator} {args[1]})"
        elif prim.operator:
            written[node] = f"({prim.operator}{args[0]})"
        elif prim.name == "transpose" and node.kwargs.get("axes") is None:
            written[node] = f"{args[0]}.T"
        elif prim.called and not prim.variadic and not node.static:
            written[node] = f"{prim.name}({', '.join(args)})"
        else:
            written[node] = node.span.text.strip()
    return written[root]


def slips(root: Node) -> list[Slip]:
    out = []
    for node in topological(root):
        if not (isinstance(node, Apply) and node.prim.name in ("add", "sub") and not node.label):
            continue
        left = node.args[0]
        if not (isinstance(left, Apply) and left.prim.name == "div" and not left.label) or _in_parentheses(left):
            continue
        a, b = left.args
        c = node.args[1]
        likelier = Apply(BY_NAME["div"], (a, Apply(node.prim, (b, c), node.span)), node.span)
        sentence = (f"{node.span.text.strip()} is read as ({text(left)}) {node.prim.operator} {text(c)}: "
                    f"/ binds tighter than {node.prim.operator}")
        name = _known_form(likelier)
        if not name and not (isinstance(b, Const) and b.value == 1):
            continue  # x / 2 + y is ordinary; only a division by 1, or a known form, is a likely slip
        if name:
            sentence += f"; a {name} is {text(a)}/({text(b)} {node.prim.operator} {text(c)})"
        out.append(Slip(node, likelier, sentence))
    return out


def _in_parentheses(node: Node) -> bool:
    source, start = node.span.source.text, node.span.start
    before = source[:start].rstrip()
    return before.endswith("(")


def _known_form(node: Apply) -> str | None:
    """1/(1 + exp(-t)): the sigmoid."""
    a, denominator = node.args
    if isinstance(a, Const) and a.value == 1 and isinstance(denominator, Apply) and denominator.prim.name == "add":
        one, e = denominator.args
        if isinstance(one, Const) and one.value == 1 and isinstance(e, Apply) and e.prim.name == "exp" \
                and isinstance(e.args[0], Apply) and e.args[0].prim.name == "neg":
            return "sigmoid"
    return None


def sigmoid_argument(node: Node) -> str:
    """The z of a node known to be 1/(1 + exp(-z)) (see _known_form)."""
    inner: Any = node
    for position in (1, 1, 0, 0):
        inner = inner.args[position]
    return text(inner)


def rebuilt(root: Node, slip: Slip) -> Node:
    """f with the slip's node replaced by its likelier reading (the other nodes shared)."""
    new: dict[Node, Node] = {slip.node: slip.likelier}
    for node in topological(root):
        if node in new or not isinstance(node, Apply):
            continue
        args = tuple(new.get(a, a) for a in node.args)
        if any(x is not y for x, y in zip(args, node.args)):
            new[node] = replace(node, args=args)
    return new.get(root, root)


def likelier_claim(problem: Any, variable: str, claimed: Any) -> str | None:
    """If the claim is right for the likelier reading of a slip, say so."""
    import numpy as np


    if claimed is None:
        return None
    for slip in slips(problem.root):
        alternative = rebuilt(problem.root, slip)
        try:
            values = forward(alternative, problem.point)
            want = backprop(alternative, values, [v for v in problem.wrt if v.name == variable])[variable]
        except GradcheckError:
            continue
        if np.allclose(np.asarray(claimed, dtype=np.float64), want, rtol=1e-9, atol=1e-12):
            assert isinstance(slip.likelier, Apply)
            name = _known_form(slip.likelier)
            right_for = f"sigmoid({sigmoid_argument(slip.likelier)})" if name == "sigmoid" else parenthesized(slip.likelier)
            left, right = slip.node.args
            return (f"your claim is right for {right_for}; f as written is ({text(left)}) "
                    f"{slip.node.prim.operator} {text(right)}")
    return None


__all__ = ["Slip", "parenthesized", "slips", "likelier_claim", "Var"]
