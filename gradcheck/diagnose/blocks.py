"""A pool written by reshape and transpose whose backward forgets the transpose: the forward views x
(N, C, H, W) as blocks (N, C, H/kh, kh, W/kw, kw), moves the window's axes together (transpose to (N, C,
H/kh, W/kw, kh, kw)) and reduces them; a backward that builds dx in that moved order and reshapes it to
x's shape without transposing back puts every entry of the true gradient at another index. The claim is
then the truth viewed as those blocks, its axes in another order, reshaped back.

Read from the shapes alone: an axis the output is shorter than the input by a whole factor is split into
(blocks, window) (channels first or last, 1-D, 2-D or 3-D, any window that tiles the axis), and every order
of the split axes is tried; an order is named only where it explains the whole claim for every dout.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

# At most this many axes after the split (720 orders): a 2-D pool of (N, C, H, W); more are not read.
SPLIT_AXES_MAX = 6


def split_shape(shape: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, ...] | None:
    """x's shape with each pooled axis (the output shorter by a whole factor k) split into (blocks, k);
    None where no axis is pooled, the shapes are not a pool's, or too many axes result."""
    if len(shape) != len(out):
        return None
    split: list[int] = []
    pooled = False
    for n, o in zip(shape, out):
        if 1 <= o < n and n % o == 0:
            split += [o, n // o]
            pooled = True
        elif n == o:
            split.append(n)
        else:
            return None
    return tuple(split) if pooled and len(split) <= SPLIT_AXES_MAX else None


def orders(split: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every order of the split axes but their own."""
    own = tuple(range(len(split)))
    return (p for p in itertools.permutations(own) if p != own)


def moved(truth: np.ndarray, split: tuple[int, ...], order: tuple[int, ...]) -> np.ndarray:
    """The truth viewed as blocks, its axes put in `order`, reshaped back to its own shape."""
    return np.transpose(np.reshape(truth, split), order).reshape(truth.shape)


def sentence(name: str, split: tuple[int, ...], order: tuple[int, ...]) -> str:
    back = tuple(int(a) for a in np.argsort(order))
    blocks = "(" + ", ".join(map(str, split)) + ")"
    return (f"it holds the true gradient's entries viewed as blocks {blocks}, with those axes in the order {order}, "
            f"reshaped back to {name}'s shape (for every dout): a reshape where a transpose belongs — the pooled "
            f"blocks' axes are not moved back (.transpose{back} before the reshape puts them back)")
