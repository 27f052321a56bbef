"""The known mistakes of a hand-written backward, one entry each: its name, the test, and the sentence.

A test gets the evidence of one differentiated input (the measured true gradient and the claim for
several douts, the forward's outputs, every input, the other inputs' evidence, and the truth for a few
other douts measured for the tests that ask for them) and returns the sentence's fields, or None. It
returns them only when the mistake it names explains the whole claim: the claim predicted from the
truth by that mistake agrees with the real claim on every measured entry within what the truth's
measurement allows (`explains`). A claim that fits no entry keeps the honest count (layers.py).

The table is walked in order and the first entry that explains the claim names it, so the more
specific mistake comes first (a factor 2 before "some constant", a sign region before a missing mask).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from fractions import Fraction
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..inputs.calling import Inputs
from ..ops.arrays import format_shape
from ..ops import arrays
from ..ops.reductions import softmax
from . import (attention, blocks, derivative_forms, indexing, local_factors, loss_axes, product_sums,
               reductions, relu_affine, rnn_steps, routing, shifts, statistic_path, windows)
from .model_terms import Strengths
from .operands import placed
from .patterns import SAME_MEASURED, axes_words

SAME = SAME_MEASURED  # the truth here is measured by differences (patterns.py)
# How many of the truth's own error estimates an entry may differ by, beside SAME of the largest entry.
ERROR_SPREAD = 4.0
# Entries named as examples.
EXAMPLES = 3
# An input whose values spread less than this (relative) is a constant for a factor's purposes.
CONSTANT_SPREAD = 1e-3
# A matrix whose inverse the untransposed-product test needs: one this ill-conditioned is not used.
CONDITION_MAX = 1e6
# Axis permutations are tried up to this many axes (5! = 120 permutations).
PERMUTED_AXES_MAX = 5
# The output slices whose gradient alone the claim may be: axes of at most this many entries, and at
# most this many slices in all (each is one more dout in the one extra pass of differences).
SLICE_AXIS_MAX = 16
SLICES_MAX = 48


@dataclass
class Evidence:
    """What is known about one differentiated input's claimed gradient."""

    name: str
    true: list[np.ndarray]  # per dout: measured by differences; NaN where not (a kink, outside a block)
    errors: list[np.ndarray]  # the truth's error estimate per entry
    claimed: list[Any]  # per dout, an array; None where it has another shape (raw holds it)
    raw: list[Any]  # per dout: what the backward returned, as float64 (None: not numbers)
    inputs: Inputs
    outputs: tuple  # f's outputs at the point
    douts: Sequence[tuple]
    random: int  # the first `random` douts are random; the rest have one output's gradient each
    whole: bool = True  # every entry measured (False: fast mode's block)
    moved: dict[str, list[np.ndarray]] = field(default_factory=dict)  # the truth for other douts, by key
    moved_errors: dict[str, list[np.ndarray]] = field(default_factory=dict)  # its error estimate, where measured
    moved_claimed: dict[str, list[Any]] = field(default_factory=dict)  # the claim for them (Hypothesis.claims)
    projected: dict[str, list[tuple] | None] = field(default_factory=dict)  # douts made by _projected, by key
    everyone: Mapping[str, Evidence] = field(default_factory=dict)  # every input's evidence, this one's too

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.true[0].shape)

    @property
    def known(self) -> np.ndarray:
        return np.all([np.isfinite(t) for t in self.true], axis=0)

    @property
    def every(self) -> str:
        return ", for every dout" if len(self.douts) > 1 else ""  # check_function's one 'dout' is f's own 1


@dataclass(frozen=True)
class Hypothesis:
    """One known mistake: the test returns the sentence's fields (and, for a mistake that spans inputs,
    `applies`: the inputs it explains), or None."""

    name: str
    test: Callable[[Evidence], dict[str, Any] | None]
    sentence: str
    # The other douts whose truth the test needs (key -> one dout per random dout), measured in one pass.
    douts: Callable[[Evidence], dict[str, list[tuple]]] | None = None
    claims: bool = False  # the test also needs the claim for those douts (the backward called for each)

    def said(self, fields: Mapping[str, Any]) -> str:
        return self.sentence.format(**fields)


# ----- agreement with a predicted claim -----------------------------------------------------------
def explains(ev: Evidence, predicted: Sequence[Any], claimed: Sequence[Any] | None = None) -> bool:
    """The claim (one per dout; the first len(predicted) douts) is `predicted` on every entry where the truth
    and the prediction are known: within SAME of the larger of the two and ERROR_SPREAD of the truth's
    error estimate. Some entry must be known."""
    claimed = ev.claimed if claimed is None else claimed
    seen = False
    for k, p in enumerate(predicted):
        c = claimed[k]
        if c is None or p is None:
            return False
        p = np.broadcast_to(np.asarray(p, dtype=np.float64), ev.shape)
        t, e = ev.true[k], ev.errors[k]
        m = np.isfinite(t) & np.isfinite(p)
        if not m.any():
            continue
        seen = True
        scale = max(float(np.max(np.abs(p[m]))), float(np.max(np.abs(t[m]))), 1e-300)
        allowed = SAME * scale + ERROR_SPREAD * np.where(np.isfinite(e[m]), e[m], 0.0)
        if np.any(np.abs(c[m] - p[m]) > allowed):
            return False
    return seen


def enough_entries(ev: Evidence, parameters: int) -> bool:
    """More measured entries of weight than a fitted pattern has parameters (a scalar fits any factor)."""
    count = 0
    for t in ev.true:
        big = np.abs(np.nan_to_num(t)) > 1e-6 * max(largest_measured(t), 1e-300)
        count += int(big.sum())
    return count > parameters + 1


def largest_measured(t: np.ndarray) -> float:
    """The largest |entry| measured (0 where none was: NaN marks an entry not differenced)."""
    finite = np.abs(t[np.isfinite(t)])
    return float(finite.max()) if finite.size else 0.0


def fitted_factor(ev: Evidence, basis: Sequence[Any], where: Any = True, claimed: Sequence[Any] | None = None) -> float | None:
    """The one number r with claim ≈ r · basis over every dout (least squares on the known entries in `where`)."""
    claimed = ev.claimed if claimed is None else claimed
    top, bottom = 0.0, 0.0
    for b, c in zip(basis, claimed):
        if c is None:
            return None
        b = np.broadcast_to(np.asarray(b, dtype=np.float64), ev.shape)
        m = np.isfinite(b) & np.asarray(where, dtype=bool)
        top += float(np.sum(c[m] * b[m]))
        bottom += float(np.sum(b[m] ** 2))
    return top / bottom if bottom > 0 else None


def close_to(r: float | None, value: float) -> bool:
    return r is not None and abs(r - value) <= 10 * SAME * max(abs(value), 1e-300)


def claim_ratio(ev: Evidence) -> float | None:
    """The constant factor between the claim and the truth, if the claim is one (and it is not 1)."""
    if not has_claims(ev):
        return None
    r = fitted_factor(ev, ev.true)
    if r is None or close_to(r, 1.0) or abs(r) < SAME or not explains(ev, [r * t for t in ev.true]):
        return None
    return r


def has_claims(ev: Evidence) -> bool:
    return all(c is not None for c in ev.claimed)


# ----- the inputs and outputs a pattern may be written in -----------------------------------------
def number_inputs(inputs: Inputs) -> list[tuple[str, float]]:
    """The Python numbers among the data inputs, and in their dicts (CS231n's dropout_param['p'])."""
    found = []
    for n, value in inputs.values.items():
        items = [(n, value)] if n not in inputs.wrt else []
        if isinstance(value, dict):
            items = [(f"{n}[{k!r}]", v) for k, v in value.items()]
        found += [(m, float(v)) for m, v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return found


def term_numbers(inputs: Inputs) -> list[tuple[str, float]]:
    """The numbers a term proportional to an input may be written with: the data numbers, and the
    regularisation strengths a model declares (check_model's model.reg, model_terms.py), which are no
    factor of the forward pass and so are read here only."""
    found = number_inputs(inputs)
    for value in inputs.values.values():
        if isinstance(value, Strengths):
            found += list(value.values)
    return found


def float_inputs(ev: Evidence) -> list[tuple[str, np.ndarray]]:
    """The floating-point inputs (the differentiated ones first, by path: a model's params["W1"]) as float64."""
    values = [(path, ev.inputs.leaf(path)) for path in ev.inputs.wrt]
    values += [(n, ev.inputs.values[n]) for n in ev.inputs.names if n not in ev.inputs.wrt]
    return [(n, np.asarray(v, dtype=np.float64)) for n, v in values
            if isinstance(v, (np.ndarray, np.floating)) and np.asarray(v).dtype.kind == "f"]


def same_shape_arrays(ev: Evidence) -> list[tuple[str, np.ndarray]]:
    """The inputs of the gradient's shape that are not one constant, and the outputs of that shape."""
    found = [(n, v) for n, v in float_inputs(ev) if v.shape == ev.shape and _varies(v)]
    outs = [np.asarray(o, dtype=np.float64) for o in ev.outputs]
    found += [(_output_name(ev, j), o) for j, o in enumerate(outs) if o.shape == ev.shape and _varies(o)]
    return found


def _varies(v: np.ndarray) -> bool:
    return v.size > 1 and float(np.ptp(v)) > CONSTANT_SPREAD * max(float(np.max(np.abs(v))), 1e-300)


def _output_name(ev: Evidence, j: int) -> str:
    return "the output" if len(ev.outputs) == 1 else f"output {j + 1}"


def _dims(ev: Evidence) -> list[int]:
    sizes = {int(s) for _, v in float_inputs(ev) for s in v.shape} | {int(s) for o in ev.outputs for s in np.shape(o)}
    return sorted(s for s in sizes if s > 1)


def _batches(ev: Evidence) -> list[int]:
    return sorted({int(np.shape(v)[0]) for v in ev.inputs.values.values() if np.ndim(v) >= 1} - {0, 1})


# ----- rounding ------------------------------------------------------------------------------------
# What a precision's rounding leaves in a gradient entry, in its eps times the largest entry of the
# layer's gradients: a float32 forward's outputs, its backward's sums and the complex step's complex64
# arithmetic each round at that scale, not at the entry's own (a float32 softmax's 5e-6 entry came out
# of the complex step 25% off, 55 eps of the layer's largest entry). float16's 100 eps would be 10%:
# there it is not named.
ROUNDING_ULPS = 100.0


def _rounding(ev: Evidence) -> dict[str, Any] | None:
    """The claim is the truth but for differences below the outputs' precision's rounding at the size of the
    layer's largest gradient entry: entries far smaller than the rest, which the rule compares at their own
    size (a float32 softmax's 1e-12 entries, whose float32 backward rounds at 1e-8 of the layer's scale)."""
    if not has_claims(ev):
        return None
    dtype = np.result_type(*[np.asarray(o).dtype for o in ev.outputs])
    if dtype not in (np.float32, np.float64):
        return None
    eps = float(np.finfo(dtype).eps)
    scale = max(largest_measured(t) for e in ev.everyone.values() or [ev] for t in e.true)
    bound = ROUNDING_ULPS * eps * scale
    gap = 0.0
    for c, t, e in zip(ev.claimed, ev.true, ev.errors):
        m = np.isfinite(t)
        beyond = np.abs(c[m] - t[m]) - ERROR_SPREAD * np.where(np.isfinite(e[m]), e[m], 0.0)  # the truth's own error
        if np.any(beyond > bound):
            return None
        gap = max(gap, float(np.max(np.abs(c[m] - t[m]), initial=0.0)))
    if scale == 0 or gap == 0:
        return None
    return {"share": f"{gap / scale:.1g}", "dtype": str(dtype), "bound": f"{ROUNDING_ULPS * eps:.1g}",
            "atol": f"{10 * gap:.1g}"}


# ----- inputs returned in another order -----------------------------------------------------------
def _order(ev: Evidence) -> dict[str, Any] | None:
    """Every input's returned gradient is the true gradient of another input (or its own): the backward
    returns them in another order. Needs every input's truth in full."""
    everyone = ev.everyone
    names = list(everyone)
    if len(names) < 2 or any(not e.whole for e in everyone.values()):
        return None
    match: dict[str, str] = {}
    for n, e in everyone.items():
        got = [r for r in e.raw]
        if any(r is None for r in got):
            return None
        found = [m for m in names if everyone[m].shape == got[0].shape and is_the_truth(everyone[m], got)]
        if not found:
            return None
        match[n] = n if n in found else found[0]
    if sorted(match.values()) != sorted(names) or all(match[n] == n for n in names) or match[ev.name] == ev.name:
        return None
    moved = [n for n in names if match[n] != n]
    returned = ", ".join(f"d{match[n]}" for n in names)
    if len(moved) == 2 and everyone[moved[0]].shape == everyone[moved[1]].shape:
        a, b = moved
        return {"what": f"the gradients of {a} and {b} are swapped: each is the other's true gradient "
                        f"(the backward returns ({returned}) for inputs ({', '.join(names)}))", "applies": tuple(moved)}
    return {"what": f"the backward returns its gradients in another order: ({returned}) for inputs "
                    f"({', '.join(names)}); return them in the inputs' order", "applies": tuple(moved)}


def is_the_truth(e: Evidence, got: Sequence[np.ndarray]) -> bool:
    """The arrays `got` (one per dout) are e's true gradient (as a prediction of them)."""
    return explains(e, e.true, claimed=got)


# ----- a wrong shape ------------------------------------------------------------------------------
def _transposed_shape(ev: Evidence) -> dict[str, Any] | None:
    if has_claims(ev) or any(r is None for r in ev.raw) or len(ev.shape) != 2:
        return None
    got = ev.raw[0].shape
    if got != ev.shape[::-1] or not explains(ev, ev.true, claimed=[r.T for r in ev.raw]):
        return None
    return {"got": format_shape(got), "want": format_shape(ev.shape)}


def summed_axes(got: tuple, shape: tuple) -> tuple[int, ...] | None:
    """The axes of `got` that summing would reduce it to `shape` (as broadcasting made it), or None."""
    extra = len(got) - len(shape)
    if extra < 0 or got == shape:
        return None
    axes = list(range(extra))
    for i, (g, s) in enumerate(zip(got[extra:], shape)):
        if s == 1 and g != 1:
            axes.append(extra + i)
        elif g != s:
            return None
    return tuple(axes) if axes else None


def inserted_axes(got: tuple, shape: tuple) -> list[tuple[int, ...]]:
    """The sets of axes of `got` whose removal leaves `shape` (an input broadcast along axes inserted
    anywhere: a conv's bias b[None, :, None, None]), beside summed_axes' leading ones."""
    extra = len(got) - len(shape)
    if extra <= 0:
        return []
    return [axes for axes in itertools.combinations(range(len(got)), extra)
            if tuple(g for a, g in enumerate(got) if a not in axes) == tuple(shape)]


def _batch_not_summed(ev: Evidence) -> dict[str, Any] | None:
    if has_claims(ev) or any(r is None for r in ev.raw):
        return None
    got = ev.raw[0].shape
    first = summed_axes(got, ev.shape)
    for axes in ([first] if first is not None else []) + [a for a in inserted_axes(got, ev.shape) if a != first]:
        if explains(ev, ev.true, claimed=[r.sum(axis=axes).reshape(ev.shape) for r in ev.raw]):
            return {"got": format_shape(got), "want": format_shape(ev.shape), "axes": ", ".join(map(str, axes))}
    return None


# ----- constant factors -----------------------------------------------------------------------------
def _factor_of(values: Callable[[Evidence], list[tuple[str, float]]]) -> Callable[[Evidence], dict[str, Any] | None]:
    """A test that the claim is r times the truth for one of the named values r."""
    def test(ev: Evidence) -> dict[str, Any] | None:
        r = claim_ratio(ev)
        if r is None or len(_factor_names(ev, r)) > 1 or _ambiguous_forward_scale(ev, r) is not None \
                or _power_factor(ev, r):
            return None  # ambiguous, or read as the forward's own scale or a power's exponent ("constant factor")
        if values not in (_root, _root_inverse) and _attention_width(ev, r) is not None:
            return None  # attention's own scale, whatever else the factor equals
        for label, value in values(ev):
            if value not in (0.0, 1.0) and close_to(r, value):
                return {"label": label, "value": f"{value:g}", "every": ev.every}
        return None
    return test


def _data(ev: Evidence) -> list[tuple[str, float]]:
    return [(n, v) for n, v in number_inputs(ev.inputs)]


def _data_inverse(ev: Evidence) -> list[tuple[str, float]]:
    return [(n, 1 / v) for n, v in number_inputs(ev.inputs) if v != 0]


def _rows(ev: Evidence) -> list[tuple[str, float]]:
    return [(str(m), float(m)) for m in _batches(ev)]


def _rows_inverse(ev: Evidence) -> list[tuple[str, float]]:
    return [(str(m), 1 / m) for m in _batches(ev)]


def _root(ev: Evidence) -> list[tuple[str, float]]:
    roots = {d for d in _dims(ev) if math.isqrt(d) ** 2 != d} | {d for d in feature_squares(ev) if d >= 9}
    r = claim_ratio(ev)
    width = _attention_width(ev, r) if r is not None else None
    roots |= {width} if width is not None else set()
    return [(str(d), math.sqrt(d)) for d in sorted(roots)]


def _attention_width(ev: Evidence, r: float) -> int | None:
    """k where this input is attention's Q or K in a forward that scales its scores by 1/√k (attention.py)
    and the factor r is √k or 1/√k: that scale missing or doubled, the one reading of r however many other
    sizes it equals (a batched attention's √4 = 2 beside 2 rows). Read only where r is such a root."""
    widths = {int(v.shape[-1]) for _, v in float_inputs(ev) if v.ndim >= 2}
    if not any(close_to(r, math.sqrt(d)) or close_to(r, 1 / math.sqrt(d)) for d in widths):
        return None
    read = attention_read(ev)
    if read is None or not close_to(read.scale, 1 / math.sqrt(read.width)):
        return None
    return read.width if close_to(r, math.sqrt(read.width)) or close_to(r, 1 / math.sqrt(read.width)) else None


def named_factors(ev: Evidence) -> list[tuple[str, float]]:
    """Every factor the call's numbers and sizes name, and their inverses: the data numbers, the rows, the
    square roots of sizes (each as its table entry's test reads them)."""
    return [pair for source in (_data, _data_inverse, _rows, _rows_inverse, _root, _root_inverse)
            for pair in source(ev)]


def feature_squares(ev: Evidence) -> list[int]:
    """Perfect squares d that are an array input's last axis (attention's d of 4, 9, 16): √d is then a
    whole number that other sizes may be too. From 9 on it is named (_root); √4 = 2 only ever beside
    another name for the factor (_factor_names), as 2 and ½ are more often twice and half."""
    return sorted({int(v.shape[-1]) for _, v in float_inputs(ev) if v.ndim >= 2 and v.shape[-1] >= 4
                   and math.isqrt(int(v.shape[-1])) ** 2 == v.shape[-1]})


def _factor_names(ev: Evidence, r: float) -> list[str]:
    """Every size or number of the call that the factor r is: where it is more than one, no one of them is
    the cause (a factor 2 with 2 rows and d = 4 is a 1/N or a 1/√d missing), and each is said; but attention's
    Q or K scaled by 1/√d in the forward reads √d and 1/√d as that scale alone (_attention_width)."""
    width = _attention_width(ev, r)
    if width is not None:
        inverse = close_to(r, 1 / math.sqrt(width))
        return [f"{'1/' if inverse else ''}√{width} (attention's {'1/' if inverse else ''}√d, the forward's scale)"]
    if _power_factor(ev, r):  # out = u**k and the claim lacks k: the exponent's factor, whatever else k is
        return [f"1/{_power_exponent(ev, r)} (the power's exponent, missing)"]
    scale = _ambiguous_forward_scale(ev, r)
    if scale is not None:  # 1/N and 1/√d at once, and the forward's own scale: that one is forgotten
        return [f"1/{_scale_words(scale[0], ev)} (the forward's own scale, missing)"]
    return _sizes_and_numbers(ev, r)


def _ambiguous_forward_scale(ev: Evidence, r: float) -> tuple[float, str] | None:
    """The forward's own scale, where it decides a factor two sizes or numbers of the call also are (an
    embedding's √16 = 4 rows); attention's width, read first, decides its own."""
    if _attention_width(ev, r) is not None or len(_sizes_and_numbers(ev, r)) < 2:
        return None
    return forward_scale(ev, r)


def _sizes_and_numbers(ev: Evidence, r: float) -> list[str]:
    """Every size or number of the call (a data number, N, √d, or one over them) that r is."""
    names = [f"{label} = {value:g} (a number among the inputs)" for label, value in _data(ev) if value not in (0.0, 1.0)
             and close_to(r, value)]
    names += [f"1/{label} (a number among the inputs)" for label, value in _data_inverse(ev) if value not in (0.0, 1.0)
              and close_to(r, value)]
    names += [f"N = {m} (the number of rows)" for m in _batches(ev) if close_to(r, float(m))]
    names += [f"1/N, N = {m} (the number of rows)" for m in _batches(ev) if close_to(r, 1 / m)]
    roots = {d for d in _dims(ev) if math.isqrt(d) ** 2 != d} | set(feature_squares(ev))
    names += [f"√{d} (the square root of a size, as attention's √d)" for d in sorted(roots) if close_to(r, math.sqrt(d))]
    names += [f"1/√{d} (the square root of a size, as attention's 1/√d)" for d in sorted(roots)
              if close_to(r, 1 / math.sqrt(d))]
    return names


def _root_inverse(ev: Evidence) -> list[tuple[str, float]]:
    return [(label, 1 / value) for label, value in _root(ev)]


def _twice_or_half(ev: Evidence) -> dict[str, Any] | None:
    r = claim_ratio(ev)
    if r is not None and (len(_factor_names(ev, r)) > 1 or _ambiguous_forward_scale(ev, r) is not None):
        return None  # 2 that is also N = 2 rows and √4: said as both (or as the forward's scale, 2 = √4 = N)
    for value, words in ((2.0, "twice"), (0.5, "half")):
        if close_to(r, value):
            return {"words": words, "value": f"{value:g}", "every": ev.every}
    return None


def _zero(ev: Evidence) -> dict[str, Any] | None:
    if not has_claims(ev):
        return None
    return {} if explains(ev, [np.zeros(ev.shape) for _ in ev.claimed]) else None


def _sign(ev: Evidence) -> dict[str, Any] | None:
    return {"every": ev.every} if close_to(claim_ratio(ev), -1.0) else None


def _constant(ev: Evidence) -> dict[str, Any] | None:
    r = claim_ratio(ev)
    if r is None or not enough_entries(ev, 1) or _sign_and_named(ev, r):
        return None
    if len(_factor_names(ev, r)) > 1:  # said by ambiguous_factor, naming no mistake
        return None
    scale = forward_scale(ev, r)
    which = _power_factor(ev, r) if scale is None else (
        f": the forward multiplies {scale[1]} by {_scale_words(scale[0], ev)}, and the claim is that product's gradient "
        f"without it: the forward's scale {_scale_words(scale[0], ev)} is missing from d{ev.name}")
    return {"value": f"{r:.6g}", "every": f" ({ev.every.removeprefix(', ')})" if ev.every else "", "which": which}


# A forward's own scale c, read off the truth as c times the gradient of the same op without it (a lookup,
# a matrix product), is named as missing only where it is not within this of 1 (a right layer's own rounding).
def forward_scale(ev: Evidence, r: float) -> tuple[float, str] | None:
    """The forward is c times a plain op of this input (an embedding scaled by √d: c · W[idx]; c · x @ W): the
    truth is c times that op's gradient, and the claim is the op's gradient itself (r = 1/c), so the factor
    is the forward's own scale forgotten, whatever size or number c also equals."""
    if len(ev.outputs) != 1 or not ev.shape or not has_claims(ev):
        return None
    out = tuple(np.shape(ev.outputs[0]))
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts]
    if any(d.shape != out for d in douts):
        return None
    for said, base in [*indexing.plain_lookups(ev.shape, out, ev.inputs.values, ev.name, douts),
                       *_plain_products(ev, out, douts)]:
        c = fitted_factor(ev, base, claimed=ev.true)
        if c is None or abs(c) < SAME or close_to(abs(c), 1.0) or not close_to(r, 1 / c):
            continue
        if explains(ev, [c * b for b in base], claimed=ev.true) and explains(ev, base):
            return c, said
    return None


