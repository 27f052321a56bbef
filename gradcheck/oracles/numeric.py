"""Finite differences: ∂f/∂x ≈ (f(x+h) - f(x-h)) / 2h, knowing nothing of f but its values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import DomainError
from ..evaluate import value
from ..tree import Node, Var

# Central differences err by O(h²) from truncation and O(eps/h) from rounding; h = cbrt(eps)
# balances the two (Numerical Recipes §5.7), about 6.1e-6, scaled by the variable's magnitude.
STEP_SCALE = float(np.finfo(np.float64).eps ** (1 / 3))


@dataclass(frozen=True)
class NumericResult:
    value: float | None
    step: float
    note: str | None = None  # why value is None


def numeric(root: Node, point: Mapping[str, Any], wrt: list[Var]) -> dict[str, NumericResult]:
    return {v.name: central_difference(root, point, v.name) for v in wrt}


def central_difference(root: Node, point: Mapping[str, Any], name: str) -> NumericResult:
    x = float(point[name])
    h = STEP_SCALE * max(1.0, abs(x))
    h = (x + h) - x  # make x ± h exactly representable so the divisor is the true step
    try:
        up = value(root, {**point, name: np.float64(x + h)})
        down = value(root, {**point, name: np.float64(x - h)})
    except DomainError as exc:
        return NumericResult(None, h, f"a step of {h:.2g} leaves the domain: {exc.message}")
    return NumericResult(float((up - down) / (2 * h)), h)
