"""check_op: a layer or an op written as a class, checked as check_layer and check_vjp check functions.

Three shapes of class are recognised, by their methods:

- CS231n-style with a cache: `forward(*inputs) -> (out, cache)` and `backward(dout, cache)` (a backward
  of two or more parameters): check_layer on the bound methods.
- Stateful: `forward(*inputs) -> out` keeps what it needs on the object and `backward(dout)` (one
  parameter) uses it: each backward is called right after a forward at the same inputs.
- needle's TensorOp: `compute(*arrays) -> out` and `gradient(out_grad, node)`. When the op's module has
  needle's `Tensor`, gradient is called as needle calls it: out_grad a Tensor, node the Tensor `op(*inputs)`
  made, and the Tensors it returns are read with `.numpy()`. Otherwise (numpy code in needle's shape)
  node is the output array, with the inputs in `node.inputs` (and itself in `node.output`).

A class is made with no arguments; `FILE.py:MulScalar(2.0)` on the command line passes literals.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..base.errors import SpecError
from ..inputs.calling import call, parameter_names
from ..verdict.result import CaseResult
from .layers import check_layer, check_vjp


def check_op(op: Any, inputs: Any, *, name: str | None = None, **options: Any) -> CaseResult:
    """op: a class or an object with forward/backward or compute/gradient; inputs as for check_vjp."""
    label = name or (op.__name__ if isinstance(op, type) else type(op).__name__)
    if isinstance(op, type):
        op = call(f"{label}()", op)
    if _has(op, "compute", "gradient"):
        forward, vjp = needle(op, label)
        return check_vjp(forward, vjp, inputs, name=label, **options)
    if not _has(op, "forward", "backward"):
        methods = sorted(m for m in dir(op) if not m.startswith("_") and callable(getattr(op, m, None)))
        raise SpecError(f"{label} has neither forward and backward nor compute and gradient methods "
                        f"(it has {', '.join(methods) or 'no public methods'})")
    if len(parameter_names(op.backward)) >= 2:  # backward(dout, cache): CS231n's convention, on bound methods
        return check_layer(op.forward, op.backward, inputs, name=label, **options)
    return check_vjp(*stateful(op), inputs, name=label, **options)


def _has(op: Any, *methods: str) -> bool:
    return all(callable(getattr(op, m, None)) for m in methods)


def stateful(op: Any) -> tuple[Callable, Callable]:
    """forward(*inputs) -> out; backward(dout) after a forward at the same inputs (the object holds the state)."""
    def forward(*args: Any, **kwargs: Any) -> Any:
        return op.forward(*args, **kwargs)

    def vjp(dout: Any, *args: Any, **kwargs: Any) -> Any:
        op.forward(*args, **kwargs)  # the state backward reads, at these inputs
        return op.backward(dout)

    _signature_of(forward, op.forward)
    _signature_of(vjp, op.forward, prefix=["dout"])
    return forward, vjp


def needle(op: Any, label: str) -> tuple[Callable, Callable]:
    """compute and gradient as needle calls them (with its Tensors where the op's module has them)."""
    tensor = getattr(sys.modules.get(type(op).__module__), "Tensor", None)
    tensor = tensor if isinstance(tensor, type) and callable(op) else None

    def forward(*arrays: Any) -> Any:
        return op.compute(*arrays)

    def vjp(out_grad: Any, *arrays: Any) -> Any:
        if tensor is not None:
            inputs = [tensor(a) for a in arrays]
            node = op(*inputs)  # needle's TensorOp.__call__: the node, computed eagerly
            got = op.gradient(tensor(out_grad), node)
        else:
            got = op.gradient(out_grad, Node.of(op.compute(*arrays), arrays))
        return tuple(got) if isinstance(got, list) else got

    _signature_of(forward, op.compute)
    _signature_of(vjp, op.compute, prefix=["out_grad"])
    return forward, vjp


class Node(np.ndarray):
    """The output of compute, as numpy code in needle's shape reads its node: the array itself, with
    .inputs (compute's arguments) and .output (itself)."""

    inputs: tuple
    output: np.ndarray

    @classmethod
    def of(cls, output: Any, inputs: tuple) -> Node:
        node = np.asarray(output).view(cls)
        node.inputs, node.output = tuple(inputs), np.asarray(output)
        return node


def _signature_of(wrapper: Callable, method: Callable, prefix: list[str] | None = None) -> None:
    """The wrapper shows the method's parameter names (compute(self, a, b) -> a, b), so that inputs
    are named as the user's code names them."""
    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return
    extra = [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in prefix or []]
    wrapper.__signature__ = inspect.Signature(extra + parameters)  # type: ignore[attr-defined]
