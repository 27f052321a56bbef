"""A mistake made inside a matrix product with an input: the claim is Aᵀ·G′ where the truth is Aᵀ·G.

A weight's gradient is the layer's input times the gradient of what it multiplies (`dW1 = X.T @ dz1`), an
input's gradient that gradient times a weight (`dx = dz @ W.T`). A mistake made on dz before the product
(a relu mask missing or inverted, a leaky slope on the wrong side, a factor on the hidden gradient only,
the next layer's square weight untransposed before the activation's local gradient) leaves a claim that no
transform of the truth itself explains. Where the input A has full rank on the product's side (Aᵀ·G with
no more rows N than columns D, or G·Aᵀ with no more columns of G than rows of A), G is recovered exactly
from the truth and G′ from the claim (least squares, each reconstruction checked within the truth's
measured tolerance), and the table's own tests are asked about G′ against G. A claim that multiplies by A
where Aᵀ belongs (A square), or is the transpose of the product, is undone the same way and said as a
second mistake.

Named only where the recovered G′ explains the whole claim, one of the table's mistakes explains G′
from G with far fewer fitted numbers than measured entries, and exactly one (input, side, form) does
so. Where G is not unique (N > D) nothing is said: the honest count stays, unless several weights
multiply the same G (an rnn's dWx = x.T @ g, dWh = h.T @ g, db = g.sum(axis=0)) and their truths stacked
recover it; the product's output z = x @ Wx + h @ Wh + b is then offered to the tests whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from . import hypotheses as hy
from .hypotheses import Evidence, explains

# The table's mistakes told on the gradient inside the product: a factor, a mask, a slope on one side, an
# activation's local gradient written another way (in the product's own output z = X @ W + b, _pre), a
# square weight untransposed before it.
INNER = (*hy.FACTOR_CAUSES, "activation for its derivative", "input for output", "output for input",
         "sign region", "mask", "correct class term", "label index", "derivative form", "untransposed matrix")
# The inner mistakes' fitted numbers at most (a factor per side of a sign region): G′ must have more
# measured entries than this (hypotheses._enough).
INNER_PARAMETERS = 2

# A term c·W beside Xᵀ·G is read only where W's part outside Xᵀ's columns is at least this share of W.
TERM_APART = 1e-2



def inside_product(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    """(the causes, the sentence) where one mistake on the gradient inside a product with an input, and
    perhaps a transpose of that product, explains the whole claim; else None. G and G′ are recovered from
    this input's truth and claim, or, where no input recovers them here (more rows than columns), from
    another input's, through another product (dx = g @ W.T gives the g of dW = x.T @ g)."""
    if len(ev.shape) == 1 and ev.whole and hy.has_claims(ev) and np.all(ev.known):
        summed = _from_another(ev)  # a bias's gradient: the sum over rows of the g another input recovers
        return summed[0] if len(summed) == 1 else None
    if not _usable(ev):
        return None
    found: list[tuple[tuple[str, ...], str]] = []
    for n, a, left in _factors(ev):
        pair = _recovered(ev, a.T, left)
        if pair is None:
            continue
        true, errors = pair
        for outer, matrix, flipped in _forms(ev, a, left):
            claimed = _claimed(ev, matrix, left, flipped)
            if claimed is not None:
                found += _explained(ev, n, left, outer, true, errors, claimed, "", _pre(ev, ev.name, n, a, left))
    if not found:  # none recovered, or one recovered that explains nothing (a square input recovers any G)
        found += _from_another(ev)
    if not found:
        found += _beside_a_term(ev)
    return found[0] if len(found) == 1 else None  # two products that explain it are not told apart


