"""A PyTorch function's autograd checked as any black box is: check_vjp with numpy on both sides.

What is checked is whatever autograd computes for `fn`: a `torch.autograd.Function`'s backward (its
`.apply` is called), an `nn.Module`'s (its parameters are inputs too, by name: `weight`, `bias`), a
custom op's. The claimed VJP is `torch.autograd.grad(outputs, inputs, grad_outputs=dout)`; the numeric
oracle calls `fn` under `torch.no_grad()` on tensors made from numpy arrays (complex ones under the
complex step: a function torch refuses them for is differenced with real steps instead). Everything
else, the table, kinks, diagnosis, precision and exit code, is check_vjp's.

Which inputs are differentiated: tensors that require grad, when any does (the others, and integer
and boolean tensors, are data); when none does, every floating-point tensor (gradcheck's one rule).
A module's parameters are differentiated unless `requires_grad` is off. bfloat16 tensors, which numpy
cannot hold, are float32 arrays on gradcheck's side: autograd's claim is computed in bfloat16 and judged
by bfloat16's rule (tolerance.BFLOAT16_RTOL), against differences of fn computed in float32 (bfloat16's 8
bits are too few to difference: its step would be a fifth of x, its rounding as large as the slope).

Imported only by gradcheck.torch and `gradcheck torch`: it imports torch.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..base.errors import SpecError
from ..inputs.calling import names_given, parameter_names
from ..inputs.trees import path
from ..verdict.result import CaseResult
from .layers import check_vjp

# The dtypes `dtype=` may cast a check's floating-point tensors (and a module's parameters) to.
DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# torch's intra-op threads while checking (the caller's number is restored after): the differences call fn
# hundreds of times on the user's small inputs, where threads cost more than they share. A (2,2,5,5)
# conv2d took 12.7 ms a call with 2 threads and 0.005 ms with 1 on the loaded 2-core machine.
CHECK_THREADS = 1
# A tree input holding a module's parameters when their names are not Python names (`0.weight`).
PARAMS = "params"


@dataclass(frozen=True)
class Kept:
    """How one input goes back to fn: a tensor of this dtype on this device, or the value as given."""

    tensor: bool
    dtype: Any = None
    device: Any = None


def check(fn: Any, *inputs: Any, wrt: Any = None, data: Any = None, name: str | None = None, dtype: str | None = None,
          **options: Any) -> CaseResult:
    """fn(*inputs) -> a tensor (or a tuple of tensors), its gradient autograd's; see the module's docstring."""
    module = fn if isinstance(fn, torch.nn.Module) else None
    call, label, forward = _callable(fn)
    cast = _dtype(dtype)
    names = _names(forward, len(inputs))
    inputs = tuple(_from_numpy(v) for v in inputs)
    params = {n: p for n, p in module.named_parameters()} if module is not None else {}
    values: dict[str, Any] = {}
    kept: dict[str, Kept] = {}
    for n, v in zip(names, inputs):
        values[n], kept[n] = _numpy(n, v, cast)
    flat = all(n.isidentifier() and n not in values for n in params)
    for n, p in params.items():
        array, kept[n] = _numpy(n, p, cast)
        if flat:
            values[n] = array
        else:
            values.setdefault(PARAMS, {})[n] = array
    chosen = _differentiated(names, inputs, params, flat, wrt, data)
    precision = "bfloat16" if any(k.dtype == torch.bfloat16 for k in kept.values()) else None

    def run(arrays: Mapping[str, Any], grad: tuple[str, ...] = ()) -> tuple[Any, dict[str, torch.Tensor]]:
        """fn at these values; with `grad`, those leaves require grad (and bfloat16 stays bfloat16: the claim's
        precision), without, a bfloat16 input is computed in float32 (the forward numeric differences)."""
        def made(n: str, a: Any) -> Any:
            return _tensor(a, kept[n], wide=not grad)
        tensors = {n: made(n, arrays[n]) for n in names}
        given = {n: made(n, a) for n, a in (arrays.get(PARAMS) or {}).items()} if not flat else \
            {n: made(n, arrays[n]) for n in params}
        stepped = next((t.dtype for t in {**tensors, **given}.values() if isinstance(t, torch.Tensor) and t.is_complex()),
                       None)
        if stepped is not None:  # the complex step moves one input: the others complex too (conv2d and @ mix no dtypes)
            tensors, given = ({n: t.to(stepped) if isinstance(t, torch.Tensor) and t.is_floating_point() else t
                               for n, t in part.items()} for part in (tensors, given))
        leaves = {n: t for n, t in {**tensors, **given}.items() if n in grad}
        for t in leaves.values():
            t.requires_grad_(True)
        args = [tensors[n] for n in names]
        out = call(args, given) if module is not None else call(args, {})
        return out, leaves

    def f(**arrays: Any) -> Any:
        with torch.no_grad(), warnings.catch_warnings():
            # under the complex step, torch casting the step away (a real op on a complex tensor) only warns:
            # made an error, the step is not used (vjp_numeric._checked_complex), as numpy's ComplexWarning is
            warnings.filterwarnings("error", message=".*[Cc]omplex.*")
            out, _ = run(arrays)
        return _outputs(out)

    def vjp(dout: Any, **arrays: Any) -> Any:
        out, leaves = run(arrays, chosen)
        outs = _as_tuple(out)
        if not any(isinstance(o, torch.Tensor) and o.requires_grad for o in outs):
            raise ValueError(f"{label}'s output has no gradient in autograd: it does not depend on "
                             f"{', '.join(chosen)} through torch operations (a .detach(), .numpy() or .item() "
                             "inside it, or an integer output)")
        douts = _as_tuple(dout) if len(outs) > 1 else (dout,)
        grads = torch.autograd.grad(outs, list(leaves.values()),
                                    grad_outputs=[torch.as_tensor(np.asarray(d)).to(o.dtype).to(o.device)
                                                  for d, o in zip(douts, outs)],
                                    allow_unused=True)
        by_name = {n: _array(torch.zeros_like(t) if g is None else g) for (n, t), g in zip(leaves.items(), grads)}
        if flat:
            return by_name
        top = {n: g for n, g in by_name.items() if n in names}
        return {**top, PARAMS: {n: g for n, g in by_name.items() if n in params}}

    paths = [n if flat or n in names else path(PARAMS, (n,)) for n in chosen]
    threads = torch.get_num_threads()
    torch.set_num_threads(CHECK_THREADS)
    try:
        return check_vjp(f, vjp, values, wrt=paths, name=name or label, precision=precision, **options)
    finally:
        torch.set_num_threads(threads)


def seeded(seed: int) -> None:
    """torch's generator seeded, so that a module made by `gradcheck torch` has the same parameters each run."""
    torch.manual_seed(seed)


