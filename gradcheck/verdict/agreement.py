"""The agreement rule: when two columns of a gradient agree. This is the one place it is written.

Two columns a and b of ∂f/∂x (symbolic, backprop, numeric, claimed) agree at an entry when

    |a − b|  ≤  atol + rtol · max(|a|, |b|) + SAFETY · (u_a + u_b)

- rtol: 1e-5 by default (1e-3 in float32; tolerance.py says why). A wrong derivation is off by a
  factor, rounding is not.
- atol: 0 unless the user gives one. Nothing else is shared across entries or variables: a
  gradient of 1e12 next to one of 1e-12 does not loosen the small one.
- u_c is column c's own uncertainty at this entry, derived from column c's own computation only —
  never from another variable, and never lent from one column to another:
  - `rounding` = ROUNDING_ULPS · eps · Σ|terms|, where Σ|terms| is the size of the chain-rule sum
    backprop adds up for this entry (`oracles.backprop.magnitudes`), plus how far backprop's answer
    moves when f's intermediate values are shaken by an ulp. That is backprop's uncertainty.
  - numeric: its own error estimate for the entry (truncation and the rounding of f; see
    oracles/numeric.py), plus `rounding` (the complex step sums the same terms in complex arithmetic).
  - symbolic: its own evaluation error (SymPy's derivative evaluated to 30 digits at the point).
  - claimed: its own error: 0 for a number the user wrote, the evaluation error of the claim's own
    expression otherwise (exact to 30 digits where the symbolic column can be computed, else its own
    float rounding, measured like f's). A claim is never granted backprop's or numeric's rounding:
    where f cancels or is ill-conditioned those are large, and a wrong claim would hide inside them.
- SAFETY = 10: each u is an estimate of a typical error, not a proven bound; a factor 10 covers
  their slack (tests/test_verdict.py measures the numeric estimate's coverage against exact
  derivatives), while a wrong claim is off by far more than ten times its rounding.

In fast mode the numeric column is Probes: derivatives along random unit directions v and a few
single entries. Another column a is compared through its projections ⟨a, v⟩, whose uncertainty is
⟨u_a, |v|⟩. Entries numeric could not difference (an infinite error estimate: a kink within reach)
and the entries at a kink are not compared; any other NaN disagrees. A pair with no entry compared
is reported as not compared, never as agreeing.

Fast mode's small variables are probed together (pool.py): a pooled variable's numeric column is a
PoolShare, and another column is compared over the whole pool — its values concatenated over every
pooled variable, projected on the pool's directions — by the same rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, NamedTuple

import numpy as np

from ..base.columns import Measured, PoolShare, Probes
from ..base.tolerance import DEFAULT_RTOL, FLOAT32_RTOL, ROUNDING_ULPS, SAFETY
from ..oracles.directions import projections


@dataclass(frozen=True)
class Rule:
    """The agreement rule of one check: rtol and atol, and the working precision's eps."""

    rtol: float = DEFAULT_RTOL
    atol: float = 0.0
    eps: float = float(np.finfo(np.float64).eps)

    def allowed(self, a: Any, b: Any, u_a: Any, u_b: Any) -> Any:
        """How far apart a and b may be, entry by entry (the formula of the module docstring)."""
        size = np.maximum(np.abs(a), np.abs(b))
        return self.atol + self.rtol * size + SAFETY * (u_a + u_b)

    def rounding(self, terms: Any) -> Any:
        """The rounding of a derivative whose chain-rule sum has these absolute terms."""
        rounding = np.abs(np.asarray(terms, dtype=np.float64))  # a new array: scaled in place
        rounding *= ROUNDING_ULPS * self.eps
        return rounding


@dataclass(frozen=True)
class Allowance:
    """What one variable's comparison grants beyond the rule's rtol and atol, in one place: backprop's
    rounding at each entry (Rule.rounding of its chain-rule terms, with its shaken pass; 0 where no
    backprop ran), the self-contained columns' own evaluation errors by column name (SELF_CONTAINED),
    and `scale`, a size the gradient is at least judged at (conclusive): a black box's, its whole
    layer's; 0 where only the columns' own values give it."""

    rule: Rule
    rounding: Any = 0.0
    own: Mapping[str, Any] = field(default_factory=dict)
    scale: float = 0.0


