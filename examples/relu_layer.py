"""A relu layer written CS231n style, with a right backward and the classic wrong one.

    gradcheck layer examples/relu_layer.py:relu_forward examples/relu_layer.py:relu_backward --at x="randn(4,5)"
    gradcheck layer examples/relu_layer.py:relu_forward examples/relu_layer.py:relu_backward_no_mask --at x="randn(4,5)"
    gradcheck layer examples/relu_layer.py:relu_forward examples/relu_layer.py:relu_backward_in_place --at x="randn(4,5)"
"""

import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x  # (out, cache)


def relu_backward(dout, cache):
    x = cache
    return dout * (x > 0)


def relu_backward_no_mask(dout, cache):
    return dout  # the mask x > 0 is missing: the gradient flows where relu was 0


def relu_backward_in_place(dout, cache):
    dx = dout  # not a copy: the next line writes into the caller's dout
    dx[cache <= 0] = 0
    return dx  # right values, a broken contract (exit 5)
