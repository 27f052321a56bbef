"""Is the backward of your numpy code right? check_vjp, check_layer and check_function.

- check_vjp(f, vjp, inputs): f(*inputs) returns an array (or a tuple of arrays), vjp(dout, *inputs) the
  gradients of ⟨dout, f⟩ with respect to the differentiated inputs.
- check_layer(forward, backward, inputs): the CS231n convention, forward(*inputs) -> (out, cache) (or
  (out1, out2, ..., cache)) and backward(dout, cache) (or backward(dout1, dout2, ..., cache)).
- check_function(f, grad_f, inputs): f returns a scalar loss, grad_f(*inputs) its gradients.

All three become one thing: an f with outputs and a vjp(dout). Random Gaussian douts (DOUTS of them;
not all ones, which lets cancellations hide bugs such as batch norm's) are each checked against finite
differences of ⟨dout, f(x)⟩, entry by entry (full mode) or along random directions plus sampled entries
(fast mode); the worst dout is reported. Contract checks (shapes, dtypes, linearity in dout, determinism,
writes to inputs, dout or the cache) and a diagnosis of a wrong gradient come with it.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from ..base import budget, randomness
from ..base.budget import budget_seconds, time_budget
from ..base.columns import Along
from ..base.errors import GradcheckError, SpecError
from ..base.limits import FULL_MODE_MAX_ENTRIES
from ..base.options import Options, make, name_option
from ..base.status import Status
from ..base.tolerance import BFLOAT16_EPS, BFLOAT16_RTOL, FLOAT16_RTOL
from ..diagnose.layers import Claims, Diagnosis, diagnose
from ..diagnose.precision import lower_precision
from ..diagnose.precision import said as precision_said
from ..diagnose.ties import moved as moved_off_ties
from ..diagnose.ties import note as tie_note
from ..diagnose.ties import tied as ties_at
from ..inputs.calling import Inputs, call, fresh, parameter_names, prepare, same, written
from ..ops.arrays import format_shape
from ..oracles.numeric import CHECKED_COMPLEX, NumericResult, choose_mode
from ..oracles.vjp_numeric import BlackBox, along, entry, measure
from ..verdict.agreement import Allowance, Rule, black_box_claim_rounding, rule_for
from ..verdict.black_box_rounding import MOVE, measured_rounding
from ..verdict.judge import case_status, judge
from ..verdict.pool import Pool, pooled_vjp
from ..verdict.result import CaseResult, GradientResult
from .contracts import NotFinite, determinism, linearity, precision, read_gradients, read_output, same_outputs
from .expression import tied_slope
from .planning import affordable, plan

# The options of gradcheck.base.options.Options that apply to the user's own functions (a black box has no
# --dtype: its precision is the dtype of its output); `nondeterminism` is these checks' own.
FUNCTION_OPTIONS = ("seed", "rtol", "atol", "mode", "method", "strict", "timeout")

# Random Gaussian output gradients per check: each is a full comparison, and a wrong backward that
# agrees for one dout by chance (a cancellation) will not for the others; 3 keeps the cost at one
# forward pass per step (the douts share them) plus 3 backward calls.
DOUTS = 3


@dataclass
class Target:
    """What is checked: f's outputs at a point, and the claimed gradients for a dout."""

    label: str
    inputs: Inputs
    what: str  # how the user's backward is named in messages
    forward_name: str = "f"  # and the user's forward
    scalar: bool = False  # check_function: f is a loss and grad_f takes no dout
    # Set once the closures that call the user's functions exist (they report into this Target):
    outputs: Callable[[Mapping[str, Any]], tuple] = lambda point: ()  # the point (differentiated values by name) -> f's outputs
    vjp: Callable[..., Any] = lambda dout, point=None: None  # dout (and the point, by default the inputs) -> the user's raw answer
    broken: list[str] = field(default_factory=list)  # broken contracts found while calling: writes into inputs, dout, the cache
    warnings: list[str] = field(default_factory=list)  # reported, not failing: writes to data inputs
    allow_writes: bool = False  # writes into inputs, dout or the cache are reported, not a broken contract
    precision: str | None = None  # the claim's dtype where f's forward is computed wider (a bfloat16 backward)