def _beside_a_term(ev: Evidence) -> list[tuple[tuple[str, ...], str]]:
    """The truth Xᵀ·G + c·W and the claim Xᵀ·G′ + c′·W, W this input (a regularisation term's gradient
    beside the data term's product, as a model's dW1 = X.T @ dz1 + reg * W1), X with fewer rows than
    columns: c is read off the part of the truth no Xᵀ·G reaches, and G is then exact. Named where one of
    the table's mistakes explains G′ from G: alone where c′ = c, beside the term's ("regularisation")
    where not."""
    u = dict(hy.float_inputs(ev)).get(ev.name)
    if u is None or u.shape != ev.shape:
        return []
    found: list[tuple[tuple[str, ...], str]] = []
    for n, a, left in _factors(ev):
        m = a.T
        if not left or m.shape[1] >= m.shape[0] or np.linalg.cond(m) > hy.CONDITION_MAX:
            continue
        inverse = np.linalg.pinv(m)
        truth = _termed(ev, m, inverse, u, ev.true)
        claim = _termed(ev, m, inverse, u, ev.claimed)
        if truth is None or claim is None:
            continue
        (true, c), (claimed, c_claimed) = truth, claim
        if hy.close_to(c, 0.0) and hy.close_to(c_claimed, 0.0):
            continue  # no term: the plain product's
        inner = _inner(ev, true, [_spread(inverse, x, left) for x in ev.errors], claimed, _pre(ev, ev.name, n, a, left))
        if inner is None:
            continue
        causes, sentence = _said(n, left, None, *inner)
        if _same_term(c, c_claimed, u, ev):
            found.append((causes, f"{sentence} (its term {c:.4g}·{ev.name} beside the product is right)"))
        else:
            both = hy.in_table_order({"regularisation", *causes})
            has, wants = (_term(x, u, ev) for x in (c_claimed, c))
            found.append((both, f"two mistakes (together they explain the whole claim): its term proportional to "
                                f"{ev.name} is {has} where the true gradient has {wants} (a regularisation term's "
                                f"gradient that does not match the loss); and, {sentence}"))
    return found


def _termed(ev: Evidence, m: np.ndarray, inverse: np.ndarray, u: np.ndarray, values: list[Any]
            ) -> tuple[list[np.ndarray], float] | None:
    """(G, c) with `values` = m·G + c·u for every dout, c read off the part of them outside m's columns;
    None where u has (almost) no such part or the reconstruction is not `values` within tolerance."""
    outside = np.eye(m.shape[0]) - m @ inverse
    pu = outside @ u
    if np.linalg.norm(pu) < TERM_APART * np.linalg.norm(u):
        return None
    c = sum(float(np.sum((outside @ v) * pu)) for v in values) / (len(values) * float(np.sum(pu * pu)))
    gs = [inverse @ (v - c * u) for v in values]
    return (gs, c) if explains(ev, [m @ g + c * u for g in gs], claimed=values) else None


def _term(c: float, u: np.ndarray, ev: Evidence) -> str:
    return "none" if _same_term(c, 0.0, u, ev) else f"{c:.4g}·{ev.name}"


def _same_term(c: float, c_claimed: float, u: np.ndarray, ev: Evidence) -> bool:
    """The two terms are the same within the truth's tolerance (SAME of its largest entry)."""
    return abs(c - c_claimed) * hy.largest_measured(u) <= hy.SAME * max(hy.largest_measured(t) for t in ev.true)


def _usable(e: Evidence) -> bool:
    return len(e.shape) == 2 and e.whole and hy.has_claims(e) and bool(np.all(e.known))


def _factors(ev: Evidence) -> list[tuple[str, np.ndarray, bool]]:
    """(name, A, left) for each 2-D input A that the gradient may be Aᵀ·G (left) or G·Aᵀ of."""
    found = []
    for n, a in hy.float_inputs(ev):
        if n == ev.name or a.ndim != 2:
            continue
        if a.shape[1] == ev.shape[0]:
            found.append((n, a, True))
        if a.shape[0] == ev.shape[1]:
            found.append((n, a, False))
    return found


