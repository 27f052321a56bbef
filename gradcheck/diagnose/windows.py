"""Sliding windows written with = where += belongs: a convolution's or a pool's backward that assigns
each window's contribution to dx overwrites the windows before it where they overlap, so each entry of
the claim is the contribution of the last window (in the loops' order) that covers it, alone.

Read from the numbers alone: the windows' size and stride along each spatial axis are the ones the
input's and the output's sizes allow (valid windows, no padding), and the output positions are split
into classes whose windows do not overlap (position i mod ceil(size/stride) along each axis): the truth
for a dout kept on one class is then each window's own contribution, at the entries it covers. These
helpers give the classes' douts and the claim such a backward makes from their truths; and, from the
same truths (each window's own contribution), the claim of a backward that adds the windows at another
stride than the forward's (a stride 2 conv's dx windows placed at stride 1).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

# Window sizes and strides tried along a spatial axis (a conv's or a pool's kernel is a few entries).
SIZE_MAX = 5
STRIDE_MAX = 3
# At most this many window geometries are read from the shapes, and this many classes in all.
GEOMETRIES_MAX = 4
CLASSES_MAX = 16


@dataclass(frozen=True)
class Geometry:
    """Valid windows along the spatial axes (spatial_axes: channels first or last): size and stride per axis."""

    axes: tuple[int, ...]
    sizes: tuple[int, ...]
    strides: tuple[int, ...]

    @property
    def periods(self) -> tuple[int, ...]:
        """Output positions this far apart along an axis have windows that do not overlap."""
        return tuple(math.ceil(k / s) for k, s in zip(self.sizes, self.strides))

    def window(self, position: tuple[int, ...], strides: tuple[int, ...], ndim: int) -> tuple[slice, ...]:
        """The index of the window at output `position` placed at `strides`: its entries along every axis."""
        where = [slice(None)] * ndim
        for a, i, s, k in zip(self.axes, position, strides, self.sizes):
            where[a] = slice(i * s, i * s + k)
        return tuple(where)

    def said(self) -> str:
        size = "x".join(map(str, self.sizes))
        stride = ",".join(map(str, self.strides)) if len(set(self.strides)) > 1 else str(self.strides[0])
        return f"{size} windows with stride {stride}"


def geometries(shape: tuple[int, ...], out: tuple[int, ...], kernels: Sequence[tuple[int, ...]] = (),
               overlapping: bool = True) -> list[Geometry]:
    """The window geometries that turn an input of `shape` (batch, channels, positions...) into `out`
    (those whose windows overlap along some axis, with `overlapping`); where the spatial shape of one of
    `kernels` (a conv's weight beside the input) is one of the sizes, that size alone. None where the
    shapes are not a sliding window's, or where too many fit to measure."""
    found = [g for axes in spatial_axes(shape, out, bool(kernels)) for g in _fitting(shape, out, axes)]
    sized = [g for g in found if any(tuple(k) == g.sizes for k in kernels)]
    found = sized or found
    if overlapping:
        found = [g for g in found if any(k > s for k, s in zip(g.sizes, g.strides))]
    return found if len(found) <= GEOMETRIES_MAX else []


def spatial_axes(shape: tuple[int, ...], out: tuple[int, ...], kernel: bool) -> list[tuple[int, ...]]:
    """The axes windows may slide along: after (batch, channels) (channels first), between batch and
    channels (channels last, the channels the same in and out). Channels change only under a kernel (a
    conv's out channels), never in a pool."""
    if len(shape) != len(out) or len(shape) < 3 or shape[0] != out[0]:
        return []  # (batch, features) is an affine layer's, not a pool's: no windows read there
    n = len(shape)
    found = []
    if kernel or shape[1] == out[1]:
        found.append(tuple(range(2, n)))
    if shape[-1] == out[-1] and shape[1] != out[1]:
        found.append(tuple(range(1, n - 1)))
    return found


def _fitting(shape: tuple[int, ...], out: tuple[int, ...], axes: tuple[int, ...]) -> list[Geometry]:
    """Every geometry of valid windows along `axes` that turns `shape` into `out` (spatial_axes has
    checked the others)."""
    per_axis = []
    for a in axes:
        n_in, n_out = shape[a], out[a]
        if n_out > n_in or n_out < 1:
            return []
        fits = [(k, s) for k in range(1, SIZE_MAX + 1) for s in range(1, STRIDE_MAX + 1)
                if k <= n_in and (n_in - k) // s + 1 == n_out and (k > 1 or s == 1)]
        if not fits:
            return []
        per_axis.append(fits)
    return [Geometry(axes, tuple(k for k, _ in combo), tuple(s for _, s in combo))
            for combo in itertools.product(*per_axis)]


def classes(periods: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Each class of output positions: its residue along each spatial axis."""
    return list(itertools.product(*(range(p) for p in periods)))


def kept(dout: np.ndarray, axes: tuple[int, ...], periods: tuple[int, ...], residue: tuple[int, ...]) -> np.ndarray:
    """dout kept on the output positions of one class (0 elsewhere)."""
    mask = np.ones(dout.shape, dtype=bool)
    for a, p, r in zip(axes, periods, residue):
        along = (np.arange(dout.shape[a]) % p == r).reshape([-1 if b == a else 1 for b in range(dout.ndim)])
        mask = mask & along
    return np.where(mask, dout, 0.0)


def last_window(n_in: int, n_out: int, size: int, stride: int) -> np.ndarray:
    """For each input position along an axis, the last output position whose window covers it (-1: none)."""
    found = np.full(n_in, -1)
    for i in range(n_out):
        found[i * stride:i * stride + size] = i
    return found


def overwritten(g: Geometry, shape: tuple[int, ...], out: tuple[int, ...],
                truths: dict[tuple[int, ...], np.ndarray]) -> np.ndarray:
    """The claim of a backward that assigns each window's contribution: at each entry, the truth of the class
    of the last window that covers it (0 where none does)."""
    claim = np.zeros(shape)
    lasts = [last_window(shape[a], out[a], k, s) for a, k, s in zip(g.axes, g.sizes, g.strides)]
    for residue, truth in truths.items():
        mask = np.ones(shape, dtype=bool)
        for a, last, p, r in zip(g.axes, lasts, g.periods, residue):
            along = (last >= 0) & (last % p == r)
            mask = mask & along.reshape([-1 if b == a else 1 for b in range(len(shape))])
        claim = np.where(mask, truth, claim)
    return claim


# A window's contribution is written at an entry where it is larger than this beside its class's largest:
# a pick (a max pool's argmax) writes one entry of its window; smaller values are the differences' noise.
WRITTEN_SHARE = 1e-6


def written_last(g: Geometry, shape: tuple[int, ...], out: tuple[int, ...],
                 truths: dict[tuple[int, ...], np.ndarray]) -> np.ndarray:
    """The claim of a backward that assigns each window's contribution only where it writes one (a max pool's
    dx[argmax] = dout): at each entry, the contribution of the last window, in the loops' order, that writes
    there (0 where none does). Where every window writes its whole patch (a conv, an average) this is
    `overwritten`'s claim."""
    claim = np.zeros(shape)
    scale = max((float(np.max(np.abs(t))) for t in truths.values() if t.size), default=0.0)
    for position, patch in patches(g, out, truths):
        where = g.window(position, g.strides, len(shape))
        claim[where] = np.where(np.abs(patch) > WRITTEN_SHARE * scale, patch, claim[where])
    return claim


def patches(g: Geometry, out: tuple[int, ...],
            truths: dict[tuple[int, ...], np.ndarray]) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """Each window's own contribution (its output position and the truth of its class on the entries it
    covers): windows of one class do not overlap, so that is the window's alone."""
    for position in itertools.product(*(range(out[a]) for a in g.axes)):
        residue = tuple(i % p for i, p in zip(position, g.periods))
        truth = truths[residue]
        yield position, truth[g.window(position, g.strides, truth.ndim)]


def placed_at(g: Geometry, strides: tuple[int, ...], shape: tuple[int, ...], out: tuple[int, ...],
              truths: dict[tuple[int, ...], np.ndarray]) -> np.ndarray | None:
    """The claim of a backward that adds each window's contribution at `strides` where the forward's windows
    are at g.strides (None where a window would fall outside the input)."""
    claim = np.zeros(shape)
    for position, patch in patches(g, out, truths):
        where = g.window(position, strides, len(shape))
        if any(where[a].stop > shape[a] for a in g.axes):
            return None
        claim[where] += patch
    return claim
