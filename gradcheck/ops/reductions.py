"""Reductions along axes: sum, mean, max, min, logsumexp, softmax, log_softmax with `axis=` an int,
a tuple or None (every axis) and `keepdims=`, as numpy has them.

Each has a shape rule, a numpy forward, a VJP (g, ans, x, **static) and a SymPy form on object
arrays. The registry in primitives.py names them; nothing else calls them directly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .ties import tie_max, tie_min

Axis = Any  # None, an int or a tuple of ints, as written


def axes_of(axis: Axis, ndim: int) -> tuple[int, ...]:
    """The axes as non-negative ints, checked: ValueError names the bad one."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in items:
        if not isinstance(a, int) or isinstance(a, bool):
            raise ValueError(f"an axis must be a whole number, got {a!r}")  # noqa: TRY004 - shape rules raise ValueError (shapes.py turns it into a ShapeError)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for {ndim} dimension{'s' if ndim != 1 else ''}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis} names an axis twice")
    return tuple(sorted(out))


def _flag(keepdims: Any) -> bool:
    if not isinstance(keepdims, bool):
        raise ValueError(f"keepdims must be True or False, got {keepdims!r}")  # noqa: TRY004 - shape rules raise ValueError (shapes.py turns it into a ShapeError)
    return keepdims


def reduce_shape(a: tuple[int, ...], axis: Axis = None, keepdims: bool = False) -> tuple[int, ...]:
    axes = axes_of(axis, len(a))
    if _flag(keepdims):
        return tuple(1 if i in axes else n for i, n in enumerate(a))
    return tuple(n for i, n in enumerate(a) if i not in axes)


def nonempty_reduce_shape(a: tuple[int, ...], axis: Axis = None, keepdims: bool = False) -> tuple[int, ...]:
    axes = axes_of(axis, len(a))
    if any(a[i] == 0 for i in axes):
        raise ValueError("needs at least one entry along the reduced axes")
    return reduce_shape(a, axis, keepdims)


def logsumexp_shape(a: tuple[int, ...], axis: Axis = -1, keepdims: bool = False) -> tuple[int, ...]:
    if not a and axis is not None:
        raise ValueError("needs a vector or an array (it works along an axis; axis=None for all)")
    return nonempty_reduce_shape(a, axis, keepdims)


def same_shape(a: tuple[int, ...], axis: Axis = -1) -> tuple[int, ...]:
    if not a:
        raise ValueError("needs a vector or an array (it works along an axis)")
    nonempty_reduce_shape(a, axis)
    return a


def expand(g, x_shape: tuple[int, ...], axis: Axis, keepdims: bool):
    """A reduced array put back in x's dimensions (size 1 along the reduced axes), for broadcasting."""
    if keepdims:
        return g
    return np.expand_dims(g, axes_of(axis, len(x_shape)))


# ----- numpy ---------------------------------------------------------------------------------------


def total(x, axis=None, keepdims=False):
    return np.sum(x, axis=axes_of(axis, np.ndim(x)), keepdims=keepdims)


def total_vjp(g, ans, x, axis=None, keepdims=False):
    return np.broadcast_to(expand(g, np.shape(x), axis, keepdims), np.shape(x))


def count(x_shape, axis) -> int:
    return int(np.prod([x_shape[i] for i in axes_of(axis, len(x_shape))], dtype=np.int64))


def mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=axes_of(axis, np.ndim(x)), keepdims=keepdims)


def mean_vjp(g, ans, x, axis=None, keepdims=False):
    return total_vjp(g, ans, x, axis, keepdims) / count(np.shape(x), axis)


def _real_max(x, axes):
    return np.max(np.real(x), axis=axes, keepdims=True)


def amax(x, axis=None, keepdims=False):
    axes = axes_of(axis, np.ndim(x))
    if np.iscomplexobj(x):  # the entry that is largest in its real part, imaginary part included
        mask = np.real(x) == _real_max(x, axes)
        picked = np.sum(np.where(mask, x, 0), axis=axes, keepdims=True) / np.sum(mask, axis=axes, keepdims=True)
        return picked if keepdims else np.squeeze(picked, axes)
    return np.max(x, axis=axes, keepdims=keepdims)


def amax_vjp(g, ans, x, axis=None, keepdims=False):
    """g to the largest entry; tied entries share it equally (a tie is also reported as a kink)."""
    axes = axes_of(axis, np.ndim(x))
    mask = (np.asarray(x) == _real_max(x, axes)).astype(np.float64)
    return expand(g, np.shape(x), axis, keepdims) * mask / np.sum(mask, axis=axes, keepdims=True)


