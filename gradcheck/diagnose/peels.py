"""Two mistakes at once, where one of them can be peeled off the claim without knowing the other.

Some mistakes are an invertible transformation of whatever the backward computed: a claim of the
transposed shape (`dz.T @ x` for `x.T @ dz`), a parameter forgotten as a factor (a norm's gamma left out of
dxhat: the claim lacks a factor gamma) or one too many, a regularisation term's gradient missing or wrong
by a strength the model or the call itself declares (its `reg`). Such a mistake is undone on the claim
(for every dout, the other douts' claims too) and what is left is walked through the table: where one of
its mistakes explains the rest, the two together explain the whole claim, because each peel is exactly
invertible and named by the table's own test on the claim it alone would make.

composites.py's transforms (a constant factor, a transpose, an order of axes, a missing mask) keep the
rest away from the table's entries that fit numbers of their own; a peel here fits none (the parameter,
the strength and the shape are the call's own), so the rest may be a regularisation term said with a
number of the call. Tried last, after the single mistakes and composites.py's pairs, and named only
where exactly one pair explains the claim (two pairs that both do are not told apart: the honest count
stays). A rest that is a free constant factor is not taken (any claim c·gamma·truth would fit it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from . import hypotheses as hy
from .composites import NOT_INNER, Transform, applied, tried
from .hypotheses import BY_NAME, HYPOTHESES, Evidence

# The rest is never these beside a peel: composites' own exclusions (rounding, a gradient of 0, the
# order of inputs, the fits of numbers per region or per term), and a free constant factor, which beside
# a parameter's factor would fit any claim that is c·gamma times the truth. A regularisation term is
# taken only with a number of the call (_named_term).
PEEL_NOT_INNER = tuple(n for n in NOT_INNER if n != "regularisation") + ("constant factor",)
# The multiples of a declared strength a regularisation term's gradient is written with (reg·W, 2·reg·W
# for reg·ΣW², ½·reg·W), each with either sign: a term missing, one too many, or one of the others.
TERM_MULTIPLES = (1.0, 2.0, 0.5, -1.0, -2.0, -0.5)

Peel = tuple[str, str, Evidence, tuple[str, ...]]  # (the cause, its sentence, the rest, what the rest is not)


def peeled(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    """(both causes in table order, the sentence) where one peel and one of the table's mistakes on
    the rest explain the whole claim, and no other pair does; else None."""
    found: dict[frozenset[str], tuple[tuple[str, ...], str]] = {}
    with np.errstate(all="ignore"):
        for outer, said, left, excluded in _peels(ev):
            inner = _rest(left, excluded + (outer,))
            if inner is None:
                continue
            name, sentence = inner
            names = hy.in_table_order({outer, name})
            if len(names) < 2:
                continue
            found.setdefault(frozenset(names), (names, f"two mistakes (together they explain the whole claim): "
                                                      f"{said}; and, that one undone, {sentence}"))
            if len(found) > 1:  # two pairs explain it: not told apart
                return None
    return next(iter(found.values()), None)


def _rest(left: Evidence, excluded: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of the table's mistakes that explains the peeled claim (name, sentence), or None."""
    for h in HYPOTHESES:
        if h.name in PEEL_NOT_INNER or h.name in excluded:
            continue
        fields = tried(h, left)
        if fields is None or (h.name == "regularisation" and not fields.get("named")):
            continue
        return h.name, h.said({"name": left.name, **fields})
    return None


# ----- the peels ------------------------------------------------------------------------------------
def _peels(ev: Evidence) -> Iterator[Peel]:
    """Each peel the claim admits: its shape transposed back (a square one too), a parameter's factor put
    back or taken out, a term of a declared strength taken out."""
    if hy.has_claims(ev):
        if len(ev.shape) == 2 and ev.shape[0] == ev.shape[1] and ev.whole:
            yield "transpose", BY_NAME["transpose"].sentence, applied(ev, lambda c: c.T), \
                ("transpose", "untransposed matrix", "permuted")
        yield from _parameter_factors(ev)
        yield from _named_terms(ev)
    elif all(r is not None for r in ev.raw):
        transposed = _shape_transposed(ev)
        if transposed is not None:
            yield transposed


def _shape_transposed(ev: Evidence) -> Peel | None:
    """A claim of the transposed shape: .T puts it back (then the rest is walked, a term of the strength
    included)."""
    got = ev.raw[0].shape
    if len(ev.shape) != 2 or got != ev.shape[::-1] or any(r.shape != got for r in ev.raw):
        return None
    sentence = BY_NAME["transposed shape"].said({"name": ev.name, "got": hy.format_shape(got),
                                                 "want": hy.format_shape(ev.shape)})
    back = [r.T for r in ev.raw]
    return "transposed shape", sentence, replace(ev, claimed=back, raw=back, moved_claimed={}), \
        ("transpose", "transposed shape")


def _parameter_factors(ev: Evidence) -> Iterator[Peel]:
    """A parameter (a float input that broadcasts to the gradient's shape and is not one number) forgotten as
    a factor, or one too many: the claim times it, or over it, is what is left."""
    for _, p in _parameters(ev):
        for power in (1, -1):  # the claim lacks p (the truth is claim·p), or has it once too often
            if not np.all(np.isfinite(p ** power)):
                continue
            fields = BY_NAME["local gradient factor"].test(replace(ev, claimed=[t / p ** power for t in ev.true]))
            if fields is not None:
                yield "local gradient factor", fields["what"], applied(ev, _times(p ** power)), \
                    ("local gradient factor",)


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
                yield "regularisation", BY_NAME["regularisation"].said(fields), applied(ev, _plus(-c * u)), \
                    ("regularisation", "data term factor")


def _times(a: np.ndarray) -> Transform:
    return lambda c: c * a


def _plus(a: np.ndarray) -> Transform:
    return lambda c: c + a
