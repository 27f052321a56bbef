"""The command line: a thin layer over the library. It alone prints errors and decides exit codes.

Only click is imported at start-up; numpy, SymPy and rich load when a command needs them, so
`gradcheck --help` stays quick.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import GradcheckError, RuleError, Terminated
from .status import ExitStatus
from .options import MAX_TIMEOUT, Options  # plain Python: no numpy at start-up

OPTION_FIELDS = {f.name: f for f in dataclasses.fields(Options)}

CONTEXT = {"help_option_names": ["--help"], "max_content_width": 100}
# What a mistyped option looks like, as opposed to an expression such as "-x" or "---x".
OPTION_LIKE = re.compile(r"--[A-Za-z][A-Za-z0-9-]*\Z")

# Each option is declared once and shared by the commands that take it (as pip-tools does).
at_option = click.option("--at", "at", multiple=True, metavar="NAME=VALUE[,...]",
                         help="Values of the variables, e.g. --at w0=2,x0=-1 (repeatable). "
                              "A value may be a constant expression: -pi/4, 1/3. "
                              "Variables without one get seeded random values.")
let_option = click.option("--let", "lets", multiple=True, metavar="NAME=EXPR",
                          help="Name an intermediate, e.g. --let z='w0*x0+w1*x1+w2' (repeatable; "
                               "a later one may use earlier ones).")
grad_option = click.option("--grad", "grads", multiple=True, metavar="VAR=EXPR",
                           help="Your hand-derived ∂f/∂VAR, checked as a fourth column (repeatable).")
wrt_option = click.option("--wrt", metavar="VAR[,...]", help="Differentiate by these variables only.")
format_option = click.option("--format", "output_format", type=click.Choice(["table", "json"]),
                             default="table", show_default=True,
                             help="table for people, json for programs (its schema: the documentation's JSON page).")
html_option = click.option("--html", "html_file", type=click.Path(dir_okay=False), metavar="FILE",
                           help="Also write a self-contained HTML report (tables, verdicts, diagnoses) to FILE.")


def declared(name: str, *flags: str):
    """The click option of one field of gradcheck.options.Options: its type, choices, default and
    help all come from that declaration."""
    f = OPTION_FIELDS[name]
    meta = f.metadata
    kind: Any
    flags = flags or (f"--{name}",)
    if meta["flag"]:
        return click.option(*flags, name, is_flag=True, default=f.default, help=meta["help"])
    if meta["choices"] and meta["kind"] is int:
        kind = click.IntRange(min(meta["choices"]), max(meta["choices"]))
    elif meta["choices"]:
        kind = click.Choice(meta["choices"])
    elif name == "seed":
        kind = click.IntRange(min=0)
    elif name == "timeout":
        kind = click.FloatRange(min=0, max=MAX_TIMEOUT)  # 0: no budget
    else:
        kind = meta["kind"]
    return click.option(*flags, name, type=kind, default=f.default, show_default=f.default is not None,
                        metavar="SECONDS" if name == "timeout" else None, help=meta["help"])


def options_of(**params) -> dict:
    """The Options fields among a command's parameters, as keywords for the library."""
    return {name: value for name, value in params.items() if name in OPTION_FIELDS}


seed_option = declared("seed")
method_option = declared("method")
timeout_option = declared("timeout")
strict_option = declared("strict")


def tolerance_options(command):
    return declared("rtol")(declared("atol")(command))


