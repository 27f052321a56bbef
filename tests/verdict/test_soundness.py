"""Soundness of the verdict (issue 22): no wrong claim passes, a true kink is called a kink, no right claim fails.

Hypothesis generates expressions whose kinks are reached exactly through arithmetic of representable
values (relu/abs/max/min of products and affine terms that are exactly 0 at the point, ties such as
max(x*x, 2*x) at 2, amax/amin and max_pool2d ties, relu nets with one pre-activation exactly 0), the
same points moved 1-64 ulps off the switch, cancelling sums, ill-conditioned points, float32, and numpy
black boxes (max pooling with ties, checked with check_layer, check_vjp and check_function). Each comes
with a claim: a one-sided derivative, a piece's gradient, the midpoint (right), or the same off by 10% of
the interval, x1.01, x2, sign-flipped, transposed, the other side's derivative, or a formula that is
right at the point only by chance (wrong).

The truth is tests/soundness_truth.py's, in exact arithmetic at the given float values (Fraction, and
mpmath at 320 bits after a transcendental function); nothing here reads gradcheck's oracles to decide
what is right. The guarantee asserted, and no more:

- a wrong claim never exits 0: it is "mismatch" (exit 1) or "inconclusive" (exit 4);
- a right claim (the derivative, or at a kink either one-sided derivative or anything between) exits 0,
  "kink" at a kink and "pass" elsewhere; never "inconclusive" while the symbolic column exists;
- with no claim, a true kink is "kink" and a removable one (equal one-sided derivatives) is "pass";
- a black box's claim at a kink must also hold along the directions in which f is differentiable.

Deliberately not asserted, because the guarantee's two readings disagree there: an expression claim that
is within every entry's one-sided derivatives but not a subgradient (every tied amax entry given the
whole gradient; x from one side and y from the other of relu(x*y - 1)), and black boxes with
overlapping pooling windows, where the usual first-maximum backward (a true gradient at points
arbitrarily close) can lie outside an entry's one-sided derivatives. Right claims here are pieces and
their means; wrong ones are clearly outside an entry's interval (or, for a black box, off along a
direction in which f is differentiable).

test_truth_agrees_with_symbolic checks the truth itself against gradcheck's symbolic column wherever
f is smooth and not near a switch, so a failure elsewhere is gradcheck's, not this file's.

Budget: EXAMPLES per property, a few hundred in all; `pytest --slow` multiplies them by SLOW_FACTOR.
GRADCHECK_SOUNDNESS_TALLY=FILE records every example's outcome (one JSON line each) instead of
stopping at the first failure: that is how the per-category failure counts are measured.
"""

from __future__ import annotations

import json
import os
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from conftest import run_script, soundness_scale
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from soundness_truth import (
    CLAIM_ROUNDING,
    E,
    VarTruth,
    at_precision,
    call,
    clearly_outside,
    close,
    derivative,
    difference_quotient,
    directional,
    exact,
    formula_right_elsewhere,
    formula_wrong_elsewhere,
    judge_numbers,
    let,
    lets_of,
    mp,
    one_sided,
    same,
    switches_at,
    text,
    to_float,
    truth,
    value_at,
    var,
    variables_of,
    within,
)

import gradcheck

pytestmark = pytest.mark.slow  # ~25 s of generated checks: CI runs it, a quick loop (-m 'not slow') skips it

# ----- budgets ---------------------------------------------------------------------------------------
# Examples per property: ~470 in all, ~25 s on one core of the project's 2-core machine (a run where
# every property holds; a failing one adds hypothesis' shrinking, up to minutes). --slow: ~4 minutes.
EXAMPLES = {
    "kinks": 70, "ties": 60, "nets": 40, "near_switch": 50, "cancellation": 35, "ill_conditioned": 35,
    "float32": 35, "black_box": 45, "formulas": 40, "truth": 60,
}
PER_CHECK_SECONDS = 60.0  # a hang guard passed to gradcheck.check, not a speed target
ULPS = 64  # near-switch points are the switch moved by 1 to ULPS ulps
TALLY = os.environ.get("GRADCHECK_SOUNDNESS_TALLY", "")


def budget(kind: str) -> settings:
    return settings(max_examples=max(1, int(EXAMPLES[kind] * soundness_scale())), deadline=None, derandomize=True,
                    database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


class SuiteBug(AssertionError):
    """This file's own reasoning broke (a right claim outside the truth's interval, a derived formula
    that is not the derivative): a bug here, not in gradcheck."""


# ----- a generated case ------------------------------------------------------------------------------
RIGHT = ("left", "right", "piece", "mid", "centroid", "formula")
WRONG = ("outside", "x1.01", "x2", "neg", "T", "other_side", "formula_neg", "formula_x2", "chance_mul", "chance_add")
NUMERIC_WRONG = {"x1.01": 1.01, "x2": 2.0, "neg": -1.0}


@dataclass
class Case:
    category: str
    f: E
    point: dict[str, Any]  # the values gradcheck gets: floats, float arrays, int label arrays
    wrt: list[str]
    truths: dict[str, VarTruth]
    labels: frozenset = frozenset()
    dtype: str = "float64"
    variant: str = "none"  # which claim (RIGHT, WRONG or none)
    claims: dict[str, Any] = field(default_factory=dict)  # --grad: a float, a formula, or an --at name
    extra: dict[str, Any] = field(default_factory=dict)  # --at names holding claimed arrays
    expect: str = "pass"  # "pass", "kink", "wrong", or "not-kink" (no claim near a switch)
    near: bool = False  # the point is 1-64 ulps off a switch (f smooth there)
    on_switch: bool = False  # some switch's argument is exactly at its switch
    why: str = ""

    @property
    def kinked(self) -> bool:
        return any(t.kinked for t in self.truths.values())

    def run(self):
        return gradcheck.check(text(self.f), at={**self.point, **self.extra}, grad=self.claims or None,
                               let=lets_of(self.f) or None, wrt=self.wrt, dtype=self.dtype, timeout=PER_CHECK_SECONDS)

    def command(self) -> str:
        def show(v):
            if isinstance(v, np.ndarray):
                return json.dumps(v.tolist()).replace(" ", "")
            return repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)
        parts = [f'gradcheck eval "{text(self.f)}"', "--at " + ",".join(f"{k}={show(v)}" for k, v in
                                                                          {**self.point, **self.extra}.items())]
        parts += [f'--let {k}="{v}"' for k, v in lets_of(self.f).items()]
        parts.append("--wrt " + ",".join(self.wrt))
        parts += [f'--grad {k}="{v}"' for k, v in self.claims.items()]
        if self.dtype != "float64":
            parts.append(f"--dtype {self.dtype}")
        return " ".join(parts)

    def __repr__(self) -> str:
        truths = ", ".join(f"∂{n} {t.describe()}" for n, t in self.truths.items())
        where = "kink" if self.kinked else "removable kink" if self.on_switch else "near a switch" if self.near \
            else "smooth"
        return (f"\n  {self.command()}\n  truth ({where}): {truths}\n  claim {self.variant!r}: expect {self.expect}"
                + (f" ({self.why})" if self.why else "") + "\n")

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis prints falsifying examples with this
        printer.text(repr(self))


