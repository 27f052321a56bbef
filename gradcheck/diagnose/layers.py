"""How the claimed gradients of a numpy layer are wrong, established from the numbers alone.

The evidence per differentiated input: the true gradient (finite differences of ⟨dout, f⟩, every entry,
or in fast mode a block around the worst sampled entry and a random sample), the claim for several
douts, the forward's outputs, and, for the mistakes that need it, the truth for a few other douts
(one more pass of differences, only when nothing else explained the claim). hypotheses.HYPOTHESES is
walked in order; the first mistake that explains the whole claim is named. Otherwise only what is
certain is said: how many entries are right, or, for layers that move values around, where the
gradient of one output entry goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from ..base.columns import Probes
from ..base.errors import GradcheckError
from ..inputs.calling import Inputs
from ..ops.arrays import format_shape
from ..oracles.numeric import NumericResult
from ..oracles.vjp_numeric import BlackBox, entry, measure
from ..verdict.agreement import Rule
from .composites import composite
from .hypotheses import (EXAMPLES, HYPOTHESES, SAME, Evidence, ambiguous_factor, explains, wrong_entries,
                         zero_where_true_is)
from .kernels import flipped_kernel
from .peels import peeled
from .products import before_a_path
from .sequences import carry_missing, wrong_steps

# Fast mode's block: at most this many entries around the worst sampled entry, and this many more at random.
BLOCK_AROUND = 64
BLOCK_RANDOM = 32
# The one-hot probe speaks of an index error only when the true gradient of one output entry reaches at
# most this share of the input's entries (convolutions, pooling and indexing reach a few; a dense
# layer reaches all, and a wrong one there is not an index error).
PROBE_SPARSE = 0.25


@dataclass(frozen=True)
class Diagnosis:
    """One input's diagnosis: which mistake (the hypothesis's name, or "count" for what is said when none
    explains the claim: the count of right entries, or the one-entry probe's facts) and the sentence."""

    cause: str
    sentence: str
    causes: tuple[str, ...] = ()  # two mistakes at once (composites.py): both names, `cause` the first


@dataclass(frozen=True)
class Claims:
    """The user's claimed gradients, as checks/layers.py read them."""

    claimed: Sequence[Mapping[str, Any]]  # per dout: name -> the claim as float64 (None: another shape)
    raw: Sequence[Mapping[str, Any]]  # per dout: name -> what was returned, as float64
    random: int  # the first `random` douts are random
    claim_for: Callable[[tuple], Mapping[str, Any]] | None = None  # another dout -> name -> the claim


def diagnose(box: BlackBox, wrong: Sequence[str], measured: Mapping[str, list[NumericResult]], claims: Claims,
             inputs: Inputs, rule: Rule) -> dict[str, Diagnosis]:
    """A diagnosis for each of the `wrong` inputs that one could be established for."""
    everyone: dict[str, Evidence] = {}
    for n in inputs.wrt:
        ev = _evidence(box, n, measured[n], claims, inputs, full=n in wrong)
        if ev is not None:
            everyone[n] = ev
    for ev in everyone.values():
        ev.everyone = everyone
        ev.moved.update(_free_moved(ev))
    found: dict[str, Diagnosis] = {}
    for n in wrong:
        ev = everyone.get(n)
        if ev is None:  # a claim of another shape in fast mode: its verdict says so
            continue
        if not ev.known.any():  # no entry differenced: every one a kink, no evidence but that
            found[n] = Diagnosis("count", f"every entry of {n} is at a kink, where differences give no slope to "
                                          "compare it with")
            continue
        if all(c is not None for c in ev.claimed) and explains(ev, ev.true):
            # nothing differences can tell apart but rounding: else the count (wrong beyond the error estimate)
            said = _walk(ev, measured_only=True, only=("rounding",)) or _count(ev)
            if said is not None:
                found[n] = said
            continue
        said = _walk(ev, measured_only=True)
        if said is not None and said.cause == "output path":  # a mistake on that path, if one explains it all
            inside = before_a_path(ev)
            said = Diagnosis(inside[0][0], inside[1]) if inside is not None else said
        factor = ambiguous_factor(ev) if said is None else None
        if factor is not None:  # a constant factor of the truth, read two ways: no other dout or pair says more
            found[n] = Diagnosis("count", factor)
            continue
        if said is None:  # a recurrence's gradient not carried back: one pass of the layer run step by step
            said = _carry(box, ev)  # (before one slice of dout, which an h0 claim of step 0's alone also fits)
        if said is None:
            _measured_moved(box, ev, claims.claim_for)
            said = _walk(ev, measured_only=False)
        if said is None:  # a convolution's kernel flipped in its backward: one pass at the flipped point
            said = _flipped(box, ev)
        if said is None:  # two mistakes at once, each one of the table's
            both = composite(ev)
            # one of them peeled off the claim (a parameter, a term, a shape), or off dout (one more pass)
            both = both or peeled(ev, partial(_truths_at, box, ev))
            said = Diagnosis(both[0][0], both[1], both[0] if len(both[0]) > 1 else ()) if both is not None else None
        if said is None:  # where every entry is wrong, where one output entry's gradient goes says more
            every = all(c is not None for c in ev.claimed) and not (wrong_entries(ev) ^ ev.known).any()
            said = (_probe(box, ev, claims) if every else None) or _count(ev)
        if said is not None:
            found[n] = said
    return found


