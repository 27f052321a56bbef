"""The mathematics of the array primitives: shape rules, numpy forwards and VJPs, SymPy forms.

The registry in primitives.py names these; nothing else calls them directly. SymPy forms take and
return numpy object arrays of SymPy expressions (the elementwise expansion), and receive the sympy
module as their first argument so that this file does not import SymPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# ----- shapes ------------------------------------------------------------------------------------
# Each rule takes the inputs' shapes (and static arguments) and returns the output's shape, or
# raises ValueError saying why the shapes do not fit.


def format_shape(shape: tuple[int, ...]) -> str:
    if not shape:
        return "scalar"
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ",".join(str(n) for n in shape) + ")"


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError("the shapes do not broadcast") from None


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if len(a) not in (1, 2) or len(b) not in (1, 2):
        raise ValueError("@ multiplies vectors and matrices (1 or 2 dimensions)")
    if a[-1] != b[0]:
        raise ValueError(f"the shapes do not fit: the left has {a[-1]} columns, the right {b[0]} rows")
    return a[:-1] + b[1:]


def matmul_cost(out: tuple[int, ...], a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Each output entry of a @ b is a sum of a's last dimension's products."""
    return int(np.prod(out, dtype=np.int64)) * (a[-1] if a else 1)


def transpose_shape(a: tuple[int, ...]) -> tuple[int, ...]:
    return a[::-1]


def index_shape(a: tuple[int, ...], index: tuple[int, ...]) -> tuple[int, ...]:
    if len(index) > len(a):
        raise ValueError(f"{len(index)} indices for {len(a)} dimensions")
    for i, n in zip(index, a):
        if not -n <= i < n:
            raise ValueError(f"index {i} is out of range for a dimension of size {n}")
    return a[len(index):]


def reduce_shape(a: tuple[int, ...], axis: int | None = None) -> tuple[int, ...]:
    if axis is None:
        return ()
    if not -len(a) <= axis < len(a):
        raise ValueError(f"axis {axis} is out of range")
    axis %= len(a)
    return a[:axis] + a[axis + 1:]


def rows_shape(a: tuple[int, ...]) -> tuple[int, ...]:
    if not a:
        raise ValueError("needs a vector or a matrix (it works along the last axis)")
    if a[-1] == 0:
        raise ValueError("needs at least one entry along the last axis")
    return a


def logsumexp_shape(a: tuple[int, ...]) -> tuple[int, ...]:
    return rows_shape(a)[:-1]


def softmax_ce_shape(z: tuple[int, ...], y: tuple[int, ...]) -> tuple[int, ...]:
    if (len(z) == 2 and y == z[:1]) or (len(z) == 1 and y == ()):
        return ()
    raise ValueError("softmax_ce takes scores of shape (m,k) and m labels (or scores (k,) and one label)")


def onehot_shape(y: tuple[int, ...], k: int) -> tuple[int, ...]:
    if k < 1:
        raise ValueError(f"onehot needs k ≥ 1 classes, got {k}")
    return y + (k,)


# ----- labels --------------------------------------------------------------------------------------


def labels_fit(y: Any, k: int) -> np.ndarray:
    """Class labels are whole numbers from 0 to k-1: a mask over y, so a message can name the bad one."""
    y = np.asarray(y)
    return np.equal(np.floor(y), y) & (y >= 0) & (y < k)


# ----- numpy forwards and VJPs ---------------------------------------------------------------------
# VJP rules take (g, ans, *inputs, **static) like every rule in the registry.


def matmul_vjp_a(g, ans, a, b):
    if np.ndim(b) == 1:
        return np.multiply.outer(g, b) if np.ndim(a) == 2 else g * b
    return g @ b.T if np.ndim(a) == 2 else b @ g


def matmul_vjp_b(g, ans, a, b):
    if np.ndim(a) == 1:
        return np.multiply.outer(a, g) if np.ndim(b) == 2 else g * a
    return a.T @ g if np.ndim(b) == 2 else g @ a


def index(x, index):
    return x[index]


def index_vjp(g, ans, x, index):
    out = np.zeros(np.shape(x))
    out[index] = g  # a fresh array, written once: nothing shared is mutated
    return out


def total(x, axis=None):
    return np.sum(x, axis=axis)