def _rounded(value: Any, dtype: str) -> Any:
    """A truth value as the claim a user would write: rounded to float64 (a float32 run reads it in
    float32, which _as_read models)."""
    if isinstance(value, np.ndarray) and value.shape != ():
        return np.vectorize(lambda v: to_float(v), otypes=[float])(value)
    return to_float(np.asarray(value, dtype=object)[()])


def _as_read(value: Any, dtype: str) -> Any:
    """The claim as gradcheck reads it: float64, or float32 in a float32 run (exact rationals)."""
    arr = np.asarray(value, dtype=np.float64)
    if dtype == "float32":
        arr = arr.astype(np.float32)
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = exact(arr[idx])
    return out


def _mean(arrays: list[np.ndarray]) -> np.ndarray:
    total = arrays[0]
    for a in arrays[1:]:
        total = total + a
    return np.asarray(total / len(arrays), dtype=object)


def build(category: str, f: E, point: dict[str, Any], wrt: list[str], *, labels=frozenset(), dtype="float64",
          variant="none", claimed: list[str] | None = None, pick: int = 0, seed: int = 0, near: bool = False,
          kink_point: dict | None = None, chance: str | None = None, by_name: bool = False) -> Case | None:
    """The case with its truth and the claim `variant` on the variables `claimed`; None where the
    variant is no clear claim here (a wrong variant that lands on a right value)."""
    assert variant in RIGHT + WRONG + ("none",), variant
    truths = truth(f, point, wrt, labels, seed=seed, directions=3)
    on_switch = bool(switches_at(f, point, labels))
    case = Case(category, f, point, list(wrt), truths, frozenset(labels), dtype, variant, near=near,
                on_switch=on_switch)
    if any(not t.pieces for t in truths.values()):
        return None  # two switches meet along one coordinate: no piece is a subgradient entry by entry
    if variant == "none":
        if case.kinked:
            case.expect = "kink"
        elif on_switch:
            case.expect = "pass"  # a removable kink
        elif near:
            case.expect = "not-kink"
        else:
            return None  # the guarantee says nothing about a smooth point without a claim
        return case
    claimed = list(claimed or wrt[:1])
    scalar = all(np.shape(point[n]) == () for n in variables_of(f) if n not in labels)
    pieces = [{n: truths[n].pieces[k] for n in wrt} for k in range(len(truths[wrt[0]].pieces))]
    base = pieces[pick % len(pieces)]
    if variant.startswith("formula") or variant.startswith("chance"):
        if not scalar:
            return None
        return _formula_claim(case, claimed[0], chance, seed)
    if variant in ("left", "right"):
        if len(claimed) != 1 or np.shape(point[claimed[0]]) != ():
            variant = case.variant = "piece"
        else:
            t = truths[claimed[0]]
            values = {claimed[0]: (t.left if variant == "left" else t.right)}
    if variant == "piece":
        values = {n: base[n] for n in claimed}
    elif variant == "mid":
        other = pieces[(pick + 1) % len(pieces)]
        values = {n: _mean([base[n], other[n]]) for n in claimed}
    elif variant == "centroid":
        values = {n: _mean([p[n] for p in pieces]) for n in claimed}
    elif variant in NUMERIC_WRONG:
        values = {n: np.asarray(base[n] * exact(NUMERIC_WRONG[variant]), dtype=object) for n in claimed}
    elif variant == "T":
        square = [n for n in claimed if np.ndim(point[n]) == 2 and np.shape(point[n])[0] == np.shape(point[n])[1]]
        if not square:
            return None
        values = {n: (base[n].T if n in square else base[n]) for n in claimed}
    elif variant == "outside":
        values = {n: base[n] for n in claimed}
        name = claimed[pick % len(claimed)]
        lo, hi = truths[name].bounds()
        kinked = [idx for idx in np.ndindex(lo.shape) if not same(lo[idx], hi[idx])]
        idx = kinked[pick % len(kinked)] if kinked else list(np.ndindex(lo.shape))[pick % lo.size]
        size = max(abs(mp(lo[idx])), abs(mp(hi[idx])), 1)
        moved = np.array(values[name], dtype=object)
        moved[idx] = mp(hi[idx]) + size / 10 if pick % 2 else mp(lo[idx]) - size / 10  # 10% of the size past an end
        values[name] = moved
    elif variant == "other_side":
        assert kink_point is not None
        at_kink = truth(f, kink_point, wrt, labels, seed=seed, directions=3)
        here = {n: truths[n].right for n in claimed}
        options = [{n: p for n, p in zip(claimed, combo)} for combo in zip(*[at_kink[n].pieces for n in claimed])]
        if not options:
            return None
        values = max(options, key=lambda o: max(abs(mp(a) - mp(b)) for n in claimed
                                                for a, b in zip(np.asarray(o[n]).flat, np.asarray(here[n]).flat)))
    elif variant not in ("left", "right"):
        raise ValueError(variant)
    rounded = {n: _rounded(v, dtype) for n, v in values.items()}
    verdict = judge_numbers({n: _as_read(v, dtype) for n, v in rounded.items()}, truths, dtype)
    if variant in RIGHT:
        if verdict != "right":
            raise SuiteBug(f"the right claim {variant} {rounded} is not within the truth: {case!r}")
    elif verdict != "wrong":
        return None
    for n, v in rounded.items():
        if np.ndim(v) or by_name:
            case.extra[f"G{n}"] = np.asarray(v, dtype=np.float64) if np.ndim(v) else v
            case.claims[n] = f"G{n}"
        else:
            case.claims[n] = v
    case.expect = ("kink" if case.kinked else "pass") if variant in RIGHT else "wrong"
    case.why = f"the truth says {verdict}"
    return case


def _formula_claim(case: Case, name: str, chance: str | None, seed: int) -> Case | None:
    """A claim written as a formula of the variables: right, -right, 2*right, or right only by chance."""
    right = derivative(case.f, name)
    rng = random.Random(seed)
    others = [n for n in sorted(variables_of(case.f)) if float(case.point[n]) != 0]
    chance = chance if chance in others else (others[seed % len(others)] if others else None)
    if case.variant == "formula":
        claim = right
    elif case.variant == "formula_neg":
        claim = -right
    elif case.variant == "formula_x2":
        claim = 2 * right
    elif chance is None:
        return None
    elif case.variant == "chance_mul":  # the right value at the point times chance/chance0 = 1 there
        claim = right * (var(chance) / float(case.point[chance]))
    else:  # chance_add: the right value plus chance - chance0 = 0 there
        claim = right + (var(chance) - float(case.point[chance]))
    t = case.truths[name]
    at_point = value_at(claim, case.point)
    if case.variant == "formula":
        if not (within(np.asarray(at_point, dtype=object), t, 1e-60)
                and formula_right_elsewhere(case.f, right, name, case.point, case.wrt, rng)):
            raise SuiteBug(f"the derived formula {text(right)} is not ∂f/∂{name}: {case!r}")
        case.expect, case.why = ("kink" if case.kinked else "pass"), "the derivative's formula"
    elif clearly_outside(np.asarray(at_point, dtype=object), t, case.dtype):
        case.expect, case.why = "wrong", "wrong at the point"
    elif formula_wrong_elsewhere(case.f, claim, name, case.point, case.wrt, rng):
        case.expect, case.why = "wrong", "right at the point by chance, wrong nearby"
    else:
        return None
    case.claims[name] = text(claim)
    return case