@dataclass(frozen=True)
class Own:
    """The black-box checks' own options, beside Options: nondeterminism allowed between two backward calls,
    writes allowed, a retry at a random point at a kink from ties, and whether a wrong gradient is diagnosed
    (False: the verdict and exit code only, for runs that read nothing else)."""

    nondeterminism: float = 0.0
    allow_writes: bool = False
    retry_at_random: bool = False
    diagnose: bool = True


def check_vjp(f: Callable, vjp: Callable, inputs: Any, *, wrt: Any = None, data: Any = None, name: str | None = None,
              **given: Any) -> CaseResult:
    """f(*inputs) -> array(s); vjp(dout, *inputs) -> the gradients of ⟨dout, f⟩ (a tuple in input order,
    or one array); inputs: a sequence or a mapping of names."""
    computes_in = _precision(given.pop("precision", None))
    options, own = _options(given, "check_vjp")
    state = prepare(f, inputs, wrt, data)
    label = str(name_option(name) or getattr(f, "__name__", "f"))
    target = Target(label, state, "vjp", allow_writes=own.allow_writes, precision=computes_in)
    dout_name = (parameter_names(vjp) or ["dout"])[0]

    def outputs(point):
        args, kwargs = state.arguments(point)
        with _stepped(point) as stepped:
            return read_output(call("f", f, *args, **kwargs), "f", complex_ok=stepped)

    def backward(dout, point=None):
        args, kwargs = state.arguments(point)
        douts = dout if len(dout) > 1 else dout[0]
        given = fresh(douts)
        got = call("vjp", vjp, given, *args, **kwargs)
        if point is None:  # at another point the inputs differ from the user's by design
            _writes(target, "vjp", args, kwargs, given, douts, dout_name)
        return got

    target.outputs, target.vjp = outputs, backward
    return _run(target, f, options, own)


def check_layer(forward: Callable, backward: Callable, inputs: Any, *, wrt: Any = None, data: Any = None,
                name: str | None = None, **given: Any) -> CaseResult:
    """forward(*inputs) -> (out, cache); backward(dout, cache) -> the gradients (a tuple in input order, or
    one array). A forward returning (out1, out2, ..., cache) has a backward(dout1, dout2, ..., cache)."""
    options, own = _options(given, "check_layer")
    state = prepare(forward, inputs, wrt, data)
    label = str(name_option(name) or getattr(forward, "__name__", "forward"))
    target = Target(label, state, "backward", forward_name="forward", allow_writes=own.allow_writes)
    names = parameter_names(backward)  # the user's own names for dout (dnext_h, dnext_c) and the cache

    def run_forward(point):
        args, kwargs = state.arguments(point)
        got = call("forward", forward, *args, **kwargs)
        if not isinstance(got, tuple) or len(got) < 2:
            raise SpecError(f"forward must return (out, cache), got {type(got).__name__}"
                            + (f" of length {len(got)}" if isinstance(got, tuple) else ""))
        return got[:-1], got[-1]

    def outputs(point):
        with _stepped(point) as stepped:
            out, _ = run_forward(point)
            return read_output(out if len(out) > 1 else out[0], "forward", complex_ok=stepped)

    def vjp(dout, point=None):
        _, cache = run_forward(point or {})
        before = fresh(cache)
        given = [fresh(d) for d in dout]
        got = call("backward", backward, *given, cache)
        douts, cache_name = _argument_names(names, len(dout))
        for d, original, label_ in zip(given, dout, douts):
            if not same(d, original):
                _broken(target, f"backward writes into its argument {label_}: a layer's backward must not change the "
                                "upstream gradient (another branch of the network reads it)")
        if not same(cache, before):
            _broken(target, f"backward writes into {cache_name}: calling it twice (or a second branch) gives "
                            "different gradients")
        return got

    target.outputs, target.vjp = outputs, vjp
    return _run(target, forward, options, own)


