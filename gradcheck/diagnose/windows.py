"""Sliding windows written with = where += belongs: a convolution's or a pool's backward that assigns
each window's contribution to dx overwrites the windows before it where they overlap, so each entry of
the claim is the contribution of the last window (in the loops' order) that covers it, alone (the first,
where the loops run backwards).

Read from the numbers alone: the windows' size and stride along each spatial axis are the ones the
input's and the output's sizes allow (valid windows, no padding), and the output positions are split
into classes whose windows do not overlap (position i mod ceil(size/stride) along each axis): the truth
for a dout kept on one class is then each window's own contribution, at the entries it covers. These
helpers give the classes' douts and the claim such a backward makes from their truths; and, from the
same truths (each window's own contribution), the claim of a backward that adds the windows at another
stride than the forward's (a stride 2 conv's dx windows placed at stride 1). A padded conv's windows (its
kernel's size, starting at i * stride - pad) hide part of the border windows' contributions in the padding:
that part is the linear map of dout the windows inside show, so the whole claim is still predicted. A
padded pool's windows (no kernel to say their size) are read for the windows overwritten only, where few
sizes, strides and paddings fit the shapes: a pool's padding hides nothing it would need.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
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
    pads: tuple[int, ...] = ()  # per side along each axis (padded_geometries); none for valid windows

    @property
    def periods(self) -> tuple[int, ...]:
        """Output positions this far apart along an axis have windows that do not overlap."""
        return tuple(math.ceil(k / s) for k, s in zip(self.sizes, self.strides))

    def window(self, position: tuple[int, ...], strides: tuple[int, ...], ndim: int) -> tuple[slice, ...]:
        """The index of the window at output `position` placed at `strides`: its entries along every axis (a
        padded window's inside the input: it starts at i * stride - pad)."""
        where = [slice(None)] * ndim
        for a, i, s, k, p in zip(self.axes, position, strides, self.sizes, self.pads or (0,) * len(self.axes)):
            where[a] = slice(max(i * s - p, 0), i * s - p + k)
        return tuple(where)

    def said(self) -> str:
        size = "x".join(map(str, self.sizes))
        stride = ",".join(map(str, self.strides)) if len(set(self.strides)) > 1 else str(self.strides[0])
        pad = ",".join(map(str, self.pads)) if len(set(self.pads)) > 1 else "".join(map(str, self.pads[:1]))
        return f"{size} windows with stride {stride}" + (f" and padding {pad}" if pad else "")


def geometries(shape: tuple[int, ...], out: tuple[int, ...], kernels: Sequence[tuple[int, ...]] = (),
               overlapping: bool = True, sole: bool = False) -> list[Geometry]:
    """The window geometries that turn an input of `shape` (batch, channels, positions...) into `out`
    (those whose windows overlap along some axis, with `overlapping`); where the spatial shape of one of
    `kernels` (a conv's weight beside the input) is one of the sizes, that size alone. None where the
    shapes are not a sliding window's, or where too many fit to measure. With `sole` (the input is the
    call's only array), a (batch, positions) input too: a 1-D pool without channels (sequence_axes)."""
    axes_found = spatial_axes(shape, out, bool(kernels)) + (sequence_axes(shape, out) if sole and not kernels else [])
    found = [g for axes in axes_found for g in _fitting(shape, out, axes)]
    sized = [g for g in found if any(tuple(k) == g.sizes for k in kernels)]
    found = sized or found
    if overlapping:
        found = [g for g in found if any(k > s for k, s in zip(g.sizes, g.strides))]
    if len(found) > GEOMETRIES_MAX and not sized:
        found = square(found)  # a pool's size and stride are one number each, the same along every axis
    return found if len(found) <= GEOMETRIES_MAX else []


def square(found: list[Geometry]) -> list[Geometry]:
    """The geometries of the same size and stride along every axis whose classes can all be measured (a
    pool written with one size and one stride): where the shapes fit too many, these are the ones read."""
    return [g for g in found if len(set(g.sizes)) == len(set(g.strides)) == 1
            and math.prod(g.periods) <= CLASSES_MAX]


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


def sequence_axes(shape: tuple[int, ...], out: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The positions' axis of a 1-D pool without channels, (batch, positions) in and out, fewer out: read
    only where the input is the call's only array (spatial_axes reads no 2-D shape, an affine layer's)."""
    if len(shape) != 2 or len(out) != 2 or shape[0] != out[0] or out[1] >= shape[1]:
        return []
    return [(1,)]


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


def last_window(n_in: int, n_out: int, size: int, stride: int, reverse: bool = False, pad: int = 0) -> np.ndarray:
    """For each input position along an axis, the last output position whose window (starting at
    i * stride - pad) covers it (-1: none); with `reverse`, the first (the last a loop running backwards reaches)."""
    found = np.full(n_in, -1)
    for i in reversed(range(n_out)) if reverse else range(n_out):
        found[max(i * stride - pad, 0):i * stride - pad + size] = i
    return found


def overwritten(g: Geometry, shape: tuple[int, ...], out: tuple[int, ...],
                truths: dict[tuple[int, ...], np.ndarray], reverse: bool = False) -> np.ndarray:
    """The claim of a backward that assigns each window's contribution: at each entry, the truth of the class
    of the last window that covers it (0 where none does); with `reverse`, of the first (loops run backwards)."""
    claim = np.zeros(shape)
    lasts = [last_window(shape[a], out[a], k, s, reverse, p)
             for a, k, s, p in zip(g.axes, g.sizes, g.strides, g.pads or (0,) * len(g.axes))]
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
                 truths: dict[tuple[int, ...], np.ndarray], reverse: bool = False) -> np.ndarray:
    """The claim of a backward that assigns each window's contribution only where it writes one (a max pool's
    dx[argmax] = dout): at each entry, the contribution of the last window, in the loops' order, that writes
    there (0 where none does); with `reverse`, the loops run backwards and the first window wins. Where every
    window writes its whole patch (a conv, an average) this is `overwritten`'s claim."""
    claim = np.zeros(shape)
    scale = max((float(np.max(np.abs(t))) for t in truths.values() if t.size), default=0.0)
    written = list(patches(g, out, truths))
    for position, patch in reversed(written) if reverse else written:
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