# ----- the guarantee ---------------------------------------------------------------------------------------
def _tally(test: str, case: Case, ok: bool, result: Any, message: str) -> None:
    with open(TALLY, "a", encoding="utf-8") as out:
        out.write(json.dumps({"test": test, "category": case.category if isinstance(case, Case) else test,
                              "ok": ok, "status": getattr(result, "status", None),
                              "exit": int(result.exit_code) if result is not None else None,
                              "expect": getattr(case, "expect", None), "variant": getattr(case, "variant", None),
                              "case": repr(case), "message": message}) + "\n")


def _symbolic_missing(result, names) -> bool:
    return any(result.gradients[n].columns.get("symbolic") is None for n in names if n in result.gradients)


# A right claim (or none) at a point f is smooth at, a few ulps off a switch, must read "pass": "kink"
# says f is not differentiable there, which is false (it exits 0 all the same). Set this to True if a
# "kink" that close to a switch is to be accepted as a hedge.
NEAR_SWITCH_MAY_SAY_KINK = False
# A black box's differences step far further than a few ulps (its only eyes are f's values), so a near
# tie cannot be told from a tie: there "kink" (exit 0) is the honest label, and the claim is still held
# to the one-sided derivatives and to the slope of the tied entries moved together.
BLACK_BOX_NEAR_SWITCH_MAY_SAY_KINK = True


def verdict_problem(expect: str, status: str, code: int, *, near: bool = False,
                    inconclusive_ok: bool = False, black_box: bool = False) -> tuple[str, str] | None:
    """(kind, message) when gradcheck's verdict breaks the guarantee for what the truth expects, else None.
    The kinds are the failure counts of the report: the first two are unsound exits, the rest labels."""
    got = f"got status {status!r}, exit {code}"
    if expect == "wrong":
        if code == 0:
            return "wrong claim exits 0", f"a wrong claim must be mismatch (1) or inconclusive (4); {got}"
        if status not in ("mismatch", "inconclusive") or code not in (1, 4):
            return "wrong claim, other outcome", f"a wrong claim must be mismatch (1) or inconclusive (4); {got}"
        return None
    if expect == "not-kink":
        if status == "kink" and not NEAR_SWITCH_MAY_SAY_KINK:
            return "smooth point called a kink", \
                f"f is differentiable here ({ULPS} ulps or fewer off a switch), so it is no kink; {got}"
        return None
    if status == "inconclusive" and inconclusive_ok:
        return None
    if code != 0:
        return "right claim fails", f"a right claim (or none) must be {expect!r} with exit 0; {got}"
    if status != expect:
        if expect == "pass" and status == "kink" and near and (
                NEAR_SWITCH_MAY_SAY_KINK or black_box and BLACK_BOX_NEAR_SWITCH_MAY_SAY_KINK):
            return None
        kind = "kink called pass" if expect == "kink" else "smooth point called a kink"
        return kind, f"a right claim (or none) must be {expect!r} with exit 0; {got}"
    return None


def _tally(test: str, category: str, problem: tuple[str, str] | None, status: str, code: int, expect: str,
           variant: str, case: Any) -> None:
    with open(TALLY, "a", encoding="utf-8") as out:
        out.write(json.dumps({"test": test, "category": category, "ok": problem is None,
                              "kind": problem[0] if problem else "", "message": problem[1] if problem else "",
                              "status": status, "exit": code, "expect": expect, "variant": variant,
                              "case": repr(case)}) + "\n")


def assert_guarantee(test: str, case: Case) -> None:
    event(f"{case.variant} -> {case.expect}")
    result = case.run()
    status, code = result.status, int(result.exit_code)
    problem = verdict_problem(case.expect, status, code, near=case.near,
                              inconclusive_ok=bool(case.claims) and _symbolic_missing(result, case.claims))
    if TALLY:
        _tally(test, case.category, problem, status, code, case.expect, case.variant, case)
        return
    assert problem is None, f"{problem[1]}\n{case!r}\n{result.verdict}"


# ----- strategies: values --------------------------------------------------------------------------------
signs = st.sampled_from([1, -1])
# Dyadic values: float arithmetic on them is exact. (Drawn as size and sign: a filter on 0 makes
# hypothesis give up on some draws.)
quarters = st.tuples(st.integers(1, 12), signs).map(lambda t: t[0] * t[1] / 4)
small_ints = st.tuples(st.integers(1, 3), signs).map(lambda t: t[0] * t[1])
seeds = st.integers(0, 2**16)


def moved_by_ulps(v: float, k: int, dtype: str = "float64") -> float:
    """v moved k ulps (k < 0: down) with np.nextafter, in the working precision."""
    x = np.float32(v) if dtype == "float32" else np.float64(v)
    toward = type(x)(np.inf if k > 0 else -np.inf)
    for _ in range(abs(k)):
        x = np.nextafter(x, toward)
    return float(x)


ulp_moves = st.integers(1, ULPS).flatmap(lambda k: st.sampled_from([k, -k]))


def relu(u): return call("relu", u)
def absolute(u): return call("abs", u)
def maximum(a, b): return call("max", a, b)
def minimum(a, b): return call("min", a, b)


KINKS = {
    "relu": relu, "abs": absolute, "max0": lambda u: maximum(u, 0), "min0": lambda u: minimum(u, 0),
    "-relu(-u)": lambda u: -relu(-u), "leaky": lambda u: maximum(u, 0) + 0.25 * minimum(u, 0),
}
REMOVABLE = {  # equal one-sided derivatives at u = 0: f is differentiable there
    "relu**2": lambda u: relu(u) ** 2, "u*abs": lambda u: u * absolute(u), "elu": lambda u: call("elu", u),
    "relu(u)-relu(-u)": lambda u: relu(u) - relu(-u), "max0**2": lambda u: maximum(u, 0) ** 2,
}
X, Y, Z = var("x"), var("y"), var("z")
OUTER = {
    "k+x": lambda k: k + X, "k*z+y": lambda k: k * Z + Y, "sin(k)+x*y": lambda k: call("sin", k) + X * Y,
    "exp(k)-x": lambda k: call("exp", k) - X, "k": lambda k: k,
}


@st.composite
def claim_choice(draw, wrt: list[str], variants: tuple[str, ...]):
    variant = draw(st.sampled_from(variants))
    claimed = draw(st.sampled_from([[n] for n in wrt] + ([list(wrt)] if len(wrt) > 1 else [])))
    return variant, claimed, draw(st.integers(0, 5)), draw(st.booleans())


EXACT_VARIANTS = ("none", "none", "left", "right", "piece", "mid", "centroid", "outside", "x1.01", "x2", "neg")


@st.composite
def scalar_switch(draw, where: str):
    """f = outer(kink(u)) with u = term - c exactly 0 at the point (where: kink, removable), at a point
    moved off it (smooth), or 1-64 ulps off it (near). Returns f, the point, the point on the switch."""
    px, py, pz = draw(quarters), draw(quarters), draw(quarters)
    form = draw(st.sampled_from(["product", "affine", "square", "ratio", "triple"]))
    if form == "product":
        term, c = X * Y, px * py
    elif form == "affine":
        a, b = draw(small_ints), draw(small_ints)
        term, c = a * X + b * Y, a * px + b * py
    elif form == "square":
        term, c = X * X, px * px
    elif form == "ratio":
        py = draw(st.sampled_from([0.5, -0.5, 2.0, -2.0, 0.25, 4.0]))
        term, c = X / Y, px / py
    else:
        term, c = X * Y * Z, px * py * pz
    u = term - c if c else term
    if draw(st.booleans()):
        u = let("u", u)
    table = REMOVABLE if where == "removable" else KINKS
    f = OUTER[draw(st.sampled_from(sorted(OUTER)))](table[draw(st.sampled_from(sorted(table)))](u))
    on = {n: v for n, v in (("x", px), ("y", py), ("z", pz)) if n in variables_of(f)}
    point = dict(on)
    if where == "smooth":
        point["x"] = px + draw(st.integers(1, 7).flatmap(lambda k: st.sampled_from([k / 8, -k / 8])))
        assume(value_at(u, point) != 0)
    elif where == "near":
        point["x"] = moved_by_ulps(px, draw(ulp_moves))
    return f, point, on


