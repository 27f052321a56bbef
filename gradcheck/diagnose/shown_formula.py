"""The formula shown beside a wrong claim ("the right one: ..."), checked before it is shown.

SymPy writes it, and the symbolic store keeps it as text (oracles/symbolic.formula); text read back
from disk could say anything. So, like the matrix forms (matrix_form.checked), a formula is shown only
once gradcheck's own parser has read it (SymPy's names for step, maximum, minimum, abs and the inverse
trigonometric functions read as gradcheck's), it computes at the point and agrees there with the exact
column (symbolic, else backprop) by the check's rule, and it agrees with backprop at AROUND random
points near the given one (a formula right at the point alone is not the derivative). Each side's
rounding is measured by evaluating it again with every step moved by an ulp (evaluate's shake). A
stored formula that fails is replaced by SymPy's own; one that still fails, or does not parse, is not
shown.
"""

from __future__ import annotations

import numpy as np

from ..base import randomness
from ..base.errors import GradcheckError
from ..base.source import Source
from ..inputs.problem import Problem
from ..language.evaluate import forward
from ..language.parser import Scope, parse, tokenize
from ..language.shapes import infer_shapes
from ..language.tree import variables
from ..oracles.backprop import adjoints
from ..oracles.symbolic import formula
from ..verdict.agreement import Rule
from ..verdict.result import GradientResult

# Random points near the given one where the formula must agree with backprop too.
AROUND = 3
# What ends the evaluation of f or the formula at a point: outside a domain, an overflow, a NaN.
_OUTSIDE = (GradcheckError, ArithmeticError, ValueError, TypeError)

# SymPy's printed names of functions gradcheck's language spells otherwise.
SYMPY_NAMES = {"Heaviside": "step", "Max": "maximum", "Min": "minimum", "Abs": "abs", "atan": "arctan",
               "asin": "arcsin", "acos": "arccos", "E": "e"}


def right_formula(problem: Problem, g: GradientResult, seed: int, rule: Rule) -> str | None:
    """SymPy's formula of ∂f/∂variable, if it checks; else None."""

    return formula(problem.root, problem.point, g.variable, problem.lets,
                   accept=lambda text: agrees(text, problem, g, seed, rule))


def agrees(text: str, problem: Problem, g: GradientResult, seed: int, rule: Rule) -> bool:
    """Whether the formula, read by gradcheck's parser, is ∂f/∂variable at the point and around it."""

    exact = next((g.columns[c] for c in ("symbolic", "backprop") if isinstance(g.columns.get(c), (float, np.floating))),
                 None)
    if exact is None:
        return False
    scope = Scope(lets=dict(problem.lets), variables={v.name: v for v in variables(problem.root)}, closed=True)
    try:
        tree = parse(_in_gradcheck_names(text), origin=f"the formula of ∂f/∂{g.variable}", scope=scope)
        if infer_shapes(tree, {n: np.shape(v) for n, v in problem.point.items()})[tree] != ():
            return False
        value, rounding = _formula_at(tree, problem.point, rule)
    except _OUTSIDE:
        return False
    if not _same(value, rounding, float(exact), 0.0, rule):
        return False
    rng = randomness.stream(seed, g.variable, *randomness.SHOWN_FORMULA)
    moved = [v.name for v in problem.wrt]
    for _ in range(AROUND):
        point = dict(problem.point)
        with np.errstate(all="ignore"):  # as the diagnosis moves them: half a standard normal times max(1, |x|)
            for name in moved:
                point[name] = point[name] + 0.5 * rng.standard_normal() * max(1.0, abs(float(point[name])))
        if not all(np.isfinite(point[name]) for name in moved):
            continue
        try:
            claimed, claimed_rounding = _formula_at(tree, point, rule)
            true, true_rounding = _gradient_at(problem, g.variable, point, rule)
        except _OUTSIDE:
            continue  # outside f's domain: another point
        if not _same(claimed, claimed_rounding, true, true_rounding, rule):
            return False
    return True


def _formula_at(tree, point, rule: Rule) -> tuple[float, float]:
    return _with_rounding(lambda shake: forward(tree, point, shake=shake)[tree], rule)


def _gradient_at(problem: Problem, name: str, point, rule: Rule) -> tuple[float, float]:
    variable = next(v for v in problem.wrt if v.name == name)
    return _with_rounding(lambda shake: adjoints(problem.root, forward(problem.root, point, shake=shake),
                                                 problem.wrt)[variable], rule)


def _with_rounding(compute, rule: Rule) -> tuple[float, float]:
    """A value and its rounding: how far it moves when every step is moved by an ulp, plus an ulp."""
    with np.errstate(all="ignore"):
        value, moved = float(compute(False)), float(compute(True))
    if not (np.isfinite(value) and np.isfinite(moved)):
        raise ArithmeticError("not finite")
    return value, abs(value - moved) + rule.eps * abs(value)


def _same(a: float, u_a: float, b: float, u_b: float, rule: Rule) -> bool:
    return bool(abs(a - b) <= rule.allowed(a, b, u_a, u_b))


def _in_gradcheck_names(text: str) -> str:
    """The text with SymPy's function names spelled as gradcheck's (token by token, never inside a name)."""

    out, last = [], 0
    for token in tokenize(Source(text, "the formula")):
        if token.kind == "name" and token.text in SYMPY_NAMES:
            out.append(text[last:token.start] + SYMPY_NAMES[token.text])
            last = token.end
    return "".join(out) + text[last:]