def check_function(f: Callable, grad_f: Callable | None, inputs: Any, *, wrt: Any = None, data: Any = None,
                   name: str | None = None, **given: Any) -> CaseResult:
    """f(*inputs) -> a scalar loss; grad_f(*inputs) -> its gradients (a sequence in input order, one array,
    or a mapping for mapping inputs)."""
    options, own = _options(given, "check_function")
    if grad_f is None:  # f returns (loss, grads), as CS231n's softmax_loss_naive does
        f, grad_f = _pair(f)
    state = prepare(f, inputs, wrt, data)
    label = str(name_option(name) or getattr(f, "__name__", "f"))
    target = Target(label, state, "grad_f", scalar=True, allow_writes=own.allow_writes)

    def outputs(point):
        args, kwargs = state.arguments(point)
        with _stepped(point) as stepped:
            out = read_output(call("f", f, *args, **kwargs), "f", complex_ok=stepped)
        if len(out) != 1 or out[0].ndim != 0:
            shape = " and ".join(str(o.shape) for o in out).replace(" ", "")
            raise SpecError(f"f must return a scalar (a loss), got shape {shape}; for an array output use "
                            "gradcheck.check_vjp or check_layer")
        return out

    def vjp(dout, point=None):
        args, kwargs = state.arguments(point)
        got = call("grad_f", grad_f, *args, **kwargs)
        if point is None:  # at another point the inputs differ from the user's by design
            _writes(target, "grad_f", args, kwargs)
        return got

    target.outputs, target.vjp = outputs, vjp
    return _run(target, f, options, own)


def _pair(f: Callable) -> tuple[Callable, Callable]:
    """A function returning (loss, grads) as a loss and its gradient, each showing f's own parameters."""
    def loss(*args: Any, **kwargs: Any) -> Any:
        return _loss_and_grads(f(*args, **kwargs))[0]

    def grads(*args: Any, **kwargs: Any) -> Any:
        return _loss_and_grads(f(*args, **kwargs))[1]

    for wrapper in (loss, grads):
        wrapper.__signature__ = inspect.signature(f) if callable(f) else None  # type: ignore[attr-defined]
        wrapper.__name__ = getattr(f, "__name__", "f")
    return loss, grads


def _loss_and_grads(got: Any) -> tuple[Any, Any]:
    if not isinstance(got, tuple) or len(got) != 2:
        kind = f"a tuple of {len(got)}" if isinstance(got, tuple) else type(got).__name__
        raise SpecError(f"without grad_f, f must return (loss, grads), got {kind}")
    return got


def _argument_names(own: list[str], count: int) -> tuple[list[str], str]:
    """The names a layer's backward gives its douts and its cache (`backward(dnext_h, dnext_c, cache)`), for
    messages; dout, dout1, ... and 'the cache' where its signature does not say (*args)."""
    if len(own) > count:
        return own[:count], f"its argument {own[count]} (the cache)"
    return (["dout"] if count == 1 else [f"dout{i + 1}" for i in range(count)]), "the cache"


def _broken(target: Target, problem: str) -> None:
    """A write into an input, dout or the cache: a broken contract, or a note under allow_writes."""
    if target.allow_writes:
        target.warnings.append(f"note: {problem} (allowed: allow_writes)")
    else:
        target.broken.append(problem)


def _writes(target: Target, what: str, args, kwargs, given=None, original=None, dout_name: str = "dout") -> None:
    """Writes to a differentiated input break a contract (they corrupt the network's values); writes to a data
    input (CS231n's batchnorm keeps running averages in bn_param) are reported only."""
    inputs = target.inputs
    for n in written(args, kwargs, [inputs.values[n] for n in inputs.names], inputs.names):
        if n in inputs.holders:
            _broken(target, f"{what} writes into its input {n}")
        else:
            target.warnings.append(f"note: {what} writes into its data input {n} (reported, not a failure)")
    if given is not None and not same(given, original):
        _broken(target, f"{what} writes into its argument {dout_name}: the upstream gradient must not change")


def _precision(given: Any) -> str | None:
    """check_vjp's precision=: the dtype the claim is computed in where f (the forward numeric differences) is
    computed in a wider one: a bfloat16 backward (gradcheck.torch, gradcheck.jax; numpy has no bfloat16, and
    bfloat16's 8 bits are too few to difference) is judged by bfloat16's rule; None: f's outputs' own."""
    if given is None or given == "bfloat16":
        return given
    raise SpecError(f"precision may only be 'bfloat16' (other precisions are read from f's outputs), got {str(given)[:40]!r}")


