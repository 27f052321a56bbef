"""`gradcheck torch FILE.py:NAME` and `gradcheck jax FILE.py:NAME`: a framework's own gradient (autograd's,
jax.vjp's) of a function in the user's file, checked as `gradcheck vjp` checks a numpy one. torch and jax are
imported only when these commands run (they are optional extras)."""

from __future__ import annotations

import click

from ..base.errors import SpecError
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

# The extras to install, named in the message when the framework is missing.
EXTRAS = {"torch": "pip install 'gradcheck[torch]'", "jax": "pip install 'gradcheck[jax]'"}


def framework_options(dtypes: tuple[str, ...]):
    """The options `gradcheck torch` and `gradcheck jax` share (dtypes: the --dtype choices)."""
    def decorate(command):
        for decorator in reversed([
            click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
                         help="An input, by its parameter name (repeatable): randn(4,3) (differentiated), "
                              "randint(0,10,(4,)) (integer data), 0.5 (a number, passed as it is)."),
            wrt_option, data_option, seed_option, tolerance_options, format_option, declared("mode"), method_option,
            click.option("--dtype", type=click.Choice(list(dtypes)), default="float64", show_default=True,
                         help="The floating-point inputs (and a module's parameters) are made this dtype; the check "
                              "is judged in its precision."),
            click.option("--nondeterminism", type=click.FloatRange(min=0), default=0.0, show_default=True,
                         help="Relative difference allowed between two backward calls."),
            strict_option, timeout_option,
            click.option("--retry-at-random", "retry_at_random", is_flag=True,
                         help="At a kink from ties, check again at a random point nearby."),
            click.option("--show", is_flag=True, help="Also print every gradient in full."),
        ]):
            command = decorator(command)
        return command
    return decorate


@click.command("torch", context_settings=CONTEXT, short_help="Check PyTorch autograd for a function in your file.")
@click.argument("target", metavar="FILE.py:NAME")
@framework_options(("float64", "float32", "float16", "bfloat16"))
def torch_command(target, **options) -> ExitStatus:
    """Check the gradient PyTorch's autograd computes for NAME against finite
    differences (or the complex step). NAME is a torch.autograd.Function
    subclass (its apply is called), an nn.Module class (made with no
    arguments, or NAME(4, 8) with literal ones) or instance (its parameters
    are checked too, by name), or a function of tensors.

    \b
      gradcheck torch fns.py:MyReLU --at x="randn(4,5)"
      gradcheck torch fns.py:Block --at x="randn(3,4)" --dtype float32

    FILE.py is imported (its code runs), as pytest imports a test file.
    Needs torch (pip install 'gradcheck[torch]').

    \b
    Exit codes: 0 right, 1 wrong (the table says how), 2 bad input or
    an error in your code (one line), 3 a bug in gradcheck, 4 inconclusive
    (not accurate enough in this precision to confirm the gradient), 5 a
    broken contract (a gradient of another shape or dtype than its input).
    """
    return _run("torch", target, options)


@click.command("jax", context_settings=CONTEXT, short_help="Check JAX's gradient of a function in your file.")
@click.argument("target", metavar="FILE.py:NAME")
@framework_options(("float64", "float32", "bfloat16"))
def jax_command(target, **options) -> ExitStatus:
    """Check the gradient jax.vjp computes for NAME (a jax.custom_vjp or
    custom_jvp function, or any function of arrays) against finite
    differences (or the complex step), with 64-bit types enabled for the
    check only.

    \b
      gradcheck jax fns.py:clip_gradient --at x="randn(4,5)"

    FILE.py is imported (its code runs), as pytest imports a test file.
    Needs jax (pip install 'gradcheck[jax]').

    \b
    Exit codes: 0 right, 1 wrong (the table says how), 2 bad input or
    an error in your code (one line), 3 a bug in gradcheck, 4 inconclusive
    (not accurate enough in this precision to confirm the gradient), 5 a
    broken contract (a gradient of another shape or dtype than its input).
    """
    return _run("jax", target, options)


def _run(framework: str, target: str, options: dict) -> ExitStatus:
    return finish_one(target, options, lambda given: _check(framework, target, given))


def _check(framework: str, target: str, options: dict):
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..base.budget import budget_seconds, step, time_budget

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..inputs.data import parse_data, split_at

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..inputs.user_code import load_object

    adapter = _adapter(framework)
    with time_budget(budget_seconds(options.get("timeout")), f"importing {target.rpartition(':')[0]}"):
        step("import")
        adapter.seeded(options["seed"])  # a module's parameters are drawn when its class is made
        fn = adapter.made(load_object(target), target)
    given = {name: parse_data(name, text, seed=options["seed"]) for name, text in split_at(list(options.pop("at"))).items()}
    expected = adapter.input_names(fn)
    missing = [n for n in expected[:len(given)] if n not in given]
    unknown = [n for n in given if n not in expected]
    if unknown or missing or not given:
        raise SpecError(f"{target} takes ({', '.join(expected) or '*args'}); --at gives "
                        f"{', '.join(given) or 'nothing'}: give each input by its parameter name")
    inputs = [given[n] for n in expected if n in given]
    wrt, data = options.pop("wrt"), options.pop("data")
    return adapter.check(fn, *inputs, wrt=wrt.split(",") if wrt else None, data=data.split(",") if data else None,
                         **options)


def _adapter(framework: str):
    """The framework's adapter module; its absence is bad input (exit 2) naming the extra to install."""
    try:
        if framework == "torch":
            # deferred: imports torch, an optional extra, only for `gradcheck torch`
            from ..checks import torch_autograd as adapter
        else:
            # deferred: imports jax, an optional extra, only for `gradcheck jax`
            from ..checks import jax_autodiff as adapter  # type: ignore[no-redef]
    except ImportError as exc:
        raise SpecError(f"gradcheck {framework} needs {framework}, which is not installed ({exc}): "
                        f"{EXTRAS[framework]}") from None
    return adapter
