"""gradcheck.jax: JAX's gradients (jax.custom_vjp and custom_jvp rules) checked against gradcheck's numeric
oracle (pip install gradcheck[jax]).

    >>> import gradcheck.jax
    >>> result = gradcheck.jax.check(my_custom_vjp_function, np.random.randn(4, 3))

`import gradcheck` never imports this module or jax; a check imports jax.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .verdict.result import CaseResult

__all__ = ["check"]


def check(fn: Callable[..., Any], *inputs: Any, wrt: Any = None, data: Any = None, name: str | None = None,
          dtype: str | None = None, seed: int = 0, rtol: float | None = None, atol: float | None = None,
          mode: str = "auto", method: str = "auto", strict: bool = False, timeout: float | None = None,
          nondeterminism: float = 0.0, retry_at_random: bool = False) -> CaseResult:
    """Check the gradient JAX computes for `fn` (`jax.vjp`) against finite differences (or the complex step).

    64-bit types are enabled for the check's own calls only (`jax.enable_x64`), so a float64 input is
    checked in float64 whatever the caller's `jax_enable_x64`, which is left as it was.

    Args:
        fn: a function of arrays: a `jax.custom_vjp` or `jax.custom_jvp` function, or any other (JAX's
            own rules are then checked).
        inputs: fn's arguments: numpy or JAX arrays, numbers. Floating-point arrays are differentiated;
            integer and boolean arrays and anything else are data, passed as given.
        wrt: the inputs to differentiate, by name (a name or a list), instead.
        data: floating-point inputs that are data, by name.
        name: the case's name in reports (default: fn's).
        dtype: "float64", "float32" or "bfloat16": cast the floating-point inputs first (default: as
            given). The check is judged in the precision fn computes in (bfloat16: rtol 0.1, which shows
            a wrong factor, a transpose or a dropped mask but not a 1% error).
        seed, rtol, atol, mode, method, strict, timeout, nondeterminism, retry_at_random: as for
            gradcheck.check_vjp().

    Returns:
        CaseResult: as gradcheck.check_vjp() returns it; the claimed column is JAX's.

    Raises:
        FunctionError: fn (or its rule) raised; one line naming the file and line in your code.
        GradcheckError: bad input or options.
    """
    # deferred: jax loads only with a check, not with `import gradcheck.jax` (its help, the docs)
    from .checks.jax_autodiff import check as run

    return run(fn, *inputs, wrt=wrt, data=data, name=name, dtype=dtype, seed=seed, rtol=rtol, atol=atol, mode=mode,
               method=method, strict=strict, timeout=timeout, nondeterminism=nondeterminism,
               retry_at_random=retry_at_random)
