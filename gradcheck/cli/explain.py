"""`gradcheck explain`: the backward pass written out down to one variable."""

from __future__ import annotations

import click

from ..base.errors import GradcheckError
from ..base.status import ExitStatus
from .common import CONTEXT, ExpressionCommand, at_option, let_option, report_error, seed_option


@click.command("explain", cls=ExpressionCommand, short_help="Write out the backward pass down to one variable.",
              context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("expr")
@click.option("--wrt", required=True, metavar="VAR", help="The variable whose gradient is derived.")
@at_option
@let_option
@seed_option
def explain_command(expr, wrt, at, lets, seed) -> ExitStatus:
    """Write out the backward pass of EXPR down to one variable, rule by rule, ending at its formula."""
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..teach.explain import explain

    try:
        result = explain(expr, wrt, at=list(at), let=list(lets), seed=seed)
    except GradcheckError as exc:
        report_error(exc)
        return ExitStatus.INPUT_ERROR
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..render.explain import render_explanation

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..render.table import console

    render_explanation(result, console())
    return ExitStatus.OK if result.formula is not None else ExitStatus.MISMATCH