def _recovered(e: Evidence, m: np.ndarray, left: bool) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """G (and its error estimate) with the truth m·G (left) or G·m, where m has full rank on that side and
    the reconstruction is the truth within its tolerance; else None."""
    if left and m.shape[1] > m.shape[0] or not left and m.shape[0] > m.shape[1]:
        return None  # G is not unique: not recovered
    if np.linalg.cond(m) > hy.CONDITION_MAX:
        return None
    inverse = np.linalg.pinv(m)
    true = [_solved(inverse, t, left) for t in e.true]
    if not explains(e, [_product(m, g, left) for g in true], claimed=e.true):
        return None  # the truth is not such a product
    return true, [_spread(inverse, x, left) for x in e.errors]


def _recovered_both(e: Evidence, m: np.ndarray, left: bool
                    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] | None:
    """(G, its error estimate, G′) from e's truth m·G and claim m·G′ (left) or G·m, G′ the claim's; or, m
    with fewer columns than rows (left), beside a term c·W, W e's own input (a model's dW1 = X.T @ g +
    reg·W1), where that term is read off the truth and the claim (_termed)."""
    pair = _recovered(e, m, left)
    if pair is not None:
        claimed = _claimed(e, m, left, flipped=False)
        return None if claimed is None else (*pair, claimed)
    u = dict(hy.float_inputs(e)).get(e.name)
    if not left or u is None or u.shape != e.shape or m.shape[1] >= m.shape[0] or \
            np.linalg.cond(m) > hy.CONDITION_MAX:
        return None
    inverse = np.linalg.pinv(m)
    truth, claim = _termed(e, m, inverse, u, e.true), _termed(e, m, inverse, u, e.claimed)
    if truth is None or claim is None:
        return None
    return truth[0], [_spread(inverse, x, left) for x in e.errors], claim[0]


def _pre(ev: Evidence, weight: str, n: str, a: np.ndarray, left: bool) -> list[tuple[str, np.ndarray]]:
    """The product's own output, the shape of the G inside it: z = A @ W (dW = A.T @ G) or z = x @ W (dx =
    G @ W.T, this input x), and z + b for each input b of z's last axis (a bias), each by its formula."""
    u = dict(hy.float_inputs(ev)).get(weight)
    if u is None or u.ndim != 2:
        return []
    try:
        z, words = (a @ u, f"{n} @ {weight}") if left else (u @ a, f"{weight} @ {n}")
    except ValueError:  # shapes that do not multiply
        return []
    found = []
    for w, v in [(words, z)] + [(f"{words} + {p}", z + extra) for p, extra in _other_products(ev, (n, weight), z.shape)]:
        found += [(f"{w} + {b_name}", v + b) for b_name, b in hy.float_inputs(ev)
                  if b.shape == z.shape[-1:] and b_name not in (n, weight)]
        found.append((w, v))  # with its bias first: where both say a region alike, the layer's own z
    return found