class Main(click.Group):
    """The command group; it alone exits, with the code the command returned. Ctrl-C exits 130 and
    SIGTERM 143, each with one line, after the -j workers and any partial output file are cleaned up
    (click's own handling prints "Aborted!" and exits 1, the code of a mismatch)."""

    def invoke(self, ctx: click.Context):
        import signal
        import threading

        def terminate(signum, frame):
            raise Terminated()

        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
        try:
            code = super().invoke(ctx)
        except RuleError as exc:
            report_line(f"internal error (a bug in gradcheck; please report it): {exc}")
            code = ExitStatus.INTERNAL_ERROR
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own: usage errors (exit 2) and --help, printed by click
        except GradcheckError as exc:  # bad input a command did not catch itself: still one line and exit 2
            report_error(exc)
            code = ExitStatus.INPUT_ERROR
        except Exception as exc:  # noqa: BLE001 - anything unexpected is a bug: one line and exit 3, never a traceback
            report_line(f"internal error (a bug in gradcheck; please report it): {type(exc).__name__}: {exc}")
            code = ExitStatus.INTERNAL_ERROR
        except KeyboardInterrupt:
            report_line("interrupted (Ctrl-C)")
            code = ExitStatus.INTERRUPTED
        except Terminated:
            report_line("terminated (SIGTERM)")
            code = ExitStatus.TERMINATED
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
        code = int(code or ExitStatus.OK)
        if _own_process():
            _leave(code)
        sys.exit(code)


def _own_process() -> bool:
    """The console script on its own: not under a test runner (which swaps the streams), a profiler
    or a coverage tracer (which write their results at exit)."""
    return (sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__
            and sys.getprofile() is None and sys.gettrace() is None)


def _leave(code: int) -> None:
    """End the process once every output is flushed and closed, skipping the interpreter's teardown:
    with SymPy loaded that teardown took 585 ms on the loaded 2-core machine, 31 ms with os._exit
    (medians of 8, benchmarks/teardown.py). Files we write are closed by then (write_atomically)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader that left early (| head), or a closed stream
            pass
    os._exit(code)


@click.group(cls=Main, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="gradcheck")
def main() -> None:
    """Is this gradient right? gradcheck computes every partial derivative of an expression
    three independent ways (SymPy, its own backprop, finite differences) and compares them
    with each other and with the gradient you derived.

    \b
      gradcheck eval "sigmoid(w0*x0 + w1*x1 + w2)" --at w0=2,w1=-3,w2=-3,x0=-1,x1=-2
      gradcheck check expressions/
      gradcheck layer layers.py:affine_forward layers.py:affine_backward --at x="randn(4,5)" ...
      gradcheck COMMAND --help

    Exit codes: 0 all gradients agree, 1 a mismatch, 2 bad input, 3 an internal error,
    4 inconclusive (nothing accurate enough to confirm a claim), 130 and 143 interrupted.
    """


class ExpressionCommand(click.Command):
    """A command whose argument may start with '-' ("-x*y") while a mistyped --option is still an error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = {name for param in self.get_params(ctx) for name in param.opts + param.secondary_opts}
        for arg in args:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if OPTION_LIKE.match(name) and name not in known:
                # 0.65, not difflib's 0.6: --x would otherwise be taken for a typo of --latex
                if difflib.get_close_matches(name, known, cutoff=0.65):
                    raise click.NoSuchOption(name, possibilities=sorted(known), ctx=ctx)
                raise click.NoSuchOption(name, ctx=ctx, message=(
                    f"No such option: {name} (an expression that starts with '--' goes after a lone "
                    f"'--': gradcheck eval -- '{arg}')"))
        return super().parse_args(ctx, args)