def _plain_products(ev: Evidence, out: tuple[int, ...], douts: list[np.ndarray]) -> list[tuple[str, list[np.ndarray]]]:
    """The gradient of x @ W for W (x.T @ dout) and for x (dout @ W.T), with another input of the matching
    shape as the other factor: c · x @ W's truth is c times it."""
    if len(ev.shape) != 2 or len(out) != 2:
        return []
    found = []
    for n, m in float_inputs(ev):
        if n == ev.name or m.ndim != 2:
            continue
        if m.shape[1] == ev.shape[0] and out == (m.shape[0], ev.shape[1]):
            found.append((f"{n} @ {ev.name}", [m.T @ d for d in douts]))
        if m.shape[0] == ev.shape[1] and out == (ev.shape[0], m.shape[1]):
            found.append((f"{ev.name} @ {n}", [d @ m.T for d in douts]))
    return found


def _scale_words(c: float, ev: Evidence) -> str:
    """c, and √d beside it where c is the root of a size d of the input (an embedding's √d)."""
    roots = [d for d in ev.shape if d > 1 and close_to(abs(c), math.sqrt(d))]
    return f"{c:.6g}" + (f" (√{roots[0]})" if roots else "")


def ambiguous_factor(ev: Evidence) -> str | None:
    """The claim is a constant factor of the truth that two or more sizes or numbers of the call are (a
    factor 2 with 2 rows and d = 4: a 1/N, a 1/√d or a 2 forgotten): what is certain, the factor and its
    readings, naming none of them as the mistake (the count's place, layers.py). "Some constant factor"
    would pass over the readings as if none fitted."""
    r = claim_ratio(ev)
    if r is None or not enough_entries(ev, 1) or _sign_and_named(ev, r):
        return None
    names = _factor_names(ev, r)
    if len(names) < 2:
        return None
    names += [words for value, words in ((2.0, "twice"), (0.5, "half")) if close_to(r, value)]
    every = f" ({ev.every.removeprefix(', ')})" if ev.every else ""
    return (f"it is {r:.6g} times the true gradient{every}, and that factor is {' and '.join(names)}: no one of "
            "them can be told from the others, so no mistake is named")


def _sign_and_named(ev: Evidence, r: float) -> bool:
    """r is −1 times a factor one entry names (−N, −2, −1/√d): two mistakes, a sign and that factor, which
    composites.py says as both, not some constant."""
    if r >= 0 or close_to(r, -1.0):
        return False
    names = _factor_names(ev, -r)
    return len(names) == 1 or not names and (close_to(-r, 2.0) or close_to(-r, 0.5))


def _power_factor(ev: Evidence, r: float) -> str:
    """The constant r is 1/k where the truth is a power's k·u**(k−1): the factor k is missing."""
    found = _power_missing(ev, r)
    if found is None:
        return ""
    n, k, below = found
    return f": it uses {n}**{below} where {k}·{n}**{below} belongs (the derivative of {n}**{k}): the factor {k} is missing"


def _power_exponent(ev: Evidence, r: float) -> str:
    found = _power_missing(ev, r)
    return "" if found is None else str(found[1])


def _power_missing(ev: Evidence, r: float) -> tuple[str, Any, Any] | None:
    """(the input u, k, k − 1) where the truth is a power's k·u**(k−1) and r = 1/k."""
    if r == 0 or close_to(abs(r), 1.0):
        return None
    for n, u in same_shape_arrays(ev):
        if n.startswith("output"):
            continue
        power = _power(ev, n, u)
        if power is not None and power[3] is not None and close_to(r, 1 / power[3]):
            return n, power[0], power[1]
    return None


# ----- an elementwise step's local gradient written wrong ---------------------------------------------
@dataclass(frozen=True)
class Activation:
    """An elementwise activation y = a(x) and its local gradient, written in the output (d(y)) or in the
    input (a'(x) = d(a(x))), for the forms a backward writes in the wrong variable."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]  # a(x)
    in_output: Callable[[np.ndarray], np.ndarray]  # d(y)
    in_input: Callable[[np.ndarray], np.ndarray]  # a'(x)
    inverse: Callable[[np.ndarray], np.ndarray]  # x = a⁻¹(y)
    low: float  # y's range (open)
    high: float
    output_words: str  # d(y) as text, in {y}
    input_words: str  # a'(x) as text, in {x}
    derivative: str  # the derivative, short
    line: str  # the usual line of `activation for its derivative`


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))


ACTIVATIONS = (
    Activation("sigmoid", _sigmoid, lambda y: y * (1 - y), lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
               lambda y: np.log(y / (1 - y)), 0.0, 1.0, "{y}·(1 − {y})", "σ({x})·(1 − σ({x}))",
               "σ·(1 − σ)", "`dout * out` for `dout * out * (1 - out)`"),
    Activation("tanh", np.tanh, lambda y: 1 - y ** 2, lambda x: 1 - np.tanh(x) ** 2, np.arctanh, -1.0, 1.0,
               "1 − {y}**2", "1 − tanh({x})**2", "1 − tanh²", "`dout * out` for `dout * (1 - out**2)`"),
    Activation("exp", np.exp, lambda y: y, np.exp, np.log, 0.0, math.inf, "{y}", "exp({x})", "exp", ""),
    Activation("log", np.log, lambda y: np.exp(-y), lambda x: 1 / x, np.exp, -math.inf, math.inf, "exp(−{y})",
               "1/{x}", "1/x", ""),
    Activation("softplus", lambda x: np.logaddexp(0.0, x), lambda y: -np.expm1(-y),
               _sigmoid, lambda y: np.log(np.expm1(y)), 0.0, math.inf, "1 − exp(−{y})", "σ({x})",
               "σ", "`dout * out` for `dout * sigmoid(x)`"),
)
# The ways a local gradient is written wrong: the activation for its derivative, its derivative in the
# output's form applied to the input, in the input's form applied to the output. Each is the wrong local
# gradient (in x, given a) over the right one.
LOCAL_FORMS = ("activation for its derivative", "input for output", "output for input")
# A gated layer's pre-activation holds this many gates side by side (a gru's three, an lstm's four, a
# glu's two): a local gradient written wrong in one gate only is looked for in these column blocks.
GATE_COUNTS = (2, 3, 4)


def _wrong_local(form: str, act: Activation, x: np.ndarray) -> np.ndarray | None:
    if form == "activation for its derivative":
        return None if act.name == "exp" else act.forward(x)  # exp is its own derivative
    if form == "input for output":
        return act.in_output(x)
    return act.in_input(act.forward(x))


def _form_words(form: str, act: Activation, x: str, y: str, gloss: str) -> dict[str, str]:
    """The sentence's fields: the wrong local gradient and the right one, in x (the step's input) and y
    (its output), and what x and y are."""
    right = placed(act.input_words, x=x) if form == "output for input" else placed(act.output_words, y=y)
    wrong = {"activation for its derivative": f"{act.name}({x})",
             "input for output": placed(act.output_words, y=x),
             "output for input": placed(act.input_words, x=y)}[form]
    return {"act": act.name, "wrong": wrong, "right": right, "gloss": gloss}


def _single_output(ev: Evidence) -> np.ndarray | None:
    if len(ev.outputs) != 1:
        return None
    return np.asarray(ev.outputs[0], dtype=np.float64)


def _activation_douts(ev: Evidence) -> dict[str, list[tuple]]:
    """Where the output y could be an activation's (it is in its range): per activation and wrong form,
    the douts dout·wrong/right (the local gradients at x = a⁻¹(y)), whose truth is the claim of a backward
    that writes its last step's local gradient that way (through any product before it)."""
    o = _single_output(ev)
    found: dict[str, list[tuple]] = {}
    if o is None:
        return found
    for act in ACTIVATIONS:
        if not (np.all(o > act.low) and np.all(o < act.high)):
            continue
        with np.errstate(all="ignore"):
            x = act.inverse(o)
            right = act.in_output(o)
            for form in LOCAL_FORMS:
                wrong = _wrong_local(form, act, x)
                if wrong is None or not np.all(np.isfinite(x)) or np.any(right == 0):
                    continue
                ratio = wrong / right  # one number (f's one output) is a form's only where it is the activation's
                if np.all(np.isfinite(ratio)) and (_varies(ratio) or form == "activation for its derivative"):
                    found[f"{form} {act.name}"] = [(dout[0] * ratio,) for dout in ev.douts[:ev.random]]
    return found


def _local_forms(ev: Evidence) -> list[tuple[str, dict[str, str]]]:
    """Every (form, words) of LOCAL_FORMS that explains the claim: the truth times wrong(u)/a'(u) for an
    input u of the gradient's shape (the step's input: the claim's other factors are the truth's), or the
    truth for _activation_douts' dout (the last step's local gradient, at the input the output says)."""
    if not has_claims(ev):
        return []
    found: dict[tuple[str, ...], dict[str, str]] = {}
    seen: set[tuple[str, ...]] = set()  # readings whose activation of the input is the output itself
    o = _single_output(ev)
    for n, u in same_shape_arrays(ev):
        if n.startswith("output"):
            continue
        for act in ACTIVATIONS:
            with np.errstate(all="ignore"):
                right = act.in_input(u)
                y = act.forward(u)
                outputs = [_output_name(ev, j) for j, out in enumerate(ev.outputs)
                           if np.shape(out) == u.shape and np.allclose(out, y, rtol=1e-9, atol=1e-12)]
                for form in LOCAL_FORMS:
                    wrong = _wrong_local(form, act, u)
                    if wrong is None:
                        continue
                    ratio = wrong / right
                    if not np.all(np.isfinite(ratio)) or not _varies(ratio):
                        continue
                    if explains(ev, [t * ratio for t in ev.true]):
                        gloss = f"y = {act.name}({n})" + (f", {outputs[0]}" if outputs else "")
                        found.setdefault((form, act.name), _form_words(form, act, n, "y", gloss))
                        if outputs:
                            seen.add((form, act.name))
    if seen:  # the layer's output is that activation of the input: other readings of it are coincidences
        found = {key: words for key, words in found.items() if key in seen}
    for key, words in _gate_forms(ev):
        found.setdefault(key, words)
    for act in ACTIVATIONS:
        for form in LOCAL_FORMS:
            truth = ev.moved.get(f"{form} {act.name}")
            direct = any(key[0] == form for key in found)  # the visible input read it: the hidden z is no more
            if truth is not None and o is not None and not direct and explains(ev, truth):
                gloss = f"y = {act.name}(z), the output, z the {act.name}'s input inside the layer"
                found[(form, act.name)] = _form_words(form, act, "z", "y", gloss)
    return [(key[0], words) for key, words in found.items()]


def _differing_columns(ev: Evidence) -> np.ndarray | None:
    """Which columns of a 2-D claim differ from the truth at some dout (beyond SAME of the largest entry
    and ERROR_SPREAD of the truth's error estimate); None where the gradient is not 2-D or a claim is missing."""
    if len(ev.shape) != 2:
        return None
    differs = np.zeros(ev.shape[1], dtype=bool)
    for c, t, e in zip(ev.claimed, ev.true, ev.errors):
        if c is None:
            return None
        bound = SAME * max(largest_measured(t), 1e-300) + ERROR_SPREAD * np.where(np.isfinite(e), e, 0.0)
        off = np.abs(np.asarray(c, dtype=np.float64) - t) > bound
        differs |= np.any(np.where(np.isfinite(t), off, False), axis=0)
    return differs


def _gate_blocks(ev: Evidence) -> list[tuple[int, int, int, int]]:
    """(start, stop, gate, gates): the column blocks of a gated layer's pre-activation (lstm's four gates
    i, f, o, g side by side, a gru's three) that hold every column where the claim differs from the truth."""
    differs = _differing_columns(ev)
    if differs is None or not differs.any():
        return []
    cols = ev.shape[1]
    found = []
    for k in GATE_COUNTS:
        if cols % k or cols == k:
            continue
        w = cols // k
        found += [(j * w, (j + 1) * w, j, k) for j in range(k)
                  if not differs[:j * w].any() and not differs[(j + 1) * w:].any()]
    return found


def _gate_forms(ev: Evidence) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    """Every (form, words) of LOCAL_FORMS that explains the claim in one gate's columns only: the truth
    there times wrong(u)/a'(u), u that gate's block of an input of the gradient's shape (a pre-activation
    z = x @ Wx + h @ Wh + b), and the truth in every other column (the other gates are right)."""
    found: list[tuple[tuple[str, ...], dict[str, str]]] = []
    blocks = _gate_blocks(ev)
    if not blocks:
        return found
    arrays = [(n, u) for n, u in same_shape_arrays(ev) if not n.startswith("output")]
    for start, stop, j, k in blocks:
        for n, u in arrays:
            part = u[:, start:stop]
            for act in ACTIVATIONS:
                with np.errstate(all="ignore"):
                    right = act.in_input(part)
                    for form in LOCAL_FORMS:
                        wrong = _wrong_local(form, act, part)
                        if wrong is None:
                            continue
                        ratio = wrong / right
                        if not np.all(np.isfinite(ratio)) or not _varies(ratio):
                            continue
                        predicted = []
                        for t in ev.true:
                            p = np.array(t, dtype=np.float64)
                            p[:, start:stop] *= ratio
                            predicted.append(p)
                        if not explains(ev, predicted):
                            continue
                        x = f"{n}[:, {start}:{stop}]"
                        gate = f"gate {j + 1} of {k}, columns {start}:{stop} of {n}; the other gates are right"
                        words = _form_words(form, act, x, "y", f"y = {act.name}({x}), {gate}")
                        found.append(((form, act.name, str(start), n), {**words, "gate": gate}))
    return found


def _local_form(form: str) -> Callable[[Evidence], dict[str, Any] | None]:
    """The test that the claim's local gradient is written the `form` way, and in no other way the
    catalogue knows (two that explain it equally name neither)."""
    def test(ev: Evidence) -> dict[str, Any] | None:
        found = _local_forms(ev)
        if len(found) != 1 or found[0][0] != form:
            return None
        words = found[0][1]
        act = next(a for a in ACTIVATIONS if a.name == words["act"])
        line = act.line if "gate" not in words else f"{act.line}, in {words['gate']}".lstrip(", ")
        return {**words, "derivative": act.derivative, "line": line}
    return test


_activation = _local_form("activation for its derivative")


# ----- a product rule's term dropped ----------------------------------------------------------------
# Entries of the input this close to 0 (relative to its largest) give no g = out / x: left out.
NEAR_ZERO_INPUT = 1e-6


def _sums_before_product(ev: Evidence) -> dict[str, Any] | None:
    """A weight's gradient (D, M) or (M, D) whose truth is an input x (*lead, D) times an output's dout
    (*lead, M) summed over every leading axis, and the claim those sums taken over some leading axes before
    the product (product_sums), for every dout; the first such reading."""
    if not has_claims(ev) or len(ev.shape) != 2 or not ev.random:
        return None
    douts = [[np.asarray(o, dtype=np.float64) for o in d] for d in ev.douts[:ev.random]]
    for name, x in float_inputs(ev):
        for j in range(len(douts[0])):
            g = [d[j] for d in douts]
            for transposed in (False, True):
                wanted = (ev.shape[1], ev.shape[0]) if transposed else ev.shape
                if x.shape[-1:] != wanted[:1] or g[0].shape[-1:] != wanted[1:] or g[0].shape[:-1] != x.shape[:-1]:
                    continue

                def laid(a: np.ndarray, flip: bool = transposed) -> np.ndarray:
                    return a.T if flip else a
                if not explains(ev, [laid(product_sums.products(x, d)) for d in g], claimed=ev.true):
                    continue
                for axes in product_sums.leading_subsets(x, g[0]):
                    if explains(ev, [laid(product_sums.summed_first(x, d, axes)) for d in g]):
                        wrong, right = product_sums.written(name, axes, x.ndim, transposed)
                        return {"wrong": wrong, "right": right, "axes": axes_words(axes), "every": ev.every}
    return None


def _product_rule(ev: Evidence) -> dict[str, Any] | None:
    """out = x·g(x) (swish's x·σ(x), gelu's x·Φ(x); any out, g = out / x): the product rule gives
    dout·(g + x·g′), and the claim is one of the two terms alone, dout·out/x (x·g′ dropped) or the truth
    less it (g dropped), for every dout."""
    o = _single_output(ev)
    x = dict(float_inputs(ev)).get(ev.name)
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    if o is None or x is None or o.shape != ev.shape or x.shape != ev.shape or not has_claims(ev) or not douts \
            or douts[0].shape != ev.shape:
        return None
    g = np.where(np.abs(x) > NEAR_ZERO_INPUT * float(np.max(np.abs(x))), o / np.where(x == 0, 1.0, x), np.nan)
    if not _varies(np.nan_to_num(g)) or not _elementwise(ev, douts):  # out = c·x: g′ = 0, no second term
        return None
    dropped = {"derivative": [d * g for d in douts], "factor": [t - d * g for t, d in zip(ev.true, douts)]}
    for which, predicted in dropped.items():
        if enough_entries(ev, 1) and explains(ev, predicted):
            slip = _derivative_slip(ev)
            if slip is not None and not slip.mutation.site_right.is_Add:
                return None  # a slip inside a catalogued activation's derivative (softsign's square) says it better
            kept, lost = ("g(x)", "x·g′(x)") if which == "derivative" else ("x·g′(x)", "g(x)")
            return {"kept": kept.replace("x", ev.name), "lost": lost.replace("x", ev.name),
                    "claim": f"dout·out/{ev.name}" if which == "derivative" else f"the true gradient less dout·out/{ev.name}"}
    return None


def _elementwise(ev: Evidence, douts: list[np.ndarray]) -> bool:
    """The truth is dout times one local gradient for every dout (an elementwise step: each output entry
    depends on its own input entry alone; a norm's x/rms(x) is not, and its constant rms is a mean path's
    mistake); two douts at least, else anything is."""
    if len(douts) < 2:
        return False
    with np.errstate(all="ignore"):
        local = np.where(np.abs(douts[0]) > NEAR_ZERO_INPUT * float(np.max(np.abs(douts[0]))), ev.true[0] / douts[0],
                         np.nan)
    return explains(ev, [d * local for d in douts], claimed=ev.true[:len(douts)])


# ----- an input where a quantity computed from it belongs ------------------------------------------
def _input_in_reduction(ev: Evidence) -> dict[str, Any] | None:
    """A scale's gradient sum(dout·u) over the axes that make its shape, u another input of dout's shape,
    where the truth is another sum (layer norm's dgamma = sum(dout·x) for sum(dout·x̂), a gain on tanh(x)
    with sum(dout·x)): the input is used where what the forward computes from it belongs."""
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    if len(ev.outputs) != 1 or not has_claims(ev) or not douts:
        return None
    if any(m != ev.name and e.shape == ev.shape and is_the_truth(e, ev.claimed) for m, e in ev.everyone.items()):
        return None  # another input's true gradient (a scale's and a shift's swapped): the order's
    for n, u in float_inputs(ev):
        axes = summed_axes(u.shape, ev.shape)
        if n == ev.name or u.shape != douts[0].shape or axes is None or not _varies(u):
            continue
        if enough_entries(ev, 0) and explains(ev, [(d * u).sum(axis=axes).reshape(ev.shape) for d in douts]):
            return {"u": n, "axes": ", ".join(map(str, axes)), "s": "is" if len(axes) == 1 else "es"}
    return None


# ----- a clip forgotten ------------------------------------------------------------------------------
# Entries at one bound that make it a clip's: fewer is an extreme entry, not a constant the truth holds.
CLIPPED_MIN = 2


