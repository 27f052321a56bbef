"""`gradcheck explain`: the backward pass written out, from f down to one variable.

Each step is one use of a registry rule on a path from f to the variable: the node, the rule
applied (sum, product, quotient, chain; matmul's G @ b.T), the local gradient with the node's own
inputs written in, the shapes of the factors, the upstream gradient G so far and what the input
receives. The last line is the formula, checked at the point like every derived formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base.errors import SpecError
from ..inputs.problem import Spec, build
from ..language.evaluate import forward
from ..language.shapes import infer_shapes
from ..language.tree import Apply, Node, Var, depends_on, topological
from ..ops.arrays import format_shape
from ..ops.terms import Term, leaf
from ..oracles.backprop import backprop
from ..verdict.agreement import Allowance, rule_for
from .matrix_form import Derivation, chain_rule_step, checked, derive, local_term, term_of
from .matrix_print import replace_named, show


@dataclass(frozen=True)
class ExplainStep:
    node: str  # the node as written (its --let name = its text, if it has one)
    node_shape: tuple[int, ...]
    rule: str  # "sum rule", "product rule", "chain rule through relu", "matmul rule"
    input: str  # the input the gradient is sent to
    input_shape: tuple[int, ...]
    local: str  # an elementwise node's local derivative with its inputs written in: "1", "x0", "step(X @ W1)"
    applied: str  # the rule applied to the upstream gradient G: "G * x0", "G @ W2.T"
    upstream: str  # G: ∂f/∂node so far
    received: str  # what the input receives
    note: str = ""  # where an elementwise product comes from, why a local gradient of 1 changes nothing


@dataclass
class Explanation:
    expr: str
    variable: str
    shape: tuple[int, ...]
    steps: list[ExplainStep] = field(default_factory=list)
    formula: str | None = None
    withheld: str | None = None  # why there is no formula
    check: str = ""  # how the formula compares with backprop at the point


def explain(expr: str, wrt: str, at: Any = None, let: Any = None, seed: int = 0) -> Explanation:
    from types import SimpleNamespace

    import numpy as np


    if not isinstance(wrt, str) or "," in wrt or not wrt.strip():
        raise SpecError("explain takes one variable: --wrt NAME")
    problem = build(Spec(expr, at=at, let=let, wrt=wrt.strip()), seed)
    var = problem.wrt[0]
    shapes = infer_shapes(problem.root, {n: np.shape(v) for n, v in problem.point.items()})
    derivation = derive(problem.root, shapes, [var], problem.lets)
    out = Explanation(expr, var.name, tuple(shapes[var]))
    out.steps = _steps(problem.root, var, derivation, shapes)
    out.withheld = derivation.withheld.get(var.name)
    formula = derivation.formulas.get(var.name)
    if formula is not None:  # never shown unchecked: compared with backprop at the point
        exact = backprop(problem.root, forward(problem.root, problem.point), [var])[var.name]
        column = SimpleNamespace(columns={"backprop": exact})
        out.formula, out.withheld = checked(derivation, problem, {var.name: column},
                                            {var.name: Allowance(rule_for(None, None))})[var.name]
        out.check = "checked at the point: it agrees with backprop" if out.formula else ""
    return out


def _steps(root: Node, var: Var, derivation: Derivation, shapes) -> list[ExplainStep]:
    on_path = depends_on(topological(root), [var])
    fwd = derivation.forward
    steps = []
    for step in derivation.steps:
        node, arg = step.node, step.node.args[step.index]
        if arg not in on_path:
            continue
        prim = node.prim
        steps.append(ExplainStep(
            node=_named(_expanded(node, fwd), derivation.names), node_shape=tuple(shapes[node]),
            rule=rule_name(prim), input=_named(_expanded(arg, fwd), derivation.names),
            input_shape=tuple(shapes[arg]), local=_local_derivative(node, step.index, fwd, derivation.names),
            applied=_applied(node, step.index, fwd, derivation.names),
            upstream=show(replace_named(step.upstream, derivation.names)),
            received=show(replace_named(step.contribution, derivation.names)),
            note=_note(node, step.index, fwd, tuple(shapes[node]))))
    return steps


def rule_name(prim) -> str:
    """The rule in a course's words, from the registry's own description of the primitive."""
    if prim.operator and prim.arity == 1:
        return "negation rule"
    if prim.elementwise and not prim.operator:
        return f"chain rule through {prim.name}"
    words = prim.summary.split(";")[0]
    return f"{words} rule" if prim.operator and " " not in words else f"{prim.name} rule"


def _expanded(node: Node, fwd: dict[Node, Term]) -> Term:
    """The node's operation, even where f uses its --let name."""

    if isinstance(node, Apply) and node.label:
        return term_of(node, [fwd[a] for a in node.args], fwd[node].shape)
    return fwd[node]


def _local_derivative(node: Apply, i: int, fwd: dict[Node, Term], names: dict[str, str]) -> str:
    """An elementwise node's ∂node/∂input, the registry's `derivatives` with the inputs written in
    (the add gate's 1, the multiply gate's other input); "" for array primitives (see `applied`)."""

    if not node.prim.elementwise:
        return ""
    return show(replace_named(local_term(node.prim, i, [fwd[a] for a in node.args]), names))


def _applied(node: Apply, i: int, fwd: dict[Node, Term], names: dict[str, str]) -> str:
    """The rule applied to a symbolic upstream gradient G: `G @ W2.T`, `G * step(X @ W1)`."""

    G = leaf("G", fwd[node].shape)
    return show(replace_named(chain_rule_step(node, i, G, fwd)[0], names))


def _named(t: Term, names: dict[str, str]) -> str:
    """A node as written, its --let name first when it has one: H = relu(X @ W1)."""
    whole = replace_named(t, names)
    if whole.kind == "leaf" and whole.text != show(t) and t.args:
        inner = Term(t.kind, t.text, tuple(replace_named(a, names) for a in t.args), t.shape, t.kwargs)
        return f"{whole.text} = {show(inner)}"
    return show(whole)


def _note(node: Apply, i: int, fwd: dict[Node, Term], shape: tuple[int, ...]) -> str:

    prim = node.prim
    if prim.name == "matmul" and len(fwd[node.args[0]].shape) == len(fwd[node.args[1]].shape) == 2:
        other = fwd[node.args[1 - i]]
        flipped = format_shape(tuple(reversed(other.shape)))
        factors = (f"G {format_shape(shape)} @ {show(other.T)} {flipped}" if i == 0
                   else f"{show(other.T)} {flipped} @ G {format_shape(shape)}")
        return f"the shapes fix the order and the transpose: {factors} = {format_shape(fwd[node.args[i]].shape)}"
    if prim.operator == "+" or (prim.operator == "-" and prim.arity == 2 and i == 0):
        return "an add gate's local gradient is 1: G passes through unchanged"
    if prim.elementwise and not prim.operator and len(fwd[node].shape) >= 1:
        local = show(local_term(prim, i, [fwd[a] for a in node.args]))
        return (f"the elementwise product ∘ comes from here: every entry of G is multiplied by "
                f"{prim.name}'s own derivative at that entry: G ∘ {local}")
    return ""
