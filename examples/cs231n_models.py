"""CS231n-style models checked with gradcheck.check_model, no glue: `model.params` is a dict of arrays and
`model.loss(X, y)` returns (loss, grads) with grads keyed like params.

    python examples/cs231n_models.py            # exits 0: both models' gradients are right
    python examples/cs231n_models.py --broken   # exits 1: the regularisation's gradient twice too large

TwoLayerNet is affine - relu - affine - softmax; FullyConnectedNet stacks {affine - [batch norm] - relu -
[dropout]} and a last affine, with a seeded dropout mask (so that the loss is a function of the parameters).
Both add 0.5 * reg * sum(W**2) for every weight matrix. The layers are those of cs231n_layers.py.
"""

from __future__ import annotations

import sys

import numpy as np
from cs231n_layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)

import gradcheck


class TwoLayerNet:
    def __init__(self, input_dim=6, hidden_dim=8, num_classes=4, weight_scale=0.1, reg=0.0, seed=0, bug=None):
        rng = np.random.default_rng(seed)
        self.params = {"W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)), "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)), "b2": np.zeros(num_classes)}
        self.reg, self.bug = reg, bug

    def loss(self, X, y):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden, affine1 = affine_forward(X, W1, b1)
        hidden, relu1 = relu_forward(hidden)
        scores, affine2 = affine_forward(hidden, W2, b2)
        loss, dscores = softmax_loss(scores, y)
        if self.bug == "no 1/N":
            dscores = dscores * len(X)  # the mean's 1/N forgotten
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dhidden, dW2, db2 = affine_backward(dscores, affine2)
        dX, dW1, db1 = affine_backward(relu_backward(dhidden, relu1), affine1)
        factor = 2 if self.bug == "reg x2" else 1  # d/dW of 0.5 * reg * W**2 is reg * W, not 2 * reg * W
        grads = {"W1": dW1 + factor * self.reg * W1, "b1": db1, "W2": dW2 + factor * self.reg * W2, "b2": db2}
        if self.bug == "wrong key":
            grads["W1"], grads["b1"] = grads.pop("b1"), grads.pop("W1")  # each under the other's name
        return loss, grads


class FullyConnectedNet:
    def __init__(self, hidden_dims=(7, 5), input_dim=6, num_classes=4, keep=0.8, normalization="batchnorm", reg=0.0,
                 weight_scale=0.3, seed=0, bug=None):
        rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        self.layers = len(dims) - 1
        self.params = {}
        for i in range(self.layers):
            self.params[f"W{i + 1}"] = weight_scale * rng.standard_normal((dims[i], dims[i + 1]))
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization == "batchnorm" and i < self.layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1])
        self.normalization, self.reg, self.bug = normalization, reg, bug
        self.dropout_param = {"p": keep, "seed": seed} if keep < 1 else None  # a fixed mask: the loss is a function
        self.bn_params = [{"mode": "train"} for _ in range(self.layers - 1)]

    def loss(self, X, y):
        caches = []
        out = X
        for i in range(1, self.layers):
            out, affine = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            norm = None
            if self.normalization == "batchnorm":
                out, norm = batchnorm_forward(out, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1])
            out, relu = relu_forward(out)
            drop = None
            if self.dropout_param is not None:
                out, drop = dropout_forward(out, {**self.dropout_param, "seed": self.dropout_param["seed"] + i})
            caches.append((affine, norm, relu, drop))
        scores, last = affine_forward(out, self.params[f"W{self.layers}"], self.params[f"b{self.layers}"])
        loss, dscores = softmax_loss(scores, y)
        if self.bug == "no 1/N":
            dscores = dscores * len(X)
        weights = [self.params[f"W{i}"] for i in range(1, self.layers + 1)]
        loss += 0.5 * self.reg * sum(np.sum(W * W) for W in weights)
        factor = 2 if self.bug == "reg x2" else 1
        grads = {}
        dout, dW, grads[f"b{self.layers}"] = affine_backward(dscores, last)
        grads[f"W{self.layers}"] = dW + factor * self.reg * weights[-1]
        for i in range(self.layers - 1, 0, -1):
            affine, norm, relu, drop = caches[i - 1]
            if drop is not None:
                dout = dropout_backward(dout, drop)
            dout = relu_backward(dout, relu)
            if norm is not None:
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dout, norm)
            dout, dW, grads[f"b{i}"] = affine_backward(dout, affine)
            grads[f"W{i}"] = dW + factor * self.reg * weights[i - 1]
        if self.bug == "wrong key":
            grads["W1"], grads["b1"] = grads.pop("b1"), grads.pop("W1")
        return loss, grads


def data(n=10, d=6, classes=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, classes, n)


def main() -> int:
    X, y = data()
    bug = "reg x2" if "--broken" in sys.argv else None
    worst = 0
    for model in (TwoLayerNet(reg=0.1, bug=bug), FullyConnectedNet(reg=0.1, bug=bug)):
        result = gradcheck.check_model(model, X, y)
        print(result)
        worst = max(worst, int(result.exit_code))
    return worst


if __name__ == "__main__":
    sys.exit(main())