def _wrt(draw, f: E, data: set[str] = frozenset()) -> list[str]:
    names = sorted(variables_of(f) - set(data))
    if draw(st.integers(0, 3)) == 0 and len(names) > 1:
        return sorted(draw(st.sets(st.sampled_from(names), min_size=1, max_size=len(names) - 1)))
    return names


AT_SWITCH = st.sampled_from(["kink", "kink", "kink", "smooth"])  # mostly on the switch, some smooth for contrast


@st.composite
def kink_cases(draw, dtype: str = "float64", variants: tuple[str, ...] = EXACT_VARIANTS + ("formula",),
               where: str | None = None):
    where = where or draw(st.sampled_from(["kink", "kink", "kink", "removable", "smooth"]))
    f, point, _ = draw(scalar_switch(where))
    wrt = _wrt(draw, f)
    variant, claimed, pick, by_name = draw(claim_choice(wrt, variants))
    case = build("kinks", f, point, wrt, dtype=dtype, variant=variant, claimed=claimed, pick=pick,
                 seed=draw(seeds), by_name=by_name)
    assume(case is not None)
    return case


FAMILY = {  # polynomials in x and y whose values at dyadic points are exact in float
    "x*x": lambda a, b: X * X, "a*x": lambda a, b: a * X, "x*y": lambda a, b: X * Y, "a*x+b*y": lambda a, b: a * X + b * Y,
    "x*x*y": lambda a, b: X * X * Y, "y*y": lambda a, b: Y * Y, "x*y*y": lambda a, b: X * Y * Y,
}


@st.composite
def scalar_ties(draw, where: str = "kink"):
    """max/min(P, Q + c) with c making the two equal at the point."""
    p, q = draw(st.lists(st.sampled_from(sorted(FAMILY)), min_size=2, max_size=2, unique=True))
    a, b = draw(small_ints), draw(small_ints)
    P, Q = FAMILY[p](a, b), FAMILY[q](a, b)
    point = {"x": draw(quarters), "y": draw(quarters)}
    c = value_at(P, point) - value_at(Q, point)
    assert Fraction(float(c)) == c
    Qc = Q + float(c) if c else Q
    g = (maximum if draw(st.booleans()) else minimum)(P, Qc)
    f = draw(st.sampled_from([lambda g: g, lambda g: g + X, lambda g: g * Z, lambda g: call("exp", g * 0.25)]))(g)
    point = {n: point.get(n, 0.75) for n in sorted(variables_of(f))}
    if where == "smooth":
        point["x"] += draw(st.sampled_from([0.125, -0.375, 0.625]))
        assume(value_at(P - Qc, point) != 0)
    return f, point


@st.composite
def amax_ties(draw, where: str = "kink"):
    """amax/amin over 3 or 4 entries, 2 or 3 of them tied, of x, x + b, s*x or x*x; maybe plus sum(x*C)."""
    n = draw(st.integers(3, 4))
    tied = draw(st.integers(2, min(3, n)))
    largest = draw(st.booleans())
    top = draw(quarters)
    gaps = [draw(st.integers(1, 8)) / 4 for _ in range(n - tied)]
    entries = [top] * tied + [top - g if largest else top + g for g in gaps]
    entries = draw(st.permutations(entries))
    form = draw(st.sampled_from(["x", "x+b", "s*x", "x*x"]))
    x = var("x")
    point: dict[str, Any] = {}
    if form == "x":
        A, xs = x, entries
    elif form == "x+b":
        point["b"] = draw(quarters)
        A, xs = x + var("b"), [e - point["b"] for e in entries]
    elif form == "s*x":
        point["s"] = draw(st.sampled_from([2.0, -2.0, 0.5, -0.5]))
        A, xs = var("s") * x, [e / point["s"] for e in entries]
    else:
        size = abs(top) + (0 if largest else 3)  # the tied |x|: the largest (amax) or the smallest (amin) square
        others = [draw(st.integers(1, 3)) / 8 * (1 if largest else -1) for _ in range(n - tied)]
        xs = [size * draw(st.sampled_from([1, -1])) for _ in range(tied)] + [
            (size - o if largest else size - o) * draw(st.sampled_from([1, -1])) for o in others]
        xs = draw(st.permutations(xs))
        A = x * x
    point["x"] = np.array(xs, dtype=np.float64)
    f = call("amax" if largest else "amin", A)
    tail = draw(st.sampled_from(["", "C", "bb"]))
    if tail == "C":
        point["C"] = np.array([draw(quarters) for _ in range(n)])
        f = f + call("sum", x * var("C"))
    elif tail == "bb" and "b" in point:
        f = f + var("b") * var("b")
    if where == "smooth":
        point["x"] = point["x"] + np.array([draw(st.integers(-3, 3)) / 16 for _ in range(n)])
        assume(not switches_at(f, point))
    return f, point