def _walk(ev: Evidence, measured_only: bool, only: tuple[str, ...] = ()) -> Diagnosis | None:
    """The first hypothesis that explains the claim; in the first walk the ones whose other douts are not
    measured yet wait, in the second only those are tried (`only`: these alone)."""
    for h in HYPOTHESES:
        if only and h.name not in only:
            continue
        if measured_only and h.douts is not None and not all(k in ev.moved for k in h.douts(ev)):
            continue
        if not measured_only and h.douts is None:
            continue
        try:
            with np.errstate(all="ignore"):  # 1/u, log(u) of an input with zeros: that test just fails
                fields = h.test(ev)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):  # a shape the test cannot take
            continue
        if fields is not None:
            return Diagnosis(h.name, h.said({"name": ev.name, **fields}))
    return None


def _flipped(box: BlackBox, ev: Evidence) -> Diagnosis | None:
    fields = flipped_kernel(box, ev)
    if fields is None:
        return None
    return Diagnosis("kernel flipped", f"it is the true gradient of the same layer with {fields['kernel']} reversed "
                                       f"along {fields['which']} ({fields['flipped']}): the backward uses the kernel "
                                       "flipped where the kernel itself belongs (a convolution's flip in a "
                                       "cross-correlation's gradient, or the reverse)")


def _carry(box: BlackBox, ev: Evidence) -> Diagnosis | None:
    fields = carry_missing(box, ev)
    if fields is None:
        try:
            with np.errstate(all="ignore"):
                shifted = wrong_steps(ev)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):  # shapes the reading cannot take
            shifted = None
        if shifted is None:
            return None
        which = "next" if shifted["offset"] == "+1" else "previous"
        return Diagnosis("wrong steps", f"it pairs each step's dz with the {which} step's {shifted['u']} where its "
                                        f"own step's belongs: the truth is Σ_t u_tᵀ·dz_t and the claim Σ_t "
                                        f"u_(t{shifted['offset']})ᵀ·dz_t, the weight's gradient summed over the wrong "
                                        "steps (as hs[t + 1] where hs[t] belongs); each dz_t recovered from "
                                        f"the true gradients of {shifted['sources']}")
    return Diagnosis("carry missing", f"it is the true gradient of the layer run one step at a time, each of its "
                                      f"{fields['steps']} steps (axis {fields['axis']} of {fields['x']}) from the "
                                      f"state the full run had reached, held fixed ({fields['h']} for the first): "
                                      "the gradient is not carried back to earlier steps (each step's dh needs the "
                                      "gradient the next step sends back through its state added to its dout)")


