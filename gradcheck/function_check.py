"""check_function: is the backward of your own numpy code right?

f is any Python function of one or more arrays returning a scalar (a loss); grad_f is your
hand-written backward, returning the gradient(s) in the same structure as the inputs. Finite
differences of f (the numeric oracle, full or fast mode) are compared with grad_f's answer, and the
result is the same CaseResult that `gradcheck.check` returns, printed as the same table.
"""

from __future__ import annotations

import inspect
import warnings
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .array_ops import format_shape
from .errors import DomainError, FunctionError, SpecError
from .agreement import rule_for
from .oracles.numeric import CHECKED_COMPLEX, Evaluation, choose_mode, numeric
from .budget import budget_seconds, step, time_budget
from .options import Options, make
from .pipeline import numeric_column
from .result import CaseResult
from .verdict import case_verdict, judge

# The options of gradcheck.options.Options that apply to a black-box f.
FUNCTION_OPTIONS = ("seed", "rtol", "atol", "mode", "method", "timeout")


def check_function(f: Callable[..., Any], grad_f: Callable[..., Any], inputs: Any, *,
                   name: str | None = None, **given: Any) -> CaseResult:
    """Compare grad_f(inputs) with finite differences of f at inputs.

    inputs: one array (f(x), grad_f(x) returns an array), a sequence of arrays (f(*xs), grad_f
    returns a sequence as long), or a mapping of names to arrays (f(**xs), grad_f returns a mapping).
    timeout: seconds the check may take (None: the default budget, 0: none), as for check().
    Raises FunctionError if f or grad_f raises, SpecError for inputs or results of the wrong kind.
    """
    options = make(given, FUNCTION_OPTIONS, "check_function")
    with time_budget(budget_seconds(options.timeout), "check_function"):
        return _check_function(f, grad_f, inputs, name, options)


def _check_function(f: Callable[..., Any], grad_f: Callable[..., Any], inputs: Any, name: str | None,
                    options: Options) -> CaseResult:
    started = time.perf_counter()
    seed = options.seed
    names, call = _calling_convention(f, inputs)
    point = {n: _array(n, v) for n, v in zip(names, _values(inputs))}
    label = str(name or getattr(f, "__name__", "f"))
    step("f")
    try:
        loss = _call_f(f, call, point, names)
    except DomainError as exc:  # NaN or inf from the user's own f: a wrong result, not bad input
        return CaseResult(name=label, expr=f"{label}(...)", status="mismatch", seed=seed,
                          verdict=f"{exc.message}: f must return a finite loss",
                          point={n: float(v) if np.ndim(v) == 0 else v for n, v in point.items()},
                          seconds=time.perf_counter() - started)
    step("grad_f")
    claimed = _claimed(grad_f, call, point, names)
    # Each entry is judged by the numeric oracle's own error estimate there (f's rounding over the
    # step), never by the claim's size or another input's.
    rule = rule_for(options.rtol, options.atol)
    mode = choose_mode(options.mode, point, names)
    # f is a black box: nothing says it is analytic, so auto takes the complex step only where it
    # agrees with central differences (numeric.CHECKED_COMPLEX).
    method = CHECKED_COMPLEX if options.method == "auto" else options.method
    step("numeric")
    by_numeric = numeric(lambda p: Evaluation(_call_f(f, call, p, names)), point, names, mode=mode, seed=seed,
                         method=method)
    gradients = {n: judge(n, np.shape(point[n]), {"numeric": numeric_column(by_numeric[n]), "claimed": claimed[n]},
                          rule, 0.0, mode, method) for n in names}
    agree = all(g.status == "pass" for g in gradients.values())
    return CaseResult(name=label, expr=f"{label}(...)", status="pass" if agree else "mismatch",
                      value=float(loss), gradients=gradients,
                      point={n: float(v) if np.ndim(v) == 0 else v for n, v in point.items()}, seed=seed,
                      verdict=case_verdict(gradients, True), seconds=time.perf_counter() - started)


