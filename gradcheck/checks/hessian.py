"""--order 2: the Hessian, two independent ways (as gradgradcheck does for PyTorch).

- symbolic: SymPy differentiates the whole expansion of f twice;
- numeric: central differences of the backprop gradient, one variable entry at a time, with the
  same error estimate and kink guard as the first-order numeric oracle.

A wrong second-order rule in the registry (or a wrong first-order one that a single point happened
to hide) shows up as a disagreement. Each block ∂²f/∂a∂b has the shape shape(a) + shape(b).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base.budget import checkpoint
from ..base.columns import Measured
from ..base.errors import SpecError
from ..base.limits import HESSIAN_MAX_ENTRIES, HESSIAN_MAX_OPERATIONS, HESSIAN_MAX_WORK
from ..base.tolerance import ROUNDING_ULPS
from ..inputs.problem import Problem
from ..language.cost import expanded_operations
from ..language.evaluate import differenced, forward
from ..oracles.backprop import backprop
from ..oracles.numeric import EPS
from ..oracles.sym_eval import Evaluator, as_float
from ..oracles.symbolic import sympy_numbers, sympy_partial, sympy_symbols, to_sympy


def hessian_columns(problem: Problem) -> dict[tuple[str, str], dict[str, tuple[Any, str | None]]]:
    """For every pair of variables (a, b): {"symbolic": (block, note), "numeric": (Measured, note)}."""
    names = [v.name for v in problem.wrt]
    check_hessian_cost(problem)
    symbolic = _symbolic(problem, names)
    numeric = _numeric(problem, names)
    return {(a, b): {"symbolic": symbolic[(a, b)], "numeric": numeric[(a, b)]} for a in names for b in names}


def on_kink(problem: Problem) -> bool:
    """Whether the point itself is on a kink of f (some kink quantity exactly 0): there a block whose
    differences all crossed it, and whose SymPy second derivative is not finite, cannot be checked."""
    return bool(differenced(problem.root)(problem.point).at_kink)


def check_hessian_cost(problem: Problem) -> None:
    """Refuse up front (before the first-order oracles run) a Hessian too large for SymPy."""
    names = [v.name for v in problem.wrt]
    entries = sum(int(np.size(problem.point[n])) for n in names)
    if entries > HESSIAN_MAX_ENTRIES:
        raise SpecError(f"--order 2 checks at most {HESSIAN_MAX_ENTRIES} variable entries "
                        f"(the Hessian has their square); this f has {entries} (narrow it with --wrt)")
    operations = expanded_operations(problem.root, {n: np.shape(v) for n, v in problem.point.items()})
    if operations > HESSIAN_MAX_OPERATIONS:
        raise SpecError(f"--order 2 differentiates f twice with SymPy, up to {HESSIAN_MAX_OPERATIONS:,} scalar "
                        f"operations (f written out as a tree); this f has ~{operations:,}")
    if entries**2 * operations > HESSIAN_MAX_WORK:
        raise SpecError(f"--order 2 would take SymPy {entries**2:,} second derivatives of an f of ~{operations:,} "
                        f"operations; the limit is {HESSIAN_MAX_WORK:,} for their product (narrow it with --wrt)")


def _numeric(problem: Problem, names: list[str]) -> dict[tuple[str, str], tuple[Any, str | None]]:
    """Column by column: ∂/∂b[j] of the backprop gradient, by central differences."""
    real = np.float32 if any(np.asarray(v).dtype == np.float32 for v in problem.point.values()) else np.float64
    eps = float(np.finfo(real).eps) if real is np.float32 else EPS
    evaluate = differenced(problem.root)
    base = evaluate(problem.point)

    def gradient(point) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype=np.float64) for k, v in backprop(problem.root, forward(problem.root, point), problem.wrt).items()}

    blocks: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    notes: dict[tuple[str, str], str] = {}
    for b in names:
        x = np.asarray(problem.point[b]).astype(real)
        shape_b = x.shape
        for a in names:
            shape_a = np.shape(problem.point[a])
            blocks[(a, b)] = (np.full(shape_a + shape_b, np.nan), np.full(shape_a + shape_b, np.inf))
        for idx in np.ndindex(shape_b):
            checkpoint()
            h = eps ** (1 / 3) * max(1.0, abs(float(x[idx])))
            sides = []
            for step in (h, -h, 2 * h, -2 * h):
                moved = x.copy()
                moved[idx] = moved[idx] + step
                point = {**problem.point, b: moved[()] if moved.ndim == 0 else moved}
                sides.append((evaluate(point), gradient(point)))
            if base.branches is not None and any(e.branches != base.branches for e, _ in sides):
                for a in names:
                    notes[(a, b)] = "entries whose step crossed a kink were left out"
                continue
            (_, up), (_, down), (_, up2), (_, down2) = sides
            for a in names:
                d = (up[a] - down[a]) / (2 * h)
                d2 = (up2[a] - down2[a]) / (4 * h)
                size = max(float(np.max(np.abs(g[a]))) for _, g in sides)
                value, error = blocks[(a, b)]
                value[(Ellipsis,) + idx] = d
                error[(Ellipsis,) + idx] = np.abs(d - d2) / 3 + ROUNDING_ULPS * eps * size / h
    out = {}
    for key, (value, error) in blocks.items():
        scalar = value.ndim == 0
        out[key] = (Measured(np.float64(value[()]) if scalar else value, np.float64(error[()]) if scalar else error),
                    notes.get(key))
    return out


def _symbolic(problem: Problem, names: list[str]) -> dict[tuple[str, str], tuple[Any, str | None]]:
    import sympy as sp

    symbols = {n: sympy_symbols(sp, n, problem.point[n]) for n in names}
    inputs = {n: symbols[n] if n in symbols else sympy_numbers(sp, v) for n, v in problem.point.items()}
    expr = to_sympy(sp, problem.root, inputs)[()]
    evaluate = Evaluator({s: np.asarray(problem.point[n], dtype=np.float64)[idx] for n in names
                          for idx, s in np.ndenumerate(symbols[n])})
    first = {s: sympy_partial(sp, expr, s) for n in names for s in symbols[n].ravel()}
    out: dict[tuple[str, str], tuple[Any, str | None]] = {}
    for a in names:
        for b in names:
            shape = symbols[a].shape + symbols[b].shape
            block = np.empty(shape)
            missing = None
            for ia, sa in np.ndenumerate(symbols[a]):
                for ib, sb in np.ndenumerate(symbols[b]):
                    checkpoint()
                    number = as_float(evaluate(sp.diff(first[sa], sb)))
                    if number is None:
                        missing = f"SymPy gives no finite second derivative by {sa} and {sb} here"
                        number = np.nan
                    block[ia + ib] = number
            out[(a, b)] = (None, missing) if missing else (np.float64(block[()]) if block.ndim == 0 else block, None)
    return out
