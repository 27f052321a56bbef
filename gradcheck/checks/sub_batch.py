"""A model's wrong parameter diagnosed again on a few rows of its data, where the batch hides the mistake.

A first layer's weight gradient is X.T @ g (plus reg·W): the mistake is often on g, the hidden gradient
(a relu mask missing, a tanh's derivative written wrong), and diagnose/products.py recovers g from the
truth and the claim where X has full row rank. With more rows N than features D it has not: X.T @ g
fixes no g, and the diagnosis stays an honest count. On its first k = D − 1 rows (and y's alike) X has
full row rank with room for the term beside the product, and the user's own model.loss computes its
claim again there.

One extra check, only where a wrong parameter's diagnosis is honest. Its cause is taken only where the
rows' check finds exactly the same parameters wrong as the whole batch's (a bug that shows on one and not
the other, as one that needs the whole batch, leaves the honest count), and it is said as read off those
rows. The verdict and the exit code are the whole batch's: only the diagnosis is read off the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..base.errors import GradcheckError
from ..base.status import Status
from ..verdict.result import CaseResult

# The causes that name no mistake (diagnose/layers.py's count): what the rows' check may improve on.
HONEST = (None, "count")


def rows_recovering(X: Any, y: Any) -> int | None:
    """k: the rows of X (N by D) with full row rank and fewer than D, where N ≥ D leaves the hidden gradient
    unrecovered; None where X is no such matrix or y has another batch."""
    if not isinstance(X, np.ndarray) or X.dtype.kind != "f" or X.ndim != 2:
        return None
    rows, features = X.shape
    k = features - 1
    if rows < features or k < 1:
        return None
    if np.ndim(y) >= 1 and len(y) != rows:
        return None
    if np.linalg.matrix_rank(X[:k]) < k:
        return None
    return k


def rows_of(y: Any, k: int, rows: int) -> Any:
    """y's first k entries where it has the batch's rows (labels), else y itself."""
    return y[:k] if np.ndim(y) >= 1 and len(y) == rows else y


def read_off_rows(result: CaseResult, X: Any, y: Any, check: Callable[[Any, Any], CaseResult | None]) -> CaseResult:
    """The result, with the honest diagnoses of its wrong parameters replaced by the causes the check on the
    first k rows (check(X[:k], y[:k]); None: no time left for it) names, where that check finds the same
    parameters wrong."""
    honest = [n for n, g in result.gradients.items() if g.status == Status.MISMATCH and g.cause in HONEST]
    k = rows_recovering(X, y) if honest else None
    if k is None:
        return result
    rows = X.shape[0]
    try:
        again = check(X[:k], rows_of(y, k, rows))
    except GradcheckError:  # a model that needs the whole batch, or the budget ran out: its honest diagnoses stay
        return result
    if again is None:
        return result
    wrong = {n for n, g in result.gradients.items() if g.status == Status.MISMATCH}
    wrong_there = {n for n, g in again.gradients.items() if g.status == Status.MISMATCH}
    if wrong != wrong_there:  # the mistake does not show alike on both: the rows say nothing of the batch
        return result
    read = []
    for n in honest:
        there = again.gradients[n]
        if there.cause in HONEST or there.diagnosis is None:
            continue
        g = result.gradients[n]
        g.cause, g.causes = there.cause, there.causes
        g.diagnosis = (f"read off the first {k} of the {rows} rows of X and y, checked again alone (there the claim "
                       f"is wrong too, and X's {k} rows have full rank, so what a product with X hides at {rows} "
                       f"rows is recovered): {there.diagnosis}")
        read.append(n)
    if read:
        result.notes.append(f"the diagnosis of {', '.join(read)} is read off the first {k} rows of X and y (one more "
                            f"check on them alone); the verdict is the whole batch's")
    return result