@main.command("eval", cls=ExpressionCommand, short_help="Check the gradient of an expression at one point.",
              context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("expr")
@at_option
@let_option
@grad_option
@wrt_option
@seed_option
@tolerance_options
@format_option
@declared("mode")
@method_option
@strict_option
@timeout_option
@declared("dtype")
@declared("order")
@click.option("--show", is_flag=True, help="Also print every gradient in full.")
@declared("formulas")
@html_option
@click.option("--latex", "latex", is_flag=True, help="Also print the checked gradient formulas as LaTeX.")
@click.option("--emit", "emit", type=click.Choice(["numpy"]),
              help="Print a self-contained numpy function computing f and its gradient (from the checked "
                   "matrix formulas) instead of the table.")
def eval_command(expr, at, lets, grads, wrt, output_format, show, html_file, emit, latex, **params) -> ExitStatus:
    """Check the gradient of EXPR at one point.

    EXPR uses + - * / ** (or ^), parentheses, numbers, pi, e and the functions listed by
    `gradcheck functions`. An EXPR that starts with '-' works as it is: gradcheck eval "-x*y".
    """
    from .pipeline import check, error_result
    from .result import Report

    clash = _output_clash(output_format, html_file, emit, latex)
    if clash:
        report_line(clash)
        return ExitStatus.INPUT_ERROR
    if emit or latex:
        params["formulas"] = True
    try:
        result = check(expr, at=list(at), grad=list(grads), let=list(lets), wrt=wrt, **options_of(**params))
        if emit and result.status != "error":
            from .emit_numpy import emit_for
            from .problem import build

            problem = build(expr, at=list(at), let=list(lets), wrt=wrt, seed=params["seed"])
            click.echo(emit_for(problem, result.gradients), nl=False)
            return result.exit_code
        if latex and result.status != "error":
            from .emit_numpy import formula_terms
            from .problem import build
            from .render.escape import visible
            from .render.latex import equations

            problem = build(expr, at=list(at), let=list(lets), wrt=wrt, seed=params["seed"])
            code = finish(Report([result]), output_format, show, html_file=html_file, command="eval")
            withheld = {n: g.matrix_note or "no formula" for n, g in result.gradients.items() if g.matrix_formula is None}
            click.echo(visible(equations(formula_terms(problem, result.gradients), withheld), multiline=True), nl=False)
            return code
    except GradcheckError as exc:
        report_error(exc)
        result = error_result(expr, exc, seed=params["seed"])
    return finish(Report([result]), output_format, show, html_file=html_file, command="eval")


def _output_clash(output_format: str, html_file: str | None, emit: str | None, latex: bool) -> str | None:
    """Outputs of eval that cannot go together: --emit numpy prints code instead of the table (a JSON
    document or an HTML report asked for as well was silently not made), and --latex appends LaTeX to
    stdout (after a JSON document, which it made invalid)."""
    if emit and (output_format == "json" or html_file or latex):
        other = "--format json" if output_format == "json" else "--html" if html_file else "--latex"
        return f"--emit numpy prints a numpy function instead of the table, so it cannot go with {other}"
    if latex and output_format == "json":
        return ("--latex prints LaTeX after the table, so it cannot go with --format json "
                "(the JSON holds each formula as matrix_formula)")
    return None


@main.command("check", context_settings=CONTEXT, short_help="Check every [[case]] of TOML case files.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-k", "pattern", metavar="PATTERN", help="Only cases whose name contains PATTERN (or matches it as a glob).")
@click.option("-x", "--exitfirst", is_flag=True, help="Stop at the first case that is not as expected.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Check cases in this many processes (at most the number of cores, unless --force-jobs).")
@click.option("--force-jobs", is_flag=True, help="Allow -j above the number of cores.")
@format_option
@click.option("--junit", "junit", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write JUnit XML (one testcase per case) to FILE.")
@strict_option
@timeout_option
@tolerance_options
@click.option("--locked", is_flag=True,
              help="For graders: case files may only tighten the run's rtol, atol and --timeout (no timeout 0, "
                   "no float32), and may not set expect; a case that tries is an input error.")
@click.option("--run-timeout", "run_timeout", type=click.FloatRange(min=0, max=MAX_TIMEOUT, min_open=True),
              default=None, metavar="SECONDS",
              help="Time budget of the whole run; cases it leaves unfinished end as timeout errors (exit 2).")
@click.option("--show", is_flag=True, help="Print every case's table, not only those not as expected.")
@click.option("--root", "root", type=click.Path(exists=True, file_okay=False), default=None, metavar="DIR",
              help="Case files found through links, and .npy paths in case files, must resolve inside DIR "
                   "(default: the working directory).")
@html_option
def check_command(paths, pattern, exitfirst, jobs, force_jobs, output_format, junit, strict, timeout, rtol, atol,
                  locked, run_timeout, show, root, html_file) -> ExitStatus:
    """Check every [[case]] in TOML files (directories are searched for *.toml).

    Exit codes: 0 every case as expected, 1 a case not as expected, 2 an input error, 3 an internal error,
    4 inconclusive (the most serious outcome of any case).
    """
    from .batch import run_all
    from .cases import discover, load, select
    from .grading import RunOptions, apply
    from .result import Report

    root_dir = Path(root) if root else None
    files, missing = discover(list(paths), root_dir)
    specs = select(missing + [spec for path in files for spec in load(path, root_dir)], pattern)
    apply(specs, RunOptions(strict=strict, timeout=timeout, rtol=rtol, atol=atol, locked=locked,
                            run_timeout=run_timeout))
    if not specs:
        report_line(f"no cases found in {' '.join(paths)}" + (f" matching -k {pattern!r}" if pattern else ""))
        return ExitStatus.INPUT_ERROR
    cores = os.cpu_count() or 1
    if jobs > cores and not force_jobs:  # each worker loads SymPy (~100 MB): -j 1000 would exhaust memory
        click.echo(f"gradcheck: note: -j {jobs} capped at {cores}, the number of cores (--force-jobs to "
                   "override)", err=True)
        jobs = cores
    bar = None
    if output_format == "table":  # rich only for the table: JSON and JUnit runs never import it
        from .render.table import progress

        bar = progress(len(specs))
    if bar is None:
        results = run_all(specs, jobs=jobs, exitfirst=exitfirst)
    else:
        with bar:
            task = bar.add_task("checking", total=len(specs))
            results = run_all(specs, jobs=jobs, exitfirst=exitfirst, advance=lambda: bar.advance(task))
    for result in results:
        if result.status == "error":
            report_line(result.verdict)
    report = Report(results)
    if junit:
        from .render.junit import render_junit

        try:
            from .render.html import write_atomically  # a temporary file and a rename: never half a report

            write_atomically(junit, render_junit(report))
        except OSError as exc:
            report_line(f"cannot write --junit {junit}: {exc.strerror}")
            return ExitStatus.INPUT_ERROR
    return finish(report, output_format, show, batch=True, html_file=html_file, command="check")


@main.command("trace", cls=ExpressionCommand, short_help="Show the computational graph, node by node.",
              context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("expr")
@at_option
@let_option
@wrt_option
@seed_option
@click.option("--dot", "dot_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the graph as Graphviz DOT (values in green, gradients in red).")
@click.option("--svg", "svg_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Draw the graph as SVG (Graphviz's layout when its dot is installed, else gradcheck's own).")
@click.option("--png", "png_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Render the graph to PNG (needs Graphviz's dot).")
@format_option
@click.option("--show", is_flag=True, help="Also print array values and gradients in full.")
@html_option
def trace_command(expr, at, lets, wrt, seed, dot_file, svg_file, png_file, output_format, show,
                  html_file) -> ExitStatus:
    """Show EXPR's computational graph: every node's value, gradient and local gradients."""
    from .graph import render, trace

    try:
        result = trace(expr, at=list(at), let=list(lets), wrt=wrt, seed=seed)
    except GradcheckError as exc:
        report_error(exc)
        return ExitStatus.INPUT_ERROR
    for path, fmt in ((dot_file, "dot"), (svg_file, "svg"), (png_file, "png")):
        if not path:
            continue
        try:
            if fmt == "dot":
                Path(path).write_text(result.dot(), encoding="utf-8")
            elif fmt == "svg":  # Graphviz's layout when installed, else gradcheck's own
                Path(path).write_text(result.svg(), encoding="utf-8")
            elif not shutil.which("dot"):
                report_line(f"--{fmt} needs Graphviz's dot, which is not installed (apt-get install graphviz, "
                            "brew install graphviz); --dot FILE writes the graph for rendering elsewhere")
                return ExitStatus.INPUT_ERROR
            else:
                Path(path).write_bytes(render(result.dot(), fmt))
        except (OSError, RuntimeError) as exc:
            report_line(f"cannot write --{fmt} {path}: {getattr(exc, 'strerror', None) or exc}")
            return ExitStatus.INPUT_ERROR
    if html_file:
        from .render.html import trace_page

        if not write_html(html_file, lambda: trace_page(result, show)):
            return ExitStatus.INPUT_ERROR
    if output_format == "json":
        import json

        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from .render.table import console
        from .render.graph import render_trace

        render_trace(result, console(), show)
    return ExitStatus.OK


@main.command("explain", cls=ExpressionCommand, short_help="Write out the backward pass down to one variable.",
              context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("expr")
@click.option("--wrt", required=True, metavar="VAR", help="The variable whose gradient is derived.")
@at_option
@let_option
@seed_option
def explain_command(expr, wrt, at, lets, seed) -> ExitStatus:
    """Write out the backward pass of EXPR down to one variable, rule by rule, ending at its formula."""
    from .explain import explain

    try:
        result = explain(expr, wrt, at=list(at), let=list(lets), seed=seed)
    except GradcheckError as exc:
        report_error(exc)
        return ExitStatus.INPUT_ERROR
    from .render.explain import render_explanation
    from .render.table import console

    render_explanation(result, console())
    return ExitStatus.OK if result.formula is not None else ExitStatus.MISMATCH


def layer_options(command):
    """The options `gradcheck layer` and `gradcheck vjp` share."""
    for decorator in reversed([
        click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
                     help="An input of the functions, by their parameter name (repeatable): randn(4,3,5), "
                          "[[1,2],[3,4]] or a .npy path (differentiated), randint(0,10,(4,)) or [0,2,1] "
                          "(integer data), 0.5 (a number, passed as it is), {\"stride\": 2, \"pad\": 1} (a dict)."),
        wrt_option, seed_option, tolerance_options, format_option,
        click.option("--mode", type=click.Choice(["auto", "full", "fast"]), default="auto", show_default=True,
                     help="Every entry (full), random directions and entries (fast), or by size (auto)."),
        method_option,
        click.option("--dtype", type=click.Choice(["float64", "float32", "float16"]), default="float64",
                     show_default=True, help="The floating-point arrays given with --at are made this dtype "
                                             "(a float32 layer is checked in float32)."),
        click.option("--nondeterminism", type=click.FloatRange(min=0), default=0.0, show_default=True,
                     help="Relative difference allowed between two calls of the backward."),
        strict_option, timeout_option,
        click.option("--show", is_flag=True, help="Also print every gradient in full."),
    ]):
        command = decorator(command)
    return command


@main.command("layer", context_settings=CONTEXT, short_help="Check a layer's forward and backward in your Python file.")
@click.argument("forward", metavar="FILE.py:FORWARD")
@click.argument("backward", metavar="FILE.py:BACKWARD")
@layer_options
def layer_command(forward, backward, **options) -> ExitStatus:
    """Check a layer's backward, CS231n style: FORWARD(*inputs) returns (out, cache) and
    BACKWARD(dout, cache) the gradients of the floating-point inputs, in order.

    \b
      gradcheck layer layers.py:conv_forward layers.py:conv_backward \\
          --at x="randn(4,3,5,5)" --at w="randn(2,3,3,3)" --at b="randn(2)" --at conv_param='{"stride": 2, "pad": 1}'

    FILE.py is imported (its code runs), as pytest imports a test file. Exit codes: 0 right, 1 wrong, 2 bad input.
    """
    return run_functions("layer", forward, backward, options)


@main.command("vjp", context_settings=CONTEXT, short_help="Check a vector-Jacobian product in your Python file.")
@click.argument("f", metavar="FILE.py:F")
@click.argument("vjp", metavar="FILE.py:VJP")
@layer_options
def vjp_command(f, vjp, **options) -> ExitStatus:
    """Check a vector-Jacobian product: F(*inputs) returns an array and VJP(dout, *inputs) the gradients of
    ⟨dout, F⟩ with respect to the floating-point inputs, in order.

    FILE.py is imported (its code runs), as pytest imports a test file. Exit codes: 0 right, 1 wrong, 2 bad input.
    """
    return run_functions("vjp", f, vjp, options)


def run_functions(kind: str, first: str, second: str, options: dict) -> ExitStatus:
    """`gradcheck layer` and `gradcheck vjp`: import the user's functions, check, print, exit."""
    from .pipeline import error_result
    from .result import Report

    output_format, show = options.pop("output_format"), options.pop("show")
    seed = options["seed"]
    try:
        result = _check_functions(kind, first, second, options)
    except GradcheckError as exc:
        report_error(exc)
        result = error_result(f"{first} {second}", exc, seed=seed)
    return finish(Report([result]), output_format, show)


def _check_functions(kind: str, first: str, second: str, options: dict):
    from .data_values import as_dtype, parse_data, split_at
    from .layer_check import check_layer, check_vjp
    from .user_code import load_function

    from .budget import budget_seconds, step, time_budget

    # importing runs the user's module: bounded by the same budget as the check (a loop at import)
    with time_budget(budget_seconds(options.get("timeout")), f"importing {first.rpartition(':')[0]}"):
        step("import")
        f, g = load_function(first), load_function(second)
    dtype = options.pop("dtype")
    inputs = {name: as_dtype(parse_data(name, text, seed=options["seed"]), dtype)
              for name, text in split_at(list(options.pop("at"))).items()}
    _check_parameters(f, first, inputs)
    wrt = options.pop("wrt")
    if kind == "layer":
        return check_layer(f, g, inputs, wrt=wrt.split(",") if wrt else None, **options)
    return check_vjp(f, g, _in_parameter_order(f, inputs), wrt=wrt.split(",") if wrt else None, **options)


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


@main.command("functions", context_settings=CONTEXT, short_help="List the functions an expression may use.")
def functions_command() -> None:
    """List the functions and operators an expression may use, with their derivatives."""
    from .render.table import console, render_functions

    render_functions(console())



def report_error(exc: GradcheckError) -> None:
    """One line naming what is wrong and where, then the text with a caret under the place."""
    report_line(str(exc))
    excerpt = exc.excerpt()
    if excerpt:
        from .render.escape import visible

        click.echo(visible(excerpt, multiline=True), err=True)


def report_line(message: str) -> None:
    """`gradcheck: error: MESSAGE` on stderr, wrapped at the width the tables use (the terminal's, else
    COLUMNS or 100), continued lines indented."""
    from .render.escape import visible  # no rich: control characters in case names shown, never sent raw
    from .render.width import stream_width, wrapped

    color = False if os.environ.get("NO_COLOR") else None
    text = wrapped(visible(message, multiline=True), stream_width(sys.stderr), first="gradcheck: error: ")
    click.secho(text, fg="red", err=True, color=color)


def write_html(path: str, page) -> bool:
    """--html FILE: the page written atomically; False (after saying why) if it cannot be written."""
    from .render.html import write_atomically

    try:
        write_atomically(path, page())
    except OSError as exc:
        report_line(f"cannot write --html {path}: {exc.strerror or exc}")
        return False
    return True


def finish(report, output_format: str, show: bool = False, batch: bool = False, html_file: str | None = None,
           command: str = "eval") -> ExitStatus:
    """Render the report on stdout; its exit code is the command's."""
    if html_file:
        from .render.html import report_page

        if not write_html(html_file, lambda: report_page(report, command, show)):
            return ExitStatus.INPUT_ERROR
    if output_format == "json":
        from .render.json import render_json

        click.echo(render_json(report))
    else:
        from .render.table import console, render_batch, render_report

        (render_batch if batch else render_report)(report, console(), show)
    return report.exit_code
