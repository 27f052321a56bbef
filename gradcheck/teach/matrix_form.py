"""Matrix-form gradients: symbolic reverse mode over the tree, each primitive's matrix rule from the registry.

The backward pass of backprop.py, with expressions (matrix_terms.Term) where backprop has numbers:
the gradient of f is the expression `1`, and each node sends its gradient G to its inputs through
its primitive's `matrix` rules (`G @ b.T`, `G * step(x)`). Broadcasting is undone in one place
(`unbroadcast`: a sum over the stretched axes). The result is text in gradcheck's own language,
with the --let names where they fit: ∂f/∂W2 = H.T @ (softmax(H @ W2) - onehot(y, 3)) / 8.

These formulas come from gradcheck's own rules, so they are never shown unchecked: `checked`
parses each back with gradcheck's parser, evaluates it at the point and compares it with the
exact gradient columns by the one agreement rule; a formula that disagrees is withheld, with why.
The symbolic oracle's column stays SymPy's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..base.errors import GradcheckError
from ..base.source import Source, Span
from ..language.evaluate import value
from ..language.parser import Scope, parse
from ..language.shapes import infer_shapes
from ..language.tree import Apply, Const, Node, Var, depends_on, text, topological, variables
from ..ops.terms import Term, broadcast, call, leaf, num
from ..verdict.agreement import Allowance
from ..verdict.judge import compare
from .matrix_print import replace_named, show


@dataclass(frozen=True)
class Step:
    """One use of a rule in the backward pass: node's gradient G sent to its input `index`."""

    node: Apply
    index: int
    upstream: Term  # G, the gradient of f with respect to node
    contribution: Term  # what the input received from this node
    rule: str  # the rule, in words: "matmul: G @ b.T"


@dataclass
class Derivation:
    formulas: dict[str, str] = field(default_factory=dict)  # variable -> its gradient, as text
    withheld: dict[str, str] = field(default_factory=dict)  # variable -> why there is no formula
    steps: list[Step] = field(default_factory=list)
    terms: dict[str, Term] = field(default_factory=dict)
    forward: dict[Node, Term] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # a --let body's text -> its name


class NoMatrixForm(Exception):
    """A primitive on the way has no matrix rule."""


def derive(root: Node, shapes: Mapping[Node, tuple[int, ...]], wrt: list[Var],
           lets: Mapping[str, Node] | None = None, override: Any = None) -> Derivation:
    """The gradient of root with respect to each variable of wrt, as expressions.

    shapes: every node's shape (shapes.infer_shapes). override: (node, input index) -> a rule used
    in place of the registry's, or None (matrix_diagnosis.py derives a classic mistake this way)."""
    order = topological(root)
    needs = depends_on(order, wrt)
    out = Derivation()
    fwd = out.forward
    for node in order:
        fwd[node] = forward_term(node, fwd, shapes[node])
    grads: dict[Node, Term] = {root: num(1)}
    blocked: dict[Node, str] = {}
    for node in reversed(order):
        if not isinstance(node, Apply) or (node not in grads and node not in blocked):
            continue
        for i, arg in enumerate(node.args):
            if arg not in needs or i in node.prim.labels:
                continue
            if node in blocked:
                blocked.setdefault(arg, blocked[node])
                continue
            G = grads[node]
            try:
                replaced = override(node, i) if override is not None else None
                contribution, rule = (replaced(G, fwd[node], *[fwd[a] for a in node.args], **node.kwargs),
                                      "replaced") if replaced else chain_rule_step(node, i, G, fwd)
            except NoMatrixForm as exc:
                blocked.setdefault(arg, str(exc))
                continue
            contribution = unbroadcast(contribution, shapes[arg])
            out.steps.append(Step(node, i, G, contribution, rule))
            grads[arg] = contribution if arg not in grads else grads[arg] + contribution
    names = out.names = _let_texts(lets or {}, shapes)
    for v in wrt:
        if v in blocked:
            out.withheld[v.name] = blocked[v]
        elif v not in grads:
            out.withheld[v.name] = "f does not depend on it"
        else:
            term = replace_named(_shaped(grads[v], shapes[v]), names)
            out.terms[v.name] = term
            out.formulas[v.name] = show(term)
    return out


