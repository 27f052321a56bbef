"""A wrong matrix claim, diagnosed against the structure of the derived formula.

The derived gradient is derived again with one classic mistake made on purpose at one step of the
backward pass (relu's step mask left out, σ where σ' belongs, W2 where W2.T belongs, the factors of
@ swapped, the 1/m of the mean loss left out); each such formula and the claim are evaluated at
several random points, and the mistake whose formula matches the claim everywhere is named.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..base import randomness
from ..base.errors import GradcheckError
from ..diagnose.patterns import SAME_COMPUTED, same
from ..language.evaluate import value
from ..language.parser import Scope, parse
from ..language.shapes import infer_shapes
from ..language.tree import Apply, depends_on, topological, variables
from ..ops.terms import call
from .matrix_form import derive, local_term
from .matrix_print import show

DIAGNOSIS_POINTS = 4  # random points the claim and each mistake are compared at


def mistakes(node: Apply, i: int, fwd: dict) -> list[tuple[Callable[..., Any], str]]:
    """The classic mistakes at one step, each as a replacement rule and the sentence that names it."""
    prim, inputs = node.prim, [fwd[a] for a in node.args]
    written = show(fwd[node])
    out: list[tuple[Callable[..., Any], str]] = []
    if prim.elementwise and not prim.operator and prim.arity == 1:
        local = show(local_term(prim, i, inputs))
        out.append((lambda G, ans, *xs: G,
                    f"it is missing the local gradient of {written}: multiply elementwise by {local}"))
        out.append((lambda G, ans, *xs: G * ans,
                    f"it uses {written} (σ) where its derivative {local} (σ') belongs"))
    if prim.name == "matmul" and all(len(x.shape) == 2 for x in inputs):
        a, b = (show(x) for x in inputs)
        if i == 0:
            out.append((lambda G, ans, x, w: G @ w, f"it has {b} where {b}.T belongs (G @ {b}.T, not G @ {b})"))
            out.append((lambda G, ans, x, w: w.T @ G,
                        f"the factors of @ are in the wrong order: G @ {b}.T, not {b}.T @ G"))
        else:
            out.append((lambda G, ans, x, w: x @ G, f"it has {a} where {a}.T belongs ({a}.T @ G, not {a} @ G)"))
            out.append((lambda G, ans, x, w: G @ x.T,
                        f"the factors of @ are in the wrong order: {a}.T @ G, not G @ {a}.T"))
    if prim.name == "softmax_ce":
        m = inputs[0].shape[0] if len(inputs[0].shape) == 2 else 1
        out.append((lambda G, ans, z, y: G * (call("softmax", z, out=z.shape)
                                              - call("onehot", y, out=y.shape + (z.shape[-1],), k=z.shape[-1])),
                    f"it is missing the 1/m of the mean loss: divide by m = {m}"))
    return out


def diagnose_matrix(problem: Any, variable: str, seed: int = 0) -> str | None:
    """The name of the classic mistake the claim for `variable` makes, or None."""
    claim = problem.claims.get(variable)
    var = next((v for v in problem.wrt if v.name == variable), None)
    if claim is None or var is None or np.ndim(problem.point[variable]) == 0:
        return None
    shapes = infer_shapes(problem.root, {n: np.shape(v) for n, v in problem.point.items()})
    base = derive(problem.root, shapes, [var], problem.lets)
    if variable not in base.formulas:
        return None
    on_path = depends_on(topological(problem.root), [var])
    points = _points(problem, seed, variable)
    with np.errstate(all="ignore"):
        claimed = [_value(claim, p) for p in points]
    if any(c is None for c in claimed):
        return None
    for step in base.steps:
        if step.node.args[step.index] not in on_path:
            continue
        for rule, sentence in mistakes(step.node, step.index, base.forward):
            def override(node, i, step=step, rule=rule):
                return rule if node is step.node and i == step.index else None

            try:
                wrong = derive(problem.root, shapes, [var], problem.lets, override).formulas.get(variable)
                tree = parse(wrong, origin="a mistake", scope=_scope(problem)) if wrong else None
            except (GradcheckError, ValueError):
                continue
            if tree is None:
                continue
            with np.errstate(all="ignore"):
                got = [_value(tree, p) for p in points]
            if all(g is not None and _same(g, c) for g, c in zip(got, claimed)):
                return sentence
    return None


def _scope(problem: Any) -> Scope:
    return Scope(lets=dict(problem.lets), variables={v.name: v for v in variables(problem.root)}, closed=True)


def _points(problem: Any, seed: int, variable: str) -> list[dict]:
    rng = randomness.stream(seed, variable, *randomness.MATRIX_DIAGNOSIS)
    out = []
    for _ in range(DIAGNOSIS_POINTS):
        point = dict(problem.point)
        for v in problem.wrt:
            x = np.asarray(point[v.name], dtype=np.float64)
            point[v.name] = x + 0.5 * rng.standard_normal(x.shape) * np.maximum(1.0, np.abs(x))
        out.append(point)
    return out


def _value(tree, point) -> Any:
    try:
        got = np.asarray(value(tree, point), dtype=np.float64)
    except (GradcheckError, FloatingPointError, ValueError):
        return None
    return got if np.all(np.isfinite(got)) else None


def _same(a: Any, b: Any) -> bool:
    return same(a, b, SAME_COMPUTED)


__all__ = ["diagnose_matrix", "mistakes"]
