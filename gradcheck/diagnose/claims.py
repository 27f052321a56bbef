"""How a claimed gradient is wrong, established at several random points, not just the one given.

A claim and the true gradient (backprop's) are compared at DIAGNOSIS_POINTS random points around
the given one. What can be said:
- it agrees at the given point only by chance (and disagrees elsewhere);
- it is off by a constant factor (a sign, 2, the batch size m of a mean loss);
- it is transposed;
- it is off by exactly one node's local gradient: missing it, having it once too often, or using
  the node's value where its local gradient belongs (the activation σ(z) for σ'(z)).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..base import randomness
from ..base.budget import checkpoint
from ..base.errors import GradcheckError
from ..inputs.problem import Problem
from ..language.evaluate import STRICT, forward, forward_batch, value
from ..language.shapes import infer_shapes
from ..language.tree import Apply, Const, Node, Var, text, topological
from ..ops.registry import zero_vjp
from ..oracles.backprop import adjoints, vjp
from ..verdict.agreement import Rule
from .patterns import SAME_COMPUTED, constant_ratio

DIAGNOSIS_POINTS = 5
# Tries to find each random point inside f's domain.
DIAGNOSIS_TRIES = 20
SAME = SAME_COMPUTED  # patterns.py says why


def diagnose(problem: Problem, variable: str, agreed: bool, seed: int = 0, rule: Rule | None = None) -> str | None:
    """A sentence on how the claim for `variable` is wrong, or None if nothing can be established.
    rule: the check's agreement rule; a claim that agreed by it, and agrees by it (or to SAME, if
    tighter) at the other points too, did not agree by chance (1e-4 off under float32's rtol of 1e-3)."""
    claim = problem.claims.get(variable)
    if claim is None:
        return None
    if agreed:
        return BY_CHANCE if agrees_by_chance(problem, variable, seed, rule) else None
    with np.errstate(all="ignore"):  # random points may overflow; such points are simply skipped
        samples = _samples(problem, variable, claim, seed)
    if len(samples) < 2:
        return None
    true, claimed = [s[0] for s in samples], [s[1] for s in samples]
    shapes_match = all(np.shape(c) == np.shape(t) for c, t in zip(claimed, true))
    if not shapes_match:
        if all(np.shape(c) == np.shape(t)[::-1] and _same(np.transpose(c), t) for c, t in zip(claimed, true)):
            return "it is transposed: write its transpose (.T)"
        return None
    if all(np.ndim(t) == 2 and np.shape(t)[0] == np.shape(t)[1] and _same(np.transpose(c), t)
           for c, t in zip(claimed, true)):
        return "it is transposed: write its transpose (.T)"
    factor = constant_ratio(claimed, true)
    if factor is not None:
        return _factor_sentence(factor, problem)
    with np.errstate(**STRICT):
        return _local_gradient(problem, variable, samples)


BY_CHANCE = "it agrees at the given point only by chance: at other points it does not (a check at one point is not enough)"


def agrees_by_chance(problem: Problem, variable: str, seed: int = 0, rule: Rule | None = None) -> bool:
    """Whether a claim that agrees at the given point is a formula that is wrong elsewhere: it depends
    on the variables, and at random points near the given one it disagrees with the true gradient. A
    claim that agreed by the check's rule and agrees by it (or to SAME, if tighter) at the other points
    did not agree by chance (1e-4 off under float32's rtol of 1e-3). A number, or an expression of data
    alone, is a claim about this point only. A formula right on one side of a kink only (3*x**2 for
    abs(x)**3) is a wrong formula too: what it misses is the other side."""
    claim = problem.claims.get(variable)
    moved = {v.name for v in problem.wrt}
    if claim is None or not any(isinstance(n, Var) and n.name in moved for n in topological(claim)):
        return False
    with np.errstate(all="ignore"):  # random points may overflow; such points are simply skipped
        samples = _samples(problem, variable, claim, seed)
    if len(samples) < 2:
        return False
    loose = rule if rule is not None and (rule.rtol > SAME or rule.atol > 0) else None
    return not all(np.shape(c) == np.shape(t) and _same(c, t, loose) for t, c, _ in samples)


def _samples(problem: Problem, variable: str, claim: Node, seed: int) -> list[tuple[Any, Any, dict]]:
    """(true gradient, claimed value, node values) at random points near the given one: the first
    DIAGNOSIS_POINTS of DIAGNOSIS_TRIES random points where f, its gradient and the claim are defined."""
    if _batchable(problem, claim):
        try:
            return _batched_samples(problem, variable, claim, seed)
        except (GradcheckError, FloatingPointError):
            pass  # a chosen point's backward pass failed: one point at a time, which skips it
    return _one_by_one(problem, variable, claim, seed)


def _rng(variable: str, seed: int) -> np.random.Generator:
    return randomness.stream(seed, variable, *randomness.DIAGNOSIS)


def _moved(x: Any, noise: Any) -> Any:
    """A random point near x: x moved by half a standard normal times max(1, |x|)."""
    return x + 0.5 * noise * np.maximum(1.0, np.abs(x))


def _batchable(problem: Problem, claim: Node) -> bool:
    """Whether every random point fits in one pass: every value a scalar and every operation of f and
    the claim elementwise (a leading axis of points then runs through them unchanged)."""
    return all(np.ndim(v) == 0 for v in problem.point.values()) and all(
        not isinstance(n, Apply) or (n.prim.elementwise and not n.static and not n.prim.labels)
        for tree in (problem.root, claim) for n in topological(tree))


def _batched_samples(problem: Problem, variable: str, claim: Node, seed: int) -> list[tuple[Any, Any, dict]]:
    """_one_by_one's samples, every try in one vectorized pass: the same random numbers, the same
    points kept (those where f and the claim are defined and finite)."""
    names = [v.name for v in problem.wrt]
    noise = _rng(variable, seed).standard_normal((DIAGNOSIS_TRIES, len(names)))  # the order _one_by_one draws
    point = dict(problem.point)
    for j, name in enumerate(names):
        point[name] = _moved(np.float64(point[name]), noise[:, j])
    try:
        infer_shapes(claim, {k: np.shape(v) for k, v in problem.point.items()})
    except GradcheckError:
        return []  # the claim does not compute anywhere
    values, defined = forward_batch(problem.root, point, DIAGNOSIS_TRIES)
    claimed, claim_defined = forward_batch(claim, point, DIAGNOSIS_TRIES)
    kept = np.flatnonzero(defined & claim_defined)[:DIAGNOSIS_POINTS]
    checkpoint()
    if not kept.size:
        return []
    chosen = {node: v[kept] if np.ndim(v) else v for node, v in values.items()}
    true = adjoints(problem.root, chosen, problem.wrt).get(_var(problem, variable))
    if true is None:
        return []
    true = np.broadcast_to(np.asarray(true, dtype=np.float64), kept.shape)
    claim_values = np.broadcast_to(np.asarray(claimed[claim], dtype=np.float64), (DIAGNOSIS_TRIES,))[kept]
    return [(np.asarray(true[k]), np.asarray(claim_values[k]),
             {node: v[k] if np.ndim(v) else v for node, v in chosen.items()}) for k in range(kept.size)]


def _one_by_one(problem: Problem, variable: str, claim: Node, seed: int) -> list[tuple[Any, Any, dict]]:
    """_samples at one random point at a time (arrays, or operations that are not elementwise)."""
    rng = _rng(variable, seed)
    wrt = [v.name for v in problem.wrt]  # in written order: the random numbers go to the same variables every run
    samples: list[tuple[Any, Any, dict[Any, Any]]] = []
    for _attempt in range(DIAGNOSIS_TRIES):
        checkpoint()
        if len(samples) == DIAGNOSIS_POINTS:
            break
        point = dict(problem.point)
        for name in wrt:
            x = np.asarray(point[name], dtype=np.float64)
            moved = _moved(x, rng.standard_normal(x.shape))
            point[name] = moved[()] if moved.ndim == 0 else moved
        try:
            values = forward(problem.root, point)
            true = adjoints(problem.root, values, problem.wrt).get(_var(problem, variable))
            infer_shapes(claim, {k: np.shape(v) for k, v in point.items()})
            with np.errstate(all="ignore"):
                claimed = np.asarray(value(claim, point), dtype=np.float64)
        except (GradcheckError, FloatingPointError):
            continue
        if true is None or not np.all(np.isfinite(claimed)):
            continue
        samples.append((np.asarray(true, dtype=np.float64), claimed, values))
    return samples


def _var(problem: Problem, name: str):
    return next(v for v in problem.wrt if v.name == name)


def _same(a: Any, b: Any, rule: Rule | None = None) -> bool:
    """a and b agree to SAME relative to b's largest entry, or by `rule` at that size (its rtol and atol)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    if rule is not None:  # the rule's allowance at the larger of the two, as at the given point
        scale = max(scale, float(np.max(np.abs(a))) if a.size else 0.0)
    allowed = SAME * scale if rule is None else rule.allowed(scale, scale, 0.0, 0.0)
    return bool(np.all(np.abs(a - b) <= allowed))


def _factor_sentence(factor: float, problem: Problem) -> str:
    if abs(factor + 1) <= SAME:
        return "it has the wrong sign"
    for m, what in sorted(_averages(problem).items()):
        if m > 1 and abs(factor - m) <= SAME * m:
            if what == "rows":
                return f"it is {m} times too large: the loss is a mean over {m} rows, so it needs 1/{m} (1/m)"
            return f"it is {m} times too large: f is a mean over {m} {what}, so it needs 1/{m}"
        if m > 1 and abs(factor * m - 1) <= SAME:
            return f"it is {m} times too small: it divides by m = {m} once too often"
    for k, words in ((2, "twice"), (0.5, "half")):
        if abs(factor - k) <= SAME * k:
            return f"it is {words} the true gradient (a factor {k:g})"
    return f"it is off by a constant factor of {factor:.6g}"


def _averages(problem: Problem) -> dict[int, str]:
    """How many things f averages over, from its tree: a mean's entries (rows when it reduces a
    matrix along axis 0), softmax_ce's rows, a division by a whole-number constant. A factor equal to
    the batch size is blamed on a missing 1/m only where f has such a mean: sum(W**2) has none."""
    try:
        shapes = infer_shapes(problem.root, {k: np.shape(v) for k, v in problem.point.items()})
    except GradcheckError:
        return {}
    found: dict[int, str] = {}
    for node in topological(problem.root):
        if not isinstance(node, Apply):
            continue
        name, inner = node.prim.name, shapes[node.args[0]] if node.args else ()
        if name == "softmax_ce" and len(inner) == 2:
            found.setdefault(int(inner[0]), "rows")
        elif name == "mean":
            count = int(np.prod(inner, dtype=np.int64)) // max(int(np.prod(shapes[node], dtype=np.int64)), 1)
            rows = len(inner) >= 1 and count == inner[0] and dict(node.static).get("axis") in (0, (0,))
            found.setdefault(count, "rows" if rows else "entries")
        elif name == "div" and isinstance(node.args[1], Const) and float(node.args[1].value).is_integer():
            found.setdefault(int(node.args[1].value), "rows" if int(node.args[1].value) in
                             {np.shape(v)[0] for v in problem.point.values() if np.ndim(v)} else "entries")
    return found


def _local_gradient(problem: Problem, variable: str, samples: list) -> str | None:
    """Scalar paths: is the claim off by exactly one node's local gradient?"""
    if any(np.ndim(t) for t, _, _ in samples):
        return None
    for node in reversed(topological(problem.root)):
        checkpoint()
        if not isinstance(node, Apply) or not node.prim.elementwise:
            continue
        for i, arg in enumerate(node.args):
            if node.prim.vjps[i] is zero_vjp:
                continue
            locals_, values_ = [], []
            try:
                for _, _, values in samples:
                    inputs = [values[a] for a in node.args]
                    if np.ndim(values[node]) or any(np.ndim(v) for v in inputs):
                        raise ValueError
                    locals_.append(float(vjp(node, i, np.float64(1.0), values[node], inputs)))
                    values_.append(float(values[node]))
            except (ValueError, GradcheckError, FloatingPointError):
                continue
            if all(abs(loc - 1.0) <= SAME for loc in locals_):
                continue  # an add gate: a local gradient of 1 changes nothing
            true = [float(t) for t, _, _ in samples]
            claimed = [float(c) for _, c, _ in samples]
            local = _local_text(node, i)
            where = f"the local gradient of {text(node)} with respect to {text(arg)}"
            if all(_close(c * loc, t) for c, loc, t in zip(claimed, locals_, true)):
                return f"it is missing the factor {local}, {where}"
            if all(_close(c, t * loc) for c, loc, t in zip(claimed, locals_, true)):
                return f"it has an extra factor {local}, {where}"
            if all(v != 0 and _close(c * loc / v, t) for c, loc, v, t in zip(claimed, locals_, values_, true)):
                return (f"it is missing the local gradient of {text(node)}, {local}: it uses the value of "
                        f"{text(node)} where its local gradient belongs")
    return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= SAME * max(abs(a), abs(b), 1e-300)


def _local_text(node: Apply, i: int) -> str:
    """The registry's derivative text with the node's own inputs in place of its parameter names."""
    formula = node.prim.derivatives[i]
    for param, arg in zip(node.prim.params, node.args):
        written = text(arg)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*|[0-9.]+", written):
            written = f"({written})"
        formula = re.sub(rf"\b{param}\b", written, formula)
    return formula
