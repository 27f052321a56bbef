"""A softmax classifier's loss with its gradient, CS231n style: one function returning (loss, dW).

    gradcheck loss examples/softmax_loss.py:softmax_loss_naive --at W="randn(5,3)" --at X="randn(8,5)" \
        --at y="[0,2,1,1,0,2,2,1]" --at reg=0.1 --data X
    gradcheck loss examples/softmax_loss.py:softmax_loss_no_reg_grad ...   # the regularisation's gradient forgotten
"""

import numpy as np


def softmax_loss_naive(W, X, y, reg):
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(X.shape[0]):
        scores = X[i] @ W
        scores -= scores.max()  # for stability; the loss does not change
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(p[y[i]])
        p[y[i]] -= 1
        dW += np.outer(X[i], p)
    n = X.shape[0]
    return loss / n + reg * np.sum(W * W), dW / n + 2 * reg * W


def softmax_loss_no_reg_grad(W, X, y, reg):
    loss, dW = softmax_loss_naive(W, X, y, reg)
    return loss, dW - 2 * reg * W  # the loss has reg * |W|², its gradient does not