def _clip_forgotten(ev: Evidence) -> dict[str, Any] | None:
    """The truth is the claim clipped to [lo, hi], lo and hi the truth's own least and largest entries (for
    each dout): the claim is right where the truth lies inside and goes on beyond where the truth holds a
    bound, a bound not 0 (a missing mask's 0 is the mask's) held by CLIPPED_MIN entries at least (Huber's
    gradient r/n for clip(r, −1, 1)/n)."""
    if not has_claims(ev) or not ev.whole or not np.all(ev.known):
        return None
    clipped, bounds = 0, []
    for t, c in zip(ev.true, ev.claimed):
        lo, hi = float(np.min(t)), float(np.max(t))
        scale = max(abs(lo), abs(hi), 1e-300)
        beyond = (c > hi + SAME * scale) | (c < lo - SAME * scale)
        for bound, side, extreme in ((lo, c < lo, np.min(c)), (hi, c > hi, np.max(c))):
            if np.any(side & beyond) and abs(bound) <= SAME * scale:
                return None
            if np.sum(side & beyond & (np.abs(c - extreme) <= SAME * scale)) >= CLIPPED_MIN:
                return None  # the claim is clipped too, at another bound: not forgotten
        if (t.size - int(beyond.sum())) < CLIPPED_MIN:  # nothing inside: no line to go on from
            return None
        clipped += int(beyond.sum())
        bounds.append((lo, hi, int((beyond & (c > hi)).sum()), int((beyond & (c < lo)).sum())))
    if not explains(ev, [np.clip(c, lo, hi) for c, (lo, hi, _, _) in zip(ev.claimed, bounds)], claimed=ev.true):
        return None
    if not any(up >= CLIPPED_MIN or down >= CLIPPED_MIN for _, _, up, down in bounds):
        return None
    lo, hi = bounds[0][0], bounds[0][1]
    total = sum(int(t.size) for t in ev.true)
    return {"lo": f"{lo:.6g}", "hi": f"{hi:.6g}", "clipped": clipped, "total": total,
            "each": " (for the first dout; each dout has its own)" if len(bounds) > 1 else ""}


# ----- a claim that is the truth for another dout ---------------------------------------------------
def _precedence_douts(ev: Evidence) -> dict[str, list[tuple]]:
    o = _single_output(ev)
    if o is None or not np.all(o > 1):
        return {}
    return {"precedence": [(-dout[0] / o ** 2,) for dout in ev.douts[:ev.random]]}


def _precedence(ev: Evidence) -> dict[str, Any] | None:
    truth = ev.moved.get("precedence")
    if truth is None or not has_claims(ev) or not explains(ev, truth):
        return None
    return {}


def _slice_douts(ev: Evidence) -> dict[str, list[tuple]]:
    """The douts kept on one index of one axis of the first output (the others zero)."""
    first = np.asarray(ev.outputs[0])
    found: dict[str, list[tuple]] = {}
    if first.ndim < 1 or (first.ndim == 1 and len(ev.outputs) == 1):
        return found
    for axis, size in enumerate(first.shape):
        if not 2 <= size <= SLICE_AXIS_MAX or len(found) + size > SLICES_MAX:
            continue
        for i in range(size):
            douts = []
            for dout in ev.douts[:min(ev.random, 2)]:
                kept = np.zeros_like(np.asarray(dout[0]))
                where = (slice(None),) * axis + (i,)
                kept[where] = np.asarray(dout[0])[where]
                douts.append((kept, *(np.zeros_like(np.asarray(d)) for d in dout[1:])))
            found[f"slice {axis} {i}"] = douts
    if first.ndim >= 3:  # a loop over positions (a conv's rows and columns, and the batch) that keeps one
        last = first.ndim - 1
        for axes in ((last - 1, last), (0, last - 1, last)):
            rest = int(np.prod([first.shape[a] for a in range(first.ndim) if a not in axes]))
            # one output entry kept is the probe's to say (where its gradient goes), not a lost sum's
            if all(first.shape[a] >= 2 for a in axes) and rest >= 2:
                for which, i in (("first", 0), ("last", -1)):
                    douts = []
                    for dout in ev.douts[:min(ev.random, 2)]:
                        kept = np.zeros_like(np.asarray(dout[0]))
                        where = tuple(i if a in axes else slice(None) for a in range(first.ndim))
                        kept[where] = np.asarray(dout[0])[where]
                        douts.append((kept, *(np.zeros_like(np.asarray(d)) for d in dout[1:])))
                    found[f"corner {which} {','.join(map(str, axes))}"] = douts
    found.update(_window_douts(ev))
    return found


def _window_douts(ev: Evidence) -> dict[str, list[tuple]]:
    """The douts kept on one class of output positions whose windows do not overlap (windows.py), for each
    window geometry the input's and the first output's shapes allow."""
    found: dict[str, list[tuple]] = {}
    for g in _window_geometries(ev):
        if all(p == 1 for p in g.periods):
            continue  # one class, the whole dout: its truth is measured already
        keys = {_window_key(g.periods, r) for r in windows.classes(g.periods)} - set(found)
        if g.pads and len(found) + len(keys) > windows.CLASSES_MAX:
            continue  # a padded reading, tried last, is dropped where it would overflow the others'
        for residue in windows.classes(g.periods):
            key = _window_key(g.periods, residue)
            if key in found:
                continue
            if len(found) >= windows.CLASSES_MAX:
                return {}  # too many classes to measure: no window is read
            found[key] = [(windows.kept(np.asarray(d[0], dtype=np.float64), g.axes, g.periods, residue),
                           *(np.zeros_like(np.asarray(o)) for o in d[1:])) for d in ev.douts[:min(ev.random, 2)]]
    return found


def _window_key(periods: tuple[int, ...], residue: tuple[int, ...]) -> str:
    return f"windows {','.join(map(str, periods))} {','.join(map(str, residue))}"


def _kernel_windows(ev: Evidence) -> list[tuple[int, ...]]:
    """The spatial shapes of the inputs shaped as a kernel of ev's input (out channels, its channels, a
    window narrower than its positions): a conv's weight, which says the windows' size."""
    found = []
    for _, v in float_inputs(ev):
        if v.ndim == len(ev.shape) >= 3 and v.shape[1] == ev.shape[1] and v.shape[2:] != ev.shape[2:] and all(
                k <= n for k, n in zip(v.shape[2:], ev.shape[2:])):
            found.append(tuple(v.shape[2:]))
    return found


def _window_geometries(ev: Evidence, overlapping: bool | None = None) -> list[windows.Geometry]:
    """The geometries read from the shapes: overlapping ones (for windows overwritten), and every one the
    shapes allow, the kernel's size where a kernel says it (for windows placed at another stride: a pool has
    no kernel, and its windows that do not overlap are measured with the whole truth); both if None."""
    first = np.shape(ev.outputs[0])
    kernels = _kernel_windows(ev)
    sole = len(float_inputs(ev)) == 1  # a pool's input alone: its (batch, positions) read too
    found = windows.geometries(ev.shape, first, kernels, sole=sole) if overlapping in (None, True) else []
    if overlapping in (None, False):
        found += [g for g in windows.geometries(ev.shape, first, kernels, overlapping=False) if g not in found]
        padded = windows.padded_geometries(ev.shape, first, kernels)  # a padded conv's, kernel-sized
        if padded and not any(g.sizes in kernels for g in found):
            found = []  # the kernel says the windows' size: valid windows of another size are not read
        found += padded
    if overlapping in (None, True) and not kernels:
        found += windows.padded_pool_geometries(ev.shape, first)  # a padded pool's (windows overwritten), read last
    return found


def _class_truths(ev: Evidence, g: windows.Geometry) -> list[dict[tuple[int, ...], np.ndarray]] | None:
    """Per dout measured, each class's truth (the whole truth where the windows do not overlap at all)."""
    if all(p == 1 for p in g.periods):
        return [{(0,) * len(g.axes): t} for t in ev.true[:min(ev.random, 2)]]
    keys = {r: _window_key(g.periods, r) for r in windows.classes(g.periods)}
    if not all(k in ev.moved for k in keys.values()):
        return None
    count = min(len(ev.moved[k]) for k in keys.values())
    return [{r: ev.moved[k][j] for r, k in keys.items()} for j in range(count)]


def _window_stride(ev: Evidence) -> dict[str, Any] | None:
    """Each window's contribution added at another stride than the forward's windows (windows.py)."""
    if not has_claims(ev) or not np.all(ev.known):
        return None
    first = np.shape(ev.outputs[0])
    for g in _window_geometries(ev, overlapping=False):
        truths = _class_truths(ev, g)
        if not truths:
            continue
        wholes = windows.whole_contributions(g, ev.shape, first, truths,
                                             [np.asarray(d[0]) for d in ev.douts]) if g.pads else None
        if g.pads and wholes is None:
            continue
        for strides in itertools.product(range(1, windows.STRIDE_MAX + 1), repeat=len(g.axes)):
            if strides == g.strides:
                continue
            predicted = ([windows.padded_placed_at(g, strides, ev.shape, w) for w in wholes]
                         if wholes is not None else [windows.placed_at(g, strides, ev.shape, first, t) for t in truths])
            if all(p is not None for p in predicted) and explains(ev, predicted):
                said = ",".join(map(str, strides)) if len(set(strides)) > 1 else str(strides[0])
                return {"what": f"it is the windows' own contributions ({g.said()} along axes "
                                f"{', '.join(map(str, g.axes))}) added at stride {said}, for every dout tried: the "
                                "backward places the windows at another stride than the forward's (i * stride is "
                                "missing or wrong where a window's position is computed)"}
    return None


def _windows_overwritten(ev: Evidence) -> dict[str, Any] | None:
    """Each entry of the claim is the contribution of the last window covering it (the first, where the loops
    run backwards), alone (windows.py)."""
    first = np.shape(ev.outputs[0])
    for g in _window_geometries(ev, overlapping=True):
        truths = _class_truths(ev, g)
        if not truths:
            continue
        for reverse in (False, True):
            dense = [windows.overwritten(g, ev.shape, first, t, reverse) for t in truths]
            written = [windows.written_last(g, ev.shape, first, t, reverse) for t in truths]  # a pick writes one entry
            if explains(ev, dense) or explains(ev, written):
                which, order = ("first", " (the loops run backwards)") if reverse else ("last", "")
                return {"what": f"at each entry it is the contribution of the {which} window that covers it alone "
                                f"({g.said()} along axes {', '.join(map(str, g.axes))}), for every dout tried: where "
                                f"windows overlap, each one's contribution overwrites the ones before it{order} "
                                "instead of adding to them — an = where += belongs"}
    return None


def _steps_local(ev: Evidence) -> dict[str, Any] | None:
    """A sequence input x (N, T, ...) sharing the output's batch and time axes whose claim at each step t is
    the truth for the dout of step t alone, there: each step's own gradient, what later steps' douts reach
    it by (through a state carried forward) left out; or the first state h0 (N, ...) beside such an input,
    whose claim is step 0's dout's gradient alone. Read from the slice douts one slice of dout measures.
    Batch-major only: a time-major (T, N, ...) reads a batch's rows as steps, and those of a layer that mixes
    its rows (a batch norm) are no recurrence; diagnose/sequences.py runs a state input's layer either way."""
    if not has_claims(ev) or len(ev.outputs) != 1 or np.ndim(ev.outputs[0]) < 3:
        return None  # a time axis beside a batch and features
    out, axis = np.shape(ev.outputs[0]), 1
    first = ev.moved.get(f"slice {axis} 0")
    if len(ev.shape) == len(out) - 1 and ev.shape[0] == out[0] and first is not None \
            and _sequence_beside(ev, out, axis) and explains(ev, first):
        return {"steps": out[axis], "axis": axis}
    if len(ev.shape) != len(out) or ev.shape[:axis + 1] != out[:axis + 1]:
        return None
    steps = [ev.moved.get(f"slice {axis} {t}") for t in range(out[axis])]
    if any(s is None for s in steps) or not _causal(steps, axis):
        return None
    predicted = []
    for k in range(len(steps[0])):  # type: ignore[arg-type]
        local = np.zeros(ev.shape)
        for t, s in enumerate(steps):
            local[:, t] = s[k][:, t]  # type: ignore[index]
        predicted.append(local)
    if explains(ev, predicted):  # not the truth (the claim is not): some gradient is carried there
        return {"steps": out[axis], "axis": axis}
    return None


# A step's dout reaches no later step of a recurrence: its truth there is 0 but for differencing's noise.
CAUSAL_ZERO = 1e-9


def _causal(steps: list, axis: int) -> bool:
    """Each step's dout alone has no gradient at later steps, as in a recurrence (x at step t reaches only
    the outputs from t on). A layer that mixes steps both ways (a same-padded conv over time, attention
    without a mask) fails this: its claim of each step's own gradient leaves out more than a carry."""
    for t, truths in enumerate(steps):
        for truth in truths:
            truth = np.asarray(truth)
            later = np.take(truth, range(t + 1, truth.shape[axis]), axis=axis)
            if later.size and np.max(np.abs(later)) > CAUSAL_ZERO * max(1.0, float(np.max(np.abs(truth)))):
                return False
    return True


def _sequence_beside(ev: Evidence, out: tuple[int, ...], axis: int) -> bool:
    """Another input shares the output's axes up to its time axis `axis`: a sequence it runs over."""
    return any(n != ev.name and v.ndim == len(out) and v.shape[:axis + 1] == out[:axis + 1]
               for n, v in float_inputs(ev))


def _one_slice(ev: Evidence) -> dict[str, Any] | None:
    """An accumulation overwritten where it must be summed: the claim is the truth for the dout of one
    slice (or of a few) of an output's axis, or a weight's contribution from one use (or a few) of those
    the truth sums (_uses)."""
    if not has_claims(ev):
        return None
    for key, truth in ev.moved.items():
        if key.startswith("slice ") and explains(ev, truth):
            axis, i = map(int, key.split()[1:])
            size = np.shape(ev.outputs[0])[axis]
            if size == 2 and _other_slice_apart(ev, axis, i):
                continue  # the truth on one of two disjoint halves, 0 on the other: one slice wrong, no lost sum
            if axis == 0:
                return {"what": f"it is the gradient of row {i} of the batch alone (for every dout tried): the rows "
                                "of axis 0 are not summed — an = where += belongs, or a loop that keeps its last row"}
            return {"what": f"it is the gradient of index {i} of the output's axis {axis} alone (for every dout tried): "
                            f"the other {size - 1} (time steps, positions) are overwritten instead of summed — an = "
                            "where += belongs"}
    for key, truth in ev.moved.items():
        if key.startswith("corner ") and explains(ev, truth):
            which, axes = key.split()[1:]
            return {"what": f"it is the gradient of the output's {which} position along axes {axes.replace(',', ', ')} "
                            "alone (for every dout tried): the other positions' contributions are overwritten "
                            "instead of summed — an = where += belongs, in a loop over positions"}
    overlapping = _windows_overwritten(ev)
    if overlapping is not None:
        return overlapping
    by_axis: dict[int, list[list[np.ndarray]]] = {}
    for key, truth in ev.moved.items():
        if key.startswith("slice "):
            by_axis.setdefault(int(key.split()[1]), []).append(truth)
    for axis, parts in by_axis.items():
        kept = _subset(ev, parts)
        if kept is not None and not _apart(parts, kept):
            return {"what": f"it is the gradient of indices {_listed(kept)} of the output's axis {axis} alone (for "
                            f"every dout tried), and the truth sums all {len(parts)}: the others are overwritten "
                            "instead of summed (an = where += belongs) or skipped by the loop"}
    for u, axis, contributions in _uses(ev):
        kept = _subset(ev, contributions, single=True)
        if kept is not None:
            which = f"index {kept[0]}" if len(kept) == 1 else f"indices {_listed(kept)}"
            return {"what": f"it holds only the contribution of {which} of {u}'s axis {axis} (one time step or "
                            f"position: {u} there times {ev.name}), for every dout tried, where the true gradient "
                            f"sums the contributions of all {len(contributions)} ({ev.name} is used at each): an "
                            "accumulation overwritten (=) where it must be summed (+=)"}
    return None


# A fit of the claim as a sum of parts needs at least this many entries beyond the parts it weighs.
SUBSET_SPARE = 3
# How far a part's fitted weight may be from 0 or 1 for the sum of those weighing 1 to be tried.
SUBSET_ROUNDING = 0.1


def _subset(ev: Evidence, parts: Sequence[Sequence[np.ndarray]], single: bool = False) -> list[int] | None:
    """The indices S (not all; two or more, or one with `single`) with claim = Σ_{i∈S} parts[i] for every
    dout the parts are given for: the parts' weights fitted by least squares, which must be unique (the
    parts independent), each near 0 or 1, and the sum of those near 1 must explain the claim."""
    count = min(len(p) for p in parts)
    if len(parts) < 2 or count == 0:
        return None
    rows, target = [], []
    for k in range(count):
        m = ev.known & np.all([np.isfinite(p[k]) for p in parts], axis=0)
        rows.append(np.stack([np.asarray(p[k])[m] for p in parts], axis=1))
        target.append(np.asarray(ev.claimed[k])[m])
    basis, claim = np.concatenate(rows), np.concatenate(target)
    if basis.shape[0] < len(parts) + SUBSET_SPARE or np.linalg.matrix_rank(basis) < len(parts):
        return None
    weights = np.linalg.lstsq(basis, claim, rcond=None)[0]
    ones = np.abs(weights - 1) <= SUBSET_ROUNDING
    if not np.all(ones | (np.abs(weights) <= SUBSET_ROUNDING)) or ones.all() or ones.sum() < (1 if single else 2):
        return None
    kept = [int(i) for i in np.flatnonzero(ones)]
    predicted = [sum(parts[i][k] for i in kept) for k in range(count)]
    return kept if explains(ev, predicted) else None


def _other_slice_apart(ev: Evidence, axis: int, i: int) -> bool:
    """Slice i of the output's axis and the other one reach disjoint entries of the input."""
    parts = [ev.moved.get(f"slice {axis} {j}") for j in range(2)]
    return all(p is not None for p in parts) and _apart(parts, [i])  # type: ignore[arg-type]


def _apart(parts: Sequence[Sequence[np.ndarray]], kept: Sequence[int]) -> bool:
    """The kept parts reach no entry the others reach: the claim is then the truth on some entries and 0 on
    the rest (one slice of the gradient wrong, a loop that stops short), not a sum that lost some terms."""
    def reach(indices: Sequence[int]) -> np.ndarray:
        return np.any([np.abs(np.nan_to_num(p)) > SAME * max(largest_measured(p), 1e-300)
                       for i in indices for p in parts[i]], axis=0)
    return not np.any(reach(kept) & reach([i for i in range(len(parts)) if i not in kept]))


def _listed(indices: Sequence[int]) -> str:
    return ", ".join(map(str, indices))


def _uses(ev: Evidence) -> list[tuple[str, int, list[list[np.ndarray]]]]:
    """Where the input is a weight matrix P (D, H) of full column rank applied as u_t @ P to the slices u_t of
    another differentiated input u along one of its axes (an rnn's Wx at each time step), and the truth is
    the sum of those uses' contributions: (u, the axis, each use's contribution per dout). A use's
    contribution C_t = u_tᵀ·δ_t, and u's own true gradient there is δ_t·Pᵀ, so C_t·Pᵀ = u_tᵀ·du_t gives C_t
    (Pᵀ has a right inverse). The truth must be their sum: else u reaches f otherwise too, and the
    contributions are not what the weight's gradient sums."""
    found: list[tuple[str, int, list[list[np.ndarray]]]] = []
    if len(ev.shape) != 2 or not ev.whole or ev.name not in ev.inputs.wrt:
        return found
    p = np.asarray(ev.inputs.leaf(ev.name), dtype=np.float64)
    rows, cols = p.shape
    if cols > rows or np.linalg.matrix_rank(p) < cols or np.linalg.cond(p) > CONDITION_MAX:
        return _rnn_uses(ev)
    right_inverse = np.linalg.pinv(p.T)
    for n, e in ev.everyone.items():
        if n == ev.name or not e.whole or not np.all(e.known) or len(e.true) < len(ev.true):
            continue
        u = np.asarray(ev.inputs.leaf(n), dtype=np.float64)
        if u.ndim < 2 or u.shape[-1] != rows or u.shape != e.shape:
            continue
        for axis in range(u.ndim - 1):
            if not 2 <= u.shape[axis] <= SLICE_AXIS_MAX:
                continue
            contributions = [[np.take(u, t, axis=axis).reshape(-1, rows).T
                              @ np.take(du, t, axis=axis).reshape(-1, rows) @ right_inverse for du in e.true]
                             for t in range(u.shape[axis])]
            total = [sum(c[k] for c in contributions) for k in range(len(ev.true))]
            if explains(ev, total, claimed=ev.true):
                found.append((n, axis, contributions))
    return found


def _rnn_uses(ev: Evidence) -> list[tuple[str, int, list[list[np.ndarray]]]]:
    """Where P (D, H) has more columns than rows, an rnn's Wx over x (N, T, D): each step's contribution
    x_tᵀ·dz_t, dz recovered from every input's truth (step_gradients), the truth their sum."""
    found: list[tuple[str, int, list[list[np.ndarray]]]] = []
    for n, u in float_inputs(ev):
        if n == ev.name or u.ndim != 3 or u.shape[2] != ev.shape[0] or n not in ev.everyone:
            continue
        recovered = step_gradients(ev, n)
        if recovered is None:
            continue
        dz = recovered[0]
        contributions = [[u[:, t].T @ z[:, t] for z in dz] for t in range(u.shape[1])]
        if explains(ev, [sum(c[k] for c in contributions) for k in range(len(dz))], claimed=ev.true):
            found.append((n, 1, contributions))
    return found


def step_gradients(ev: Evidence, x_name: str) -> tuple[list[np.ndarray], list[str]] | None:
    """Each step's dz (N, T, H) of an rnn over x_name whose states are the output, per random dout, from
    the truths of every input measured whole for those douts, and the inputs read (rnn_steps.py)."""
    if len(ev.outputs) != 1 or ev.random < 1:
        return None
    truths = {n: e.true[:ev.random] for n, e in ev.everyone.items()
              if e.whole and e.random >= ev.random and np.all(e.known)}

    def agrees(name: str, predicted: list[np.ndarray]) -> bool:
        return explains(ev.everyone[name], predicted, claimed=ev.everyone[name].true)
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    return rnn_steps.step_gradients(x_name, dict(float_inputs(ev)), np.asarray(ev.outputs[0], dtype=np.float64),
                                    truths, agrees, douts)