@st.composite
def pool_ties(draw, where: str = "kink"):
    """sum(max_pool2d(x, 2) * C) over an NCHW x with tied maxima in some windows."""
    ch, h, w = draw(st.integers(1, 2)), draw(st.sampled_from([2, 4])), draw(st.sampled_from([2, 4]))
    x = np.array(draw(st.lists(st.integers(-6, 6), min_size=ch * h * w, max_size=ch * h * w)), dtype=np.float64)
    x = x.reshape(1, ch, h, w) / 2
    for c, i, j in np.ndindex(ch, h // 2, w // 2):
        if where == "kink" and draw(st.integers(0, 2)) == 0 or (c, i, j) == (0, 0, 0) and where == "kink":
            window = x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
            spots = draw(st.lists(st.integers(0, 3), min_size=2, max_size=3, unique=True))
            top = window.max()
            for s in spots:
                window[s // 2, s % 2] = top
    if where == "smooth":  # every window's largest entry alone
        x = x + np.arange(x.size).reshape(x.shape) / 64
        assume(len(set(x.ravel())) == x.size)
    point = {"x": x}
    f = call("max_pool2d", var("x"), 2)
    if draw(st.booleans()):
        point["C"] = np.array([draw(quarters) for _ in range(ch * (h // 2) * (w // 2))]).reshape(1, ch, h // 2, w // 2)
        f = call("sum", f * var("C"))
    else:
        f = call("sum", f)
    return f, point


ARRAY_VARIANTS = ("none", "none", "piece", "piece", "mid", "centroid", "outside", "x1.01", "x2", "neg")


@st.composite
def tie_cases(draw, dtype: str = "float64", where: str | None = None):
    kind = draw(st.sampled_from(["scalar", "scalar", "amax", "amax", "pool"]))
    where = where or draw(AT_SWITCH)
    if kind == "scalar":
        f, point = draw(scalar_ties(where))
        variants = EXACT_VARIANTS + ("formula",)
    else:
        f, point = draw(amax_ties(where) if kind == "amax" else pool_ties(where))
        variants = ARRAY_VARIANTS
    wrt = _wrt(draw, f, {"C"})
    variant, claimed, pick, by_name = draw(claim_choice(wrt, variants))
    case = build("ties", f, point, wrt, dtype=dtype, variant=variant, claimed=claimed, pick=pick, seed=draw(seeds),
                 by_name=by_name)
    assume(case is not None)
    return case


@st.composite
def relu_net(draw, where: str = "kink"):
    """H = relu(X @ W + b) with the pre-activation (i, j) exactly 0, then sum(H * C), softmax_ce(H, y)
    or softmax_ce(H @ V, y). Returns f, the point, the labels, the point on the switch."""
    m, k, n = draw(st.integers(2, 3)), draw(st.integers(2, 3)), draw(st.integers(2, 3))
    grid = lambda shape, lo, hi, den: np.array(  # noqa: E731
        draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape) / den
    Xv, Wv = grid((m, k), -2, 2, 2), grid((k, n), -4, 4, 4)
    bv = grid((n,), -4, 4, 4)
    i, j = draw(st.integers(0, m - 1)), draw(st.integers(0, n - 1))
    assume(np.any(Xv[i] != 0))  # the zero pre-activation depends on W
    bv[j] = -(Xv @ Wv)[i, j]
    point: dict[str, Any] = {"X": Xv, "W": Wv, "b": bv}
    on = dict(point)
    H = relu(var("X") @ var("W") + var("b"))
    if draw(st.booleans()):
        H = let("H", H)
    loss = draw(st.sampled_from(["sum", "ce", "ce2"]))
    labels: frozenset = frozenset()
    if loss == "sum":
        point["C"] = grid((m, n), -4, 4, 4)
        f = call("sum", H * var("C"))
    else:
        classes = n
        if loss == "ce2":
            classes = draw(st.integers(2, 3))
            point["V"] = grid((n, classes), -4, 4, 4)
            H = H @ var("V")
        point["y"] = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=m, max_size=m)))
        labels = frozenset({"y"})
        f = call("softmax_ce", H, var("y"))
    on = {**point, **on}
    if where == "smooth":
        point["b"] = bv + np.array([draw(st.sampled_from([0.125, -0.125, 0.375])) for _ in range(n)])
    elif where == "near":
        moved = bv.copy()
        moved[j] = moved_by_ulps(bv[j], draw(ulp_moves))
        point["b"] = moved
    return f, point, labels, on


@st.composite
def net_cases(draw, dtype: str = "float64", where: str | None = None):
    where = where or draw(AT_SWITCH)
    f, point, labels, _ = draw(relu_net(where))
    names = [n for n in ("W", "b", "X", "V") if n in point]
    wrt = sorted(draw(st.sets(st.sampled_from(names), min_size=1, max_size=2)))
    variant, claimed, pick, by_name = draw(claim_choice(wrt, ARRAY_VARIANTS + ("T",)))
    case = build("nets", f, point, wrt, labels=labels, dtype=dtype, variant=variant, claimed=claimed, pick=pick,
                 seed=draw(seeds))
    assume(case is not None)
    return case


@st.composite
def near_switch_cases(draw):
    """The exact-kink point moved 1-64 ulps: f smooth there; the truth is that side's derivative."""
    kind = draw(st.sampled_from(["scalar", "scalar", "net"]))
    if kind == "scalar":
        f, point, on = draw(scalar_switch("near"))
        labels: frozenset = frozenset()
        wrt = _wrt(draw, f)
    else:
        f, point, labels, on = draw(relu_net("near"))
        wrt = sorted(draw(st.sets(st.sampled_from([n for n in ("W", "b", "X", "V") if n in point]), min_size=1,
                                  max_size=2)))
    variant, claimed, pick, by_name = draw(claim_choice(wrt, ("none", "piece", "piece", "other_side", "other_side",
                                                              "x2", "neg", "x1.01")))
    case = build("near_switch", f, point, wrt, labels=labels, variant=variant, claimed=claimed, pick=pick,
                 seed=draw(seeds), near=True, kink_point=on, by_name=by_name)
    assume(case is not None and not case.kinked and not case.on_switch)
    return case


LARGE = [1e14, 2.0**52, 3e15, 1e16, 7.5e15]


@st.composite
def cancellation_cases(draw):
    """Sums whose large terms cancel exactly in truth (and not always in float)."""
    x0 = draw(st.floats(0.1, 10.0, allow_nan=False, allow_infinity=False))
    y0 = draw(quarters)
    big = draw(st.sampled_from(LARGE))
    a = var("a")
    form = draw(st.sampled_from(["x*C-x*C+g", "(a+x)-a", "square", "xyC-Cyx", "exp"]))
    point: dict[str, Any] = {"x": x0}
    if form == "x*C-x*C+g":
        g = draw(st.sampled_from([X, X * Y, call("sin", X), X * X, Y]))
        f = X * big - X * big + g
    elif form == "(a+x)-a":
        f = (a + X) - a
        point["a"] = draw(st.sampled_from([1e16, -3e15, 2.0**53, 1e17]))
    elif form == "square":  # (x + a)**2 - a*a - 2*a*x = x*x
        f = (X + a) * (X + a) - a * a - 2 * a * X
        point["a"] = draw(st.sampled_from([1e8, -3e7, 2.0**27]))
    elif form == "xyC-Cyx":
        f = X * Y * big - big * Y * X + X
    else:
        f = call("exp", X) * big - big * call("exp", X) + X * Y
    point = {n: point.get(n, y0) for n in sorted(variables_of(f))}
    wrt = _wrt(draw, f)
    variant, claimed, pick, by_name = draw(claim_choice(wrt, ("piece", "x2", "x2", "neg", "neg", "x1.01", "outside")))
    case = build("cancellation", f, point, wrt, variant=variant, claimed=claimed, pick=pick, seed=draw(seeds),
                 by_name=by_name)
    assume(case is not None)
    return case


@st.composite
def ill_conditioned_cases(draw):
    """Points where float64 cannot evaluate f (or a formula of its derivative) accurately."""
    form = draw(st.sampled_from(["(1-cos)/x2", "sqrt(xy-1)", "log", "log/(x-1)", "expm1/x", "x-sin"]))
    small = draw(st.floats(1e-6, 1e-3)) * draw(st.sampled_from([1, -1]))
    k = draw(st.integers(1, ULPS))
    if form == "(1-cos)/x2":
        f, point = (1 - call("cos", X)) / X ** 2, {"x": small}
    elif form == "sqrt(xy-1)":
        y0 = draw(st.sampled_from([0.5, 0.25, 2.0, 4.0]))
        f, point = call("sqrt", X * Y - 1), {"x": moved_by_ulps(1 / y0, k), "y": y0}
    elif form == "log":
        f, point = call("log", X), {"x": moved_by_ulps(1.0, draw(ulp_moves))}
    elif form == "log/(x-1)":
        f, point = call("log", X) / (X - 1), {"x": moved_by_ulps(1.0, draw(ulp_moves))}
    elif form == "expm1/x":
        f, point = (call("exp", X) - 1) / X, {"x": small}
    else:
        f, point = X - call("sin", X), {"x": small}
    wrt = sorted(variables_of(f))
    variant, claimed, pick, by_name = draw(claim_choice(
        wrt, ("piece", "piece", "x2", "neg", "x1.01", "formula", "formula_neg", "formula_x2")))
    case = build("ill_conditioned", f, point, wrt, variant=variant, claimed=claimed[:1], pick=pick, seed=draw(seeds),
                 by_name=by_name)
    assume(case is not None)
    return case


@st.composite
def float32_cases(draw, where: str | None = None):
    """Kinks, ties and nets in float32 (dyadic values with few bits, exact in float32)."""
    kind = draw(st.sampled_from(["kinks", "ties", "nets"]))
    variants = ("none", "left", "right", "piece", "mid", "outside", "x1.01", "x2", "neg")
    if kind == "kinks":
        case = draw(kink_cases("float32", variants, where))
    elif kind == "ties":
        case = draw(tie_cases("float32", where))
    else:
        case = draw(net_cases("float32", where))
    case.category = "float32"
    return case


SMOOTH = {  # smooth scalar expressions at dyadic points, for formula claims
    "neuron": lambda: call("sigmoid", var("w0") * X + var("w1") * Y + var("w2")),
    "x**3*y": lambda: X ** 3 * Y, "sin(x)*y+x*x": lambda: call("sin", X) * Y + X * X,
    "exp(x*y)": lambda: call("exp", X * Y * 0.25), "tanh(x-y)*x": lambda: call("tanh", X - Y) * X,
}


@st.composite
def formula_cases(draw):
    """Claims written as formulas: the right one, and ones right at the point only by chance."""
    kind = draw(st.sampled_from(["smooth", "smooth", "kink", "ties"]))
    if kind == "smooth":
        f = SMOOTH[draw(st.sampled_from(sorted(SMOOTH)))]()
        point = {n: draw(quarters) for n in sorted(variables_of(f))}
    elif kind == "kink":
        f, point, _ = draw(scalar_switch(draw(st.sampled_from(["kink", "smooth"]))))
    else:
        f, point = draw(scalar_ties(draw(st.sampled_from(["kink", "smooth"]))))
    wrt = sorted(variables_of(f))
    name = draw(st.sampled_from(wrt))
    variant = draw(st.sampled_from(["formula", "chance_mul", "chance_add", "chance_mul", "chance_add"]))
    case = build("formulas", f, point, wrt, variant=variant, claimed=[name], seed=draw(seeds),
                 chance=draw(st.sampled_from(sorted(variables_of(f)))))
    assume(case is not None)
    return case


# ----- the reproducers, as explicit examples -----------------------------------------------------------
def _case(category: str, f: E, point: dict, wrt: list[str], claim: dict, labels=frozenset(), **kw) -> Case:
    """A fixed case with a given claim (numbers or formulas), judged by the truth like the generated ones."""
    truths = truth(f, point, wrt, labels, seed=0, directions=3)
    case = Case(category, f, point, wrt, truths, frozenset(labels), on_switch=bool(switches_at(f, point, labels)),
                variant="reproducer", **kw)
    values = {}
    for n, c in claim.items():
        if isinstance(c, E):
            case.claims[n] = text(c)
            values[n] = np.asarray(value_at(c, point), dtype=object)
        elif np.ndim(c):
            case.extra[f"G{n}"] = np.asarray(c, dtype=np.float64)
            case.claims[n] = f"G{n}"
            values[n] = _as_read(c, "float64")
        else:
            case.claims[n] = float(c)
            values[n] = _as_read(c, "float64")
    if not claim:
        case.expect = "kink" if case.kinked else "pass"
    else:
        verdict = judge_numbers(values, truths, "float64")
        case.expect = "wrong" if verdict == "wrong" else ("kink" if case.kinked else "pass")
    return case


def reproducers() -> dict[str, Case]:
    u = X * Y - 1
    net = call("softmax_ce", relu(var("X") @ var("W") + var("b")), var("y"))
    net_point = {"X": np.array([[1, 2], [0.5, -1]]), "W": np.array([[0.5, 1], [0.25, -0.5]]),
                 "b": np.array([-1, 0.25]), "y": np.array([0, 1])}
    return {
        "max_tie": _case("ties", maximum(X * X, 2 * X), {"x": 2.0}, ["x"], {"x": 10}),
        "abs": _case("kinks", absolute(u) + X, {"x": 2.0, "y": 0.5}, ["x", "y"], {"x": 0}),
        "relu_y": _case("kinks", relu(u) + X, {"x": 2.0, "y": 0.5}, ["x", "y"], {"y": 7}),
        "relu_near": _case("near_switch", relu(u) + X, {"x": 2.0000000000000004, "y": 0.5}, ["x", "y"], {"x": 3},
                           near=True),
        "relu_other_side": _case("near_switch", relu(u) + X, {"x": 2.0000000000000004, "y": 0.5}, ["x", "y"],
                                 {"x": 1}, near=True),
        "cancel": _case("cancellation", X * 1e14 - X * 1e14 + X, {"x": 0.5}, ["x"], {"x": -1}),
        "sqrt": _case("ill_conditioned", call("sqrt", u), {"x": 2.000000000000002, "y": 0.5}, ["x", "y"],
                      {"x": 2 * Y / (2 * call("sqrt", u))}),
        "one_minus_cos": _case("ill_conditioned", (1 - call("cos", X)) / X ** 2, {"x": 0.0001}, ["x"],
                               {"x": -(call("sin", X) / X ** 2 - 2 * (1 - call("cos", X)) / X ** 3)}),
        "net": _case("nets", net, net_point, ["b"], {"b": np.array([1, 0.16973818103024457])}, labels={"y"}),
        "relu_no_claim": _case("kinks", relu(u) + X, {"x": 2.0, "y": 0.5}, ["x", "y"], {}),
        "net_no_claim": _case("nets", net, net_point, ["b"], {}, labels={"y"}),
        "amax_b": _case("ties", call("amax", var("x") + var("b")), {"x": np.array([1.0, 1, 1]), "b": 0.25}, ["b"],
                        {}),
    }


REPRODUCERS = reproducers()


def examples_of(category: str):
    """@example decorators for the reproducers of one category."""
    def decorate(test):
        for case in REPRODUCERS.values():
            if case.category == category:
                test = example(case=case)(test)
        return test
    return decorate


# ----- the properties ---------------------------------------------------------------------------------------
@budget("kinks")
@examples_of("kinks")
@given(case=kink_cases())
def test_kinks_reached_through_arithmetic(case):
    assert_guarantee("kinks", case)


@budget("ties")
@examples_of("ties")
@given(case=tie_cases())
def test_ties_of_max_min_amax_and_max_pool(case):
    assert_guarantee("ties", case)


@budget("nets")
@examples_of("nets")
@given(case=net_cases())
def test_relu_nets_with_a_zero_pre_activation(case):
    assert_guarantee("nets", case)


@budget("near_switch")
@examples_of("near_switch")
@given(case=near_switch_cases())
def test_points_a_few_ulps_off_a_switch(case):
    assert_guarantee("near_switch", case)


@budget("cancellation")
@examples_of("cancellation")
@given(case=cancellation_cases())
def test_cancelling_sums(case):
    assert_guarantee("cancellation", case)


@budget("ill_conditioned")
@examples_of("ill_conditioned")
@given(case=ill_conditioned_cases())
def test_ill_conditioned_points(case):
    assert_guarantee("ill_conditioned", case)


@budget("float32")
@given(case=float32_cases())
def test_float32(case):
    assert_guarantee("float32", case)


@budget("formulas")
@given(case=formula_cases())
def test_formulas_right_only_by_chance(case):
    assert_guarantee("formulas", case)


# ----- black boxes: numpy code checked with check_layer, check_vjp and check_function ------------------------
def pool_forward(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    n, c, h, w = x.shape
    oh, ow = 1 + (h - size) // stride, 1 + (w - size) // stride
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out


def pool_backward(kind: str, dout: np.ndarray, x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """first: the whole gradient to the first maximum (right); split: shared equally by tied maxima
    (right); all: every tied maximum gets the whole gradient (wrong at a tie); close: so does every entry
    within 1e-9 of the maximum (wrong at a tie, and a few ulps off one)."""
    dx = np.zeros_like(x)
    for a, b, i, j in np.ndindex(dout.shape):
        window = x[a, b, i * stride:i * stride + size, j * stride:j * stride + size]
        top = window.max()
        if kind == "first":
            mask = np.zeros(window.shape)
            mask[np.unravel_index(window.argmax(), window.shape)] = 1
        elif kind == "split":
            mask = (window == top) / np.sum(window == top)
        elif kind == "all":
            mask = (window == top).astype(float)
        else:
            mask = np.isclose(window, top, rtol=1e-9, atol=0).astype(float)
        dx[a, b, i * stride:i * stride + size, j * stride:j * stride + size] += dout[a, b, i, j] * mask
    return dx


@dataclass
class BlackBox:
    api: str  # check_layer, check_vjp or check_function
    backward: str  # first, split, all, close
    x: np.ndarray
    size: int
    stride: int
    near: bool
    expect: str = "pass"  # pass, kink or wrong, from the truth (judge_black_box)
    why: str = ""

    def run(self):
        size, stride, kind = self.size, self.stride, self.backward
        if self.api == "check_layer":
            def forward(x, pool):
                return pool_forward(x, pool["size"], pool["stride"]), (x, pool)

            def backward(dout, cache):
                x, pool = cache
                return pool_backward(kind, dout, x, pool["size"], pool["stride"])
            return gradcheck.check_layer(forward, backward, [self.x, {"size": size, "stride": stride}], wrt=["x"])
        if self.api == "check_vjp":
            return gradcheck.check_vjp(lambda x: pool_forward(x, size, stride),
                                       lambda dout, x: pool_backward(kind, dout, x, size, stride), [self.x])
        weights = np.arange(1, 1 + pool_forward(self.x, size, stride).size).reshape(
            pool_forward(self.x, size, stride).shape) / 4  # a fixed upstream gradient, 1/4 to n/4

        def loss(x):
            return float(np.sum(pool_forward(x, size, stride) * weights))
        return gradcheck.check_function(loss, lambda x: pool_backward(kind, weights, x, size, stride), [self.x])

    def __repr__(self) -> str:
        return (f"\n  gradcheck.{self.api}(max pooling {self.size}x{self.size} stride {self.stride}, backward "
                f"{self.backward!r}) at x = {json.dumps(self.x.tolist())}\n  expect {self.expect} ({self.why})\n")

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


def _pool_expr(size: int, stride: int) -> E:
    return call("sum", call("max_pool2d", var("x"), size, stride) * var("dout"))


def judge_black_box(box: BlackBox, douts: list[np.ndarray]) -> tuple[str, str]:
    """right or wrong (or unclear) for the backward, by the truth for each dout: every entry within its
    one-sided derivatives of ⟨dout, f⟩, and ⟨g, v⟩ = f'(x; v) along each direction v in which f is
    differentiable (the indicator of each window's tied maxima, and every single entry)."""
    f = _pool_expr(box.size, box.stride)
    verdicts = set()
    kinked = False
    for dout in douts:
        point = {"x": box.x, "dout": dout}
        truths = one_sided(f, point, ["x"])
        kinked |= truths["x"].kinked
        g = pool_backward(box.backward, dout, box.x, box.size, box.stride)
        inside = within(_as_read(g, "float64"), truths["x"], CLAIM_ROUNDING["float64"])
        outside = clearly_outside(_as_read(g, "float64"), truths["x"], "float64")
        directions = []
        oh, ow = dout.shape[2:]
        for a, c, i, j in np.ndindex(dout.shape):
            window = np.zeros(box.x.shape, dtype=object)
            region = box.x[a, c, i * box.stride:i * box.stride + box.size, j * box.stride:j * box.stride + box.size]
            window[a, c, i * box.stride:i * box.stride + box.size, j * box.stride:j * box.stride + box.size] = \
                (region == region.max()).astype(int)
            directions.append(window)
        held, broken = True, False
        for v in directions:
            up = directional(f, point, ["x"], {"x": v})
            down = directional(f, point, ["x"], {"x": np.asarray(-v, dtype=object)})
            if not same(up, -down):
                continue  # f is not differentiable along v
            claimed = sum(exact(gv) * vv for gv, vv in zip(g.flat, v.flat))
            scale = sum(abs(exact(gv) * vv) for gv, vv in zip(g.flat, v.flat)) + abs(mp(up))
            gap = abs(mp(claimed) - mp(up))
            held &= gap <= 2.0**-50 * scale
            broken |= gap > 1e-3 * scale
        if inside and held:
            verdicts.add("right")
        elif outside or broken:
            verdicts.add("wrong")
        else:
            verdicts.add("unclear")
    if verdicts == {"right"}:
        return ("kink" if kinked else "pass"), "within the one-sided derivatives and along every smooth direction"
    if verdicts == {"wrong"}:
        return "wrong", "off along a direction in which f is differentiable, or outside the one-sided derivatives"
    return "unclear", str(verdicts)


@st.composite
def black_boxes(draw):
    api = draw(st.sampled_from(["check_layer", "check_vjp", "check_function"]))
    backward = draw(st.sampled_from(["first", "split", "all", "close", "all", "close"]))
    stride = 2  # non-overlapping windows: see the report on overlapping ones
    ch, h, w = draw(st.integers(1, 2)), draw(st.sampled_from([2, 4])), draw(st.sampled_from([2, 4]))
    x = np.array(draw(st.lists(st.integers(-8, 8), min_size=ch * h * w, max_size=ch * h * w)), dtype=np.float64)
    x = (x / 4).reshape(1, ch, h, w)
    near = draw(st.booleans())
    for c, i, j in np.ndindex(ch, h // 2, w // 2):
        if draw(st.integers(0, 1)) == 0 or (c, i, j) == (0, 0, 0):
            window = x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
            spots = draw(st.lists(st.integers(0, 3), min_size=2, max_size=3, unique=True))
            top = window.max() or 0.5  # not 0: an ulp off 0 is a subnormal, no longer "close" relatively
            for s in spots:
                window[s // 2, s % 2] = top
            if near:  # the tie broken by 1-64 ulps: f is smooth, one maximum
                s = spots[-1]
                window[s // 2, s % 2] = moved_by_ulps(top, draw(ulp_moves))
    box = BlackBox(api, backward, x, 2, stride, near)
    rng = np.random.default_rng(draw(seeds))
    out_shape = pool_forward(x, 2, stride).shape
    douts = [np.round(rng.standard_normal(out_shape) * 64) / 64 + 1 / 128 for _ in range(3)]  # nonzero dyadic
    if api == "check_function":
        weights = np.arange(1, 1 + int(np.prod(out_shape))).reshape(out_shape) / 4
        douts = [weights]
    box.expect, box.why = judge_black_box(box, douts)
    assume(box.expect != "unclear")
    return box


def _box_example(backward: str, api: str = "check_layer") -> BlackBox:
    x = np.array([[[[1.0, 2.0], [2.0, 0.5]]]])
    box = BlackBox(api, backward, x, 2, 2, False)
    box.expect, box.why = judge_black_box(box, [np.array([[[[0.75]]]]), np.array([[[[-1.5]]]])])
    return box


@budget("black_box")
@example(box=_box_example("all"))
@example(box=_box_example("first"))
@given(box=black_boxes())
def test_black_box_max_pooling(box):
    result = box.run()
    status, code = result.status, int(result.exit_code)
    problem = verdict_problem(box.expect, status, code, near=box.near, black_box=True)
    if TALLY:
        _tally("black_box", "black_box", problem, status, code, box.expect, box.backward, box)
        return
    assert problem is None, f"{problem[1]}\n{box!r}\n{result.verdict}"


# ----- the truth itself, against gradcheck's symbolic column ------------------------------------------------
@st.composite
def any_case(draw):
    """A case of any generator, at its smooth points half the time (the rest are mostly skipped: at a switch)."""
    kind = draw(st.sampled_from(["kinks", "ties", "nets", "cancellation", "ill_conditioned", "float32", "formulas"]))
    where = draw(st.sampled_from([None, "smooth"]))
    return draw({"kinks": kink_cases(where=where), "ties": tie_cases(where=where), "nets": net_cases(where=where),
                 "cancellation": cancellation_cases(), "ill_conditioned": ill_conditioned_cases(),
                 "float32": float32_cases(where), "formulas": formula_cases()}[kind])


@budget("truth")
@given(case=any_case(), box=black_boxes())
def test_truth_agrees_with_symbolic(case, box):
    """Where f is smooth and no switch is within reach, the truth equals gradcheck's symbolic column
    (SymPy at 30 digits), so a failure in the properties above is gradcheck's verdict, not this file's
    truth. (build() has already checked the truth's own consistency: every right claim inside the
    one-sided interval, the derived formula equal to the truth at nearby points.) And the black boxes'
    backwards are judged as designed: first and split right, all and close wrong at an exact tie."""
    windows = [box.x[a, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2] for a, c, i, j in
               np.ndindex(box.x.shape[0], box.x.shape[1], box.x.shape[2] // 2, box.x.shape[3] // 2)]
    tie = any(np.sum(w == w.max()) > 1 for w in windows)
    if box.backward in ("first", "split"):
        assert box.expect in ("pass", "kink"), box
    elif tie:
        assert box.expect == "wrong", box
    if box.backward == "close" and box.near:
        assert box.expect == "wrong", box
    if case.kinked or case.on_switch or case.near:
        event("truth: at or near a switch, not compared")
        return
    case = replace(case, claims={}, extra={}, variant="none", expect="pass", why="")  # checked without the claim
    event(f"truth: compared ({case.category})")
    result = gradcheck.check(text(case.f), at=case.point, let=lets_of(case.f) or None,
                             wrt=case.wrt, dtype=case.dtype, timeout=PER_CHECK_SECONDS)
    rel = 1e-6 if case.dtype == "float32" else 1e-10
    for name, t in case.truths.items():
        exact_value = t.smooth_value()
        for idx in np.ndindex(exact_value.shape):  # the tangent rules against differences of values
            dq = difference_quotient(case.f, case.point, name, idx, case.labels)
            assert close(dq, exact_value[idx], 1e-25) or abs(mp(dq) - mp(exact_value[idx])) < 1e-60, \
                f"∂f/∂{name}{list(idx)}: tangents {to_float(exact_value[idx])}, differences {to_float(dq)}\n{case!r}"
        symbolic = result.gradients[name].columns.get("symbolic")
        if symbolic is None:
            continue
        symbolic = np.asarray(symbolic, dtype=np.float64)
        expected = np.asarray(_rounded(exact_value, "float64"), dtype=np.float64)
        # An exact 0 against SymPy's 30-digit residue of a cancellation (2e-32 next to 0.15) agrees.
        if np.allclose(symbolic, expected, rtol=rel, atol=1e-25 * max(1.0, float(np.max(np.abs(expected))))):
            continue
        # SymPy evaluates at 30 digits (~100 bits). Where the truth computed at 100 bits loses as much,
        # the difference is the symbolic column's rounding, not this file's truth: noted, not failed.
        coarse = at_precision(100, lambda n=name: one_sided(case.f, case.point, [n], case.labels)[n].right)
        lost = max(abs(mp(a) - mp(b)) / max(abs(mp(b)), 1e-300) for a, b in zip(coarse.flat, exact_value.flat))
        assert lost > rel / 10, f"∂f/∂{name}: truth {expected}, symbolic {symbolic}\n{case!r}"
        event("truth: the symbolic column is off where 30 digits are not enough (truth confirmed)")
        if TALLY:
            _tally("truth", "truth", ("symbolic column off (noted)", f"{symbolic} vs truth {expected}"),
                   result.status, int(result.exit_code), "", "", case)


# ----- through the real console script ----------------------------------------------------------------------
SCRIPT_RUNS = [  # (arguments, the exit codes allowed, the status required in JSON or None)
    (["eval", "max(x*x, 2*x)", "--at", "x=2", "--grad", "x=10"], (1, 4), None),
    (["eval", "relu(x*y - 1) + x", "--at", "x=2.0000000000000004,y=0.5", "--grad", "x=3"], (1, 4), None),
    (["eval", "x*1e14 - x*1e14 + x", "--at", "x=0.5", "--grad", "x=-1"], (1, 4), None),
    (["eval", "softmax_ce(relu(X @ W + b), y)", "--at",
      "X=[[1,2],[0.5,-1]],W=[[0.5,1],[0.25,-0.5]],b=[-1,0.25],y=[0,1],C=[1,0.16973818103024457]",
      "--wrt", "b", "--grad", "b=C"], (1, 4), None),
    (["eval", "relu(x*y - 1) + x", "--at", "x=2,y=0.5", "--format", "json"], (0,), "kink"),
    (["eval", "amax(x + b)", "--at", "x=[1,1,1],b=0.25", "--wrt", "b", "--format", "json"], (0,), "pass"),
]


def test_reproducers_through_the_console_script():
    """A handful of the issue's reproducers, run as a user runs them: the exit codes (and the status)."""
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda run: run_script(*run[0]), SCRIPT_RUNS))
    problems = []
    for (args, codes, status), proc in zip(SCRIPT_RUNS, done):
        got = json.loads(proc.stdout)["cases"][0]["status"] if status and proc.stdout.strip().startswith("{") else None
        if proc.returncode not in codes or (status and got != status):
            problems.append(f"gradcheck {' '.join(args)}: exit {proc.returncode} (want {codes})"
                            + (f", status {got!r} (want {status!r})" if status else "") + f"\n{proc.stderr[-300:]}")
    assert not problems, "\n".join(problems)