def _options(given: dict[str, Any], what: str) -> tuple[Options, Own]:
    """The shared options, and the black-box checks' own (Own)."""
    nondeterminism = given.pop("nondeterminism", 0.0)
    if isinstance(nondeterminism, bool) or not isinstance(nondeterminism, (int, float)) or not nondeterminism >= 0 \
            or nondeterminism > 2 ** 1023:  # NaN, inf, and a whole number float() cannot take
        raise SpecError(f"nondeterminism must be a finite number ≥ 0, got {str(nondeterminism)[:40]}")
    flags = {}
    for flag, default in (("allow_writes", False), ("retry_at_random", False), ("diagnose", True)):
        value = given.pop(flag, default)
        if not isinstance(value, bool):
            raise SpecError(f"{flag} must be True or False, got {str(value)[:40]}")
        flags[flag] = value
    return make(given, FUNCTION_OPTIONS, what), Own(float(nondeterminism), **flags)


@contextmanager
def _stepped(point: dict):
    """Under the complex step (a complex input) f may return complex values; code that casts them to real
    warns (ComplexWarning), which is made an error so that the step is not used (vjp_numeric._checked_complex)."""
    stepped = any(np.iscomplexobj(v) for v in point.values())
    with warnings.catch_warnings():
        if stepped:
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
        yield stepped


def _run(target: Target, f: Callable, options: Options, own: Own) -> CaseResult:
    with time_budget(budget_seconds(options.timeout), f"checking {target.label}"):
        result = _check(target, f, options, own)
        ties = {n: ties_at(target.inputs.leaf(n), g.kinks) for n, g in result.gradients.items()}
        ties = {n: entries for n, entries in ties.items() if entries}
        if result.status == Status.KINK and ties and own.retry_at_random:  # check again where nothing is tied
            rng = randomness.stream(options.seed, *randomness.RETRY)
            target.inputs.move({n: moved_off_ties(np.asarray(target.inputs.leaf(n)), rng) for n in target.inputs.wrt})
            target.broken.clear()
            target.warnings.clear()
            given = ", ".join(f"{n}[{','.join(map(str, e[0]))}]" for n, e in ties.items())
            result = _check(target, f, options, own)
            result.notes.insert(0, f"checked again at a random point near the given one (--retry-at-random): at the "
                                   f"given point the kinks were ties ({given}, …)")
        elif ties:
            result.notes.extend(tie_note(n, entries) for n, entries in ties.items())
    result.strict = options.strict
    return result