def _swap_douts(ev: Evidence) -> dict[str, list[tuple]]:
    outs = [np.shape(o) for o in ev.outputs]
    if len(outs) != 2 or outs[0] != outs[1]:
        return {}
    return {"swapped outputs": [(dout[1], dout[0]) for dout in ev.douts[:ev.random]]}


def _swapped_outputs(ev: Evidence) -> dict[str, Any] | None:
    truth = ev.moved.get("swapped outputs")
    return {} if truth is not None and has_claims(ev) and explains(ev, truth) else None


# ----- transposes and permutations -----------------------------------------------------------------
def _transpose(ev: Evidence) -> dict[str, Any] | None:
    if len(ev.shape) != 2 or ev.shape[0] != ev.shape[1] or not has_claims(ev):
        return None
    return {} if explains(ev, [t.T for t in ev.true]) else None


def _untransposed(ev: Evidence) -> dict[str, Any] | None:
    """`g @ M` where `g @ M.T` belongs (or M @ g for M.T @ g), M a square input: the claim is
    truth @ inv(M.T) @ M. Else M computed by the forward (_untransposed_intermediate)."""
    if len(ev.shape) != 2 or not has_claims(ev):
        return _untransposed_intermediate(ev)
    for n, m in float_inputs(ev):
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2 or np.allclose(m, m.T):
            continue
        if np.linalg.cond(m) > CONDITION_MAX:
            continue
        k = m.shape[0]
        inverse_t = np.linalg.inv(m.T)
        if ev.shape[1] == k and explains(ev, [t @ (inverse_t @ m) for t in ev.true]):
            return {"m": n, "form": f"`… @ {n}` for `… @ {n}.T`"}
        if ev.shape[0] == k and explains(ev, [(m @ inverse_t) @ t for t in ev.true]):
            return {"m": n, "form": f"`{n} @ …` for `{n}.T @ …`"}
        local = _untransposed_before_local(ev, inverse_t @ m)
        if local is not None:
            return {"m": n, "form": f"`(… @ {n}) * ({local})` for `(… @ {n}.T) * ({local})`"}
    return _untransposed_intermediate(ev)


# A local gradient is divided out only where its smallest entry is at least this share of its largest (a
# tanh saturated at one entry of a row still reads; a relu's zeros do not: its mask hides da there).
LOCAL_APART_FROM_ZERO = 1e-6


def _untransposed_before_local(ev: Evidence, undo: np.ndarray) -> str | None:
    """`(g @ M) * a'(z)` where `(g @ M.T) * a'(z)` belongs, a'(z) a catalogued activation's local gradient
    (nowhere near 0) at an input z of the gradient's shape (products.py offers the product's own output,
    dW1 = X.T @ G's z = X @ W1 + b1, a net's hidden layer): the claim is ((truth / a'(z)) @ undo) * a'(z),
    undo = inv(M.T) @ M; the local gradient's words, or None."""
    for zn, z in same_shape_arrays(ev):
        if zn.startswith("output"):
            continue
        for act in ACTIVATIONS:
            with np.errstate(all="ignore"):
                local = act.in_input(z)
            size = np.abs(local)
            if not np.all(np.isfinite(local)) or not _varies(local) \
                    or np.min(size) < LOCAL_APART_FROM_ZERO * np.max(size):
                continue
            if explains(ev, [((t / local) @ undo) * local for t in ev.true]):
                return placed(act.input_words, x=zn)
    return None


# A matrix recovered from the truth's columns (each row of it a least-squares fit over them) needs this
# many columns beyond its number of rows: with no more, any truth is some matrix times dout.
SPARE_COLUMNS = 3


def _untransposed_intermediate(ev: Evidence) -> dict[str, Any] | None:
    """`M @ dout` where `M.T @ dout` belongs (or `dout @ M` for `dout @ M.T`), M a square matrix the forward
    computes (attention's weights A in dv = A.T @ dout), one per leading index: the truth is M·dout for
    every random dout, M recovered from their columns by least squares (with SPARE_COLUMNS more columns
    than M has rows, so that the fit says something), and the claim is M.T·dout."""
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    if len(ev.shape) < 2 or len(ev.outputs) != 1 or not has_claims(ev) or not ev.whole or not np.all(ev.known) \
            or not douts or douts[0].shape != ev.shape:
        return _untransposed_bilinear(ev)
    for side, turn in (("left", lambda a: a), ("right", lambda a: np.swapaxes(a, -1, -2))):
        d = [turn(x) for x in douts]
        t = [turn(x) for x in ev.true[:len(d)]]
        rows, columns = d[0].shape[-2], d[0].shape[-1] * len(d)
        if rows < 2 or columns < rows + SPARE_COLUMNS:
            continue
        stacked_d, stacked_t = np.concatenate(d, axis=-1), np.concatenate(t, axis=-1)
        m = stacked_t @ np.linalg.pinv(stacked_d)  # per leading index
        if not explains(ev, [turn(m @ x) for x in d], claimed=ev.true[:len(d)]):
            continue  # the truth is no one matrix times dout
        if np.allclose(m, np.swapaxes(m, -1, -2), rtol=0, atol=SAME * float(np.max(np.abs(m)))):
            continue  # its transpose is itself
        if explains(ev, [turn(np.swapaxes(m, -1, -2) @ x) for x in d]):
            shape = format_shape(m.shape[-2:])
            form = "`M @ dout` for `M.T @ dout`" if side == "left" else "`dout @ M` for `dout @ M.T`"
            each = " (one per leading index)" if m.ndim > 2 else ""
            return {"m": "M", "form": f"{form}, M a {shape} matrix{each} the forward computes, not an input, as "
                                      "attention's weights A in dv = A.T @ dout: the true gradient is M.T times dout "
                                      "for every dout, M recovered from them"}
    return _untransposed_bilinear(ev)


def _untransposed_scores(ev: Evidence) -> dict[str, Any] | None:
    """Attention's Q or K read from the values (attention.py, any leading axes) whose claim is its gradient
    with dS, the scores' gradient, where dS.T belongs (dK = dS @ Q for dS.T @ Q), for every random dout."""
    if len(ev.shape) < 2 or not has_claims(ev) or not ev.whole or not np.all(ev.known) or ev.random < 1:
        return None
    read = attention_read(ev)
    if read is None or not explains(ev, read.model((read.rows,)), claimed=ev.true[:ev.random]):
        return None
    predicted = read.untransposed()
    if predicted is None or not explains(ev, predicted):
        return None
    right, wrong = ("dS", "dS.T") if read.of_q else ("dS.T", "dS")
    return {"m": "dS", "form": f"`{wrong} @ {read.other}` for `{right} @ {read.other}`, dS the gradient of the scores "
                               f"inside A = {read.weights}"}


def _untransposed_bilinear(ev: Evidence) -> dict[str, Any] | None:
    """`G @ Y` where `G.T @ Y` belongs, G an intermediate gradient: the layer sees this input X (n, k) and
    another Y (n, k) only through Y @ X.T (attention's scores Q @ K.T), so for every dout the true
    gradients are X's = G.T @ Y and Y's = G @ X for one square G, the gradient with respect to Y @ X.T,
    recovered from both truths by least squares (with SPARE_COLUMNS more equations than unknowns, so
    that the fit says something); the claim is G @ Y (attention's dK = dS @ Q for dS.T @ Q)."""
    if len(ev.shape) != 2 or not has_claims(ev) or not ev.whole or not np.all(ev.known) or ev.random < 1:
        return _untransposed_scores(ev)
    x = dict(float_inputs(ev)).get(ev.name)
    if x is None or x.shape != ev.shape:
        return None
    n, k = ev.shape
    for name, y in float_inputs(ev):
        other = ev.everyone.get(name)
        if name == ev.name or y.shape != ev.shape or other is None or not other.whole \
                or not np.all(other.known) or other.random < ev.random or 2 * n * k < n * n + SPARE_COLUMNS:
            continue
        system = np.concatenate([np.kron(np.eye(n), y.T),  # X's truth: (G.T @ Y)[i, l] = Σ_j G[j, i]·Y[j, l]
                                 np.einsum("il,jJ->jliJ", x, np.eye(n)).reshape(n * k, n * n)])
        _, sv, vt = np.linalg.svd(system)
        free = [v.reshape(n, n).T for v in vt[int(np.sum(sv > SAME * sv[0])):]]  # G's the truths do not tell
        if n * k < len(free) + SPARE_COLUMNS:
            continue
        gs = []
        for t, u, c in zip(ev.true[:ev.random], other.true[:ev.random], ev.claimed[:ev.random]):
            g = np.linalg.lstsq(system, np.concatenate([t.ravel(), u.ravel()]), rcond=None)[0].reshape(n, n).T
            if free:  # the part of G the truths leave free, as the claim's G @ Y would have it
                basis = np.stack([(f @ y).ravel() for f in free], axis=1)
                coef = np.linalg.lstsq(basis, (c - g @ y).ravel(), rcond=None)[0]
                g = g + sum(w * f for w, f in zip(coef, free))
            gs.append(g)
        if not explains(ev, [g.T @ y for g in gs], claimed=ev.true[:ev.random]) or \
                not explains(other, [g @ x for g in gs], claimed=other.true[:ev.random]):
            continue  # the layer is no function of Y @ X.T
        if any(np.allclose(g, g.T, rtol=0, atol=SAME * float(np.max(np.abs(g)))) for g in gs):
            continue  # G's transpose is itself
        if explains(ev, [g @ y for g in gs]):
            return {"m": "G", "form": f"`G @ {name}` for `G.T @ {name}`, G the gradient with respect to "
                                      f"{name} @ {ev.name}.T, which the forward computes (attention's scores "
                                      f"Q @ K.T, whose gradient dS goes into dK = dS.T @ Q): G recovered from the "
                                      f"true gradients of {name} and {ev.name}"}
    return _untransposed_scores(ev) if len(ev.shape) > 2 else None


def _permuted(ev: Evidence) -> dict[str, Any] | None:
    """The truth's entries in another order (_reordered), or the truth moved by a constant offset, what comes
    in at the edge unknown (_shifted: a crop or an index off by one)."""
    return _reordered(ev) or _shifted(ev)


def _reordered(ev: Evidence) -> dict[str, Any] | None:
    """The claim holds the truth's entries in another order, the same order for every dout. Where the truth
    is 0 at several entries (a mask, pooling's other entries) their order is not told by the values: the
    claim's values landing on them says that values moved, not how (the count and the probe say where)."""
    if not ev.whole or not has_claims(ev) or not np.all(ev.known) or len(ev.shape) < 1 or np.prod(ev.shape) < 4:
        return None
    if zero_where_true_is(ev).sum() > 1:
        return _pick_exchanged(ev) or _blocks_moved(ev)
    random = ev.random
    t = np.stack([np.ravel(x) for x in ev.true[:random]], axis=1)
    c = np.stack([np.ravel(x) for x in ev.claimed[:random]], axis=1)
    order_t, order_c = np.lexsort(t.T[::-1]), np.lexsort(c.T[::-1])
    mapping = np.empty_like(order_c)
    mapping[order_c] = order_t  # claim entry i should hold truth entry mapping[i]
    if np.array_equal(mapping, np.arange(len(mapping))):
        return None
    predicted = [np.ravel(x)[mapping].reshape(ev.shape) for x in ev.true[:random]]
    if not explains(ev, predicted):
        return None
    named = _axes_named(ev)
    if named:
        return {"what": named}
    in_blocks = _blocks_moved(ev)
    if in_blocks:
        return in_blocks
    return {"what": "it holds the true gradient's values at other entries (the same values, moved, for every "
                    "dout): the backward writes each gradient to the wrong index (a reshape where a transpose "
                    "belongs, a flipped kernel, an index off by one)"}


# The moved truth must be compared on at least this many entries of weight (the band excluded), and differ
# from the unmoved truth on at least this share of them: a truth that moving does not change (constant
# along the axis) says nothing about a shift.
SHIFT_COMPARED_MIN = 8
SHIFT_VISIBLE_SHARE = 0.5
# What comes in at the edge is not the truth's, but a gradient's size: at most this many times its largest.
SHIFT_BAND_SIZE_MAX = 10.0


# A block order is compared in full (explains) only where its first dout's claim is within this share of the
# truth's largest entry everywhere: a quick look that most of the 720 orders of a 2-D pool fail.
BLOCKS_GLANCE = 1e-3


def _blocks_moved(ev: Evidence) -> dict[str, Any] | None:
    """The truth viewed as a pool's blocks (blocks.py), its axes in another order, reshaped back: a pool by
    reshape and transpose whose backward does not transpose back."""
    split = blocks.split_shape(ev.shape, np.shape(ev.outputs[0])) if ev.outputs else None
    if split is None or ev.claimed[0] is None:
        return None
    first, claim = ev.true[0], np.asarray(ev.claimed[0], dtype=np.float64)
    scale = max(largest_measured(first), 1e-300)
    for order in blocks.orders(split):
        if np.max(np.abs(blocks.moved(first, split, order) - claim)) > BLOCKS_GLANCE * scale:
            continue
        if explains(ev, [blocks.moved(t, split, order) for t in ev.true]):
            return {"what": blocks.sentence(ev.name, split, order)}
    return None


def _shifted(ev: Evidence) -> dict[str, Any] | None:
    """Every entry is the truth of the entry a constant offset before it along some axes (shifts.py): a crop
    or index off by one. The entries that come in at the edge are not known from the truth; they must be
    few (shifts.band_allowed: more where the offset is the padding read off the shapes) and every other
    entry, for every dout, exactly the moved truth."""
    if not has_claims(ev) or not ev.shape or len(ev.true) < 1:
        return None
    scale = max(max(largest_measured(t) for t in ev.true), 1e-300)
    outputs = [tuple(np.shape(o)) for o in ev.outputs]
    others = [other.shape for key, other in ev.everyone.items() if key != ev.name]
    for s in shifts.offsets(ev.shape):
        if not shifts.band_allowed(ev.shape, s, outputs, others):
            continue
        first = shifts.moved(ev.true[0], s)
        if not _shift_glance(ev, first, scale):
            continue
        edge = shifts.band(ev.shape, s)
        true = [first] + [shifts.moved(t, s) for t in ev.true[1:]]
        if not _shift_agrees(ev, true, s, edge, scale):
            continue
        zero = all(np.all(np.abs(c[edge]) <= SAME * scale) for c in ev.claimed)
        return {"what": shifts.sentence(ev.name, s, zero)}
    return None


def _shift_glance(ev: Evidence, first: np.ndarray, scale: float) -> bool:
    """A cheap look before the whole comparison: the first few entries of weight of the first dout's moved truth."""
    heavy = np.argwhere(np.isfinite(first) & (np.abs(np.nan_to_num(first)) > SAME * scale))[:SHIFT_COMPARED_MIN]
    if len(heavy) < SHIFT_COMPARED_MIN:
        return False
    at = tuple(heavy.T)
    allowed = SAME * scale + ERROR_SPREAD * np.nan_to_num(ev.errors[0][at], posinf=0.0)
    return not np.any(np.abs(ev.claimed[0][at] - first[at]) > allowed)


def _shift_agrees(ev: Evidence, true: list[np.ndarray], s: tuple[int, ...], edge: np.ndarray, scale: float) -> bool:
    """The claim is the moved truth off the edge, the move shows (the moved truth is not the truth on most
    compared entries of weight) and the edge is of a gradient's size."""
    errors = [shifts.moved(e, s) for e in ev.errors]
    if not explains(replace(ev, true=true, errors=errors), true):
        return False
    compared = weight = changed = 0
    for t, m in zip(ev.true, true):
        both = np.isfinite(t) & np.isfinite(m)
        heavy = both & ((np.abs(np.nan_to_num(m)) > SAME * scale) | (np.abs(np.nan_to_num(t)) > SAME * scale))
        compared += int(both.sum())
        weight += int(heavy.sum())
        changed += int((heavy & (np.abs(np.nan_to_num(m) - np.nan_to_num(t)) > 10 * SAME * scale)).sum())
    if weight < SHIFT_COMPARED_MIN or changed < SHIFT_VISIBLE_SHARE * weight:
        return False
    return all(np.all(np.abs(c[edge]) <= SHIFT_BAND_SIZE_MAX * scale) for c in ev.claimed)


def _axes_named(ev: Evidence) -> str | None:
    shape = ev.shape
    if len(shape) > PERMUTED_AXES_MAX:
        return None
    for axes in itertools.permutations(range(len(shape))):
        if axes == tuple(range(len(shape))):
            continue
        moved = [np.transpose(t, axes) for t in ev.true]
        if moved[0].shape == shape and explains(ev, moved):
            return axes_moved(axes, shape, reshaped=False)
        if explains(ev, [m.reshape(shape) for m in moved]):
            return axes_moved(axes, shape, reshaped=True)
    return None


def axes_moved(axes: tuple[int, ...], shape: tuple[int, ...], reshaped: bool) -> str:
    """The claim is the truth with its axes in the order `axes` (and, `reshaped`, then reshaped to `shape`)."""
    back = tuple(int(a) for a in np.argsort(axes))
    if not reshaped:
        return (f"it is the true gradient with its axes in the order {axes}: a transpose is missing "
                f"(.transpose{back} puts them back)")
    return (f"it is the true gradient transposed to axes {axes} and then reshaped to {format_shape(shape)}: "
            f"a reshape where a transpose belongs (reshape does not move axes; .transpose{back} does)")


# ----- a factor that is a known local gradient ------------------------------------------------------
# The exponents a power u**n's truth n·u**(n−1) is tried with (beside the numbers among the inputs).
POWERS = (2.0, 3.0, 4.0, 5.0, 6.0, -1.0, -2.0, -3.0, 0.5, 1.5, -0.5)


def _power(ev: Evidence, n: str, u: np.ndarray) -> tuple[str, str, str, float | None] | None:
    """The truth is an elementwise power's: dout·k·u**(k−1) entry by entry, k a number (POWERS, or one among the
    inputs) or an input of u's shape (a**b's b). Returns (k, k − 1, k − 2, as text; k where it is a number)."""
    if len(ev.outputs) != 1 or np.shape(ev.outputs[0]) != ev.shape or ev.random < 2:
        return None
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    true = ev.true[:ev.random]
    numbers = sorted({*POWERS, *(v for _, v in number_inputs(ev.inputs) if v not in (0.0, 1.0))})
    with np.errstate(all="ignore"):
        for k in numbers:
            slope = k * u ** (k - 1)
            if np.all(np.isfinite(slope)) and explains(ev, [d * slope for d in douts], claimed=true):
                return f"{k:g}", f"{k - 1:g}", f"{k - 2:g}", k
        if np.all(u > 0):
            for b, v in same_shape_arrays(ev):
                if b != n and not b.startswith("output") and explains(ev, [d * v * u ** (v - 1) for d in douts],
                                                                        claimed=true):
                    return b, f"({b} − 1)", f"({b} − 2)", None
    return None


def factor_inputs(ev: Evidence) -> list[tuple[str, np.ndarray]]:
    """The arrays a local gradient's factor may be: of the gradient's shape, or broadcasting to it (a norm's
    gamma over the features), and not one constant (peels.py puts a forgotten one back)."""
    return same_shape_arrays(ev) + [(n, v) for n, v in float_inputs(ev) if v.ndim and v.shape != ev.shape
                                    and _broadcasts(v.shape, ev.shape) and _varies(v)]


def _input_factor(ev: Evidence) -> dict[str, Any] | None:
    if not has_claims(ev):
        return None
    for n, u in factor_inputs(ev):
        with np.errstate(all="ignore"):
            factors = [(u, f"it is {n} times the true gradient: an extra factor {n} (an exponent one too high, "
                           f"as in n·{n}**n where n·{n}**(n-1) belongs)"),
                       (1 / u, f"it lacks a factor {n}: the claim times {n} is the true gradient (an exponent one too "
                               f"low, or {n}'s own local gradient dropped)")]
            if np.all(u > 0):
                factors += [(1 / np.log(u), f"it lacks a factor log({n}): the claim times log({n}) is the true gradient "
                                            f"(the derivative of a**b with respect to b is a**b·log(a))"),
                            (np.log(u), f"it has an extra factor log({n})")]
        for i, (factor, words) in enumerate(factors):
            if np.all(np.isfinite(factor)) and explains(ev, [t * factor for t in ev.true]):
                power = _power(ev, n, u) if i < 2 else None
                own = dict(same_shape_arrays(ev)).get(ev.name) if i == 1 and power is None else None
                exponent = _power(ev, ev.name, own) if own is not None else None
                if exponent is not None and exponent[0] == n:  # a**b's b missing from its own derivative
                    k, below = exponent[0], exponent[1]
                    words = (f"it uses {ev.name}**{below} where {k}·{ev.name}**{below} belongs (the derivative of "
                             f"{ev.name}**{k}): the factor {k} is missing")
                elif power is not None:
                    k, below, lower, _ = power
                    written = f"{k}·{n}**{k}" if i == 0 else f"{k}·{n}**{lower}"
                    words = (f"it uses {written} where {k}·{n}**{below} belongs (the derivative of {n}**{k}): the "
                             f"exponent is one too {'high' if i == 0 else 'low'}")
                return {"what": words}
    said = _output_factor(ev)
    return {"what": said} if said is not None else None


