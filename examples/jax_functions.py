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