def _check(target: Target, f: Callable, options: Options, own: Own) -> CaseResult:
    started = time.perf_counter()
    seed = options.seed
    inputs = target.inputs
    point = {n: inputs.leaf(n) for n in inputs.wrt}
    first_args, first_kwargs = inputs.arguments()
    times = [budget.clock()]  # f's first calls, timed to plan the differences (planning.py)
    try:
        base = target.outputs({})
    except NotFinite as exc:  # NaN or inf from the user's own f: a wrong result, not bad input
        return CaseResult(name=target.label, expr=_expr(target), status=Status.MISMATCH, seed=seed,
                          verdict=f"{exc}: f must return finite values", point=_shown(inputs),
                          value=float("nan"), seconds=time.perf_counter() - started)
    times.append(budget.clock())
    same_outputs(base, target.outputs({}), target.forward_name, own.nondeterminism)
    times.append(budget.clock())
    call(target.forward_name, f, *first_args, **first_kwargs)  # on fresh copies: does f write to its inputs?
    times.append(budget.clock())
    _writes(target, target.forward_name, first_args, first_kwargs)
    dtype = precision(base)
    eps = float(np.finfo(dtype).eps)
    rng = randomness.stream(seed, *randomness.DOUTS)
    douts = _douts(base, target.scalar, rng)
    claims = [read_gradients(target.vjp(d if not target.scalar else (np.float64(1.0),)), inputs, target.what)
              for d in douts]
    problems: list[str] = []  # what makes a gradient wrong beyond its values: not linear, not deterministic
    claimed = [c for c, _, _ in claims]
    mode = choose_mode(options.mode, point, list(inputs.wrt))
    # f is a black box: nothing says it is analytic, so auto takes the complex step only where it agrees
    # with central differences (numeric.CHECKED_COMPLEX), and central differences find the kinks.
    method = CHECKED_COMPLEX if options.method == "auto" else options.method
    per_call = sorted(np.diff(times))[1]  # the median of three: the first call may import or warm a cache
    fitted = plan(per_call, budget.remaining(), [int(np.size(point[n])) for n in inputs.wrt], mode,
                  method, options.mode, options.method)
    mode, method = fitted.mode, fitted.method
    rule = _rule(options, target.precision or dtype)  # a bfloat16 claim beside f's float32 forward: bfloat16's
    # fast mode's small inputs, probed as one array (each on its own when the plan cut the probes)
    pool = None if fitted.reduced else Pool.of(list(inputs.wrt), point, mode)
    box = BlackBox(target.outputs, point, douts, base, method, eps, seed, fitted.probes)
    measured = measure(box, [n for n in inputs.wrt if pool is None or n not in pool], mode)
    if pool is not None:
        measured.update(pooled_vjp(pool, box, claimed, rule))
    gradients = {}
    scale = layer_scale(measured)
    for n in inputs.wrt:
        tied = _tied(box, n, measured[n])
        gradients[n] = _judged(n, np.shape(point[n]), measured[n], claimed, Allowance(rule, scale=scale), tied)
    _within_rounding(target, box, claimed, measured, gradients, Allowance(rule, scale=scale))
    _within_precision(target, box, claimed, measured, gradients, Allowance(rule, scale=scale))
    undiagnosed = []
    wrong = [n for n in inputs.wrt if gradients[n].status == Status.MISMATCH]
    # a diagnosis differences a wrong variable in full: only where that fits the budget (a slow f's does not)
    affordable_now = affordable(sum(int(np.size(point[n])) for n in wrong), per_call, budget.remaining(), method)
    if wrong and own.diagnose and affordable_now:
        for n, found in _explain(target, box, wrong, measured, mode, claims, rule).items():
            gradients[n].diagnosis, gradients[n].cause = found.sentence, found.cause
            gradients[n].causes = found.causes
    elif wrong and own.diagnose:
        undiagnosed = wrong
    for n in inputs.wrt:
        distance = lower_precision(measured[n], [c[n][0] for c in claimed], dtype) \
            if gradients[n].status == Status.PASS else None
        if distance is not None:  # right within rtol, wrong for f's precision: a note, a failure under --strict
            note = precision_said(distance, options.strict)
            gradients[n].notes["claimed"] = "; ".join(filter(None, [gradients[n].notes.get("claimed"), note]))
            gradients[n].cause = "lower precision"
            if options.strict:
                gradients[n].status = Status.MISMATCH
                gradients[n].verdict = "claimed is computed in lower precision than f (--strict)"
    if not target.scalar:
        problems += linearity(lambda d: read_gradients(target.vjp(d), inputs, target.what)[0], douts[0],
                              {n: claimed[0][n][0] for n in inputs.wrt}, rule)
    again = read_gradients(target.vjp(douts[0] if not target.scalar else (np.float64(1.0),)), inputs, target.what)[0]
    problems += determinism(again, {n: claims[0][0][n][0] for n in inputs.wrt}, own.nondeterminism)
    problems = list(dict.fromkeys(problems))
    broken = list(dict.fromkeys(target.broken + [p for _, _, found in claims for p in found]))
    status = _status(gradients, problems, broken)
    notes = [f"precision assumed: {dtype} (the dtype of {target.forward_name}'s output)" if target.precision is None
             else f"precision assumed: {target.precision} (the claim's; numeric differences {target.forward_name} computed "
                  f"in {dtype}, {target.precision} having too few digits to difference)"]
    if fitted.note:
        notes.append(fitted.note)
    if undiagnosed:
        notes.append(f"how {', '.join(undiagnosed)} {'is' if len(undiagnosed) == 1 else 'are'} wrong is not diagnosed: "
                     f"that differences every entry, and f takes {per_call:.3g} s a call")
    if not target.scalar:
        notes.append(f"compared for {DOUTS} random Gaussian douts" +
                     (f" and one per output ({len(base)} outputs)" if len(base) > 1 else "") +
                     "; the worst is shown")
    return CaseResult(name=target.label, expr=_expr(target), status=status,
                      value=float(base[0]) if target.scalar else None, gradients=gradients, point=_shown(inputs),
                      seed=seed, verdict=_verdict(gradients, problems, broken), dtype=dtype,
                      output=", ".join(f"{format_out(o)}" for o in base),
                      notes=notes + list(dict.fromkeys(target.warnings)) + problems,  # broken: in the verdict
                      seconds=time.perf_counter() - started)


