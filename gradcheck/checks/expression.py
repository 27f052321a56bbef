"""An expression's check, top to bottom: parse -> evaluate -> measure (every oracle) -> judge -> diagnose.
Each step is one function below, in that order; rendering is the caller's (render/)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ..base.budget import budget_seconds, current_step, step, time_budget
from ..base.columns import Along, Kink
from ..base.errors import DomainError, GradcheckError, ShapeError, SpecError, ValueSpecError
from ..base.options import Options, folder_option, make, name_option
from ..base.status import Status
from ..diagnose.reading import likelier_claim, slips
from ..diagnose.shown_formula import right_formula
from ..inputs.problem import Problem, Spec, build
from ..inputs.values import Assignments
from ..language.cost import check_numeric_cost, expanded_operations
from ..language.evaluate import differenced, forward, jumps_at, value, without_complex_form
from ..language.shapes import infer_shapes
from ..language.tree import Const, Node, Paths, Var
from ..ops.arrays import format_shape
from ..oracles.backprop import backprop, backprop_magnitudes
from ..oracles.numeric import NumericResult, Section, along, choose_mode, numeric
from ..oracles.switches import Switches, decide, kinked
from ..oracles.sym_chain import exact_value
from ..oracles.sym_eval import EVAL_DIGITS, evaluated_to, working_digits
from ..oracles.symbolic import FORMULA_MAX_OPERATIONS, size_limit, symbolic
from ..verdict.agreement import Allowance, Rule, digits_for, exact_needed, rule_for
from ..verdict.judge import case_status, case_verdict, hessian_verdict, judge, unchecked_at_kink
from ..verdict.pool import Pool, pooled_numeric
from ..verdict.result import CaseResult, GradientResult


def check(expr: str, at: Assignments = None, grad: Assignments = None, let: Assignments = None,
          wrt: str | Iterable[str] | None = None, *, name: str | None = None, base: str | Path | None = None,
          npy_root: str | Path | None = None, options: Options | None = None, data: str | Iterable[str] | None = None,
          **given: Any) -> CaseResult:
    """Check every partial derivative of `expr` three ways, and against any claimed gradient.

    at:   values, "w0=2,x0=-1" or {"w0": 2, "X": np.ones((3, 2)), "W": "randn(2,4)"}; variables
          without one get random scalars drawn with the seed.
    grad: claimed gradients, {"w0": "x0*sigmoid(z)*(1-sigmoid(z))"} (or "w0=..." strings).
    let:  named intermediates, {"z": "w0*x0+w1*x1+w2"}, usable in expr and in claims.
    wrt:  the variables to differentiate by (default: all of f's, except data: class labels, arrays
          written as whole numbers, and the names `data` gives).
    base: the folder that .npy paths in `at` are relative to.
    npy_root: a folder .npy paths must resolve inside (case files: paths an untrusted file wrote);
          None, the default, lets a path go anywhere (the caller's own).
    options / given: an Options, and/or its fields as keywords (seed, rtol, atol, mode, method,
          dtype, order, strict, timeout, formulas; see gradcheck/options.py).
    Raises a GradcheckError (ParseError, ValueSpecError, SpecError, ShapeError, DomainError) for bad input.
    """
    options = make(given) if options is None else options.replace(**given)
    # every check has a budget: options.timeout None is budget.DEFAULT_TIMEOUT, 0 is none
    with time_budget(budget_seconds(options.timeout)):
        try:
            spec = Spec(expr, at, grad, let, wrt, data, folder_option("base", base), folder_option("npy_root", npy_root))
            return _check(spec, options, name)
        except RecursionError:  # a backstop: the nesting limits (cost.py) should stop deep input before this
            raise SpecError(f"f is nested too deeply for the {current_step()} step") from None


def _check(spec: Spec, options: Options, name: str | None) -> CaseResult:
    """The pipeline, each step once: parse, evaluate, measure (every oracle), judge, diagnose."""
    started = time.perf_counter()
    problem, mode = _parse(spec, options)
    point = _evaluate(problem)
    rule = rule_for(options.rtol, options.atol, options.dtype)
    columns = _measure(problem, point, mode, rule, options)
    gradients = _judge(problem, columns, mode, rule)
    _diagnose_claims(problem, gradients, columns.allowances, options)
    step("hessian")
    hessian = _hessian(problem, rule) if options.order == 2 else {}
    return CaseResult(
        name=name_option(name) or spec.expr, expr=spec.expr, status=case_status({**gradients, **hessian}),
        strict=options.strict, dtype=options.dtype, hessian=hessian, value=point.value, gradients=gradients,
        point={k: float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float64) for k, v in problem.point.items()},
        random=problem.random, seed=options.seed,
        verdict=hessian_verdict(case_verdict(gradients, bool(problem.claims)), hessian),
        reading=reading_slips(problem.root),
        seconds=time.perf_counter() - started, problem=problem)


def _parse(spec: Spec, options: Options) -> tuple[Problem, str]:
    """The text and values as a Problem, in the check's precision, and fast or full mode; a check whose
    cost is too large is refused here, before anything runs long."""
    step("parse")
    problem = build(spec, options.seed)
    if options.dtype == "float32":
        problem.point = {k: _as_float32(k, v) for k, v in problem.point.items()}
    variables = [v.name for v in problem.wrt]
    mode = choose_mode(options.mode, problem.point, variables)
    check_numeric_cost(problem.root, problem.point, variables, mode)
    if options.order == 2:
        from .hessian import check_hessian_cost  # deferred: it brings mpmath (-X importtime)

        check_hessian_cost(problem)
    return problem, mode


@dataclass
class Evaluated:
    """f at the point: every node's value, the shaken pass's (None where an ulp leaves a domain), the
    kinks float64 could not place, decided exactly, and f's value."""

    values: dict
    shaken: dict | None
    switches: Switches | None
    value: float


def _evaluate(problem: Problem) -> Evaluated:
    step("forward")
    values = forward(problem.root, problem.point)  # raises DomainError if f is undefined here
    shaken = shaken_pass(problem)
    step("switches")
    return Evaluated(values, shaken, exact_switches(problem, values, shaken), float(values[problem.root]))


@dataclass
class Columns:
    """What the oracles measured for every variable: the columns other than numeric ((value, note) by
    name), the numeric oracle's results, symbolic's (for its formulas), what each variable's comparison
    grants its columns (backprop's rounding, the exact columns' own errors), the difference methods, and
    f as the numeric oracle evaluates it."""

    others: dict[str, dict[str, Any]]
    numeric: dict[str, NumericResult]
    symbolic: dict[str, Any]
    allowances: dict[str, Allowance]
    methods: dict[str, str]
    f: Callable


def _measure(problem: Problem, point: Evaluated, mode: str, rule: Rule, options: Options) -> Columns:
    """Every oracle: backprop (with its rounding), numeric, symbolic (with as many digits as f needs), the
    claims; fast mode's pooled variables are probed once the columns they are compared with exist."""
    variables = [v.name for v in problem.wrt]
    step("backprop")
    by_backprop, terms = backprop_magnitudes(problem.root, point.values, problem.wrt)
    rounding = backprop_rounding(problem, terms, by_backprop, rule, point.shaken)
    del terms
    methods = numeric_methods(options.method, problem, point.values)
    point.values, point.shaken = {}, None  # every node's value: the numeric oracle keeps passes of its own
    step("numeric")
    f = differenced(problem.root, point.switches.on if point.switches else None)
    pool = Pool.of(variables, problem.point, mode)  # fast mode's small variables, probed as one array
    by_numeric = numeric(f, problem.point, [v for v in variables if pool is None or v not in pool], mode=mode,
                         seed=options.seed, method=methods)
    step("symbolic")
    by_symbolic, digits = exact_symbolic(problem, rounding, rule, options.formulas)
    with evaluated_to(digits):
        others, own = _exact_columns(problem, variables, by_symbolic, by_backprop, rounding, rule)
    allowances = {v: Allowance(rule, rounding[v], own[v]) for v in variables}
    if pool is not None:
        step("numeric")
        by_numeric.update(pooled_numeric(pool, f, problem.point,
                                         {v: {c: value for c, (value, _) in others[v].items()} for v in pool.names},
                                         allowances, methods, options.seed))
    if options.dtype == "float32":
        by_numeric = {var: _kinks_in_float64(f, problem.point, var, result, methods[var])
                      for var, result in by_numeric.items()}
    return Columns(others, by_numeric, by_symbolic, allowances, methods, f)


def _judge(problem: Problem, columns: Columns, mode: str, rule: Rule) -> dict[str, GradientResult]:
    """Each variable's columns judged by the agreement rule (verdict/judge.py), with f's slope where its
    kinked entries move together."""
    at_point = columns.f(problem.point)

    def slope(var: str) -> Callable[[np.ndarray], Any]:
        section = Section(columns.f, problem.point, var, columns.methods[var], at_point)
        return lambda v: along(section, v)

    gradients = {}
    for v in problem.wrt:
        var, measured = v.name, columns.numeric[v.name]
        tied = tied_slope(measured.kinks, np.shape(problem.point[var]), slope(var))
        gradients[var] = judge(var, np.shape(problem.point[var]), columns.others[var], measured,
                               columns.allowances[var],
                               columns.symbolic[var].formula, tied)
    return gradients


def _diagnose_claims(problem: Problem, gradients: dict[str, GradientResult], allowances: Mapping[str, Allowance],
                     options: Options) -> None:
    """How each claim is wrong (or that a formula is right only at the point), and, with --formulas, the
    gradients derived in matrix form."""
    for var in problem.claims:
        if var in gradients:
            step("diagnosis")
            _diagnose(problem, gradients[var], options.seed, allowances[var].rule)
    if options.formulas and _printable(problem):
        # deferred: only checks that need it load it (tests/test_startup.py)
        from ..teach.matrix_form import attach_matrix_formulas

        attach_matrix_formulas(problem, gradients, allowances)


def shaken_pass(problem: Problem) -> dict | None:
    """f's forward pass with every intermediate value moved by an ulp (evaluate.SHAKE_ULPS); None where
    an ulp pushes a value out of a domain."""
    try:
        return forward(problem.root, problem.point, shake=True)
    except DomainError:
        return None


def exact_switches(problem: Problem, values: dict, shaken: dict | None) -> Switches | None:
    """The kinks float64 cannot place for sure, decided exactly (oracles/switches.py): those whose
    quantity is 0 here, or changes sign under the shaken pass or the one with its signs reversed."""
    if not kinked(problem.root):
        return None
    passes = [shaken] if shaken is not None else []
    try:
        passes.append(forward(problem.root, problem.point, shake=-1))
    except DomainError:
        pass
    return decide(problem.root, problem.point, values, passes)


def backprop_rounding(problem: Problem, terms: dict[str, Any], by_backprop: dict[str, Any], rule: Rule,
                      shaken_values: dict | None) -> dict[str, Any]:
    """Each gradient entry's rounding: eps times the terms backprop summed into it (`terms`, from
    backprop_magnitudes), plus how far the gradient moves in the shaken pass (every intermediate value
    moved by an ulp: 1 - tanh(x)**2 at x = 20 is 0 in floating point, 1.4e-17 in truth: the rounding
    of tanh(x), not of the sum, decides). Within rounding of a switch that movement holds the jump of
    the branch rounding may flip: backprop cannot confirm a claim there, only the exact columns can.
    One array of the variable's size at a time beside the result."""
    try:
        if shaken_values is None:
            raise DomainError("an ulp pushed a value out of a domain")
        shaken = backprop(problem.root, shaken_values, problem.wrt)
    except DomainError:  # the terms alone, then
        shaken = dict(by_backprop)
    rounding = {}
    for name in by_backprop:
        moved = np.subtract(shaken.pop(name), by_backprop[name])
        rounding[name] = rule.rounding(terms[name])
        rounding[name] += np.abs(moved, out=moved) if isinstance(moved, np.ndarray) else abs(moved)
        del moved
    return rounding


def _kinks_in_float64(f: Callable, point: Mapping[str, Any], var: str, result: NumericResult,
                      method: str) -> NumericResult:
    """Under --dtype float32, a kink's one-sided derivatives measured again at the same point in
    float64: they say where a claim may lie, and float32's one-sided differences err by ~1e-3 (their
    step is ~sqrt(eps)), too loose to tell a claim 1% outside them. f is the same function of the same
    numbers; only the differences are taken in the finer precision."""
    if not result.kinks:
        return result
    wide = {name: np.asarray(v, dtype=np.float64)[()] for name, v in point.items()}
    section = Section(f, wide, var, method, f(wide))
    kinks = []
    for k in result.kinks:
        unit = np.zeros(np.shape(wide[var]))
        unit[k.index] = 1.0
        got = along(section, unit)
        kinks.append(replace(got, index=k.index) if isinstance(got, Kink) and not np.isnan(got.left) else k)
    return replace(result, kinks=tuple(kinks))


# How many times the symbolic column may be evaluated again with more digits (agreement.digits_for):
# the second estimate starts from a value the first made accurate, so two are enough.
DIGIT_ROUNDS = 2


def exact_symbolic(problem: Problem, rounding: Mapping[str, Any], rule: Rule, formulas: bool):
    """The symbolic column, and the digits it was evaluated to: EVAL_DIGITS, or more where f cancels so
    much that 30 digits leave too few right ((1 - cos(x))/x**2 at x = 1e-8 needs 40)."""
    digits = EVAL_DIGITS
    by_symbolic = symbolic(problem.root, problem.point, problem.wrt, formulas=formulas)
    for _ in range(DIGIT_ROUNDS):
        needed = max((digits_for(r.value, rounding[name], rule, digits) for name, r in by_symbolic.items()
                      if r.value is not None), default=digits)
        if needed <= digits:
            break
        digits = needed
        with evaluated_to(digits):
            by_symbolic = symbolic(problem.root, problem.point, problem.wrt, formulas=formulas)
    return by_symbolic, digits


def _exact_columns(problem: Problem, variables: list[str], by_symbolic: Mapping[str, Any],
                   by_backprop: Mapping[str, Any], rounding: Mapping[str, Any], rule: Rule):
    """Every column but numeric, (value, note) by variable, and the exact columns' own errors (the
    symbolic column's, a claim's): inside sym_eval.evaluated_to, at the symbolic column's digits."""
    digits = working_digits()
    others: dict[str, dict[str, Any]] = {}
    own: dict[str, dict[str, Any]] = {var: {} for var in variables}
    for var in variables:
        others[var] = {"symbolic": (by_symbolic[var].value, by_symbolic[var].note),
                       "backprop": (by_backprop[var], None)}
        if by_symbolic[var].value is not None:
            own[var]["symbolic"] = exact_error(rounding[var], rule, digits)
        if var in problem.claims:
            claim = evaluate_claim(problem.claims[var], problem.point, var, np.shape(problem.point[var]), rule,
                                   exact=by_symbolic[var].value is not None)
            others[var]["claimed"] = (claim.value, claim.note)
            own[var]["claimed"] = claim.error
    return others, own


def tied_slope(kinks: tuple[Kink, ...], shape: tuple[int, ...], along: Callable[[np.ndarray], Any]) -> Along | None:
    """f's slope with a variable's kinked entries moved together (columns.Along), where it has one: at
    two or more kinks that are not jumps, and where that line crosses no kink (a tie stays a tie)."""
    entries = [k.index for k in kinks if not np.isnan(k.left)]
    if len(entries) < 2:
        return None
    direction = np.zeros(shape)
    for idx in entries:
        direction[idx] = 1.0
    got = along(direction)
    return Along(direction, float(got[0]), float(got[1])) if isinstance(got, tuple) else None


def numeric_methods(method: str, problem: Problem, values: dict) -> dict[str, str]:
    """The difference method of each variable: auto takes the complex step for a variable whose own
    path to f has a complex form throughout (relu, abs, max included: their kinks are handled entry
    by entry; pow at a negative base too, its whole exponent raised by repeated squaring), central
    differences otherwise. complex is refused only where f truly has none: a function without a
    complex form on the path, or a jump (step, sign, a comparison) exactly at the point."""
    chosen = {}
    paths = Paths(problem.root)  # once for every variable: a thousand of them must not walk f a thousand times
    for var in problem.wrt:
        blocking = without_complex_form(problem.root, var, paths)
        if method == "complex" and blocking:
            raise SpecError(f"--method complex needs a complex form of every function between {var.name} and f; "
                            f"{', '.join(blocking)} {'has' if len(blocking) == 1 else 'have'} none "
                            "(use central or richardson)")
        jumps = jumps_at(problem.root, values, var, paths) if method == "complex" else []
        if jumps:
            raise SpecError(f"--method complex: f jumps in {var.name} at this point ({'; '.join(jumps)}), "
                            "so it has no derivative there (use central, which reports the jump)")
        chosen[var.name] = ("central" if blocking else "complex") if method == "auto" else method
    return chosen


def _hessian(problem: Problem, rule: Rule) -> dict[str, GradientResult]:
    """--order 2: each block of second derivatives, judged like a gradient (its numeric column is a
    difference of backprop gradients, whose estimate carries its rounding)."""
    # deferred: only checks that need it load it (tests/test_startup.py)
    from .hessian import hessian_columns, on_kink

    blocks = {}
    kinked = on_kink(problem)
    for (a, b), columns in hessian_columns(problem).items():
        shape = np.shape(problem.point[a]) + np.shape(problem.point[b])
        blocks[f"{a},{b}"] = judge(f"{a},{b}", shape, columns, None, Allowance(rule))
        if kinked:
            unchecked_at_kink(blocks[f"{a},{b}"])
    return blocks


def _diagnose(problem, g: GradientResult, seed: int, rule) -> None:
    """For a claim: how it is wrong (checked at several random points), and the right formula."""
    from ..diagnose.claims import diagnose  # on first use, like the Hessian

    # deferred: only checks that need it load it (tests/test_startup.py)
    from ..teach.matrix_diagnosis import diagnose_matrix

    agreed = g.status in (Status.PASS, Status.KINK, Status.INCONCLUSIVE)
    note = diagnose(problem, g.variable, agreed, seed, rule)
    if note is not None and agreed:  # a formula wrong elsewhere is wrong
        g.status, g.verdict, agreed = Status.MISMATCH, f"claimed {note.removeprefix('it ')}", False
    if not agreed:  # a claim right for what f was likely meant to be: `1 / 1 + exp(-z)`
        note = likelier_claim(problem, g.variable, g.columns.get("claimed")) or note
    if note is None and not agreed and _printable(problem):  # a matrix claim: against the derived formula
        note = diagnose_matrix(problem, g.variable, seed)
    if note is None and agreed:
        return
    g.diagnosis = note
    if not agreed:
        g.correct = right_formula(problem, g, seed, rule)  # checked before it is shown (shown_formula.py)


@dataclass(frozen=True)
class Claim:
    """A claimed gradient at the point: its value and its own evaluation error (0 for numbers the
    user wrote), or None and why (a claim that does not compute is a wrong claim)."""

    value: Any
    note: str | None = None
    error: Any = 0.0


def evaluate_claim(claim: Node, point: Mapping[str, Any], variable: str, shape: tuple[int, ...],
                   rule: Rule | None = None, exact: bool = False) -> Claim:
    """The claimed gradient's value and its own error. A claim is a formula, judged as one: with
    `exact` (the symbolic column could be computed, so the claim's expansion is small enough too) it
    is evaluated to 30 digits like the symbolic column, where float64 may have no digit right
    ((1 - cos(x))/x**3 at x = 1e-4). Otherwise its float64 value, whose rounding is how far it moves
    when the claim's own intermediate values are shaken by an ulp (evaluate.SHAKE_ULPS), as f's is,
    plus ROUNDING_ULPS ulps of the value itself. Numbers and data the user wrote are not shaken: a
    claim that is a number has no rounding."""
    rule = rule or Rule()
    try:
        got = infer_shapes(claim, {n: np.shape(v) for n, v in point.items()})[claim]
        if got != shape:
            return Claim(None, f"has shape {format_shape(got)}, but ∂f/∂{variable} has shape {format_shape(shape)}")
        claimed = value(claim, point)
    except ShapeError as exc:
        return Claim(None, f"does not compute: {exc}")
    except DomainError as exc:
        return Claim(None, f"is undefined here: {exc}")
    rounding = claim_rounding(claim, point, claimed, rule)
    if exact and exact_needed(claimed, rounding, rule) and size_limit(claim, point, []) is None:

        digits = exact_value(claim, point)
        if digits is not None:
            accurate = np.array([float(d) for d in digits.flat], dtype=np.float64).reshape(np.shape(claimed))
            return Claim(accurate[()] if not shape else accurate, None, exact_error(rounding, rule, working_digits()))
    return Claim(claimed, None, rounding)


def exact_error(rounding: Any, rule: Rule, digits: int) -> Any:
    """The error of a value evaluated to `digits` digits whose rounding in the working precision is
    `rounding`: the same conditioning, at the higher precision."""
    return np.asarray(rounding, dtype=np.float64) * (10.0**-digits / rule.eps)


def claim_rounding(claim: Node, point: Mapping[str, Any], claimed: Any, rule: Rule) -> Any:
    """The claim's own rounding at each entry (evaluate_claim)."""
    if isinstance(claim, (Const, Var)):
        return 0.0
    try:
        shaken = forward(claim, point, shake=True)[claim]
    except DomainError:  # an ulp pushed a value out of its domain: the value's own ulps, then
        shaken = claimed
    with np.errstate(all="ignore"):
        moved = np.abs(np.subtract(shaken, claimed, dtype=np.float64))
    return moved + rule.rounding(claimed)


def error_result(expr: str, exc: GradcheckError, name: str | None = None, seed: int = 0) -> CaseResult:
    """The result of a case whose input is bad, for reports that go on past it."""
    return CaseResult(name=name or expr, expr=expr, status=Status.ERROR, seed=seed, verdict=str(exc),
                      error={"kind": exc.kind, "message": str(exc)})


def _as_float32(name: str, x: Any) -> Any:
    """A value in float32, or a ValueSpecError if it does not fit (1e300 would become inf)."""
    with np.errstate(over="ignore"):
        single = np.asarray(x).astype(np.float32)
    if not np.all(np.isfinite(single)):
        raise ValueSpecError(f"--at {name}: a value does not fit float32 (--dtype float32)")
    return single if single.ndim else np.float32(single)




def _printable(problem: Problem) -> bool:
    """Whether f, written out as a tree, is small enough for matrix-form formulas: a DAG of --let
    names (a_i = sin(a_{i-1}) + cos(a_{i-1})) doubles its written size with every level."""

    shapes = {name: np.shape(v) for name, v in problem.point.items()}
    return expanded_operations(problem.root, shapes) <= FORMULA_MAX_OPERATIONS


def reading_slips(root: Node) -> list[str]:
    """How f was read, where that is a classic slip (reading.py)."""

    return [s.sentence for s in slips(root)]
