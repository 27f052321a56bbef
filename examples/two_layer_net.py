"""Check the backward pass of a numpy two-layer net, CS231n style, with gradcheck.check_function.

    python examples/two_layer_net.py          # exits 0: the backward below is right
    python examples/two_layer_net.py --broken # exits 1: a dropped factor 2, a transposed dW2 and a missing 1/N

The net: scores = relu(X W1 + b1) W2 + b2, loss = mean softmax cross-entropy + reg·(|W1|² + |W2|²).
"""

from __future__ import annotations

import sys

import numpy as np

import gradcheck

REG = 0.05
rng = np.random.default_rng(0)
N, D, H, C = 5, 4, 10, 3
X = rng.standard_normal((N, D))
y = np.array([0, 1, 2, 2, 1])


def forward(W1, b1, W2, b2):
    hidden = np.maximum(0, X @ W1 + b1)
    scores = hidden @ W2 + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return hidden, probs


def loss(W1, b1, W2, b2):
    _, probs = forward(W1, b1, W2, b2)
    data_loss = -np.log(probs[np.arange(N), y]).mean()
    return data_loss + REG * (np.sum(W1 * W1) + np.sum(W2 * W2))


def backward(W1, b1, W2, b2):
    hidden, probs = forward(W1, b1, W2, b2)
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dW2 = hidden.T @ dscores + 2 * REG * W2
    db2 = dscores.sum(axis=0)
    dhidden = dscores @ W2.T
    dhidden[hidden <= 0] = 0
    dW1 = X.T @ dhidden + 2 * REG * W1
    db1 = dhidden.sum(axis=0)
    return dW1, db1, dW2, db2


def broken_backward(W1, b1, W2, b2):
    """Three classic mistakes, each caught on its own row."""
    dW1, db1, _, _ = backward(W1, b1, W2, b2)
    hidden, probs = forward(W1, b1, W2, b2)
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dW1_wrong = dW1 - 2 * REG * W1 + REG * W1  # the regularizer's factor 2 dropped
    dW2_wrong = (dscores / N).T @ hidden + 2 * REG * W2.T  # transposed: shape (C, H), not (H, C)
    db2_wrong = dscores.sum(axis=0)  # the 1/N of the mean loss is missing
    return dW1_wrong, db1, dW2_wrong, db2_wrong


def main() -> int:
    params = [0.1 * rng.standard_normal((D, H)), np.zeros(H) + 0.01, 0.1 * rng.standard_normal((H, C)),
              np.zeros(C)]
    grad = broken_backward if "--broken" in sys.argv else backward
    result = gradcheck.check_function(loss, grad, params)
    print(result)
    return int(result.exit_code)


if __name__ == "__main__":
    sys.exit(main())
