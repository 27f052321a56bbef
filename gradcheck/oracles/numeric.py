"""Finite differences: ∂f/∂x from values of f alone, each with an estimate of its own error.

Every derivative here is the derivative of f along a line, g(t) = f(x + t·v), at t = 0: v is a
single entry (full mode, and the sampled entries of fast mode) or a random unit direction (fast
mode). Methods:
- complex: g(ih).imag / h — no subtraction, so no cancellation, good to a few ulps; needs every
  primitive between the variable and f to have a complex form (the registry's `complex_form`):
  analytic ones, and piecewise ones (relu, abs, max, max_pool2d) whose piece the real part picks —
  the real parts under an imaginary step are the point's, so the piece is the point's. An entry
  whose step moves a kink quantity that is exactly 0 (on the kink) is differenced as below instead;
- richardson: Ridders' extrapolation of central differences over shrinking steps (Numerical
  Recipes §5.7), with its own error estimate;
- central: (g(h) − g(−h)) / 2h with h = ∛eps·scale; error estimated from the same difference at 2h
  plus the rounding of f.
- auto: complex where it applies (every primitive on the variable's path has a complex form), else central.

f reports, with its value, which branch of every kink (relu, abs, max, min) it took. A difference
whose two sides take different branches has crossed a kink: the step shrinks, and if the point is
exactly on a kink the left and right derivatives are reported instead of a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ..base import randomness
from ..base.budget import checkpoint
from ..base.columns import Evaluation, Kink, Measured, PoolShare, Probes
from ..base.errors import DomainError
from ..base.limits import FAST_PROBES, FULL_MODE_MAX_ENTRIES
from ..base.options import METHODS, MODES  # noqa: F401 - re-exported for callers that know them from here
from ..base.tolerance import ROUNDING_ULPS, SAFETY
from ..ops.registry import KINKED, listed
from .directions import Directions

EPS = float(np.finfo(np.float64).eps)
# Central differences err by O(h²) from truncation and O(eps/h) from rounding; a step of cbrt(eps)
# balances the two (Numerical Recipes §5.7): about 6.1e-6 in float64 (4.9e-3 in float32), scaled
# by the variable's magnitude (see _central).
# The complex step has no subtractive cancellation, so h can be tiny and its O(h²) error vanishes.
# Through a user's own code (binary_step) the step is the power of two at or below this size.
COMPLEX_STEP = 1e-20
# The largest phase imag/real of f(x + ih) for which the step is linear: the complex step's relative
# truncation error is about phase²/6 (from sin(φ) ≈ φ − φ³/6), 1.7e-17 here, below float64's eps,
# and the wider check step (COMPLEX_CHECK times larger) still has a phase of 1e-5.
COMPLEX_MAX_PHASE = 1e-8
# Steps shrunk toward that phase before giving up on the complex step: one is enough where the step is
# in f's linear range (imag ∝ h). Where the step dwarfs x itself (log(x) at 1e-30) each shrinks it
# by ~1e-7 until it does not: 8 reach h ~ 1e-76.
COMPLEX_PHASE_RETRIES = 8
# An imaginary part f'·h within this factor of the smallest normal number has lost its precision.
SUBNORMAL_MARGIN = 2.0**20
# A second complex step this many times larger measures the first one's O(h^2) truncation error.
COMPLEX_CHECK = 1e3
# A difference that crosses a kink is retried with a step this many times smaller, this many times.
KINK_SHRINK, KINK_RETRIES = 100.0, 3
# One-sided quotients that grow this much when the step shrinks 10x mean f jumps (sign, step): no derivative.
JUMP_GROWTH = 5.0
# Ridders' method: first step (relative to the variable's scale; Numerical Recipes' 0.1 extrapolated
# to a 1e-3 error on the staged CS231n f, whose error estimate said 1e-4), step ratio, table size, and the
# growth of the error that ends the extrapolation (Numerical Recipes' dfridr).
RIDDERS_FIRST_STEP, RIDDERS_RATIO, RIDDERS_TABLE, RIDDERS_SAFE = 0.02, 1.4, 10, 2.0
# Richardson's value stands only if it is within this many of central differences' own error estimates.
NUMERIC_AGREE = 10.0
# The method for a black-box f: the complex step, checked against central differences entry by entry.
CHECKED_COMPLEX = "complex, checked"


# The function being differenced: the point (every variable's value) -> Evaluation. Finite
# differences know nothing else of f, so the same code checks an expression and a user's numpy code.
Function = Callable[[Mapping[str, Any]], Evaluation]


@dataclass(frozen=True)
class NumericResult:
    value: Measured | None = None  # full mode; None in fast mode or when undefined
    probes: Probes | PoolShare | None = None  # fast mode (a pooled variable's share of the pool's probes)
    note: str | None = None  # why value is None, what fast mode checked, what was left out
    method: str = "central"
    kinks: tuple[Kink, ...] = field(default=())


@dataclass(frozen=True)
class Section:
    """f along one variable's space at the point: the function differenced for ∂f/∂name, with f's value at
    the point (`base`, every difference's reference) and the difference method."""

    f: Function
    point: Mapping[str, Any]
    name: str
    method: str
    base: Evaluation

    @cached_property
    def x(self) -> np.ndarray:
        """The variable's value in the working precision."""
        return _as_working(self.point[self.name])

    def line(self, v: np.ndarray | tuple[int, ...], last: dict | None = None):
        """g(t) = f(x + t·v), the function whose derivative at 0 is wanted (v a direction, or the index of
        one entry). g and g.shaken share the last step's array x + t·v: the shaken pass of a step then
        receives the very array the plain pass did, and evaluate.py reuses the plain pass's linear products
        for it."""
        last = {} if last is None else last
        x, f, point, name = self.x, self.f, self.point, self.name

        def g(t) -> Evaluation:
            checkpoint()  # every evaluation of f: the numeric oracle's loops all pass here
            moved = last.get(t)
            if moved is None:
                last.clear()  # the previous step's array goes before this one is made
                moved = last[t] = _moved(x, t, v)
            return f({**point, name: moved[()] if moved.ndim == 0 else moved})
        if hasattr(f, "shaken"):  # f evaluated with its intermediates' rounding perturbed
            g.shaken = replace(self, f=f.shaken).line(v, last)  # type: ignore[attr-defined]
        return g

    def derivative(self, g, scale: float) -> Any:
        """line_derivative of one of this section's lines, by its method, in x's precision."""
        return line_derivative(g, scale, self.method, self.base, float(np.finfo(self.x.dtype).eps))


def choose_mode(mode: str, point: Mapping[str, Any], names: list[str]) -> str:
    if mode != "auto":
        return mode
    entries = sum(int(np.size(point[name])) for name in names)
    return "full" if entries <= FULL_MODE_MAX_ENTRIES else "fast"


def numeric(f: Function, point: Mapping[str, Any], names: list[str], mode: str = "full",
            seed: int = 0, method: str | Mapping[str, str] = "central") -> dict[str, NumericResult]:
    """∂f/∂name for every name, by differences of f alone. f raises DomainError where it is undefined.
    method: one for all, or one per name."""
    base = f(point)
    results = {}
    methods = method if isinstance(method, Mapping) else dict.fromkeys(names, method)
    for name in names:
        method = methods[name]
        # Fast mode probes 2 * FAST_PROBES lines per variable; a variable with no more entries than
        # that is differenced entry by entry, which costs no more and checks every entry. So fast
        # mode's cost is bounded per array, and a scalar costs one derivative, not sixteen.
        whole = mode == "full" or np.size(point[name]) <= 2 * FAST_PROBES
        section = Section(f, point, name, method, base)
        try:
            results[name] = full(section) if whole else fast(section, seed)
        except DomainError as exc:
            try:
                if method != "complex":
                    raise
                # an overflow in complex arithmetic: fall back, saying so
                central = replace(section, method="central")
                results[name] = full(central) if whole else fast(central, seed)
                results[name] = _with_note(results[name], f"complex step failed ({exc.message}); central differences used")
            except DomainError as leaves:
                results[name] = NumericResult(note=f"a step leaves the domain: {leaves.message}", method=method)
    return results


def full(section: Section) -> NumericResult:
    """Every entry's derivative, one line per entry."""
    x = section.x
    values, errors = np.empty(x.shape), np.empty(x.shape)
    kinks, excluded = [], 0
    for idx in np.ndindex(x.shape):
        got = section.derivative(section.line(idx), max(1.0, abs(float(x[idx]))))
        if isinstance(got, Kink):
            kinks.append(Kink(idx, got.left, got.right, got.error))
            values[idx], errors[idx] = np.nan, np.inf
        elif got is None:
            excluded += 1
            values[idx], errors[idx] = np.nan, np.inf
        else:
            values[idx], errors[idx] = got
    scalar = x.ndim == 0
    measured = Measured(np.float64(values[()]) if scalar else values, np.float64(errors[()]) if scalar else errors)
    return NumericResult(measured, note=_left_out(excluded), method=section.method, kinks=tuple(kinks))


def fast(section: Section, seed: int) -> NumericResult:
    """FAST_PROBES random directions and as many random entries, drawn from the variable's own stream."""
    x, name = section.x, section.name
    key = randomness.key(seed, name, *randomness.FAST)
    rng = randomness.stream(seed, name, *randomness.FAST)
    scale = array_scale(x)
    drawn = Directions(key, x.shape, x.dtype.str, FAST_PROBES, ())
    # one direction at a time, drawn from rng (which then picks the entries); none is kept (directions.py)
    kept, directional, directional_error = _probe(section, drawn.drawn(rng), [scale] * FAST_PROBES)
    flat = rng.choice(x.size, size=min(FAST_PROBES, x.size), replace=False)
    indices = [tuple(int(i) for i in np.unravel_index(position, x.shape)) for position in flat]
    entries, values, errors = _probe(section, indices, [max(1.0, abs(float(x[idx]))) for idx in indices])
    skipped = FAST_PROBES - len(kept) + len(indices) - len(entries)
    kept_entries = [indices[i] for i in entries]
    note = (f"fast mode: {len(kept)} random directions and {len(kept_entries)} random entries checked "
            f"(full mode up to {FULL_MODE_MAX_ENTRIES:,} entries; --mode full forces it)")
    if skipped:
        note += f"; {skipped} probes crossed a kink and were left out"
    probes = Probes(replace(drawn, kept=tuple(kept)), np.array(directional), np.array(directional_error),
                    tuple(kept_entries), np.array(values), np.array(errors))
    return NumericResult(None, probes, note, section.method)


def along(section: Section, vector: np.ndarray):
    """The derivative of f along one vector of the section's variable: (value, error), or a Kink or None
    near a kink (pool.py traces a disagreeing direction with these)."""
    x = section.x
    return section.derivative(section.line(np.asarray(vector, dtype=x.dtype)), array_scale(x))


def array_scale(x: np.ndarray) -> float:
    """The step scale of a direction through a whole array: its largest entry's size, at least 1."""
    return max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)