def _other_products(ev: Evidence, used: tuple[str, ...], shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """The products p @ q of two other 2-D inputs with z's shape: a recurrent layer's z = x @ Wx + h @ Wh
    + b holds a second product beside the one G was recovered through."""
    arrays = [(n, a) for n, a in hy.float_inputs(ev) if a.ndim == 2 and n not in used]
    return [(f"{p} @ {q}", a @ b) for p, a in arrays for q, b in arrays
            if p != q and a.shape[0] == shape[0] and b.shape == (a.shape[1], shape[1])]


def _forms(ev: Evidence, a: np.ndarray, left: bool) -> list[tuple[str | None, np.ndarray, bool]]:
    """The forms of the claim tried: (the outer mistake, the matrix multiplied, the product transposed)."""
    forms: list[tuple[str | None, np.ndarray, bool]] = [(None, a.T, False)]
    if a.shape[0] == a.shape[1] and not np.allclose(a, a.T):
        forms.append(("untransposed matrix", a, False))
    if ev.shape[0] == ev.shape[1]:
        forms.append(("transpose", a.T, True))
    return forms


def _claimed(e: Evidence, matrix: np.ndarray, left: bool, flipped: bool) -> list[np.ndarray] | None:
    """G′ with the claim matrix·G′ (left) or G′·matrix (transposed, `flipped`), where that reconstruction
    is the claim within the truth's tolerance; else None."""
    if np.linalg.cond(matrix) > hy.CONDITION_MAX:
        return None
    undo = np.linalg.pinv(matrix)
    claimed = [_solved(undo, c.T if flipped else c, left) for c in e.claimed]
    rebuilt = [_product(matrix, g, left) for g in claimed]
    return claimed if explains(e, [r.T if flipped else r for r in rebuilt]) else None


def _explained(ev: Evidence, n: str, left: bool, outer: str | None, true: list[np.ndarray],
               errors: list[np.ndarray], claimed: list[np.ndarray], through: str,
               pre: list[tuple[str, np.ndarray]]) -> list[tuple[tuple[str, ...], str]]:
    inner = _inner(ev, true, errors, claimed, pre)
    return [] if inner is None else [_said(n, left, outer, *inner, through=through)]


def _from_another(ev: Evidence) -> list[tuple[tuple[str, ...], str]]:
    """G and G′ recovered from another input's truth and claim (its own product with full rank), that
    predict this input's truth and claim through a product with an input; where no one input recovers
    them, from several inputs' together (_stacked)."""
    found: list[tuple[tuple[str, ...], str]] = []
    seen: list[tuple[list[np.ndarray], list[np.ndarray]]] = []
    sources = _single_sources(ev)
    if not sources:
        sources = _stacked(ev)
    for true, errors, claimed, pre, through in sources:
        if any(_same(true, t) and _same(claimed, c) for t, c in seen):
            continue  # the same g and g′ from another input: the same explanation
        seen.append((true, claimed))
        found += _through_g(ev, true, errors, claimed, pre, through)
    return found


# A source of G: (G, its error estimate, G′, the product's output z, how they were recovered).
Source = tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[tuple[str, np.ndarray]], str]
# The stacked recovery tries at most this many ways of pairing each weight with an input it multiplies.
STACK_PAIRINGS_MAX = 16


def _single_sources(ev: Evidence) -> list[Source]:
    """G and G′ from each other input's own product with an input of full rank (_recovered_both)."""
    sources: list[Source] = []
    for other in ev.everyone.values():
        if other.name == ev.name or not _usable(other) or len(other.true) != len(ev.true):
            continue
        for b_name, b, b_left in _factors(other):
            both = _recovered_both(other, b.T, b_left)
            if both is not None:
                through = f"g and g′ recovered from {other.name}'s truth and claim, through its product with {b_name}"
                sources.append((*both, _pre(other, other.name, b_name, b, b_left), through))
    return sources


def _stacked(ev: Evidence) -> list[Source]:
    """G and G′ where several weights multiply the same G (an rnn's dWx = x.T @ g, dWh = h.T @ g and
    db = g.sum(axis=0)): stacked, [x, h, 1]ᵀ·G is every one of their truths at once, and has full rank
    where no one input has (more rows than x's or h's columns alone). Each pairing of a weight with an
    input it may multiply is tried; named only where exactly one pairing reconstructs every truth, the
    stack having more rows than G (so the reconstruction is a test), and every claim."""
    weights, sums = [], []
    for other in ev.everyone.values():
        if len(other.true) != len(ev.true):
            continue
        if _usable(other):
            options = [(n, a) for n, a, left in _factors(other) if left]
            if options:
                weights.append((other, options))
        elif len(other.shape) == 1 and other.whole and hy.has_claims(other) and np.all(other.known):
            sums.append(other)
    if len(weights) + len(sums) < 2 or not weights:
        return []
    rows, cols = weights[0][1][0][1].shape[0], weights[0][0].shape[1]
    weights = [(o, [(n, a) for n, a in opts if a.shape[0] == rows]) for o, opts in weights if o.shape[1] == cols]
    sums = [o for o in sums if o.shape == (cols,)]
    pairings: list[list[tuple[Evidence, str, np.ndarray]]] = [[]]
    for other, options in weights:
        pairings = [p + [(other, n, a)] for p in pairings for n, a in options][:STACK_PAIRINGS_MAX + 1]
    if len(pairings) > STACK_PAIRINGS_MAX or len(weights) + len(sums) < 2:
        return []
    found = [s for s in (_stack(p, sums) for p in pairings) if s is not None]
    return found if len(found) == 1 else []


