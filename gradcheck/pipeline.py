"""The pipeline, top to bottom: parse -> point -> oracles -> compare -> result."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .array_ops import format_shape
from .budget import DEFAULT_TIMEOUT, MAX_TIMEOUT, current_step, step, time_budget
from .compare import Comparison, Tolerance, case_scale, compare, tolerance
from .tolerance import DTYPES
from .errors import DomainError, GradcheckError, ShapeError, SpecError, ValueSpecError
from .diagnosis import diagnose
from .cost import check_numeric_cost
from .hessian import check_hessian_cost, hessian_columns
from .evaluate import analytic_path, differenced, forward, value
from .oracles.backprop import backprop, magnitudes
from .oracles.numeric import (METHODS, MODES, ROUNDING_ULPS, Kink, Measured, NumericResult, Probes, choose_mode,
                              numeric)
from .oracles.symbolic import formula, symbolic
from .problem import build
from .result import CaseResult, GradientResult
from .shapes import infer_shapes
from .tree import Node
from .values import Assignments


def check(expr: str, at: Assignments = None, grad: Assignments = None, let: Assignments = None,
          wrt: str | Iterable[str] | None = None, *, seed: int = 0, rtol: float | None = None,
          atol: float | None = None, mode: str = "auto", method: str = "auto", name: str | None = None,
          formulas: bool = False, base: str | Path | None = None, strict: bool = False,
          timeout: float | None = None, dtype: str = "float64", order: int = 1,
          npy_root: str | Path | None = None) -> CaseResult:
    """Check every partial derivative of `expr` three ways, and against any claimed gradient.

    at:   values, "w0=2,x0=-1" or {"w0": 2, "X": np.ones((3, 2)), "W": "randn(2,4)"}; variables
          without one get random scalars drawn with `seed`.
    grad: claimed gradients, {"w0": "x0*sigmoid(z)*(1-sigmoid(z))"} (or "w0=..." strings).
    let:  named intermediates, {"z": "w0*x0+w1*x1+w2"}, usable in expr and in claims.
    wrt:  the variables to differentiate by (default: all of f's, except class labels).
    mode: numeric differences of every entry ("full"), random directions and entries ("fast"),
          or full up to a size and fast above it ("auto").
    base: the folder that .npy paths in `at` are relative to.
    npy_root: a folder .npy paths must resolve inside (case files: paths an untrusted file wrote);
          None, the default, lets a path go anywhere (the caller's own).
    timeout: seconds the whole check may take: None for the default budget (budget.DEFAULT_TIMEOUT),
          0 for none. Enforced in any thread (see budget.py).
    dtype: "float32" evaluates f, backprop, claims and differences in float32 (as a float32 model
          would), with tolerances scaled for it; symbolic stays exact, at the float32 point.
    order: 2 also checks the Hessian: SymPy's second derivatives against differences of backprop.
    Raises a GradcheckError (ParseError, ValueSpecError, SpecError, ShapeError, DomainError) for bad input.
    """
    with time_budget(budget_seconds(timeout)):
        try:
            return _check(expr, at, grad, let, wrt, seed, rtol, atol, mode, method, name, formulas, base, strict,
                          dtype, order, npy_root)
        except RecursionError:  # a backstop: the nesting limits should stop deep input before this
            raise SpecError(f"f is nested too deeply for the {current_step()} step") from None


def budget_seconds(timeout: float | None) -> float | None:
    """The budget a check runs under: DEFAULT_TIMEOUT for None, none for 0."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout <= MAX_TIMEOUT:
        raise SpecError(f"--timeout must be a number of seconds ≥ 0 (0: no budget) and at most {MAX_TIMEOUT:g}, "
                        f"got {timeout!r}")
    return float(timeout) or None


def _check(expr, at, grad, let, wrt, seed, rtol, atol, mode, method, name, formulas, base, strict,
           dtype, order, npy_root=None) -> CaseResult:
    started = time.perf_counter()
    step("parse")
    _check_tolerances(rtol, atol)
    check_choices(mode=(mode, MODES), method=(method, METHODS), dtype=(dtype, DTYPES), order=(order, (1, 2)))
    problem = build(expr, at=at, grad=grad, let=let, wrt=wrt, seed=seed,
                    base=Path(base) if base is not None else None,
                    npy_root=Path(npy_root) if npy_root is not None else None)
    if dtype == "float32":
        problem.point = {k: _as_float32(k, v) for k, v in problem.point.items()}
    variables = [v.name for v in problem.wrt]
    mode = choose_mode(mode, problem.point, variables)
    check_numeric_cost(problem.root, problem.point, variables, mode)  # refused before anything runs long
    if order == 2:
        check_hessian_cost(problem)
    step("forward")
    values = forward(problem.root, problem.point)  # raises DomainError if f is undefined here
    step("backprop")
    by_backprop = backprop(problem.root, values, problem.wrt)
    tol = tolerance(rtol, atol, case_scale(values[problem.root], [problem.point[v.name] for v in problem.wrt],
                                           by_backprop.values()), dtype)
    analytic = analytic_path(problem.root, problem.wrt)
    methods = {var: method for var in variables}
    if method == "auto":  # the complex step for each variable whose path allows it here, else central
        methods = {v.name: "complex" if analytic_path(problem.root, [v], values) else "central" for v in problem.wrt}
    elif method == "complex" and analytic and not analytic_path(problem.root, problem.wrt, values):
        raise SpecError("--method complex: a power on the path has a negative base here, where the complex "
                        "step loses its accuracy (x**101 at x = -1); use central or richardson")
    elif method == "complex" and not analytic:
        raise SpecError("--method complex needs every function between the variables and f to be analytic; "
                        "relu, abs, max, min, step and sign are not (use central or richardson)")
    step("numeric")
    by_numeric = numeric(differenced(problem.root), problem.point, variables, mode=mode, seed=seed,
                         method=methods)
    step("symbolic")
    by_symbolic = symbolic(problem.root, problem.point, problem.wrt, formulas=formulas)
    gradients = {}
    sizes = magnitudes(problem.root, values, problem.wrt)
    eps = float(np.finfo(np.float32 if dtype == "float32" else np.float64).eps)
    for var in variables:
        shape = np.shape(problem.point[var])
        # never tighter than backprop's own rounding: eps times the terms it summed into this gradient
        rounding = ROUNDING_ULPS * eps * float(np.max(np.abs(sizes[var]))) if np.size(sizes[var]) else 0.0
        var_tol = Tolerance(tol.rtol, max(tol.atol, rounding)) if atol is None else tol
        columns = {"symbolic": (by_symbolic[var].value, by_symbolic[var].note),
                   "backprop": (by_backprop[var], None),
                   "numeric": numeric_column(by_numeric[var])}
        if var in problem.claims:
            columns["claimed"] = evaluate_claim(problem.claims[var], problem.point, var, shape)
        var_mode = mode if by_numeric[var].probes is not None else "full"  # small variables: every entry
        gradients[var] = judge(var, shape, columns, var_tol, var_mode, by_symbolic[var].formula, methods[var],
                               by_numeric[var].kinks)
        if var in problem.claims:
            step("diagnosis")
            _diagnose(problem, gradients[var], seed)
    hessian = {}
    if order == 2:
        step("hessian")
        for (a, b), columns in hessian_columns(problem).items():
            shape = np.shape(problem.point[a]) + np.shape(problem.point[b])
            hessian[f"{a},{b}"] = judge(f"{a},{b}", shape, columns, tol, "full", method="central")
    verdict = _case_verdict(gradients, bool(problem.claims))
    if hessian:
        bad = [g for g in hessian.values() if g.status == "mismatch"]
        verdict = (verdict + "; Hessian: " + "; ".join(f"∂²f/∂{g.variable.replace(',', '∂')}: {g.verdict}" for g in bad)
                   if bad else verdict + f"; Hessian ({len(hessian)} block{'s' if len(hessian) != 1 else ''}) agrees")
    return CaseResult(
        name=name or expr, expr=expr, status=_case_status({**gradients, **hessian}), strict=strict, dtype=dtype,
        hessian=hessian,
        value=float(values[problem.root]), gradients=gradients,
        point={k: float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float64) for k, v in problem.point.items()},
        random=problem.random, seed=seed, verdict=verdict,
        seconds=time.perf_counter() - started)


def judge(variable: str, shape: tuple[int, ...], columns: dict[str, tuple[Any, str | None]],
          tol: Tolerance, mode: str, formula: str | None = None, method: str = "central",
          kinks: tuple[Kink, ...] = ()) -> GradientResult:
    """One variable's columns, each (value or None, note), compared.

    At a kink (an entry where f is not differentiable) any value between the left and right
    derivatives is a subgradient: there each column is checked against that interval instead of
    against the others, and the status is "kink" if nothing else disagrees."""
    values = {name: v for name, (v, _) in columns.items()}
    notes = {name: note for name, (_, note) in columns.items() if note}
    outside = _outside_kinks(values, kinks, tol)
    result = compare(_without(values, kinks), tol)
    measured = values.get("numeric")
    error = measured.error if isinstance(measured, Measured) else None
    if isinstance(measured, Measured):
        values["numeric"] = measured.value
    verdict = result.verdict
    agree = result.agree and not outside
    if "claimed" in values and values["claimed"] is None:
        verdict = f"claimed {notes['claimed']}"
    elif outside:
        verdict = "; ".join(outside)
    elif not result.agree:
        verdict += _worst(variable, result)
    elif kinks:
        verdict = _kink_verdict(variable, shape, kinks)
    status = "mismatch" if not agree else "kink" if kinks else "pass"
    return GradientResult(variable, shape, values, result.max_abs_error, result.max_rel_error, status, verdict,
                          notes, formula, mode, list(result.pairs), numeric_error=error, numeric_method=method,
                          kinks=[(list(k.index), k.left, k.right) for k in kinks])


def _diagnose(problem, g: GradientResult, seed: int) -> None:
    """For a claim: how it is wrong (checked at several random points), and the right formula."""
    agreed = g.status == "pass"
    note = diagnose(problem, g.variable, agreed, seed)
    if note is None and agreed:
        return
    g.diagnosis = note
    if not agreed:
        g.correct = formula(problem.root, problem.point, g.variable, problem.lets)


def _without(values: dict[str, Any], kinks: tuple[Kink, ...]) -> dict[str, Any]:
    """The columns with the kink entries blanked (NaN), so that pairs compare only the rest."""
    if not kinks:
        return values
    out = {}
    for name, v in values.items():
        if v is None or isinstance(v, (Measured, Probes)):
            out[name] = v
            continue
        blank = np.array(v, dtype=np.float64)
        for k in kinks:
            blank[k.index] = np.nan
        out[name] = blank
    return out


def _outside_kinks(values: dict[str, Any], kinks: tuple[Kink, ...], tol: Tolerance) -> list[str]:
    """A column whose value at a kink is not between the one-sided derivatives is wrong there."""
    problems = []
    for k in kinks:
        if np.isnan(k.left):
            continue  # a jump: there is no derivative to be between
        low, high = sorted((k.left, k.right))
        slack = tol.atol + tol.rtol * max(abs(low), abs(high))
        for name, v in values.items():
            if v is None or name == "numeric" or isinstance(v, (Measured, Probes)):
                continue
            entry = float(np.asarray(v)[k.index])
            if not low - slack <= entry <= high + slack:
                where = "".join(f"[{','.join(map(str, k.index))}]") if k.index else ""
                problems.append(f"{name} gives {entry:.6g} at a kink{f' (entry {where})' if where else ''}, "
                                f"outside the one-sided derivatives {k.left:.6g} (left) and {k.right:.6g} (right)")
    return problems


def _kink_verdict(variable: str, shape: tuple[int, ...], kinks: tuple[Kink, ...]) -> str:
    if not shape:
        k = kinks[0]
        if np.isnan(k.left):
            return f"kink: f jumps (is discontinuous) in {variable} here, so it has no derivative"
        return (f"kink: f is not differentiable in {variable} here; left derivative {k.left:.6g}, "
                f"right derivative {k.right:.6g}")
    where = ", ".join(f"{variable}[{','.join(map(str, k.index))}]" for k in kinks[:3])
    more = f" and {len(kinks) - 3} more" if len(kinks) > 3 else ""
    return f"kink: f is not differentiable in {where}{more}; the other entries agree"


def numeric_column(result: NumericResult) -> tuple[Any, str | None]:
    """The measured gradient with its error estimate, or fast mode's probes in its place."""
    return (result.probes if result.probes is not None else result.value), result.note


def evaluate_claim(claim: Node, point: Mapping[str, Any], variable: str, shape: tuple[int, ...]
                   ) -> tuple[Any, str | None]:
    """The claimed gradient's value, or None and why: a claim that does not compute is a wrong claim."""
    try:
        got = infer_shapes(claim, {n: np.shape(v) for n, v in point.items()})[claim]
        if got != shape:
            return None, (f"has shape {format_shape(got)}, but ∂f/∂{variable} has shape "
                          f"{format_shape(shape)}")
        return value(claim, point), None
    except ShapeError as exc:
        return None, f"does not compute: {exc}"
    except DomainError as exc:
        return None, f"is undefined here: {exc}"


def error_result(expr: str, exc: GradcheckError, name: str | None = None, seed: int = 0) -> CaseResult:
    """The result of a case whose input is bad, for reports that go on past it."""
    return CaseResult(name=name or expr, expr=expr, status="error", seed=seed, verdict=str(exc),
                      error={"kind": exc.kind, "message": str(exc)})


def _worst(variable: str, result: Comparison) -> str:
    """'; worst at W2[1,2]: claimed 0.12, backprop 0.015' for the pair furthest apart."""
    bad = [p for p in result.pairs if not p.agree]
    if not bad:
        return ""
    odd = result.verdict.split(" disagrees with ")[0] if " disagrees with " in result.verdict else None
    pair = next((p for p in bad if odd in (p.a, p.b) and "backprop" in (p.a, p.b)), None) \
        or max(bad, key=lambda p: p.max_rel_error)
    if not pair.worst:
        return ""
    where = f"{variable}{pair.worst}" if pair.worst.startswith("[") else pair.worst
    a, b = pair.worst_values
    return f"; worst at {where}: {pair.a} {a:.6g}, {pair.b} {b:.6g}"


def _as_float32(name: str, x: Any) -> Any:
    """A value in float32, or a ValueSpecError if it does not fit (1e300 would become inf)."""
    with np.errstate(over="ignore"):
        single = np.asarray(x).astype(np.float32)
    if not np.all(np.isfinite(single)):
        raise ValueSpecError(f"--at {name}: a value does not fit float32 (--dtype float32)")
    return single if single.ndim else np.float32(single)


def check_choices(**options: tuple[Any, tuple]) -> None:
    """Each option's value must be one of its choices: option=(value, choices)."""
    for option, (given, choices) in options.items():
        if given not in choices:
            raise SpecError(f"--{option} must be one of {', '.join(map(str, choices))}, got {given!r}")


def _check_tolerances(rtol: float | None, atol: float | None) -> None:
    for label, number in (("rtol", rtol), ("atol", atol)):
        if number is None:
            continue  # the default for the working precision
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) or number < 0:
            raise SpecError(f"--{label} must be a finite number ≥ 0, got {number!r}")


def _case_status(gradients: dict[str, GradientResult]) -> str:
    statuses = {g.status for g in gradients.values()}
    return "mismatch" if "mismatch" in statuses else "kink" if "kink" in statuses else "pass"


def _case_verdict(gradients: dict[str, GradientResult], claimed: bool) -> str:
    bad = [g for g in gradients.values() if g.status != "pass"]
    if not bad:
        n = len(gradients)
        what = "partial derivative" if n == 1 else f"all {n} partial derivatives"
        if any(g.shape for g in gradients.values()):
            what = "gradient" if n == 1 else f"all {n} gradients"
        warnings = "".join(f"; but the claimed ∂f/∂{g.variable}: {g.diagnosis}" for g in gradients.values()
                           if g.diagnosis)
        return f"{what} agree{'s' if n == 1 else ''}" + (", claims included" if claimed else "") + warnings
    return "; ".join(f"∂f/∂{g.variable}: {g.verdict}" for g in bad)
