"""Local gradients the forward computes, forgotten or applied where they do not belong.

- An output of the input's shape that depends on it entry by entry (an LSTM's next_c = f * prev_c + ...)
  has a local gradient ∂out/∂u the forward computes (the gate f), not an input. The truth for a dout that
  feeds that output alone is that dout times ∂out/∂u, so the factor is read off it; a claim that is the
  truth over it for every dout is the gradient reaching the output, not carried back through it
  (`dprev_c = dc` where `dc * f` belongs).
- A loss of probabilities p (binary cross-entropy on p) whose gradient is written as the logits' (p − y)
  is the truth times p(1 − p), the sigmoid's local gradient that the loss on p does not apply; a loss of
  logits z whose gradient is written as the probabilities' is the truth over σ(z)(1 − σ(z)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Explains = Callable[[list[np.ndarray]], bool]

# A dout entry below this share of its largest is too small to divide the truth by.
DIVISOR_SHARE = 1e-6


def output_factor(true: np.ndarray, dout: np.ndarray) -> np.ndarray | None:
    """The local gradient ∂out/∂u entry by entry, read from the truth for a dout that feeds one output of
    the input's shape alone; None where the dout has entries too small to divide by or the truth is not
    measured everywhere."""
    if true.shape != dout.shape or not np.all(np.isfinite(true)):
        return None
    if np.any(np.abs(dout) <= DIVISOR_SHARE * max(float(np.max(np.abs(dout))), 1e-300)):
        return None
    return true / dout


def sigmoid_slope(p: np.ndarray) -> np.ndarray:
    """p(1 − p): the sigmoid's local gradient at the probabilities p it outputs."""
    return p * (1.0 - p)


def logits_forms(u: np.ndarray, true: Sequence[np.ndarray], explains: Explains) -> str | None:
    """Which way the gradient of a loss of u mixes up probabilities and logits: "probabilities" (u in (0, 1),
    the claim the truth times u(1 − u)), "logits" (the claim the truth over σ(u)(1 − σ(u))), or None."""
    if np.all((u > 0) & (u < 1)) and explains([t * sigmoid_slope(u) for t in true]):
        return "probabilities"
    with np.errstate(over="ignore"):
        s = sigmoid_slope(1.0 / (1.0 + np.exp(-u)))
    if np.all(s > 0) and explains([t / s for t in true]):
        return "logits"
    return None
