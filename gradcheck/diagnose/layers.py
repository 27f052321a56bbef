"""How a claimed gradient of a numpy layer is wrong, established from the numbers alone.

The evidence: the true gradient (finite differences, full mode) and the claimed one for several random
douts. A pattern is named only when it holds for every dout: a constant factor (sign, 2, 1/N, an input
p), a transpose, a batch axis not summed, a missing mask, repeated indices not accumulated, or, with
several outputs, the path from one output. Otherwise only the entries that are right are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..inputs.calling import Inputs
from ..ops.arrays import format_shape
from ..verdict.agreement import Rule
from .patterns import SAME_MEASURED, constant_ratio, same

SAME = SAME_MEASURED  # the truth here is measured by differences (patterns.py)
# Entries named as examples.
EXAMPLES = 3


def diagnose(name: str, inputs: Inputs, true: Sequence[Any], errors: Sequence[Any], claimed: Sequence[Any],
             raw: Sequence[Any], douts: Sequence[tuple], outputs: int, rule: Rule) -> str | None:
    """true and errors: the numeric gradient and its error estimate per dout; claimed: the claim per dout (None
    where it has the wrong shape, and then raw holds it)."""
    true = [np.asarray(t, dtype=np.float64) for t in true]
    tol = _Allowance(rule, [np.where(np.isfinite(e), np.asarray(e, dtype=np.float64), 0.0) for e in errors])
    shape = true[0].shape
    if any(c is None for c in claimed):
        return _wrong_shape(name, shape, true, raw)
    claimed = [np.asarray(c, dtype=np.float64) for c in claimed]
    known = ~np.any([np.isnan(t) for t in true], axis=0)  # kinks and left-out entries are no evidence
    paths = _paths(name, true, claimed, outputs, len(douts), tol)
    every = ", for every dout" if len(douts) > 1 else ""  # check_function's one 'dout' is f's own 1
    for found in (_factor(name, true, claimed, known, inputs, every), _transpose(name, true, claimed), paths,
                  _entries(name, true, claimed, known, inputs, tol), _invariance(name, true, claimed, known)):
        if found:
            return found
    return None


def one_row_match(claimed: np.ndarray, row_truth: np.ndarray) -> bool:
    """The claim equals the true gradient of one row alone (which is not 0)."""
    row_truth = np.asarray(row_truth, dtype=np.float64)
    return bool(np.all(np.isfinite(row_truth))) and float(np.max(np.abs(row_truth))) > 0 and \
        _close(np.asarray(claimed, dtype=np.float64), row_truth)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return same(a, b, SAME)


def _wrong_shape(name: str, shape: tuple, true: list, raw: Sequence[Any]) -> str | None:
    if any(r is None for r in raw):
        return None
    raw = [np.asarray(r, dtype=np.float64) for r in raw]
    got = raw[0].shape
    if len(shape) == 2 and got == shape[::-1] and all(_close(r.T, t) for r, t in zip(raw, true)):
        return f"it is the transpose of the true gradient (shape {_shape(got)} where {name} is {_shape(shape)}): a .T is missing"
    axes = _summed_axes(got, shape)
    if axes is not None and all(_close(r.sum(axis=axes).reshape(shape), t) for r, t in zip(raw, true)):
        return (f"a batch axis is not summed: it has shape {_shape(got)} where {name} is {_shape(shape)}, and summed "
                f"over axis {', '.join(map(str, axes))} it is the true gradient (a broadcast input's gradient sums "
                "over the axes it was broadcast along)")
    return None


def _summed_axes(got: tuple, shape: tuple) -> tuple[int, ...] | None:
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


def _factor(name: str, true: list, claimed: list, known: np.ndarray, inputs: Inputs,
            every: str = ", for every dout") -> str | None:
    r = constant_ratio(claimed, true, SAME, known=known, zeros=True)
    if r is None:
        return None
    if abs(r + 1) <= SAME:
        return f"it has the wrong sign (a factor -1{every})"
    for n, value in _numbers(inputs):
        if value in (0, 1):
            continue
        if abs(r - value) <= SAME * abs(value):
            return (f"it is {n} = {value:g} times the true gradient: a 1/{n} of the forward pass is missing "
                    f"(as in dropout's mask / p)")
        if abs(r * value - 1) <= SAME:
            return f"it is 1/{n} times the true gradient: a factor {n} = {value:g} is missing (or a 1/{n} too many)"
    batches = sorted({int(np.shape(v)[0]) for v in inputs.values.values() if np.ndim(v) >= 1} - {0, 1})
    for m in batches:
        if abs(r - m) <= SAME * m:
            # f is a black box: that it averages over its m rows is a guess, said as one (a @ b's dW
            # twice too large, with a of 2 rows, is not a missing mean)
            return (f"it is {m} times too large ({m} is the number of rows: if the loss or output averages "
                    f"over them, it needs 1/{m})")
        if abs(r * m - 1) <= SAME:
            return f"it is {m} times too small: it divides by N = {m} where the forward pass does not (or twice)"
    for k, words in ((2, "twice"), (0.5, "half")):
        if abs(r - k) <= SAME * k:
            return f"it is {words} the true gradient (a factor {k:g}{every})"
    return f"it is off by a constant factor of {r:.6g}" + (f" ({every.removeprefix(', ')})" if every else "")


def _numbers(inputs: Inputs) -> list[tuple[str, float]]:
    """The Python numbers among the data inputs, and in their dicts (CS231n's dropout_param['p'])."""
    found = []
    for n, value in inputs.values.items():
        items = [(n, value)] if n not in inputs.wrt else []
        if isinstance(value, dict):
            items = [(f"{n}[{k!r}]", v) for k, v in value.items()]
        found += [(m, float(v)) for m, v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return found


def _transpose(name: str, true: list, claimed: list) -> str | None:
    if true[0].ndim != 2 or true[0].shape[0] != true[0].shape[1]:
        return None
    if all(_close(c.T, t) for t, c in zip(true, claimed)):
        return "it is the transpose of the true gradient: a .T is missing (or one too many)"
    return None


class _Allowance:
    """What counts as right or as zero for one dout: the agreement rule with the numeric estimate's own error."""

    def __init__(self, rule: Rule, errors: list):
        self.rule, self.errors = rule, errors

    def right(self, k: int, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.abs(c - t) <= self.rule.allowed(t, c, self.errors[k], 0.0)

    def zero(self, k: int, t: np.ndarray) -> np.ndarray:
        return np.abs(t) <= self.rule.allowed(t, 0.0, self.errors[k], 0.0)


def _entries(name: str, true: list, claimed: list, known: np.ndarray, inputs: Inputs, tol: _Allowance) -> str | None:
    """Right on some entries only: a missing mask, repeated indices, or just which entries."""
    right = np.all([tol.right(k, t, c) for k, (t, c) in enumerate(zip(true, claimed))], axis=0) | ~known
    total = int(known.sum())
    wrong = np.argwhere(~right)
    if not len(wrong) or np.ndim(right) == 0:
        return None
    count = len(wrong)
    examples = ", ".join(f"{name}[{','.join(map(str, w))}]" for w in wrong[:EXAMPLES])
    share = f"{count} of {total} entries ({100 * count / max(total, 1):.0f}%)"
    zero = np.all([tol.zero(k, t) for k, t in enumerate(true)], axis=0)
    masked = ~right & zero
    if np.any(masked):
        k = int(masked.sum())
        shown = ", ".join(f"{name}[{','.join(map(str, w))}]" for w in np.argwhere(masked)[:EXAMPLES])
        rest = count - k
        return (f"it is not 0 where the true gradient is 0, at {k} of {total} entries ({100 * k / max(total, 1):.0f}%), "
                f"e.g. {shown}: a mask is missing (relu's x > 0, max pool's argmax, dropout's mask), or the gradient "
                "goes to entries that do not affect the output"
                + (f"; it is also wrong on {rest} entries where the true gradient is not 0" if rest else ""))
    repeated = _repeated_rows(name, wrong, true[0].shape, inputs)
    if repeated:
        return repeated
    if count == total:
        return None
    return f"it is right on {total - count} of {total} entries and wrong on {share}, e.g. {examples}"


def _repeated_rows(name: str, wrong: np.ndarray, shape: tuple, inputs: Inputs) -> str | None:
    rows = sorted({int(w[0]) for w in wrong})
    for n, idx in inputs.values.items():
        if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu" or not idx.size:
            continue
        if idx.min() < 0 or idx.max() >= shape[0]:
            continue
        values, counts = np.unique(idx, return_counts=True)
        repeated = {int(v) for v, k in zip(values, counts) if k > 1}
        if repeated and set(rows) <= repeated:
            shown = ", ".join(map(str, rows[:EXAMPLES])) + (" …" if len(rows) > EXAMPLES else "")
            return (f"it is wrong exactly on rows of {name} that {n} indexes more than once ({shown}) and right on "
                    f"the rows it indexes once: repeated indices are not accumulated (`d{name}[{n}] += dout` keeps "
                    f"one of them; np.add.at(d{name}, {n}, dout) adds them all)")
    return None


def _invariance(name: str, true: list, claimed: list, known: np.ndarray) -> str | None:
    """The true gradient sums to 0 along an axis (f is unchanged, to first order, when a constant is added
    along it: a mean was subtracted) for every dout, and the claim's does not."""
    if not np.all(known) or true[0].ndim == 0:
        return None
    for axis in range(true[0].ndim):
        if true[0].shape[axis] < 2:
            continue
        sums_true = [np.abs(t.sum(axis=axis)) for t in true]
        sums_claimed = [np.abs(c.sum(axis=axis)) for c in claimed]
        sizes = [np.abs(t).sum(axis=axis) for t in true]
        if all(np.all(st <= SAME * np.maximum(sz, 1e-300)) for st, sz in zip(sums_true, sizes)) and \
                any(np.any(sc > 100 * SAME * np.maximum(sz, 1e-300)) for sc, sz in zip(sums_claimed, sizes)):
            return (f"the true gradient sums to 0 over axis {axis} of {name} (f does not change when the same "
                    f"amount is added along that axis, as after subtracting a mean over it), and the claim does not: "
                    "the path through that mean (or variance) is missing, as if it were a constant")
    return None


def _paths(name: str, true: list, claimed: list, outputs: int, count: int, tol: _Allowance) -> str | None:
    """With several outputs: which output's path to this input is wrong (the douts that feed one output)."""
    if outputs < 2:
        return None
    first = count - outputs
    ok = [bool(np.all(tol.right(k, true[k], claimed[k]) | np.isnan(true[k]))) for k in range(first, count)]
    wrong = [j + 1 for j, good in enumerate(ok) if not good]
    if not wrong or len(wrong) == outputs:
        return None
    right = [j + 1 for j, good in enumerate(ok) if good]
    return (f"it is right when only output {', '.join(map(str, right))} has a gradient and wrong when only output "
            f"{', '.join(map(str, wrong))} has one: the path from output {', '.join(map(str, wrong))} to {name} "
            "is wrong or missing")


def _shape(shape: tuple) -> str:

    return format_shape(shape)


def one_hot_probe(name: str, x: np.ndarray, outputs, claim, eps: float) -> str | None:
    """Where the gradient of ONE output entry goes: the true gradient of out[k] (central differences of that
    entry alone) against the claim for a dout that is 1 at k and 0 elsewhere. For layers that move values
    around (convolutions, pooling, indexing), a claim that reaches other entries names an index error.

    outputs(point_value) -> f's outputs with `name` set to point_value; claim(dout) -> the claimed gradient."""
    base = outputs(x)
    first = base[0]
    k = tuple(s // 2 for s in first.shape)
    dout = tuple(np.zeros(o.shape, dtype=o.dtype if o.dtype.kind == "f" else np.float64) for o in base)
    dout[0][k] = 1
    claimed = claim(dout)
    if claimed is None:
        return None
    true = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        h = eps ** (1 / 3) * max(1.0, abs(float(x[idx])))
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        true[idx] = (float(outputs(up)[0][k]) - float(outputs(down)[0][k])) / (2 * h)
    scale = max(float(np.max(np.abs(true))), float(np.max(np.abs(claimed))), 1e-300)
    # Differences of one entry carry ~cbrt(eps)^2 relative error: far below this share of the largest entry.
    floor = 1e-3 * scale
    where_true, where_claimed = np.abs(true) > floor, np.abs(claimed) > floor
    at = f"output[{','.join(map(str, k))}]"
    if np.array_equal(where_true, where_claimed):
        return None
    both = int(np.sum(where_true & where_claimed))
    reaches = (f"for a dout that is 1 at {at} only, the true gradient reaches {_how_many(where_true)} of {name} "
               f"(e.g. {_list(name, where_true)}) and the claim ")
    if not where_claimed.any():  # nothing to list: '(e.g. )' read as a broken sentence
        return reaches + "none: the backward sends this output's gradient nowhere"
    return (reaches + f"{_how_many(where_claimed)} (e.g. {_list(name, where_claimed & ~where_true) or _list(name, where_claimed)}), "
            f"{both} in common: the backward sends the gradient to the wrong entries (an index, stride or padding error)")


def _how_many(mask: np.ndarray) -> str:
    count = int(mask.sum())
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _list(name: str, mask: np.ndarray) -> str:
    return ", ".join(f"{name}[{','.join(map(str, w))}]" for w in np.argwhere(mask)[:EXAMPLES])
