"""Two mistakes at once, tried only where no single mistake of the table explains the claim.

A student's backward often has two: a missing mask and a factor 2, a transposed dW and a missing mask, a
forgotten 1/N beside a regularisation term that is wrong too. Each single hypothesis predicts the claim
from the truth by one transform; here the claim is undone by one transform of a small, bounded set (a
constant factor, a transpose, an untransposed matrix, a claim of the transposed shape, a batch axis not
summed, a missing mask) and the rest walked through the table's own tests: where one explains what is
left, the two together explain the whole claim (every measured entry, as for a single one). The transform
is named by the table's own test on the claim it alone would make, so each half is said as the table says
it. Besides, two fits the table's walk cannot make: a data term and a term proportional to an input both
off (their numbers read among the inputs), and two inputs' gradients swapped while a third is wrong.

Named only when exactly one pair explains the claim (two that both do are not told apart: the honest count
stays), with fewer fitted numbers than measured entries. A factor that is the share of entries a mask keeps
is not a factor beside a missing mask (a relu's mean mask for its mask). The result's `cause` is the first
of the two in the table's order; `causes` holds both. A mistake inside a matrix product with an input
(products.py) alone is tried before the pairs (one mistake before two); with a transpose of the product
or a regularisation term beside it, after them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from . import hypotheses as hy
from .hypotheses import BY_NAME, HYPOTHESES, SAME, Evidence, Hypothesis, explains
from .products import inside_product, on_one_path

# The table's entries that are a constant factor of the truth, which name a composite's factor.
FACTORS = hy.FACTOR_CAUSES
# Never the rest of a composite: rounding and a gradient of 0 are no mistake beside another; the order
# spans inputs; the others fit numbers of their own that would take up the transform's (a fitted factor
# per region, per slice or per term).
NOT_INNER = ("rounding", "order", "zero", "regularisation", "data term factor", "sign region", "one slice wrong")
# Orders of the axes are tried up to this many axes (4! = 24, each with the rest walked through the table).
PERMUTED_AXES_MAX = 4
# A pool's or a window's usual sizes (3, 2x2, 3x3): an average's 1/k forgotten beside another mistake.
WINDOW_AREAS = (3.0, 4.0, 9.0)
# A factor beside a mask is not that mask's share of the entries (or its inverse) within this (relative).
MASK_SHARE = 1e-2
# A rest the table walks to first, and the more specific rest tried in its place where that explains the
# same rest too: a lookup's repeated indices keep one position's dout at each repeated row, which is also
# "only some positions of dout" (a factor undone, the scaled lookup's `dW[idx] += dout`).
SPECIFIC_REST = {"one slice of dout": ("repeated indices",)}


Transform = Callable[[np.ndarray], np.ndarray]


def composite(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    """(both causes in table order, the sentence) where two mistakes explain the claim, else None."""
    for test in (_swapped_pair, _both_terms):
        with np.errstate(all="ignore"):
            try:
                found = test(ev)
            except (ArithmeticError, ValueError, np.linalg.LinAlgError):
                found = None
        if found is not None:
            return found
    with np.errstate(all="ignore"):
        try:
            inside = inside_product(ev)  # a mistake inside a product with an input (products.py)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):
            inside = None
    if inside is not None and len(inside[0]) == 1:
        return inside  # one mistake, before any two
    found = _undone(ev) or inside
    if found is None:
        with np.errstate(all="ignore"):
            try:
                found = on_one_path(ev)  # two outputs' paths, each wrong its own way
            except (ArithmeticError, ValueError, np.linalg.LinAlgError):
                found = None
    return found


# ----- a transform of the claim undone, the rest one of the table's mistakes ------------------------
def _undone(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    found: dict[frozenset[str], tuple[tuple[str, ...], str]] = {}
    moves: dict[frozenset[str], str] = {}  # the first outer sentence of each pair (an order of axes)
    for outer, said, left, excluded in _outers(ev):
        for h in HYPOTHESES:
            if h.name in NOT_INNER or h.name in excluded or h.name == outer:
                continue
            fields = tried(h, left)
            if fields is None:
                continue
            h, fields = _most_specific(h, fields, left, excluded + (outer,))
            inner = h.said({"name": ev.name, **fields})
            names = hy.in_table_order({outer, h.name})
            if len(names) < 2:
                continue
            key = frozenset(names)
            if outer == "permuted" and key in moves and moves[key] != said:
                return None  # two orders of the axes explain it: which one is not told
            moves.setdefault(key, said)
            found.setdefault(key, (names, f"two mistakes (together they explain the whole claim): "
                                          f"{said}; and, that one undone, {inner}"))
            if len(found) > 1:  # two pairs explain it: not told apart
                return None
            break
    return next(iter(found.values()), None)


def _most_specific(h: Hypothesis, fields: dict[str, Any], left: Evidence,
                   excluded: tuple[str, ...]) -> tuple[Hypothesis, dict[str, Any]]:
    """h, or the more specific rest (SPECIFIC_REST) in its place where that explains the same rest."""
    for name in SPECIFIC_REST.get(h.name, ()):
        if name in excluded:
            continue
        specific = tried(BY_NAME[name], left)
        if specific is not None:
            return BY_NAME[name], specific
    return h, fields


def tried(h: Hypothesis, ev: Evidence) -> dict[str, Any] | None:
    """h's fields on ev, or None where it does not explain the claim, needs douts not measured, or cannot
    take the shape (peels.py walks the rest the same way)."""
    if h.douts is not None and not all(k in ev.moved for k in h.douts(ev)):
        return None
    try:
        with np.errstate(all="ignore"):
            return h.test(ev)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return None


def _outers(ev: Evidence):
    """(the outer mistake's name, its sentence, the evidence with it undone, the inner mistakes it excludes)
    for each transform of the bounded set that the claim admits."""
    claims = hy.has_claims(ev)
    if claims:
        for r in _factors(ev):
            said = _factor_said(ev, r)
            if said is None:
                continue
            name, sentence = said
            # a sign beside another factor (−N: a sign and a 1/N forgotten) is two mistakes; any other two
            # factors are one constant
            factors = ("sign", "constant factor") if name == "sign" else FACTORS
            excluded: tuple[str, ...] = factors + (("mask",) if _mask_share(ev, r) else ())
            yield name, sentence, applied(ev, _divided(r), raw=True), excluded
        if len(ev.shape) == 2 and ev.shape[0] == ev.shape[1]:
            yield "transpose", _said("transpose", replace(ev, claimed=[t.T for t in ev.true])), \
                applied(ev, lambda c: c.T), ("transpose", "untransposed matrix", "permuted")
        for name, sentence, undo in _untransposes(ev):
            yield name, sentence, applied(ev, undo), ("transpose", "untransposed matrix", "permuted")
        for axes, reshaped, undo in _permutations(ev):
            yield "permuted", BY_NAME["permuted"].said({"what": hy.axes_moved(axes, ev.shape, reshaped)}), \
                applied(ev, undo), ("transpose", "untransposed matrix", "permuted")
        masked = _mask_undone(ev)
        if masked is not None:
            yield masked
    elif all(r is not None for r in ev.raw):
        got = ev.raw[0].shape
        if len(ev.shape) == 2 and got == ev.shape[::-1]:
            sentence = BY_NAME["transposed shape"].said({"name": ev.name, "got": hy.format_shape(got),
                                                         "want": hy.format_shape(ev.shape)})
            left = replace(ev, claimed=[r.T for r in ev.raw], raw=[r.T for r in ev.raw], moved_claimed={})
            yield "transposed shape", sentence, left, ("transpose", "transposed shape")
        summed_over = hy.summed_axes(got, ev.shape)
        if summed_over is not None:
            sentence = BY_NAME["batch axis not summed"].said(
                {"name": ev.name, "got": hy.format_shape(got), "want": hy.format_shape(ev.shape),
                 "axes": ", ".join(map(str, summed_over))})
            summed = [r.sum(axis=summed_over).reshape(ev.shape) for r in ev.raw]
            left = replace(ev, claimed=summed, raw=summed, moved_claimed={})
            yield "batch axis not summed", sentence, left, ("batch axis not summed",)


def applied(ev: Evidence, undo: Transform, raw: bool = False) -> Evidence:
    """The evidence with the claim (for every dout, the other douts' too) undone by `undo`."""
    def each(cs: Sequence[Any]) -> list[Any]:
        return [None if c is None else undo(c) for c in cs]
    return replace(ev, claimed=each(ev.claimed), raw=each(ev.raw) if raw else list(ev.raw),
                   moved_claimed={k: each(v) for k, v in ev.moved_claimed.items()})


def _divided(r: float) -> Transform:
    return lambda c: c / r


def _times(a: np.ndarray, right: bool) -> Transform:
    """c @ a (right) or a @ c."""
    return (lambda c: c @ a) if right else (lambda c: a @ c)


def _said(name: str, synthetic: Evidence) -> str:
    fields = BY_NAME[name].test(synthetic)
    return BY_NAME[name].said({"name": synthetic.name, **(fields or {})})


def _factors(ev: Evidence) -> list[float]:
    """The factors a composite's claim may be off by: the sizes and numbers of the call (and their
    inverses, square roots), 2, ½ and −1, and two read off the claim: the ratio of its size to the truth's
    (what a factor beside a permutation keeps) and its fit on the entries where the truth is not 0 (what
    a factor beside a missing mask keeps)."""
    values = [-1.0, 2.0, 0.5, *WINDOW_AREAS, *(1 / a for a in WINDOW_AREAS)]
    values += [v for _, v in hy.named_factors(ev)]
    values += [float(np.sqrt(d)) for d in hy.feature_squares(ev)] + [1 / float(np.sqrt(d))
                                                                     for d in hy.feature_squares(ev)]
    top = sum(float(np.sum(np.nan_to_num(c * np.isfinite(t)) ** 2)) for c, t in zip(ev.claimed, ev.true))
    bottom = sum(float(np.nansum(t ** 2)) for t in ev.true)
    if bottom > 0 and top > 0:
        values += [float(np.sqrt(top / bottom)), -float(np.sqrt(top / bottom))]
    rest = ev.known & ~hy.zero_where_true_is(ev)
    if rest.any() and not rest[ev.known].all():
        r = hy.fitted_factor(ev, ev.true, rest)
        if r is not None:
            values.append(r)
    kept: list[float] = []
    for v in values:
        if v != 0 and np.isfinite(v) and not hy.close_to(v, 1.0) and not any(hy.close_to(v, k) for k in kept):
            kept.append(float(v))
    return kept


def _factor_said(ev: Evidence, r: float) -> tuple[str, str] | None:
    """The table's name and sentence for a claim r times the truth."""
    synthetic = replace(ev, claimed=[r * t for t in ev.true])
    for name in FACTORS:
        fields = tried(BY_NAME[name], synthetic)
        if fields is not None:
            return name, BY_NAME[name].said({"name": ev.name, **fields})
    ambiguous = hy.ambiguous_factor(synthetic)  # two sizes are r (2 rows and a 2): a factor, none of them named
    return None if ambiguous is None else ("constant factor", ambiguous)


def _mask_share(ev: Evidence, r: float) -> bool:
    """r is the share of the measured entries where the truth is not 0 (or its inverse): a mask's mean
    for the mask, not a factor beside it."""
    zero = hy.zero_where_true_is(ev)
    total = int(ev.known.sum())
    kept = int((ev.known & ~zero).sum())
    if not total or not kept or kept == total:
        return False
    share = kept / total
    return any(abs(r - s) <= MASK_SHARE * abs(s) for s in (share, 1 / share))


def _untransposes(ev: Evidence) -> list[tuple[str, str, Transform]]:
    """`g @ M` for `g @ M.T` (or M @ g for M.T @ g), M a square input: the claim's undoing, for each."""
    found: list[tuple[str, str, Transform]] = []
    if len(ev.shape) != 2:
        return found
    for n, m in hy.float_inputs(ev):
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2 or np.allclose(m, m.T):
            continue
        if np.linalg.cond(m) > hy.CONDITION_MAX:
            continue
        inverse = np.linalg.inv(m)
        k = m.shape[0]
        sentence = BY_NAME["untransposed matrix"].said
        if ev.shape[1] == k:
            found.append(("untransposed matrix", sentence({"m": n, "form": f"`… @ {n}` for `… @ {n}.T`"}),
                          _times(inverse @ m.T, right=True)))
        if ev.shape[0] == k:
            found.append(("untransposed matrix", sentence({"m": n, "form": f"`{n} @ …` for `{n}.T @ …`"}),
                          _times(m.T @ inverse, right=False)))
    return found


def _permutations(ev: Evidence) -> list[tuple[tuple[int, ...], bool, Transform]]:
    """A claim that is X with its axes in another order (or so transposed, then reshaped back to the
    gradient's shape), for each order of up to PERMUTED_AXES_MAX axes: (the order, reshaped?, X from the
    claim). Two axes are the transpose's (a square gradient) or a reshape's."""
    shape = ev.shape
    found: list[tuple[tuple[int, ...], bool, Transform]] = []
    if not 2 <= len(shape) <= PERMUTED_AXES_MAX or not ev.whole:
        return found
    for axes in itertools.permutations(range(len(shape))):
        if axes == tuple(range(len(shape))):
            continue
        moved = tuple(shape[a] for a in axes)
        back = tuple(int(a) for a in np.argsort(axes))
        if moved == shape and len(shape) > 2:
            found.append((axes, False, _transposed(back, None)))
        elif moved != shape:
            found.append((axes, True, _transposed(back, moved)))
    return found


def _transposed(back: tuple[int, ...], shape: tuple[int, ...] | None) -> Transform:
    """c reshaped to `shape` (if any), then its axes in the order `back`."""
    return lambda c: np.transpose(c if shape is None else c.reshape(shape), back)


def _mask_undone(ev: Evidence) -> tuple[str, str, Evidence, tuple[str, ...]] | None:
    """A missing mask: the claim is not 0 where the truth is; undone, the claim is 0 there."""
    zero = hy.zero_where_true_is(ev)
    if not zero.any() or zero[ev.known].all():
        return None
    nonzero = np.any([np.abs(c) > SAME * max(float(np.max(np.abs(c))), 1e-300) for c in ev.claimed], axis=0)
    if not np.any(nonzero & zero):
        return None
    rest = ev.known & ~zero
    synthetic = replace(ev, claimed=[np.where(rest, t, c) for t, c in zip(ev.true, ev.claimed)])
    fields = BY_NAME["mask"].test(synthetic)
    if fields is None:
        return None
    sentence = BY_NAME["mask"].said({"name": ev.name, **fields})
    left = applied(ev, lambda c: np.where(zero, 0.0, c))
    left.moved_claimed = {}  # the mask is known where the truth for these douts is measured only
    return "mask", sentence, left, ("mask",) + tuple(f for f in FACTORS if _mask_share_any(ev, left, f))


def _mask_share_any(ev: Evidence, left: Evidence, name: str) -> bool:
    """The factor `name` would name on the masked claim is a mask's share (see _mask_share)."""
    r = hy.claim_ratio(left)
    return r is not None and _mask_share(ev, r)


# ----- two inputs' gradients swapped, beside another input's mistake ---------------------------------
def _swapped_pair(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    """The claim is another input's true gradient and that input's claim this one's truth, while a third
    input is wrong otherwise (where every input's claim is some input's truth, the table's `order` says so)."""
    if not ev.whole or any(r is None for r in ev.raw):
        return None
    for n, other in ev.everyone.items():
        if n == ev.name or other.shape != ev.shape or not other.whole or \
                any(r is None or np.shape(r) != ev.shape for r in [*other.raw, *ev.raw]):
            continue
        if hy.is_the_truth(other, ev.raw) and hy.is_the_truth(ev, other.raw):
            wrong = [m for m, e in ev.everyone.items() if m not in (n, ev.name)
                     and not (hy.has_claims(e) and explains(e, e.true))]
            if not wrong:
                continue
            return ("order",), (f"the gradients of {ev.name} and {n} are swapped: each is the other's true gradient "
                                f"(and the gradient of {', '.join(wrong)} is wrong besides, a mistake of its own)")
    return None


# ----- a data term and a term proportional to an input, both off -------------------------------------
def _terms_off_sums(ev: Evidence, n: str, u: np.ndarray, a: float, b: float) -> list[tuple[float, float, str, str]]:
    """Where no number of the call says the two terms: the truth's c·u and the claim's β·u read off the sums
    along an axis where the data terms sum to 0 (hypotheses.terms_off_sums), agreeing with the fit
    (β = b + a·c) and apart."""
    sums = hy.terms_off_sums(ev, u)
    if sums is None:
        return []
    c, beta, axis = sums
    negligible = SAME * max(hy.largest_measured(t) for t in ev.true) / max(hy.largest_measured(u), 1e-300)
    if abs(b + a * c - beta) > 10 * SAME * max(abs(b), abs(a * c), abs(beta)) or hy.close_to(beta, c) or \
            abs(beta - c) < negligible:
        return []
    where = f" (both read off the sums over axis {axis}, where the data terms' are 0)"
    return [(c, beta, f"{c:.4g}·{n}{where}", "none" if abs(beta) < negligible else f"{beta:.4g}·{n}")]


def _both_terms(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    """claim = a·(truth − c·u) + β·u for an input u of the gradient's shape, with a ≠ 1 and β ≠ c, where c
    and β are read among the numbers of the call (reg·u, 2·reg·u, ½·reg·u; β may also be 0, 2c or c/2): the
    data term is a times the truth's and the regularisation term is β·u where the loss's is c·u. Said only
    where exactly one such (c, β) explains the fitted numbers."""
    if not hy.has_claims(ev) or not hy.enough_entries(ev, 3):
        return None
    numbers = [(p, v) for p, v in hy.term_numbers(ev.inputs) if v]
    for n, u in hy.same_shape_arrays(ev):
        if n.startswith("output"):
            continue
        fitted = hy.fitted_pair(ev, ev.true, [u] * len(ev.claimed))
        if fitted is None:
            continue
        a, b = fitted
        if hy.close_to(a, 1.0) or abs(a) < SAME or abs(b) * hy.largest_measured(u) < SAME * max(hy.largest_measured(t) for t in ev.true):
            continue
        if not explains(ev, [a * t + b * u for t in ev.true]):
            continue
        found: list[tuple[float, float, str, str]] = []  # (c, β, as said): one per pair of numbers
        for p, v in numbers:
            terms = [(f"{p}·{n}", v), (f"2·{p}·{n}", 2 * v), (f"0.5·{p}·{n}", 0.5 * v)]
            for true_words, c in terms:
                beta = b + a * c
                options = [("no such term", 0.0)] + terms + [(f"2·{true_words}", 2 * c), (f"0.5·{true_words}", 0.5 * c)]
                for words, value in options:
                    same = abs(beta) <= 10 * SAME * abs(c) if value == 0 else hy.close_to(beta, value)
                    if same and not hy.close_to(value, c) and \
                            not any(hy.close_to(c, c2) and hy.close_to(value, v2) for c2, v2, _, _ in found):
                        found.append((c, value, true_words, words))
        if not found:
            found = _terms_off_sums(ev, n, u, a, b)
        if len(found) != 1:
            continue
        said = _factor_said(ev, a)
        factor = "" if said is None or said[0] == "constant factor" else \
            f" ({said[1].replace('the true gradient', 'the true data term')})"
        _, _, true_words, words = found[0]
        return ("regularisation", "data term factor"), (
            f"two mistakes (together they explain the whole claim): its data term (all but the term proportional "
            f"to {n}) is {a:.4g} times the true one{factor}; and its regularisation term is {words} where the "
            f"loss's gradient has {true_words}")
    return None
