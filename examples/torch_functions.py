"""PyTorch custom Functions and layers, right and with the classic wrong backward passes (pip install gradcheck[torch]).

    gradcheck torch examples/torch_functions.py:Square --at x="randn(3,4)"
    gradcheck torch examples/torch_functions.py:MatMulTransposed --at a="randn(3,3)" --at b="randn(3,3)"
    gradcheck torch examples/torch_functions.py:ReLUNoMask --at x="randn(4,5)"
    gradcheck torch examples/torch_functions.py:LayerNorm --at x="randn(4,6)" --dtype float32

Each wrong one says in a comment what it gets wrong; tests/frameworks and benchmarks/frameworks.py check them.
"""

import math

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight


class Square(torch.autograd.Function):
    """x², with a backward that forgets the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # 2 * grad * x


class MatMul(torch.autograd.Function):
    """a @ b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b.T, a.T @ grad


class MatMulTransposed(MatMul):
    """a @ b, with b's transpose forgotten in a's gradient (square matrices: the shapes do not tell)."""

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b, a.T @ grad  # grad @ b.T


class ReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0)


class ReLUNoMask(ReLU):
    """relu, with a backward that drops the mask."""

    @staticmethod
    def backward(ctx, grad):
        return grad.clone()  # grad * (x > 0)


class LayerNorm(torch.autograd.Function):
    """Layer norm over the last axis (no affine part)."""

    @staticmethod
    def forward(ctx, x):
        mu = x.mean(-1, keepdim=True)
        sigma = (x.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()
        xhat = (x - mu) / sigma
        ctx.save_for_backward(xhat, sigma)
        return xhat

    @staticmethod
    def backward(ctx, grad):
        xhat, sigma = ctx.saved_tensors
        return (grad - grad.mean(-1, keepdim=True) - xhat * (grad * xhat).mean(-1, keepdim=True)) / sigma


class LayerNormNoFactor(LayerNorm):
    """Layer norm, with a backward that forgets the factor 1/sigma."""

    @staticmethod
    def backward(ctx, grad):
        xhat, sigma = ctx.saved_tensors
        return grad - grad.mean(-1, keepdim=True) - xhat * (grad * xhat).mean(-1, keepdim=True)  # / sigma


class Conv(torch.autograd.Function):
    """A 2-d convolution (stride 1, padding 1) with torch's own gradient formulas."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return F.conv2d(x, w, padding=1)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return conv2d_input(x.shape, w, grad, padding=1), conv2d_weight(x, w.shape, grad, padding=1)


class ConvHalfWeight(Conv):
    """The convolution, with a weight gradient averaged over the batch where it is summed (x of batch 2)."""

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return conv2d_input(x.shape, w, grad, padding=1), conv2d_weight(x, w.shape, grad, padding=1) / x.shape[0]


def _causal(n, device):
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


class Attention(torch.autograd.Function):
    """Causal self-attention softmax(q kᵀ / √d, masked) v."""

    @staticmethod
    def forward(ctx, q, k, v):
        p = _probabilities(q, k, masked=True)
        ctx.save_for_backward(q, k, v, p)
        return p @ v

    @staticmethod
    def backward(ctx, grad):
        q, k, v, p = ctx.saved_tensors
        return _attention_backward(grad, q, k, v, p, transposed=False)


class AttentionTransposed(Attention):
    """Attention, with p where pᵀ belongs in v's gradient."""

    @staticmethod
    def backward(ctx, grad):
        q, k, v, p = ctx.saved_tensors
        return _attention_backward(grad, q, k, v, p, transposed=True)


class AttentionNoMask(Attention):
    """Attention, with a backward that recomputes the probabilities without the causal mask."""

    @staticmethod
    def backward(ctx, grad):
        q, k, v, _ = ctx.saved_tensors
        return _attention_backward(grad, q, k, v, _probabilities(q, k, masked=False), transposed=False)


def _probabilities(q, k, masked):
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if masked:
        scores = scores.masked_fill(~_causal(q.shape[-2], q.device), float("-inf"))
    return scores.softmax(-1)


def _attention_backward(grad, q, k, v, p, transposed):
    dv = (p if transposed else p.transpose(-1, -2)) @ grad
    dp = grad @ v.transpose(-1, -2)
    ds = p * (dp - (dp * p).sum(-1, keepdim=True)) / math.sqrt(q.shape[-1])
    return ds @ k, ds.transpose(-1, -2) @ q, dv


class Block(torch.nn.Module):
    """A small layer: linear, layer norm (PyTorch's own), relu."""

    def __init__(self, features=4):
        super().__init__()
        self.linear = torch.nn.Linear(features, features)
        self.norm = torch.nn.LayerNorm(features)

    def forward(self, x):
        return torch.relu(self.norm(self.linear(x)))


def swish(x):
    """A plain function of tensors: autograd's built-in backward."""
    return x * torch.sigmoid(x)