def rule_for(rtol: float | None, atol: float | None, dtype: str = "float64") -> Rule:
    """The rule of a check: rtol defaults to the working precision's, atol to 0."""
    single = dtype == "float32"
    return Rule(rtol=(FLOAT32_RTOL if single else DEFAULT_RTOL) if rtol is None else float(rtol),
                atol=0.0 if atol is None else float(atol),
                eps=float(np.finfo(np.float32 if single else np.float64).eps))


@dataclass(frozen=True)
class PairError:
    """How far apart two columns are."""

    a: str
    b: str
    agree: bool
    max_abs_error: float
    max_rel_error: float  # NaN where every entry compared is 0 to both columns (no relative error)
    worst: str  # where they are furthest apart relative to what is allowed: "[1,2]", "along random direction 3", ""
    worst_values: tuple[float, float]  # a's and b's value there
    compared: int = 1  # entries (or probes) compared; 0: nothing could be, so the pair says nothing


# The columns whose uncertainty is their own evaluation error alone (given as `own`), not the rounding
# of backprop's chain-rule sum: SymPy's exact derivative, and the user's claim.
SELF_CONTAINED = ("symbolic", "claimed")


def uncertainty(name: str, column: Any, allowance: Allowance) -> Any:
    """Column `name`'s own uncertainty at each entry (module docstring): the self-contained columns'
    own evaluation error (0 where absent), the others' rounding (with numeric's own estimate)."""
    shape = np.shape(_values(column))
    if name in SELF_CONTAINED:
        return np.broadcast_to(np.asarray(allowance.own.get(name, 0.0), dtype=np.float64), shape)
    rounded = np.broadcast_to(np.asarray(allowance.rounding, dtype=np.float64), shape)
    if isinstance(column, Measured):
        return np.asarray(column.error, dtype=np.float64) + rounded
    return rounded


# A column witnesses agreement only where its uncertainty, times SAFETY, is small beside the gradient:
# at most this share of the gradient's size (its largest entry by any oracle, or a one-sided derivative
# at a kink), or thirty times rtol where the check's precision is coarser (float32, float16: central
# differences of a float32 layer err by ~1e-3 of the gradient beside rtol's 1e-3). There it
# tells a right claim from one off by a percent, a factor or a sign. A column whose uncertainty is not
# small against the gradient (backprop and numeric of (1 - cos(x))/x**2 at x = 1e-4: ±4e-4 beside
# -8e-6) agrees with anything near it: it can contradict a claim, never confirm one.
CONCLUSIVE_SHARE = 5e-3


# How many rtols a witness's SAFETY·u may reach beside the gradient where that is more than CONCLUSIVE_SHARE.
CONCLUSIVE_RTOLS = 30


def conclusive_share(rule: Rule) -> float:
    """The share of the gradient's size that SAFETY·u of a witness may reach (CONCLUSIVE_SHARE)."""
    return max(CONCLUSIVE_SHARE, CONCLUSIVE_RTOLS * rule.rtol)


def conclusive(name: str, column: Any, allowance: Allowance) -> Any:
    """Where column `name` can witness agreement (CONCLUSIVE_SHARE of allowance.scale, the gradient's
    size), entry by entry: a boolean array of the gradient's shape. The symbolic column is exact wherever
    it has a value. Fast mode's probes witness every entry or none: a random direction mixes them."""
    rule, scale = allowance.rule, allowance.scale
    if isinstance(column, PoolShare):
        column = column.probes
    if isinstance(column, Probes):
        values = np.concatenate([np.ravel(column.directional), np.ravel(column.entry_values)]).astype(np.float64)
        errors = np.concatenate([np.ravel(column.directional_error), np.ravel(column.entry_errors)]).astype(np.float64)
        return bool(np.all(_small(values, errors, max(scale, float(np.max(np.abs(values), initial=0.0))), rule)))
    values = np.asarray(_values(column), dtype=np.float64)
    if name == "symbolic":
        return np.isfinite(values)
    return _small(values, uncertainty(name, column, allowance), scale, rule)


