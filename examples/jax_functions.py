"""JAX functions with custom gradients, right and wrong (pip install gradcheck[jax]).

    gradcheck jax examples/jax_functions.py:softplus --at x="randn(4,5)"
    gradcheck jax examples/jax_functions.py:softplus_wrong --at x="randn(4,5)"
"""

import jax
import jax.numpy as jnp


@jax.custom_vjp
def softplus(x):
    return jnp.logaddexp(x, 0.0)


def _softplus_fwd(x):
    return softplus(x), x


def _softplus_bwd(x, g):
    return (g * jax.nn.sigmoid(x),)


softplus.defvjp(_softplus_fwd, _softplus_bwd)


@jax.custom_vjp
def softplus_wrong(x):
    return jnp.logaddexp(x, 0.0)


def _wrong_bwd(x, g):
    return (g * jax.nn.sigmoid(x) * (1 - jax.nn.sigmoid(x)),)  # sigmoid's derivative where sigmoid belongs


softplus_wrong.defvjp(_softplus_fwd, _wrong_bwd)


@jax.custom_jvp
def scaled_tanh(x, w):
    return jnp.tanh(x) * w


@scaled_tanh.defjvp
def _scaled_tanh_jvp(primals, tangents):
    x, w = primals
    dx, dw = tangents
    y = jnp.tanh(x)
    return y * w, (1 - y ** 2) * w * dx + y * dw


@jax.custom_vjp
def matmul_transposed(a, b):
    """a @ b, with b's transpose forgotten in a's gradient."""
    return a @ b


def _matmul_fwd(a, b):
    return a @ b, (a, b)


def _matmul_bwd(res, g):
    a, b = res
    return g @ b, a.T @ g  # g @ b.T


matmul_transposed.defvjp(_matmul_fwd, _matmul_bwd)


def _normalized(x):
    sigma = jnp.sqrt(x.var(-1, keepdims=True) + 1e-5)
    return (x - x.mean(-1, keepdims=True)) / sigma, sigma


def _layer_norm(divided):
    """Layer norm over the last axis; divided=False: a backward that forgets the factor 1/sigma."""
    @jax.custom_vjp
    def layer_norm(x):
        return _normalized(x)[0]

    def fwd(x):
        xhat, sigma = _normalized(x)
        return xhat, (xhat, sigma)

    def bwd(res, g):
        xhat, sigma = res
        dx = g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True)
        return (dx / sigma if divided else dx,)

    layer_norm.defvjp(fwd, bwd)
    return layer_norm


layer_norm = _layer_norm(divided=True)
layer_norm_no_factor = _layer_norm(divided=False)


def _probabilities(q, k, masked):
    scores = q @ k.T / jnp.sqrt(q.shape[-1])
    if masked:
        scores = jnp.where(jnp.tril(jnp.ones((q.shape[0], q.shape[0]), dtype=bool)), scores, -jnp.inf)
    return jax.nn.softmax(scores, axis=-1)


def _attention(transposed=False, masked_backward=True):
    """Causal self-attention; transposed: p where p.T belongs in v's gradient; masked_backward=False: the
    backward recomputes the probabilities without the causal mask."""
    @jax.custom_vjp
    def attention(q, k, v):
        return _probabilities(q, k, masked=True) @ v

    def fwd(q, k, v):
        p = _probabilities(q, k, masked=True)
        return p @ v, (q, k, v, p)

    def bwd(res, g):
        q, k, v, p = res
        if not masked_backward:
            p = _probabilities(q, k, masked=False)
        dv = (p if transposed else p.T) @ g
        dp = g @ v.T
        ds = p * (dp - (dp * p).sum(-1, keepdims=True)) / jnp.sqrt(q.shape[-1])
        return ds @ k, ds.T @ q, dv

    attention.defvjp(fwd, bwd)
    return attention


attention = _attention()
attention_transposed = _attention(transposed=True)
attention_no_mask = _attention(masked_backward=False)


def _conv_forward(x, w):
    return jax.lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)))  # NCHW, OIHW


def _conv(averaged):
    """A 2-d convolution (padding 1); averaged: a weight gradient divided by the batch size."""
    @jax.custom_vjp
    def conv(x, w):
        return _conv_forward(x, w)

    def fwd(x, w):
        return _conv_forward(x, w), (x, w)

    def bwd(res, g):
        x, w = res
        dx, dw = jax.vjp(_conv_forward, x, w)[1](g)
        return dx, dw / x.shape[0] if averaged else dw

    conv.defvjp(fwd, bwd)
    return conv


conv = _conv(averaged=False)
conv_half_weight = _conv(averaged=True)