def _output_factor(ev: Evidence) -> str | None:
    """Several outputs, one of the input's shape (an LSTM's next_c): its local gradient ∂out/∂u, read entry by
    entry from the truth for the dout that feeds it alone (local_factors.py), is what the claim lacks for
    every dout: the gradient reaching that output, not carried back through it (dprev_c = dc for dc * f)."""
    outputs = len(ev.outputs)
    if outputs < 2 or not has_claims(ev) or len(ev.douts) < ev.random + outputs:
        return None
    for j, out in enumerate(ev.outputs):
        k = ev.random + j
        if np.shape(out) != ev.shape:
            continue
        factor = local_factors.output_factor(ev.true[k], np.asarray(ev.douts[k][j], dtype=np.float64))
        if factor is None or not _varies(factor) or np.any(factor == 0):
            continue
        if explains(ev, [t / factor for t in ev.true]):
            o, lo, hi = _output_name(ev, j), float(factor.min()), float(factor.max())
            gate = ", as a gate's sigmoid" if lo > 0 and hi < 1 else ""
            return (f"it lacks the factor ∂({o})/∂{ev.name}, entry by entry, which the forward computes (between "
                    f"{lo:.3g} and {hi:.3g}{gate}): the claim is the gradient reaching {o} (every path into it "
                    f"summed), not carried back through it to {ev.name} (as an LSTM's dprev_c = dc where dc * f "
                    "belongs)")
    return None


def _logits_gradient(ev: Evidence) -> dict[str, Any] | None:
    """A loss (one number) of the input whose claim is the gradient for the other side of a sigmoid: the
    logits' (the truth times p(1 − p), p the input) or the probabilities' (the truth over σ(z)(1 − σ(z)))."""
    if len(ev.outputs) != 1 or np.size(ev.outputs[0]) != 1 or not has_claims(ev):
        return None
    u = dict(same_shape_arrays(ev)).get(ev.name)
    if u is None:
        return None
    form = local_factors.logits_forms(u, ev.true, lambda predicted: explains(ev, predicted))
    n = ev.name
    if form == "probabilities":
        return {"what": f"it is the true gradient times {n}·(1 − {n}): the gradient with respect to the logits "
                        f"(as (p − y) / N) where the loss takes the probabilities {n}, so it lacks the factor "
                        f"1/({n}·(1 − {n})) of the sigmoid it does not apply"}
    if form == "logits":
        return {"what": f"it is the true gradient over σ({n})·(1 − σ({n})): the gradient with respect to the "
                        f"probabilities p = σ({n}) where the loss takes the logits {n}, so the sigmoid's local "
                        f"gradient p·(1 − p) is missing (as (p − y) / (p·(1 − p)·N) for (p − y) / N)"}
    return None


def _broadcasts(small: tuple, shape: tuple) -> bool:
    if len(small) > len(shape):
        return False
    return all(s in (1, g) for s, g in zip(small[::-1], shape[::-1]))


def _regularisation(ev: Evidence) -> dict[str, Any] | None:
    """claim − truth = c·u for an input u of the gradient's shape: a term proportional to u is off. A c
    fitted freely needs entries to spare (a bias of 3 entries fits one anyway); a c that is a number of the
    call (±reg, ±2·reg, ±reg/2) is no fitted number, and two entries that agree with it are evidence."""
    if not has_claims(ev) or not enough_entries(ev, 0):
        return None
    for n, u in same_shape_arrays(ev):
        if n.startswith("output"):
            continue
        c = fitted_factor(ev, [u] * len(ev.claimed), claimed=[c - t for c, t in zip(ev.claimed, ev.true)])
        if c is None or abs(c) < SAME:
            continue
        if not explains(ev, [t + c * u for t in ev.true]):
            continue
        named = ""
        for p, value in term_numbers(ev.inputs):
            for k, words in ((1, f"{p}·{n}"), (2, f"2·{p}·{n}"), (0.5, f"0.5·{p}·{n}")):
                for sign in (1, -1):
                    if value and close_to(c, sign * k * value):
                        named = (f" ({'one' if sign > 0 else 'a missing'} {words}: the gradient of 0.5·{p}·Σ{n}² is "
                                 f"{p}·{n}, of {p}·Σ{n}² it is 2·{p}·{n})")
        if not named and not enough_entries(ev, 2):
            continue
        return {"c": f"{c:.4g}", "u": n, "named": named}
    return None



# How far from collinear the truth and an input must be for the two-term fit below to tell them apart:
# the smallest singular value of their Gram matrix over its largest.
TWO_TERMS_CONDITION = 1e-6


def fitted_pair(ev: Evidence, first: Sequence[Any], second: Sequence[Any]) -> tuple[float, float] | None:
    """(a, b) with claim ≈ a·first + b·second over every dout (least squares), or None where the two are
    too close to proportional for the fit to say which is which."""
    gram, right = np.zeros((2, 2)), np.zeros(2)
    for f, g, c in zip(first, second, ev.claimed):
        if c is None:
            return None
        f, g = (np.broadcast_to(np.asarray(x, dtype=np.float64), ev.shape) for x in (f, g))
        m = np.isfinite(f) & np.isfinite(g) & np.isfinite(c)
        basis = np.stack([f[m], g[m]])
        gram += basis @ basis.T
        right += basis @ c[m]
    values = np.linalg.eigvalsh(gram)
    if not values[-1] > 0 or values[0] < TWO_TERMS_CONDITION * values[-1]:
        return None
    a, b = np.linalg.solve(gram, right)
    return float(a), float(b)


# The sums of u along an axis, from which a term c·u is read, must keep this share of |u|'s sums there (u's
# entries along the axis not cancelling, or c is read off noise).
SUMS_KEPT = 0.1


def terms_off_sums(ev: Evidence, u: np.ndarray) -> tuple[float, float, int] | None:
    """(c, c′, axis): the truth is D + c·u and the claim D′ + c′·u where the data terms D and D′ sum to 0
    along the axis (a classifier's loss: softmax's p − onehot and an SVM's margins each sum to 0 over the
    classes, and so does X.T @ G over them): c and c′ read off the sums along it, one number from several
    sums each, checked on all of them. None where no axis of u has such sums (or more than one reads
    differently)."""
    found = []
    for axis in range(u.ndim):
        su = u.sum(axis=axis)
        if su.size < 3 or np.linalg.norm(su) < SUMS_KEPT * np.linalg.norm(np.abs(u).sum(axis=axis)):
            continue
        read = [_term_off_sums(ev, su, axis, values) for values in (ev.true, ev.claimed)]
        if read[0] is not None and read[1] is not None:
            found.append((read[0], read[1], axis))
    return found[0] if len(found) == 1 else None


def _term_off_sums(ev: Evidence, su: np.ndarray, axis: int, values: Sequence[Any]) -> float | None:
    """c with values' sums along the axis = c·su for every dout, within SAME of the sums' entries' size
    and the truth's error estimate summed; else None."""
    if any(v is None or not np.all(np.isfinite(v)) for v in values):
        return None
    sums = [np.asarray(v, dtype=np.float64).sum(axis=axis) for v in values]
    c = sum(float(np.sum(x * su)) for x in sums) / (len(sums) * float(np.sum(su * su)))
    for v, x, e in zip(values, sums, ev.errors):
        size = np.abs(np.asarray(v, dtype=np.float64)).sum(axis=axis)
        allowed = SAME * np.maximum(size, np.abs(c * su)) + ERROR_SPREAD * np.where(np.isfinite(e), e, 0.0).sum(axis=axis)
        if np.any(np.abs(x - c * su) > allowed):
            return None
    return c


def _data_term(ev: Evidence) -> dict[str, Any] | None:
    """claim = a·(truth − c·u) + c·u for an input u of the gradient's shape: the term proportional to u (a
    regularisation term's gradient) is right, and the rest (the data term) is a times the truth's."""
    if not has_claims(ev) or not enough_entries(ev, 3):
        return None
    for n, u in same_shape_arrays(ev):
        if n.startswith("output"):
            continue
        fitted = fitted_pair(ev, ev.true, [u] * len(ev.claimed))
        if fitted is None:
            continue
        a, b = fitted
        if close_to(a, 1.0) or abs(a) < SAME or abs(b) * largest_measured(u) < SAME * max(largest_measured(t) for t in ev.true):
            continue
        if not explains(ev, [a * t + b * u for t in ev.true]):
            continue
        c = b / (1 - a)  # any claim a·D + β·u fits: c·u is the truth's own term only where a number says so
        term = next((words for p, value in term_numbers(ev.inputs) for k, words in ((1, f"{p}·{n}"), (2, f"2·{p}·{n}"))
                     if value and close_to(c, k * value)), None)
        if term is None:
            sums = terms_off_sums(ev, u)
            if sums is not None and close_to(sums[0], c) and close_to(sums[1], c):
                term = f"{c:.4g}·{n} (read off its sums over axis {sums[2]}, where the data term's are 0)"
        if term is None:
            continue
        why = ""
        for m in _batches(ev):
            if close_to(a, float(m)):
                why = f": the loss averages it over the N = {m} rows and the gradient does not (a missing 1/N)"
            elif close_to(a, 1 / m):
                why = f": it divides by N = {m} where the loss does not, or twice"
        for value, words in ((2.0, "twice"), (0.5, "half")):
            if not why and close_to(a, value):
                why = f" ({words})"
        return {"a": f"{a:.4g}", "term": term, "why": why}
    return None

# ----- wrong in one region --------------------------------------------------------------------------
def _dout_missing(ev: Evidence) -> dict[str, Any] | None:
    """An elementwise layer (one output of the input's shape, its truth dout times a local gradient entry by
    entry) whose claim is that local gradient alone, everywhere (where it is not one constant, of which any
    constant claim is a multiple) or on one side of an input's 0, the other side right: the same for every
    dout where the truth changes with it (local_factors.py)."""
    k = ev.random
    if not has_claims(ev) or len(ev.outputs) != 1 or np.shape(ev.outputs[0]) != ev.shape or k < 2:
        return None
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:k]]
    local = local_factors.local_gradient(ev.true[:k], douts)
    if local is None or not explains(ev, [local * d for d in douts], claimed=ev.true[:k]):
        return None
    regions = [("", np.ones(ev.shape, dtype=bool))]
    regions += [(f"where {n} {side} 0", sign * u > 0) for n, u in same_shape_arrays(ev) for side, sign in ((">", 1), ("<", -1))]
    for words, region in regions:
        if not region.any() or (words and region.all()) or not np.any(np.isfinite(local[region]) & (np.abs(local[region]) > SAME)):
            continue  # a local gradient of 0 there: dout times it is the same 0
        if not words and not _varies(np.where(np.isfinite(local), local, 0.0)):
            continue  # one constant everywhere: any constant claim is a multiple of it (x * s's s)
        if explains(ev, [np.where(region, local, t) for t in ev.true[:k]]):
            known = local[region & np.isfinite(local)]
            lo, hi = float(known.min()), float(known.max())
            value = f"{lo:.4g}" if close_to(hi, lo) else f"between {lo:.3g} and {hi:.3g}"
            where, there, right = (f"{words} ", " there", "; elsewhere it is right") if words else ("", "", "")
            return {"what": f"{where}it does not change with dout: it is the local gradient ∂out/∂{ev.name}{there} "
                            f"alone ({value}), where dout times it belongs (`* dout` forgotten, as `1 - out**2` for "
                            f"`dout * (1 - out**2)`){right}"}
    return None


def _sign_regions(ev: Evidence) -> dict[str, Any] | None:
    """Where an input is positive the claim is r₊ times the truth, where negative r₋ times (r₊ ≠ r₋)."""
    if not has_claims(ev) or not enough_entries(ev, 2):
        return None
    for n, u in same_shape_arrays(ev):
        up, down = u > 0, u < 0
        if up.sum() < 1 or down.sum() < 1:
            continue
        r_up, r_down = fitted_factor(ev, ev.true, up), fitted_factor(ev, ev.true, down)
        if r_up is None or r_down is None or close_to(r_up, r_down):
            continue
        if not explains(ev, [np.where(up, r_up * t, np.where(down, r_down * t, t)) for t in ev.true]):
            continue
        r_up = 1.0 if close_to(r_up, 1.0) else 0.0 if abs(r_up) < SAME else r_up
        r_down = 1.0 if close_to(r_down, 1.0) else 0.0 if abs(r_down) < SAME else r_down
        if r_up == 1.0 or r_down == 1.0:
            right, wrong, r = (">", "<", r_down) if r_up == 1.0 else ("<", ">", r_up)
            there = "0 there: that side's gradient (a leaky slope) is missing" if r == 0 else \
                f"{r:.4g} times the true gradient there"
            return {"what": f"it is right where {n} {right} 0 and wrong only where {n} {wrong} 0: it is {there}"}
        if close_to(r_up * r_down, 1.0):
            return {"what": f"where {n} > 0 it is {r_up:.4g} times the true gradient and where {n} < 0 {r_down:.4g} "
                            "times: the two sides' slopes are exchanged (the slope is on the wrong side)"}
        return {"what": f"where {n} > 0 it is {r_up:.4g} times the true gradient and where {n} < 0 {r_down:.4g} times"}
    return None


def zero_where_true_is(ev: Evidence) -> np.ndarray:
    zero = np.ones(ev.shape, dtype=bool)
    for t, e in zip(ev.true, ev.errors):
        scale = max(largest_measured(t), 1e-300)
        zero &= np.abs(np.nan_to_num(t)) <= SAME * scale + ERROR_SPREAD * np.nan_to_num(e, posinf=0.0)
    return zero & ev.known


def _mask(ev: Evidence) -> dict[str, Any] | None:
    """The claim is the truth except where the truth is 0, where it is not 0 (a missing mask), or is 0
    exactly where the truth is not (an inverted mask); named by the input whose sign the mask is. Not where
    the extra entries are exactly the labels' term spread to every row's columns y (`label index`)."""
    if not has_claims(ev):
        return None
    zero = zero_where_true_is(ev)
    if not zero.any() or zero[ev.known].all():
        return _unmasked_relu_affine(ev)  # a mask hidden inside x.T @ g, where no entry of the truth is 0
    nonzero_claim = np.any([np.abs(c) > SAME * max(float(np.max(np.abs(c))), 1e-300) for c in ev.claimed], axis=0)
    rest = ev.known & ~zero
    region = _region(ev, zero)
    if explains(ev, [np.where(rest, t, np.nan) for t in ev.true]) and np.any(nonzero_claim & zero):
        if _label_columns(ev) is not None:
            return None  # no mask the forward has: `d[:, y]` for `d[np.arange(N), y]`
        k, total = int((nonzero_claim & zero).sum()), int(ev.known.sum())
        region = _region(ev, nonzero_claim & zero) or region  # where it is wrong: one side of a clip
        if region is None:  # where the forward blocks the gradient: a max's other entries, a gate
            return {"what": f"it is the true gradient wherever that is not 0, and not 0 at {k} of {total} entries "
                            f"({100 * k / total:.0f}%) where the true gradient is 0: a mask is missing (the "
                            "gradient passes where the forward blocks it: a maximum's other entries, a gate)"}
        return {"what": f"it is the true gradient except where {region} ({k} of {total} entries, "
                        f"{100 * k / total:.0f}%), where the true gradient is 0 and the claim is not: a mask is "
                        f"missing (the mask {_complement(region)})"}
    inverted = np.all(~nonzero_claim[rest]) and np.all(nonzero_claim[zero])
    if inverted and region is not None:
        return {"what": f"it is 0 exactly where the true gradient is not, and not 0 where it is 0: the mask is "
                        f"inverted (it keeps {region} where {_complement(region)} belongs)"}
    return _wrong_pick(ev) or _mask_over_another_axis(ev) or _window_mask_over_another_axis(ev)


def _unmasked_relu_affine(ev: Evidence) -> dict[str, Any] | None:
    """The claim is the input's gradient with dout where dout * (z > 0) belongs (times 1/N or N, if at all),
    and the truth is the masked one, for every dout."""
    if not has_claims(ev) or ev.random < 1:
        return None
    leaves = {p: np.asarray(ev.inputs.leaf(p), dtype=np.float64) for p in ev.inputs.wrt}
    found = relu_affine.relu_affine_roles(ev.outputs, leaves)
    if found is None:
        return None
    roles, z = found
    role = next((r for r, p in roles.items() if p == ev.name), None)
    mask = z > 0
    if role is None or mask.all() or not mask.any():
        return None
    if relu_affine.product_undone(leaves[roles["x"]], leaves[roles["W"]]):
        return None  # products.py recovers g there and says the mask inside the product
    grad = relu_affine.gradient_of(role, leaves[roles["x"]], leaves[roles["W"]])
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts]
    if not explains(ev, [grad(d * mask) for d in douts], claimed=ev.true):
        return None
    unmasked = [grad(d) for d in douts]
    if explains(ev, [grad(d * mask) for d in douts]):
        return None
    n = z.shape[0]
    what = ("it is the gradient with the relu's mask left out: dout where dout * (z > 0) belongs "
            f"(z = {roles['x']} @ {roles['W']}{' + ' + roles['b'] if 'b' in roles else ''}, the relu's input)"
            f"{ev.every}")
    if explains(ev, unmasked):
        return {"what": what}
    r = fitted_factor(ev, unmasked)
    for value, said in ((1.0 / n, f"divided by {n}, the number of rows (a 1/{n} where the truth has none)"),
                        (float(n), f"times {n}, the number of rows (an average over them undone)")):
        if close_to(r, value) and explains(ev, [value * u for u in unmasked]):
            return {"what": f"two mistakes: {what}; and it is {said}"}
    return None


def _mask_over_another_axis(ev: Evidence) -> dict[str, Any] | None:
    """A max (or min) over axes A (one axis, or several: a global pool's (2, 3)), whose truth is dout put
    back along A times the one-hot of each maximum, and a claim that is dout put back along A times the mask
    of the maximum over other axes B (an argmax per image over every channel where one per channel belongs)."""
    if not has_claims(ev) or len(ev.outputs) != 1 or ev.random < 1 or ev.name not in ev.inputs.wrt:
        return None
    out = np.shape(ev.outputs[0])
    x = np.asarray(ev.inputs.leaf(ev.name), dtype=np.float64)
    if x.ndim > PERMUTED_AXES_MAX:
        return None
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    every = [b for k in range(1, x.ndim + 1) for b in itertools.combinations(range(x.ndim), k)]
    for a in reductions.reduced_axis_sets(ev.shape, out):
        # the sets nearest A first: where several masks coincide, the one fewest axes away from A is said
        others = sorted(every, key=lambda b: (len(set(a) ^ set(b)), b))
        for pick, reduce in (("max", np.max), ("min", np.min)):
            right = (x == reduce(x, axis=a, keepdims=True)).astype(np.float64)
            if not explains(ev, [reductions.placed(d, a, right) for d in douts], claimed=ev.true):
                continue
            for b in others:
                wrong = (x == reduce(x, axis=b, keepdims=True)).astype(np.float64)
                if b != a and explains(ev, [reductions.placed(d, a, wrong) for d in douts]):
                    wrong_axes = "axis" if len(a) == len(b) == 1 else "axes"
                    return {"what": f"it is dout put back along {axes_words(a)} times the mask of the {pick} over "
                                    f"{axes_words(b)} of {ev.name}, where the forward's {pick} is over "
                                    f"{axes_words(a)}: the mask is taken over the wrong {wrong_axes} ({ev.name} == "
                                    f"{ev.name}.{pick}(axis={_axis_argument(b)}) for axis={_axis_argument(a)})"}
    return None


def _window_mask_over_another_axis(ev: Evidence) -> dict[str, Any] | None:
    """A max pool over windows (windows.geometries), whose truth is dout routed to each window's maximum,
    and a claim that is dout routed to the entries equal to the maximum taken over the window and the whole
    of other axes B too (the window's maximum over every channel, where each channel's own belongs), for
    every dout."""
    if not has_claims(ev) or len(ev.outputs) != 1 or ev.random < 1 or ev.name not in ev.inputs.wrt:
        return None
    x = np.asarray(ev.inputs.leaf(ev.name), dtype=np.float64)
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    for g in _window_geometries(ev, overlapping=False):
        rest = [a for a in range(x.ndim) if a not in g.axes]
        if not explains(ev, [windows.max_routed(d, x, g) for d in douts], claimed=ev.true):
            continue
        for b in (b for k in range(1, len(rest) + 1) for b in itertools.combinations(rest, k)):
            if explains(ev, [windows.max_routed(d, x, g, b) for d in douts]):
                return {"what": f"it is dout routed to the maximum of each of {g.said()}, taken over "
                                f"{axes_words(b)} of {ev.name} too, where each window's own maximum belongs: the "
                                f"mask is taken over the wrong axes (the window's max over axes "
                                f"{_axis_argument(tuple(sorted((*g.axes, *b))))} where the forward's is over "
                                f"{_axis_argument(g.axes)})"}
    return None


def _axis_argument(axes: tuple[int, ...]) -> str:
    """Axes as numpy's axis= argument is written: 2, or (2, 3)."""
    return str(axes[0]) if len(axes) == 1 else f"({', '.join(map(str, axes))})"


def _picks(ev: Evidence) -> routing.Picks | None:
    """A pick's routes (routing.py), the truth's and the claim's, when the claim moves some output's gradient,
    whole, to another entry; for a layer with no integer input (an index input's wrong rows are the probe's)."""
    if not ev.whole or not has_claims(ev) or not np.all(ev.known) or len(ev.outputs) != 1 or ev.random < 1:
        return None
    if any(isinstance(v, np.ndarray) and v.dtype.kind in "iub" for v in ev.inputs.values.values()):
        return None
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    x = np.asarray(ev.inputs.leaf(ev.name), dtype=np.float64)
    p = routing.picks(ev.true[:ev.random], ev.claimed[:ev.random], douts, x, np.asarray(ev.outputs[0]))
    if p is None:
        return None
    predicted = []
    for d in douts:
        g = np.zeros(int(np.prod(ev.shape)))
        g[list(p.claimed)] = np.ravel(d)
        predicted.append(g.reshape(ev.shape))
    return p if explains(ev, predicted) else None


def _pick_example(ev: Evidence, p: routing.Picks) -> str:
    k = p.moved[0]
    out = np.shape(ev.outputs[0])

    def at(name: str, flat: int, shape: tuple) -> str:
        return f"{name}[{','.join(str(int(i)) for i in np.unravel_index(flat, shape))}]"

    return (f"{at('output', k, out)} to "
            f"{at(ev.name, p.claimed[k], ev.shape)} where {at(ev.name, p.true[k], ev.shape)} belongs")


