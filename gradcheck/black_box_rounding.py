"""The rounding of a black box's gradient, measured rather than known.

What a user's backward returns for an entry whose true value is about 0 beside the terms it sums is
rounding: the bias before a batch norm (da.sum(0) of terms of size 1: 5.6e-17 where the truth is 0),
the gradient of sum(softmax(z)) (1 - sum(s) is 0 or an ulp). What the numeric oracle measures there
is rounding too, and the agreement rule (agreement.py) allows each column its rounding. For an
expression gradcheck knows the terms (oracles/backprop.term_sizes); into a user's numpy code it
cannot see, and such rounding can be systematic: the same at every point an ulp away.

What does show it: a wrong claim's disagreement with the numeric estimate is a smooth function of
the point, so it stays what it was when every differentiated input moves by MOVE of itself (the true
gradient moves then too, but the claim and the numeric estimate move with it); rounding is not, and
changes by about its own size. So where a claim disagrees, each entry that disagrees is measured
again, claim and numeric estimate, at MOVES points moved so (each with its own pattern of signs),
and the most its disagreement changed is that entry's rounding: the `rounding` of the agreement rule,
which both columns are then allowed, and the variable is judged again. A wrong claim's disagreement
changes by about MOVE times itself, far below what the rule then lets pass (SAFETY · 2 · rounding).

It costs a wrong gradient little: the entries that disagree most are measured first, and the first
whose disagreement stays ends it. A right one whose disagreements are all rounding costs MOVES
measurements of each, up to MAX_ENTRIES entries; with more, the variable is judged as it was.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .agreement import Rule
from .columns import Measured
from .evaluate import sign_pattern
from .oracles.numeric import NumericResult

# How far each input moves, relative to itself: enough that the roundings in f and in the user's
# backward fall another way (1e10 ulps), little enough that a wrong claim's disagreement with the
# numeric estimate stays what it was (smooth, it changes by about 1e-6 of itself).
MOVE = 1e-6
# Moves, each with its own pattern of signs: one can leave an entry's rounding where it was by
# chance (at one of three points a batch norm's bias came out the same, to the last bit).
MOVES = 3
# Entries measured again at most: a right gradient with more disagreeing entries keeps its mismatch
# rather than cost MOVES more full measurements of a large variable.
MAX_ENTRIES = 256

# The claims at another point: for each dout, {name: (value, note)}.
ClaimsAt = Callable[[Mapping[str, Any]], list[Mapping[str, tuple]]]
# One entry's numeric derivative at another point: (point, name, index) -> for each dout, (value,
# error), or a Kink or None near a kink.
EntryAt = Callable[[Mapping[str, Any], str, tuple[int, ...]], list[Any]]


def moved(point: Mapping[str, Any], pattern: int = 0) -> dict[str, Any]:
    """Every input of point (a name -> float array or scalar) times 1 ± MOVE, entry by entry, in its own
    dtype (an entry 0 stays 0); the signs are pattern number `pattern` of a fixed sequence."""
    out = {}
    for position, (name, x) in enumerate(point.items()):
        array = np.asarray(x)
        signs = np.asarray(sign_pattern(1 + pattern + MOVES * position, array.shape))
        shifted = (array * (1 + MOVE * signs)).astype(array.dtype)
        out[name] = shifted if array.ndim else array.dtype.type(shifted[()])
    return out


def measured_rounding(names: Sequence[str], point: Mapping[str, Any], claimed: Sequence[Mapping[str, tuple]],
                      measured: Mapping[str, Sequence[NumericResult]], rule: Rule, claims_at: ClaimsAt,
                      entry_at: EntryAt) -> dict[str, list[np.ndarray]] | None:
    """For each name (each measured entry by entry: Measured), per dout, each entry's rounding as
    measured (0 where its claim agreed). None when nothing can be cleared: more than MAX_ENTRIES
    entries disagree, or one whose disagreement stays (then the variables are judged as they were).
    claimed[k][name] is dout k's claim (value, note), measured[name][k] its numeric result."""
    here = {n: [_disagreement(c[n][0], m) for c, m in zip(claimed, measured[n])] for n in names}
    wrong = _disagreeing(names, claimed, measured, here, rule)
    if not wrong or len(wrong) > MAX_ENTRIES:
        return None
    roundings = {n: [np.zeros(np.shape(point[n])) for _ in claimed] for n in names}
    points = [moved(point, pattern) for pattern in range(MOVES)]
    claims = [claims_at(there) for there in points]
    for _, name, index in wrong:
        for there, claims_there in zip(points, claims):
            found = entry_at(there, name, index)
            for k, got in enumerate(found):
                claim = claims_there[k][name][0]
                if not isinstance(got, tuple) or claim is None or np.shape(claim) != np.shape(point[name]):
                    return None  # a kink, or a claim of another shape: nothing to measure by
                change = abs(float(np.asarray(claim)[index]) - float(got[0]) - here[name][k][index])
                if np.isfinite(change):
                    roundings[name][k][index] = max(roundings[name][k][index], change)
        if _still_wrong(name, index, claimed, measured, roundings, rule):
            return None
    return roundings


def _disagreement(claim: Any, result: NumericResult) -> Any:
    """claim - numeric, entry by entry, or None where either is missing or they differ in shape."""
    if claim is None or not isinstance(result.value, Measured) or np.shape(claim) != np.shape(result.value.value):
        return None
    with np.errstate(all="ignore"):
        return np.asarray(claim, dtype=np.float64) - np.asarray(result.value.value, dtype=np.float64)


def _disagreeing(names: Sequence[str], claimed, measured, here, rule: Rule) -> list[tuple[float, str, tuple]]:
    """(|disagreement|, name, index) of every entry that disagrees at some dout, the largest first."""
    worst: dict[tuple[str, tuple], float] = {}
    for n in names:
        for k, d in enumerate(here[n]):
            if d is None:
                continue
            c, m = claimed[k][n][0], measured[n][k].value
            assert isinstance(m, Measured)
            error = np.broadcast_to(np.asarray(m.error, dtype=np.float64), np.shape(d))
            allowed = rule.allowed(np.asarray(c, dtype=np.float64), np.asarray(m.value, dtype=np.float64), 0.0, error)
            bad = np.isfinite(error) & ~(np.abs(d) <= allowed)
            for index in zip(*np.nonzero(bad)) if np.ndim(d) else ([()] if bad else []):
                key = (n, tuple(int(i) for i in index))
                worst[key] = max(worst.get(key, 0.0), abs(float(np.asarray(d)[key[1]])))
    return sorted(((size, n, index) for (n, index), size in worst.items()), key=lambda t: -t[0])


def _still_wrong(name: str, index: tuple, claimed, measured, roundings, rule: Rule) -> bool:
    """Whether the entry still disagrees at some dout with its measured rounding allowed to both columns."""
    for k, c in enumerate(claimed):
        m = measured[name][k].value
        claim, value = float(np.asarray(c[name][0])[index]), float(np.asarray(m.value)[index])
        r = float(roundings[name][k][index])
        error = float(np.broadcast_to(np.asarray(m.error, dtype=np.float64), np.shape(roundings[name][k]))[index])
        if not abs(claim - value) <= float(rule.allowed(claim, value, r, error + r)):
            return True
    return False
