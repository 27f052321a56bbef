"""The matrix rules the registry names: each primitive's VJP written as a gradient expression.

Same argument order as the numpy VJPs, (G, ans, *inputs, **static), but on Terms
(matrix_terms.py): G is the upstream gradient as an expression, the inputs are the expressions of
the node's inputs, and the result is the input's gradient as an expression, before broadcasting is
undone (matrix_form.py sums over broadcast axes, in one place). A rule returns None where it has no
matrix form (a batched @).
"""

from __future__ import annotations

from .terms import Term, call, expand_dims, num


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _size(shape, axes) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _copied(G: Term, x: Term, axis, keepdims) -> Term:
    """G (the reduced shape) copied back along the summed axes: G * ones(shape of x)."""
    axes = _axes(axis, len(x.shape))
    if G.shape and not keepdims:
        for a in sorted(axes):
            G = expand_dims(G, a)
    return G * call("ones", out=x.shape, shape=x.shape)


# ----- operators -------------------------------------------------------------------------------------
def add_a(G, ans, a, b):
    return G


def sub_b(G, ans, a, b):
    return -G


def mul_a(G, ans, a, b):
    return G * b


def mul_b(G, ans, a, b):
    return G * a


def div_a(G, ans, a, b):
    return G / b


def div_b(G, ans, a, b):
    return -(G * a / b ** num(2))


def pow_a(G, ans, a, b):
    exponent = num(b.value - 1) if b.kind == "num" else b - num(1)
    return G * b * a ** exponent


def pow_b(G, ans, a, b):
    return G * a ** b * call("log", a)


def neg_x(G, ans, x):
    return -G


def matmul_a(G, ans, a, b):
    if len(a.shape) > 2 or len(b.shape) > 2:
        return None  # a batched @: no course form
    if len(a.shape) == len(b.shape) == 1:
        return G * b
    if len(b.shape) == 1:  # (m,n) @ (n,) -> (m,): the outer product of G and b
        return _column(G) @ _row(b)
    if len(a.shape) == 1:  # (n,) @ (n,k) -> (k,)
        return b @ G
    return G @ b.T


def matmul_b(G, ans, a, b):
    if len(a.shape) > 2 or len(b.shape) > 2:
        return None
    if len(a.shape) == len(b.shape) == 1:
        return G * a
    if len(a.shape) == 1:
        return _column(a) @ _row(G)
    return a.T @ G


def _column(v: Term) -> Term:
    return call("reshape", v, out=(v.shape[0], 1), shape=(v.shape[0], 1))


def _row(v: Term) -> Term:
    return call("reshape", v, out=(1, v.shape[0]), shape=(1, v.shape[0]))


def transpose_x(G, ans, x, axes=None):
    return G.T if axes is None or len(x.shape) < 3 and tuple(axes) == (1, 0) else None


# ----- functions --------------------------------------------------------------------------------------
def exp_x(G, ans, x):
    return G * ans


def log_x(G, ans, x):
    return G / x


def relu_x(G, ans, x):
    return G * call("step", x)


def sigmoid_x(G, ans, x):
    return G * call("sigmoid", x) * (num(1) - call("sigmoid", x))


def tanh_x(G, ans, x):
    return G * (num(1) - call("tanh", x) ** num(2))


# ----- reductions and the loss --------------------------------------------------------------------------
def sum_x(G, ans, x, axis=None, keepdims=False):
    return _copied(G, x, axis, keepdims)


def mean_x(G, ans, x, axis=None, keepdims=False):
    return _copied(G, x, axis, keepdims) / num(_size(x.shape, _axes(axis, len(x.shape))))


def softmax_x(G, ans, x, axis=-1):
    s = call("softmax", x, out=x.shape, axis=axis)
    return s * (G - call("sum", G * s, out=_kept(x.shape, axis), axis=axis, keepdims=True))


def log_softmax_x(G, ans, x, axis=-1):
    s = call("softmax", x, out=x.shape, axis=axis)
    return G - s * call("sum", G, out=_kept(x.shape, axis), axis=axis, keepdims=True)


def logsumexp_x(G, ans, x, axis=-1, keepdims=False):
    if axis is None:
        return G * call("exp", x - ans)
    if not isinstance(axis, int):
        return None
    if G.shape and not keepdims:
        G = expand_dims(G, axis % len(x.shape))
    return G * call("softmax", x, out=x.shape, axis=axis)


def _kept(shape, axis):
    axes = _axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def softmax_ce_z(G, ans, z, y):
    k = z.shape[-1]
    rows = z.shape[0] if len(z.shape) == 2 else 1
    probabilities = call("softmax", z, out=z.shape)
    return G * (probabilities - call("onehot", y, out=y.shape + (k,), k=k)) / num(rows)