def _within_rounding(target: Target, box: BlackBox, claimed: list[dict], measured: dict[str, list[NumericResult]],
                     gradients: dict[str, GradientResult], allowance: Allowance) -> None:
    """The variables that disagree, judged again with the rounding of their disagreeing probes
    measured (black_box_rounding.py): a right gradient that is rounding beside the terms it sums
    (batch norm's bias before it) passes; a wrong one is still wrong."""
    wrong = [n for n, g in gradients.items() if g.status == Status.MISMATCH]
    if not wrong:
        return
    point, douts, rule = box.point, box.douts, allowance.rule
    bases: dict[int, tuple] = {}  # f's outputs at each moved point, computed once

    def claims_at(there: Mapping[str, Any]) -> list[Mapping[str, tuple]]:
        return [read_gradients(target.vjp(d if not target.scalar else (np.float64(1.0),), there), target.inputs,
                               target.what)[0] for d in douts]

    def probe_at(there: Mapping[str, Any], name: str, at: Any) -> list:
        if id(there) not in bases:
            bases[id(there)] = target.outputs(there)
        moved = box.moved(point=there, base=bases[id(there)])
        return entry(moved, name, at) if isinstance(at, tuple) else along(moved, name, at)

    try:
        widened = measured_rounding(wrong, point, claimed, measured, rule, claims_at, probe_at)
    except GradcheckError:  # f or the backward refuses a moved point: judged as it was
        return
    if widened is None:
        return
    for n in wrong:
        again = _judged(n, np.shape(point[n]), widened[n], claimed, allowance)
        if again.status != Status.MISMATCH:
            if again.status == Status.INCONCLUSIVE and rule.eps <= float(np.finfo(np.float64).eps):
                # measured to be rounding: as right as numeric can tell. Below float64 numeric's own error
                # makes entries inconclusive, the moved entries' or others': there it says so (exit 4)
                again.status, again.verdict = Status.PASS, "claimed = numeric, within its measured rounding"
            again.notes["claimed"] = (f"agrees within its rounding: its difference from numeric changes by as much "
                                      f"when the inputs move by {MOVE:g} of themselves, as rounding does and an "
                                      "error does not")
            gradients[n] = again


def _within_precision(target: Target, box: BlackBox, claimed: list[dict], measured: dict[str, list[NumericResult]],
                      gradients: dict[str, GradientResult], allowance: Allowance) -> None:
    """Below float64, the variables that still disagree, judged again with the claim's own rounding measured:
    the user's backward run again on the same point and douts in float64, its claim's distance from the
    float64 one. A float32 backward sums terms the size of dout times f's outputs, not of the gradient:
    a softmax row whose probabilities are 0.996 and 4e-3 has gradients of 8e-3 computed from terms of 1,
    off by 2e-8 where the truth is 1e-8, far beyond an ulp of 8e-3 (agreement.black_box_claim_rounding).
    That rounding is systematic (the same at points moved by 1e-6: _within_rounding cannot see it), and
    numeric, exact to 1e-12 there through the complex step, shows it. A wrong backward is as wrong in
    float64: its distance from its float64 self stays its rounding, and it still disagrees. What is
    granted is at most an ulp of those terms (the largest dout times the largest output, or the layer's
    gradient where that is larger), as agreement.black_box_claim_rounding grants an ulp of the gradient:
    code that goes wrong in one precision only (a comparison that float32 decides otherwise) is no rounding."""
    wrong = [n for n, g in gradients.items() if g.status == Status.MISMATCH]
    rule, scale = allowance.rule, allowance.scale
    if not wrong or rule.eps <= float(np.finfo(np.float64).eps):
        return
    wide = {n: _float64(v) for n, v in box.point.items()}
    try:
        again = [read_gradients(target.vjp(tuple(_float64(d) for d in dout) if not target.scalar
                                           else (np.float64(1.0),), wide), target.inputs, target.what)[0]
                 for dout in box.douts]
    except GradcheckError:  # the backward refuses float64: judged as it was
        return
    outputs = max((float(np.max(np.abs(o), initial=0.0)) for o in box.base), default=0.0)
    for n in wrong:
        rounding = []
        for mine, theirs, dout in zip(claimed, again, box.douts):
            a, b = mine[n][0], theirs[n][0]
            if a is None or b is None or np.shape(a) != np.shape(b):
                break
            terms = max(scale, max(float(np.max(np.abs(d), initial=0.0)) for d in dout) * outputs)
            # at most an ulp of the terms: code that goes wrong in one precision only is not rounding
            rounding.append(np.minimum(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)),
                                       rule.eps * terms))
        else:
            judged = _judged(n, np.shape(box.point[n]), measured[n], claimed, allowance, claim_rounding=rounding)
            if judged.status != Status.MISMATCH:
                judged.notes["claimed"] = ("agrees within its rounding: the same backward in float64 differs from "
                                           "it by as much")
                gradients[n] = judged