def chain_rule_step(node: Apply, i: int, G: Term, fwd: dict[Node, Term]) -> tuple[Term, str]:
    prim = node.prim
    inputs = [fwd[a] for a in node.args]
    rule = prim.matrix[i] if prim.matrix is not None else None
    if rule is not None:
        got = rule(G, fwd[node], *inputs, **node.kwargs)
        if got is None:
            raise NoMatrixForm(f"no matrix form (primitive {prim.name} with these shapes)")
        return got, f"{prim.name}: {prim.derivatives[i]}" if not prim.elementwise else \
            f"{prim.name}: G * {prim.derivatives[i]}"
    if prim.elementwise:  # G times the registry's local derivative, with the node's inputs in place
        return G * local_term(prim, i, inputs), f"{prim.name}: G * {prim.derivatives[i]}"
    raise NoMatrixForm(f"no matrix form (primitive {prim.name})")


def local_term(prim, i: int, inputs: list[Term]) -> Term:
    """The registry's `derivatives` text as a Term, the node's inputs for its parameters."""

    placeholders = {p: _Placeholder(p) for p in prim.params}
    tree = parse(prim.derivatives[i], origin=f"the derivative of {prim.name}",
                 scope=Scope(lets=dict(placeholders)))
    by_param = dict(zip(prim.params, inputs))
    built: dict[int, Term] = {}
    for node in topological(tree):
        if isinstance(node, Var) and node.name in by_param:
            built[id(node)] = by_param[node.name]
        else:
            built[id(node)] = term_of(node, [built[id(a)] for a in getattr(node, "args", ())],
                                       _shape(node, [built[id(a)] for a in getattr(node, "args", ())]))
    return built[id(tree)]


def _Placeholder(name: str) -> Var:

    return Var(name, Span(Source(name, name), 0, len(name)))


def _shape(node: Node, args: list[Term]) -> tuple[int, ...]:

    return broadcast(*(a.shape for a in args)) if args else ()


def forward_term(node: Node, fwd: dict[Node, Term], shape: tuple[int, ...]) -> Term:
    """The expression of a node as a Term: its --let name, its variable, or its operation."""
    if isinstance(node, Var):
        return leaf(node.name, shape)
    if isinstance(node, Const):
        return leaf(node.name, ()) if node.name else num(node.value)
    if node.label:
        return leaf(node.label, shape)
    return term_of(node, [fwd[a] for a in node.args], shape)


def term_of(node: Node, args: list[Term], shape: tuple[int, ...]) -> Term:
    """The operation as written, not simplified (f as the user wrote it)."""
    if isinstance(node, Const):
        return leaf(node.name, ()) if node.name else num(node.value)
    if isinstance(node, Var):
        return leaf(node.name, shape)
    prim = node.prim
    if prim.operator and prim.arity == 2:
        return Term("op", prim.operator, tuple(args), shape)
    if prim.operator:
        return Term("neg", prim.operator, tuple(args), shape)
    if prim.name == "transpose" and node.kwargs.get("axes") is None:
        return Term("T", ".T", tuple(args), shape)
    if prim.called and not prim.variadic:
        return call(prim.name, *args, out=shape, **node.kwargs)
    return leaf(text(node), shape, atomic=False)  # x[1, :], S[arange(4), y]: as written


def unbroadcast(t: Term, shape: tuple[int, ...]) -> Term:
    """The gradient summed over the axes broadcasting added or stretched, so it has the input's shape."""
    if t.shape == tuple(shape):
        return t
    if not shape:
        return call("sum", t, out=())
    extra = len(t.shape) - len(shape)
    if extra > 0:
        t = call("sum", t, out=t.shape[extra:], axis=0 if extra == 1 else tuple(range(extra)))
    stretched = tuple(a for a, n in enumerate(shape) if n == 1 and a < len(t.shape) and t.shape[a] != 1)
    if stretched:
        kept = tuple(1 if a in stretched else n for a, n in enumerate(t.shape))
        t = call("sum", t, out=kept, axis=stretched[0] if len(stretched) == 1 else stretched, keepdims=True)
    return _shaped(t, shape)