def _wrong_pick(ev: Evidence) -> dict[str, Any] | None:
    """Each output passes on one entry of the input (a maximum) and its gradient goes there whole; the claim
    sends it whole to another entry for some outputs, always one below the output (not a maximum) or always
    one above it (not a minimum): the mask that routes dout picks the wrong entries. A slice's offset, whose
    wrong entries are above and below at random, is not said to be a mask."""
    p = _picks(ev)
    if p is None or len(p.moved) < routing.MOVED_MIN or routing.exchanged_axes(p, ev.shape) is not None:
        return None
    side = routing.side(p, np.asarray(ev.inputs.leaf(ev.name), dtype=np.float64), np.asarray(ev.outputs[0]))
    if side is None:
        return None
    pick, instead = ("maximum", "below") if side < 0 else ("minimum", "above")
    return {"what": f"each output is one entry of {ev.name} passed on (a {pick}'s pick) and its gradient belongs "
                    f"there, whole; the claim sends it, whole, to another entry for {len(p.moved)} of "
                    f"{len(p.true)} outputs (e.g. {_pick_example(ev, p)}), each {instead} the output's value: the "
                    f"mask that routes dout picks the wrong entries, not the {pick} (an argmin for the argmax, "
                    "each window's first entry)"}


def _pick_exchanged(ev: Evidence) -> dict[str, Any] | None:
    """A pick (as _wrong_pick) whose wrong entries are the right ones with their offsets along two axes
    exchanged: the pick's index is unravelled with its row and column read in the wrong order."""
    p = _picks(ev)
    axes = routing.exchanged_axes(p, ev.shape) if p is not None else None
    if p is None or axes is None:
        return None
    return {"what": f"each output is one entry of {ev.name} passed on (a maximum's pick); for {len(p.moved)} of "
                    f"{len(p.true)} outputs the claim sends its gradient, whole, to the right entry with its "
                    f"offsets along axes {axes[0]} and {axes[1]} exchanged (e.g. {_pick_example(ev, p)}): the "
                    "pick's index is unravelled with its two axes swapped (row and column read in the wrong order)"}


def _region(ev: Evidence, where: np.ndarray) -> str | None:
    """`where` (on the known entries) as a sign condition on an input or output of the gradient's shape,
    else as a threshold on one (a clip's upper side: x > 1)."""
    known = ev.known
    for n, u in same_shape_arrays(ev):
        for text, region in ((f"{n} <= 0", u <= 0), (f"{n} < 0", u < 0), (f"{n} >= 0", u >= 0), (f"{n} > 0", u > 0)):
            if np.array_equal(region[known], where[known]):
                return text
    for n, u in same_shape_arrays(ev):
        inside, outside = u[known & where], u[known & ~where]
        if not inside.size or not outside.size or not np.all(np.isfinite(u[known])):
            continue
        if inside.min() > outside.max():
            return f"{n} > {_between(float(outside.max()), float(inside.min()))}"
        if inside.max() < outside.min():
            return f"{n} < {_between(float(inside.max()), float(outside.min()))}"
    return None


def _between(lo: float, hi: float) -> str:
    """The shortest number strictly between lo and hi (a threshold read off the data: 1 for a clip at 1)."""
    for digits in range(0, 7):
        for value in sorted({round(lo, digits), round(hi, digits), round((lo + hi) / 2, digits)}, key=abs):
            if lo < value < hi:
                return f"{value:.{digits}f}" if digits else f"{value:.0f}"
    return f"{(lo + hi) / 2:.4g}"


def _complement(region: str | None) -> str:
    if region is None:
        return ""
    for a, b in (("<=", ">"), (">=", "<"), ("<", ">="), (">", "<=")):
        if f" {a} " in region:
            return region.replace(f" {a} ", f" {b} ")
    return region


def wrong_entries(ev: Evidence) -> np.ndarray:
    wrong = np.zeros(ev.shape, dtype=bool)
    for c, t, e in zip(ev.claimed, ev.true, ev.errors):
        scale = max(largest_measured(t), 1e-300)
        wrong |= np.abs(c - np.nan_to_num(t)) > SAME * scale + ERROR_SPREAD * np.nan_to_num(e, posinf=0.0)
    return wrong & ev.known


# An axis of this size at least says a slice wrong by a factor; of 2, only a slice left at 0 is said.
ONE_SLICE_SIZE_MIN = 3


def _one_slice_wrong(ev: Evidence) -> dict[str, Any] | None:
    """Right everywhere but on one index of one axis (one time step, one head, one channel)."""
    if not has_claims(ev) or not ev.whole or len(ev.shape) < 2:
        return None
    wrong = wrong_entries(ev)
    if wrong.sum() < 2:
        return None
    for axis, size in enumerate(ev.shape):
        if size < 2:
            continue
        others = tuple(a for a in range(len(ev.shape)) if a != axis)
        hit = np.flatnonzero(wrong.any(axis=others))
        if len(hit) != 1:
            continue
        i = int(hit[0])
        where = (slice(None),) * axis + (i,)
        inside = np.zeros(ev.shape, dtype=bool)
        inside[where] = True
        r = fitted_factor(ev, [np.where(inside, t, np.nan) for t in ev.true], inside)
        if r is not None and abs(r) < SAME:
            there = "it is 0 there"
        elif size < ONE_SLICE_SIZE_MIN:  # of two halves, one wrong by a factor is no place, only a count
            continue
        elif r is not None and explains(ev, [np.where(inside, r * t, t) for t in ev.true]):
            there = f"it is {r:.4g} times the true gradient there"
        else:  # wrong there in no way a fit says: the count says where (a slice is a pattern, not a cause)
            continue
        return {"what": f"it is right everywhere except at index {i} of axis {axis} of {ev.name} (one time step, "
                        f"head or channel of {size}): {there}"}
    return None


def _indexing(ev: Evidence) -> list[tuple[str, np.ndarray]]:
    """The integer inputs that index the gradient's rows with some row more than once and whose shape
    leads the first output's (an embedding's W[idx]: output entry p holds row idx[p])."""
    if not ev.outputs or not len(ev.shape):
        return []
    first = np.shape(ev.outputs[0])
    found = []
    for n, idx in ev.inputs.values.items():
        if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu" or not idx.size:
            continue
        if idx.min() < 0 or idx.max() >= ev.shape[0] or first[:idx.ndim] != idx.shape:
            continue
        if len(np.unique(idx)) < idx.size:
            found.append((n, idx))
    return found


def _repeated_douts(ev: Evidence) -> dict[str, list[tuple]]:
    """Per such input: the douts kept at the first (or the last) output entry of each repeated index and 0
    at its other ones, the rest as they are: the truth for them is what keeping one of them gives."""
    found: dict[str, list[tuple]] = {}
    for n, idx in _indexing(ev):
        for which in ("first", "last"):
            douts = []
            for dout in ev.douts[:ev.random]:
                kept = np.array(dout[0], copy=True)
                for value in np.unique(idx):
                    at = np.argwhere(idx == value)
                    for p in (at[1:] if which == "first" else at[:-1]):
                        kept[tuple(p)] = 0
                douts.append((kept, *dout[1:]))
            found[f"repeated {n} {which}"] = douts
    return found


def _repeated_rows(ev: Evidence) -> dict[str, Any] | None:
    """Wrong exactly on rows indexed more than once, and there the truth for a dout that keeps one of their
    output entries: the others' gradients are written over, not added."""
    if not has_claims(ev) or not len(ev.shape):
        return None
    wrong = wrong_entries(ev)
    rows = sorted({int(w[0]) for w in np.argwhere(wrong)})
    if not rows:
        return None
    for n, idx in _indexing(ev):
        values, counts = np.unique(idx, return_counts=True)
        repeated = {int(v) for v, k in zip(values, counts) if k > 1}
        if not set(rows) <= repeated:
            continue
        if any(key in ev.moved and explains(ev, ev.moved[key]) for key in (f"repeated {n} last", f"repeated {n} first")):
            return {"index": n, "shown": _shown_rows(rows), "read": ""}
    return _repeated_in_lookup(ev, rows)


def _shown_rows(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:EXAMPLES])) + (" …" if len(rows) > EXAMPLES else "")


def _repeated_in_lookup(ev: Evidence, rows: list[int]) -> dict[str, Any] | None:
    """A lookup's truth, c · scatter(idx, dout · w) (a bag's dout spread over its positions, summed or
    averaged, weighted or not: indexing.py), and the claim the same with `+=` through a fancy index, which
    keeps one position's values at each repeated row: read from the truth alone, for any shape of idx."""
    if len(ev.outputs) != 1 or not ev.whole:
        return None
    out = tuple(np.shape(ev.outputs[0]))
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts]
    if any(d.shape != out for d in douts):
        return None
    rest = tuple(ev.shape[1:])
    for n, idx, bag in indexing.lookups(ev.shape, out, ev.inputs.values, _table_and_output(ev)):
        values, counts = np.unique(idx, return_counts=True)
        if not set(rows) <= {int(v) for v, k in zip(values, counts) if k > 1}:
            continue
        spreads = [indexing.spread(d, idx, bag, rest) for d in douts]
        for _, w in [("", None), *indexing.per_position(ev.inputs.values, idx, ev.name)]:
            placed = [indexing.weighted(s, w) for s in spreads]
            c = fitted_factor(ev, [indexing.scatter(idx, p, ev.shape) for p in placed], claimed=ev.true)
            if c is None or close_to(c, 0.0) or not explains(
                    ev, [c * indexing.scatter(idx, p, ev.shape) for p in placed], claimed=ev.true):
                continue  # the forward is not this lookup
            for which in ("last", "first"):
                if explains(ev, [c * indexing.assigned(idx, p, ev.shape, which) for p in placed]):
                    return {"index": n, "shown": _shown_rows(rows), "read": _read_said(ev, n)}
    return None


def _table_and_output(ev: Evidence) -> tuple[Any, Any]:
    """This input's value and the forward's output: a lookup's index that is no input is read off them."""
    return (ev.inputs.leaf(ev.name) if ev.name in ev.inputs.places else None), ev.outputs[0]


def _read_said(ev: Evidence, n: str) -> str:
    """Where the index is read off the output, what it is (it has no name of the call's: an input called
    READ is the call's own, and then none is read)."""
    if n != indexing.READ or n in ev.inputs.values:
        return ""
    return f" (the index the forward reads {ev.name}'s rows with, read off its output: {ev.name}[{n}])"


# ----- a reduction's dout put back along the wrong axis ---------------------------------------------
def _broadcast_axis(ev: Evidence) -> dict[str, Any] | None:
    """The forward reduces axis a (one output, the input's shape without a) and the truth is dout put back
    along a times a local gradient the douts share; the claim is dout put back along another axis b times
    that same local gradient (reductions.py): dout's reduced axis is not restored before it broadcasts."""
    if not has_claims(ev) or len(ev.outputs) != 1 or ev.random < 2:
        return None
    out = np.shape(ev.outputs[0])
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    for a in reductions.reduced_axes(ev.shape, out):
        places = reductions.other_placements(ev.shape, out, a)
        if not places:
            continue
        local = reductions.local_gradient(ev.true[0], douts[0], a)
        if not explains(ev, [reductions.placed(d, a, local) for d in douts], claimed=ev.true):
            continue  # not one local gradient for every dout: not a reduction's
        for b in places:
            if explains(ev, [reductions.placed(d, b, local) for d in douts]):
                return {"a": a, "b": b}
    return None