def _calling_convention(f, inputs) -> tuple[list[str], str]:
    """The inputs' names (taken from f's parameters where possible) and how f is called."""
    if isinstance(inputs, Mapping):
        for key in inputs:
            if not isinstance(key, str):
                raise SpecError(f"inputs: the names of a mapping must be text, got {key!r}")
        return list(inputs), "keywords"
    if isinstance(inputs, (list, tuple)):
        count, convention = len(inputs), "positional"
    else:
        count, convention = 1, "single"
    if count == 0:
        raise SpecError("inputs: f needs at least one input")
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = params[:count] if len(params) >= count else [f"x{i}" for i in range(count)]
    return names, convention


def _values(inputs) -> list[Any]:
    if isinstance(inputs, Mapping):
        return list(inputs.values())
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def _array(name: str, value: Any) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)  # a copy: the user's arrays are never touched
    except (TypeError, ValueError, OverflowError):
        raise SpecError(f"input {name}: {type(value).__name__} is not an array of numbers") from None
    if not np.all(np.isfinite(array)):
        raise SpecError(f"input {name} is not finite")
    return np.float64(array) if array.ndim == 0 else array


def _invoke(function, call: str, point: Mapping[str, Any], names: list[str]) -> Any:
    # fresh copies: f may write to them (complex ones under the complex step)
    args = [np.array(point[n], dtype=np.complex128 if np.iscomplexobj(point[n]) else np.float64) for n in names]
    if call == "keywords":
        return function(**dict(zip(names, args)))
    return function(*args) if call == "positional" else function(args[0])


def _call_f(f, call: str, point: Mapping[str, Any], names: list[str]) -> Any:
    stepped = any(np.iscomplexobj(v) for v in point.values())  # the complex step
    with np.errstate(all="ignore"), warnings.catch_warnings():
        if stepped:  # code that casts complex to real warns, and is then not used (see _checked_complex)
            warnings.simplefilter("ignore")
        try:
            out = _invoke(f, call, point, names)
        except Exception as exc:  # the user's code: any exception is reported, not propagated raw
            raise FunctionError(f"f raised {type(exc).__name__}: {exc}") from exc
    if np.ndim(out) != 0:
        raise SpecError(f"f must return a scalar (a loss), got shape {format_shape(np.shape(out))}")
    if stepped:
        if not np.iscomplexobj(out):
            raise TypeError("f dropped the imaginary part of its input")  # no complex step through it
        return np.complex128(out)
    try:
        out = np.float64(out)
    except (TypeError, ValueError):
        raise SpecError(f"f must return a number, got {type(out).__name__}") from None
    if not np.isfinite(out):
        raise DomainError(f"f is not finite here ({out})")
    return out


def _claimed(grad_f, call: str, point: Mapping[str, Any], names: list[str]) -> dict[str, tuple[Any, str | None]]:
    """grad_f's answer per input, or None and why (wrong structure, wrong shape, not finite)."""
    with np.errstate(all="ignore"):
        try:
            out = _invoke(grad_f, call, point, names)
        except Exception as exc:  # the user's code
            raise FunctionError(f"grad_f raised {type(exc).__name__}: {exc}") from exc
    if call == "keywords":
        if not isinstance(out, Mapping) or set(out) != set(names):
            raise SpecError(f"grad_f must return a mapping with the keys {', '.join(names)}")
        parts = [out[n] for n in names]
    elif call == "positional":
        if not isinstance(out, Sequence) or isinstance(out, str) or len(out) != len(names):
            raise SpecError(f"grad_f must return a sequence of {len(names)} gradients, one per input")
        parts = list(out)
    else:
        parts = [out]
    claimed: dict[str, tuple[Any, str | None]] = {}
    for n, part in zip(names, parts):
        try:
            g = np.asarray(part, dtype=np.float64)
        except (TypeError, ValueError):
            claimed[n] = (None, f"is not an array of numbers ({type(part).__name__})")
            continue
        if g.shape != np.shape(point[n]):
            claimed[n] = (None, f"has shape {format_shape(g.shape)}, but ∂f/∂{n} has shape "
                                f"{format_shape(np.shape(point[n]))}")
        elif not np.all(np.isfinite(g)):
            claimed[n] = (None, "is not finite (NaN or inf)")
        else:
            claimed[n] = (np.float64(g) if g.ndim == 0 else g, None)
    return claimed
