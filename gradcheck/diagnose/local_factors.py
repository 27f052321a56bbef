"""Local gradients the forward computes, forgotten or applied where they do not belong.

- An output of the input's shape that depends on it entry by entry (an LSTM's next_c = f * prev_c + ...)
  has a local gradient ∂out/∂u the forward computes (the gate f), not an input. The truth for a dout that
  feeds that output alone is that dout times ∂out/∂u, so the factor is read off it; a claim that is the
  truth over it for every dout is the gradient reaching the output, not carried back through it
  (`dprev_c = dc` where `dc * f` belongs).
- An elementwise layer's truth is dout times its local gradient, read per entry from the truth over the
  random douts (one least-squares number per entry: Σ t·d / Σ d²); a claim that is that local gradient
  alone (everywhere, or on one side of an input's 0: np.where(x > 0, dout, 0.01) for a leaky relu) does not
  change with dout while the truth does: `* dout` is forgotten.
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


def local_gradient(truths: Sequence[np.ndarray], douts: Sequence[np.ndarray]) -> np.ndarray | None:
    """Per entry, the number L with truth ≈ L · dout over the douts (least squares); NaN where the truth is
    not measured or every dout is 0 there. None where fewer than two douts tell it (one fits any layer)."""
    if len(truths) < 2 or any(np.shape(t) != np.shape(d) for t, d in zip(truths, douts)):
        return None
    top = np.sum([t * d for t, d in zip(truths, douts)], axis=0)
    bottom = np.sum([d * d for d in douts], axis=0)
    with np.errstate(all="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


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