def _float64(value: Any) -> Any:
    """A real floating-point value in float64 (an array, or a scalar); anything else as it is."""
    array = np.asarray(value)
    if array.dtype.kind != "f":
        return value
    return array.astype(np.float64) if array.ndim else np.float64(array)


def _explain(target: Target, box: BlackBox, wrong: list[str], measured: Mapping[str, list[NumericResult]], mode: str,
             claims: list, rule: Rule) -> dict[str, Diagnosis]:
    """How the wrong gradients are wrong (diagnose.layers.diagnose), from every input's evidence at hand,
    since a mistake may span inputs (gradients returned in another order). A wrong input checked in fast
    mode only because of the others' size is differenced in full here (it is small); a large one, in a
    block (diagnose.layers)."""
    point = box.point
    if mode == "fast":
        small = [n for n in wrong if np.size(point[n]) <= FULL_MODE_MAX_ENTRIES]
        measured = {**measured, **measure(box, small, "full")}

    def claim_for(dout: tuple) -> Mapping[str, Any]:
        return {n: c[0] for n, c in read_gradients(target.vjp(dout), target.inputs, target.what)[0].items()}

    given = Claims([{n: c[0][n][0] for n in target.inputs.wrt} for c in claims], [c[1] for c in claims],
                   1 if target.scalar else DOUTS, None if target.scalar else claim_for)
    return diagnose(box, wrong, measured, given, target.inputs, rule)


def _douts(base: tuple, scalar: bool, rng: np.random.Generator) -> list[tuple]:
    """DOUTS random Gaussian douts in the outputs' dtype; with several outputs, also one per output alone
    (the others zero), which tells which output's path a wrong backward gets wrong."""
    if scalar:
        return [(np.float64(1.0),)]
    douts = [tuple(_gaussian(rng, o) for o in base) for _ in range(DOUTS)]
    if len(base) > 1:
        for j in range(len(base)):
            douts.append(tuple(_gaussian(rng, o) if i == j else np.zeros_like(o, dtype=_float(o))
                               for i, o in enumerate(base)))
    return douts


def _float(o: np.ndarray):
    return o.dtype if o.dtype.kind == "f" else np.float64


def _gaussian(rng: np.random.Generator, o: np.ndarray):
    d = rng.standard_normal(o.shape).astype(_float(o))
    return d if o.ndim else d[()]


def _rule(options: Options, dtype: str) -> Rule:
    """The agreement rule in the precision f computes in (agreement.rule_for; float16 and bfloat16 have their own rtol)."""
    if dtype == "bfloat16":
        return Rule(rtol=BFLOAT16_RTOL if options.rtol is None else options.rtol,
                    atol=0.0 if options.atol is None else options.atol, eps=BFLOAT16_EPS)
    if dtype == "float16":
        return Rule(rtol=FLOAT16_RTOL if options.rtol is None else options.rtol,
                    atol=0.0 if options.atol is None else options.atol, eps=float(np.finfo(np.float16).eps))
    return rule_for(options.rtol, options.atol, "float32" if dtype == "float32" else "float64")


