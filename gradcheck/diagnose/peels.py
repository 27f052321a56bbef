"""Two mistakes at once, where one of them can be peeled off the claim without knowing the other.

Some mistakes are an invertible transformation of whatever the backward computed: a claim of the
transposed shape (`dz.T @ x` for `x.T @ dz`), a parameter forgotten as a factor (a norm's gamma left out of
dxhat: the claim lacks a factor gamma) or one too many, a regularisation term's gradient missing or wrong
by a strength the model or the call itself declares (its `reg`). Such a mistake is undone on the claim
(for every dout, the other douts' claims too) and what is left is walked through the table: where one of
its mistakes explains the rest, the two together explain the whole claim, because each peel is exactly
invertible and named by the table's own test on the claim it alone would make.

A loss's regularisation term is also taken out of both sides: the truth's k·reg·u and the claim's k′·reg·u
(k′ may be 0), each k one of TERM_MULTIPLES, leave the data terms, on which a mistake beside the term (a
relu mask missing, an activation for its derivative) is read; where the term is right (k′ = k) that
mistake alone is named. One (k, k′) only: two that both leave a mistake are not told apart.

A parameter the forward multiplies its output by, forgotten before the backward's own sums (a layer norm's
gamma left out of dxhat, which does not commute with the means over the features), is no change of the
claim: it is peeled off dout instead. The truth for dout / gamma is measured (one more pass of differences
per such parameter, only where no peel of the claim explains it) and compared with the same claim; where
it is the claim, that is the one mistake.

composites.py's transforms (a constant factor, a transpose, an order of axes, a missing mask) keep the
rest away from the table's entries that fit numbers of their own; a peel here fits none (the parameter,
the strength and the shape are the call's own), so the rest may be a regularisation term said with a
number of the call. One peel fits a number: a term c·u beside a square claim transposed (a weight decay
the backward writes with a constant of its own, `dout.T @ x + decay * W`), c read by least squares from
claim − truth.T; one number against every entry of every dout, and named only where the table's
transpose, which fits none, explains what is left. Tried last, after the single mistakes and composites.py's pairs, and named only
where exactly one pair explains the claim (two pairs that both do are not told apart: the honest count
stays). A rest that is a free constant factor is not taken (any claim c·gamma·truth would fit it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from . import hypotheses as hy
from .composites import NOT_INNER, Transform, applied, tried
from .hypotheses import BY_NAME, HYPOTHESES, Evidence, Hypothesis, explains

# The rest is never these beside a peel: composites' own exclusions (rounding, a gradient of 0, the
# order of inputs, the fits of numbers per region or per term), and a free constant factor, which beside
# a parameter's factor would fit any claim that is c·gamma times the truth. A regularisation term is
# taken only with a number of the call (_named_terms).
PEEL_NOT_INNER = tuple(n for n in NOT_INNER if n != "regularisation") + ("constant factor",)
# The multiples of a declared strength a regularisation term's gradient is written with (reg·W, 2·reg·W
# for reg·ΣW², ½·reg·W), each with either sign: a term missing, one too many, or one of the others.
TERM_MULTIPLES = (1.0, 2.0, 0.5, -1.0, -2.0, -0.5)

# A parameter forgotten on dout is peeled only where its entries are this far from 0 at most apart (dout
# divided by a parameter near 0 would be differenced at huge douts).
PARAMETER_SPREAD = 1e3
# A peel that undoes no mistake: a loss's term taken out of the truth and the claim alike, where it is right.
RIGHT_TERM = ""
# The cause a parameter forgotten on dout (a norm's gamma left out of dxhat) is named with.
DOUT_PEEL = "local gradient factor"


class Peel(NamedTuple):
    """One mistake undone: what it is called and said, and what is left for the table to explain."""

    cause: str
    sentence: str
    rest: Evidence  # the claim with the mistake undone (or the truth for the douts it was made for)
    excluded: tuple[str, ...]  # the table's entries the rest is not taken to be
    # the rest has no truth for the table's other douts: their tests run on what they have (the claim's own)
    unmeasured: bool = False


TruthsAt = Callable[[list[tuple]], tuple[list[np.ndarray], list[np.ndarray]]]  # douts -> truths, errors


def peeled(ev: Evidence, truths_at: TruthsAt | None = None) -> tuple[tuple[str, ...], str] | None:
    """(both causes in table order, the sentence) where one peel and one of the table's mistakes on
    the rest explain the whole claim, and no other pair does; else None. Where no peel of the claim
    does, a parameter forgotten on dout is peeled with `truths_at` (one more pass of differences)."""
    with np.errstate(all="ignore"):
        return _one_pair(_peels(ev)) or (_one_pair(_dout_peels(ev, truths_at)) if truths_at is not None else None)


def _one_pair(peels: Iterable[Peel]) -> tuple[tuple[str, ...], str] | None:
    """The one pair (peel, rest) the peels leave, said; None where none or two different pairs do. A peel
    that leaves the truth itself is one mistake, said alone, and so is a mistake on a loss's data term
    beside its right term (RIGHT_TERM)."""
    found: dict[frozenset[str], tuple[tuple[str, ...], str]] = {}
    outers: dict[tuple[frozenset[str], str], str] = {}  # each pair's peel sentence, per peel cause
    for outer, said, left, excluded, unmeasured in peels:
        if outer == RIGHT_TERM and unmeasured and explains(left, left.true):
            continue  # the data terms agree: the claim is wrong elsewhere
        if outer != RIGHT_TERM and unmeasured and explains(left, left.true):
            return (outer,), said
        inner = _rest(left, excluded + (outer,), unmeasured)
        if inner is None:
            continue
        name, sentence = inner
        if outer == RIGHT_TERM:  # one mistake, on the data term beside a right term
            one = ((name,), f"{said}: {sentence}")
            if found.setdefault(frozenset(one[0]), one) != one or len(found) > 1:
                return None
            continue
        names = hy.in_table_order({outer, name})
        if len(names) < 2:
            continue
        key = frozenset(names)
        if outers.setdefault((key, outer), said) != said:
            return None  # the same two read two ways (two strengths of a term): which one is not told
        found.setdefault(key, (names, f"two mistakes (together they explain the whole claim): {said}; and, that one "
                                      f"undone, {sentence}"))
        if len(found) > 1:  # two pairs explain it: not told apart
            return None
    return next(iter(found.values()), None)


def _rest(left: Evidence, excluded: tuple[str, ...], unmeasured: bool = False) -> tuple[str, str] | None:
    """The first of the table's mistakes that explains the peeled claim (name, sentence), or None."""
    for h in HYPOTHESES:
        if h.name in PEEL_NOT_INNER or h.name in excluded:
            continue
        fields = _unmeasured(h, left) if unmeasured and h.douts is not None else tried(h, left)
        if fields is None or (h.name == "regularisation" and not fields.get("named")):
            continue
        return h.name, h.said({"name": left.name, **fields})
    return None


