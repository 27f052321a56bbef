"""Arrays rearranged, cut and built: reshape, transpose(axes), broadcast_to, concatenate, pad,
indexing with slices, integer-array gathers, where, and the constructors zeros/ones/eye/arange/full.

Each has a shape rule (raising ValueError with the reason), a numpy forward, VJPs (g, ans, *inputs,
**static) and a SymPy form on object arrays. The registry in primitives.py names them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base.limits import MAX_ENTRIES
from .arrays import unbroadcast

# ----- static arguments ------------------------------------------------------------------------------


def shape_of(shape: Any, what: str = "a shape") -> tuple[int, ...]:
    items = shape if isinstance(shape, tuple) else (shape,)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in items):
        raise ValueError(f"{what} is whole numbers, like (2, 3); got {shape!r}")
    return tuple(items)


def _sizes(shape: tuple[int, ...]) -> tuple[int, ...]:
    if any(n < 0 for n in shape):
        raise ValueError(f"a shape has no negative sizes: {shape}")
    if int(np.prod(shape, dtype=np.float64)) > MAX_ENTRIES:
        raise ValueError(f"{shape} would have more than {MAX_ENTRIES:,} entries")
    return shape


# ----- reshape ------------------------------------------------------------------------------------


def reshape_shape(x: tuple[int, ...], shape: Any) -> tuple[int, ...]:
    want = shape_of(shape)
    size = int(np.prod(x, dtype=np.int64))
    if want.count(-1) > 1:
        raise ValueError("only one size may be -1")
    if any(n < -1 for n in want):
        raise ValueError(f"a size must be ≥ 0 or -1, got {min(want)}")
    known = int(np.prod([n for n in want if n != -1], dtype=np.int64))
    if -1 in want:
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape {size} entries into {shape}")
        want = tuple(size // known if n == -1 else n for n in want)
    if int(np.prod(want, dtype=np.int64)) != size:
        raise ValueError(f"cannot reshape {size} entries into {want} ({int(np.prod(want, dtype=np.int64))} entries)")
    return want


def reshape(x, shape):
    return np.reshape(x, reshape_shape(np.shape(x), shape))


def reshape_vjp(g, ans, x, shape):
    return np.reshape(g, np.shape(x))


def sym_reshape(sp, x, shape):
    return np.reshape(x, reshape_shape(x.shape, shape))


# ----- transpose ------------------------------------------------------------------------------------


def permutation(x: tuple[int, ...], axes: Any) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(len(x)))[::-1]
    perm = shape_of(axes, "the axes")
    if sorted(a % len(x) if -len(x) <= a < len(x) else a for a in perm) != list(range(len(x))):
        raise ValueError(f"axes {axes} are not a permutation of the {len(x)} axes 0 … {len(x) - 1}")
    return tuple(a % len(x) for a in perm)


def transpose_shape(x: tuple[int, ...], axes: Any = None) -> tuple[int, ...]:
    return tuple(x[i] for i in permutation(x, axes))


def transpose(x, axes=None):
    return np.transpose(x, permutation(np.shape(x), axes))


def transpose_vjp(g, ans, x, axes=None):
    return np.transpose(g, np.argsort(permutation(np.shape(x), axes)))


def sym_transpose(sp, x, axes=None):
    return np.transpose(x, permutation(x.shape, axes))


# ----- broadcast_to ------------------------------------------------------------------------------------


def broadcast_to_shape(x: tuple[int, ...], shape: Any) -> tuple[int, ...]:
    want = _sizes(shape_of(shape))
    try:
        np.broadcast_shapes(x, want)
    except ValueError:
        raise ValueError(f"cannot broadcast {x} to {want}") from None
    if np.broadcast_shapes(x, want) != want:
        raise ValueError(f"cannot broadcast {x} to {want}")
    return want


def broadcast_to(x, shape):
    return np.broadcast_to(x, shape_of(shape))


def broadcast_to_vjp(g, ans, x, shape):
    return unbroadcast(g, np.shape(x))


def sym_broadcast_to(sp, x, shape):
    return np.broadcast_to(x, shape_of(shape)).copy()


# ----- concatenate (two at a time; the parser folds concatenate((a, b, c)) and stack) ---------------


def concatenate_shape(a: tuple[int, ...], b: tuple[int, ...], axis: Any = 0) -> tuple[int, ...]:
    if not a or not b:
        raise ValueError("scalars cannot be concatenated; stack them")
    if len(a) != len(b):
        raise ValueError(f"the arrays have {len(a)} and {len(b)} dimensions")
    (k,) = shape_of(axis, "the axis")
    if not -len(a) <= k < len(a):
        raise ValueError(f"axis {k} is out of range for {len(a)} dimensions")
    k %= len(a)
    if a[:k] + a[k + 1:] != b[:k] + b[k + 1:]:
        raise ValueError(f"the sizes must match except along axis {k}")
    return a[:k] + (a[k] + b[k],) + a[k + 1:]


def concatenate(a, b, axis=0):
    return np.concatenate([a, b], axis=axis)


def concatenate_vjp_a(g, ans, a, b, axis=0):
    return np.take(g, np.arange(np.shape(a)[axis]), axis=axis)


def concatenate_vjp_b(g, ans, a, b, axis=0):
    k = np.shape(a)[axis]
    return np.take(g, np.arange(k, k + np.shape(b)[axis]), axis=axis)


def sym_concatenate(sp, a, b, axis=0):
    return np.concatenate([a, b], axis=axis)


def expand_dims_shape(x: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    (k,) = shape_of(axis, "the axis")
    if not -len(x) - 1 <= k <= len(x):
        raise ValueError(f"axis {k} is out of range for a new axis of {len(x) + 1} dimensions")
    k %= len(x) + 1
    return x[:k] + (1,) + x[k:]


def expand_dims(x, axis):
    return np.expand_dims(x, axis)


def expand_dims_vjp(g, ans, x, axis):
    return np.reshape(g, np.shape(x))


def sym_expand_dims(sp, x, axis):
    return np.expand_dims(x, axis)


def stack_shape(a: tuple[int, ...], b: tuple[int, ...], axis: Any = 0) -> tuple[int, ...]:
    """a is the stack so far (with the new axis), b the next array (without it)."""
    (k,) = shape_of(axis, "the axis")
    if not -len(a) <= k < len(a):
        raise ValueError(f"axis {k} is out of range for the stacked {len(a)} dimensions")
    k %= len(a)
    if a[:k] + a[k + 1:] != b:
        raise ValueError(f"stacked arrays must have one shape; got {a[:k] + a[k + 1:]} and {b}")
    return a[:k] + (a[k] + 1,) + a[k + 1:]


def stack(a, b, axis=0):
    return np.concatenate([a, np.expand_dims(b, axis)], axis=axis)


def stack_vjp_a(g, ans, a, b, axis=0):
    return np.take(g, np.arange(np.shape(a)[axis]), axis=axis)


def stack_vjp_b(g, ans, a, b, axis=0):
    return np.take(g, np.shape(a)[axis], axis=axis)


def sym_stack(sp, a, b, axis=0):
    return np.concatenate([a, np.expand_dims(b, axis)], axis=axis)


# ----- pad (with zeros) ------------------------------------------------------------------------------


def widths_of(x: tuple[int, ...], widths: Any) -> tuple[tuple[int, int], ...]:
    """numpy's forms: n, (before, after), or one (before, after) per axis."""
    pairs: tuple[tuple[int, ...], ...]
    if isinstance(widths, int) and not isinstance(widths, bool):
        pairs = ((widths, widths),) * len(x)
    elif isinstance(widths, tuple) and len(widths) == 2 and all(isinstance(w, int) for w in widths):
        pairs = (tuple(widths),) * len(x)
    elif isinstance(widths, tuple) and all(isinstance(w, tuple) and len(w) == 2 for w in widths):
        pairs = tuple(tuple(shape_of(w, "a width")) for w in widths)
    else:
        raise ValueError(f"pad widths are n, (before, after) or one (before, after) per axis; got {widths!r}")
    if len(pairs) != len(x):
        raise ValueError(f"{len(pairs)} (before, after) pairs for {len(x)} dimensions")
    if any(w < 0 for pair in pairs for w in pair):
        raise ValueError("pad widths are ≥ 0")
    return tuple((lo, hi) for lo, hi in pairs)