# ----- the evidence ---------------------------------------------------------------------------------
def _evidence(box: BlackBox, name: str, measured: list[NumericResult], claims: Claims, inputs: Inputs,
              full: bool) -> Evidence | None:
    claimed = [c[name] for c in claims.claimed]
    raw = [r.get(name) for r in claims.raw]
    values = [m.value for m in measured]
    if all(v is not None for v in values):
        true = [np.asarray(v.value, dtype=np.float64) for v in values]  # type: ignore[union-attr]
        errors = [np.where(np.isfinite(v.error), np.asarray(v.error, dtype=np.float64), np.inf)  # type: ignore[union-attr]
                  for v in values]
        whole = True
    elif full:
        block = _block(box, name, measured, claimed)
        if block is None:
            return None
        true, errors = block
        whole = False
    else:
        return None
    return Evidence(name, true, errors, claimed, raw, inputs, box.base, box.douts, claims.random, whole)


def _block(box: BlackBox, name: str, measured: list[NumericResult], claimed: list) -> tuple[list, list] | None:
    """Fast mode: every entry of a block around the worst of the entries fast mode sampled (or around the
    middle, when none of them disagrees), a random sample besides, and their mirror images for a
    transpose; differenced in full, NaN elsewhere."""
    x = np.asarray(box.point[name])
    if claimed[0] is None:
        return None
    indices = _block_indices(x.shape, _worst_sampled(measured, claimed), box.seed)
    return _entries_measured(box, name, x.shape, indices)


def _worst_sampled(measured: list[NumericResult], claimed: list) -> tuple[int, ...] | None:
    probes = measured[0].probes
    if not isinstance(probes, Probes) or not probes.entries:
        return None
    gaps = np.zeros(len(probes.entries))
    for m, c in zip(measured, claimed):
        p = m.probes
        if isinstance(p, Probes) and c is not None and len(p.entries) == len(gaps):
            gaps = np.maximum(gaps, [abs(float(c[i]) - float(v)) for i, v in zip(p.entries, p.entry_values)])
    k = int(np.argmax(gaps))
    return tuple(probes.entries[k]) if gaps[k] > 0 else None