def _unmeasured(h: Hypothesis, ev: Evidence) -> dict[str, Any] | None:
    """h's test where the truth for its other douts is not measured: what it tells from the claim alone (a
    test that reads one of those truths gives no fields)."""
    try:
        return h.test(ev)
    except (KeyError, ArithmeticError, ValueError, np.linalg.LinAlgError):
        return None


# ----- the peels ------------------------------------------------------------------------------------
def _peels(ev: Evidence) -> Iterator[Peel]:
    """Each peel the claim admits: its shape transposed back (a square one too), a parameter's factor put
    back or taken out, a term of a declared strength taken out."""
    if hy.has_claims(ev):
        if len(ev.shape) == 2 and ev.shape[0] == ev.shape[1] and ev.whole:
            yield Peel("transpose", BY_NAME["transpose"].sentence, applied(ev, lambda c: c.T),
                       ("transpose", "untransposed matrix", "permuted"))
        yield from _parameter_factors(ev)
        yield from _named_terms(ev)
        yield from _fitted_terms(ev)
        yield from _data_terms(ev)
    elif all(r is not None for r in ev.raw):
        transposed = _shape_transposed(ev)
        if transposed is not None:
            yield transposed


def _dout_peels(ev: Evidence, truths_at: TruthsAt) -> Iterator[Peel]:
    """A loss's regularisation term is also taken out of both sides: the truth's k·reg·u and the claim's k′·reg·u
(k′ may be 0), each k one of TERM_MULTIPLES, leave the data terms, on which a mistake beside the term (a
relu mask missing, an activation for its derivative) is read; where the term is right (k′ = k) that
mistake alone is named. One (k, k′) only: two that both leave a mistake are not told apart.

A parameter the forward multiplies its output by, forgotten before the backward's own reductions (a
    layer norm's gamma left out of dxhat: the claim for dout is the rest of the backward for dout / gamma):
    the truth for dout / p, one more pass of differences per parameter, against the same claim."""
    if not hy.has_claims(ev) or len(ev.outputs) != 1:
        return
    out_shape = np.shape(ev.outputs[0])
    for n, p in hy.float_inputs(ev):
        if n == ev.name or not p.ndim or p.shape == out_shape or not _broadcasts(p.shape, out_shape):
            continue
        size = np.abs(p)
        if not np.all(np.isfinite(size)) or size.min() * PARAMETER_SPREAD < size.max():
            continue
        douts = [(np.asarray(d[0], dtype=np.float64) / p, *d[1:]) for d in ev.douts[:len(ev.claimed)]]
        truths, errors = truths_at(douts)
        left = replace(ev, true=list(truths), errors=list(errors), moved={}, moved_errors={}, moved_claimed={})
        said = (f"it lacks {n} on dout: it is computed from dout where dout * {n} belongs ({n}, which the forward "
                f"multiplies its output by, is forgotten before the backward's own sums, as a norm's gamma left out "
                f"of dxhat)")
        yield Peel(DOUT_PEEL, said, left, (DOUT_PEEL,), unmeasured=True)