def total_vjp(g, ans, x, axis=None):
    return np.broadcast_to(g if axis is None else np.expand_dims(g, axis), np.shape(x))


def mean(x, axis=None):
    return np.mean(x, axis=axis)


def mean_vjp(g, ans, x, axis=None):
    count = np.size(x) if axis is None else np.shape(x)[axis]
    return total_vjp(g, ans, x, axis) / count


def logsumexp(x):
    top = np.max(x, axis=-1, keepdims=True)
    return np.squeeze(top, -1) + np.log(np.sum(np.exp(x - top), axis=-1))


def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x):
    return x - np.expand_dims(logsumexp(x), -1)


def softmax_vjp(g, ans, x):
    return ans * (g - np.sum(g * ans, axis=-1, keepdims=True))


def log_softmax_vjp(g, ans, x):
    return g - np.exp(ans) * np.sum(g, axis=-1, keepdims=True)


def logsumexp_vjp(g, ans, x):
    return np.expand_dims(g, -1) * softmax(x)


def onehot(y, k):
    labels = np.asarray(y).astype(np.intp)
    out = np.zeros(labels.shape + (k,))  # not np.eye(k)[y]: that allocates k*k entries first
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def softmax_ce(z, y):
    """Mean over rows of -log softmax(z)[row, y[row]]; a single row when z is a vector."""
    picked = np.take_along_axis(log_softmax(z), np.expand_dims(np.asarray(y).astype(np.intp), -1), -1)
    return -np.mean(picked)


def softmax_ce_vjp(g, ans, z, y):
    rows = np.shape(z)[0] if np.ndim(z) == 2 else 1
    return g * (softmax(z) - onehot(y, np.shape(z)[-1])) / rows


# ----- SymPy forms on object arrays ------------------------------------------------------------------


def scalar(expr) -> np.ndarray:
    """A 0-d object array holding one SymPy expression."""
    out = np.empty((), dtype=object)
    out[()] = expr
    return out


def sym_matmul(sp, a, b):
    left = a if a.ndim == 2 else a[None, :]
    right = b if b.ndim == 2 else b[:, None]
    out = np.empty((left.shape[0], right.shape[1]), dtype=object)
    for i, j in np.ndindex(out.shape):
        out[i, j] = sp.Add(*(left[i, k] * right[k, j] for k in range(left.shape[1])))
    if a.ndim == 1:
        out = out[0]
    if b.ndim == 1:
        out = out[..., 0]
    return np.asarray(out, dtype=object) if out.ndim else scalar(out[()])


def _along_last(a, combine) -> np.ndarray:
    out = np.empty(a.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = combine(list(a[idx]))
    return out


def sym_sum(sp, a, axis=None):
    if axis is None:
        return scalar(sp.Add(*a.ravel()))
    return _along_last(np.moveaxis(a, axis, -1), lambda terms: sp.Add(*terms))


def sym_mean(sp, a, axis=None):
    count = a.size if axis is None else a.shape[axis]
    return sym_sum(sp, a, axis) * sp.Rational(1, count)


def sym_logsumexp(sp, a):
    return _along_last(a, lambda row: sp.log(sp.Add(*(sp.exp(v) for v in row))))


def sym_softmax(sp, a):
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape[:-1]):
        exps = [sp.exp(v) for v in a[idx]]
        norm = sp.Add(*exps)
        out[idx] = [e / norm for e in exps]
    return out


def sym_log_softmax(sp, a):
    return a - np.expand_dims(sym_logsumexp(sp, a), -1)


def sym_softmax_ce(sp, z, y):
    lse = sym_logsumexp(sp, z)
    labels = np.vectorize(lambda v: int(float(v)), otypes=[np.intp])(y) if y.size else y.astype(np.intp)
    if z.ndim == 1:
        return scalar(lse[()] - z[int(labels[()])])
    terms = [lse[i] - z[i, labels[i]] for i in range(z.shape[0])]
    return scalar(sp.Add(*terms) * sp.Rational(1, z.shape[0]))


def sym_onehot(sp, y, k):
    labels = np.vectorize(lambda v: int(float(v)), otypes=[np.intp])(y)
    out = np.empty(labels.shape + (k,), dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = sp.Integer(1 if labels[idx[:-1]] == idx[-1] else 0)
    return out


def as_object_array(value) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else scalar(value)
