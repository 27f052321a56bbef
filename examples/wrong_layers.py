"""Layers with the classic wrong backward passes, each as a student writes it: what gradcheck says of them.

    gradcheck layer examples/wrong_layers.py:sigmoid_forward examples/wrong_layers.py:sigmoid_backward --at x="randn(4,5)"
    gradcheck layer examples/wrong_layers.py:rnn_step_forward examples/wrong_layers.py:rnn_step_backward \
        --at x="randn(3,2)" --at prev_h="randn(3,4)" --at Wx="randn(2,4)" --at Wh="randn(4,4)"
    gradcheck layer examples/wrong_layers.py:channels_last_forward examples/wrong_layers.py:channels_last_backward \
        --at x="randn(2,3,2,2)" --at W="randn(3,4)"
"""

import numpy as np


def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_backward(dout, cache):
    out = cache
    return dout * out  # the activation where its derivative out * (1 - out) belongs


def rnn_step_forward(x, prev_h, Wx, Wh):
    next_h = np.tanh(x @ Wx + prev_h @ Wh)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh, x.T @ da, prev_h.T @ da  # da @ Wh.T belongs in the second


def channels_last_forward(x, W):
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(-1, c) @ W, (x, W)


def channels_last_backward(dout, cache):
    x, W = cache
    n, c, h, w = x.shape
    dx = (dout @ W.T).reshape(n, c, h, w)  # reshaped back, where .reshape(n, h, w, c).transpose(0, 3, 1, 2) belongs
    return dx, x.transpose(0, 2, 3, 1).reshape(-1, c).T @ dout