def made(found: Any, spec: str) -> Any:
    """What `gradcheck torch FILE.py:NAME` names, ready to check: an nn.Module class made with no arguments."""
    if isinstance(found, type) and issubclass(found, torch.nn.Module):
        try:
            return found()
        except Exception as exc:  # noqa: BLE001 - the user's constructor: one line, not a traceback
            raise SpecError(f"{spec}: {found.__name__}() raised {type(exc).__name__}: {exc}; give its arguments as "
                            f"{spec}(4, 8)") from None
    return found


def input_names(fn: Any) -> list[str]:
    """The names fn gives its inputs (a Function's forward without ctx, a module's forward), for `--at`."""
    return parameter_names(_callable(fn)[2])


def _from_numpy(value: Any) -> Any:
    """A numpy array of numbers as a tensor (the command line's --at values); anything else as it is."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return torch.from_numpy(value.copy())
    return value


def _callable(fn: Any) -> tuple[Callable[[list, dict], Any], str, Callable]:
    """How fn is called (args, parameters by name), its name, and the function whose signature names its inputs."""
    if isinstance(fn, type) and issubclass(fn, torch.autograd.Function):
        function: Any = fn  # a Function subclass (Any: mypy sees torch's types only where torch is installed)
        return (lambda args, _: function.apply(*args)), fn.__name__, _without_ctx(function.forward)
    if isinstance(fn, type) and issubclass(fn, torch.nn.Module):
        raise SpecError(f"{fn.__name__} is an nn.Module class: pass a module ({fn.__name__}(...)), whose parameters "
                        "are then checked too")
    if isinstance(fn, torch.nn.Module):
        def module_call(args: list, params: dict) -> Any:
            return torch.func.functional_call(fn, params, tuple(args))
        return module_call, type(fn).__name__, fn.forward
    if not callable(fn):
        raise SpecError(f"gradcheck.torch.check takes a function, a torch.autograd.Function or an nn.Module, got "
                        f"{type(fn).__name__}")
    return (lambda args, _: fn(*args)), getattr(fn, "__name__", "fn"), fn


def _without_ctx(forward: Callable) -> Callable:
    """A Function's forward(ctx, *inputs) as a signature of its inputs (the newer forward(*inputs) as it is)."""
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        return forward
    if parameters and parameters[0].name == "ctx":
        parameters = parameters[1:]

    def inputs(*args: Any) -> None:
        """Only its signature is read."""
    inputs.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return inputs