# ----- sums over axes (means subtracted, normalisations) ------------------------------------------
def _groupings(shape: tuple) -> list[tuple[tuple[int, ...], str, int | None]]:
    """The gradient's shape as is, and with one axis split into groups (group norm's channels):
    (shape, how the split is said, which axis was split)."""
    found: list[tuple[tuple[int, ...], str, int | None]] = [(tuple(shape), "", None)]
    for axis, size in enumerate(shape):
        for groups in range(2, size):
            if size % groups == 0 and len(shape) < 6:
                split = tuple(shape[:axis]) + (groups, size // groups) + tuple(shape[axis + 1:])
                found.append((split, f"axis {axis} in {groups} groups of {size // groups}", axis))
    return found


def _zero_sum(gs: Sequence[np.ndarray], axes: tuple[int, ...]) -> bool:
    for g in gs:
        total = np.abs(g.sum(axis=axes))
        size = np.abs(g).sum(axis=axes)
        if np.any(total > SAME * np.maximum(size, 1e-300)):
            return False
    return True


def _minimal_zero_sums(gs: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
    ndim = gs[0].ndim
    found: list[tuple[int, ...]] = []
    for count in range(1, ndim + 1):
        for axes in itertools.combinations(range(ndim), count):
            if any(set(f) <= set(axes) for f in found) or any(gs[0].shape[a] < 2 for a in axes):
                continue
            if _zero_sum(gs, axes):
                found.append(axes)
    return found


def _axes_said(axes: tuple[int, ...], split: int | None, words: str) -> str:
    """Axes of a (possibly split) shape in the user's axes: the split axis's two parts are named by words."""
    if split is None:
        return axes_words(axes)
    parts = []
    for a in axes:
        if a == split:
            parts.append("across the groups of " + words.split(" in ")[0])
        elif a == split + 1:
            parts.append("within each group of " + words.split(" in ")[0])
        else:
            parts.append(f"axis {a - 1 if a > split else a}")
    return ", ".join(parts)


def _whole_beside_its_output(ev: Evidence, ndim: int) -> bool:
    """What the fits of a normalisation's or a softmax's gradient need: every entry of a claim of at least
    `ndim` axes measured in full, for two random douts at least, and a first output of the gradient's shape."""
    return (ev.whole and has_claims(ev) and bool(np.all(ev.known)) and len(ev.shape) >= ndim and ev.random >= 2
            and bool(ev.outputs) and np.shape(ev.outputs[0]) == ev.shape)


def _too_few_axes(ev: Evidence) -> dict[str, Any] | None:
    """The truth is a normalisation's gradient over a set of axes A and the claim is the same formula with
    its means over another set B (the forward's scale and normalised output kept): the backward's mean (or
    variance) is over B where the forward's is over A. Said only when that predicted claim is the claim:
    a claim with another mistake besides (a factor, a mean scaled by 0.9) has the same sums and is not this."""
    inside = _attention_sums(ev)
    if inside is not None:
        return inside
    loss = _loss_softmax_axis(ev)
    if loss is not None:
        return loss
    if not _whole_beside_its_output(ev, 2):
        return None
    sums = _softmax_sums(ev)
    if sums is not None and sums[1]:
        a, b = sums
        return {"a": _axes_said(a, None, ""), "b": _axes_said(b, None, ""), "what": "softmax", "sums": "sums",
                "few": "too few axes" if set(b) < set(a) else "other axes"}
    for shape, words, split in _groupings(ev.shape):
        true = [t.reshape(shape) for t in ev.true[:ev.random]]
        axes = [a for a in range(len(shape)) if shape[a] > 1]
        for a in _minimal_zero_sums(true):
            if split is not None and split not in a and split + 1 not in a:
                continue  # the split says nothing about this sum
            for variance, form in [(v, f) for f in _scaled_forms(ev) for v in (False, True)]:
                model = _normalisation(ev, shape, a, variance, form)
                if model is None:
                    continue
                for k in range(1, len(axes) + 1):
                    for b in itertools.combinations(axes, k):
                        if b != a and explains(ev, [p.reshape(ev.shape) for p in model(b)]):
                            few = "too few axes" if set(b) < set(a) else "other axes"
                            return {"a": _axes_said(a, split, words), "b": _axes_said(b, split, words), "few": few,
                                    "what": "mean (or a normalisation)", "sums": "means (or variances)"}
    return None


def _loss_scores(ev: Evidence) -> tuple[np.ndarray, list[float]] | None:
    """A loss of one number on the scores being differentiated (loss_axes.py): the scores and each dout's
    one number; None for any other layer."""
    if ev.outputs and np.ndim(ev.outputs[0]) or len(ev.shape) != loss_axes.SCORE_AXES or not has_claims(ev):
        return None
    scores = dict(float_inputs(ev)).get(ev.name)
    if scores is None or scores.shape != ev.shape or not ev.whole:
        return None
    return scores, [float(np.sum(d[0])) for d in ev.douts]


def _loss_softmax_axis(ev: Evidence) -> dict[str, Any] | None:
    """A classifier's loss, one number (loss_axes.py): the truth is k · (softmax(s) − onehot(y)) with the
    softmax over the classes' axis a, and the claim the same with its softmax over the other axis b."""
    read = _loss_scores(ev)
    if read is None:
        return None
    scores, douts = read
    for n, y, a in loss_axes.labelled_axes(scores, ev.inputs.values):
        right = loss_axes.gradient(scores, y, a, a)
        k = fitted_factor(ev, [d * right for d in douts], claimed=ev.true)
        if k is None or close_to(k, 0.0) or not explains(ev, [k * d * right for d in douts], claimed=ev.true):
            continue  # not this loss
        b = 1 - a
        if explains(ev, [k * d * loss_axes.gradient(scores, y, a, b) for d in douts]):
            return {"a": f"axis {a}", "b": f"axis {b}", "few": "another axis", "sums": "softmax's sums",
                    "what": f"softmax in a classifier's loss (the classes on axis {a}, which {n} indexes)"}
    return None


# Label smoothing's ε is named only inside (SMOOTHING_LOW, 1): a smaller one is a right loss's rounding.
SMOOTHING_LOW = 1e-3


def _label_smoothing(ev: Evidence) -> dict[str, Any] | None:
    """A classifier's loss, one number, against smoothed targets: the truth is k · (softmax(s) − T), T =
    (1 − ε)·onehot(y) + ε/C (ε read from the constant the truth is off the labels), and the claim is
    k · (softmax(s) − onehot(y)): the backward forgets the smoothing."""
    read = _loss_scores(ev)
    if read is None:
        return None
    scores, douts = read
    for n, y, a in loss_axes.labelled_axes(scores, ev.inputs.values):
        p, hot, classes = softmax(scores, axis=a), loss_axes.onehot(y, ev.shape, a), ev.shape[a]
        fit = loss_axes.smoothing_fit(ev.true, douts, p, hot, classes)
        if fit is None or not SMOOTHING_LOW < fit[1] < 1.0:
            continue
        k, eps = fit
        target = loss_axes.smoothed(hot, eps, classes)
        if not explains(ev, [k * d * (p - target) for d in douts], claimed=ev.true):
            continue  # not a smoothed loss
        if explains(ev, [k * d * (p - hot) for d in douts]):
            inverse = round(1 / k)
            scale = f"(1/{inverse})" if inverse > 1 and close_to(k, 1 / inverse) else f"{k:.4g}"
            return {"labels": n, "eps": f"{eps:.4g}", "k": scale, "axis": a}
    return None


def _scaled_forms(ev: Evidence) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """What the normalised x̂ and the dout's weight may be read from: the output alone (None), else, for a
    layer whose output is gamma·x̂ + beta with gamma varying inside a block (a layer norm's per-feature
    gamma), the input itself centred (x̂ up to the fitted scale) and each other input that broadcasts to
    the gradient's shape as the gamma dout is multiplied by (dx̂ = dout·gamma)."""
    x = dict(float_inputs(ev)).get(ev.name)
    if x is None or x.shape != ev.shape:
        return [None]
    forms: list[tuple[np.ndarray, np.ndarray] | None] = [None]
    for name, v in float_inputs(ev):
        if name == ev.name or v.ndim < 1 or not _varies(v):
            continue
        try:
            weight = np.broadcast_to(v, ev.shape)
        except ValueError:
            continue
        forms.append((x, np.array(weight)))
    return forms


def _attention_sums(ev: Evidence) -> dict[str, Any] | None:
    """Q's or K's gradient in attention, softmax(c·Q @ K.T + M) @ V read from the values (attention.py),
    whose claim is the same gradient with dS's softmax sums over another axis than the rows (or left out)."""
    if len(ev.shape) < 2 or not has_claims(ev) or not ev.whole or not np.all(ev.known) or ev.random < 2:
        return None
    read = attention_read(ev)
    if read is None or not explains(ev, read.model((read.rows,)), claimed=ev.true[:ev.random]):
        return None
    for b in ((read.rows - 1,), (read.rows - 1, read.rows)):
        if explains(ev, read.model(b)):
            return {"a": f"A's axis {read.rows}, its rows", "b": "A's " + _axes_said(b, None, ""), "sums": "sums",
                    "what": f"softmax inside the attention, A = {read.weights},", "few": "other axes"}
    return None


def attention_read(ev: Evidence) -> attention.Read | None:
    """This input as attention's Q or K (attention.py), for the random douts; None where it is not one."""
    if len(ev.outputs) != 1 or len(ev.shape) < 2:
        return None
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    booleans = [(n, np.asarray(v)) for n, v in ev.inputs.values.items()
                if isinstance(v, np.ndarray) and v.dtype == np.bool_]
    return attention.attention_models(ev.name, float_inputs(ev), np.asarray(ev.outputs[0], dtype=np.float64),
                                      douts, booleans)


def _normalisation(ev: Evidence, shape: tuple, a: tuple[int, ...], variance: bool,
                   form: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> Callable[[tuple[int, ...]], list[np.ndarray]] | None:
    """_normalisation_fit as the formula with its means over other axes."""
    fitted = _normalisation_fit(ev, shape, a, variance, form)
    if fitted is None:
        return None
    douts, scale, xhat = fitted
    return lambda b: _normalised(douts, scale, xhat, b)


def _normalisation_fit(ev: Evidence, shape: tuple, a: tuple[int, ...], variance: bool,
                       form: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
    """The truth as the gradient of a mean subtracted (and, with `variance`, a division by the standard
    deviation) over the blocks of axes `a`: truth = w·(d − mean(d) − x̂·mean(d·x̂)) per block, d the dout,
    x̂ the output centred and scaled per block, w the block's scale, fitted. Returns the same formula with
    its means over other axes (as a backward that keeps the forward's x̂ and scale writes it), or None
    where the truth is not that. With `form` (source, weight), x̂ is read from source instead of the
    output and d is the dout times weight (_scaled_forms)."""
    source, weight = form if form is not None else (ev.outputs[0], np.ones(ev.shape))
    out = np.asarray(source, dtype=np.float64).reshape(shape)
    douts = [(np.asarray(d[0], dtype=np.float64) * weight).reshape(shape) for d in ev.douts[:ev.random]]
    true = [t.reshape(shape) for t in ev.true[:ev.random]]
    label = _blocks(shape, a)
    z = out - _block_mean(out, label)
    scale, xhat = np.zeros(shape), np.zeros(shape)
    for block in np.unique(label):
        inside = label == block
        rows = [np.stack([d[inside] - d[inside].mean()] + ([z[inside] * np.mean(d[inside] * z[inside])]
                                                           if variance else []), axis=1) for d in douts]
        basis, target = np.concatenate(rows), np.concatenate([t[inside] for t in true])
        coef = np.linalg.lstsq(basis, target, rcond=None)[0]
        if variance and (abs(coef[0]) < 1e-300 or -coef[1] / coef[0] <= 0):  # truth = w·(d − m) − w·c·z·mean(d·z)
            return None
        scale[inside] = coef[0]
        xhat[inside] = z[inside] * math.sqrt(-coef[1] / coef[0]) if variance else 0.0
    if not explains(ev, [model.reshape(ev.shape) for model in _normalised(douts, scale, xhat, a)], claimed=ev.true):
        return None
    return douts, scale, xhat


def _normalised(douts: Sequence[np.ndarray], scale: np.ndarray, xhat: np.ndarray, axes: tuple[int, ...]) -> list[np.ndarray]:
    """w·(d − mean(d) − x̂·mean(d·x̂)), the means over `axes`."""
    return [scale * (d - d.mean(axis=axes, keepdims=True) - xhat * (d * xhat).mean(axis=axes, keepdims=True))
            for d in douts]


def _block_mean(v: np.ndarray, label: np.ndarray) -> np.ndarray:
    sums = np.bincount(label.ravel(), weights=v.ravel())
    counts = np.bincount(label.ravel())
    return (sums / counts)[label]


# ----- the part of dout a normalisation's sums see ---------------------------------------------------
# The truth for the projected douts must weigh at least this share of the truth for the douts themselves,
# or the claim agreeing with it says nothing.
PROJECTED_WEIGHT = 1e-2


def _blocks(shape: tuple, axes: tuple[int, ...]) -> np.ndarray:
    """Which block each entry is in: the entries along `axes` with the other indices fixed are one block."""
    others = [a for a in range(len(shape)) if a not in axes]
    if not others:
        return np.zeros(shape, dtype=np.int64)
    index = np.indices(shape)
    return np.ravel_multi_index([index[a] for a in others], [shape[a] for a in others])


def _projected(ev: Evidence, key: str, reductions: Sequence[tuple[tuple, tuple[int, ...]]]) -> list[tuple] | None:
    """_orthogonal_douts, made once per key (the douts are asked for on every walk of the table)."""
    if key not in ev.projected:
        ev.projected[key] = _orthogonal_douts(ev, reductions)
    return ev.projected[key]


def _orthogonal_douts(ev: Evidence, reductions: Sequence[tuple[tuple, tuple[int, ...]]]) -> list[tuple] | None:
    """Each random dout with its first output's part less its projection onto 1 and that output on every
    block of every (shape, axes) in `reductions`: the part of dout a mean, a variance or a softmax's sum
    over those blocks does not see. Onto the output alone where 1 as well would leave too little; None
    where even that leaves fewer than two numbers per dout."""
    out = np.asarray(ev.outputs[0], dtype=np.float64)
    labels = [_blocks(shape, axes).ravel() for shape, axes in reductions]
    for with_one in (True, False):
        columns = []
        for label in labels:
            for block in np.unique(label):
                inside = (label == block).astype(np.float64)
                columns += [inside, inside * out.ravel()] if with_one else [inside * out.ravel()]
        basis = np.stack(columns, axis=1)
        if np.linalg.matrix_rank(basis) <= out.size - 2:
            break
    else:
        return None
    douts = []
    for dout in ev.douts[:ev.random]:
        d = np.asarray(dout[0], dtype=np.float64).ravel()
        rest = d - basis @ np.linalg.lstsq(basis, d, rcond=None)[0]
        douts.append((rest.reshape(out.shape).astype(np.asarray(dout[0]).dtype), *dout[1:]))
    return douts


def _right_off_the_sums(ev: Evidence, key: str) -> bool:
    """The claim is the truth for the projected douts under `key` (which the truth for them does not make
    trivial: it weighs something)."""
    truth, claimed = ev.moved.get(key), ev.moved_claimed.get(key)
    if truth is None or claimed is None or any(c is None for c in claimed):
        return False
    if max(largest_measured(t) for t in truth) <= PROJECTED_WEIGHT * max(largest_measured(t) for t in ev.true):
        return False
    errors = ev.moved_errors.get(key) or [np.zeros(ev.shape) for _ in truth]
    there = replace(ev, true=list(truth), errors=list(errors), claimed=list(claimed), douts=ev.douts[:len(truth)])
    return explains(there, truth)


def _sum_path_douts(ev: Evidence) -> dict[str, list[tuple]]:
    """Per axis of the first output: the douts orthogonal to 1 and the output along it."""
    if not ev.outputs:
        return {}
    shape = np.shape(ev.outputs[0])
    found: dict[str, list[tuple]] = {}
    for axis, size in enumerate(shape):
        if size >= 2:
            douts = _projected(ev, f"sum path {axis}", [(shape, (axis,))])
            if douts is not None:
                found[f"sum path {axis}"] = douts
    return found


SoftmaxModel = Callable[..., list[np.ndarray]]  # (sum axes, weighted=True) -> the gradient per dout


def _softmax_forms(ev: Evidence) -> Iterator[tuple[tuple[int, ...], SoftmaxModel]]:
    """The output is a softmax (or its log) over axes a and the truth its gradient, s·(d − Σ_a s·d) (or
    d − s·Σ_a d), read from the values: each (a, model), model(b, weighted) the same gradient with the sums
    over axes b (none: left out), of s·d (or, unweighted, of d alone)."""
    if not _whole_beside_its_output(ev, 1):
        return
    out = np.asarray(ev.outputs[0], dtype=np.float64)
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:ev.random]]
    axes = [i for i in range(len(ev.shape)) if ev.shape[i] > 1]
    for log in (False, True):
        with np.errstate(all="ignore"):
            p = np.exp(out) if log else out
        if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
            continue

        def model(b: tuple[int, ...], weighted: bool = True, p: np.ndarray = p, log: bool = log) -> list[np.ndarray]:
            if log:
                return [d - p * (d.sum(axis=b, keepdims=True) if b else d) for d in douts]
            summed = [p * d if weighted else d for d in douts]
            return [p * (d - (s.sum(axis=b, keepdims=True) if b else s)) for d, s in zip(douts, summed)]

        for k in range(1, len(axes) + 1):
            for a in itertools.combinations(axes, k):
                if np.allclose(p.sum(axis=a), 1.0, rtol=0, atol=1e-9) and \
                        explains(ev, model(a), claimed=ev.true[:ev.random]):
                    yield a, model


def _softmax_sums(ev: Evidence) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The output is a softmax (or its log) over axes a, the truth its gradient, and the claim the same with
    the sums over axes b instead (b may be none: the sum left out): (a, b), read from the values, or None."""
    axes = [i for i in range(len(ev.shape)) if ev.shape[i] > 1]
    for a, model in _softmax_forms(ev):
        for m in range(0, len(axes) + 1):
            for b in itertools.combinations(axes, m):
                if b != a and explains(ev, model(b)):
                    return a, b
        return None
    return None


def _unweighted_sum(ev: Evidence) -> dict[str, Any] | None:
    """A softmax's gradient s·(d − Σ s·d), of its output or inside attention (dS for Q's or K's gradient,
    attention.py), whose claim sums d unweighted: s·(d − Σ d)."""
    if not has_claims(ev):
        return None
    for a, model in _softmax_forms(ev):
        if explains(ev, model(a, weighted=False)):
            return {"of": f"a softmax's over {_axes_said(a, None, '')}", "s": "s", "d": "dout"}
        return None
    if not ev.whole or not np.all(ev.known) or ev.random < 2:
        return None
    read = attention_read(ev)
    if read is not None and explains(ev, read.model((read.rows,)), claimed=ev.true[:ev.random]) \
            and explains(ev, read.model((read.rows,), weighted=False)):
        return {"of": f"attention's, A = {read.weights}, through dS (its sums over A's rows)", "s": "A", "d": "dA"}
    return None


def _statistics_as_constants(ev: Evidence) -> str | None:
    """The truth is a normalisation's gradient over blocks of axes (a layer norm's several axes, a group
    norm's groups: _normalisation_fit) and the claim is it with the mean, the variance or both taken as
    constants: w·d, w·(d − mean(d)) or w·(d − x̂·mean(d·x̂)). Where the blocks are more than one axis; one
    axis is _mean_path's own test."""
    if not _whole_beside_its_output(ev, 2):
        return None
    for shape, words, split in _groupings(ev.shape):
        for a in _minimal_zero_sums([t.reshape(shape) for t in ev.true[:ev.random]]):
            if split is None and len(a) < 2 or split is not None and (split in a) == (split + 1 in a):
                continue  # one axis is _mean_path's own test; a split wholly in or out of a is no group
            fitted = _normalisation_fit(ev, shape, a, True)
            if fitted is None:
                continue
            douts, w, xhat = fitted
            constants = {"the mean and the variance": [w * d for d in douts],
                         "the variance": [w * (d - d.mean(axis=a, keepdims=True)) for d in douts],
                         "the mean": [w * (d - xhat * (d * xhat).mean(axis=a, keepdims=True)) for d in douts]}
            for which, predicted in constants.items():
                if explains(ev, [p.reshape(ev.shape) for p in predicted]):
                    over = _axes_said(a, split, words)
                    return (f"the true gradient is a normalisation's (its statistics taken "
                            f"{'over ' if split is None else ''}{over}), and the claim is that gradient with "
                            f"{which} taken as constants")
    return None


def _claim_projected(ev: Evidence) -> str | None:
    """The truth is the claim with its part along 1 and the input x removed on each block of the axes the
    truth sums to 0 over (a group norm's groups, a layer norm's several axes; one axis is _mean_path's
    own test, as in _statistics_as_constants): a normalisation's gradient whose
    backward took the mean, the variance or both as constants, with any per-channel gamma inside (the
    claim carries it; _statistics_as_constants fits one scale per block). Where one number or one c·x for
    all blocks is the whole difference, it is no statistic's path."""
    x = dict(float_inputs(ev)).get(ev.name)
    if x is None or x.shape != ev.shape or not _whole_beside_its_output(ev, 2):
        return None
    difference = [c - t for c, t in zip(ev.claimed, ev.true)]
    for basis in ([np.ones(ev.shape)], [x]):
        r = fitted_factor(ev, basis * len(difference), claimed=difference)
        if r is not None and explains(ev, [t + r * basis[0] for t in ev.true]):
            return None
    for shape, words, split in _groupings(ev.shape):
        for a in _minimal_zero_sums([t.reshape(shape) for t in ev.true[:ev.random]]):
            if split is None and len(a) < 2 or split is not None and (split in a) == (split + 1 in a):
                continue  # one axis is _mean_path's own test; a split wholly in or out of a is no group
            label = _blocks(shape, a).ravel()
            if np.bincount(label).min() < 2 + AFFINE_SPARE:
                continue
            projected = [_off_one_and(c.ravel(), x.ravel(), label).reshape(ev.shape) for c in ev.claimed]
            if explains(ev, projected, claimed=ev.true):
                over = _axes_said(a, split, words)
                return (f"the true gradient is the claim with its mean and its part along {ev.name} removed "
                        f"{'over ' if split is None else ''}{over} (a normalisation's gradient): the backward takes "
                        "the statistics (the mean, the variance or both) as constants")
    return None


def _off_one_and(c: np.ndarray, x: np.ndarray, label: np.ndarray) -> np.ndarray:
    """c less its least-squares part along 1 and x on each block of `label`."""
    out = np.empty_like(c)
    for block in np.unique(label):
        inside = label == block
        basis = np.stack([np.ones(int(inside.sum())), x[inside]], axis=1)
        out[inside] = c[inside] - basis @ np.linalg.lstsq(basis, c[inside], rcond=None)[0]
    return out


def _mean_path_douts(ev: Evidence) -> dict[str, list[tuple]]:
    """_sum_path_douts, but none where the claim's own numbers already show the statistics taken as
    constants: that test needs no other dout, and a norm's extra pass of differences is its costliest."""
    if has_claims(ev) and (_statistics_as_constants(ev) or _claim_projected(ev)):
        return {}
    return _sum_path_douts(ev)


def _mean_path(ev: Evidence) -> dict[str, Any] | None:
    """The truth sums to 0 along an axis for every dout (f is unchanged when the same amount is added
    along it), the claim does not, and claim − truth is what treating the mean and variance as constants
    leaves out; or the claim is right for every dout orthogonal to 1 and the output along an axis of the
    output and wrong for the rest (the part a mean, a variance or a softmax's sum over that axis sees:
    attention's dq, whose truth sums to 0 along no axis)."""
    if not has_claims(ev):
        return None
    said = _statistics_as_constants(ev) or _claim_projected(ev)
    if said is not None:
        return {"what": said}
    sums = _softmax_sums(ev)
    if sums is not None and not sums[1]:
        return {"what": f"the true gradient is a softmax's over {_axes_said(sums[0], None, '')}, and the claim is "
                        "it with the softmax's sum left out"}
    if ev.whole and np.all(ev.known) and len(ev.shape):
        for axis in range(len(ev.shape)):
            if ev.shape[axis] < 2:
                continue
            if not _zero_sum(ev.true, (axis,)) or any(_zero_sum([c], (axis,)) for c in ev.claimed):
                continue
            softmax_of = _softmax_left_out(ev, axis)
            if softmax_of is not None and _held_constant(ev, axis):
                how = "left out" if _one_per_line(ev, axis) else "given the wrong factor"
                return {"what": f"it differs from the true gradient by a multiple of softmax({softmax_of}) along "
                                f"axis {axis}, one per line (the gradient of log Σ exp({softmax_of}): a "
                                f"cross-entropy's softmax p is {how})"}
            if _affine_along(ev, axis) and _held_constant(ev, axis):
                return {"what": f"the true gradient sums to 0 over axis {axis} (f does not change "
                                "when the same amount is added along that axis, as after subtracting a mean over "
                                "it, or inside a softmax) and the claim does not"}
    wider = _minimal_zero_sums(ev.true[:ev.random]) \
        if ev.whole and np.all(ev.known) and np.shape(ev.outputs[0]) == ev.shape else []
    for key in _sum_path_douts(ev):
        axis = int(key.split()[-1])
        if any({axis} < set(a) for a in wider):  # the truth's mean is over more axes: not one over this axis
            continue
        if _right_off_the_sums(ev, key) and _held_constant(ev, axis):
            return {"what": f"it is right for every dout orthogonal to 1 and to the output along the output's axis "
                            f"{axis}, and wrong for the others (the part of dout a mean, a variance or a softmax's "
                            "sum over that axis sees)"}
    return None


def _statistic_path(ev: Evidence, axis: int) -> tuple[Any, Any] | bool | None:
    """The truth split (statistic_path.split, over the random douts and those orthogonal to the sums along
    `axis`) into dout times one number per entry and a statistic's path along `axis`, and the claim that
    truth with the path's part along 1 (a mean's) times k1 and the rest (a variance's, an rms's, a sum's)
    times k2, each held (0), kept (1) or a clean factor, or one of them the line's own statistic to a power
    (statistic_path.PerLine): (k1, k2). False where the truth splits and no such
    claim is the claim; None where it does not split (no gradient with the statistic held constant is
    predicted: a product inside, as attention's dq)."""
    if not _whole_beside_its_output(ev, 1):
        return None
    key = f"sum path {axis}"
    more = ev.moved.get(key) if ev.moved_claimed.get(key) and ev.projected.get(key) else None
    douts = [*ev.douts[:ev.random], *((ev.projected.get(key) or []) if more else [])]
    truths = [*ev.true[:ev.random], *(more or [])]
    errors = [*ev.errors[:ev.random], *((ev.moved_errors.get(key) or [np.zeros(ev.shape) for _ in more])
                                        if more else [])]
    claims = [*ev.claimed[:ev.random], *(ev.moved_claimed[key] if more else [])]
    if any(c is None for c in claims) or any(np.shape(d[0]) != ev.shape for d in douts):
        return None
    first = [np.asarray(d[0], dtype=np.float64) for d in douts]
    fitted = statistic_path.split(first, truths, [v for _, v in same_shape_arrays(ev)], axis)
    if fitted is None:
        return None
    w, paths = fitted
    there = replace(ev, true=truths, errors=errors, claimed=claims, douts=douts, random=len(douts))
    if max(largest_measured(p) for p in paths) <= PROJECTED_WEIGHT * max(largest_measured(t) for t in truths) \
            or not explains(there, [w * d + p for d, p in zip(first, paths)], claimed=truths):
        return None
    ones = [statistic_path.along_one(p, axis) for p in paths]
    held, kept = Fraction(statistic_path.HELD), Fraction(statistic_path.KEPT)
    candidates: list[tuple[Any, Any]] = [(held, held), (held, kept), (kept, held)]
    for k in statistic_path.factors(np.shape(ev.outputs[0])):
        candidates += [(k, k), (kept, k), (k, kept)]
    inputs = [(n, v) for n, v in float_inputs(ev) if v.shape == ev.shape and _varies(v)]
    for line_k in statistic_path.line_statistics(inputs, axis):
        candidates += [(kept, line_k), (line_k, kept), (line_k, line_k)]
    for k1, k2 in candidates:
        predicted = [t + _scale(k1) * o + _scale(k2) * (p - o) for t, p, o in zip(truths, paths, ones)]
        if explains(there, predicted):
            return k1, k2
    return False


def _scale(k: Fraction | statistic_path.PerLine) -> Any:
    """What a path times k adds to it: k − 1 (a number, or one per line)."""
    return k.values - 1.0 if isinstance(k, statistic_path.PerLine) else float(k - 1)


def _held_constant(ev: Evidence, axis: int) -> bool:
    """The claim is the truth with a statistic along `axis` held constant (its path's factor 0, the others
    kept), or no such gradient is predicted (the reading by the sums alone stands)."""
    reading = _statistic_path(ev, axis)
    return reading is None or isinstance(reading, tuple) and statistic_path.HELD in reading


def _statistic_path_factor(ev: Evidence) -> dict[str, Any] | None:
    """The claim is the truth with a statistic's path along an axis of the output (a mean's, a variance's,
    an rms's, a softmax's sum's) scaled by a clean factor, nothing held constant (_statistic_path)."""
    if not has_claims(ev):
        return None
    shape = np.shape(ev.outputs[0]) if ev.outputs else ()
    for axis in range(len(ev.shape)):
        if ev.shape[axis] < 2:
            continue
        reading = _statistic_path(ev, axis)
        if not isinstance(reading, tuple) or statistic_path.HELD in reading:
            continue
        k1, k2 = reading
        which = ("the term through a statistic" if k1 == k2 else
                 "the term through a mean (its part along 1; the rest is right)" if k2 == statistic_path.KEPT else
                 "the term through a variance or an rms (its part beside 1; the mean's is right)")
        wrong, right = (k1, statistic_path.MEAN_POWER) if k2 == statistic_path.KEPT else \
            (k2, statistic_path.SPREAD_POWER)
        how = statistic_path.said_per_line(wrong, right, axis) if isinstance(wrong, statistic_path.PerLine) \
            else statistic_path.said(wrong, shape, axis)
        return {"axis": axis, "which": which, "how": how, "every": ev.every}
    return None


# Entries beyond the numbers fitted that the fit below must explain, over all its lines: with fewer, a
# bias's three entries beside one input are "explained" by any claim.
AFFINE_SPARE = 3


def _softmax_left_out(ev: Evidence, axis: int) -> str | None:
    """An input u of the gradient's shape with claim − truth = c·softmax(u) along `axis`, one c per line
    (a cross-entropy's −onehot/N for (p − onehot)/N: the log-sum-exp's gradient, whose sum the truth's
    zero sum needs, left out), the input's name; None where no input, or too few entries beyond the
    lines' numbers."""
    line = ev.shape[axis]
    lines = int(np.prod(ev.shape)) // line
    if lines * (line - 1) < AFFINE_SPARE:
        return None
    for n, u in same_shape_arrays(ev):
        if n.startswith("output"):
            continue
        p = softmax(u, axis=axis)
        predicted = []
        for t, c in zip(ev.true, ev.claimed):
            # c per line: least squares of (claim − truth) on p along the line
            per_line = np.sum((c - t) * p, axis=axis, keepdims=True) / np.sum(p * p, axis=axis, keepdims=True)
            predicted.append(t + per_line * p)
        if explains(ev, predicted):
            return n
    return None


def _one_per_line(ev: Evidence, axis: int) -> bool:
    """The claim is 0 on all but at most one entry of each line along `axis` (−onehot: nothing of p is left)."""
    return all(np.all(np.sum(np.abs(c) > SAME * max(float(np.max(np.abs(c))), 1e-300), axis=axis) <= 1)
               for c in ev.claimed)


def _affine_along(ev: Evidence, axis: int) -> bool:
    """claim − truth, along each line of `axis`, is a + b·u + c·o for an input u and an output o of the
    gradient's shape: what treating a mean and a variance over that axis (or a softmax's sum) as
    constants leaves out (the normalised x is affine in x along the line; softmax's term is its output
    times a number). Lines are fitted separately: a, b and c differ from line to line."""
    bases = [v for _, v in same_shape_arrays(ev)]
    line = ev.shape[axis]
    lines = int(np.prod(ev.shape)) // line
    if lines * (line - len(bases) - 1) < AFFINE_SPARE:  # a fit with as many numbers as entries explains anything
        return False
    for _, u in same_shape_arrays(ev):  # one number times an input explains it too: a term c·u, not a mean's path
        c = fitted_factor(ev, [u] * len(ev.claimed), claimed=[c - t for c, t in zip(ev.claimed, ev.true)])
        if c is not None and explains(ev, [t + c * u for t in ev.true]):
            return False
    for t, c in zip(ev.true, ev.claimed):
        difference = np.moveaxis(c - t, axis, -1).reshape(-1, line)
        columns = [np.moveaxis(b, axis, -1).reshape(-1, line) for b in bases]
        fitted = np.empty_like(difference)
        for i in range(len(difference)):
            basis = np.stack([np.ones(line)] + [col[i] for col in columns], axis=1)
            coef = np.linalg.lstsq(basis, difference[i], rcond=None)[0]
            fitted[i] = basis @ coef
        predicted = t + np.moveaxis(fitted.reshape(np.moveaxis(c, axis, -1).shape), -1, axis)
        if not explains(ev, [predicted], claimed=[c]):
            return False
    return True


# ----- several outputs ------------------------------------------------------------------------------
def _paths(ev: Evidence) -> dict[str, Any] | None:
    """With several outputs: the douts that feed one output each tell which output's path is wrong."""
    outputs = len(ev.outputs)
    if outputs < 2 or not has_claims(ev) or len(ev.douts) < ev.random + outputs:
        return None
    ok = []
    for k in range(ev.random, ev.random + outputs):
        single = Evidence(ev.name, [ev.true[k]], [ev.errors[k]], [ev.claimed[k]], [ev.raw[k]], ev.inputs, ev.outputs,
                          [ev.douts[k]], 1)
        ok.append(explains(single, [ev.true[k]]))
    wrong = [j + 1 for j, good in enumerate(ok) if not good]
    if not wrong or len(wrong) == outputs:
        return None
    right = [j + 1 for j, good in enumerate(ok) if good]
    return {"right": ", ".join(map(str, right)), "wrong": ", ".join(map(str, wrong))}


# ----- labels and lookups: an index mistake (indexing.py) -----------------------------------------
# The correct class's term is said wrong only where it is wrong on at least this many rows (one wrong
# entry could be any mistake at that entry).
LABEL_ROWS_MIN = 2


def _correct_class(ev: Evidence) -> dict[str, Any] | None:
    """Scores' gradient (N by C) with labels y: the claim differs from the truth only at the correct
    class's entries (i, y[i]), on several rows: the correct class's term is left out or wrong."""
    if not has_claims(ev) or not ev.whole:
        return None
    for n, y in indexing.labels(ev.shape, ev.inputs.values):
        hot = arrays.onehot(y, ev.shape[-1]).astype(bool)
        if not explains(ev, [np.where(hot, c, t) for c, t in zip(ev.claimed, ev.true)]):
            continue
        rows = np.argwhere(wrong_entries(ev).any(axis=-1))
        if len(rows) < LABEL_ROWS_MIN:
            continue
        shown = ", ".join(f"({','.join(map(str, i))},{int(y[tuple(i)])})" for i in rows[:EXAMPLES])
        where = f"{len(rows)} of the {y.size} rows, e.g. at {shown}"
        zero = [np.where(hot, 0.0, t) for t in ev.true]
        if explains(ev, zero):
            how = ("where it is 0: the correct class's term is left out (softmax's −1 at the label, a multiclass "
                   f"SVM's −count of the margins that pass, as dscores[np.arange(N), {n}] = "
                   "-dscores.sum(axis=1))")
        else:
            amounts = [float(np.mean((c - t)[hot])) for c, t in zip(ev.claimed, ev.true)]
            if not explains(ev, [t + a * hot for t, a in zip(ev.true, amounts)]):
                how = "where it is neither the true value nor 0: the correct class's term is wrong"
            else:
                first = " for the first dout" if len(amounts) > 1 else ""
                how = (f"by the same amount at each ({amounts[0]:+.4g}{first}): the correct class's term (softmax's −1 "
                       "at the label, scaled as the loss is) is missing, doubled or of the wrong sign")
        return {"labels": n, "where": where, "how": how}
    return None


def _label_columns(ev: Evidence) -> dict[str, Any] | None:
    """Scores' (or log-probabilities') gradient with labels y: the claim is the truth with the correct
    class's term (the one-hot of y, times a number per dout: softmax cross-entropy's −1, the whole of an
    NLL's −1/N) moved to every row at every column y holds, as `d[:, y] -= 1` (or `d[:, y] = -1/N`) does
    where `d[np.arange(N), y]` belongs; or a pick per row (out[i] = x[i, y[i]]) whose backward puts
    each dout[j] at column y[j] of every row (`dx[:, y] = dout`)."""
    if not has_claims(ev) or not ev.whole:
        return None
    for n, y in indexing.labels(ev.shape, ev.inputs.values):
        hot = arrays.onehot(y, ev.shape[-1])
        slips = [("columns", how, mask) for how, mask in indexing.column_masks(y, ev.shape[-1])]
        slips += [("rows", how, mask) for how, mask in indexing.row_masks(y, ev.shape[-1])]
        for picks, how, mask in slips:
            basis = hot - mask
            size = float(np.sum(basis ** 2))
            if size == 0:
                continue
            amounts = [float(np.sum((c - t) * basis)) / size for c, t in zip(ev.claimed, ev.true)]
            if any(close_to(a, 0.0) or abs(a) <= SAME * largest_measured(t) for a, t in zip(amounts, ev.true)):
                continue
            if explains(ev, [t + a * basis for t, a in zip(ev.true, amounts)]):
                said = " (once per occurrence of a label, as np.subtract.at does)" if how == "per occurrence" else ""
                d = f"d{ev.name}"
                if picks == "rows":
                    return {"what": f"it is the true gradient with the correct class's term put in every column of "
                                    f"each row {n} names as a row number{said}: {d}[{n}] where "
                                    f"{d}[np.arange(N), {n}] belongs (indexing with {n} alone picks whole rows)"}
                return {"what": f"it is the true gradient with the correct class's term put in every row at every "
                                f"label {n} holds{said}: {d}[:, {n}] where {d}[np.arange(N), {n}] belongs "
                                f"(indexing with {n} alone picks whole columns)"}
        picked = _picked_columns(ev, n, y, hot)
        if picked is not None:
            return {"what": picked}
    return None


def _picked_columns(ev: Evidence, n: str, y: np.ndarray, hot: np.ndarray) -> str | None:
    """A pick per row, out[i] = x[i, y[i]] (the truth is dout[i] at (i, y[i])), whose claim puts
    each dout[j] at column y[j] of every row: written once per column (the last j, `dx[:, y] = dout`) or
    added (np.add.at)."""
    if len(ev.shape) != 2 or len(ev.outputs) != 1 or np.shape(ev.outputs[0]) != (ev.shape[0],):
        return None
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts]
    if not explains(ev, [hot * d[:, None] for d in douts], claimed=ev.true):
        return None
    last = {int(c): j for j, c in enumerate(y)}  # numpy's buffered assignment keeps the last write
    for how, spread in (("written", lambda d: _columns_of(ev.shape, {c: d[j] for c, j in last.items()})),
                        ("added", lambda d: _columns_of(ev.shape, dict(enumerate(np.bincount(y, d, ev.shape[1])))))):
        if explains(ev, [spread(d) for d in douts]):
            written = (f"d{ev.name}[:, {n}] = dout (or +=, which numpy applies once per column: the last dout[j] "
                       "of each)" if how == "written" else f"np.add.at(d{ev.name}, (slice(None), {n}), dout)")
            return (f"it puts each dout[j] at column {n}[j] of every row, where the forward picks {ev.name}[i, {n}[i]] "
                    f"and dout[i] belongs at (i, {n}[i]) alone: {written} where d{ev.name}[np.arange(N), {n}] = dout "
                    f"belongs (indexing with {n} alone picks whole columns)")
    return None