def _shape_transposed(ev: Evidence) -> Peel | None:
    """A claim of the transposed shape: .T puts it back (then the rest is walked, a term of the strength
    included)."""
    got = ev.raw[0].shape
    if len(ev.shape) != 2 or got != ev.shape[::-1] or any(r.shape != got for r in ev.raw):
        return None
    sentence = BY_NAME["transposed shape"].said({"name": ev.name, "got": hy.format_shape(got),
                                                 "want": hy.format_shape(ev.shape)})
    back = [r.T for r in ev.raw]
    return Peel("transposed shape", sentence, replace(ev, claimed=back, raw=back, moved_claimed={}),
                ("transpose", "transposed shape"))


def _parameter_factors(ev: Evidence) -> Iterator[Peel]:
    """A parameter (a float input that broadcasts to the gradient's shape and is not one number) forgotten as
    a factor, or one too many: the claim times it, or over it, is what is left."""
    for _, p in _parameters(ev):
        for power in (1, -1):  # the claim lacks p (the truth is claim·p), or has it once too often
            if not np.all(np.isfinite(p ** power)):
                continue
            fields = BY_NAME["local gradient factor"].test(replace(ev, claimed=[t / p ** power for t in ev.true]))
            if fields is not None:
                yield Peel("local gradient factor", fields["what"], applied(ev, _times(p ** power)),
                           ("local gradient factor",))


def _parameters(ev: Evidence) -> list[tuple[str, np.ndarray]]:
    """The float inputs a forgotten factor may be: of the gradient's shape, or broadcasting to it along
    some axes (a norm's gamma over the features), and not one constant; not the input itself."""
    inputs = {n for n, _ in hy.float_inputs(ev)} - {ev.name}
    return [(n, v) for n, v in hy.factor_inputs(ev) if n in inputs]