def pad_shape(x: tuple[int, ...], widths: Any) -> tuple[int, ...]:
    return _sizes(tuple(n + lo + hi for n, (lo, hi) in zip(x, widths_of(x, widths))))


def pad(x, widths):
    return np.pad(x, widths_of(np.shape(x), widths))


def _inner(x_shape, widths):
    return tuple(slice(lo, lo + n) for n, (lo, _) in zip(x_shape, widths_of(x_shape, widths)))


def pad_vjp(g, ans, x, widths):
    return g[_inner(np.shape(x), widths)]


def sym_pad(sp, x, widths):
    out = np.full(pad_shape(x.shape, widths), sp.Integer(0), dtype=object)
    out[_inner(x.shape, widths)] = x
    return out


# ----- indexing with constants: x[1, :], x[1:-1, ::2], x[:, None] -------------------------------------


def index_shape(x: tuple[int, ...], index: tuple) -> tuple[int, ...]:
    if not x:
        raise ValueError("a scalar cannot be indexed or sliced")
    if sum(i is not None for i in index) > len(x):
        raise ValueError(f"{sum(i is not None for i in index)} indices for {len(x)} dimensions")
    dims = iter(x)
    for i in index:
        if isinstance(i, int):
            n = next(dims)
            if not -n <= i < n:
                raise ValueError(f"index {i} is out of range for a dimension of size {n}")
        elif isinstance(i, slice):
            if i.step == 0:
                raise ValueError("a slice step cannot be 0")
            next(dims)
    return _strided(x)[index].shape


