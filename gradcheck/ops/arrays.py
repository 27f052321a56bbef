"""The mathematics of the array primitives: shape rules, numpy forwards and VJPs, SymPy forms.

The registry in primitives.py names these; nothing else calls them directly. SymPy forms take and
return numpy object arrays of SymPy expressions (the elementwise expansion), and receive the sympy
module as their first argument so that this file does not import SymPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .reductions import log_softmax, softmax, sym_logsumexp

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
    """numpy's @: vectors, matrices, and stacks of matrices whose batch dimensions broadcast."""
    if not a or not b:
        raise ValueError("@ does not take scalars (use *)")
    inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
    if inner_a != inner_b:
        raise ValueError(f"the shapes do not fit: the left has {inner_a} columns, the right {inner_b} rows")
    try:
        batch = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ValueError(f"the batch dimensions {a[:-2]} and {b[:-2]} do not broadcast") from None
    return tuple(batch) + a[-2:-1] + (b[-1:] if len(b) > 1 else ())


def matmul_cost(out: tuple[int, ...], a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Each output entry of a @ b is a sum of a's last dimension's products."""
    return int(np.prod(out, dtype=np.int64)) * (a[-1] if a else 1)












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


def _as_matrices(g, a, b):
    """a and b as stacks of matrices (a vector is a 1-row or 1-column matrix), and g to match."""
    A = a[None, :] if np.ndim(a) == 1 else a
    B = b[:, None] if np.ndim(b) == 1 else b
    G = g
    if np.ndim(a) == 1:
        G = np.expand_dims(G, -2)
    if np.ndim(b) == 1:
        G = np.expand_dims(G, -1)
    return G, A, B


def matmul_complex(a, b):
    """a @ b under the complex step, where one side carries the step and the other is real: two real
    products instead of numpy's complex one, which would make the real side complex and do about
    four times the work (the 1M-parameter net's X @ W1 is most of its check)."""
    if np.iscomplexobj(a) == np.iscomplexobj(b):
        return np.matmul(a, b)
    complex_side, real_side = (a, b) if np.iscomplexobj(a) else (b, a)
    parts = [np.matmul(real_side, side) if complex_side is b else np.matmul(side, real_side)
             for side in (complex_side.real, complex_side.imag)]
    if np.ndim(parts[0]) == 0:
        return parts[0] + 1j * parts[1]
    out = np.empty(np.shape(parts[0]), dtype=np.result_type(a, b))
    out.real, out.imag = parts
    return out


def matmul_vjp_a(g, ans, a, b):
    if np.ndim(a) == np.ndim(b) == 1:  # a dot product
        return g * b
    G, _, B = _as_matrices(g, a, b)
    out = G @ np.swapaxes(B, -1, -2)
    return unbroadcast(out[..., 0, :] if np.ndim(a) == 1 else out, np.shape(a))


def matmul_vjp_b(g, ans, a, b):
    if np.ndim(a) == np.ndim(b) == 1:
        return g * a
    G, A, _ = _as_matrices(g, a, b)
    out = np.swapaxes(A, -1, -2) @ G
    return unbroadcast(out[..., 0] if np.ndim(b) == 1 else out, np.shape(b))


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum g over the axes numpy broadcasting added or stretched, so it has the input's shape."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


























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
    left = a[None, :] if a.ndim == 1 else a
    right = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(left.shape[:-2], right.shape[:-2])
    left = np.broadcast_to(left, batch + left.shape[-2:])
    right = np.broadcast_to(right, batch + right.shape[-2:])
    out = np.empty(batch + (left.shape[-2], right.shape[-1]), dtype=object)
    for idx in np.ndindex(out.shape):
        k, i, j = idx[:-2], idx[-2], idx[-1]
        out[idx] = sp.Add(*(left[k + (i, m)] * right[k + (m, j)] for m in range(left.shape[-1])))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return np.asarray(out, dtype=object) if out.ndim else scalar(out[()])














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
