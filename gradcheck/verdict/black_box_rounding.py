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
changes by about its own size. So where a claim disagrees, each probe that disagrees (an entry; in
fast mode a random direction or a sampled entry) is measured again, claim and numeric estimate, at
MOVES points moved so (each with its own pattern of signs), and the most its disagreement changed is
added to the numeric estimate's error there. The variable is judged again. A wrong claim's
disagreement changes by about MOVE times itself, far below what the rule then lets pass.

It costs a wrong gradient little: the probes that disagree most are measured first, and the first
whose disagreement stays ends it. A right one whose disagreements are all rounding costs MOVES
measurements of each, up to MAX_PROBES of them; with more, the variable is judged as it was.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..base.columns import Measured, Probes
from ..language.evaluate import sign_pattern
from ..oracles.directions import projections
from ..oracles.numeric import NumericResult
from .agreement import Rule

# How far each input moves, relative to itself: enough that the roundings in f and in the user's
# backward fall another way (1e10 ulps), little enough that a wrong claim's disagreement with the
# numeric estimate stays what it was (smooth, it changes by about 1e-6 of itself).
MOVE = 1e-6
# Moves, each with its own pattern of signs: one can leave an entry's rounding where it was by
# chance (at one of three points a batch norm's bias came out the same, to the last bit).
MOVES = 3
# Probes measured again at most: a right gradient with more disagreeing ones keeps its mismatch
# rather than cost MOVES more measurements of each.
MAX_PROBES = 256

# The claims at another point: for each dout, {name: (value, note)}.
ClaimsAt = Callable[[Mapping[str, Any]], list[Mapping[str, tuple]]]
# The numeric derivative at another point along a probe of a variable (an index, or a direction
# array): for each dout, (value, error), or a Kink or None near a kink.
ProbeAt = Callable[[Mapping[str, Any], str, Any], list[Any]]


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


class _Probe:
    """One thing numeric measured for a variable: an entry (full mode), a random direction or a sampled
    entry (fast mode); with, per dout, the claim's and numeric's values there and numeric's error."""

    def __init__(self, name: str, kind: str, at: Any, slot: Any, claims: list, values: list, errors: list):
        self.name, self.kind, self.at, self.slot = name, kind, at, slot  # at: an index or a direction
        self.claims, self.values, self.errors = claims, values, errors
        self.widen = [0.0] * len(claims)

    def claim_of(self, gradient: Any) -> float:
        g = np.asarray(gradient, dtype=np.float64)
        return float(np.sum(g * self.at)) if self.kind == "direction" else float(g[self.at])

    def wrong(self, rule: Rule) -> bool:
        return any(not abs(c - v) <= float(rule.allowed(c, v, 0.0, e + w))
                   for c, v, e, w in zip(self.claims, self.values, self.errors, self.widen))

    def size(self) -> float:
        return max((abs(c - v) for c, v in zip(self.claims, self.values)), default=0.0)


def measured_rounding(names: Sequence[str], point: Mapping[str, Any], claimed: Sequence[Mapping[str, tuple]],
                      measured: Mapping[str, Sequence[NumericResult]], rule: Rule, claims_at: ClaimsAt,
                      probe_at: ProbeAt) -> dict[str, list[NumericResult]] | None:
    """For each name, per dout, its numeric result with the measured rounding of each disagreeing probe
    added to its error. None when nothing can be cleared: more than MAX_PROBES probes disagree, or one
    whose disagreement stays, or one that cannot be measured again (then the variables are judged as
    they were). claimed[k][name] is dout k's claim (value, note), measured[name][k] its numeric result."""
    probes = [p for n in names for p in _probes(n, claimed, measured[n]) if p.wrong(rule)]
    if not probes or len(probes) > MAX_PROBES:
        return None
    probes.sort(key=lambda p: -p.size())
    points = [moved(point, pattern) for pattern in range(MOVES)]
    claims = [claims_at(there) for there in points]
    for probe in probes:
        for there, claims_there in zip(points, claims):
            found = probe_at(there, probe.name, probe.at)
            for k, got in enumerate(found):
                claim = claims_there[k][probe.name][0]
                if not isinstance(got, tuple) or claim is None or np.shape(claim) != np.shape(point[probe.name]):
                    return None  # a kink, or a claim of another shape: nothing to measure by
                change = abs((probe.claim_of(claim) - float(got[0])) - (probe.claims[k] - probe.values[k]))
                if np.isfinite(change):
                    probe.widen[k] = max(probe.widen[k], change)
        if probe.wrong(rule):
            return None
    return {n: [_widened(measured[n][k], [p for p in probes if p.name == n], k) for k in range(len(claimed))]
            for n in names}


def _probes(name: str, claimed: Sequence[Mapping[str, tuple]], results: Sequence[NumericResult]) -> list[_Probe]:
    """Every probe of the variable, with its values at every dout; none where a claim is missing or of
    another shape, or the results are of another kind (a pool's share)."""
    claims = [c[name][0] for c in claimed]
    if any(c is None for c in claims):
        return []
    arrays = [np.asarray(c, dtype=np.float64) for c in claims]
    full = [r.value for r in results if isinstance(r.value, Measured)]
    if len(full) == len(results):
        values = [np.asarray(m.value, dtype=np.float64) for m in full]
        errors = [np.broadcast_to(np.asarray(m.error, dtype=np.float64), np.shape(v)) for m, v in zip(full, values)]
        if any(np.shape(v) != np.shape(a) for v, a in zip(values, arrays)):
            return []
        return [_Probe(name, "entry", idx, idx, [float(a[idx]) for a in arrays], [float(v[idx]) for v in values],
                       [float(e[idx]) for e in errors]) for idx in np.ndindex(np.shape(arrays[0]))
                if all(np.isfinite(e[idx]) for e in errors)]
    fast = [r.probes for r in results if isinstance(r.probes, Probes)]
    if len(fast) != len(results) or any(p.entries != fast[0].entries or len(p.directional) != len(fast[0].directional)
                                         for p in fast):
        return []
    directions = list(fast[0].directions)
    along, _ = projections(directions, arrays, [])  # (douts, directions): the claims' projections
    found = [_Probe(name, "direction", v, ("direction", j), [float(a) for a in along[:, j]],
                    [float(p.directional[j]) for p in fast], [float(p.directional_error[j]) for p in fast])
             for j, v in enumerate(directions)]
    for i, idx in enumerate(fast[0].entries):
        found.append(_Probe(name, "entry", idx, ("entry", i), [float(a[idx]) for a in arrays],
                            [float(p.entry_values[i]) for p in fast], [float(p.entry_errors[i]) for p in fast]))
    return found


def _widened(result: NumericResult, probes: list[_Probe], k: int) -> NumericResult:
    """Dout k's numeric result with each probe's measured rounding added to its error (unchanged
    where no probe disagreed, or the result has none of its own: a pool's share)."""
    if not probes:
        return result
    if isinstance(result.value, Measured):
        error = np.array(np.broadcast_to(np.asarray(result.value.error, dtype=np.float64), np.shape(result.value.value)))
        for p in probes:
            error[p.slot] += p.widen[k]
        return replace(result, value=Measured(result.value.value, error[()] if error.ndim == 0 else error))
    assert isinstance(result.probes, Probes)
    directional = np.array(result.probes.directional_error, dtype=np.float64)
    entries = np.array(result.probes.entry_errors, dtype=np.float64)
    for p in probes:
        kind, i = p.slot
        (directional if kind == "direction" else entries)[i] += p.widen[k]
    return replace(result, probes=replace(result.probes, directional_error=directional, entry_errors=entries))
