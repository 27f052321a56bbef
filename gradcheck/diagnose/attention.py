"""Attention's softmax read from the values: a layer whose output is softmax(c·Q @ K.T) @ V over the rows
(Q (m, k), K (n, k), V (n, v) among its inputs, c 1 or 1/√k) has its gradients written through
dS = A·(dA − Σ_rows(dA·A)), dA = dout @ V.T. A backward whose softmax sums are over another axis gives
every gradient of Q and K the same form with those sums moved, which the table's "reduction axes" names
once that form is the whole claim (hypotheses._too_few_axes)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from ..ops.reductions import softmax

# How close the output must be to softmax(c·Q @ K.T) @ V, relative to its largest entry, to be that.
SAME_OUTPUT = 1e-9

Model = Callable[[tuple[int, ...]], list[np.ndarray]]


def attention_models(name: str, inputs: Sequence[tuple[str, np.ndarray]], output: np.ndarray,
                     douts: Sequence[np.ndarray]) -> tuple[Model, str] | None:
    """For the input `name` as attention's Q or K, a function of the softmax's sum axes b giving its
    gradient per dout with dS's sum over b (the forward's is over axis 1, the rows), and the weights'
    formula in the user's names; None where the output is no attention of the inputs."""
    for (q_name, q), (k_name, k), (_, v) in itertools.permutations(inputs, 3):
        if name not in (q_name, k_name) or q.ndim != 2 or k.ndim != 2 or v.ndim != 2 or q.shape[1] != k.shape[1] \
                or k.shape[0] != v.shape[0] or output.shape != (q.shape[0], v.shape[1]) or k.shape[0] < 2:
            continue
        for c in (1.0 / math.sqrt(q.shape[1]), 1.0):
            a = softmax(c * (q @ k.T), axis=1)
            if not np.allclose(a @ v, output, rtol=0, atol=SAME_OUTPUT * max(float(np.max(np.abs(output))), 1.0)):
                continue
            scale = f" / √{q.shape[1]}" if c != 1.0 else ""
            return _model(name == q_name, q, k, v, a, c, douts), f"softmax({q_name} @ {k_name}.T{scale})"
    return None


def _model(of_q: bool, q: np.ndarray, k: np.ndarray, v: np.ndarray, a: np.ndarray, c: float,
           douts: Sequence[np.ndarray]) -> Model:
    def model(b: tuple[int, ...]) -> list[np.ndarray]:
        found = []
        for d in douts:
            da = d @ v.T
            ds = a * (da - ((da * a).sum(axis=b, keepdims=True) if b else da * a))
            found.append(c * (ds @ k if of_q else ds.T @ q))
        return found
    return model
