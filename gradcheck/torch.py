"""gradcheck.torch: PyTorch's autograd checked against gradcheck's numeric oracle (pip install gradcheck[torch]).

    >>> import torch, gradcheck.torch
    >>> result = gradcheck.torch.check(MyFunction, torch.randn(4, 3, dtype=torch.float64, requires_grad=True))

`import gradcheck` never imports this module or torch; importing it imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .verdict.result import CaseResult

__all__ = ["check"]


def check(fn: Any, *inputs: Any, wrt: Any = None, data: Any = None, name: str | None = None, dtype: str | None = None,
          seed: int = 0, rtol: float | None = None, atol: float | None = None, mode: str = "auto", method: str = "auto",
          strict: bool = False, timeout: float | None = None, nondeterminism: float = 0.0,
          retry_at_random: bool = False) -> CaseResult:
    """Check the gradient autograd computes for `fn` against finite differences (or the complex step).

    Args:
        fn: a function of tensors, a `torch.autograd.Function` subclass (its `apply` is called), or an
            `nn.Module` (its parameters are checked too, each by its name: `weight`, `bias`, or
            `params["0.weight"]` for a nested module). Its backward is whatever autograd runs: your
            Function's backward, a custom op's, the built-in ones.
        inputs: fn's arguments. Tensors that require grad are differentiated when any does (the others
            are data); when none does, every floating-point tensor is. Integer and boolean tensors and
            anything else (numbers, tuples) are data, passed as given.
        wrt: the inputs or parameters to differentiate, by name (a name or a list), instead.
        data: floating-point inputs or parameters that are data, by name.
        name: the case's name in reports (default: fn's).
        dtype: "float64", "float32", "float16" or "bfloat16": cast the floating-point inputs and a
            module's parameters first (default: as given). The check is judged in the precision fn
            computes in: float32 with rtol 1e-3, bfloat16 with rtol 0.1, which shows a wrong factor, a
            transpose or a dropped mask but not a 1% error.
        seed, rtol, atol, mode, method, strict, timeout, nondeterminism, retry_at_random: as for
            gradcheck.check_vjp().

    Returns:
        CaseResult: as gradcheck.check_vjp() returns it (columns `numeric` and `claimed`, the claim
        being autograd's); .exit_code is 0 right, 1 wrong, 4 inconclusive.

    Raises:
        FunctionError: fn (or its backward) raised; one line naming the file and line in your code.
        GradcheckError: bad input or options.
    """
    # deferred: torch loads only with a check, not with `import gradcheck.torch` (its help, the docs)
    from .checks.torch_autograd import check as run

    return run(fn, *inputs, wrt=wrt, data=data, name=name, dtype=dtype, seed=seed, rtol=rtol, atol=atol, mode=mode,
               method=method, strict=strict, timeout=timeout, nondeterminism=nondeterminism,
               retry_at_random=retry_at_random)