def _stack(pairing: list[tuple[Evidence, str, np.ndarray]], sums: list[Evidence]) -> Source | None:
    """One pairing's stacked recovery (_stacked); None where it does not reconstruct every truth and claim."""
    parts = [(o, a.T) for o, _, a in pairing] + [(o, np.ones((1, pairing[0][2].shape[0]))) for o in sums]
    m = np.vstack([x for _, x in parts])
    if m.shape[0] <= m.shape[1] or np.linalg.cond(m) > hy.CONDITION_MAX:
        return None
    inverse = np.linalg.pinv(m)
    true, claimed = _solve_stack(parts, inverse, "true"), _solve_stack(parts, inverse, "claimed")
    if true is None or claimed is None:
        return None
    errors = [_spread(inverse, _stacked_values(parts, "errors", k), True) for k in range(len(true))]
    values = dict(hy.float_inputs(pairing[0][0]))
    z = sum(a @ values[o.name] for o, _, a in pairing)
    words = " + ".join(f"{n} @ {o.name}" for o, n, _ in pairing)
    pre = [(f"{words} + {o.name}", z + values[o.name]) for o in sums if o.name in values]
    names = ", ".join(o.name for o, _ in parts)
    through = f"g and g′ recovered from the truths and claims of {names} together, each a product with the same g"
    return true, errors, claimed, pre + [(words, z)], through


def _stacked_values(parts: list[tuple[Evidence, np.ndarray]], field: str, k: int) -> np.ndarray:
    """The parts' `field` (true, claimed or errors) at dout k, one block of rows per part (a bias's one row)."""
    return np.vstack([np.reshape(np.asarray(getattr(o, field)[k], dtype=np.float64), (x.shape[0], -1))
                      for o, x in parts])


def _solve_stack(parts: list[tuple[Evidence, np.ndarray]], inverse: np.ndarray, field: str
                 ) -> list[np.ndarray] | None:
    """G with every part's `field` (truth or claim) its matrix times G, each within its own tolerance; else None."""
    gs = [inverse @ _stacked_values(parts, field, k) for k in range(len(parts[0][0].true))]
    fits = all(explains(o, [np.reshape(x @ g, o.shape) for g in gs], claimed=getattr(o, field)) for o, x in parts)
    return gs if fits else None


def _through_g(ev: Evidence, true: list[np.ndarray], errors: list[np.ndarray], claimed: list[np.ndarray],
               pre: list[tuple[str, np.ndarray]], through: str) -> list[tuple[tuple[str, ...], str]]:
    """The explanations of this input's claim by G′ against G, where G predicts its truth and G′ its
    claim through a product with an input (or, a bias, a sum over rows)."""
    found: list[tuple[tuple[str, ...], str]] = []
    if len(ev.shape) == 1:
        if _fits_sum(ev, true, ev.true) and _fits_sum(ev, claimed, ev.claimed):
            found += _summed(ev, true, errors, claimed, through, pre)
        return found
    for n, a, left in _factors(ev):
        if not _fits(ev, a.T, left, true, ev.true):
            continue
        for outer, matrix, flipped in _forms(ev, a, left):
            if _fits(ev, matrix, left, claimed, ev.claimed, flipped):
                found += _explained(ev, n, left, outer, true, errors, claimed, through, pre)
    return found


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """The same recovered g for every dout, within SAME of its largest entry."""
    return all(x.shape == y.shape and np.allclose(x, y, rtol=0, atol=hy.SAME * max(hy.largest_measured(x), 1e-300))
               for x, y in zip(a, b))


def _fits_sum(ev: Evidence, gs: list[np.ndarray], target: list[Any]) -> bool:
    """g summed over its rows is `target` for every dout (a bias's gradient) within the truth's tolerance."""
    return all(g.ndim == 2 and g.shape[1:] == ev.shape for g in gs) and \
        explains(ev, [g.sum(axis=0) for g in gs], claimed=target)


