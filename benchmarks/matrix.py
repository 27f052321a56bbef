"""Time the matrix checks the documentation quotes (docs/guides/models.md) (in-process, so SymPy's import is counted once, first).

    python benchmarks/matrix.py

- fast mode on a 101,632-parameter two-layer relu net (X 256×784, W1 784×128, W2 128×10);
- full mode on nets where it finishes;
- the symbolic column alone on the 112-parameter net (X 16×10, W1 10×8, W2 8×4).
"""

from __future__ import annotations

import time


import gradcheck
from gradcheck.oracles.symbolic import symbolic
from gradcheck.inputs.problem import Spec, build

EXPR = "softmax_ce(relu(X @ W1) @ W2, y)"
W2_CLAIM = "relu(X @ W1).T @ (softmax(relu(X @ W1) @ W2) - onehot(y, {k})) / {m}"


def net(m: int, n: int, d: int, k: int) -> dict[str, str]:
    labels = ",".join(str(i % k) for i in range(m))
    return {"X": f"randn({m},{n})", "W1": f"randn({n},{d})", "W2": f"randn({d},{k})", "y": f"[{labels}]"}


def timed_check(m: int, n: int, d: int, k: int, mode: str) -> tuple[float, str]:
    start = time.perf_counter()
    result = gradcheck.check(EXPR, at=net(m, n, d, k), wrt="W1,W2", mode=mode,
                             grad={"W2": W2_CLAIM.format(k=k, m=m)})
    return time.perf_counter() - start, result.status


def main() -> None:
    import sympy  # noqa: F401  - import once up front, so no row below pays for it

    print("two-layer relu net softmax_ce(relu(X @ W1) @ W2, y), claimed ∇W2 included; seconds per check")
    for m, n, d, k, mode in [(256, 784, 128, 10, "fast"), (128, 100, 64, 10, "full"), (64, 50, 32, 10, "full"),
                             (32, 20, 16, 10, "full"), (8, 5, 4, 3, "full")]:
        params = n * d + d * k
        seconds, status = timed_check(m, n, d, k, mode)
        print(f"  X {m}x{n}, W1 {n}x{d}, W2 {d}x{k}: {params:>7,} parameters, {mode:<4} mode: "
              f"{seconds:6.2f} s  ({status})")
    problem = build(Spec(EXPR, at=net(16, 10, 8, 4), wrt="W1,W2"))
    start = time.perf_counter()
    columns = symbolic(problem.root, problem.point, problem.wrt)
    seconds = time.perf_counter() - start
    ok = all(c.value is not None for c in columns.values())
    print(f"symbolic column alone, 112-parameter net (X 16x10, W1 10x8, W2 8x4): {seconds:.2f} s "
          f"({'computed' if ok else 'not computed'})")


if __name__ == "__main__":
    main()
