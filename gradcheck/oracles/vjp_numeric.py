"""Finite differences of ⟨dout, f(x)⟩ for an f with array outputs, several douts at once.

For each dout the scalar g(x) = ⟨dout, f(x)⟩ is differenced by numeric.py's own line_derivative, entry
by entry (full mode) or along random directions plus sampled entries (fast mode), so its gradient is
exactly vjp(dout) and the result is an ordinary NumericResult. A line x + t·v is evaluated once per
step and its output is shared by every dout: K douts cost one forward pass per step, not K.

f is a black box, so it cannot say which branch of a kink it took. A kink is found from the one-sided
slopes instead: they differ by a jump that does not shrink with the step (a smooth f's differ by f''·h).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..base import randomness
from ..base.budget import checkpoint
from ..base.errors import CheckTimeout, DomainError, GradcheckError
from .directions import Directions
from .numeric import (
    CHECKED_COMPLEX,
    FAST_PROBES,
    FULL_MODE_MAX_ENTRIES,
    ROUNDING_ULPS,
    Evaluation,
    Kink,
    Measured,
    NumericResult,
    Probes,
    array_scale,
    checked,
    line_derivative,
)

# One-sided slopes that differ by more than this fraction of the larger one (or of the rounding noise
# times KINK_NOISE) may be a kink; a smooth f's differ by f''·h, ~1e-5 of f' at numeric.py's step.
KINK_TRIGGER = 1e-3
KINK_NOISE = 100.0
# The step is cut this many times to tell a kink (the jump stays) from curvature (it shrinks as much).
KINK_STEP_RATIO = 10.0
# At the smaller step a kink's jump is at least this fraction of the first one; curvature's is 1/KINK_STEP_RATIO.
KINK_KEEPS = 0.5

# ⟨dout, f⟩ is summed in float64: its rounding, relative to the sum of its terms' sizes.
SUM_EPS = float(np.finfo(np.float64).eps)
# Below float64 an output entry can depend on the stepped input and still not change over the step: its
# change is below its own resolution (a float32 softmax's probability of 0.99999 beside one of 4e-6 moves
# by 2e-8 over the step, a third of its ulp). The difference then misses that change entirely, at every
# step alike, so the truncation estimate does not see it. Which of the unchanged entries depend on the
# input is seen over a wider step, DEPENDENCE_STEP times the step's scale each way (the variable's size,
# at least 1); where f refuses that (its domain, NaN), a step DEPENDENCE_SHRINK times smaller, down to
# the widest difference step. An entry that does not change even then changed by less than its rounding
# over that wide step: it counts h/wide of what an entry that does change there counts (_Line.unresolved).
# The variable's own size: wide enough that a probability of 0.99999 moves when a neighbour's 1e-8 does,
# and within f's domain wherever the point is not near its edge (log(x) at x = 0.5 shrinks the step).
DEPENDENCE_STEP, DEPENDENCE_SHRINK = 1.0, 8.0

# The function differenced: the point -> f's outputs (a tuple of arrays).
Outputs = Callable[[Mapping[str, Any]], tuple]


@dataclass(frozen=True)
class BlackBox:
    """What differences of ⟨dout, f⟩ need, travelling as one: f (a point -> its outputs), the point, the
    douts, f's outputs at the point (base), the difference method, the precision's eps, and the seed of
    fast mode's probes."""

    f: Outputs
    point: Mapping[str, Any]
    douts: Sequence[tuple]
    base: tuple
    method: str
    eps: float
    seed: int = 0
    probes: int = FAST_PROBES  # fast mode's random directions, and as many random entries, per variable

    def moved(self, **changes: Any) -> BlackBox:
        """The same black box with some of its parts replaced (another point and its outputs, a pool's f)."""
        return replace(self, **changes)


def measure(box: BlackBox, names: Sequence[str], mode: str) -> dict[str, list[NumericResult]]:
    """For every name, one NumericResult per dout (the gradient of ⟨dout, f⟩). Where ⟨dout, f⟩ itself
    overflows float64 (outputs near 1e308), nothing can be differenced: every result says so in its note.
    Overflow at a step (an inf, an inf - inf) is an entry not differenced, not a warning on stderr."""
    point, douts, base, method = box.point, box.douts, box.base, box.method
    too_large = _overflows(douts, base)
    results = {}
    for name in names:
        if too_large:
            results[name] = [NumericResult(note=too_large, method=method) for _ in douts]
            continue
        # As numeric.numeric does: a variable with no more entries than fast mode would probe is
        # differenced entry by entry, which costs no more and checks every entry.
        small = np.size(point[name]) <= 2 * box.probes
        run = _full if mode == "full" or small else _fast
        try:
            with np.errstate(all="ignore"):
                results[name] = run(box, name)
        except DomainError as exc:
            results[name] = [NumericResult(note=f"a step leaves the domain: {exc.message}", method=method)
                             for _ in douts]
    return results


