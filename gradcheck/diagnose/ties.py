"""A kink from ties: a maximum (max pooling, a max over an axis, a sort) taken over equal entries.

At a tie no gradient is right or wrong: the one-sided derivatives differ, any backward that picks a side
(or splits the gradient) passes as a kink, exit 0, and a backward that gets the untied case wrong may
pass with it. Such a kink says so, and offers to check again at a point near the given one without ties.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

# How far a retry moves each differentiated input, relative to max(1, |x|): a hundred of the steps
# differences take (cbrt(eps)), so that no tie stays within a step, and at most 5%.
RETRY_STEPS = 100.0
RETRY_MAX = 0.05


def tied(x: Any, kinks: Sequence[Any]) -> list[tuple[int, ...]]:
    """The kinked entries of x whose value another entry of x has too."""
    x = np.asarray(x)
    found = []
    for k in kinks:
        index = tuple(int(i) for i in k[0])
        if x.ndim and int(np.count_nonzero(x == x[index])) > 1:
            found.append(index)
    return found


def note(name: str, entries: Sequence[tuple[int, ...]]) -> str:
    shown = ", ".join(f"{name}[{','.join(map(str, e))}]" for e in entries[:3]) + (" …" if len(entries) > 3 else "")
    return (f"the kinks of {name} are at ties ({shown} equal other entries of {name}, as where a maximum is taken "
            "over equal values): there any backward that picks a side passes; check again at a point without "
            "ties: --retry-at-random (retry_at_random=True) moves the inputs at random by about 1e-3 of themselves")


def moved(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """x moved at random by RETRY_STEPS differences' steps of max(1, |x|): ties broken by more than a step."""
    eps = float(np.finfo(x.dtype if x.dtype.kind == "f" else np.float64).eps)
    move = min(RETRY_STEPS * eps ** (1 / 3), RETRY_MAX)
    step = rng.standard_normal(x.shape) * move * np.maximum(1.0, np.abs(x))
    return (x + step).astype(x.dtype)
