"""A weight's gradient with its sums taken before the product: a time-distributed dense layer's
dW = x.sum(axis=1).T @ dout.sum(axis=1) where Σ_t x[:, t].T @ dout[:, t] belongs.

For out = x @ W with x of shape (*lead, D) and out (*lead, M), the true dW is x's and dout's product summed
over every leading axis, Σ_lead x ⊗ dout (with W stored (M, D), its transpose). The mistake sums x and dout
over some of those axes first and multiplies the sums: Σ_rest (Σ_S x) ⊗ (Σ_S dout). Both are predicted from
the input and the dout alone, with nothing fitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import numpy as np


def summed_first(x: np.ndarray, dout: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Σ over the leading axes of (x summed over `axes`) ⊗ (dout summed over `axes`), shape (D, M)."""
    xs, ds = x.sum(axis=axes), dout.sum(axis=axes)
    return np.tensordot(xs, ds, axes=(list(range(xs.ndim - 1)), list(range(ds.ndim - 1))))


def products(x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """The true gradient: Σ over every leading axis of x ⊗ dout, shape (D, M)."""
    return summed_first(x, dout, ())


def leading_subsets(x: np.ndarray, dout: np.ndarray) -> Iterator[tuple[int, ...]]:
    """The nonempty sets of leading axes (x's and dout's shared, each of two or more entries) a sum may
    be taken over first; none where x and dout do not share their leading axes."""
    if x.ndim < 2 or x.shape[:-1] != dout.shape[:-1]:
        return
    lead = [a for a in range(x.ndim - 1) if x.shape[a] > 1]
    for size in range(1, len(lead) + 1):
        yield from combinations(lead, size)


def written(x_name: str, axes: tuple[int, ...], ndim: int, transposed: bool) -> tuple[str, str]:
    """The mistake and the truth in numpy: ('x.sum(axis=1).T @ dout.sum(axis=1)', "np.einsum('abi,abj->ij', x, dout)")."""
    where = axes[0] if len(axes) == 1 else axes
    xs, ds = f"{x_name}.sum(axis={where})", f"dout.sum(axis={where})"
    lead = "abcdefgh"[:ndim - 1]
    if transposed:
        return f"{ds}.T @ {xs}", f"np.einsum('{lead}j,{lead}i->ji', dout, {x_name})"
    return f"{xs}.T @ {ds}", f"np.einsum('{lead}i,{lead}j->ij', {x_name}, dout)"