def _columns_of(shape: tuple[int, ...], columns: Mapping[int, float]) -> np.ndarray:
    """Every row the same: the given value at each given column, 0 elsewhere."""
    row = np.zeros(shape[1])
    for c, v in columns.items():
        row[c] = v
    return np.broadcast_to(row, shape)


def _lookup(ev: Evidence) -> dict[str, Any] | None:
    """A lookup's gradient (the truth is scatter(idx, dout · w), times a constant): the claim is the same
    with the index read in the other order, or without the weights w."""
    if not has_claims(ev) or not ev.whole or len(ev.outputs) != 1 or not ev.shape:
        return None
    out = np.shape(ev.outputs[0])
    rest = tuple(ev.shape[1:])
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts]
    if any(d.shape != out for d in douts):
        return None
    for n, idx, bag in indexing.lookups(ev.shape, out, ev.inputs.values, _table_and_output(ev)):
        spreads = [indexing.spread(d, idx, bag, rest) for d in douts]
        for w_name, w in [("", None), *indexing.per_position(ev.inputs.values, idx, ev.name)]:
            base = [indexing.scatter(idx, indexing.weighted(s, w), ev.shape) for s in spreads]
            c = fitted_factor(ev, base, claimed=ev.true)
            if c is None or close_to(c, 0.0) or not explains(ev, [c * b for b in base], claimed=ev.true):
                continue  # the forward is not this lookup
            other = indexing.other_order(idx)
            if other is not None and explains(ev, [c * indexing.scatter(other, indexing.weighted(s, w), ev.shape)
                                                   for s in spreads]):
                written = f"{n}.T" if idx.ndim == 2 and idx.shape[0] == idx.shape[1] else f"{n}.ravel(order='F')"
                return {"what": f"it is the true gradient of the same lookup with {n}{_read_said(ev, n)} read in the other order "
                                f"({written} beside dout in row order): each position's dout is added at the row "
                                f"another position's index names (np.add.at(d{ev.name}, {written}, dout) where "
                                f"np.add.at(d{ev.name}, {n}, dout) belongs)"}
            if w is not None and explains(ev, [c * indexing.scatter(idx, s, ev.shape) for s in spreads]):
                return {"what": f"it is the lookup's gradient without the weights {w_name}: each position's dout is "
                                f"added to the row {n} names unscaled, where the forward scales that row by "
                                f"{w_name} (np.add.at(d{ev.name}, {n}, dout) where np.add.at(d{ev.name}, {n}, "
                                f"dout * {w_name}[..., None]) belongs)"}
    return None


# ----- an activation's derivative written with one slip ---------------------------------------------
def _derivative_form(ev: Evidence) -> dict[str, Any] | None:
    """The layer's output (or f's one number, their sum) is a catalogued activation of an input u of the
    gradient's shape, the truth is dout times its derivative, and the claim is dout times that derivative
    with one slip, which no different slip also explains (derivative_forms.py)."""
    slip = _derivative_slip(ev)
    if slip is None:
        return None
    n = slip.found.u_name
    x_name = n if n.isidentifier() else "z"
    fields = derivative_forms.words(slip, x_name)
    if x_name != n:
        fields["gloss"] += f"; z = {n}"
    return {**fields, "every": ev.every}


def _derivative_slip(ev: Evidence) -> derivative_forms.Slip | None:
    """derivative_forms' one slip that explains the claim, or None."""
    o = _single_output(ev)
    if o is None or not has_claims(ev) or (o.shape != ev.shape and o.ndim):
        return None
    douts = [np.asarray(d[0], dtype=np.float64) for d in ev.douts[:len(ev.claimed)]]
    if any(d.shape != o.shape for d in douts):
        return None
    candidates = [(n, u) for n, u in same_shape_arrays(ev) if not n.startswith("output")]
    if not candidates:
        return None
    return derivative_forms.search(candidates, o, [v for _, v in number_inputs(ev.inputs)], douts,
                                   truth_is=lambda p: explains(ev, p, claimed=ev.true),
                                   claim_is=lambda p: explains(ev, p), same=SAME)


HYPOTHESES: tuple[Hypothesis, ...] = (
    Hypothesis("rounding", _rounding,
               "it differs from numeric by at most {share} of the largest gradient entry, within {dtype}'s rounding "
               "at that size ({bound} of it), at entries far smaller than the rest: {dtype} rounding (of the "
               "forward, the backward or the differences), not a mistake; the rule compares each entry at its own "
               "size (--atol {atol} allows this)"),
    Hypothesis("order", _order, "{what}"),
    Hypothesis("transposed shape", _transposed_shape,
               "it is the transpose of the true gradient (shape {got} where {name} is {want}): a .T is missing"),
    Hypothesis("batch axis not summed", _batch_not_summed,
               "a batch axis is not summed: it has shape {got} where {name} is {want}, and summed over axis {axes} "
               "it is the true gradient (a broadcast input's gradient sums over the axes it was broadcast along)"),
    # no input's name in the sentence: several inputs with the same one are said once, listed (render/table.py)
    Hypothesis("zero", _zero, "it is 0 everywhere: the backward sends no gradient this way (a path is missing, or a "
                              "gradient is returned before it is filled in)"),
    Hypothesis("sign", _sign, "it has the wrong sign (a factor -1{every})"),
    Hypothesis("data number", _factor_of(_data),
               "it is {label} = {value} times the true gradient: a 1/{label} of the forward pass is missing "
               "(as in dropout's mask / p)"),
    Hypothesis("one over a data number", _factor_of(_data_inverse),
               "it is 1/{label} times the true gradient: a factor {label} is missing (or a 1/{label} too many)"),
    # f is a black box: that it averages over its m rows is a guess, said as one (a @ b's dW twice too
    # large, with a of 2 rows, is not a missing mean)
    Hypothesis("rows", _factor_of(_rows),
               "it is {label} times too large ({label} is the number of rows: if the loss or output averages over "
               "them, it needs 1/{label})"),
    Hypothesis("one over rows", _factor_of(_rows_inverse),
               "it is {label} times too small: it divides by N = {label} where the forward pass does not (or twice)"),
    Hypothesis("square root of a size", _factor_of(_root),
               "it is √{label} times the true gradient: a scale 1/√{label} (attention's 1/√d) is missing"),
    Hypothesis("one over the square root of a size", _factor_of(_root_inverse),
               "it is 1/√{label} times the true gradient: a scale 1/√{label} (attention's 1/√d) is applied twice, "
               "or where the forward has none"),
    Hypothesis("twice or half", _twice_or_half, "it is {words} the true gradient (a factor {value}{every})"),
    Hypothesis("activation for its derivative", _activation,
               "it uses the activation {act} where its derivative {derivative} belongs ({line}): the claim is the "
               "true gradient with {act}'s output in place of its local gradient", douts=_activation_douts),
    Hypothesis("input for output", _local_form("input for output"),
               "it uses {wrong} where {right} belongs ({gloss}): the derivative is written with the input for the "
               "output", douts=_activation_douts),
    Hypothesis("output for input", _local_form("output for input"),
               "it uses {wrong} where {right} belongs ({gloss}): the derivative is written with the output for the "
               "input ({act}'s derivative taken at its own output)", douts=_activation_douts),
    Hypothesis("1 / 1 + exp", _precedence,
               "f's output is above 1 where a sigmoid's is below: the forward computes 1 + exp(-z) (`1 / 1 + "
               "np.exp(-z)` is (1/1) + exp(-z)), while the claim is the sigmoid's gradient; write 1 / (1 + np.exp(-z))",
               douts=_precedence_douts),
    Hypothesis("constant factor", _constant, "it is off by a constant factor of {value}{every}{which}"),
    # before transpose and permuted: a square reduction's dout put back along the wrong axis is a transpose
    # too, and the broadcast says why
    Hypothesis("broadcast axis", _broadcast_axis,
               "the forward reduces axis {a} of {name} and the true gradient is dout put back along axis {a}; the "
               "claim is the same with dout put back along axis {b}: dout's reduced axis is not restored "
               "(np.expand_dims(dout, {a}), or keepdims in the forward) before it broadcasts, so it lines up with "
               "axis {b}"),
    Hypothesis("transpose", _transpose, "it is the transpose of the true gradient: a .T is missing (or one too many)"),
    Hypothesis("untransposed matrix", _untransposed, "it uses {m} where {m}.T belongs ({form})"),
    Hypothesis("permuted", _permuted, "{what}"),
    Hypothesis("local gradient factor", _input_factor, "{what}"),
    Hypothesis("logits' gradient", _logits_gradient, "{what}"),
    # after the factors: x**n's dout·x**(n−1) is a factor n forgotten before it is one term of x·x**(n−1)
    Hypothesis("sums before the product", _sums_before_product,
               "it is {wrong} where {right} belongs: the input and dout are summed over {axes} before their "
               "product, not their products after it (a sum of products is not the product of the sums)"
               "{every}"),
    Hypothesis("product rule term dropped", _product_rule,
               "it is {claim}, the term dout·{kept} alone, where the product rule gives out = {name}·g({name}) the "
               "gradient dout·(g({name}) + {name}·g′({name})), g = out/{name}: the {lost} term is dropped (as swish's "
               "dout·σ(x) for dout·(σ(x) + x·σ(x)·(1 − σ(x))))"),
    Hypothesis("input for a computed form", _input_in_reduction,
               "it is the sum of dout·{u} over ax{s} {axes}, and the true gradient is not: {u}, an input, is used "
               "where a quantity the forward computes from it belongs (as layer norm's dgamma = sum(dout * x) for "
               "sum(dout * xhat))"),
    Hypothesis("clip forgotten", _clip_forgotten,
               "it is the true gradient where that lies inside [{lo}, {hi}]{each}, and goes beyond where the true "
               "gradient is at one of those bounds ({clipped} of {total} entries): a clip to [{lo}, {hi}] is "
               "forgotten (as Huber's gradient, the residual clipped to [−δ, δ])"),
    Hypothesis("regularisation", _regularisation,
               "it differs from the true gradient by {c}·{u}{named}: a term proportional to {u} (a regularisation "
               "term's gradient) does not match the loss"),
    Hypothesis("data term factor", _data_term,
               "its regularisation term {term} is right and the rest (the data term) is {a} times the true "
               "one{why}"),
    Hypothesis("dout missing", _dout_missing, "{what}"),
    Hypothesis("sign region", _sign_regions, "{what}"),
    Hypothesis("output path", _paths,
               "it is right when only output {right} has a gradient and wrong when only output {wrong} has one: the "
               "path from output {wrong} is wrong or missing"),
    Hypothesis("swapped outputs", _swapped_outputs,
               "it is the true gradient with dout1 and dout2 exchanged: the backward uses each output's gradient "
               "where the other's belongs", douts=_swap_douts),
    Hypothesis("carry missing", _steps_local,
               "it is, at each of its {steps} steps (axis {axis}), the gradient of that step's output alone: the "
               "gradient is not carried back to earlier steps (what later steps' douts send back through the state "
               "is left out of each step's dh)", douts=_slice_douts),
    Hypothesis("one slice of dout", _one_slice, "{what}", douts=_slice_douts),
    # before mask: `d[:, y]` for `d[np.arange(N), y]` is nonzero where the truth is 0 too, at the labels' columns
    Hypothesis("label index", _label_columns, "{what}"),
    Hypothesis("mask", _mask, "{what}"),
    Hypothesis("window stride", _window_stride, "{what}", douts=_window_douts),
    Hypothesis("repeated indices", _repeated_rows,
               "it is wrong exactly on rows of {name} that {index}{read} indexes more than once ({shown}), where it is the "
               "gradient of one of their positions in {index} alone: repeated indices are not accumulated "
               "(`d{name}[{index}] += dout` keeps one of them; np.add.at(d{name}, {index}, dout) adds them all)",
               douts=_repeated_douts),
    Hypothesis("correct class term", _correct_class,
               "it differs from the true gradient only at the correct class's entries (i, {labels}[i]), on {where}, "
               "{how}"),
    Hypothesis("lookup index", _lookup, "{what}"),
    Hypothesis("label smoothing", _label_smoothing,
               "it is {k}·(softmax − onehot({labels})), the classifier's gradient against one-hot targets, where "
               "the loss's targets are smoothed, (1 − ε)·onehot({labels}) + ε/C with ε = {eps} (the classes on "
               "axis {axis}), read off the constant the true gradient is off the labels: the label smoothing is "
               "forgotten in the backward"),
    Hypothesis("one slice wrong", _one_slice_wrong, "{what}"),
    Hypothesis("reduction axes", _too_few_axes,
               "the true gradient is that of a {what} over {a}, and the claim is the same gradient with its "
               "{sums} over {b}: the backward's {sums} are taken over {few} ({b} where the forward's are over {a})"),
    Hypothesis("unweighted softmax sum", _unweighted_sum,
               "the true gradient is {of}, {s}·({d} − Σ {s}·{d}), and the claim is {s}·({d} − Σ {d}): the sum in the "
               "softmax's backward is of {d} alone where {d} times the softmax belongs (as {s} * ({d} - "
               "{d}.sum(-1, keepdims=True)) for {s} * ({d} - ({s} * {d}).sum(-1, keepdims=True)))"),
    Hypothesis("mean path", _mean_path,
               "{what}: the path through that mean, variance or normalisation (a softmax's sum) is missing or "
               "wrong, as if it were a constant", douts=_mean_path_douts, claims=True),
    Hypothesis("statistic path factor", _statistic_path_factor,
               "it is the true gradient but for {which} over the output's axis {axis} (a mean, a variance, an rms "
               "or a softmax's sum: the path of the part of dout it sees), which is {how}{every}", douts=_mean_path_douts, claims=True),
    # last: one node of a derivative changed is the most general reading of a claim, so every named mistake
    # (a factor, a mask, an activation for its derivative, whose douts it shares to wait for them) comes first
    Hypothesis("derivative form", _derivative_form,
               "it uses {wrong} where {right} belongs{where} in {act}'s derivative {derivative} (out = {forward}"
               "{gloss}): with that one slip, the local gradient it multiplies dout by is the claim{every}",
               douts=_activation_douts),
)
BY_NAME = {h.name: h for h in HYPOTHESES}
# The entries that say the claim is a constant factor of the truth.
FACTOR_CAUSES = ("sign", "data number", "one over a data number", "rows", "one over rows", "square root of a size",
                 "one over the square root of a size", "twice or half", "constant factor")


def in_table_order(names: set[str] | Sequence[str]) -> tuple[str, ...]:
    """The causes named, each once, in the table's order (the first is the one a result's `cause` holds)."""
    return tuple(h.name for h in HYPOTHESES if h.name in set(names))
