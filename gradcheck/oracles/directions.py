"""Fast mode's random directions, drawn again from their seed wherever they are needed instead of kept.

Eight unit directions through a million-entry variable are 64 MB, six times the variable itself:
kept for the comparisons after the probing, they would be most of a check's memory. numpy draws a
million normals in about 25 ms, so Directions
keeps only the seed, the shape and which of the drawn directions the probes kept, and draws them
one at a time where they are used: the probing, and each comparison (another column projected on
them). The same draws in the same order give the same numbers, bit for bit, every time.

The draw is the one fast mode always made: FAST_PROBES arrays of standard normals from one
Generator, in order, each scaled to unit norm; the generator then goes on to pick the sampled
entries (numeric.fast), so the directions are drawn from it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np


def unit_normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """The next random direction of rng: standard normals scaled to unit norm, in dtype."""
    v = rng.standard_normal(shape)
    v /= np.sqrt(np.sum(np.square(v)))
    return v if v.dtype == dtype else v.astype(dtype)


@dataclass(frozen=True, eq=False)
class Directions:
    """The directions fast mode probed one variable along: the `kept` ones among the first `count`
    drawn by a Generator seeded with `seed` (a probe that crossed a kink is left out). Indexing,
    iteration and len() see the kept ones; np.asarray() stacks them (small pools only)."""

    seed: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: str
    count: int
    kept: tuple[int, ...]

    def drawn(self, rng: np.random.Generator | None = None) -> Iterator[np.ndarray]:
        """All `count` directions, in the order drawn (from rng, if the caller goes on drawing from it)."""
        rng = np.random.default_rng(list(self.seed)) if rng is None else rng
        for _ in range(self.count):
            yield unit_normal(rng, self.shape, np.dtype(self.dtype))

    def __iter__(self) -> Iterator[np.ndarray]:
        kept = set(self.kept)
        for i, v in enumerate(self.drawn()):
            if i in kept:
                yield v
            del v  # before the next one is drawn: one direction in memory at a time

    def __len__(self) -> int:
        return len(self.kept)

    def __getitem__(self, i: int) -> np.ndarray:
        wanted = self.kept[i]
        for j, v in enumerate(self.drawn()):
            if j == wanted:
                return v
        raise IndexError(i)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        stacked = np.array(list(self), dtype=self.dtype).reshape(len(self), *self.shape)
        return stacked if dtype is None else stacked.astype(dtype)


def projections(directions: Any, arrays: list[Any], absolute: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """⟨a, v⟩ for each a in arrays and ⟨b, |v|⟩ for each b in absolute, for each direction v (a
    Directions or a (k, *shape) array): two arrays of shape (len(arrays), k) and (len(absolute), k).
    One direction at a time, so a Directions is drawn once whatever the number of arrays; each sum
    is numpy's pairwise one over the direction's entries, as np.sum(a * v) would give."""
    k = len(directions)
    along = np.zeros((len(arrays), k))
    spread = np.zeros((len(absolute), k))
    rows = directions if isinstance(directions, Directions) else np.asarray(directions, dtype=np.float64)
    with np.errstate(all="ignore"):
        for i, v in enumerate(rows):
            v = np.asarray(v, dtype=np.float64)
            scratch = np.empty(v.shape)
            for j, a in enumerate(arrays):
                along[j, i] = np.sum(np.multiply(a, v, out=scratch))
            size = np.abs(v)
            for j, b in enumerate(absolute):
                spread[j, i] = np.sum(np.multiply(b, size, out=scratch))
            del v, size, scratch  # before the next direction is drawn: one in memory at a time
    return along, spread
