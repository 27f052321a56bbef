"""gradcheck: is this gradient right? Symbolic, backprop and finite differences, side by side.

    >>> import gradcheck
    >>> result = gradcheck.check("sigmoid(w0*x0 + w1*x1 + w2)", at="w0=2,w1=-3,w2=-3,x0=-1,x1=-2")
    >>> result.status
    'pass'

The public API: check (an expression), check_function (your numpy loss and its gradient), check_vjp
(your function with an array output and its vector-Jacobian product), check_layer (a CS231n-style
forward and backward with a cache), check_model (a CS231n-style model: params dict, loss(X, y) ->
(loss, grads)), check_op (a layer or op written as a class: forward/backward, needle's
compute/gradient) and trace (the computational graph, node by node). Each check
returns a CaseResult; bad input raises a GradcheckError.

Importing this package is cheap: numpy and SymPy are loaded when a check first runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Union

from .base.errors import DomainError, FunctionError, GradcheckError, ParseError, ShapeError, SpecError, ValueSpecError
from .base.presentation import install

if TYPE_CHECKING:
    from .teach.trace import Trace, TraceNode
    from .verdict.result import CaseResult, GradientResult, Report

__version__ = "0.3.0"
__all__ = ["check", "check_function", "check_vjp", "check_layer", "check_model", "check_op", "trace", "CaseResult",
           "GradientResult", "Report", "Trace", "TraceNode", "GradcheckError", "ParseError", "ValueSpecError", "SpecError", "ShapeError",
           "DomainError", "FunctionError"]

# Values of variables: "w0=2,x0=-1", several such strings, or a mapping of names to numbers, nested
# lists, numpy arrays, "randn(8,5)" or a .npy path.
Values = Union[str, Iterable[str], Mapping[str, Any], None]
# The variables to differentiate by: "W1,W2" or a list of names (None: all of f's but class labels).
Variables = Union[str, Iterable[str], None]
# The inputs of your own functions: one array, a list of them (f(*inputs)) or a mapping (f(**inputs));
# each may be a structure of dicts, lists and tuples of arrays (a parameter dict).
Inputs = Any
# Inputs named for wrt= or data=: a name, a path into a structure ('params["W1"]'), a position, or a list
# of them (wrt None: every floating-point array; data None: none).
Chosen = Union[str, int, Iterable[Union[str, int]], None]

# The result classes, imported on first use (they bring numpy): gradcheck.CaseResult and so on.
_LAZY = {"CaseResult": "verdict.result", "GradientResult": "verdict.result", "Report": "verdict.result", "Trace": "teach.trace",
         "TraceNode": "teach.trace"}


def _case_text(case: Any) -> str:
    from .render.table import render_text  # deferred: rich, when a result is first shown

    return render_text(case)


def _case_html(case: Any) -> str:
    from .render.html import case_html, fragment  # deferred: rich, when a result is first shown

    return fragment(case_html(case))


def _markdown(text: str) -> str:
    from .render.html import markdown  # deferred: rich, when a result is first shown

    return markdown(text)


def _report_text(report: Any) -> str:
    import io

    from .render.table import render_batch, text_console  # deferred: rich, when a result is first shown

    buffer = io.StringIO()
    render_batch(report, text_console(buffer))
    return buffer.getvalue()


def _report_html(report: Any) -> str:
    from .render.html import fragment, report_sections  # deferred: rich, when a result is first shown

    return fragment(report_sections(report))


def _trace_text(trace: Any) -> str:
    import io

    from .render.graph import render_trace  # deferred: rich, when a trace is first shown
    from .render.table import text_console  # deferred: rich, when a trace is first shown

    buffer = io.StringIO()
    render_trace(trace, text_console(buffer))
    return buffer.getvalue()


def _trace_html(trace: Any) -> str:
    from .render.html import fragment, trace_html  # deferred: rich, when a trace is first shown

    return fragment(trace_html(trace))


def _trace_dot(trace: Any) -> str:
    from .render.dot import to_dot  # deferred: numpy, when a trace is first drawn

    return to_dot(trace)


def _trace_svg(trace: Any, inline: bool = False) -> str:
    from .render.dot import trace_svg  # deferred: numpy, when a trace is first drawn

    return trace_svg(trace, inline)


# Results print themselves through the renderers, which sit above them (docs/architecture.md): the
# views are handed in here, at the top, and import rich only when first used.
install(case_text=_case_text, case_html=_case_html, markdown=_markdown, report_text=_report_text,
        report_html=_report_html, trace_text=_trace_text, trace_html=_trace_html, trace_dot=_trace_dot,
        trace_svg=_trace_svg)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")


def check(expr: str, at: Values = None, grad: Values = None, let: Values = None, wrt: Variables = None, *,
          data: Variables = None, seed: int = 0, rtol: float | None = None, atol: float | None = None, mode: str = "auto",
          method: str = "auto", dtype: str = "float64", order: int = 1, strict: bool = False,
          timeout: float | None = None, formulas: bool = False, name: str | None = None,
          base: str | Path | None = None, npy_root: str | Path | None = None) -> CaseResult:
    """Check every partial derivative of the expression `expr` three ways, and against any claimed gradient.

    Symbolic (SymPy, 30 digits), backprop (gradcheck's own reverse mode) and numeric (the complex step
    or central differences) are computed at one point and compared entry by entry; a claim is a fourth
    column. f must be a scalar; its variables may be scalars or arrays.

    Args:
        expr: f in gradcheck's expression language, e.g. "softmax_ce(relu(X @ W1) @ W2, y)".
        at: the point: "w0=2,x0=-1", or a mapping of names to numbers, nested lists, numpy arrays,
            "randn(8,5)" / "rand(8,5)" (drawn from `seed` and the name) or a .npy path. Variables
            without a value get a random scalar drawn from `seed`.
        grad: claimed gradients, {"w0": "x0*sigmoid(z)*(1-sigmoid(z))"} (or "w0=..." strings), written
            in the same language; they may use the names of `let` and of `at`.
        let: named intermediates, {"z": "w0*x0 + w1*x1 + w2"}, usable in expr and in claims; a later
            one may use earlier ones. They are not variables.
        wrt: the variables to differentiate by ("W1,W2" or a list); default: every variable of f
            except data: class labels and index arrays (never differentiated), arrays given as whole
            numbers ([0, 2, 1], an integer numpy array; wrt may name one) and the names `data` gives.
        data: variables that are data, not differentiated ("mask" or a list).
        seed: seeds the values drawn for variables without one, and fast mode's random probes.
        rtol: relative tolerance (default 1e-5; 1e-3 with dtype="float32").
        atol: absolute tolerance added to the agreement rule (default 0).
        mode: "full" differences every entry, "fast" random directions and sampled entries, "auto"
            full up to 1,000 entries in all and fast above.
        method: "complex" (the complex step), "central", "richardson", or "auto": the complex step for
            each variable whose path to f has complex forms, else central differences.
        dtype: "float64", or "float32" to evaluate f, backprop, claims and differences as a float32
            model would (symbolic stays exact).
        order: 2 also checks the Hessian (SymPy's second derivatives against differences of backprop).
        strict: a kink (f not differentiable at the point) is a failure, not status "kink".
        timeout: the time budget in seconds (default 120; 0 for none); past it a CheckTimeout (an
            input error) names the step that ran out.
        formulas: also derive each gradient's formula (the result's GradientResult.formula and
            .matrix_formula).
        name: the case's name in reports (default: expr).
        base: the folder that .npy paths in `at` are relative to (default: the working directory).
        npy_root: a folder that .npy paths must resolve inside, as for case files from an untrusted
            source (default: anywhere).

    Returns:
        CaseResult: .status ("pass", "mismatch" or "kink"), .exit_code, .gradients (one
        GradientResult per variable), .to_dict() (the JSON document's case); print() shows the table.

    Raises:
        GradcheckError: bad input, as one of its subclasses: ParseError (the text, with its column),
            ValueSpecError (a value), SpecError (an option or name), ShapeError (shapes that do not
            fit), DomainError (f or its derivative undefined at the point), CheckTimeout.
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .checks.expression import check as run

    return run(expr, at=at, grad=grad, let=let, wrt=wrt, data=data, name=name, base=base, npy_root=npy_root, seed=seed,
               rtol=rtol, atol=atol, mode=mode, method=method, dtype=dtype, order=order, strict=strict,
               timeout=timeout, formulas=formulas)


def check_function(f: Callable[..., Any], grad_f: Callable[..., Any] | None, inputs: Inputs, *, wrt: Chosen = None,
                   data: Chosen = None, name: str | None = None, seed: int = 0, rtol: float | None = None, atol: float | None = None,
                   mode: str = "auto", method: str = "auto", strict: bool = False, timeout: float | None = None,
                   nondeterminism: float = 0.0, allow_writes: bool = False, retry_at_random: bool = False,
                   diagnose: bool = True, **unknown: Any) -> CaseResult:
    """Check your own numpy loss and its hand-written gradient against finite differences.

    Args:
        f: the loss, `f(*inputs)` (or `f(**inputs)` for a mapping) returning a scalar.
        grad_f: its gradient, called like f (None: f returns (loss, grads), as CS231n's
            softmax_loss_naive does), returning the gradients of the differentiated inputs: one
            array, a sequence in input order, or a dict keyed by input name (`x` or `dx`); a structured
            input's gradient has its structure (a dict keyed like params). It is the `claimed` column.
        inputs: one array, a list of them (`f(*inputs)`) or a mapping of names (`f(**inputs)`); each may be
            a structure of dicts, lists and tuples (a parameter dict). Floating-point arrays are
            differentiated, wherever they are; everything else (integer labels, boolean masks, Python
            numbers such as reg) is data, passed through untouched. Your arrays are copied, never
            modified. Tensors with .numpy() (needle, PyTorch) are converted to numpy arrays.
        wrt: which inputs to differentiate, by name, path (`'params["W1"]'`) or position (default: every
            floating-point array not named as data); it may name a Python number.
        data: floating-point inputs that are data, not variables (a dropout mask, a loss's X), by name,
            path or position.
        name: the case's name in reports (default: f's name).
        seed, rtol, atol, mode, method, strict, timeout: as for check(). The precision is that of f's
            output (a float32 loss is judged with float32's tolerances).
        nondeterminism: the relative difference allowed between two calls of grad_f (default 0).
        allow_writes: writes into a differentiated input (or dout, or the cache) are noted instead of
            making the status "contract" (exit 5); a wrong gradient is a mismatch either way.
        retry_at_random: at a kink from ties (a maximum over equal entries), check again at a random
            point near the given one (about 1e-3 of the inputs away), where nothing is tied.
        diagnose: say how a wrong gradient is wrong (default). False: the verdict and exit code only,
            without the extra differences a diagnosis takes (a test that reads only the exit code).
        unknown: an option that does not apply here (check's dtype, say) or is mistyped is refused
            with a SpecError that names it.

    Returns:
        CaseResult: its gradients' columns are `numeric` and `claimed`; print() shows the table.

    Raises:
        FunctionError: f or grad_f raised (naming the file and line in your code); chained to it.
        GradcheckError: bad input or options.
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .checks.layers import check_function as run  # deferred: start-up (numpy loads with the first check)

    return run(f, grad_f, inputs, wrt=wrt, data=data, name=name, seed=seed, rtol=rtol, atol=atol, mode=mode, method=method,
               strict=strict, timeout=timeout, nondeterminism=nondeterminism, allow_writes=allow_writes,
               retry_at_random=retry_at_random, diagnose=diagnose,
               **unknown)


def check_vjp(f: Callable[..., Any], vjp: Callable[..., Any], inputs: Inputs, *, wrt: Chosen = None,
              data: Chosen = None, name: str | None = None, seed: int = 0, rtol: float | None = None, atol: float | None = None,
              mode: str = "auto", method: str = "auto", strict: bool = False, timeout: float | None = None,
              nondeterminism: float = 0.0, allow_writes: bool = False, retry_at_random: bool = False,
              diagnose: bool = True, **unknown: Any) -> CaseResult:
    """Check a vector-Jacobian product: f returns arrays, `vjp(dout, *inputs)` the gradients of ⟨dout, f⟩.

    For three random Gaussian douts (sharing each forward pass), every entry of every gradient is
    compared with finite differences of ⟨dout, f(x)⟩ (full mode), or random directions with sampled
    entries (fast mode), by the agreement rule of check(). The backward's contracts are checked too:
    each gradient has its input's shape and dtype, it is linear in dout, two calls agree, and it
    writes to neither dout nor the inputs. Right gradients from a vjp that breaks the first or the last
    of these promises have status "contract" (exit 5), not "mismatch".

    Args:
        f: `f(*inputs)` (or `f(**inputs)`) returning an array, or a tuple of arrays.
        vjp: `vjp(dout, *inputs)` (one dout per output) returning the gradients of the differentiated
            inputs: one array, or a tuple in input order.
        inputs, wrt, data, name, seed, rtol, atol, mode, method, strict, timeout, nondeterminism, allow_writes, retry_at_random, diagnose:
            as for check_function().
        unknown: as for check_function().

    Returns:
        CaseResult: its value is None; .output gives the outputs' dtypes and shapes, .notes the lines
        shown under the table.

    Raises:
        FunctionError: f or vjp raised; chained to it.
        GradcheckError: bad input (a forward that is not deterministic, too).
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .checks.layers import check_vjp as run

    return run(f, vjp, inputs, wrt=wrt, data=data, name=name, seed=seed, rtol=rtol, atol=atol, mode=mode, method=method,
               strict=strict, timeout=timeout, nondeterminism=nondeterminism, allow_writes=allow_writes,
               retry_at_random=retry_at_random, diagnose=diagnose,
               **unknown)


def check_layer(forward: Callable[..., Any], backward: Callable[..., Any], inputs: Inputs, *, wrt: Chosen = None,
                data: Chosen = None, name: str | None = None, seed: int = 0, rtol: float | None = None, atol: float | None = None,
                mode: str = "auto", method: str = "auto", strict: bool = False, timeout: float | None = None,
                nondeterminism: float = 0.0, allow_writes: bool = False, retry_at_random: bool = False,
                diagnose: bool = True, **unknown: Any) -> CaseResult:
    """Check a layer written CS231n style: `forward(*inputs) -> (out, cache)`, `backward(dout, cache) -> grads`.

    A forward returning (out1, out2, ..., cache), as an LSTM step does, has a backward(dout1, dout2,
    ..., cache). Compared and contract-checked as in check_vjp(); a backward that writes to dout or
    the cache fails too.

    Args:
        forward: `forward(*inputs)` (or `forward(**inputs)`) returning (out, cache).
        backward: backward(dout, cache) returning the gradients of the differentiated inputs: one
            array, or a tuple in input order (a tuple over all floating-point inputs is accepted too,
            so `wrt` does not change your backward).
        inputs, wrt, data, name, seed, rtol, atol, mode, method, strict, timeout, nondeterminism, allow_writes, retry_at_random, diagnose:
            as for check_function().
        unknown: as for check_function().

    Returns:
        CaseResult: as check_vjp() returns it.

    Raises:
        FunctionError: forward or backward raised; chained to it.
        GradcheckError: bad input.
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .checks.layers import check_layer as run

    return run(forward, backward, inputs, wrt=wrt, data=data, name=name, seed=seed, rtol=rtol, atol=atol, mode=mode,
               method=method, strict=strict, timeout=timeout, nondeterminism=nondeterminism, allow_writes=allow_writes,
               retry_at_random=retry_at_random, diagnose=diagnose,
               **unknown)


def check_model(model: Any, X: Any, y: Any, *, wrt: Chosen = None, name: str | None = None, seed: int = 0,
                rtol: float | None = None, atol: float | None = None, mode: str = "auto", method: str = "auto",
                strict: bool = False, timeout: float | None = None, nondeterminism: float = 0.0,
                allow_writes: bool = False, diagnose: bool = True, **unknown: Any) -> CaseResult:
    """Check a CS231n-style model: `model.params` a dict of arrays, `model.loss(X, y)` returning `(loss, grads)`.

    Every parameter is differentiated (`params["W1"]`, `params["gamma1"]`, ... in the table), with the
    model's own regularisation (it is part of its loss); X and y are data. Full mode up to 1,000
    parameters in all, fast mode beyond (`mode=` overrides). A gradient missing from grads, or under
    another key, is a claim that does not compute. The model is not changed: the check calls a copy.
    Dropout must draw a fixed mask (a seed, as CS231n's dropout_param["seed"]), or the loss is not a
    function of the parameters and the check says so.

    Args:
        model: the model, with .params and .loss(X, y).
        X, y: a batch and its labels, passed to model.loss as they are.
        wrt: the parameters to check, by key ("W1,W2") or path ('params["W1"]'); default: all of them.
        name, seed, rtol, atol, mode, method, strict, timeout, nondeterminism, allow_writes, diagnose, unknown:
            as for check_function().

    Returns:
        CaseResult: one GradientResult per parameter, keyed 'params["W1"]'; print() shows the table.

    Raises:
        FunctionError: model.loss raised; chained to it.
        GradcheckError: bad input (a model without params or loss, a loss that does not return a pair).
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .checks.model import check_model as run

    return run(model, X, y, wrt=wrt, name=name, seed=seed, rtol=rtol, atol=atol, mode=mode, method=method,
               strict=strict, timeout=timeout, nondeterminism=nondeterminism, allow_writes=allow_writes, diagnose=diagnose,
               **unknown)


def check_op(op: Any, inputs: Inputs, *, wrt: Chosen = None, data: Chosen = None, name: str | None = None,
             seed: int = 0, rtol: float | None = None, atol: float | None = None, mode: str = "auto",
             method: str = "auto", strict: bool = False, timeout: float | None = None, nondeterminism: float = 0.0,
             allow_writes: bool = False, diagnose: bool = True, **unknown: Any) -> CaseResult:
    """Check a layer or an op written as a class (or an object of one), by its methods.

    - `forward(*inputs) -> (out, cache)` and `backward(dout, cache)`: as check_layer.
    - `forward(*inputs) -> out` keeping its state on the object, and `backward(dout)`: each backward is
      called right after a forward at the same inputs.
    - needle's `compute(*arrays)` and `gradient(out_grad, node)`: called as needle calls them, with its
      Tensors where the op's module has needle's Tensor (their `.numpy()` is read), else with arrays
      (`node` is then the output array, with `node.inputs`).

    Args:
        op: the class (made with no arguments) or the object.
        inputs, wrt, data, name, seed, rtol, atol, mode, method, strict, timeout, nondeterminism, allow_writes, diagnose, unknown:
            as for check_function(); inputs are named as forward's (or compute's) parameters.

    Returns:
        CaseResult: as check_vjp() returns it.

    Raises:
        FunctionError: a method raised; chained to it.
        GradcheckError: bad input (an object with neither pair of methods).
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .checks.objects import check_op as run

    return run(op, inputs, wrt=wrt, data=data, name=name, seed=seed, rtol=rtol, atol=atol, mode=mode, method=method,
               strict=strict, timeout=timeout, nondeterminism=nondeterminism, allow_writes=allow_writes, diagnose=diagnose,
               **unknown)


def trace(expr: str, at: Values = None, let: Values = None, wrt: Variables = None, *, seed: int = 0,
          base: str | Path | None = None) -> Trace:
    """The computational graph of `expr` at a point: every node's value, gradient and local gradients.

    Args:
        expr, at, let, wrt, seed, base: as for check().

    Returns:
        Trace: .nodes in evaluation order (each a TraceNode with its value, ∂f/∂node, and what it
        sends back to each input), .dot() (Graphviz), .svg(), .to_dict(); print() shows the table and
        in a notebook it draws the graph.

    Raises:
        GradcheckError: bad input, as for check().
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from .teach.trace import trace as run

    return run(expr, at=at, let=let, wrt=wrt, seed=seed, base=base)