def _small(values: np.ndarray, u: np.ndarray, scale: float, rule: Rule) -> np.ndarray:
    """SAFETY·u against CONCLUSIVE_SHARE (or thirty rtols) of the gradient's size, entry by entry, or
    against atol where the user gave one: differences below it are ones they said do not matter."""
    with np.errstate(all="ignore"):
        share = conclusive_share(rule)
        finite = np.isfinite(values) & np.isfinite(u)
        if scale == 0:  # every oracle says exactly 0 everywhere: there is no size to be small beside
            return finite & (values == 0)
        return finite & (SAFETY * u <= max(share * scale, rule.atol))


# Digits added beyond what the estimate asks for, and the most the symbolic column is evaluated to.
EXTRA_DIGITS, MAX_DIGITS = 10, 300


def digits_for(value: Any, rounding: Any, rule: Rule, digits: int) -> int:
    """The digits that make an exact column's error small beside its value: evaluated to `digits`,
    its error is its float64 rounding scaled by 10**-digits / eps (the same conditioning, more digits);
    that, times SAFETY, must be within CONCLUSIVE_SHARE of the gradient's size. A gradient that is 0
    throughout needs no more."""
    with np.errstate(all="ignore"):
        size = float(np.max(np.abs(value), initial=0.0))
        worst = float(np.max(np.asarray(rounding, dtype=np.float64), initial=0.0))
    if not (size > 0 and np.isfinite(size) and np.isfinite(worst)) or worst == 0:
        return digits
    needed = math.log10(SAFETY * worst / (rule.eps * conclusive_share(rule) * size))
    return digits if needed <= 0 else min(MAX_DIGITS, max(digits, math.ceil(needed) + EXTRA_DIGITS))


def black_box_claim_rounding(rule: Rule, scale: float) -> float:
    """A black box's claim's own rounding where nothing measures it: in float32 or float16 a gradient
    entry is computed from terms the size of the layer's gradient (`scale`), so it is off by about an
    ulp of that size even where it is far smaller: a right float32 softmax backward is 1e-7 of its
    largest entry off at entries 1e-8 of it. One ulp, not ROUNDING_ULPS: the comparison grants SAFETY
    times it, and in float16 more would let a claim off by a tenth of the gradient through. In float64
    nothing is assumed: a claim of 2e-17 for an exact 1e-17 beside entries of 1 is wrong, and is caught."""
    return rule.eps * scale if rule.eps > float(np.finfo(np.float64).eps) else 0.0


def exact_needed(value: Any, rounding: Any, rule: Rule) -> bool:
    """Whether a float64 value with this rounding needs evaluating to more digits before it is judged:
    where its rounding, times SAFETY, is more than a tenth of rtol beside it. Elsewhere float64
    already tells a right value from one off by rtol."""
    with np.errstate(all="ignore"):
        return bool(np.any(SAFETY * np.asarray(rounding) > 0.1 * rule.rtol * np.abs(value)))


def compare_pair(a_name: str, a: Any, b_name: str, b: Any, allowance: Allowance, skip: Any = None) -> PairError:
    """Columns a and b (numbers, arrays, Measured, or fast mode's Probes), entry by entry.
    `skip` marks entries not to compare (kinks)."""
    if isinstance(a, (Probes, PoolShare)):
        return _swap(compare_pair(b_name, b, a_name, a, allowance, skip))
    rule = allowance.rule
    if isinstance(b, PoolShare):
        return _against_share(a_name, a, b_name, b, rule)
    u_a = uncertainty(a_name, a, allowance)
    x = np.asarray(_values(a), dtype=np.float64)
    if isinstance(b, Probes):
        return _against_probes(a_name, x, u_a, b_name, b, allowance)
    y = np.asarray(_values(b), dtype=np.float64)
    if x.shape != y.shape:  # never broadcast one column against another
        return PairError(a_name, b_name, False, float("inf"), float("inf"), "shape", (float("nan"), float("nan")))
    u_b = uncertainty(b_name, b, allowance)
    ignored = np.zeros(x.shape, dtype=bool) if skip is None else np.asarray(skip, dtype=bool)
    for column, u in ((a, u_a), (b, u_b)):
        if isinstance(column, Measured):
            ignored = ignored | ~np.isfinite(u)  # numeric could not difference these entries
    return _entrywise(Side(a_name, x, u_a), Side(b_name, y, u_b), rule, ~ignored, labels=None)


