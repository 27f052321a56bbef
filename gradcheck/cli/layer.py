"""`gradcheck layer`, `gradcheck vjp` and `gradcheck loss`: a user's own forward and backward (or a class
with both, or a loss and its gradient), from their Python file."""

from __future__ import annotations

import click

from ..base.errors import GradcheckError
from ..base.status import ExitStatus
from .common import (
    CONTEXT,
    data_option,
    declared,
    finish_one,
    format_option,
    method_option,
    seed_option,
    strict_option,
    timeout_option,
    tolerance_options,
    wrt_option,
)


def layer_options(command):
    """The options `gradcheck layer` and `gradcheck vjp` share."""
    for decorator in reversed([
        click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
                     help="An input of the functions, by their parameter name (repeatable): randn(4,3,5), "
                          "[[1,2],[3,4]] or a .npy path (differentiated), randint(0,10,(4,)) or [0,2,1] "
                          "(integer data), 0.5 (a number, passed as it is), {\"stride\": 2, \"pad\": 1} (a dict)."),
        wrt_option, data_option, seed_option, tolerance_options, format_option,
        declared("mode"), method_option,
        # not Options' --dtype: a layer's dtype is the arrays it is given (float16 too), not a precision
        # gradcheck evaluates an expression in
        click.option("--dtype", type=click.Choice(["float64", "float32", "float16"]), default="float64",
                     show_default=True, help="The floating-point arrays given with --at are made this dtype "
                                             "(a float32 layer is checked in float32)."),
        click.option("--nondeterminism", type=click.FloatRange(min=0), default=0.0, show_default=True,
                     help="Relative difference allowed between two calls of the backward."),
        click.option("--allow-writes", is_flag=True,
                     help="Writes into an input, dout or the cache are noted, not a broken contract (exit 5)."),
        strict_option, timeout_option,
        click.option("--retry-at-random", "retry_at_random", is_flag=True,
                     help="At a kink from ties (a maximum over equal entries), check again at a random point "
                          "about 1e-3 of the inputs away, where nothing is tied."),
        click.option("--no-diagnosis", "diagnose", flag_value=False, default=True,
                     help="The verdict and exit code only: a wrong gradient is not diagnosed (no extra differences)."),
        click.option("--show", is_flag=True, help="Also print every gradient in full."),
    ]):
        command = decorator(command)
    return command


@click.command("layer", context_settings=CONTEXT, short_help="Check a layer's forward and backward in your Python file.")
@click.argument("forward", metavar="FILE.py:FORWARD")
@click.argument("backward", metavar="[FILE.py:BACKWARD]", required=False)
@layer_options
def layer_command(forward, backward, **options) -> ExitStatus:
    """Check a layer's backward, CS231n style: FORWARD(*inputs) returns (out, cache) and
    BACKWARD(dout, cache) the gradients of the floating-point inputs, in order.

    \b
      gradcheck layer layers.py:conv_forward layers.py:conv_backward \\
          --at x="randn(4,3,5,5)" --at w="randn(2,3,3,3)" --at b="randn(2)" \\
          --at conv_param='{"stride": 2, "pad": 1}'

    A class alone checks its methods: forward/backward (backward(dout, cache), or backward(dout) after
    forward stored what it needs), or needle's compute/gradient (ops.py:MulScalar(2.0) passes literal
    arguments to the class).

    \b
      gradcheck layer ops.py:EWiseMul --at a="randn(3,4)" --at b="randn(3,4)"

    FILE.py is imported (its code runs), as pytest imports a test file. Exit codes: 0 right, 1 wrong, 2 bad input,
    4 inconclusive (nothing accurate enough to confirm a claim),
    5 right gradients from a backward that writes into its inputs, dout or the cache (--allow-writes allows it).
    """
    return run_functions("layer", forward, backward, options)


@click.command("vjp", context_settings=CONTEXT, short_help="Check a vector-Jacobian product in your Python file.")
@click.argument("f", metavar="FILE.py:F")
@click.argument("vjp", metavar="FILE.py:VJP")
@layer_options
def vjp_command(f, vjp, **options) -> ExitStatus:
    """Check a vector-Jacobian product: F(*inputs) returns an array and VJP(dout, *inputs) the gradients of
    ⟨dout, F⟩ with respect to the floating-point inputs, in order.

    FILE.py is imported (its code runs), as pytest imports a test file. Exit codes: 0 right, 1 wrong, 2 bad input,
    4 inconclusive (nothing accurate enough to confirm a claim),
    5 right gradients from code that writes into its inputs or dout (--allow-writes allows it).
    """
    return run_functions("vjp", f, vjp, options)


