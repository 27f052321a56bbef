"""A relu after an affine map, relu(x @ W + b), whose backward forgets the relu's mask.

W's gradient x.T @ dout (for x.T @ (dout * (z > 0))) hides the mask inside a product with x, which
products.py cannot undo when x has more rows than columns. Here no inversion is needed: the forward is
recognised from the inputs and the output alone, and the unmasked claim is predicted outright for every
dout (x: dout @ W.T, W: x.T @ dout, b: dout.sum(0)), possibly times 1/N or N (an average over the rows
that the truth does not take). Named only where that prediction is the whole claim and the masked one
is the whole truth. Plain numpy: the test itself is hypotheses._unmasked_relu_affine."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np


SAME_FORWARD = 1e-9  # the output is relu(x @ W + b) computed again from the inputs (both in float64)


def relu_affine_roles(outputs: tuple, leaves: dict[str, np.ndarray]) -> tuple[dict[str, str], np.ndarray] | None:
    """The inputs in the roles x (N, D), W (D, M) and b (M,) (b may be absent) of an output relu(x @ W + b),
    and z = x @ W + b; None where no such roles give the output."""
    if len(outputs) != 1 or np.ndim(outputs[0]) != 2:
        return None
    out = np.asarray(outputs[0], dtype=np.float64)
    mats = [p for p, v in leaves.items() if v.ndim == 2]
    vecs = [None] + [p for p, v in leaves.items() if v.ndim == 1 and v.shape == out.shape[1:]]
    for xp, wp in itertools.permutations(mats, 2):
        x, w = leaves[xp], leaves[wp]
        if x.shape[1] != w.shape[0] or (x.shape[0], w.shape[1]) != out.shape:
            continue
        for bp in vecs:
            z = x @ w + (0.0 if bp is None else leaves[bp])
            scale = max(float(np.max(np.abs(out))), 1e-300)
            if np.all(np.abs(np.maximum(z, 0.0) - out) <= SAME_FORWARD * scale):
                roles = {"x": xp, "W": wp} | ({} if bp is None else {"b": bp})
                return roles, z
    return None


def gradient_of(role: str, x: np.ndarray, w: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The input's gradient from the gradient g at z."""
    return {"x": lambda g: g @ w.T, "W": lambda g: x.T @ g, "b": lambda g: g.sum(axis=0)}[role]


def product_undone(x: np.ndarray, w: np.ndarray) -> bool:
    """g can be recovered from one of the gradients (x.T @ g with N <= D, g @ W.T with M <= D): products.py's
    case (b's g.sum(0) through the weight's), left to it."""
    return x.shape[0] <= x.shape[1] or w.shape[1] <= w.shape[0]
