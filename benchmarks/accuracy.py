"""How closely the numeric column matches backprop, per method, on the shipped expressions.

    python benchmarks/accuracy.py

For every case in expressions/ whose path is smooth (complex step and Richardson apply), the
relative difference |numeric - backprop| / max(|numeric|, |backprop|) over every entry of every
gradient, full mode; the median and worst per method.

Then the piecewise-smooth cases (relu, max pooling, abs, max: the complex step through their
complex forms), at the default method, and the sampled entries and directions of fast mode on the
101,632-parameter relu net (X 256x784, W1 784x128, W2 128x10). There an entry is measured at no less
than 1/100 of its gradient's largest entry: an entry far smaller is a sum of larger terms that
cancel, which float64 cannot give to 1e-13 of itself by any method (backprop included).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

import gradcheck
from gradcheck.batch.cases import load
from gradcheck.language.evaluate import non_analytic, without_complex_form
from gradcheck.language.tree import Paths
from gradcheck.inputs.problem import Spec, build


def smooth_path(root, wrt) -> bool:
    """Whether every primitive between the variables and f is smooth (every method applies everywhere)."""
    paths = Paths(root)
    return not any(non_analytic(root, v, paths) for v in wrt)


EXPRESSIONS = Path(__file__).resolve().parent.parent / "expressions"
# The measure's floor for entries that cancel, as a fraction of the gradient's largest entry.
CANCELLATION_FLOOR = 1e-2
NET_EXPR = "softmax_ce(relu(X @ W1) @ W2, y)"


def relative(a: np.ndarray, b: np.ndarray, largest: float = 0.0) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), CANCELLATION_FLOOR * largest)
    return np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1), 0.0).ravel()


def summary(differences: list[float]) -> str:
    return (f"entries {len(differences):5d}   median {statistics.median(differences):.1e}   "
            f"worst {max(differences):.1e}")


def main() -> None:
    specs = [s for path in sorted(EXPRESSIONS.glob("*.toml")) for s in load(path) if s.error is None]
    smooth, piecewise = [], []
    for spec in specs:
        options = {k: v for k, v in spec.options.items() if k not in ("name", "grad", "expect")}
        problem = build(Spec(options["expr"], at=options.get("at"), let=options.get("let"), wrt=options.get("wrt"),
                             base=options.get("base")), seed=options.get("seed", 0))
        if smooth_path(problem.root, problem.wrt):
            smooth.append((spec, options))
        elif not any(without_complex_form(problem.root, v) for v in problem.wrt):
            piecewise.append((spec, options))
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
        print(f"  {method:<10}  {summary(differences)}")
    print(f"\n{len(piecewise)} piecewise-smooth cases (relu, max pooling, abs, max, ...), default method, "
          f"full mode; entries measured at ≥ {CANCELLATION_FLOOR:g} × their gradient's largest")
    for method in ("auto", "central"):
        differences, methods = [], set()
        for _spec, options in piecewise:
            expr = options.pop("expr")
            result = gradcheck.check(expr, **options, mode="full", method=method)
            options["expr"] = expr
            for g in result.gradients.values():
                methods.add(g.numeric_method)
                backprop = np.asarray(g.columns["backprop"], dtype=float)
                differences.extend(relative(g.columns["numeric"], backprop, float(np.max(np.abs(backprop)))))
        print(f"  {method:<10}  {summary(differences)}   (numeric method: {', '.join(sorted(methods))})")
    labels = ",".join(str(i % 10) for i in range(256))
    at = {"X": "randn(256,784)", "W1": "randn(784,128)", "W2": "randn(128,10)", "y": f"[{labels}]"}
    result = gradcheck.check(NET_EXPR, at=at, wrt="W1,W2")
    entries, directions, methods = [], [], set()
    for g in result.gradients.values():
        methods.add(g.numeric_method)
        probes, backprop = g.columns["numeric"], np.asarray(g.columns["backprop"], dtype=float)
        largest = float(np.max(np.abs(backprop)))
        entries.extend(relative(probes.entry_values, [backprop[i] for i in probes.entries], largest))
        along = [float(np.sum(v * backprop)) for v in probes.directions]
        directions.extend(relative(probes.directional, along, max(abs(a) for a in along)))
    print(f"\n{NET_EXPR}, 101,632 parameters, default method and mode ({result.gradients['W1'].notes['numeric']})")
    print(f"  sampled entries     {summary(entries)}   (numeric method: {', '.join(sorted(methods))})")
    print(f"  random directions   {summary(directions)}")


if __name__ == "__main__":
    main()
