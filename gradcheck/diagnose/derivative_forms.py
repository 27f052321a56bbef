"""An elementwise activation's local derivative written with one slip: gelu's 3·x**2 written x**2, its
sech² written 1 − t where 1 − t**2 belongs, softplus's σ(x) written σ(−x).

The activation is recognised from the values alone: an input u of the gradient's shape whose image under
one of the catalogue's activations is the layer's output (or whose sum is f's one number), and whose
truth is dout times that activation's derivative (so the layer is that activation and nothing more). Its
derivative, taken by SymPy from the catalogue's own formula and also written the ways a backward
usually writes it (in the output y, with the intermediate t = tanh(...)), is mutated one node at a time:
a number off by one, doubled, halved, inverted or dropped, an exponent n as n ± 1, a factor or a term
dropped, a term's sign or a function's argument's sign flipped, a constant of the formula (0.044715,
√(2/π), α) dropped, squared, square-rooted or inverted. A mutation is named only where dout times it is
the whole claim for every dout, and every mutation that does so is the same function (two different
ones: ambiguous, nothing said).

Every formula here is built by this module from SymPy's own constructors, never from text, and
evaluated by `evaluate`, a walk over the few node types the catalogue uses (no lambdify, no eval).
SymPy is imported only when an input's output is an activation's (diagnosis of a mismatch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

# A forward's values are an activation's where they agree to this share of their largest entry (float32
# forwards round at 1e-7; gelu's tanh and erf forms differ by 1e-4 of theirs, and stay apart).
FORWARD_SAME = 1e-6
# A constant read off the values (or a number of the call) no larger than this is none: an elu with α = 0
# or a leaky relu with slope 0 is a relu, whose mask the table's own entries read.
CONSTANT_SMALLEST = 1e-6
# At most this many mutations of one activation's derivative forms are tried (gelu's forms give ~400).
MUTATIONS_MAX = 1500
# A site is said with its parent while it has fewer nodes than this ("3" alone, or t**2, says little) or
# is a negation, and the parent has no more than SITE_LARGEST (3*k*x**2, 1 - t**2; not the whole term
# around them).
SITE_SMALLEST = 4
SITE_LARGEST = 12
# Recognitions and slips' values kept for this many inputs (and constants): the composites' transforms
# ask the same input again with other claims.
EVALUATED_KEPT = 8


@dataclass(frozen=True)
class Piece:
    """One branch of an activation: where it holds (None: everywhere), its forward and its derivative's
    written forms (SymPy's own derivative of the forward is tried after them)."""

    where: str  # the branch's condition as said ("" everywhere)
    holds: Callable[[np.ndarray], np.ndarray] | None
    forward: Any
    forms: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Catalogued:
    """An activation: its name, its pieces, its constants (symbol -> how it is said and its values to try:
    the usual ones; a reading from the values may add one), and the intermediates its written forms use."""

    name: str
    pieces: tuple[Piece, ...]
    constants: dict[Any, tuple[str, tuple[float, ...]]] = field(default_factory=dict)
    bindings: dict[Any, Any] = field(default_factory=dict)  # symbol -> its formula in x
    read: Callable[[np.ndarray, np.ndarray], dict[Any, float]] | None = None  # constants read off (u, y)


@dataclass(frozen=True)
class Mutation:
    """One slip: the piece it is in, the whole derivative as written, the site before and after."""

    piece: int
    right: Any
    wrong: Any
    site_right: Any
    site_wrong: Any


@dataclass(frozen=True)
class Found:
    """A recognised activation at an input u, with its constants' values."""

    act: Catalogued
    u_name: str
    u: np.ndarray
    values: dict[Any, float]
    weight: float = 1.0  # f's one number is the activations' sum (1) or their mean (1/size)


# ----- the catalogue ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def catalogue() -> tuple[Catalogued, ...]:
    """The activations, built once (SymPy is imported here, on the first diagnosis that needs it)."""
    import sympy as sp  # deferred: start-up (a check with no mismatch never loads SymPy)

    x, y, t, s = sp.symbols("x y t s", real=True)
    alpha, slope, lam, beta = sp.symbols("alpha slope lambda beta", positive=True)
    k, c = sp.symbols("k c", positive=True)
    sig = 1 / (1 + sp.exp(-x))
    half = sp.Rational(1, 2)
    every = None

    def negative(v: np.ndarray) -> np.ndarray:
        return v <= 0

    def positive(v: np.ndarray) -> np.ndarray:
        return v > 0

    def read_negative(ratio: Callable[[np.ndarray, np.ndarray], np.ndarray], symbol: Any
                      ) -> Callable[[np.ndarray, np.ndarray], dict[Any, float]]:
        def read(u: np.ndarray, out: np.ndarray) -> dict[Any, float]:
            neg = u < -1e-3
            if not neg.any():
                return {}
            with np.errstate(all="ignore"):
                return {symbol: float(np.median(ratio(u[neg], out[neg])))}
        return read

    def read_swish(u: np.ndarray, out: np.ndarray) -> dict[Any, float]:
        far = np.abs(u) > 0.1  # y = x·σ(βx): βx = logit(y/x), where x is far enough from 0 to divide by
        if not far.any():
            return {}
        with np.errstate(all="ignore"):
            r = out[far] / u[far]
            return {beta: float(np.median(np.log(r / (1 - r)) / u[far]))}

    def read_selu(u: np.ndarray, out: np.ndarray) -> dict[Any, float]:
        pos, neg = u > 1e-3, u < -1e-3  # λ from the positive side, λ·α from the negative (rounded constants)
        if not pos.any() or not neg.any():
            return {}
        scale = float(np.median(out[pos] / u[pos]))
        with np.errstate(all="ignore"):
            return {lam: scale, alpha: float(np.median(out[neg] / (scale * np.expm1(u[neg]))))}

    gelu_tanh = half * x * (1 + sp.tanh(c * (x + k * x ** 3)))
    erf_phi = half * (1 + sp.erf(x / sp.sqrt(2)))
    return (
        Catalogued("sigmoid", (Piece("", every, sig, (y * (1 - y), s * (1 - s), sp.exp(-x) / (1 + sp.exp(-x)) ** 2,
                                                      sp.exp(x) / (1 + sp.exp(x)) ** 2,
                                                      1 / ((1 + sp.exp(-x)) * (1 + sp.exp(x))))),), bindings={s: sig}),
        Catalogued("tanh", (Piece("", every, sp.tanh(x), (1 - y ** 2, (1 - y) * (1 + y), 1 - sp.tanh(x) ** 2,
                                                          1 / sp.cosh(x) ** 2, 4 / (sp.exp(x) + sp.exp(-x)) ** 2)),)),
        Catalogued("softplus", (Piece("", every, sp.log(1 + sp.exp(x)),
                                      (1 / (1 + sp.exp(-x)), sp.exp(x) / (1 + sp.exp(x)), 1 - sp.exp(-y))),)),
        Catalogued("log-sigmoid", (Piece("", every, -sp.log(1 + sp.exp(-x)),
                                         (1 / (1 + sp.exp(x)), 1 - 1 / (1 + sp.exp(-x)), sp.exp(-x) / (1 + sp.exp(-x)),
                                          1 - sp.exp(y))),)),
        Catalogued("swish", (Piece("", every, x / (1 + sp.exp(-beta * x)),
                                   (s + beta * x * s * (1 - s), y * beta + s * (1 - beta * y))),),
                   constants={beta: ("β", (1.0, 1.702))}, bindings={s: 1 / (1 + sp.exp(-beta * x))}, read=read_swish),
        Catalogued("mish", (Piece("", every, x * sp.tanh(sp.log(1 + sp.exp(x))), (t + x * (1 - t ** 2) * s,)),),
                   bindings={t: sp.tanh(sp.log(1 + sp.exp(x))), s: sig}),
        Catalogued("softsign", (Piece("", every, x / (1 + sp.Abs(x)), (1 / (1 + sp.Abs(x)) ** 2,)),)),
        Catalogued("gelu (tanh form)", (Piece("", every, gelu_tanh, (
            half * (1 + t) + half * x * (1 - t ** 2) * c * (1 + 3 * k * x ** 2),)),),
                   constants={c: ("√(2/π)", (math.sqrt(2 / math.pi),)), k: ("0.044715", (0.044715,))},
                   bindings={t: sp.tanh(c * (x + k * x ** 3))}),
        Catalogued("gelu (erf form)", (Piece("", every, x * erf_phi, (
            erf_phi + x * sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi),)),)),
        Catalogued("elu", (Piece("x > 0", positive, x), Piece("x <= 0", negative, alpha * (sp.exp(x) - 1),
                                                                (alpha * sp.exp(x), y + alpha))),
                   constants={alpha: ("α", (1.0,))}, read=read_negative(lambda u, o: o / np.expm1(u), alpha)),
        Catalogued("selu", (Piece("x > 0", positive, lam * x),
                            Piece("x <= 0", negative, lam * alpha * (sp.exp(x) - 1),
                                  (lam * alpha * sp.exp(x), y + lam * alpha))),
                   constants={lam: ("λ", (1.0507009873554805,)), alpha: ("α", (1.6732632423543772,))}, read=read_selu),
        Catalogued("leaky relu", (Piece("x > 0", positive, x), Piece("x <= 0", negative, slope * x)),
                   constants={slope: ("the slope", (0.01, 0.1, 0.2))},
                   read=read_negative(lambda u, o: o / u, slope)),
        Catalogued("hardswish", (Piece("x <= -3", lambda v: v <= -3, sp.Integer(0)),
                                 Piece("-3 < x < 3", lambda v: np.abs(v) < 3, x * (x + 3) / 6, ((2 * x + 3) / 6,)),
                                 Piece("x >= 3", lambda v: v >= 3, x))),
        Catalogued("hardtanh", (Piece("x < -1", lambda v: v < -1, sp.Integer(-1)),
                                Piece("-1 <= x <= 1", lambda v: np.abs(v) <= 1, x),
                                Piece("x > 1", lambda v: v > 1, sp.Integer(1)))),
    )


