"""A classifier's loss read from its gradient: softmax cross-entropy (or the NLL of a log-softmax) of scores
s with integer labels y, classes along either axis of s, has the gradient k · (softmax(s) − onehot(y)), the
softmax over the classes' axis and k the loss's own scale (1/N for a mean, 1 for a sum). The claim the same
with its softmax over another axis is a softmax taken over the wrong axis (read by hypotheses' reduction-axes
entry). Pure functions of the values; the evidence's fits stay in hypotheses.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..ops import arrays
from ..ops.reductions import softmax

# The scores are a matrix: classes along one axis, the examples along the other.
SCORE_AXES = 2


def labelled_axes(scores: np.ndarray, values: Mapping[str, Any]) -> Iterator[tuple[str, np.ndarray, int]]:
    """The integer inputs y that label the examples of these scores, and the classes' axis they index:
    (name, y, axis), y one label per entry of the other axis, each below the classes' count."""
    if scores.ndim != SCORE_AXES:
        return
    for n, y in values.items():
        if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" or y.ndim != 1 or not y.size or y.min() < 0:
            continue
        for axis in range(SCORE_AXES):
            if y.size == scores.shape[1 - axis] and y.max() < scores.shape[axis] and scores.shape[axis] > 1:
                yield n, y, axis


def onehot(y: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """1 at each example's label along the classes' axis, 0 elsewhere."""
    return np.moveaxis(arrays.onehot(y, shape[axis]), -1, axis)


def gradient(scores: np.ndarray, y: np.ndarray, axis: int, softmax_axis: int) -> np.ndarray:
    """softmax(s) over `softmax_axis` − onehot(y) along the classes' `axis` (the loss's scale left out)."""
    return softmax(scores, axis=softmax_axis) - onehot(y, scores.shape, axis)


def smoothing_fit(truths: list[np.ndarray], douts: list[float], p: np.ndarray, hot: np.ndarray, classes: int
                  ) -> tuple[float, float] | None:
    """The truth read as k · (p − T) with T = (1 − ε)·onehot + ε/C, a smoothed target: least squares over
    every dout on the basis p, onehot, 1, as (k, ε), or None where k is 0. ε is read from the constant the
    truth is off the labels; whether k · (p − T) is the truth is the caller's to check."""
    basis = np.concatenate([np.stack([d * p.ravel(), d * hot.ravel(), np.full(p.size, d)], axis=1) for d in douts])
    target = np.concatenate([np.asarray(t, dtype=np.float64).ravel() for t in truths])
    if not np.all(np.isfinite(target)):
        return None
    coef, *_ = np.linalg.lstsq(basis, target, rcond=None)
    k, gamma = float(coef[0]), float(coef[2])
    if abs(k) < np.finfo(float).eps:
        return None
    return k, -gamma * classes / k


def smoothed(hot: np.ndarray, eps: float, classes: int) -> np.ndarray:
    """Label smoothing's target: (1 − ε)·onehot + ε/C."""
    return (1.0 - eps) * hot + eps / classes