def _names(forward: Callable, count: int) -> list[str]:
    params = parameter_names(forward)
    return params[:count] if len(params) >= count and all(p.isidentifier() for p in params) else \
        [f"x{i}" for i in range(count)]


def _dtype(dtype: str | None) -> Any:
    if dtype is None:
        return None
    if dtype not in DTYPES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPES)}, got {str(dtype)[:40]!r}")
    return DTYPES[dtype]


def _numpy(name: str, value: Any, cast: Any) -> tuple[Any, Kept]:
    """An input as gradcheck holds it (a numpy array for a tensor) and how it goes back to fn."""
    if not isinstance(value, torch.Tensor):
        return value, Kept(False)
    t = value.detach()
    if cast is not None and t.is_floating_point():
        t = t.to(cast)
    kept = Kept(True, t.dtype, t.device)
    if t.is_complex():
        raise SpecError(f"input {name} is complex ({t.dtype}); gradcheck checks real functions")
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: float32 holds every bfloat16 value exactly
        t = t.to(torch.float32)
    return t.cpu().numpy().copy(), kept


def _differentiated(names: list[str], inputs: tuple, params: Mapping[str, torch.Tensor], flat: bool, wrt: Any,
                    data: Any) -> tuple[str, ...]:
    """The inputs and parameters autograd differentiates (the module's docstring), less `data`; or `wrt`."""
    floating = {n: v for n, v in zip(names, inputs) if isinstance(v, torch.Tensor) and v.is_floating_point()}
    everything = list(floating) + [n for n, p in params.items() if p.is_floating_point()]
    if wrt is not None:
        chosen = names_given(wrt, "wrt", everything, "a floating-point tensor input or parameter")
        return tuple(n for n in everything if n in chosen)
    asked = [n for n, v in floating.items() if v.requires_grad]
    picked = (asked if asked else list(floating)) + [n for n, p in params.items() if p.requires_grad and p.is_floating_point()]
    excluded = names_given(data, "data", everything, "a floating-point tensor input or parameter") if data is not None else []
    picked = [n for n in picked if n not in excluded]
    if not picked:
        kinds = ", ".join(f"{n} is {_kind(v)}" for n, v in zip(names, inputs))
        raise SpecError(f"nothing to differentiate: no input or parameter is a floating-point tensor that requires grad "
                        f"({kinds})")
    return tuple(picked)


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of {str(value.dtype).removeprefix('torch.')}"
    return f"a {type(value).__name__}"


def _tensor(array: Any, kept: Kept, wide: bool = False) -> Any:
    """A numpy value as fn takes it: a fresh tensor in the input's dtype and device (complex under the step);
    wide: bfloat16 as float32, for the forward numeric differences."""
    if not kept.tensor:
        return array
    t = torch.from_numpy(np.array(array))
    dtype = torch.float32 if wide and kept.dtype == torch.bfloat16 else kept.dtype
    if t.is_complex():
        if dtype == torch.float16:  # torch's complex32 is too sparse to rely on: no complex step
            raise TypeError(f"no complex {dtype}")
        return t.to(kept.device)
    return t.to(dtype=dtype, device=kept.device)


def _as_tuple(out: Any) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _outputs(out: Any) -> Any:
    """fn's output(s) as numpy arrays (bfloat16 as float32, which holds it exactly)."""
    if isinstance(out, (tuple, list)):
        return tuple(_array(o) for o in out)
    return _array(out)


def _array(t: Any) -> Any:
    if not isinstance(t, torch.Tensor):
        return t
    t = t.detach()
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)
    return t.cpu().resolve_conj().numpy()
