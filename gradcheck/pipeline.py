"""The pipeline, top to bottom: parse -> point -> oracles -> compare -> result."""

from __future__ import annotations

import math
import time
from typing import Iterable

from .compare import DEFAULT_ATOL, DEFAULT_RTOL, Tolerance, compare
from .errors import DomainError, GradcheckError, SpecError
from .evaluate import forward, value
from .oracles.backprop import backprop
from .oracles.numeric import NumericResult, numeric
from .oracles.symbolic import SymbolicResult, symbolic
from .problem import build
from .result import CaseResult, GradientResult
from .values import Assignments


def check(expr: str, at: Assignments = None, grad: Assignments = None, let: Assignments = None,
          wrt: str | Iterable[str] | None = None, *, seed: int = 0, rtol: float = DEFAULT_RTOL,
          atol: float = DEFAULT_ATOL, name: str | None = None, formulas: bool = False) -> CaseResult:
    """Check every partial derivative of `expr` three ways, and against any claimed gradient.

    at:   values, "w0=2,x0=-1" or {"w0": 2, "x0": -1}; variables without one are drawn with `seed`.
    grad: claimed gradients, {"w0": "x0*sigmoid(z)*(1-sigmoid(z))"} (or "w0=..." strings).
    let:  named intermediates, {"z": "w0*x0+w1*x1+w2"}, usable in expr and in claims.
    wrt:  the variables to differentiate by (default: all of f's).
    Raises a GradcheckError (ParseError, ValueSpecError, SpecError, DomainError) for bad input.
    """
    started = time.perf_counter()
    tol = _tolerance(rtol, atol)
    problem = build(expr, at=at, grad=grad, let=let, wrt=wrt, seed=seed)
    values = forward(problem.root, problem.point)  # raises DomainError if f is undefined here
    by_backprop = backprop(problem.root, values, problem.wrt)
    by_numeric = numeric(problem.root, problem.point, problem.wrt)
    by_symbolic = symbolic(problem.root, problem.point, problem.wrt, formulas=formulas)
    gradients = {}
    for var in problem.wrt:
        claim = problem.claims.get(var.name)
        claimed = _evaluate_claim(claim, problem.point) if claim is not None else None
        gradients[var.name] = judge(var.name, by_symbolic[var.name], float(by_backprop[var.name]),
                                    by_numeric[var.name], claimed, tol)
    agree = all(g.status == "pass" for g in gradients.values())
    return CaseResult(
        name=name or expr, expr=expr, status="pass" if agree else "mismatch",
        value=float(values[problem.root]), gradients=gradients,
        point={k: float(v) for k, v in problem.point.items()}, random=problem.random, seed=seed,
        verdict=_case_verdict(gradients, bool(problem.claims)), seconds=time.perf_counter() - started)


def judge(variable: str, by_symbolic: SymbolicResult, by_backprop: float, by_numeric: NumericResult,
          claimed: tuple[float | None, str | None] | None, tol: Tolerance) -> GradientResult:
    """One variable's columns, compared."""
    columns = {"symbolic": by_symbolic.value, "backprop": by_backprop, "numeric": by_numeric.value}
    notes = {k: n for k, n in (("symbolic", by_symbolic.note), ("numeric", by_numeric.note)) if n}
    if claimed is not None:
        columns["claimed"], note = claimed
        if note:
            notes["claimed"] = note
    result = compare(columns, tol)
    return GradientResult(variable, columns, result.max_abs_error, result.max_rel_error,
                          "pass" if result.agree else "mismatch", result.verdict, notes, by_symbolic.formula)


def error_result(expr: str, exc: GradcheckError, name: str | None = None, seed: int = 0) -> CaseResult:
    """The result of a case whose input is bad, for reports that go on past it."""
    return CaseResult(name=name or expr, expr=expr, status="error", seed=seed, verdict=str(exc),
                      error={"kind": exc.kind, "message": str(exc)})


def _evaluate_claim(claim, point) -> tuple[float | None, str | None]:
    try:
        return float(value(claim, point)), None
    except DomainError as exc:
        return None, f"undefined: {exc}"


def _tolerance(rtol: float, atol: float) -> Tolerance:
    for label, number in (("rtol", rtol), ("atol", atol)):
        if not isinstance(number, (int, float)) or not math.isfinite(number) or number < 0:
            raise SpecError(f"--{label} must be a finite number ≥ 0, got {number!r}")
    return Tolerance(float(rtol), float(atol))


def _case_verdict(gradients: dict[str, GradientResult], claimed: bool) -> str:
    bad = [g for g in gradients.values() if g.status != "pass"]
    if not bad:
        n = len(gradients)
        what = "partial derivative" if n == 1 else f"all {n} partial derivatives"
        return f"{what} agree{'s' if n == 1 else ''}" + (", claims included" if claimed else "")
    return "; ".join(f"∂f/∂{g.variable}: {g.verdict}" for g in bad)