def _summed(ev: Evidence, true: list[np.ndarray], errors: list[np.ndarray], claimed: list[np.ndarray],
            through: str, pre: list[tuple[str, np.ndarray]]) -> list[tuple[tuple[str, ...], str]]:
    inner = _inner(ev, true, errors, claimed, pre)
    if inner is None:
        return []
    name, words = inner
    right, wrong = "g", "g′"
    if name == "mask":
        right, wrong = ("(g * mask)", "(g * ~mask)") if "inverted" in words else ("(g * mask)", "g")
    return [((name,), f"inside the sum over rows: it is `{wrong}.sum(axis=0)` where `{right}.sum(axis=0)` belongs "
                      f"— the mistake is on the gradient g it sums ({through}); g′ against the true g: {words}")]


def _fits(ev: Evidence, m: np.ndarray, left: bool, gs: list[np.ndarray], target: list[Any],
          flipped: bool = False) -> bool:
    """m·g (left) or g·m, transposed where `flipped`, is `target` for every dout within the truth's tolerance."""
    try:
        made = [_product(m, g, left) for g in gs]
    except ValueError:  # shapes that do not multiply
        return False
    made = [x.T if flipped else x for x in made]
    return all(x.shape == ev.shape for x in made) and explains(ev, made, claimed=target)


def _solved(inverse: np.ndarray, t: np.ndarray, left: bool) -> np.ndarray:
    return inverse @ t if left else t @ inverse


def _product(m: np.ndarray, g: np.ndarray, left: bool) -> np.ndarray:
    return m @ g if left else g @ m


def _spread(inverse: np.ndarray, e: np.ndarray, left: bool) -> np.ndarray:
    """The error estimate carried through the solve (each entry's bound summed with its weights)."""
    e = np.where(np.isfinite(e), e, 0.0)
    return np.abs(inverse) @ e if left else e @ np.abs(inverse)


def _inner(ev: Evidence, true: list[np.ndarray], errors: list[np.ndarray], claimed: list[np.ndarray],
           pre: Sequence[tuple[str, np.ndarray]] = ()) -> tuple[str, str] | None:
    """The first of INNER (in the table's order) that explains G′ from G: (its name, its sentence). `pre`:
    the product's own output (z = X @ W, and + b for a bias), G's shape, among the inputs the tests read
    (a mask's region z <= 0, an activation's local gradient in z)."""
    inputs = ev.inputs
    if pre:
        inputs = replace(inputs, names=(*inputs.names, *(n for n, _ in pre)), values={**inputs.values, **dict(pre)})
    inner = replace(ev, true=true, errors=errors, claimed=claimed, raw=list(claimed), inputs=inputs, moved={},
                    moved_errors={}, moved_claimed={}, projected={}, everyone={})
    if not hy.enough_entries(inner, INNER_PARAMETERS) or explains(inner, true):
        return None
    for h in hy.HYPOTHESES:
        if h.name not in INNER:
            continue
        try:
            with np.errstate(all="ignore"):
                fields = h.test(inner)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):
            continue
        if fields is not None:
            if h.name == "mask" and not _fixed(inner):
                return None
            return h.name, h.said({"name": "g", **fields})
    return None


def _fixed(inner: Evidence) -> bool:
    """G′ differs from G at the same entries for every random dout (a mask is one set of entries: where it
    is missing, the unmasked gradient passes there whatever the dout)."""
    wrong = []
    for c, t, e in zip(inner.claimed[:inner.random], inner.true, inner.errors):
        scale = max(hy.largest_measured(t), 1e-300)
        wrong.append(np.abs(c - t) > hy.SAME * scale + hy.ERROR_SPREAD * e)
    return all(np.array_equal(w, wrong[0]) for w in wrong)