@click.command("loss", context_settings=CONTEXT, short_help="Check a loss and its gradient in your Python file.")
@click.argument("loss", metavar="FILE.py:LOSS")
@click.argument("grad", metavar="[FILE.py:GRAD]", required=False)
@layer_options
def loss_command(loss, grad, **options) -> ExitStatus:
    """Check a scalar loss and its gradient: LOSS(*inputs) returns a number and GRAD(*inputs) the gradients
    of the floating-point inputs (in order, or a dict keyed by name). Without GRAD, LOSS returns (loss,
    grads), as CS231n's softmax_loss_naive(W, X, y, reg) does.

    \b
      gradcheck loss softmax.py:softmax_loss_naive \\
          --at W="randn(3073,10)*0.0001" --at X="randn(500,3073)" \\
          --at y="randint(0,10,(500,))" \\
          --at reg=0.000005 --data X

    FILE.py is imported (its code runs), as pytest imports a test file. Exit codes: 0 right, 1 wrong, 2 bad input,
    4 inconclusive (nothing accurate enough to confirm a claim),
    5 right gradients from code that writes into its inputs (--allow-writes allows it).
    """
    return run_functions("loss", loss, grad, options)


def run_functions(kind: str, first: str, second: str | None, options: dict) -> ExitStatus:
    """`gradcheck layer` and `gradcheck vjp`: import the user's functions, check, print, exit."""
    return finish_one(f"{first} {second or ''}".strip(), options,
                      lambda given: _check_functions(kind, first, second, given))


def _check_functions(kind: str, first: str, second: str | None, options: dict):
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..base.budget import budget_seconds, step, time_budget

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..checks.layers import check_function, check_layer, check_vjp

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..checks.objects import check_op

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..inputs.data import as_dtype, parse_data, split_at

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..inputs.user_code import load_function, load_object

    # importing runs the user's module: bounded by the same budget as the check (a loop at import)
    with time_budget(budget_seconds(options.get("timeout")), f"importing {first.rpartition(':')[0]}"):
        step("import")
        f = load_object(first) if second is None else load_function(first)
        g = load_function(second) if second is not None else None
    dtype = options.pop("dtype")
    inputs = {name: as_dtype(parse_data(name, text, seed=options["seed"]), dtype)
              for name, text in split_at(list(options.pop("at"))).items()}
    wrt, data = options.pop("wrt"), options.pop("data")
    chosen = {"wrt": wrt.split(",") if wrt else None, "data": data.split(",") if data else None}
    if g is None and kind == "loss":  # LOSS alone returns (loss, grads)
        _check_parameters(f, first, inputs)
        return check_function(f, None, inputs, **chosen, **options)
    if g is None:  # a class whose methods are the layer
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..inputs.calling import call

        _method_of(f, first)  # the methods first: a class without them is not made at all
        f = call(f"{first.rpartition(':')[2]}()", f) if isinstance(f, type) else f  # a class: made with no arguments
        _check_parameters(_method_of(f, first), first, inputs)
        return check_op(f, _in_parameter_order(_method_of(f, first), inputs), **chosen, **options)
    _check_parameters(f, first, inputs)
    if kind == "layer":
        return check_layer(f, g, inputs, **chosen, **options)
    if kind == "loss":
        return check_function(f, g, inputs, **chosen, **options)
    return check_vjp(f, g, _in_parameter_order(f, inputs), **chosen, **options)


def _method_of(op, spec: str):
    """The method whose parameters --at names: a class's forward, or needle's compute."""
    for method in ("compute", "forward"):
        found = getattr(op, method, None)
        if callable(found):
            return found
    raise GradcheckError(f"{spec} is a {'class' if isinstance(op, type) else type(op).__name__} without forward and "
                         "backward (or compute and gradient) methods; a function layer needs FILE.py:BACKWARD too")


def _in_parameter_order(f, inputs: dict):
    """The --at values as a list in F's parameter order when they are exactly F's leading positional
    parameters, so that VJP is called as VJP(dout, *inputs), as documented, whatever VJP names its own
    parameters (`def matmul_vjp(g, a, b)` for `def f(x, w)`); otherwise by name, as given."""
    import inspect

    try:
        parameters = list(inspect.signature(f).parameters.values())[:len(inputs)]
    except (TypeError, ValueError):
        return inputs
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in parameters if p.kind in positional]
    if len(names) != len(inputs) or set(names) != set(inputs):
        return inputs
    return [inputs[name] for name in names]


def _check_parameters(f, spec: str, inputs: dict) -> None:
    """Every input --at gives is a parameter of f, and every parameter without a default has a value."""
    import inspect

    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(**inputs)
    except TypeError as exc:
        params = ", ".join(signature.parameters)
        raise GradcheckError(f"{spec} takes ({params}); the --at values do not fit: {exc}") from None