def _strided(shape):
    return np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape, strides=(0,) * len(shape))


def index(x, index):
    return x[index]


def index_vjp(g, ans, x, index):
    out = np.zeros(np.shape(x), dtype=np.result_type(g, np.float64))
    out[index] = g  # basic indexing reaches each entry at most once
    return out


def sym_index(sp, x, index):
    return np.asarray(x[index], dtype=object) if isinstance(x[index], np.ndarray) else _scalar(x[index])


def _scalar(expr) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = expr
    return out


# ----- gathers: W[idx], S[arange(N), y], x[:, y] ------------------------------------------------------
# `template` is the index as written, with "*" where an integer array (a data input) goes.


def _filled(template: tuple, arrays) -> tuple:
    it = iter(arrays)
    return tuple(np.asarray(next(it)).real.astype(np.intp) if t == "*" else t for t in template)


def gather_shape(x: tuple[int, ...], *index_shapes, template: tuple) -> tuple[int, ...]:
    if not x:
        raise ValueError("a scalar cannot be indexed")
    dummy = [np.zeros(s, dtype=np.intp) for s in index_shapes]
    try:
        return _strided(x)[_filled(template, dummy)].shape
    except IndexError as exc:
        raise ValueError(str(exc)) from None


def gather_domain(x, *indices, template: tuple):
    """Each index array holds whole numbers within its axis: a mask over the first bad array."""
    axis, masks = 0, []
    arrays = iter(indices)
    for t in template:
        if t is None:
            continue
        if t == "*":
            i = np.asarray(next(arrays))
            n = np.shape(x)[axis]
            masks.append(np.equal(np.floor(i), i) & (i >= -n) & (i < n))
        axis += 1
    bad = next((m for m in masks if not np.all(m)), None)
    return bad if bad is not None else np.ones((), dtype=bool)


def gather(x, *indices, template):
    return x[_filled(template, indices)]


def gather_vjp(g, ans, x, *indices, template):
    out = np.zeros(np.shape(x), dtype=np.result_type(g, np.float64))
    np.add.at(out, _filled(template, indices), g)  # a repeated index gathers twice: its gradients add
    return out


def _integers(y: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda v: int(float(v)), otypes=[np.intp])(y) if y.size else y.astype(np.intp)


def sym_gather(sp, x, *indices, template):
    picked = x[_filled(template, [_integers(i) for i in indices])]
    return np.asarray(picked, dtype=object) if isinstance(picked, np.ndarray) else _scalar(picked)


# ----- where(cond, a, b) ------------------------------------------------------------------------------


def where(cond, a, b):
    return np.where(np.real(cond) != 0, a, b)


def where_vjp_a(g, ans, cond, a, b):
    return np.where(np.real(cond) != 0, g, 0.0)


def where_vjp_b(g, ans, cond, a, b):
    return np.where(np.real(cond) != 0, 0.0, g)


def sym_where(sp, cond, a, b):
    """Entry by entry: c·a + (1 − c)·b with c the condition's 0/1 (a comparison is a Heaviside)."""
    def pick(c, x, y):
        if c.is_number:
            return x if c != 0 else y
        return c * x + (1 - c) * y
    return np.frompyfunc(pick, 3, 1)(*np.broadcast_arrays(cond, a, b))


# ----- constructors ----------------------------------------------------------------------------------


def zeros_shape(shape: Any) -> tuple[int, ...]:
    return _sizes(shape_of(shape))


def full_shape(shape: Any, value: Any = 0) -> tuple[int, ...]:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"the fill value must be a number, got {value!r}")  # noqa: TRY004 - shape rules raise ValueError (shapes.py turns it into a ShapeError)
    return zeros_shape(shape)


def eye_shape(n: Any) -> tuple[int, ...]:
    (k,) = shape_of(n, "eye's size")
    return _sizes((k, k))


def arange_shape(n: Any) -> tuple[int, ...]:
    (k,) = shape_of(n, "arange's size")
    return _sizes((max(0, k),))


def zeros(shape):
    return np.zeros(shape_of(shape))


def ones(shape):
    return np.ones(shape_of(shape))


def full(shape, value=0):
    return np.full(shape_of(shape), float(value))


def eye(n):
    return np.eye(n)


def arange(n):
    return np.arange(n, dtype=np.float64)


def sym_constant(forward):
    """The SymPy form of a constructor: its numbers, exact where they are whole."""
    def form(sp, **static):
        values = forward(**static)
        out = np.empty(np.shape(values), dtype=object)
        for idx, v in np.ndenumerate(values):
            out[idx] = sp.Integer(int(v)) if float(v).is_integer() else sp.Float(float(v))
        return out
    return form
