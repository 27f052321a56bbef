"""How closely the numeric column matches backprop, per method, on the shipped expressions.

    python benchmarks/accuracy.py

For every case in expressions/ whose path is smooth (complex step and Richardson apply), the
relative difference |numeric - backprop| / max(|numeric|, |backprop|) over every entry of every
gradient, full mode; the median and worst per method.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

import gradcheck
from gradcheck.cases import load
from gradcheck.evaluate import analytic_path
from gradcheck.problem import build

EXPRESSIONS = Path(__file__).resolve().parent.parent / "expressions"


def relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1), 0.0).ravel()


def main() -> None:
    specs = [s for path in sorted(EXPRESSIONS.glob("*.toml")) for s in load(path) if s.error is None]
    smooth = []
    for spec in specs:
        options = {k: v for k, v in spec.options.items() if k not in ("name", "grad", "expect")}
        problem = build(options["expr"], at=options.get("at"), let=options.get("let"), wrt=options.get("wrt"),
                        seed=options.get("seed", 0), base=options.get("base"))
        if analytic_path(problem.root, problem.wrt):
            smooth.append((spec, options))
    print(f"numeric vs backprop, relative difference per entry, {len(smooth)} smooth cases of expressions/ "
          f"({len(specs)} in all), full mode")
    for method in ("complex", "richardson", "central"):
        differences = []
        for _spec, options in smooth:
            expr = options.pop("expr")
            result = gradcheck.check(expr, **options, mode="full", method=method)
            options["expr"] = expr
            for g in result.gradients.values():
                differences.extend(relative(np.asarray(g.columns["numeric"]), np.asarray(g.columns["backprop"])))
        print(f"  {method:<10}  entries {len(differences):5d}   median {statistics.median(differences):.1e}   "
              f"worst {max(differences):.1e}")


if __name__ == "__main__":
    main()
