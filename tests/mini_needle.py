"""A few lines of CMU needle's hw1 (python/needle/autograd.py and ops), as its students have them: a Tensor
holding a numpy array, a TensorOp whose __call__ makes a node eagerly, and ops whose gradient(out_grad, node)
is written with needle's own ops on Tensors (so it cannot run on plain numpy arrays). The tests check these
ops as a student would, with gradcheck.check_op and `gradcheck layer FILE.py:Op`, with no wrappers.
"""

from __future__ import annotations

import numpy


class Tensor:
    def __init__(self, array, *, requires_grad=True):
        self.cached_data = numpy.array(array.cached_data if isinstance(array, Tensor) else array)
        self.op, self.inputs, self.requires_grad = None, [], requires_grad

    @classmethod
    def make_from_op(cls, op, inputs):
        tensor = cls.__new__(cls)
        tensor.op, tensor.inputs, tensor.requires_grad = op, list(inputs), True
        tensor.cached_data = op.compute(*[x.cached_data for x in inputs])
        return tensor

    def numpy(self):
        return self.cached_data

    @property
    def shape(self):
        return self.cached_data.shape

    def __add__(self, other):
        return EWiseAdd()(self, other) if isinstance(other, Tensor) else AddScalar(other)(self)

    def __mul__(self, other):
        return EWiseMul()(self, other) if isinstance(other, Tensor) else MulScalar(other)(self)

    def __neg__(self):
        return MulScalar(-1)(self)

    def __sub__(self, other):
        return self + (-other)

    __radd__, __rmul__ = __add__, __mul__


class TensorOp:
    def __call__(self, *args):
        return Tensor.make_from_op(self, args)


class EWiseAdd(TensorOp):
    def compute(self, a, b):
        return a + b

    def gradient(self, out_grad, node):
        return out_grad, out_grad


class AddScalar(TensorOp):
    def __init__(self, scalar):
        self.scalar = scalar

    def compute(self, a):
        return a + self.scalar

    def gradient(self, out_grad, node):
        return out_grad


class EWiseMul(TensorOp):
    def compute(self, a, b):
        return a * b

    def gradient(self, out_grad, node):
        lhs, rhs = node.inputs
        return out_grad * rhs, out_grad * lhs


class MulScalar(TensorOp):
    def __init__(self, scalar):
        self.scalar = scalar

    def compute(self, a):
        return a * self.scalar

    def gradient(self, out_grad, node):
        return (out_grad * self.scalar,)


class Exp(TensorOp):
    def compute(self, a):
        return numpy.exp(a)

    def gradient(self, out_grad, node):
        return out_grad * node  # the node is exp(a) itself: a Tensor


class Summation(TensorOp):
    def __init__(self, axes=None):
        self.axes = axes

    def compute(self, a):
        return numpy.sum(a, axis=self.axes)

    def gradient(self, out_grad, node):
        (a,) = node.inputs
        kept = [1 if (self.axes is None or i in self.axes) else n for i, n in enumerate(a.shape)]
        return BroadcastTo(a.shape)(Reshape(kept)(out_grad))


class ExpOfTheInput(Exp):
    """A classic mistake: exp's gradient written with the input where the output belongs."""

    def gradient(self, out_grad, node):
        return out_grad * node.inputs[0]


class BroadcastTo(TensorOp):
    def __init__(self, shape):
        self.shape = shape

    def compute(self, a):
        return numpy.broadcast_to(a, self.shape).copy()

    def gradient(self, out_grad, node):
        raise NotImplementedError


class Reshape(TensorOp):
    def __init__(self, shape):
        self.shape = shape

    def compute(self, a):
        return numpy.reshape(a, self.shape)

    def gradient(self, out_grad, node):
        raise NotImplementedError