def _probe(section: Section, vectors: Iterable[np.ndarray | tuple[int, ...]],
           scales: list) -> tuple[list[int], list[float], list[float]]:
    """The derivative along each vector; those that cross a kink are left out (their positions are not kept)."""
    kept, values, errors = [], [], []
    vectors = iter(vectors)
    for i, scale in enumerate(scales):
        v = next(vectors)
        got = section.derivative(section.line(v), scale)
        del v  # before the next vector is made: one at a time in memory
        if isinstance(got, tuple):
            kept.append(i)
            values.append(got[0])
            errors.append(got[1])
    return kept, values, errors


def _unit(x: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    unit = np.zeros(x.shape, dtype=x.dtype)
    unit[idx] = 1.0
    return unit


def _moved(x: np.ndarray, t: Any, v: np.ndarray | tuple[int, ...]) -> np.ndarray:
    """x + t·v, v a direction or the index of one entry (its unit vector, never made: 8 MB for a
    million entries). For the complex step (t = ih) written straight into one complex array, real part
    x and imaginary part h·v: the same numbers x + t·v gives, without its two temporary complex arrays
    (48 MB for a million entries, on every step)."""
    if isinstance(v, tuple) and not x.ndim:
        v = _unit(x, v)
    complex_step = isinstance(t, complex) and t.real == 0
    if isinstance(v, tuple):
        if complex_step:
            moved = np.zeros(x.shape, dtype=np.result_type(x.dtype, np.complex64))
            moved.real = x
            moved.imag[v] = t.imag
        else:
            moved = x.copy()
            moved[v] = x[v] + t
        return moved
    if complex_step and x.ndim:
        moved = np.empty(x.shape, dtype=np.result_type(x.dtype, np.complex64))
        moved.real = x
        np.multiply(v, t.imag, out=moved.imag)
        return moved
    return x + t * v


def line_derivative(g, scale: float, method: str, base: Evaluation, eps: float = EPS, binary: bool = False):
    """g'(0) and its error estimate; a Kink if 0 is on a kink; None if too near one to difference.
    eps is the working precision's (float32's under --dtype float32); binary: complex steps that are
    powers of two (binary_step), for a black box."""
    if method == "complex":
        h = binary_step(COMPLEX_STEP * scale) if binary else COMPLEX_STEP * scale
        stepped = g(1j * h)
        if stepped.ambiguous:
            return None  # float64 took a side of a switch the point is not on: no honest difference
        if stepped.at_kink or _crosses(base, stepped):
            # the step moves a kink quantity that is exactly 0 here (or rounding took a real part
            # across a switch): this entry is on a kink, where the differences below tell left from right
            return _central(g, scale, base, eps)
        imag = stepped.value
        real_part, imag_part = abs(float(np.real(imag))), abs(float(np.imag(imag)))
        for _ in range(COMPLEX_PHASE_RETRIES):
            if not (real_part and imag_part > COMPLEX_MAX_PHASE * real_part):
                break
            # f' / f is so large (x**(2**60) at 1) that h·f' is no longer small beside f: the step is
            # outside the linear range. A step that brings the phase back to COMPLEX_MAX_PHASE is.
            h *= COMPLEX_MAX_PHASE * real_part / imag_part
            h = binary_step(h) if binary else h
            imag = g(1j * h).value
            real_part, imag_part = abs(float(np.real(imag))), abs(float(np.imag(imag)))
        else:
            # still not linear: the step dwarfs x itself (log or sqrt at 1e-300), where f is not
            # linear over any step the complex one can take; differences say so honestly
            return _central(g, scale, base, eps)
        if abs(float(np.imag(imag))) < np.finfo(np.asarray(imag).real.dtype).tiny * SUBNORMAL_MARGIN:
            # f'·h fell among the subnormal numbers (or to 0): too few bits left; difference instead
            return _central(g, scale, base, eps)
        d = float(np.imag(imag)) / h
        # The rounding of f's intermediates moves the derivative too (log(1 + x²) at small x,
        # sin(50y)): measured by the same step through a forward pass with them perturbed (right
        # after the plain one, which it shares the step's array with: _line).
        shaken = abs(float(np.imag(g.shaken(1j * h).value)) / h - d) if hasattr(g, "shaken") else None
        # The truncation error is c*h^2: measured from a step COMPLEX_CHECK times larger, whose
        # error is COMPLEX_CHECK^2 times the size; plus rounding.
        wide = float(np.imag(g(1j * h * COMPLEX_CHECK).value)) / (h * COMPLEX_CHECK)
        error = ROUNDING_ULPS * eps * abs(d) + abs(wide - d) / (COMPLEX_CHECK**2 - 1)
        if shaken is not None:
            error += shaken
        return d, error
    if method == "richardson":
        got = _ridders(g, scale, base, eps)
        check = _central(g, scale, base, eps)
        # Extrapolation can converge to a wrong value with a small error estimate when f oscillates
        # faster than its steps (sin(1000x)); central differences with a small step are the check.
        if got is not None and isinstance(check, tuple) and abs(got[0] - check[0]) <= NUMERIC_AGREE * check[1]:
            return got
        return check
    return _central(g, scale, base, eps)


def binary_step(h: float) -> float:
    """The largest power of two not above h: the complex step through a user's own code (a black box,
    oracles/vjp_numeric.py). Its imaginary part ih and its products with real values are then exact,
    and so are sums of equal terms: a batch norm's mean of N equal steps is the step itself, where
    1e-20 left an ulp that came out as a derivative of 3e-17 with an error estimate of 1e-24, and a
    right gradient of exactly 0 failed against it. An expression's column needs no such care: its
    rounding is known from backprop's terms (oracles/backprop.term_sizes), and 1e-20 keeps
    benchmarks/accuracy.py's figures."""
    return math.ldexp(1.0, math.frexp(h)[1] - 1)


def checked(got, check: tuple[float, float], eps: float, missed: float | None = None):
    """The complex step's (value, error) where it agrees with central differences' within their error,
    else central differences'. Below float64 their error is ~rtol itself (1e-3 in float32): enough to
    let through a complex step made wrong by code that is not analytic (np.var of a complex array is
    real: a right float32 batch norm failed by 4e-3 on an entry of 3e-3), so there the complex step's
    error is at least their difference. Central differences' own error there is mostly what they cannot
    resolve: outputs whose change over the step is below their precision (a float32 softmax's 0.99999
    beside a probability of 4e-6). `missed` is that part of their value as the complex step tells it
    (black boxes, vjp_numeric._Line.missed), so the two are compared on what central differences do
    resolve; their difference there is the complex step's error. In float64 central's ~1e-10 leaves no
    such room, and the complex step keeps its own error (resolving a gradient 1e-24 times f's size)."""
    if isinstance(got, tuple) and np.isfinite(got[0]) and abs(got[0] - check[0]) <= SAFETY * check[1]:
        if eps <= EPS:
            return got
        resolved = check[0] + (missed if missed is not None and np.isfinite(missed) else 0.0)
        return got[0], max(got[1], abs(got[0] - resolved))
    return check


def _crosses(base: Evaluation, *sides: Evaluation) -> bool:
    return base.branches is not None and any(side.branches != base.branches for side in sides)


def _central(g, scale: float, base: Evaluation, eps: float):
    h = eps ** (1 / 3) * scale
    for _ in range(KINK_RETRIES + 1):
        up, down, up2, down2 = g(h), g(-h), g(2 * h), g(-2 * h)
        if not _crosses(base, up, down, up2, down2):
            d = float(up.value - down.value) / (2 * h)
            d2 = float(up2.value - down2.value) / (4 * h)
            size = max(abs(float(e.value)) for e in (base, up, down, up2, down2))
            return d, abs(d - d2) / 3 + ROUNDING_ULPS * (eps * size + _spacing(up.value)) / h
        if base.at_kink:
            break  # the point itself is on a kink: no step is small enough
        h /= KINK_SHRINK
    if not base.at_kink:
        return None  # within ~h of a kink: this entry cannot be differenced honestly
    h = eps ** (1 / 3) * scale * eps ** (1 / 6)  # one-sided differences: a smaller step, O(h) error
    right = float(g(h).value - base.value) / h
    left = float(base.value - g(-h).value) / h
    # A jump (sign, step) rather than a kink: the quotients grow like 1/h as h shrinks.
    finer_right = float(g(h / 10).value - base.value) / (h / 10)
    finer_left = float(base.value - g(-h / 10).value) / (h / 10)
    if abs(finer_right) > JUMP_GROWTH * abs(right) + 1.0 or abs(finer_left) > JUMP_GROWTH * abs(left) + 1.0:
        return Kink((), float("nan"), float("nan"))
    # The one-sided quotients err by O(h): their change over a 10x smaller step measures it; plus rounding.
    error = max(abs(finer_right - right), abs(finer_left - left)) \
        + ROUNDING_ULPS * (eps * abs(float(base.value)) + _spacing(base.value)) / (h / 10)
    return Kink((), left, right, error)


def _ridders(g, scale: float, base: Evaluation, eps: float):
    """Ridders' extrapolation; None if a step crosses a kink (the caller falls back to central)."""
    h = RIDDERS_FIRST_STEP * scale
    table = [[0.0] * RIDDERS_TABLE for _ in range(RIDDERS_TABLE)]
    best, error = None, float("inf")
    ratio2 = RIDDERS_RATIO**2
    size = abs(float(base.value))
    for i in range(RIDDERS_TABLE):
        up, down = g(h), g(-h)
        if _crosses(base, up, down):
            return None
        size = max(size, abs(float(up.value)), abs(float(down.value)))
        table[0][i] = float(up.value - down.value) / (2 * h)
        factor = ratio2
        for j in range(1, i + 1):
            table[j][i] = (table[j - 1][i] * factor - table[j - 1][i - 1]) / (factor - 1)
            factor *= ratio2
            estimate = max(abs(table[j][i] - table[j - 1][i]), abs(table[j][i] - table[j - 1][i - 1]))
            if estimate <= error:
                best, error = table[j][i], estimate
        if i > 0 and abs(table[i][i] - table[i - 1][i - 1]) >= RIDDERS_SAFE * error:
            break
        h /= RIDDERS_RATIO
    if best is None:
        return None
    return best, error + ROUNDING_ULPS * (eps * max(abs(best), size / h) + _spacing(base.value) / h)


def _spacing(value: Any) -> float:
    """The absolute rounding floor of f's values: the smallest subnormal of their precision (f values
    that are themselves subnormal, like exp(-740), carry only a few bits)."""
    return float(np.finfo(np.asarray(value).real.dtype).smallest_subnormal)


def _as_working(value: Any) -> np.ndarray:
    """The variable's value in its working precision: float32 stays float32, anything else float64."""
    array = np.asarray(value)
    # no copy of a float64 array: x is only read (every step makes a new array, _moved)
    return array.astype(np.float32 if array.dtype == np.float32 else np.float64, copy=False)


def _left_out(excluded: int) -> str | None:
    if not excluded:
        return None
    return (f"{excluded} entr{'y' if excluded == 1 else 'ies'} left out: every step small enough to "
            f"difference crossed a kink ({listed(KINKED, 'or')} within ~1e-12 of its switch)")


def _with_note(result: NumericResult, note: str) -> NumericResult:
    joined = note if not result.note else f"{note}; {result.note}"
    return NumericResult(result.value, result.probes, joined, result.method, result.kinks)
