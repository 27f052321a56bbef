"""A JAX function's gradient (a jax.custom_vjp or custom_jvp rule, or JAX's own) checked as any black box
is: check_vjp with numpy on both sides.

The claimed VJP is `jax.vjp(fn, *differentiated)[1](dout)`; the numeric oracle calls fn on arrays made
from numpy (complex ones under the complex step: a function JAX refuses them for is differenced with
real steps instead). Everything else, the table, kinks, diagnosis, precision and exit code, is check_vjp's.

64-bit types: JAX turns float64 into float32 unless `jax_enable_x64` is on. The check turns it on for its
own calls only (`jax.enable_x64`, a context manager), and sets it back after: a float64 input is checked in
float64, a float32 one in float32, and the caller's setting is left as it was.

Which inputs are differentiated: floating-point arrays (gradcheck's one rule), less `data`, or `wrt`.
bfloat16 arrays are float32 on gradcheck's side: JAX's claim is computed in bfloat16 and judged by bfloat16's
rule, against differences of fn computed in float32 (bfloat16's 8 bits are too few to difference).

Imported only by gradcheck.jax and `gradcheck jax`: it imports jax.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.experimental
import jax.numpy as jnp
import numpy as np

from ..base.errors import SpecError
from ..inputs.calling import names_given, parameter_names
from ..verdict.result import CaseResult
from .layers import check_vjp

# 64-bit types for the check's own calls: a context manager, jax.enable_x64 in newer JAX (0.4.3x on), the
# experimental one before.
X64 = jax.enable_x64 if hasattr(jax, "enable_x64") else jax.experimental.enable_x64  # type: ignore[attr-defined]
# The dtypes `dtype=` may cast a check's floating-point arrays to.
DTYPES = {"float64": jnp.float64, "float32": jnp.float32, "bfloat16": jnp.bfloat16}


def check(fn: Callable, *inputs: Any, wrt: Any = None, data: Any = None, name: str | None = None, dtype: str | None = None,
          **options: Any) -> CaseResult:
    """fn(*inputs) -> an array (or a tuple of arrays), its gradient JAX's; see the module's docstring."""
    if not callable(fn):
        raise SpecError(f"gradcheck.jax.check takes a function, got {type(fn).__name__}")
    if dtype is not None and dtype not in DTYPES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPES)}, got {str(dtype)[:40]!r}")
    names = _names(fn, len(inputs))
    values: dict[str, Any] = {}
    dtypes: dict[str, Any] = {}
    with X64(True):
        for n, v in zip(names, inputs):
            values[n], dtypes[n] = _numpy(v, dtype)
    floating = [n for n in names if dtypes[n] is not None and jnp.issubdtype(dtypes[n], jnp.floating)]
    chosen = _chosen(names, floating, wrt, data)
    precision = "bfloat16" if any(dtypes[n] == jnp.bfloat16 for n in names) else None

    def arrays_of(given: Mapping[str, Any], wide: bool = False) -> list[Any]:
        return [_array(given[n], dtypes[n], wide) for n in names]

    def f(**given: Any) -> Any:
        with X64(True):
            return _outputs(fn(*arrays_of(given, wide=True)))

    def vjp(dout: Any, **given: Any) -> Any:
        with X64(True):
            args = arrays_of(given)
            at = [names.index(n) for n in chosen]

            def of_chosen(*moved: Any) -> Any:
                full = list(args)
                for i, m in zip(at, moved):
                    full[i] = m
                out = fn(*full)
                return tuple(out) if isinstance(out, list) else out

            out, pullback = jax.vjp(of_chosen, *[args[i] for i in at])
            outs = out if isinstance(out, tuple) else (out,)
            douts = tuple(dout) if isinstance(out, tuple) else (dout,)
            cotangent = tuple(jnp.asarray(np.asarray(d), dtype=o.dtype) for d, o in zip(douts, outs))
            grads = pullback(cotangent if isinstance(out, tuple) else cotangent[0])
            return {n: _plain(g) for n, g in zip(chosen, grads)}

    return check_vjp(f, vjp, values, wrt=list(chosen), name=name or getattr(fn, "__name__", "fn"), precision=precision,
                     **options)


def seeded(seed: int) -> None:
    """Nothing to seed: JAX's randomness is explicit (the command line's values come from gradcheck's seed)."""


def made(found: Any, spec: str) -> Any:
    """What `gradcheck jax FILE.py:NAME` names, ready to check: the function itself."""
    return found


def input_names(fn: Any) -> list[str]:
    """The names fn gives its inputs (a custom_vjp function's are its wrapped function's), for `--at`."""
    return parameter_names(fn)


def _names(fn: Callable, count: int) -> list[str]:
    params = input_names(fn)
    return params[:count] if len(params) >= count else [f"x{i}" for i in range(count)]


def _numpy(value: Any, dtype: str | None) -> tuple[Any, Any]:
    """An input as gradcheck holds it (a numpy array for an array) and the dtype it goes back to fn in (None: as given)."""
    if isinstance(value, (jax.Array, np.ndarray)) and not isinstance(value, np.ndarray) or \
            isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        array = jnp.asarray(value)
        if dtype is not None and jnp.issubdtype(array.dtype, jnp.floating):
            array = array.astype(DTYPES[dtype])
        kept = array.dtype
        if kept == jnp.bfloat16:  # numpy has no bfloat16: float32 holds every bfloat16 value exactly
            array = array.astype(jnp.float32)
        return np.array(array), kept
    return value, None


def _chosen(names: list[str], floating: list[str], wrt: Any, data: Any) -> tuple[str, ...]:
    if wrt is not None:
        picked = names_given(wrt, "wrt", floating, "a floating-point array input")
        return tuple(n for n in floating if n in picked)
    excluded = names_given(data, "data", names, "an input") if data is not None else []
    chosen = tuple(n for n in floating if n not in excluded)
    if not chosen:
        raise SpecError("nothing to differentiate: no input is a floating-point array (integer and boolean arrays "
                        "are data)")
    return chosen


def _array(value: Any, dtype: Any, wide: bool = False) -> Any:
    """A numpy value as fn takes it: a JAX array in the input's dtype (complex under the step), else as given;
    wide: bfloat16 as float32, for the forward numeric differences."""
    if dtype is None:
        return value
    array = np.asarray(value)
    if array.dtype.kind == "c":
        return jnp.asarray(array)
    return jnp.asarray(array, dtype=jnp.float32 if wide and dtype == jnp.bfloat16 else dtype)


def _outputs(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        return tuple(_plain(o) for o in out)
    return _plain(out)


def _plain(value: Any) -> Any:
    """A JAX array as numpy (bfloat16 as float32, which holds it exactly)."""
    if isinstance(value, jax.Array):
        if value.dtype == jnp.bfloat16:
            value = value.astype(jnp.float32)
        return np.asarray(value)
    return value
