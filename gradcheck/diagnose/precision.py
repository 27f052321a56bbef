"""A backward computed in lower precision than its forward: right within rtol, wrong for its precision.

A float64 layer's backward that goes through float32 (an array made with dtype=np.float32, a float32
constant, a cast) is off by about float32's rounding, 1e-7 of its size: inside the default rtol (1e-5),
so it passes, yet it is far above what float64 arithmetic leaves and what differences measure. Such a
gradient passes with a note; under --strict it fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..oracles.numeric import NumericResult

# The truth's own error estimate is multiplied by this before a difference is counted as the claim's.
OWN_ERROR = 10.0
# A difference of this much of the gradient's size is float32's (eps 1.2e-7), not float64 rounding,
# which a backward's sums of a few terms keep near 1e-15 (cancellation by a factor 1e7 would be needed).
LOWER = float(np.finfo(np.float32).eps) / 4


def lower_precision(measured: Sequence[NumericResult], claimed: Sequence[Any], dtype: str) -> float | None:
    """The claim's distance from the truth, relative to the gradient's size, when it is a lower
    precision's rounding in a float64 computation; None otherwise (or where not every entry was
    differenced)."""
    if dtype != "float64":
        return None
    worst = 0.0
    for m, c in zip(measured, claimed):
        if m.value is None or c is None:
            return None
        t = np.asarray(m.value.value, dtype=np.float64)
        e = np.asarray(m.value.error, dtype=np.float64)
        known = np.isfinite(t) & np.isfinite(e)
        if not known.any():
            return None
        scale = float(np.max(np.abs(t[known])))
        if scale == 0:
            continue
        beyond = np.abs(np.asarray(c, dtype=np.float64)[known] - t[known]) - OWN_ERROR * e[known]
        worst = max(worst, float(np.max(beyond)) / scale)
    return worst if worst >= LOWER else None


def said(distance: float, strict: bool) -> str:
    """The note beside the claimed column (which names the variable)."""
    return (f"it is {distance:.1g} of its size from numeric, within rtol but far above float64's "
            f"rounding and about float32's ({float(np.finfo(np.float32).eps):.1g}): the backward computes in lower "
            "precision than f (a float32 array, constant or cast inside it)"
            + ("; --strict fails it" if strict else "; it passes, and fails under --strict"))
