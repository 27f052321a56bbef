"""Where a routing layer's gradient goes: max pooling and other picks send each output's gradient, whole,
to the one input entry whose value the output passes on. A backward whose argmax is wrong (an argmin,
the window's first entry, the unravelled index's row and column exchanged) sends the same values to
other entries: the claim is the truth with each output's gradient moved, which one pass over the random
douts tells, with no extra differences.

Read from the numbers alone: dout's entries are random and distinct, so each nonzero entry of the truth
and of the claim is one dout entry, found by its value. The layer is a pick when, for every random dout,
every output entry's gradient lands whole on one input entry, a different one for each output, and the
forward's output there is that input entry's value; the claim is a wrong pick when it lands every output's
gradient whole too, the same outputs to the same entries for every dout, some on other entries than the
truth's. Nothing is said of layers that sum (repeated picks, overlapping windows that share an entry):
their entries hold sums that no one dout entry is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A value is one dout entry when it is within this much (relative to dout's largest) of it and of no other.
MATCH = 1e-6
# Entries smaller than this beside the largest are zeros (the differences' noise).
ZERO = 1e-4
# A wrong pick is said to be a mask's only when at least this many outputs moved, all to the same side.
MOVED_MIN = 2
# Two dout entries closer than this (relative; ten times MATCH) cannot be told apart: no routing is read.
DISTINCT = 1e-5


@dataclass(frozen=True)
class Picks:
    """For each output entry (flat index), the input entry (flat index) its gradient goes to, in the truth
    and in the claim; `moved` the outputs whose two differ."""

    true: tuple[int, ...]
    claimed: tuple[int, ...]

    @property
    def moved(self) -> list[int]:
        return [k for k, (t, c) in enumerate(zip(self.true, self.claimed)) if t != c]


def routes(gradient: np.ndarray, dout: np.ndarray) -> tuple[int, ...] | None:
    """The input entry each output entry's gradient goes to, when the gradient is exactly dout's entries
    placed one each at distinct input entries (every other entry 0); else None."""
    d = np.ravel(np.asarray(dout, dtype=np.float64))
    g = np.ravel(np.asarray(gradient, dtype=np.float64))
    scale = max(float(np.max(np.abs(d))) if d.size else 0.0, 1e-300)
    order = np.sort(d)
    if d.size < 2 or g.size < d.size or np.any(np.diff(order) <= DISTINCT * scale):
        return None
    nonzero = np.flatnonzero(np.abs(g) > ZERO * scale)
    if nonzero.size != d.size:
        return None
    # each nonzero entry is the dout entry nearest in value (d sorted: one search each, not a scan)
    by_value = np.argsort(d)
    at = np.clip(np.searchsorted(d[by_value], g[nonzero]), 1, d.size - 1)
    below, above = by_value[at - 1], by_value[at]
    k = np.where(np.abs(d[below] - g[nonzero]) <= np.abs(d[above] - g[nonzero]), below, above)
    if np.any(np.abs(d[k] - g[nonzero]) > MATCH * scale) or np.unique(k).size != k.size:
        return None
    where = np.full(d.size, -1)
    where[k] = nonzero
    return tuple(int(i) for i in where)


def picks(truths: Sequence[np.ndarray], claims: Sequence[np.ndarray], douts: Sequence[np.ndarray],
          x: np.ndarray, out: np.ndarray) -> Picks | None:
    """The truth's and the claim's routes, when both route every output whole, each the same for every dout,
    and the forward passes on the input's value at the truth's entry (output k is x at its pick)."""
    found: Picks | None = None
    for t, c, d in zip(truths, claims, douts):
        if np.shape(d) != np.shape(out):
            return None
        true, claimed = routes(t, d), routes(c, d)
        if true is None or claimed is None:
            return None
        here = Picks(true, claimed)
        if found is not None and here != found:
            return None
        found = here
    if found is None:
        return None
    values, picked = np.ravel(out), np.ravel(x)[list(found.true)]
    scale = max(float(np.max(np.abs(values))), 1e-300)
    if np.any(np.abs(values - picked) > MATCH * scale):
        return None
    return found if found.moved else None


def exchanged_axes(p: Picks, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """Two axes along which every moved pick is the right one with its offsets on the two exchanged: the
    claim's entry is the truth's plus (+s, -s) on them (a window's row and column read in the wrong order)."""
    if len(p.moved) < 2:
        return None
    offsets = np.array([np.subtract(np.unravel_index(p.claimed[k], shape), np.unravel_index(p.true[k], shape))
                        for k in p.moved])
    moving = np.flatnonzero(np.any(offsets != 0, axis=0))
    if moving.size != 2:
        return None
    a, b = (int(i) for i in moving)
    return (a, b) if bool(np.all(offsets[:, a] == -offsets[:, b])) else None


def side(p: Picks, x: np.ndarray, out: np.ndarray) -> int | None:
    """-1 where every moved output's claimed entry holds less than the output (a maximum picked wrong), +1
    where every one holds more (a minimum's), None where they differ."""
    values, picked = np.ravel(out)[p.moved], np.ravel(x)[[p.claimed[k] for k in p.moved]]
    if np.all(picked < values):
        return -1
    if np.all(picked > values):
        return 1
    return None