def _overflows(douts: Sequence[tuple], base: tuple) -> str | None:
    """Why ⟨dout, f⟩ cannot be differenced at all here, or None: it is not finite in float64."""
    outputs = flat(base)
    with np.errstate(all="ignore"):
        sums = Douts(douts).matrix @ outputs
    if np.all(np.isfinite(sums)):
        return None
    largest = float(np.max(np.abs(outputs)))
    return (f"not differenced: ⟨dout, f⟩ overflows float64 here (f's outputs reach {largest:.3g}); "
            "check the function at a smaller scale")


class Douts:
    """The douts as one matrix (a row each, over every output's entries, flattened), so that one product
    gives ⟨dout, f⟩ for all of them."""

    def __init__(self, douts: Sequence[tuple]):
        self.matrix = np.array([np.concatenate([np.ravel(np.asarray(d, dtype=np.float64)) for d in dout])
                                for dout in douts])

    def __len__(self) -> int:
        return len(self.matrix)


def contract(matrix: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """⟨dout, f⟩ for every dout: matrix @ outputs, complex outputs (the complex step's) as two real products.
    numpy hands a real matrix times a complex vector to a complex BLAS product that runs threaded: on a loaded
    machine a 73×96 one took 3.5 ms, seven times the two real products."""
    if np.iscomplexobj(outputs):
        return matrix @ outputs.real + 1j * (matrix @ outputs.imag)
    return matrix @ outputs


def flat(outputs: tuple) -> np.ndarray:
    parts = [np.ravel(np.asarray(o)) for o in outputs]
    complex_ = any(p.dtype.kind == "c" for p in parts)
    return np.concatenate([p.astype(np.complex128 if complex_ else np.float64) for p in parts])


class _Line:
    """f along x + t·v, each step evaluated once, and contracted with every dout in one product."""

    def __init__(self, f: Outputs, point: Mapping[str, Any], name: str, x: np.ndarray, idx_or_v, base: tuple,
                 douts: Douts):
        self.f, self.point, self.name, self.x, self.step = f, point, name, x, idx_or_v
        self.douts = douts
        self.outputs: dict[Any, np.ndarray] = {0.0: flat(base)}
        self.values: dict[Any, np.ndarray] = {}
        self.sizes: dict[float, np.ndarray] = {}
        self.sums: dict[float, np.ndarray] = {}
        self.hidden: dict[float, np.ndarray] = {}
        self.reach: tuple[np.ndarray, float | None] | None = None  # the entries that depend on the input (dependent)
        self.refused: dict[Any, GradcheckError] = {}  # f's error at a step, kept as its value is (f is a function)

    def flat_at(self, t) -> np.ndarray:
        checkpoint()  # every evaluation of f: the time budget holds in any thread
        if t in self.refused:  # asked again for each dout: f refusing the complex step answers the same
            raise self.refused[t].with_traceback(None)
        if t not in self.outputs:
            if isinstance(self.step, tuple):  # one entry: x + t·e_idx without building e_idx
                moved = self.x + 0 * t if isinstance(t, complex) else self.x.copy()
                moved[self.step] += t
            else:
                moved = self.x + t * self.step
            try:
                self.outputs[t] = flat(self.f({**self.point, self.name: moved}))
            except CheckTimeout:  # the time budget, not f's answer at t
                raise
            except GradcheckError as exc:
                self.refused[t] = exc
                raise
        return self.outputs[t]

    def value(self, t, k: int):
        if t not in self.values:
            self.values[t] = contract(self.douts.matrix, self.flat_at(t))
        return self.values[t][k]

    def along(self, k: int) -> Callable[[Any], Evaluation]:
        return lambda t: Evaluation(self.value(t, k))

    def rounding(self, k: int, h: float, eps: float) -> float:
        """The rounding error of a one-step difference quotient of ⟨dout_k, f⟩: ROUNDING_ULPS of every output
        entry the step changes (entries it leaves alone are computed the same way both times, so their
        rounding cancels, unless they depend on the input: `unresolved`), and the float64 rounding of the
        sum ⟨dout_k, f⟩ itself over every entry, which a change in one term does not leave alone (a float32
        softmax entry of 1e-13 moves ⟨dout, f⟩ less than an ulp of it: its one-sided slopes read as a kink)."""
        if h not in self.sizes:
            base, up, down = (np.real(self.flat_at(t)) for t in (0.0, h, -h))
            moved = (up != base) | (down != base)
            if not np.any(moved):
                # Nothing changed visibly: any change is below the outputs' resolution (a gradient 1e-24 of
                # f's size), so every output entry counts; the complex step may resolve it.
                moved = np.ones_like(moved)
            self.sizes[h] = np.abs(self.douts.matrix[:, moved]) @ np.abs(base[moved])
            self.sums[h] = np.abs(self.douts.matrix) @ np.abs(base)
        return (ROUNDING_ULPS * eps * float(self.sizes[h][k]) + SUM_EPS * float(self.sums[h][k])) / h

    def unresolved(self, k: int, h: float, eps: float, scale: float) -> float:
        """What a difference quotient of ⟨dout_k, f⟩ over ±h can miss below float64: an output entry the steps
        leave unchanged either does not depend on the input or changed by less than its resolution, and then
        its whole change is missing from the difference, at every step alike, so that the truncation
        estimate does not see it either (a float32 softmax gradient of -3.6e-6 measured as 2.3e-6 beside an
        output of 0.99999). An unchanged entry that the wider steps of `dependent` change may have changed by
        up to its rounding, ROUNDING_ULPS of itself, over h; one they leave unchanged too, by that over
        their step. In float64 an entry's change is below its resolution only where output scales are
        ~1e10 apart on one input entry: nothing is added there."""
        if eps <= SUM_EPS:
            return 0.0
        if h not in self.hidden:
            base, up, down = (np.real(self.flat_at(t)) for t in (0.0, h, -h))
            still = (up == base) & (down == base)
            hidden = np.zeros(len(self.douts))
            if np.any(still) and not np.all(still):  # all unchanged: rounding counts every entry already
                reach, wide = self.dependent(h, scale)
                near, far = still & reach, still & ~reach
                share = 1.0 if wide is None else h / wide
                hidden = np.abs(self.douts.matrix[:, near]) @ np.abs(base[near]) \
                    + share * (np.abs(self.douts.matrix[:, far]) @ np.abs(base[far]))
            self.hidden[h] = hidden
        return ROUNDING_ULPS * eps * float(self.hidden[h][k]) / h

    def missed(self, k: int, h: float, eps: float) -> float | None:
        """What the difference over ±h missed according to the complex step: Σ dout_k·f' over the output
        entries the steps left unchanged, f' from the complex step's imaginary parts. None where no complex
        step was taken, or where it contradicts the real steps: it moves an unchanged entry by more than
        that entry's rounding over h."""
        steps = [t for t in self.outputs if isinstance(t, complex) and t.imag > 0 and t.real == 0]
        if not steps or h not in self.outputs or -h not in self.outputs:
            return None
        t = min(steps, key=abs)  # the step the complex value was taken with (a wider one checks it)
        slopes = np.imag(self.flat_at(t)) / t.imag
        base, up, down = (np.real(self.flat_at(s)) for s in (0.0, h, -h))
        still = (up == base) & (down == base)
        resolution = ROUNDING_ULPS * eps * np.abs(base[still]) + _smallest(eps)
        if not np.all(np.abs(slopes[still]) * h <= resolution):
            return None
        return float(self.douts.matrix[k, still] @ slopes[still])

    def dependent(self, h: float, scale: float) -> tuple[np.ndarray, float | None]:
        """The output entries that change when the input moves DEPENDENCE_STEP·scale each way, or the widest
        step f accepts, down to 2h (DEPENDENCE_STEP's comment), and that step; every entry and None where
        f accepts none."""
        if self.reach is None:
            base = np.real(self.flat_at(0.0))
            self.reach = np.ones(base.shape, dtype=bool), None
            t = DEPENDENCE_STEP * scale
            while t > 2 * h:
                try:
                    up, down = (np.real(self.flat_at(s)) for s in (t, -t))
                except CheckTimeout:
                    raise
                except GradcheckError:  # outside f's domain (NaN, an exception): a narrower step
                    t /= DEPENDENCE_SHRINK
                    continue
                self.reach = (up != base) | (down != base), t
                break
        return self.reach


def derivative(line: _Line, k: int, scale: float, method: str, eps: float):
    """(g'(0), error estimate), a Kink, or None, for g(t) = ⟨dout_k, f(x + t·v)⟩."""
    if method == CHECKED_COMPLEX:
        return _checked_complex(line, k, scale, eps)
    g = line.along(k)
    value = line.value(0.0, k)
    base = Evaluation(value)
    got = line_derivative(g, scale, method, base, eps, binary=True)
    if not isinstance(got, tuple) or method != "central":
        return got
    h = eps ** (1 / 3) * scale  # numeric._central's step: these values are already computed
    left, right = _one_sided(g, value, h)
    noise = line.rounding(k, h, eps)
    jump = abs(right - left)
    if jump <= max(KINK_TRIGGER * max(abs(left), abs(right)), KINK_NOISE * noise):
        return got[0], _error(g, got[0], h, noise) + line.unresolved(k, h, eps, scale)
    small = h / KINK_STEP_RATIO
    left2, right2 = _one_sided(g, value, small)
    fine_noise = line.rounding(k, small, eps)
    if abs(right2 - left2) >= KINK_KEEPS * jump and abs(right2 - left2) > KINK_NOISE * fine_noise:
        # The one-sided quotients err by O(h): their change over the 10x smaller step measures it.
        return Kink((), left2, right2, max(abs(right2 - right), abs(left2 - left)) + fine_noise
                    + line.unresolved(k, small, eps, scale))
    # Curvature, or a kink within a step of x: difference again with a step that does not reach it.
    again = line_derivative(g, scale / KINK_STEP_RATIO, method, base, eps, binary=True)
    if isinstance(again, tuple):
        return again[0], _error(g, again[0], small, line.rounding(k, small, eps)) \
            + line.unresolved(k, small, eps, scale)
    return again


def _checked_complex(line: _Line, k: int, scale: float, eps: float):
    """Central differences (which find kinks) and, where f takes complex input and agrees with them, the
    complex step's sharper value (numeric.checked)."""
    check = derivative(line, k, scale, "central", eps)
    if not isinstance(check, tuple):
        return check
    g = line.along(k)
    try:
        with np.errstate(all="ignore"):
            got = line_derivative(g, scale, "complex", Evaluation(line.value(0.0, k)), eps, binary=True)
    except CheckTimeout:  # the time budget, not f's answer to complex input
        raise
    except (GradcheckError, TypeError, ValueError, ArithmeticError):
        return check
    return checked(got, check, eps, _missed(line, k, check[0], eps))


def _missed(line: _Line, k: int, central: float, eps: float) -> float | None:
    """What central differences' value missed according to the complex step (_Line.missed), for the step it was
    taken with (numeric._central's, or a smaller one `derivative` took near a kink: the one whose quotient
    is that value); None where no step gives it."""
    for step in sorted((t for t in line.outputs if isinstance(t, float) and t > 0), reverse=True):
        if -step in line.outputs and float(np.real(line.value(step, k) - line.value(-step, k))) / (2 * step) == central:
            return line.missed(k, step, eps)
    return None


def _smallest(eps: float) -> float:
    """The smallest subnormal of the precision whose eps this is: an output entry of 0 that the steps leave
    at 0 changed by less than that."""
    for kind in (np.float16, np.float32):
        if eps == float(np.finfo(kind).eps):
            return float(np.finfo(kind).smallest_subnormal)
    return float(np.finfo(np.float64).smallest_subnormal)


def _error(g, d: float, h: float, noise: float) -> float:
    """Central differences' error: the truncation measured against the step 2h, as numeric._central does, plus
    the rounding of the output entries the step changed. numeric._central's own rounding term is ε·max|g|/h,
    right for a scalar f but far too large for ⟨dout, f⟩ over many outputs that one entry leaves unchanged
    (in float16 it hid a factor 2)."""
    wide = float(np.real(g(2 * h).value - g(-2 * h).value)) / (4 * h)
    return abs(d - wide) / 3 + noise


def _one_sided(g, value, h: float) -> tuple[float, float]:
    right = float(np.real(g(h).value - value)) / h
    left = float(np.real(value - g(-h).value)) / h
    return left, right


def along(box: BlackBox, name: str, vector: np.ndarray) -> list:
    """The derivative of ⟨dout, f⟩ along one vector of variable `name`'s space, for every dout:
    (value, error), or a Kink or None near a kink (pool.py traces a disagreeing direction with these)."""
    x = np.asarray(box.point[name])
    scale = array_scale(x)
    line = _Line(box.f, box.point, name, x, np.asarray(vector, dtype=x.dtype), box.base, Douts(box.douts))
    return [derivative(line, k, scale, box.method, box.eps) for k in range(len(box.douts))]


def entry(box: BlackBox, name: str, index: tuple[int, ...]) -> list:
    """One entry of one variable, for every dout, as full mode measures it: (value, error), or a Kink or None."""
    return _at_entry(box, name, np.asarray(box.point[name]), index, Douts(box.douts))


def _at_entry(box: BlackBox, name: str, x: np.ndarray, index: tuple[int, ...], matrix: Douts) -> list:
    """The derivative along one entry of x for every dout, stepped at that entry's scale."""
    line = _Line(box.f, box.point, name, x, index, box.base, matrix)
    return [derivative(line, k, max(1.0, abs(float(x[index]))), box.method, box.eps) for k in range(len(matrix))]


def full(box: BlackBox, name: str) -> list[NumericResult]:
    """Every entry of one variable, for every dout (what measure does in full mode)."""
    return measure(box, [name], "full")[name]


def _full(box: BlackBox, name: str) -> list[NumericResult]:
    douts, method = box.douts, box.method
    x = np.asarray(box.point[name])
    values = [np.empty(x.shape) for _ in douts]
    errors = [np.empty(x.shape) for _ in douts]
    kinks: list[list[Kink]] = [[] for _ in douts]
    excluded = [0 for _ in douts]
    matrix = Douts(douts)
    for idx in np.ndindex(x.shape):
        for k, got in enumerate(_at_entry(box, name, x, idx, matrix)):
            if isinstance(got, tuple):
                values[k][idx], errors[k][idx] = got
                continue
            values[k][idx], errors[k][idx] = np.nan, np.inf
            if isinstance(got, Kink):
                kinks[k].append(Kink(idx, got.left, got.right))
            else:
                excluded[k] += 1
    results = []
    for k in range(len(douts)):
        scalar = x.ndim == 0
        measured = Measured(np.float64(values[k][()]) if scalar else values[k],
                            np.float64(errors[k][()]) if scalar else errors[k])
        note = (f"{excluded[k]} entries left out: every step small enough to difference crossed a kink"
                if excluded[k] else None)
        results.append(NumericResult(measured, note=note, method=method, kinks=tuple(kinks[k])))
    return results


def _fast(box: BlackBox, name: str) -> list[NumericResult]:
    f, point, douts, base, seed, method, eps = box.f, box.point, box.douts, box.base, box.seed, box.method, box.eps
    x = np.asarray(point[name])
    key = randomness.key(seed, name, *randomness.FAST)
    rng = randomness.stream(seed, name, *randomness.FAST)
    count = box.probes
    drawn = Directions(key, x.shape, x.dtype.str, count, ())
    scale = array_scale(x)
    matrix = Douts(douts)
    # one direction in memory at a time, drawn from rng (which then picks the entries); none is kept
    got = [[derivative(_Line(f, point, name, x, v, base, matrix), k, scale, method, eps) for k in range(len(douts))]
           for v in drawn.drawn(rng)]
    flat = rng.choice(x.size, size=min(count, x.size), replace=False)
    indices = [tuple(int(i) for i in np.unravel_index(position, x.shape)) for position in flat]
    got += [_at_entry(box, name, x, idx, matrix) for idx in indices]
    results = []
    for k in range(len(douts)):
        kept = [i for i in range(count) if isinstance(got[i][k], tuple)]
        entries = [j for j in range(len(indices)) if isinstance(got[count + j][k], tuple)]
        skipped = count - len(kept) + len(indices) - len(entries)
        note = (f"fast mode: {len(kept)} random directions and {len(entries)} random entries checked "
                f"(full mode up to {FULL_MODE_MAX_ENTRIES:,} entries; mode='full' forces it)")
        if skipped:
            note += f"; {skipped} probes crossed a kink and were left out"
        probes = Probes(replace(drawn, kept=tuple(kept)),
                        np.array([got[i][k][0] for i in kept]), np.array([got[i][k][1] for i in kept]),
                        tuple(indices[j] for j in entries),
                        np.array([got[count + j][k][0] for j in entries]),
                        np.array([got[count + j][k][1] for j in entries]))
        results.append(NumericResult(None, probes, note, method))
    return results