def _against_probes(a_name: str, a: np.ndarray, u_a: np.ndarray, b_name: str, probes: Probes,
                    allowance: Allowance) -> PairError:
    """a's projections on the random directions and a's sampled entries, against what fast mode measured."""
    mine, mine_u, theirs, theirs_u, labels = _probe_sides(a, u_a, probes, allowance.rounding)
    return _entrywise(Side(a_name, mine, mine_u), Side(b_name, theirs, theirs_u), allowance.rule,
                      np.ones(mine.shape, dtype=bool), labels=labels)


def _against_share(a_name: str, a: Any, b_name: str, share: PoolShare, rule: Rule) -> PairError:
    """A pooled variable's column a against the pool's probes: the column over the whole pool (a in
    this variable's place). A column that some pooled variable lacks (a claim for only some of them)
    is compared at this variable's sampled entries alone."""
    whole = share.columns.get(a_name)
    probes = share.probes
    x = np.ravel(np.asarray(_values(a), dtype=np.float64))
    if whole is None:
        start, stop = share.span.start, share.span.stop
        mine = [j for j, idx in enumerate(probes.entries) if start <= idx[0] < stop]
        # the pool's shape: its directions are a Directions (a seed and a shape, drawn again when
        # needed), whose np.shape is (), so the shape is read from it
        whole = np.zeros(getattr(probes.directions, "shape", None) or np.shape(probes.directions)[1:])
        probes = Probes(np.zeros((0, *whole.shape)), np.zeros(0), np.zeros(0), tuple(probes.entries[j] for j in mine),
                        np.asarray(probes.entry_values)[mine], np.asarray(probes.entry_errors)[mine],
                        None if probes.labels is None else tuple(probes.labels[j] for j in mine))
    whole = np.array(whole, dtype=np.float64)
    whole[share.span] = x
    allowance = Allowance(rule, share.rounding, share.own)
    pair = _against_probes(a_name, whole, uncertainty(a_name, whole, allowance), b_name, probes, allowance)
    if pair.worst.startswith("along random direction"):
        return replace(pair, worst=f"{pair.worst} over the {share.members:,} pooled variables")
    return pair


def disagreeing_probes(a_name: str, a: Any, probes: Probes, allowance: Allowance, excess: bool = False) -> Any:
    """The probes (directions first, then entries) at which column a disagrees with what fast mode
    measured, as a list of their positions; with excess, each probe's |difference| / allowed instead."""
    x = np.asarray(a, dtype=np.float64)
    mine, mine_u, theirs, theirs_u, _ = _probe_sides(x, uncertainty(a_name, x, allowance), probes, allowance.rounding)
    _, bad, ratio = _judged(mine, mine_u, theirs, theirs_u, allowance.rule)
    return ratio if excess else [int(i) for i in np.flatnonzero(bad)]


def _probe_sides(a: np.ndarray, u_a: np.ndarray, probes: Probes, rounding: Any):
    """Both sides of a comparison with probes: a's projections and sampled entries with their
    uncertainty, fast mode's measurements with theirs, and each probe's label."""
    own = np.broadcast_to(np.asarray(rounding, dtype=np.float64), a.shape)  # numeric's share of the rounding
    (along,), (along_u, along_own) = projections(probes.directions, [a], [u_a, own])
    with np.errstate(all="ignore"):
        mine = np.concatenate([along, [a[idx] for idx in probes.entries]])
        mine_u = np.concatenate([along_u, [u_a[idx] for idx in probes.entries]])
        theirs = np.concatenate([probes.directional, probes.entry_values]).astype(np.float64)
        theirs_u = np.concatenate([np.asarray(probes.directional_error, dtype=np.float64) + along_own,
                                   np.asarray(probes.entry_errors, dtype=np.float64)
                                   + np.array([own[idx] for idx in probes.entries], dtype=np.float64)])
    entry_labels = probes.labels if probes.labels is not None else [index_text(idx) for idx in probes.entries]
    labels = [f"along random direction {i + 1}" for i in range(len(probes.directions))] + list(entry_labels)
    return mine, mine_u, theirs, theirs_u, labels