# A linear fit of a window's contribution must leave at most this share of its largest value unexplained.
FIT_RESIDUAL = 1e-6


def _padded_fits(n: int, m: int, sizes: Iterable[int]) -> list[tuple[int, int, int]]:
    """The (size, stride, padding) of windows, padded by 0 < p <= size // 2 per side, that turn n entries
    along an axis into m: the windows of a padded conv (its kernel's size) or pool (any size)."""
    return [(k, s, p) for k in sizes for s in range(1, STRIDE_MAX + 1) for p in range(1, k // 2 + 1)
            if k <= n + 2 * p and (n + 2 * p - k) // s + 1 == m]


def padded_geometries(shape: tuple[int, ...], out: tuple[int, ...],
                      kernels: Sequence[tuple[int, ...]]) -> list[Geometry]:
    """The geometries of windows of a kernel's size over the input padded by 0 < p <= size // 2 per side (a
    padded conv's, "same" padding at most): their windows start at i * stride - pad. A stride 2, pad 1 conv's output may be a valid stride
    1 conv's size: both are read, and the numbers (whole_contributions' fit) tell them apart."""
    found = []
    for axes in spatial_axes(shape, out, bool(kernels)):
        for kernel in kernels:
            if len(kernel) != len(axes):
                continue
            per_axis = [_padded_fits(shape[a], out[a], (k,)) for a, k in zip(axes, kernel)]
            for combo in itertools.product(*per_axis):
                g = Geometry(axes, kernel, tuple(s for _, s, _ in combo), tuple(p for _, _, p in combo))
                if g not in found:
                    found.append(g)
    return found if len(found) <= GEOMETRIES_MAX else []


def padded_pool_geometries(shape: tuple[int, ...], out: tuple[int, ...]) -> list[Geometry]:
    """A pool's padded windows (no kernel says their size): every size of 2 to SIZE_MAX with a padding
    0 < p <= size // 2 and a stride that turn `shape` into `out` along each spatial axis, the windows
    overlapping along some axis; none where more than GEOMETRIES_MAX fit (the shapes say too little)."""
    found = []
    for axes in spatial_axes(shape, out, False):
        per_axis = [_padded_fits(shape[a], out[a], range(2, SIZE_MAX + 1)) for a in axes]
        for combo in itertools.product(*per_axis):
            g = Geometry(axes, tuple(k for k, _, _ in combo), tuple(s for _, s, _ in combo),
                         tuple(p for _, _, p in combo))
            if any(k > s for k, s in zip(g.sizes, g.strides)) and g not in found:
                found.append(g)
    return found if len(found) <= GEOMETRIES_MAX else []


def _padded_window(g: Geometry, position: tuple[int, ...], strides: tuple[int, ...],
                   shape: tuple[int, ...]) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """The entries of the input a padded window at `position` placed at `strides` covers, and the entries of
    its whole (kernel-sized) contribution they take; None where it would leave the padded input."""
    inside: list[slice] = [slice(None)] * len(shape)
    part: list[slice] = [slice(None)] * len(shape)
    for a, i, s, k, p in zip(g.axes, position, strides, g.sizes, g.pads):
        start = i * s - p
        if start + k > shape[a] + p:
            return None
        lo, hi = max(start, 0), min(start + k, shape[a])
        inside[a], part[a] = slice(lo, hi), slice(lo - start, hi - start)
    return tuple(inside), tuple(part)


def _at(dout: np.ndarray, g: Geometry, position: tuple[int, ...]) -> np.ndarray:
    """dout at one output position: (batch, the other axes flattened)."""
    where: list[slice | int] = [slice(None)] * dout.ndim
    for a, i in zip(g.axes, position):
        where[a] = i
    d = np.asarray(dout[tuple(where)], dtype=np.float64)
    return d.reshape(d.shape[0], -1)


def whole_contributions(g: Geometry, shape: tuple[int, ...], out: tuple[int, ...],
                        truths: Sequence[dict[tuple[int, ...], np.ndarray]],
                        douts: Sequence[np.ndarray]) -> list[dict[tuple[int, ...], np.ndarray]] | None:
    """Per dout, each padded window's whole contribution, the part the padding hides included: a window
    inside the input shows it; the others' is the one linear map of dout at the window's position (the same
    per dout, batch entry and position, as a conv's or an average's is) fitted on the windows inside and
    checked on every entry seen. None where the windows inside are too few to fit it or it does not
    explain them."""
    whole_shape = [shape[0], *shape[1:]]
    for a, k in zip(g.axes, g.sizes):
        whole_shape[a] = k
    rows, cols, seen = [], [], []
    for by_class, dout in zip(truths, douts):
        for position in itertools.product(*(range(out[a]) for a in g.axes)):
            found = _padded_window(g, position, g.strides, shape)
            if found is None:
                return None
            shown = by_class[tuple(i % q for i, q in zip(position, g.periods))][found[0]]
            seen.append((position, found, shown, _at(dout, g, position)))
            if all(found[1][a].stop - found[1][a].start == k for a, k in zip(g.axes, g.sizes)):
                rows.append(seen[-1][3])
                cols.append(shown.reshape(shape[0], -1))
    if not rows or not all(np.all(np.isfinite(c)) for c in cols):
        return None
    x, y = np.concatenate(rows), np.concatenate(cols)
    if x.shape[0] <= x.shape[1]:
        return None  # as many samples as unknowns: any map fits, none is read
    fit = np.linalg.lstsq(x, y, rcond=None)[0]
    scale = max(float(np.max(np.abs(y))), 1e-300)
    found_all: list[dict[tuple[int, ...], np.ndarray]] = []
    for position, (_, part), shown, at in seen:
        if position == seen[0][0]:
            found_all.append({})
        full = (at @ fit).reshape(whole_shape)
        if np.any(np.abs(full[part] - shown) > FIT_RESIDUAL * scale):
            return None
        found_all[-1][position] = full
    return found_all


def padded_placed_at(g: Geometry, strides: tuple[int, ...], shape: tuple[int, ...],
                     whole: dict[tuple[int, ...], np.ndarray]) -> np.ndarray | None:
    """The claim of a backward that adds each padded window's whole contribution at `strides` (in the padded
    input) where the forward's are at g.strides, then drops the padding (None where a window leaves it)."""
    claim = np.zeros(shape)
    for position, full in whole.items():
        found = _padded_window(g, position, strides, shape)
        if found is None:
            return None
        claim[found[0]] += full[found[1]]
    return claim


def max_routed(dout: np.ndarray, x: np.ndarray, g: Geometry, over: tuple[int, ...] = ()) -> np.ndarray:
    """A max pool's backward: dout at each output position put on the entries of its window equal to the
    window's maximum, that maximum taken over the window's axes and the whole of the axes `over` too (every
    channel's window, where each channel's own maximum belongs)."""
    dx = np.zeros(x.shape)
    spatial = tuple(g.axes)
    for position in itertools.product(*(range(dout.shape[a]) for a in spatial)):
        where = g.window(position, g.strides, x.ndim)
        block = x[where]
        mask = block == block.max(axis=spatial + tuple(over), keepdims=True)
        at = dict(zip(spatial, position))
        d = dout[tuple(at.get(a, slice(None)) for a in range(dout.ndim))]
        dx[where] += mask * np.expand_dims(d, spatial)
    return dx
