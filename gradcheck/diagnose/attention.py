"""Attention's softmax read from the values: a layer whose output is softmax(c·Q @ Kᵀ + M) @ V over the
rows (Q (..., m, k), K (..., n, k), V (..., n, v) among its inputs, the same leading axes for a batch or
heads; c 1 or 1/√k; M no mask, a causal one, or a mask among the inputs) has its gradients written through
dS = A·(dA − Σ_rows(dA·A)), dA = dout @ Vᵀ. A backward whose softmax sums are over another axis gives
every gradient of Q and K the same form with those sums moved, which the table's "reduction axes" names
once that form is the whole claim (hypotheses._too_few_axes); and a Q or K whose claim is √k or 1/√k
times the truth beside a forward that scales by 1/√k is that scale missing or doubled, whatever else
√k equals (hypotheses._factor_names)."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..ops.reductions import softmax

# How close the output must be to softmax(c·Q @ K.T + M) @ V, relative to its largest entry, to be that.
SAME_OUTPUT = 1e-9

Model = Callable[..., list[np.ndarray]]  # (sum axes, weighted=True) -> the gradient per dout


@dataclass(frozen=True)
class Read:
    """Attention read from the values, for one input as its Q or K."""

    model: Model  # the softmax's sum axes (of A), and whether dA is weighted by A there -> the gradient per dout
    weights: str  # the weights' formula in the user's names
    rows: int  # A's axis the forward's softmax is over (its last)
    scale: float  # c
    width: int  # k, the axis c = 1/√k is read from
    untransposed: Callable[[], list[np.ndarray] | None]  # the gradient with dS where dS.T belongs (and back)
    other: str  # the other of Q and K, by name
    of_q: bool  # the input is Q (else K)


def attention_models(name: str, inputs: Sequence[tuple[str, np.ndarray]], output: np.ndarray,
                     douts: Sequence[np.ndarray], masks: Sequence[tuple[str, np.ndarray]] = ()) -> Read | None:
    """The input `name` as attention's Q or K, read from the values; None where the output is no attention
    of the inputs (`masks`: the boolean inputs a mask may be)."""
    for (q_name, q), (k_name, k), (v_name, v) in itertools.permutations(inputs, 3):
        if name not in (q_name, k_name) or not _shapes_fit(q, k, v, output):
            continue
        scores = q @ np.swapaxes(k, -1, -2)
        for (mask, said), c in itertools.product(_masks(scores.shape, inputs, masks, (q_name, k_name, v_name)),
                                                 (1.0 / math.sqrt(q.shape[-1]), 1.0)):
            a = softmax(mask(c * scores), axis=-1)
            if not np.allclose(a @ v, output, rtol=0, atol=SAME_OUTPUT * max(float(np.max(np.abs(output))), 1.0)):
                continue
            scale = f" / √{q.shape[-1]}" if c != 1.0 else ""
            weights = f"softmax({q_name} @ {k_name}{_transposed(k)}{scale}{said})"
            of_q = name == q_name
            return Read(_model(of_q, q, k, v, a, c, douts), weights, a.ndim - 1, c, int(q.shape[-1]),
                        functools.partial(_untransposed, of_q, q, k, v, a, c, douts), k_name if of_q else q_name,
                        of_q)
    return None


def _shapes_fit(q: np.ndarray, k: np.ndarray, v: np.ndarray, output: np.ndarray) -> bool:
    """Q (..., m, k), K (..., n, k), V (..., n, v) with the same leading axes, the output (..., m, v), n ≥ 2."""
    return (q.ndim >= 2 and q.ndim == k.ndim == v.ndim and q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
            and q.shape[-1] == k.shape[-1] and k.shape[-2] == v.shape[-2] and k.shape[-2] >= 2
            and output.shape == q.shape[:-1] + v.shape[-1:])


def _transposed(k: np.ndarray) -> str:
    return ".T" if k.ndim == 2 else f".swapaxes({k.ndim - 2}, {k.ndim - 1})"


def _masks(shape: tuple[int, ...], inputs: Sequence[tuple[str, np.ndarray]], booleans: Sequence[tuple[str, np.ndarray]],
           taken: tuple[str, ...]) -> list[tuple[Callable[[np.ndarray], np.ndarray], str]]:
    """The masks a forward may add to the scores, with how the weights' formula says them: none; a causal
    one (each row sees its own column and those before it); an input that broadcasts to the scores,
    added (a float mask of 0 and −∞ or −1e9) or, boolean, keeping the scores where it is True (or False)."""
    found: list[tuple[Callable[[np.ndarray], np.ndarray], str]] = [(lambda s: s, "")]
    m, n = shape[-2], shape[-1]
    if m == n:
        future = np.triu(np.ones((m, n), dtype=bool), 1)
        found.append((lambda s: np.where(future, -np.inf, s), ", causal"))
    for name, value in inputs:
        if name not in taken and _broadcasts(value.shape, shape) and value.ndim >= 2:
            found.append((_added(value), f" + {name}"))
    for name, value in booleans:
        if _broadcasts(value.shape, shape):
            found.append((_kept(value, True), f" where {name}"))
            found.append((_kept(value, False), f" where not {name}"))
    return found


def _added(mask: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda s: s + mask


def _kept(mask: np.ndarray, where: bool) -> Callable[[np.ndarray], np.ndarray]:
    """The scores where the mask is `where`, −∞ elsewhere (the softmax gives them no weight)."""
    return lambda s: np.where(mask == where, s, -np.inf)


def _broadcasts(shape: tuple[int, ...], to: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, to) == to
    except ValueError:
        return False


def _model(of_q: bool, q: np.ndarray, k: np.ndarray, v: np.ndarray, a: np.ndarray, c: float,
           douts: Sequence[np.ndarray]) -> Model:
    def model(b: tuple[int, ...], weighted: bool = True) -> list[np.ndarray]:
        """The gradient with dS's sums over axes b (none: left out), of dA·A (or of dA alone, unweighted)."""
        found = []
        for d in douts:
            da = d @ np.swapaxes(v, -1, -2)
            summed = da * a if weighted else da
            ds = a * (da - (summed.sum(axis=b, keepdims=True) if b else summed))
            found.append(c * (ds @ k if of_q else np.swapaxes(ds, -1, -2) @ q))
        return found
    return model


def _untransposed(of_q: bool, q: np.ndarray, k: np.ndarray, v: np.ndarray, a: np.ndarray, c: float,
                  douts: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """Q's gradient written c·dSᵀ @ K or K's c·dS @ Q (dS square: as many queries as keys), per dout."""
    if a.shape[-1] != a.shape[-2]:
        return None
    found = []
    for d in douts:
        da = d @ np.swapaxes(v, -1, -2)
        ds = np.swapaxes(a * (da - (da * a).sum(axis=-1, keepdims=True)), -1, -2)
        found.append(c * (ds @ k if of_q else np.swapaxes(ds, -1, -2) @ q))
    return found