def symbols() -> dict[str, Any]:
    """The catalogue's variables by name (x, the input; y, the output)."""
    import sympy as sp  # deferred: start-up

    return {n: sp.Symbol(n, real=True) for n in ("x", "y")}


# ----- evaluating our own trees ----------------------------------------------------------------------
def _erf(v: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(v)


def evaluate(expr: Any, env: dict[Any, Any]) -> Any:
    """expr's value with its symbols bound by env (arrays or numbers): a walk over the node types the
    catalogue's formulas and their mutations are made of; any other raises ValueError."""
    import sympy as sp  # deferred: start-up

    if expr.is_Symbol:
        return env[expr]
    if expr.is_Number or expr.is_NumberSymbol:
        return float(expr)
    args = [evaluate(a, env) for a in expr.args]
    if expr.is_Add:
        return sum(args[1:], args[0])
    if expr.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if expr.is_Pow:
        return np.power(np.asarray(args[0], dtype=np.float64), args[1])
    unary: dict[Any, Callable[[Any], Any]] = {sp.exp: np.exp, sp.log: np.log, sp.tanh: np.tanh, sp.cosh: np.cosh,
                                              sp.erf: _erf, sp.Abs: np.abs, sp.sign: np.sign}
    if expr.func in unary and len(args) == 1:
        return unary[expr.func](np.asarray(args[0], dtype=np.float64))
    raise ValueError(f"no numeric form for {expr.func}")


def environment(found: Found) -> dict[Any, Any]:
    """The values every formula of the activation reads at u: x, its constants, its intermediates (t),
    and y, the activation's own output there."""
    env: dict[Any, Any] = {**found.values, symbols()["x"]: found.u}
    for sym, formula in found.act.bindings.items():
        env[sym] = evaluate(formula, env)
    env[symbols()["y"]] = forward(found)
    return env


def forward(found: Found) -> np.ndarray:
    """The activation's values at u, branch by branch."""
    env: dict[Any, Any] = {**found.values, symbols()["x"]: found.u}
    return _by_piece(found, [p.forward for p in found.act.pieces], env)


def local(found: Found, env: dict[Any, Any], mutation: Mutation | None = None) -> np.ndarray:
    """The activation's derivative at u (with the mutation's slip in its piece)."""
    formulas = [derivative(found.act, i) for i in range(len(found.act.pieces))]
    if mutation is not None:
        formulas[mutation.piece] = mutation.wrong
    return _by_piece(found, formulas, env)


def _by_piece(found: Found, formulas: Sequence[Any], env: dict[Any, Any]) -> np.ndarray:
    out = np.full(found.u.shape, np.nan)
    for p, formula in zip(found.act.pieces, formulas):
        where = np.ones(found.u.shape, dtype=bool) if p.holds is None else p.holds(found.u)
        value = np.broadcast_to(np.asarray(evaluate(formula, env), dtype=np.float64), found.u.shape)
        out = np.where(where, value, out)
    return out


def derivative(act: Catalogued, piece: int) -> Any:
    """SymPy's derivative of a piece's forward, in x."""
    return _derivatives(act.name)[piece]


@lru_cache(maxsize=None)
def _derivatives(name: str) -> tuple[Any, ...]:
    import sympy as sp  # deferred: start-up

    act = next(a for a in catalogue() if a.name == name)
    return tuple(sp.diff(p.forward, symbols()["x"]) for p in act.pieces)


# ----- the mutations ---------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def mutations(name: str) -> tuple[Mutation, ...]:
    """Every one-node slip of every written form of each piece's derivative (its written forms first,
    then SymPy's own), at most MUTATIONS_MAX; the same per activation whatever its constants' values."""
    act = next(a for a in catalogue() if a.name == name)
    found: list[Mutation] = []
    for i, p in enumerate(act.pieces):
        for form in (*p.forms, derivative(act, i)):
            for wrong, before, after in _mutants(form, act):
                found.append(Mutation(i, form, wrong, before, after))
                if len(found) >= MUTATIONS_MAX:
                    return tuple(found)
    return tuple(found)


def _node_slips(e: Any, act: Catalogued) -> list[Any]:
    """The slips of one node in place."""
    import sympy as sp  # deferred: start-up

    if e.is_Number:
        n = e
        options = [n + 1, n - 1, -n, sp.Integer(1), 2 * n, n / 2] + ([1 / n] if n not in (0, 1, -1) else [])
        return [o for o in options if o != n]
    if e in act.constants:  # dropped, its sign, its square root forgotten or taken twice, inverted, a decimal off
        return [sp.Integer(1), -e, e ** 2, sp.sqrt(e), 1 / e, 2 * e, e / 2, 10 * e, e / 10]
    if e.is_Symbol:  # not x for y or y for x: the table's "input for output" and "output for input" say those
        return [-e]
    slips: list[Any] = []
    if e.is_Add:
        slips += [e - a for a in e.args]  # a term dropped
        slips += [e - 2 * a for a in e.args]  # a term's sign flipped
    elif e.is_Mul:
        slips += [sp.Mul(*(b for b in e.args if b is not a)) for a in e.args if not a.is_Number]  # a factor dropped
    elif e.is_Function and len(e.args) == 1:
        slips.append(e.func(-e.args[0]))  # the sign inside flipped
    return slips


def _mutants(e: Any, act: Catalogued) -> list[tuple[Any, Any, Any]]:
    """(the whole tree with one slip, the site as written, the site with the slip): the site is the node
    itself, or its parent while the node's text alone is too short to find."""
    out = [(w, e, w) for w in _node_slips(e, act)]
    for i, a in enumerate(e.args):
        for wrong, before, after in _mutants(a, act):
            args = list(e.args)
            args[i] = wrong
            whole = e.func(*args)
            if (_size(before) < SITE_SMALLEST or _negated(before)) and _size(e) <= SITE_LARGEST:
                before, after = e, whole
            out.append((whole, before, after))
    return [(w, b, a) for w, b, a in out if w != e]


def _negated(expr: Any) -> bool:
    """-u: SymPy's 1 - t**2 holds -t**2, a term no one reads alone."""
    return bool(expr.is_Mul and expr.args and expr.args[0] == -1)


def _size(expr: Any) -> int:
    """The number of nodes of a tree."""
    return 1 + sum(_size(a) for a in expr.args)


def _said(expr: Any, act: Catalogued, x_name: str = "x", values: dict[Any, float] | None = None) -> str:
    """A formula as text: the constants by their usual names (one whose value is 1, swish's β, as 1), x as
    the input's name, y as `out`."""
    import sympy as sp  # deferred: start-up

    ones = {sym for sym, v in (values or {}).items() if v == 1.0}
    named = {sym: sp.Integer(1) if sym in ones else sp.Symbol(words) for sym, (words, _) in act.constants.items()}
    named[symbols()["x"]] = sp.Symbol(x_name)
    named[symbols()["y"]] = sp.Symbol("out")
    written = expr.xreplace(named).replace(sp.Abs, lambda a: sp.Symbol(f"|{sp.sstr(a)}|"))  # |x|, not Abs(x)
    return sp.sstr(written)


# ----- recognising the activation ---------------------------------------------------------------------
def recognised(u_name: str, u: np.ndarray, output: np.ndarray, numbers: Sequence[float]) -> list[Found]:
    """The catalogue's activations (with their constants' values) whose values at u are `output` (its shape:
    elementwise; a number: their sum), identity excluded (an activation no entry bends says nothing).
    Kept for the last few (u, output): the composites' transforms ask again with other claims."""
    key = (u_name, u.shape, u.tobytes(), output.shape, output.tobytes(), tuple(numbers))
    if key not in _RECOGNISED:
        if len(_RECOGNISED) >= EVALUATED_KEPT:
            _RECOGNISED.pop(next(iter(_RECOGNISED)))
        _RECOGNISED[key] = _recognised(u_name, u, output, numbers)
    return _RECOGNISED[key]


_RECOGNISED: dict[tuple, list[Found]] = {}


def _recognised(u_name: str, u: np.ndarray, output: np.ndarray, numbers: Sequence[float]) -> list[Found]:
    scale = max(float(np.max(np.abs(output))), 1e-300)
    if output.shape == u.shape and np.all(np.abs(output - u) <= FORWARD_SAME * scale):
        return []
    found = []
    for act in catalogue():
        for values in _constant_values(act, u, output, numbers):
            f = Found(act, u_name, u, values)
            with np.errstate(all="ignore"):
                y = forward(f)
            if output.shape == u.shape:
                if np.all(np.isfinite(y)) and np.all(np.abs(y - output) <= FORWARD_SAME * scale):
                    found.append(f)
                    break
                continue
            total = max(float(np.sum(np.abs(y))), scale)  # a sum's rounding is its terms'
            weight = next((w for w in (1.0, 1.0 / u.size) if abs(w * np.sum(y) - output) <= FORWARD_SAME * w * total), None)
            if np.all(np.isfinite(y)) and weight is not None:
                found.append(replace(f, weight=weight))
                break
    return found


def _constant_values(act: Catalogued, u: np.ndarray, output: np.ndarray, numbers: Sequence[float]
                     ) -> list[dict[Any, float]]:
    """Each combination of values to try: the usual ones, the call's numbers for an activation's one
    constant, and the values read off (u, output) where the activation can read them (the forward's
    check then says whether they are its constants)."""
    options: dict[Any, list[float]] = {sym: list(usual) for sym, (_, usual) in act.constants.items()}
    if len(act.constants) == 1:
        (sym,) = act.constants
        options[sym] += [v for v in numbers if v not in options[sym] and abs(v) > CONSTANT_SMALLEST]
    combos: list[dict[Any, float]] = [{}]
    for sym, vs in options.items():
        combos = [{**cmb, sym: v} for cmb in combos for v in vs]
    read = act.read(u, output) if act.read is not None and output.shape == u.shape else {}
    if read and all(np.isfinite(v) and abs(v) > CONSTANT_SMALLEST for v in read.values()):
        combos.append({**combos[0], **read})
    return combos


# ----- the search ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slip:
    """The one slip that explains the claim, at the activation it is in."""

    found: Found
    mutation: Mutation


def search(candidates: Sequence[tuple[str, np.ndarray]], output: np.ndarray, numbers: Sequence[float],
           douts: Sequence[np.ndarray], truth_is: Callable[[list[np.ndarray]], bool],
           claim_is: Callable[[list[np.ndarray]], bool], same: float) -> Slip | None:
    """The slip whose local gradient, times each dout, is the claim (`claim_is`), at an activation of a
    candidate input whose derivative times each dout is the truth (`truth_is`); None where none does or
    two slips that are different functions both do (`same`: the share of the largest entry within which
    two predictions are one function)."""
    hits: list[tuple[Slip, list[np.ndarray]]] = []
    for n, u in candidates:
        for found in recognised(n, u, output, numbers):
            right, slips = _evaluated(found, same)
            if not truth_is([found.weight * d * right for d in douts]):
                continue
            for m, wrong in slips:
                predicted = [found.weight * d * wrong for d in douts]
                if claim_is(predicted[:1]) and claim_is(predicted):
                    hits.append((Slip(found, m), predicted))
    if not hits:
        return None
    first = hits[0][1]
    if any(not all(_close(p, q, same) for p, q in zip(other, first)) for _, other in hits[1:]):
        return None  # two different slips explain it: not told apart
    return hits[0][0]


def _evaluated(found: Found, same: float) -> tuple[np.ndarray, list[tuple[Mutation, np.ndarray]]]:
    """The derivative at u, and each slip's value there that is finite and differs from it (kept for
    EVALUATED_KEPT recent inputs)."""
    key = (found.act.name, found.u.shape, found.u.tobytes(), tuple(sorted((str(k), v) for k, v in found.values.items())),
           same)
    kept = _EVALUATED.get(key)
    if kept is not None:
        return kept
    with np.errstate(all="ignore"):
        env = environment(found)
        right = local(found, env)
    slips = []
    if np.all(np.isfinite(right)):
        for m in mutations(found.act.name):
            try:
                with np.errstate(all="ignore"):
                    wrong = local(found, env, m)
            except (ValueError, TypeError, ZeroDivisionError):  # a slip with no numeric form here
                continue
            if np.all(np.isfinite(wrong)) and not _close(wrong, right, same):
                slips.append((m, wrong))
    else:
        right = np.full(found.u.shape, np.nan)
    if len(_EVALUATED) >= EVALUATED_KEPT:
        _EVALUATED.pop(next(iter(_EVALUATED)))
    _EVALUATED[key] = (right, slips)
    return right, slips


_EVALUATED: dict[tuple, tuple[np.ndarray, list[tuple[Mutation, np.ndarray]]]] = {}


def _close(a: np.ndarray, b: np.ndarray, same: float) -> bool:
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-300)
    return bool(np.all(np.abs(a - b) <= same * scale))


def words(slip: Slip, x_name: str) -> dict[str, str]:
    """The sentence's fields, in the input's name (x_name: an identifier; the caller glosses another)."""
    act, m = slip.found.act, slip.mutation
    piece = act.pieces[m.piece]
    constants = ", ".join(f"{words} = {slip.found.values[sym]:.6g}" for sym, (words, _) in act.constants.items()
                          if len(act.constants[sym][1]) > 1 or slip.found.values[sym] not in act.constants[sym][1])
    uses = {str(sym) for sym in m.right.free_symbols}
    values = slip.found.values
    gloss = "; ".join(f"{_said(sym, act, x_name)} = {_said(formula, act, x_name, values)}"
                      for sym, formula in act.bindings.items() if str(sym) in uses)
    return {"act": act.name + (f" ({constants})" if constants else ""),
            "forward": _said(piece.forward, act, x_name, values),
            "derivative": _said(m.right, act, x_name, values),
            "wrong": _said(m.site_wrong, act, x_name, values), "right": _said(m.site_right, act, x_name, values),
            "where": f" (where {piece.where.replace('x', x_name)})" if piece.where else "",
            "gloss": f"; {gloss}" if gloss else ""}