def _block_indices(shape: tuple, center: tuple[int, ...] | None, seed: int) -> list[tuple[int, ...]]:
    center = center if center is not None else tuple(s // 2 for s in shape)
    widths = [1] * len(shape)
    for axis in reversed(range(len(shape))):  # the last axes first: a row of a matrix, then a few rows
        while widths[axis] < shape[axis] and int(np.prod(widths)) * (widths[axis] + 1) // widths[axis] <= BLOCK_AROUND:
            widths[axis] += 1
    ranges = []
    for c, w, s in zip(center, widths, shape):
        start = min(max(c - w // 2, 0), s - w)
        ranges.append(range(start, start + w))
    indices = {tuple(int(i) for i in idx) for idx in np.ndindex(*[len(r) for r in ranges])}
    indices = {tuple(r[i] for r, i in zip(ranges, idx)) for idx in indices}
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    for flat in rng.choice(size, size=min(BLOCK_RANDOM, size), replace=False):
        indices.add(tuple(int(i) for i in np.unravel_index(int(flat), shape)))
    if len(shape) == 2 and shape[0] == shape[1]:
        indices |= {idx[::-1] for idx in indices}
    return sorted(indices)


def _entries_measured(box: BlackBox, name: str, shape: tuple, indices: list) -> tuple[list, list]:
    count = len(box.douts)
    true = [np.full(shape, np.nan) for _ in range(count)]
    errors = [np.full(shape, np.inf) for _ in range(count)]
    for idx in indices:
        for k, got in enumerate(entry(box, name, idx)):
            if isinstance(got, tuple):
                true[k][idx], errors[k][idx] = got
    return true, errors


def _free_moved(ev: Evidence) -> dict[str, list[np.ndarray]]:
    """The truth for other douts where it needs no differences: f has one scalar output, so ⟨dout, f⟩'s
    gradient is the truth times dout."""
    if len(ev.outputs) != 1 or np.ndim(ev.outputs[0]) != 0:
        return {}
    moved = {}
    for h in HYPOTHESES:
        if h.douts is None:
            continue
        for key, douts in h.douts(ev).items():
            moved[key] = [ev.true[k] * float(np.asarray(d[0])) / float(np.asarray(ev.douts[k][0]))
                          for k, d in enumerate(douts)]
    return moved


def _measured_moved(box: BlackBox, ev: Evidence, claim_for: Callable[[tuple], Mapping[str, Any]] | None) -> None:
    """One pass of differences for every other dout the hypotheses ask for (they share f's evaluations),
    into ev.moved and ev.moved_errors; the claim for them too, into ev.moved_claimed, for the hypotheses
    that compare it (where the backward can be called for another dout)."""
    asked: dict[str, list[tuple]] = {}
    claimed: set[str] = set()
    for h in HYPOTHESES:
        if h.douts is not None:
            keys = {k: v for k, v in h.douts(ev).items() if k not in ev.moved}
            asked.update(keys)
            if h.claims:
                claimed |= set(keys)
    if not asked:
        return
    truths, errors = _truths_at(box, ev, [d for ds in asked.values() for d in ds])
    at = 0
    for key, ds in asked.items():
        ev.moved[key] = truths[at:at + len(ds)]
        ev.moved_errors[key] = errors[at:at + len(ds)]
        at += len(ds)
        if key in claimed and claim_for is not None:
            ev.moved_claimed[key] = [_claim(claim_for, d, ev) for d in ds]


def _truths_at(box: BlackBox, ev: Evidence, douts: list[tuple]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The truth for other douts and its error estimate (one pass of differences: every entry, or in fast
    mode the entries measured for the first douts), NaN and inf where an entry is not differenced."""
    moved_box = box.moved(douts=douts)
    if not ev.whole:
        indices = [tuple(int(i) for i in idx) for idx in np.argwhere(ev.known)]
        return _entries_measured(moved_box, ev.name, ev.shape, indices)
    results = measure(moved_box, [ev.name], "full")[ev.name]
    truths = [np.asarray(r.value.value, dtype=np.float64) if r.value is not None else np.full(ev.shape, np.nan)
              for r in results]
    errors = [np.where(np.isfinite(r.value.error), np.asarray(r.value.error, dtype=np.float64), np.inf)
              if r.value is not None else np.full(ev.shape, np.inf) for r in results]
    return truths, errors


def _claim(claim_for: Callable[[tuple], Mapping[str, Any]], dout: tuple, ev: Evidence) -> np.ndarray | None:
    """The claim for another dout, as float64 of the gradient's shape (None where the backward refuses it)."""
    try:
        got = claim_for(dout).get(ev.name)
    except GradcheckError:
        return None
    if got is None or np.shape(got) != ev.shape:
        return None
    return np.asarray(got, dtype=np.float64)


# ----- what is said when no mistake explains the claim ---------------------------------------------
def _count(ev: Evidence) -> Diagnosis | None:
    """How many entries are right, where the truth is 0 and the claim is not, and the worst entry: what is
    certain when no mistake explains the claim; for a claim of another shape, the two shapes."""
    if any(c is None for c in ev.claimed):
        got = next((np.shape(r) for r in ev.raw if r is not None and np.shape(r) != ev.shape), None)
        if got is None:
            return None
        return Diagnosis("count", f"it has shape {format_shape(got)} where {ev.name} is {format_shape(ev.shape)}, "
                                  "and no mistake in the table (a batch axis not summed, a transpose) explains its "
                                  "values")
    factor = ambiguous_factor(ev)
    if factor is not None:
        return Diagnosis("count", factor)
    if not ev.shape:  # one number: the two numbers are the count
        k = int(np.argmax([abs(float(c) - float(t)) if np.isfinite(t) else -1.0 for c, t in zip(ev.claimed, ev.true)]))
        at = f" (dout {k + 1} of {len(ev.claimed)})" if len(ev.claimed) > 1 else ""
        return Diagnosis("count", f"it is {float(ev.claimed[k]):.6g} where the true gradient is "
                                  f"{float(ev.true[k]):.6g}{at}")
    wrong = wrong_entries(ev)
    known = ev.known
    total = int(known.sum())
    count = int(wrong.sum())
    worst = f"worst at {_worst(ev)}"
    of = f"{total} entries" if ev.whole else f"the {total} entries differenced in full"
    masked = wrong & zero_where_true_is(ev)
    if masked.any():
        k = int(masked.sum())
        rest = count - k
        return Diagnosis("count", f"it is not 0 where the true gradient is 0, at {k} of {of} "
                                  f"({100 * k / max(total, 1):.0f}%), e.g. {_examples(ev.name, masked)}"
                                  + (f"; it is also wrong on {rest} entries where the true gradient is not 0"
                                     if rest else "") + f"; {worst}")
    if not count:
        kinks = int(np.prod(ev.shape)) - total if ev.whole else 0
        if kinks:  # what is wrong is at the kinks, where differences give no slope (the kink's note says more)
            return Diagnosis("count", f"it is right on all {of} differenced; the other {kinks} are at kinks, "
                                      "where differences give no slope to compare")
        return Diagnosis("count", f"it is within the diagnosis's tolerance ({SAME:g} of the largest entry, and the "
                                  f"differences' error) on all {of}, beyond the rule's; {worst}")
    examples = f", e.g. {_examples(ev.name, wrong)}" if count < total else ""
    return Diagnosis("count", f"it is right on {total - count} of {of} and wrong on {count} "
                              f"({100 * count / max(total, 1):.0f}%){examples}; {worst}")


def _worst(ev: Evidence) -> str:
    """The entry where the claim is farthest from the truth, relative to the truth's largest entry."""
    gap = np.zeros(ev.shape)
    for c, t in zip(ev.claimed, ev.true):
        gap = np.maximum(gap, np.where(ev.known, np.abs(c - np.nan_to_num(t)), 0.0))
    at = np.unravel_index(int(np.argmax(gap)), ev.shape)
    return f"{ev.name}[{','.join(map(str, at))}]"


def _examples(name: str, mask: np.ndarray) -> str:
    return ", ".join(f"{name}[{','.join(map(str, w))}]" for w in np.argwhere(mask)[:EXAMPLES])


def _probe(box: BlackBox, ev: Evidence, claims: Claims) -> Diagnosis | None:
    """Where the gradient of ONE output entry goes: the true gradient of out[k] (central differences of
    that entry alone) against the claim for a dout that is 1 at k and 0 elsewhere. Said only for layers
    whose one output entry reaches a few input entries (convolutions, pooling, indexing). What it finds is
    said under the count's cause: where one output's gradient goes is a fact, not a mistake of the table,
    and the mistakes it suggests (an index, stride or padding error) are guesses a blind label cannot hold
    it to; only the reduction over too few axes, which it establishes, is named."""
    if claims.claim_for is None or not ev.whole or len(ev.outputs) < 1 or not ev.shape:
        return None
    first = np.asarray(box.base[0])
    if first.ndim == 0:
        return None
    k = tuple(s // 2 for s in first.shape)
    dout = tuple(np.zeros(np.shape(o), dtype=np.asarray(o).dtype if np.asarray(o).dtype.kind == "f" else np.float64)
                 for o in box.base)
    dout[0][k] = 1
    claimed = claims.claim_for(dout).get(ev.name)
    if claimed is None:
        return None
    claimed = np.asarray(claimed, dtype=np.float64)
    true = measure(box.moved(douts=[dout]), [ev.name], "full")[ev.name][0]
    if true.value is None:
        return None
    truth = np.nan_to_num(np.asarray(true.value.value, dtype=np.float64))
    error = np.nan_to_num(np.asarray(true.value.error, dtype=np.float64), nan=np.inf, posinf=np.inf)
    scale = max(float(np.max(np.abs(truth))), float(np.max(np.abs(claimed))), 1e-300)
    floor = 1e-3 * scale  # far above differences' error, far below any entry the gradient reaches
    where_true, where_claimed = np.abs(truth) > floor, np.abs(claimed) > floor
    if np.array_equal(where_true, where_claimed) or where_true.sum() > PROBE_SPARSE * where_true.size:
        return None
    at = f"output[{','.join(map(str, k))}]"
    reaches = (f"for a dout that is 1 at {at} only, the true gradient reaches {_how_many(where_true)} of {ev.name} "
               f"(e.g. {_examples(ev.name, where_true)}) and the claim ")
    if not where_claimed.any():  # nothing to list: '(e.g. )' read as a broken sentence
        return Diagnosis("count", reaches + "none: the backward sends this output's gradient nowhere")
    one = replace(ev, true=[truth], errors=[error], claimed=[claimed], douts=[dout], random=1)
    # a cause is said only where the claim's values are the truth's: its part of the entries (a sum over too
    # few of them), or the same values at other entries (an index error); another mistake besides keeps the count
    part = not np.any(where_claimed & ~where_true) and explains(one, [np.where(where_claimed, truth, 0.0)])
    if part:
        reduced = _reduction(ev.name, at, where_true, where_claimed)
        if reduced is not None:
            return reduced
        both = int(np.sum(where_true & where_claimed))
        return Diagnosis("count", reaches + f"only {both} of them, with the true values there: the backward leaves out "
                                            "part of what this output depends on (a sum or a mean over too few entries, "
                                            "a path missing)")
    if not _same_values(truth[where_true], claimed[where_claimed], scale):
        return None
    if claimed.ndim == 2 and claimed.shape[0] == claimed.shape[1] and explains(one, [truth.T]):
        return Diagnosis("count", reaches + f"{_how_many(where_claimed)} (e.g. {_examples(ev.name, where_claimed)}): "
                                            "the true gradient's entries, transposed (a .T is missing or one too many "
                                            "where this output's gradient reaches it)")
    both = int(np.sum(where_true & where_claimed))
    shown = _examples(ev.name, where_claimed & ~where_true) or _examples(ev.name, where_claimed)
    return Diagnosis("count", reaches + f"{_how_many(where_claimed)} (e.g. {shown}), {both} in common, with the same "
                                        "values: the backward sends this output's gradient to other entries (as an index, "
                                        "stride or padding error would; no mistake of the table explains the whole "
                                        "claim)")


def _same_values(true: np.ndarray, claimed: np.ndarray, scale: float) -> bool:
    """The same numbers, in any order (within SAME of the largest)."""
    return true.size == claimed.size and bool(np.all(np.abs(np.sort(true) - np.sort(claimed)) <= SAME * scale))


def _box(mask: np.ndarray) -> list[np.ndarray] | None:
    """The indices the mask reaches along each axis, if the mask is every combination of them (a box)."""
    hit = [np.flatnonzero(mask.any(axis=tuple(b for b in range(mask.ndim) if b != a))) for a in range(mask.ndim)]
    return hit if mask.sum() == int(np.prod([len(h) for h in hit])) else None


def _reduction(name: str, at: str, where_true: np.ndarray, where_claimed: np.ndarray) -> Diagnosis | None:
    """One output entry's true gradient reaches every entry along some axes (it sums or averages over
    them: a normalisation, a softmax) and the claim, with the true values, part of them: a reduction over
    too few axes, or over part of one (a group's channels: a box part of an axis wide). The caller has
    checked the values; a claim reaching other entries is not said to be a reduction from this alone."""
    true_box, claimed_box = _box(where_true), _box(where_claimed)
    if true_box is None or claimed_box is None or not where_claimed.any():
        return None
    shape = where_true.shape

    def spans(box: list[np.ndarray]) -> list[int]:
        return [a for a, h in enumerate(box) if len(h) > 1]

    wanted, got = spans(true_box), spans(claimed_box)
    if not wanted or wanted == got and all(len(t) == len(c) for t, c in zip(true_box, claimed_box)):
        return None

    def said(box: list[np.ndarray], axes: list[int]) -> str:
        parts = [f"all of axis {a}" if len(box[a]) == shape[a] else f"{len(box[a])} of axis {a}'s {shape[a]}"
                 for a in axes]
        return ", ".join(parts) if parts else "one entry"

    return Diagnosis("reduction axes", f"for a dout that is 1 at {at} only, the true gradient reaches {said(true_box, wanted)} "
                                       f"of {name} (the forward sums or averages over them) and the claim "
                                       f"{said(claimed_box, got)}, with the true values there: the backward's sum or "
                                       "mean is over too few entries")


def _how_many(mask: np.ndarray) -> str:
    count = int(mask.sum())
    return f"{count} entr{'y' if count == 1 else 'ies'}"

