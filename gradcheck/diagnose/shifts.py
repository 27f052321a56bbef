"""The truth moved by a constant offset: what a crop or an index off by one or two does to a gradient.

A convolution's dx cropped from the padded gradient as dxp[:, :, :-2, :-2] where dxp[:, :, 1:-1, 1:-1]
belongs, a delay's dx[t] = dout[t] where dout[t + 1] belongs, an embedding's rows written one index off:
every entry of the claim holds the true gradient of the entry k before it along some axes. What falls
off the end is lost, and what comes in at the start is not the truth's (the padding's gradient, or 0),
so it is not known from the truth; the hypothesis (hypotheses._shifted) asks that band to be a small
part of the claim and every other entry to be exactly the moved truth. It is said under "permuted": the
entries moved, the same way for every dout.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from .patterns import axes_words

# Offsets tried along an axis: a crop or index off by one, or by two (a 5x5 kernel's padding 2).
SHIFT_MAX = 2
# At most this many axes moved at once (an image's rows and columns; a volume's three).
SHIFTED_AXES_MAX = 3
# An axis is moved by k only if it has at least this many times k entries: the band that comes in is then
# at most a quarter of that axis, and the entries compared exactly three quarters or more.
AXIS_PER_OFFSET = 4
# The band of entries that come in, whose values are not the truth's, is at most this share of the claim
# (rows and columns of a 5x5 image moved by one: 9 of 25).
BAND_SHARE_MAX = 0.4
# Where the offset along every moved axis is the padding read off the shapes (a window of another input's
# size, slid over this input padded by |k| on each side, gives the output's length there), the band is the
# padding's gradient kept by a crop at the wrong place: it may be this share (a 4x4 image's rows and columns
# moved by one: 7 of 16), the compared entries still more than half.
BAND_SHARE_PADDED_MAX = 0.5


def offsets(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every offset vector worth trying, the smallest first (fewest axes, then the smallest moves), so that
    a truth periodic along an axis is said moved by the least that explains it."""
    movable = [a for a, n in enumerate(shape) if n >= AXIS_PER_OFFSET]
    found = []
    for count in range(1, min(SHIFTED_AXES_MAX, len(movable)) + 1):
        for axes in itertools.combinations(movable, count):
            steps = [[k for k in range(-SHIFT_MAX, SHIFT_MAX + 1) if k and shape[a] >= AXIS_PER_OFFSET * abs(k)]
                     for a in axes]
            for moves in itertools.product(*steps):
                s = [0] * len(shape)
                for a, k in zip(axes, moves):
                    s[a] = k
                found.append(tuple(s))
    yield from sorted(found, key=lambda s: (sum(1 for k in s if k), sum(abs(k) for k in s)))


def moved(a: np.ndarray, s: tuple[int, ...]) -> np.ndarray:
    """`a` with entry i moved to i + s (NaN where nothing lands: the band that comes in)."""
    out = np.full(a.shape, np.nan)
    source = tuple(slice(max(-k, 0), n - max(k, 0)) for k, n in zip(s, a.shape))
    target = tuple(slice(max(k, 0), n - max(-k, 0)) for k, n in zip(s, a.shape))
    out[target] = a[source]
    return out


def band_share(shape: tuple[int, ...], s: tuple[int, ...]) -> float:
    """The share of the entries that come in when an array of this shape moves by s."""
    return 1.0 - float(np.prod([(n - abs(k)) / n for k, n in zip(s, shape)]))


def band_allowed(shape: tuple[int, ...], s: tuple[int, ...], outputs: list[tuple[int, ...]],
                 others: list[tuple[int, ...]]) -> bool:
    """The band that comes in is small (BAND_SHARE_MAX), or no more than BAND_SHARE_PADDED_MAX where every
    moved axis's offset is its padding (padded_by): the crop of a padded gradient one place off."""
    share = band_share(shape, s)
    if share <= BAND_SHARE_MAX:
        return True
    if share > BAND_SHARE_PADDED_MAX:
        return False
    return all(padded_by(shape, a, abs(k), outputs, others) for a, k in enumerate(s) if k)


def padded_by(shape: tuple[int, ...], axis: int, pad: int, outputs: list[tuple[int, ...]],
              others: list[tuple[int, ...]]) -> bool:
    """Some output of this input's rank is, along `axis`, as long as a window of some other input's trailing
    length (2 or more) slid over this axis padded by `pad` on each side, at a stride no larger than the window."""
    n = shape[axis]
    lengths = {o[axis] for o in outputs if len(o) == len(shape)}
    windows = {w for o in others for w in o[-2:] if w >= 2}
    return any((n + 2 * pad - w) // stride + 1 == m
               for m in lengths for w in windows if n + 2 * pad >= w for stride in range(1, w + 1))


def band(shape: tuple[int, ...], s: tuple[int, ...]) -> np.ndarray:
    """The entries that come in: those that no entry lands on when the array moves by s."""
    return np.isnan(moved(np.zeros(shape), s))


def sentence(name: str, s: tuple[int, ...], zero: bool) -> str:
    """What the offset is, in the user's words: along which axes, by how much, and the slice it looks like."""
    axes = [a for a, k in enumerate(s) if k]
    by = tuple(s[a] for a in axes)
    along = axes_words(tuple(axes))
    amount = f"{by[0]}" if len(by) == 1 else "(" + ", ".join(map(str, by)) + ")"
    back = f"i + {amount.replace('-', '')}" if all(k < 0 for k in by) else f"i − {amount}"
    size = max(abs(k) for k in by)
    if all(k == 1 for k in by):
        example = ("a crop or index offset off by one (e.g. [:-2] where [1:-1] belongs, or an index i - 1 read, "
                   "or i + 1 written, where i belongs)")
    elif all(k == -1 for k in by):
        example = ("a crop or index offset off by one (e.g. [2:] where [1:-1] belongs, or an index i + 1 read, "
                   "or i - 1 written, where i belongs)")
    else:
        example = f"a crop or index offset off by {size}"
    came = ("what comes in at the edge is 0" if zero else
            "what comes in at the edge is not the true gradient (the padding's gradient, or another entry's)")
    return (f"it is the true gradient of {name} shifted by {amount} along {along} (entry i holds the true "
            f"gradient at {back}; the last entries are dropped and {came}): {example}")