class Side(NamedTuple):
    """One side of a comparison: the column's name, its values and their uncertainty, entry by entry."""

    name: str
    values: np.ndarray
    u: np.ndarray


def _entrywise(a: Side, b: Side, rule: Rule, counted: np.ndarray, labels: list[str] | None) -> PairError:
    (a_name, x, u_x), (b_name, y, u_y) = a, b
    if not np.any(counted):
        return PairError(a_name, b_name, False, 0.0, 0.0, "", (float("nan"), float("nan")), compared=0)
    diff, bad, excess = _judged(x, np.where(counted, u_x, 0.0), y, np.where(counted, u_y, 0.0), rule)
    bad = counted & bad
    with np.errstate(all="ignore"):
        size = np.maximum(np.abs(x), np.abs(y))
        safe = np.where(size > 0, size, 1.0)
        # diff is inf for huge values of opposite sign: the relative error is then taken scaled
        rel = np.where(np.isfinite(diff), diff / safe, np.abs(x / safe - y / safe))
        # An entry both columns put within the allowed difference of 0 is 0 to them: its relative
        # error (1 for 0 against 1e-12) says nothing, and a gradient that is 0 throughout has none (NaN).
        zero = size <= rule.allowed(x, y, np.where(counted, u_x, 0.0), np.where(counted, u_y, 0.0))
    meaningful = counted & ~(zero & ~bad)
    diff, excess = (np.where(counted, _nan_as_inf(v), 0.0) for v in (diff, excess))
    rel = np.where(meaningful, _nan_as_inf(rel), 0.0)
    worst = np.unravel_index(int(np.argmax(excess)), x.shape) if x.ndim else ()
    where = labels[int(worst[0])] if labels is not None else (index_text(worst) if x.ndim else "")
    largest = float(np.max(rel)) if np.any(meaningful) else float("nan")
    return PairError(a_name, b_name, not bool(np.any(bad)), float(np.max(diff)), largest, where,
                     (float(x[worst]), float(y[worst])), compared=int(np.count_nonzero(counted)))


def _judged(x: np.ndarray, u_x: Any, y: np.ndarray, u_y: Any, rule: Rule):
    """The rule applied entry by entry: |x − y|, where it is broken, and |x − y| / allowed (inf where
    a NaN in either column breaks it: NaN is never <= anything, so it disagrees)."""
    with np.errstate(all="ignore"):
        diff = np.abs(x - y)
        allowed = rule.allowed(x, y, u_x, u_y)
        excess = diff / np.maximum(allowed, np.finfo(np.float64).tiny)
    bad = ~(diff <= allowed)
    return diff, bad, np.where(bad & ~np.isfinite(excess), np.inf, excess)


_LARGEST = float(np.finfo(np.float64).max)


def _nan_as_inf(v: np.ndarray) -> np.ndarray:
    """np.nan_to_num(v, nan=inf): NaN as inf, ±inf as the largest finite number; in a third of its
    time, which counts for a batch of scalar cases (six pairs each, three measures per pair)."""
    return np.where(np.isnan(v), np.inf, np.minimum(np.maximum(v, -_LARGEST), _LARGEST))


def _values(column: Any) -> Any:
    return column.value if isinstance(column, Measured) else column


def _swap(p: PairError) -> PairError:
    return PairError(p.b, p.a, p.agree, p.max_abs_error, p.max_rel_error, p.worst,
                     (p.worst_values[1], p.worst_values[0]), p.compared)


def index_text(idx: tuple[Any, ...]) -> str:
    return "[" + ",".join(str(i) for i in idx) + "]"
