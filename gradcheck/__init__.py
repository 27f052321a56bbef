"""gradcheck: is this gradient right? Symbolic, backprop and finite differences, side by side.

    >>> import gradcheck
    >>> result = gradcheck.check("sigmoid(w0*x0 + w1*x1 + w2)", at="w0=2,w1=-3,w2=-3,x0=-1,x1=-2")
    >>> result.status
    'pass'

Importing this package is cheap: numpy and SymPy are loaded when a check first runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (DomainError, FunctionError, GradcheckError, ParseError, ShapeError, SpecError,
                     ValueSpecError)

if TYPE_CHECKING:
    from .result import CaseResult

__version__ = "0.1.0"
__all__ = ["check", "check_function", "check_vjp", "check_layer", "trace", "GradcheckError", "ParseError", "ValueSpecError", "SpecError",
           "ShapeError", "DomainError", "FunctionError"]


def check(expr: str, at: Any = None, grad: Any = None, let: Any = None, wrt: Any = None, *,
          seed: int = 0, rtol: float | None = None, atol: float | None = None, mode: str = "auto",
          method: str = "auto", dtype: str = "float64", order: int = 1, strict: bool = False,
          timeout: float | None = None, formulas: bool = False, name: str | None = None,
          base: str | Path | None = None, npy_root: str | Path | None = None) -> CaseResult:
    """Check every partial derivative of `expr` three ways, and against any claimed gradient.

    The options after `*` are those of gradcheck.options.Options (documented there; a test keeps
    this signature equal to it). See gradcheck.pipeline.check for at, grad, let, wrt, base and npy_root
    (a folder that .npy paths must resolve inside, as for case files; None: anywhere).
    Imported on first use to keep `import gradcheck` light.
    """
    from .pipeline import check as run

    return run(expr, at=at, grad=grad, let=let, wrt=wrt, name=name, base=base, npy_root=npy_root, seed=seed,
               rtol=rtol, atol=atol,
               mode=mode, method=method, dtype=dtype, order=order, strict=strict, timeout=timeout,
               formulas=formulas)


def check_function(f, grad_f, inputs, **options):
    """See gradcheck.function_check.check_function: your numpy f and backward grad_f, against finite differences."""
    from .function_check import check_function as run

    return run(f, grad_f, inputs, **options)


def check_vjp(f, vjp, inputs, *, wrt=None, **options):
    """See gradcheck.layer_check.check_vjp: f returns arrays, vjp(dout, *inputs) its gradients."""
    from .layer_check import check_vjp as run

    return run(f, vjp, inputs, wrt=wrt, **options)


def check_layer(forward, backward, inputs, *, wrt=None, **options):
    """See gradcheck.layer_check.check_layer: forward(*inputs) -> (out, cache), backward(dout, cache)."""
    from .layer_check import check_layer as run

    return run(forward, backward, inputs, wrt=wrt, **options)


def trace(expr, at=None, let=None, wrt=None, **options):
    """See gradcheck.graph.trace: the computational graph with every node's value and gradient
    (in a notebook, it draws itself when Graphviz is installed)."""
    from .graph import trace as run

    return run(expr, at=at, let=let, wrt=wrt, **options)