def _named_terms(ev: Evidence) -> Iterator[Peel]:
    """A term k·reg·u (u an input of the gradient's shape, reg a strength of the call, k one of
    TERM_MULTIPLES) that the claim has and the truth has not: taken out."""
    strengths = sorted({v for _, v in hy.term_numbers(ev.inputs) if v})
    inputs = {n for n, _ in hy.float_inputs(ev)}
    for n, u in hy.same_shape_arrays(ev):
        if n not in inputs:
            continue
        for c in sorted({k * v for v in strengths for k in TERM_MULTIPLES}):
            fields = BY_NAME["regularisation"].test(replace(ev, claimed=[t + c * u for t in ev.true]))
            if fields is not None and fields.get("named"):
                yield Peel("regularisation", BY_NAME["regularisation"].said(fields), applied(ev, _plus(-c * u)),
                           ("regularisation", "data term factor"))


def _fitted_terms(ev: Evidence) -> Iterator[Peel]:
    """A term c·u (u an input of the gradient's shape) beside the transpose of a square gradient (`dout.T @ x +
    decay * W` where decay is no input of the call): c read by least squares from claim − truth.T, the one
    other mistake it is read beside (a fit against the truth itself would take up the transpose's difference).
    The peel is named only where the table's own transpose then explains the rest exactly."""
    if len(ev.shape) != 2 or ev.shape[0] != ev.shape[1] or not ev.whole or not hy.enough_entries(ev, 2):
        return
    inputs = {n for n, _ in hy.float_inputs(ev)}
    differences = [c - t.T for c, t in zip(ev.claimed, ev.true)]
    for n, u in hy.same_shape_arrays(ev):
        if n not in inputs:
            continue
        c = hy.fitted_factor(ev, [u] * len(ev.claimed), claimed=differences)
        if c is None or abs(c) < hy.SAME:
            continue
        fields = BY_NAME["regularisation"].test(replace(ev, claimed=[t + c * u for t in ev.true]))
        if fields is not None:
            yield Peel("regularisation", BY_NAME["regularisation"].said({"name": ev.name, **fields}),
                       applied(ev, _plus(-c * u)), ("regularisation", "data term factor"))


def _data_terms(ev: Evidence) -> Iterator[Peel]:
    """A loss's term k·reg·u (u an input of the gradient's shape, reg a strength of the call) written as
    k′·reg·u or left out: both terms taken out, of the truth and of the claim, what is left is the data
    terms (a mistake on the data term, as a mask, is said on them). A loss only (one number out, whose
    dout scales both terms); the truth's and the claim's k read among TERM_MULTIPLES (the claim's may be
    0), and only one (k, k′) may leave a pair."""
    if len(ev.outputs) != 1 or np.ndim(ev.outputs[0]) != 0:
        return
    strengths = [(p, v) for p, v in hy.term_numbers(ev.inputs) if v]
    inputs = {n for n, _ in hy.float_inputs(ev)}
    scales = [float(np.asarray(d[0])) for d in ev.douts[:len(ev.claimed)]]
    for n, u in hy.same_shape_arrays(ev):
        if n not in inputs:
            continue
        for p, v in strengths:
            for k in TERM_MULTIPLES[:3]:
                for written in (0.0, *TERM_MULTIPLES):
                    true = [t - s * k * v * u for t, s in zip(ev.true, scales)]
                    claimed = [c - s * written * v * u for c, s in zip(ev.claimed, scales)]
                    rest = replace(ev, true=true, claimed=claimed, raw=list(claimed), moved={}, moved_errors={},
                                   moved_claimed={})
                    said = (f"its term proportional to {n} is {_term(written, p, n)} where the loss's gradient has "
                            f"{_term(k, p, n)} (a regularisation term's gradient that does not match the loss)")
                    if written == k:
                        said = f"its term {_term(k, p, n)} is right, and the rest (the data term) is wrong"
                    yield Peel("regularisation" if written != k else RIGHT_TERM, said, rest,
                               ("regularisation", "data term factor", "mean path"), unmeasured=True)


def _term(k: float, p: str, n: str) -> str:
    return "none" if k == 0 else f"{p}·{n}" if k == 1 else f"{k:g}·{p}·{n}"


def _broadcasts(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(small, shape) == shape
    except ValueError:
        return False


def _times(a: np.ndarray) -> Transform:
    return lambda c: c * a


def _plus(a: np.ndarray) -> Transform:
    return lambda c: c + a