def layer_scale(measured: Mapping[str, list[NumericResult]]) -> float:
    """The size a black box's gradients are judged at (agreement.conclusive): the largest entry numeric
    measured for any input and dout. A black box has no terms to tell its scale, and a bias whose
    gradient is 0 before a batch norm is 0 at the size of the layer's other gradients."""
    sizes = [0.0]
    for results in measured.values():
        for r in results:
            if r.value is not None:
                v = np.abs(np.asarray(r.value.value, dtype=np.float64))
                sizes.append(float(np.max(v[np.isfinite(v)], initial=0.0)))
    return max(sizes)


def _tied(box: BlackBox, name: str, measured: list[NumericResult]) -> list[Along | None]:
    """For each dout, f's slope with the input's kinked entries moved together (pipeline.tied_slope); the
    line is differenced once, for every dout."""
    slopes: dict[bytes, list] = {}

    def at(k: int) -> Callable[[np.ndarray], Any]:
        def along_one(v: np.ndarray) -> Any:
            key = v.tobytes()
            if key not in slopes:
                slopes[key] = along(box, name, v)
            return slopes[key][k]
        return along_one

    return [tied_slope(m.kinks, np.shape(box.point[name]), at(k)) for k, m in enumerate(measured)]


def _judged(name: str, shape, measured: list[NumericResult], claimed: list[dict], allowance: Allowance,
            tied: list[Along | None] | None = None, claim_rounding: list[np.ndarray] | None = None) -> GradientResult:
    """The one place a variable is judged: once per dout, the worst kept (a mismatch, else a kink)."""
    # no backprop here: the claim's own rounding is not known, so the numeric estimate carries the
    # uncertainty (with the rounding measured where the claim disagreed: _within_rounding), and below
    # float64 the claim's precision at the layer's scale (agreement.black_box_claim_rounding), or, where
    # measured (_within_precision), its distance from the same backward in float64, per dout
    tied = tied or [None] * len(measured)
    floor = black_box_claim_rounding(allowance.rule, allowance.scale)
    owns = [{"claimed": floor if claim_rounding is None else np.maximum(floor, claim_rounding[k])}
            for k in range(len(measured))]
    results = [judge(name, shape, {"claimed": c[name]}, m, replace(allowance, own=own), tied=t)
               for m, c, t, own in zip(measured, claimed, tied, owns)]
    bad = [(k, r) for k, r in enumerate(results) if r.status == Status.MISMATCH]
    if bad:
        k, worst = max(bad, key=lambda kr: kr[1].max_rel_error or 0.0)
        if len(results) > 1:
            worst.verdict += f" (dout {k + 1} of {len(results)}; {len(bad)} of them disagree)"
        return worst
    return next((r for status in (Status.INCONCLUSIVE, Status.KINK) for r in results if r.status == status), results[0])


def _status(gradients: dict[str, GradientResult], problems: list[str], broken: list[str]) -> Status:
    """A wrong gradient is a mismatch whatever else is wrong; right gradients from code that breaks a contract
    are that (Status.CONTRACT), not a mismatch: the values a network learns from are right."""
    status = Status.MISMATCH if problems else case_status(gradients)
    return Status.CONTRACT if broken and status != Status.MISMATCH else status


def _verdict(gradients: dict[str, GradientResult], problems: list[str], broken: list[str]) -> str:
    bad = [g for g in gradients.values() if g.status != Status.PASS]
    parts = [f"∂f/∂{g.variable}: {g.verdict}" for g in bad]
    parts += problems
    if not parts:
        count = len(gradients)
        agree = "the gradient agrees" if count == 1 else "both gradients agree" if count == 2 else \
            f"all {count} gradients agree"
        return "; ".join([f"{'gradient' if count == 1 else 'gradients'} right" if broken else agree, *broken])
    return "; ".join(parts + broken)


def _expr(target: Target) -> str:
    return f"{target.label}({', '.join(target.inputs.names)})"


def format_out(o: np.ndarray) -> str:

    return f"{o.dtype} {format_shape(o.shape)}" if o.ndim else f"{o.dtype} scalar"


def _shown(inputs: Inputs) -> dict[str, Any]:
    """The point as results show it: the differentiated inputs (data inputs are not numbers to show)."""
    return {n: float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float64)
            for n, v in ((n, inputs.leaf(n)) for n in inputs.wrt)}
