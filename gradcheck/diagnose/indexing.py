"""Index mistakes, read from the integer inputs: a loss's labels and a lookup's indices.

Labels. A classifier's gradient on its scores (N by C) with integer labels y (N entries, each below C)
has a term at the correct class of each row, (i, y[i]): softmax's −1, a multiclass SVM's −count of the
margins that pass. A backward whose claim differs from the truth only at those entries got that term
wrong (left out, or scaled). The fancy-index slip `d[:, y] -= 1` for `d[np.arange(N), y] -= 1`
subtracts at every row, at every label y holds: the claim is the truth with the one-hot of y replaced by
the mask of y's columns (each column once, as numpy's buffered `-=` does, or once per occurrence, as
np.subtract.at does), scaled as the loss scales it.

Indices. A lookup's gradient (an embedding, a bag of rows) adds each position's dout to the row its
index names: dW = scatter(idx, dout · w) with w 1 or a weight per position (an input of idx's shape),
times a constant (a bag's mean). Read from the truth which of these the forward is, the claim is then
predicted for the index read in the other order (idx.T, or flattened in column order) and for the
weights forgotten. An index that is no input (the layer's own, a closure's) is read off the forward's
output where each of its rows is the same constant times exactly one row of the table (c · W[idx]); the
truth then says whether the gradient is that lookup's.

Pure array helpers; hypotheses.py's entries check them against the measurements.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

# An output row is taken for a table row times c where it is that within this (relative), c the same for all.
ROW_MATCH = 1e-8
# What an index read off the output (no input of the call) is called where it is said.
READ = "idx"
# The index is read off an output only where its rows times the table's rows times a row's size is at most
# this many numbers (each output row is compared with each table row).
READ_MAX = 2_000_000


# ----- labels ---------------------------------------------------------------------------------------
def labels(shape: tuple[int, ...], values: Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
    """The integer inputs that can be the labels of a gradient of this shape: one per row (per entry of the
    leading axes: a sequence's (N, T) labels of (N, T, V) scores), each a class of the last axis."""
    if len(shape) < 2 or shape[-1] < 2 or int(np.prod(shape[:-1])) < 2:
        return []
    found = []
    for n, y in values.items():
        if isinstance(y, np.ndarray) and y.dtype.kind in "iu" and y.shape == tuple(shape[:-1]):
            if y.min() >= 0 and y.max() < shape[-1]:
                found.append((n, y))
    return found


def column_masks(y: np.ndarray, columns: int) -> list[tuple[str, np.ndarray]]:
    """What `d[:, y] -= 1` subtracts: 1 in every row at each class y holds (numpy's buffered fancy-index
    update, each column once), and, where y repeats a label, the count of it (np.subtract.at)."""
    counts = np.bincount(y.ravel(), minlength=columns).astype(np.float64)
    shape = y.shape + (columns,)
    found = [("once", np.array(np.broadcast_to((counts > 0).astype(np.float64), shape)))]
    if np.any(counts > 1):
        found.append(("per occurrence", np.array(np.broadcast_to(counts, shape))))
    return found


def row_masks(y: np.ndarray, columns: int) -> list[tuple[str, np.ndarray]]:
    """What `d[y] -= 1` subtracts from a gradient of one row per label (N by C, every label below N): every
    entry of the rows y names, each row once (numpy's buffered update), or once per occurrence."""
    rows = len(y)
    if y.ndim != 1 or y.max() >= rows:
        return []
    counts = np.bincount(y, minlength=rows).astype(np.float64)
    found = [("once", np.array(np.broadcast_to((counts > 0).astype(np.float64)[:, None], (rows, columns))))]
    if np.any(counts > 1):
        found.append(("per occurrence", np.array(np.broadcast_to(counts[:, None], (rows, columns)))))
    return found


# ----- lookups --------------------------------------------------------------------------------------
def scatter(index: np.ndarray, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """np.add.at(zeros(shape), index, values): each position's values added at the row its index names."""
    g = np.zeros(shape)
    np.add.at(g, index, values)
    return g


def lookups(shape: tuple[int, ...], out: tuple[int, ...], values: Mapping[str, Any],
            read: tuple[Any, Any] | None = None) -> Iterator[tuple[str, np.ndarray, int | None]]:
    """The integer inputs idx that index the rows of a gradient of this shape, where the output is idx's
    shape and a row's (W[idx]) or that with one axis of idx summed away (a bag): (name, idx, that axis).
    With `read` (the table and the forward's output), where no input is a plain lookup's index (nor is
    called READ), the index read off the output (read_index), called READ."""
    if not shape:
        return
    rest = tuple(shape[1:])
    plain = False
    for n, idx in values.items():
        if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu" or not idx.size:
            continue
        if idx.min() < 0 or idx.max() >= shape[0]:
            continue
        if tuple(out) == idx.shape + rest:
            plain = True
            yield n, idx, None
        for a in range(idx.ndim):
            if idx.shape[a] > 1 and tuple(out) == idx.shape[:a] + idx.shape[a + 1:] + rest:
                yield n, idx, a
    found = None if plain or read is None or READ in values else read_index(*read)
    if found is not None:
        yield READ, found, None


def read_index(table: Any, output: Any) -> np.ndarray | None:
    """The index a forward c · table[idx] reads the table's rows with, read off its output (of idx's shape
    and a row's): each output row is c times exactly one of the table's rows, the same c for all. None
    where any is not, or is as near to two rows (rows alike, or rows of one number each)."""
    if not isinstance(table, np.ndarray) or not isinstance(output, np.ndarray) or table.ndim < 1:
        return None
    if table.dtype.kind != "f" or output.dtype.kind != "f" or not table.size or not output.size:
        return None
    lead = output.ndim - (table.ndim - 1)
    if lead < 1 or output.shape[lead:] != table.shape[1:]:
        return None
    rows = table.reshape(len(table), -1).astype(np.float64)
    outs = output.reshape(int(np.prod(output.shape[:lead])), -1).astype(np.float64)
    if outs.size * len(rows) > READ_MAX:
        return None
    norms, sizes = np.sum(rows ** 2, axis=1), np.sum(outs ** 2, axis=1)
    if not np.all(norms > 0) or not np.all(sizes > 0):
        return None
    scales = (outs @ rows.T) / norms[None, :]  # each output row's fit as a multiple of each table row
    left = np.sum((outs[:, None, :] - scales[:, :, None] * rows[None, :, :]) ** 2, axis=2)
    near = left <= ROW_MATCH ** 2 * sizes[:, None]
    if not np.all(near.sum(axis=1) == 1):
        return None
    index = np.argmax(near, axis=1)
    c = scales[np.arange(len(outs)), index]
    if not np.all(np.abs(c - c[0]) <= ROW_MATCH * np.abs(c[0])):
        return None
    return index.reshape(output.shape[:lead])


def spread(dout: np.ndarray, index: np.ndarray, bag: int | None, rest: tuple[int, ...]) -> np.ndarray:
    """Each index position's dout (a bag's own, repeated over the bag's axis), of idx's shape and a row's."""
    d = np.asarray(dout, dtype=np.float64)
    if bag is not None:
        d = np.expand_dims(d, bag)
    return np.broadcast_to(d, index.shape + rest)


def per_position(values: Mapping[str, Any], index: np.ndarray, skip: str) -> list[tuple[str, np.ndarray]]:
    """The floating-point inputs of the index's shape (a weight per position), but `skip`."""
    return [(n, np.asarray(v, dtype=np.float64)) for n, v in values.items()
            if n != skip and isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.shape == index.shape]


def other_order(index: np.ndarray) -> np.ndarray | None:
    """The index read in the other order: flattened in column order and laid out in row order (for a
    square one, its transpose); None where that is the index itself (one axis, or symmetric)."""
    if index.ndim < 2:
        return None
    other = index.ravel(order="F").reshape(index.shape)
    return None if np.array_equal(other, index) else other


def weighted(v: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Each position's values times its weight (w of the index's shape; None: no weight)."""
    if w is None:
        return v
    return v * w.reshape(w.shape + (1,) * (v.ndim - w.ndim))


def plain_lookups(shape: tuple[int, ...], out: tuple[int, ...], values: Mapping[str, Any], name: str,
                  douts: list[np.ndarray]) -> Iterator[tuple[str, list[np.ndarray]]]:
    """Per lookup the shapes allow (a bag's, a weighted one's), the gradient of that lookup with no scale
    of its own, one per dout: the truth of a forward c · W[idx] is c times it, so c is read off the truth."""
    rest = tuple(shape[1:])
    for n, idx, bag in lookups(shape, out, values):
        spreads = [spread(d, idx, bag, rest) for d in douts]
        for w_name, w in [("", None), *per_position(values, idx, name)]:
            said = f"{name}[{n}]" + (f" weighted by {w_name}" if w_name else "") + (
                f" summed over axis {bag} of {n}" if bag is not None else "")
            yield said, [scatter(idx, weighted(s, w), shape) for s in spreads]


def assigned(index: np.ndarray, values: np.ndarray, shape: tuple[int, ...], which: str) -> np.ndarray:
    """What `g[index] += values` leaves in zeros(shape) (numpy's buffered update): at a row the index names
    more than once, one position's values only, the last (or the first) in the index's order."""
    g = np.zeros(shape)
    rows = index.ravel()
    flat = np.asarray(values, dtype=np.float64).reshape((rows.size,) + tuple(shape[1:]))
    if which == "last":  # each row's last position: its first in the reversed order
        kept = rows.size - 1 - np.unique(rows[::-1], return_index=True)[1]
    else:
        kept = np.unique(rows, return_index=True)[1]
    g[rows[kept]] = flat[kept]
    return g