def _shaped(t: Term, shape: tuple[int, ...]) -> Term:
    """A gradient that is smaller than its variable (f = sum(x * 2): G is 2) spread over it."""
    if t.shape == tuple(shape):
        return t
    return t * call("ones", out=shape, shape=tuple(shape))


def _let_texts(lets: Mapping[str, Node], shapes: Mapping[Node, tuple[int, ...]]) -> dict[str, str]:
    """The text of each --let body, written out in full and with the earlier names, so that a
    rule's `softmax(H @ W2)` is written S when S is --let S="softmax(H @ W2)", whether or not f
    itself was written with the names."""
    out: dict[str, str] = {}
    for name, node in lets.items():
        if not isinstance(node, Apply):
            continue
        for use_names in (False, True):
            built: dict[Node, Term] = {}
            for n in topological(node):
                shape = shapes.get(n, ())
                if use_names and n is not node and isinstance(n, Apply) and n.label:
                    built[n] = leaf(n.label, shape)
                else:
                    built[n] = term_of(n, [built[a] for a in getattr(n, "args", ())], shape)
            out.setdefault(show(built[node]), name)
    return out


def checked(derivation: Derivation, problem: Any, gradients: Mapping[str, Any],
            allowances: Mapping[str, Allowance]) -> dict[str, tuple[str | None, str | None]]:
    """Each derived formula parsed back, evaluated at the point and compared with the exact columns
    (symbolic, backprop) by the agreement rule: (formula, None) if it agrees, (None, why) if not."""
    import numpy as np


    scope_vars = {v.name: v for v in variables(problem.root)}
    out: dict[str, tuple[str | None, str | None]] = {}
    for name, reason in derivation.withheld.items():
        out[name] = (None, reason)
    for name, formula in derivation.formulas.items():
        try:
            tree = parse(formula, origin=f"the derived ∂f/∂{name}",
                         scope=Scope(lets=dict(problem.lets), variables=dict(scope_vars), closed=True))
            got = infer_shapes(tree, {n: np.shape(v) for n, v in problem.point.items()})[tree]
            if got != np.shape(problem.point[name]):
                out[name] = (None, f"withheld: the derived formula has shape {got}")
                continue
            evaluated = np.asarray(value(tree, problem.point), dtype=np.float64)
        except GradcheckError as exc:
            out[name] = (None, f"withheld: the derived formula does not compute ({exc})")
            continue
        columns: dict[str, Any] = {"matrix formula": evaluated}
        for column in ("symbolic", "backprop"):
            v = gradients[name].columns.get(column)
            if isinstance(v, (float, np.ndarray, np.generic)):
                columns[column] = v
        result = compare(columns, allowances[name])
        if result.agree:
            out[name] = (formula, None)
        else:
            out[name] = (None, f"withheld: the derived formula disagrees ({result.verdict})")
    return out


def attach_matrix_formulas(problem: Any, gradients: Mapping[str, Any], allowances: Mapping[str, Allowance]) -> None:
    """--formulas: each gradient's matrix form, derived and checked, on its GradientResult."""
    import numpy as np


    shapes = infer_shapes(problem.root, {n: np.shape(v) for n, v in problem.point.items()})
    for node in problem.lets.values():  # a --let f does not use still names its text
        shapes.update({k: v for k, v in infer_shapes(node, {n: np.shape(v) for n, v in problem.point.items()}).items()
                       if k not in shapes})
    derivation = derive(problem.root, shapes, problem.wrt, problem.lets)
    for name, (formula, note) in checked(derivation, problem, gradients, allowances).items():
        gradients[name].matrix_formula = formula
        gradients[name].matrix_note = note
