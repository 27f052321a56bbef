"""A reduction's gradient is dout put back along the reduced axis: out = r(x) over axis a, and the
truth is expand_dims(dout, a) times a local gradient L that dout does not change (a sum's 1, a mean's
1/n, logsumexp's softmax, a norm's x/‖x‖). A backward that leaves dout without its axis restored lets
numpy line it up with the trailing axes, which, where the shapes allow it, broadcasts it along another
axis: the claim is expand_dims(dout, b) times the same L.

Pure shape and array helpers; hypotheses.py's entry checks them against the measurements.
"""

from __future__ import annotations

import itertools

import numpy as np


def reduced_axes(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """The axes a whose removal from `shape` leaves `out` (one reduction without keepdims)."""
    if len(shape) != len(out) + 1:
        return []
    return [a for a in range(len(shape)) if shape[:a] + shape[a + 1:] == out and shape[a] > 1]


def reduced_axis_sets(shape: tuple[int, ...], out: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The sets of axes whose removal from `shape` leaves `out` (one reduction over them, without keepdims):
    a single axis, or several (a global pool's (2, 3))."""
    count = len(shape) - len(out)
    if count < 1:
        return []
    found = []
    for axes in itertools.combinations(range(len(shape)), count):
        kept = tuple(s for k, s in enumerate(shape) if k not in axes)
        if kept == tuple(out) and all(shape[a] > 1 for a in axes):
            found.append(axes)
    return found


def other_placements(shape: tuple[int, ...], dout: tuple[int, ...], a: int) -> list[int]:
    """The axes b != a where dout with a new axis inserted at b broadcasts to `shape`: the wrong places
    dout can be put back to (numpy's own alignment, a new leading axis, is one of them)."""
    found = []
    for b in range(len(shape)):
        if b == a:
            continue
        placed = dout[:b] + (1,) + dout[b:]
        if all(p in (1, s) for p, s in zip(placed, shape)) and placed != shape[:a] + (1,) + shape[a + 1:]:
            found.append(b)
    return found


def local_gradient(truth: np.ndarray, dout: np.ndarray, a: int) -> np.ndarray:
    """L with truth = expand_dims(dout, a) * L (NaN where that dout entry is 0)."""
    spread = np.broadcast_to(np.expand_dims(dout, a), truth.shape)
    with np.errstate(all="ignore"):
        return np.where(spread != 0, truth / np.where(spread != 0, spread, 1.0), np.nan)


def placed(dout: np.ndarray, b: int | tuple[int, ...], local: np.ndarray) -> np.ndarray:
    """dout put back at axis b, or at several (broadcast to L's shape), times L."""
    return np.broadcast_to(np.expand_dims(dout, b), local.shape) * local
