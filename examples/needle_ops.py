"""Needle-style ops (CMU's Deep Learning Systems): compute() on numpy arrays and gradient(out_grad, node),
each checked with one gradcheck.check_op call, no wrappers.

    python examples/needle_ops.py     # exits 0: every gradient below is right

In needle, gradient() is written with needle's own ops on Tensors, and check_op calls it with needle's
Tensors (the op's module has them); here gradient() uses numpy, and check_op passes the output array as
the node, with node.inputs and node.output. Either way gradcheck checks a vector-Jacobian product.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

import gradcheck


class Op:
    def compute(self, *arrays):
        raise NotImplementedError

    def gradient(self, out_grad, node):
        raise NotImplementedError


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient over the axes that broadcasting added or stretched, back to `shape`."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class EWiseAdd(Op):
    def compute(self, a, b):
        return a + b

    def gradient(self, out_grad, node):
        a, b = node.inputs
        return unbroadcast(out_grad, a.shape), unbroadcast(out_grad, b.shape)


class EWiseMul(Op):
    def compute(self, a, b):
        return a * b

    def gradient(self, out_grad, node):
        a, b = node.inputs
        return unbroadcast(out_grad * b, a.shape), unbroadcast(out_grad * a, b.shape)


class EWiseDiv(Op):
    def compute(self, a, b):
        return a / b

    def gradient(self, out_grad, node):
        a, b = node.inputs
        return unbroadcast(out_grad / b, a.shape), unbroadcast(-out_grad * a / b**2, b.shape)


class EWisePow(Op):
    def compute(self, a, b):
        return a**b

    def gradient(self, out_grad, node):
        a, b = node.inputs
        return out_grad * b * a ** (b - 1), out_grad * node.output * np.log(a)


@dataclass
class AddScalar(Op):
    scalar: float

    def compute(self, a):
        return a + self.scalar

    def gradient(self, out_grad, node):
        return out_grad


@dataclass
class MulScalar(Op):
    scalar: float

    def compute(self, a):
        return a * self.scalar

    def gradient(self, out_grad, node):
        return out_grad * self.scalar


@dataclass
class DivScalar(Op):
    scalar: float

    def compute(self, a):
        return a / self.scalar

    def gradient(self, out_grad, node):
        return out_grad / self.scalar


@dataclass
class PowerScalar(Op):
    scalar: int

    def compute(self, a):
        return a**self.scalar

    def gradient(self, out_grad, node):
        (a,) = node.inputs
        return out_grad * self.scalar * a ** (self.scalar - 1)


class MatMul(Op):
    def compute(self, a, b):
        return a @ b

    def gradient(self, out_grad, node):
        a, b = node.inputs
        da = out_grad @ np.swapaxes(b, -1, -2)
        db = np.swapaxes(a, -1, -2) @ out_grad
        return unbroadcast(da, a.shape), unbroadcast(db, b.shape)  # batched: sum over broadcast batch axes


@dataclass
class Summation(Op):
    axes: tuple | None = None

    def compute(self, a):
        return np.sum(a, axis=self.axes)

    def gradient(self, out_grad, node):
        (a,) = node.inputs
        axes = range(a.ndim) if self.axes is None else [ax % a.ndim for ax in self.axes]
        kept = [1 if ax in axes else size for ax, size in enumerate(a.shape)]
        return np.broadcast_to(np.reshape(out_grad, kept), a.shape).copy()


@dataclass
class BroadcastTo(Op):
    shape: tuple

    def compute(self, a):
        return np.broadcast_to(a, self.shape).copy()

    def gradient(self, out_grad, node):
        return unbroadcast(out_grad, node.inputs[0].shape)


@dataclass
class Reshape(Op):
    shape: tuple

    def compute(self, a):
        return np.reshape(a, self.shape)

    def gradient(self, out_grad, node):
        return np.reshape(out_grad, node.inputs[0].shape)


@dataclass
class Transpose(Op):
    axes: tuple | None = None  # needle's default swaps the last two axes

    def _order(self, ndim):
        order = list(range(ndim))
        i, j = self.axes if self.axes is not None else (-1, -2)
        order[i], order[j] = order[j], order[i]
        return order

    def compute(self, a):
        return np.transpose(a, self._order(a.ndim))

    def gradient(self, out_grad, node):
        return np.transpose(out_grad, self._order(out_grad.ndim))  # a swap is its own inverse


class Log(Op):
    def compute(self, a):
        return np.log(a)

    def gradient(self, out_grad, node):
        return out_grad / node.inputs[0]


class Exp(Op):
    def compute(self, a):
        return np.exp(a)

    def gradient(self, out_grad, node):
        return out_grad * node.output


class ReLU(Op):
    def compute(self, a):
        return np.maximum(a, 0)

    def gradient(self, out_grad, node):
        return out_grad * (node.inputs[0] > 0)


class Tanh(Op):
    def compute(self, a):
        return np.tanh(a)

    def gradient(self, out_grad, node):
        return out_grad * (1 - node.output**2)


@dataclass
class LogSumExp(Op):
    axes: tuple | None = None

    def compute(self, z):
        top = np.max(z, axis=self.axes, keepdims=True)
        return np.squeeze(np.log(np.sum(np.exp(z - top), axis=self.axes, keepdims=True)) + top,
                          axis=self.axes)

    def gradient(self, out_grad, node):
        (z,) = node.inputs
        axes = range(z.ndim) if self.axes is None else [ax % z.ndim for ax in self.axes]
        kept = [1 if ax in axes else size for ax, size in enumerate(z.shape)]
        return np.reshape(out_grad, kept) * np.exp(z - np.reshape(node.output, kept))


def check_op(op: Op, *inputs: np.ndarray, **options):
    """One call: gradcheck calls compute and gradient itself (gradcheck layer FILE.py:Op does the same)."""
    return gradcheck.check_op(op, list(inputs), **options)


def checks(rng: np.random.Generator):
    randn = rng.standard_normal
    positive = rng.uniform(0.5, 2.0, (3, 4))
    yield "add", check_op(EWiseAdd(), randn((3, 4)), randn(4))
    yield "mul", check_op(EWiseMul(), randn((3, 4)), randn((3, 4)))
    yield "div", check_op(EWiseDiv(), randn((3, 4)), positive)
    yield "pow", check_op(EWisePow(), positive, randn((3, 4)))
    yield "add_scalar", check_op(AddScalar(2.5), randn((3, 4)))
    yield "mul_scalar", check_op(MulScalar(-1.5), randn((3, 4)))
    yield "div_scalar", check_op(DivScalar(4.0), randn((3, 4)))
    yield "power_scalar", check_op(PowerScalar(3), randn((3, 4)))
    yield "matmul", check_op(MatMul(), randn((3, 4)), randn((4, 2)))
    yield "batched_matmul", check_op(MatMul(), randn((2, 3, 4)), randn((4, 5)))
    yield "summation", check_op(Summation((1,)), randn((3, 4, 2)))
    yield "summation_all", check_op(Summation(), randn((3, 4)))
    yield "broadcast_to", check_op(BroadcastTo((3, 2, 4)), randn((2, 1)))
    yield "reshape", check_op(Reshape((6, 2)), randn((3, 4)))
    yield "transpose", check_op(Transpose((0, 2)), randn((2, 3, 4)))
    yield "transpose_last_two", check_op(Transpose(), randn((2, 3, 4)))
    yield "log", check_op(Log(), positive)
    yield "exp", check_op(Exp(), randn((3, 4)))
    yield "relu", check_op(ReLU(), randn((3, 4)))
    yield "tanh", check_op(Tanh(), randn((3, 4)))
    yield "logsumexp", check_op(LogSumExp((1,)), randn((3, 4)))
    yield "logsumexp_all", check_op(LogSumExp(), randn((3, 4)))


def main() -> int:
    worst = 0
    for name, result in checks(np.random.default_rng(0)):
        print(f"{name}: {result.status} — {result.verdict}")
        if result.status not in ("pass", "kink"):
            print(result)
        worst = max(worst, int(result.exit_code))
    return worst


if __name__ == "__main__":
    sys.exit(main())