def _said(n: str, left: bool, outer: str | None, name: str, inner: str, through: str = ""
          ) -> tuple[tuple[str, ...], str]:
    g_right, g_wrong = ("g", "g′")
    if name == "mask":
        g_right, g_wrong = ("(g * mask)", "(g * ~mask)") if "inverted" in inner else ("(g * mask)", "g")
    right = f"{n}.T @ {g_right}" if left else f"{g_right} @ {n}.T"
    if outer is None:
        wrong = f"{n}.T @ {g_wrong}" if left else f"{g_wrong} @ {n}.T"
    elif outer == "untransposed matrix":
        wrong = f"{n} @ {g_wrong}" if left else f"{g_wrong} @ {n}"
    else:
        wrong = f"({n}.T @ {g_wrong}).T" if left else f"({g_wrong} @ {n}.T).T"
    how = through or f"g and the claim's g′ recovered exactly from the truth and the claim, {n} having full rank"
    sentence = (f"inside the product with {n}: it is `{wrong}` where `{right}` belongs — the mistake is on the "
                f"gradient g it multiplies ({how}); g′ against the true g: {inner}")
    if outer is None:
        return (name,), sentence
    also = ("it uses {n} where {n}.T belongs" if outer == "untransposed matrix" else
            "the product is transposed: a .T is missing (or one too many)").format(n=n)
    causes = hy.in_table_order({name, outer})
    return causes, f"two mistakes (together they explain the whole claim): {also}; and, {sentence}"


def on_one_path(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    """Two mistakes on two outputs' paths (an lstm's dnext_c dropped beside a gate's local gradient
    written wrong): with several outputs, the douts that feed one output each are read apart. Named where
    exactly one output's path is explained by a mistake inside a product (inside_product on that dout
    alone, every input's evidence restricted to it) and every other output's path is wrong: the other
    paths' mistake is said as the table's 'output path' says it, without a form of its own."""
    outputs = len(ev.outputs)
    if outputs < 2 or not hy.has_claims(ev) or len(ev.douts) < ev.random + outputs:
        return None
    explained, wrong = [], []
    for j in range(outputs):
        single = _at_dout(ev, ev.random + j)
        if explains(single, single.true):
            return None  # a right path: the table's 'output path' alone, or not this
        inside = inside_product(single)
        if inside is not None and len(inside[0]) == 1:
            explained.append((j + 1, inside))
        else:
            wrong.append(j + 1)
    if len(explained) != 1 or not wrong:
        return None
    j, (causes, sentence) = explained[0]
    others = ", ".join(map(str, wrong))
    both = hy.in_table_order({"output path", *causes})
    return both, (f"two mistakes, read one output's path at a time: the path from output {others} is wrong or "
                  f"missing (it is wrong when only output {others} has a gradient); and, when only output {j} has "
                  f"one, {sentence}")


def before_a_path(ev: Evidence) -> tuple[tuple[str, ...], str] | None:
    """Where the table's 'output path' fits (one output's path wrong, the others right): one mistake inside
    a product that explains the whole claim is the more exact reading (an lstm's output gate, whose local
    gradient written wrong lies on next_h's path alone). None where no single one does."""
    with np.errstate(all="ignore"):
        try:
            inside = inside_product(ev)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):  # shapes the reading cannot take
            return None
    return inside if inside is not None and len(inside[0]) == 1 else None


def _at_dout(ev: Evidence, k: int) -> Evidence:
    """Every input's evidence at dout k alone (that dout's truth, claim and error), this input's returned."""
    restricted = {n: replace(e, true=[e.true[k]], errors=[e.errors[k]], claimed=[e.claimed[k]], raw=[e.raw[k]],
                             douts=[e.douts[k]], random=1, moved={}, moved_errors={}, moved_claimed={},
                             projected={}) for n, e in ev.everyone.items() if len(e.true) > k}
    for e in restricted.values():
        e.everyone = restricted
    return restricted.get(ev.name) or replace(ev, true=[ev.true[k]], errors=[ev.errors[k]], claimed=[ev.claimed[k]],
                                              raw=[ev.raw[k]], douts=[ev.douts[k]], random=1, everyone={})
