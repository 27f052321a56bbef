"""`gradcheck eval`: one expression at one point."""

from __future__ import annotations

import click

from ..base.errors import GradcheckError
from ..base.status import ExitStatus, Status
from .common import (
    CONTEXT,
    ExpressionCommand,
    at_option,
    data_option,
    declared,
    finish,
    format_option,
    grad_option,
    html_option,
    let_option,
    method_option,
    options_of,
    report_error,
    report_line,
    seed_option,
    strict_option,
    timeout_option,
    tolerance_options,
    wrt_option,
)


@click.command("eval", cls=ExpressionCommand, short_help="Check the gradient of an expression at one point.",
              context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("expr")
@at_option
@let_option
@grad_option
@wrt_option
@data_option
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
def eval_command(expr, at, lets, grads, wrt, data, output_format, show, html_file, emit, latex, **params) -> ExitStatus:
    """Check the gradient of EXPR at one point.

    EXPR uses + - * / ** (or ^), parentheses, numbers, pi, e and the functions listed by
    `gradcheck functions`. An EXPR that starts with '-' works as it is: gradcheck eval "-x*y".
    """
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..checks.expression import check, error_result
    from ..verdict.result import Report

    clash = _output_clash(output_format, html_file, emit, latex)
    if clash:
        report_line(clash)
        return ExitStatus.INPUT_ERROR
    if emit or latex:
        params["formulas"] = True
    try:
        result = check(expr, at=list(at), grad=list(grads), let=list(lets), wrt=wrt, data=data, **options_of(**params))
        if emit and result.status != Status.ERROR:
            # deferred: start-up (numpy)
            from ..teach.emit_numpy import emit_for

            click.echo(emit_for(result.problem, result.gradients), nl=False)
            return result.exit_code
        if latex and result.status != Status.ERROR:
            # deferred: start-up (numpy, rich)
            from ..render.escape import visible
            from ..render.latex import equations
            from ..teach.emit_numpy import formula_terms

            code = finish(Report([result]), output_format, show, html_file=html_file, command="eval")
            withheld = {n: g.matrix_note or "no formula" for n, g in result.gradients.items() if g.matrix_formula is None}
            click.echo(visible(equations(formula_terms(result.problem, result.gradients), withheld), multiline=True),
                       nl=False)
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