def amax_kink(x, axis=None, keepdims=False):
    """Each entry minus the largest of the others along the axes: positive only for the maximum,
    so the signs say which entry is the maximum, and a tie is a 0 (its imaginary part, under the
    complex step, says whether the step moves the tied entries apart)."""
    x = np.asarray(x) if np.iscomplexobj(x) else np.asarray(x, dtype=np.float64)
    axes = axes_of(axis, x.ndim)
    rest = [i for i in range(x.ndim) if i not in axes]
    flat = np.transpose(x, rest + list(axes)).reshape(*[x.shape[i] for i in rest], -1)
    if flat.shape[-1] == 1:
        return np.ones_like(flat)
    # ordered by real parts; on complex input (the complex step) the imaginary parts are kept
    order = np.take_along_axis(flat, np.argsort(np.real(flat), axis=-1), axis=-1)
    top, second = order[..., -1:], order[..., -2:-1]
    return np.where(np.real(flat) == np.real(top), flat - second, flat - top)


def amin(x, axis=None, keepdims=False):
    return -amax(-x, axis, keepdims)


def amin_vjp(g, ans, x, axis=None, keepdims=False):
    return amax_vjp(g, -ans, -np.asarray(x), axis, keepdims)


def amin_kink(x, axis=None, keepdims=False):
    return amax_kink(-np.asarray(x), axis, keepdims)


def logsumexp(x, axis=-1, keepdims=False):
    axes = axes_of(axis, np.ndim(x))
    top = np.max(np.real(x), axis=axes, keepdims=True)
    out = top + np.log(np.sum(np.exp(x - top), axis=axes, keepdims=True))
    return out if keepdims else np.squeeze(out, axes)


def logsumexp_vjp(g, ans, x, axis=-1, keepdims=False):
    return expand(g, np.shape(x), axis, keepdims) * softmax(x, axis)


def softmax(x, axis=-1):
    axes = axes_of(axis, np.ndim(x))
    e = np.exp(x - np.max(np.real(x), axis=axes, keepdims=True))
    return e / np.sum(e, axis=axes, keepdims=True)


def softmax_vjp(g, ans, x, axis=-1):
    return ans * (g - np.sum(g * ans, axis=axes_of(axis, np.ndim(x)), keepdims=True))


def softmax_sizes(s, ans, x, axis=-1):
    """|J|^T s of softmax_vjp for s >= 0: its two terms added, not subtracted (Primitive.sizes)."""
    return ans * (s + np.sum(s * ans, axis=axes_of(axis, np.ndim(x)), keepdims=True))


def row_expansion(out: tuple[int, ...], x: tuple[int, ...], axis: Axis = -1) -> int:
    """Scalar operations of softmax's SymPy form (Primitive.expansion): each entry divides by its whole
    row's sum, written out again for every entry."""
    row = math.prod(x[i] for i in axes_of(axis, len(x)))
    return math.prod(out) * (row + 1)


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis, keepdims=True)


def log_softmax_vjp(g, ans, x, axis=-1):
    return g - np.exp(ans) * np.sum(g, axis=axes_of(axis, np.ndim(x)), keepdims=True)


def log_softmax_sizes(s, ans, x, axis=-1):
    """|J|^T s of log_softmax_vjp for s >= 0: its two terms added (Primitive.sizes)."""
    return s + np.exp(ans) * np.sum(s, axis=axes_of(axis, np.ndim(x)), keepdims=True)


# ----- SymPy on object arrays ------------------------------------------------------------------------


def _rows(a: np.ndarray, axis: Axis):
    """a with the reduced axes flattened into a last one, and the shape of the rest."""
    axes = axes_of(axis, a.ndim)
    rest = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    return moved.reshape(*[a.shape[i] for i in rest], -1), axes


def _reduce(a: np.ndarray, axis: Axis, keepdims: bool, combine) -> np.ndarray:
    rows, axes = _rows(a, axis)
    out = np.empty(rows.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = combine(list(rows[idx]))
    return np.expand_dims(out, axes) if keepdims else out


def sym_sum(sp, a, axis=None, keepdims=False):
    return _reduce(a, axis, keepdims, lambda terms: sp.Add(*terms))


def sym_mean(sp, a, axis=None, keepdims=False):
    n = count(a.shape, axis)
    return _reduce(a, axis, keepdims, lambda terms: sp.Add(*terms) * sp.Rational(1, n))


def sym_max(sp, a, axis=None, keepdims=False):
    return _reduce(a, axis, keepdims, lambda terms: tie_max(sp, *terms))


def sym_min(sp, a, axis=None, keepdims=False):
    return _reduce(a, axis, keepdims, lambda terms: tie_min(sp, *terms))


def sym_logsumexp(sp, a, axis=-1, keepdims=False):
    return _reduce(a, axis, keepdims, lambda terms: sp.log(sp.Add(*(sp.exp(v) for v in terms))))


def sym_softmax(sp, a, axis=-1):
    norm = np.expand_dims(_reduce(np.vectorize(sp.exp, otypes=[object])(a), axis, False,
                                  lambda terms: sp.Add(*terms)), axes_of(axis, a.ndim))
    return np.vectorize(sp.exp, otypes=[object])(a) / norm


def sym_log_softmax(sp, a, axis=-1):
    return a - sym_logsumexp(sp, a, axis, keepdims=True)
