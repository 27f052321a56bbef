"""What the commands share: each option declared once (as pip-tools does), the expression
command's argument parsing, and the one place errors become messages and results become output."""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
from typing import Any

import click

from ..base.errors import GradcheckError
from ..base.options import MAX_TIMEOUT, Options  # plain Python: no numpy at start-up
from ..base.status import ExitStatus

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
data_option = click.option("--data", metavar="NAME[,...]",
                           help="Inputs that are data, not variables, though floating-point (a dropout mask, a loss's X).")
format_option = click.option("--format", "output_format", type=click.Choice(["table", "json"]),
                             default="table", show_default=True,
                             help="table for people, json for programs (its schema: the documentation's JSON page).")
html_option = click.option("--html", "html_file", type=click.Path(dir_okay=False), metavar="FILE",
                           help="Also write a self-contained HTML report (tables, verdicts, diagnoses) to FILE.")


def declared(name: str, *flags: str):
    """The click option of one field of gradcheck.base.options.Options: its type, choices, default and
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


def report_error(exc: GradcheckError) -> None:
    """One line naming what is wrong and where, then the text with a caret under the place."""
    report_line(str(exc))
    excerpt = exc.excerpt()
    if excerpt:
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.escape import visible

        click.echo(visible(excerpt, multiline=True), err=True)


def report_line(message: str) -> None:
    """`gradcheck: error: MESSAGE` on stderr, wrapped at the width the tables use (the terminal's, else
    COLUMNS or 100), continued lines indented."""
    from ..render.escape import visible  # no rich: control characters in case names shown, never sent raw

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..render.width import stream_width, wrapped

    color = False if os.environ.get("NO_COLOR") else None
    text = wrapped(visible(message, multiline=True), stream_width(sys.stderr), first="gradcheck: error: ")
    click.secho(text, fg="red", err=True, color=color)


def write_html(path: str, page) -> bool:
    """--html FILE: the page written atomically; False (after saying why) if it cannot be written."""
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..render.html import write_atomically

    try:
        write_atomically(path, page())
    except OSError as exc:
        report_line(f"cannot write --html {path}: {exc.strerror or exc}")
        return False
    return True


def finish_one(label: str, options: dict, check) -> ExitStatus:
    """One check of the user's code (`layer`, `vjp`, `loss`, `torch`, `jax`): check(options) -> its result,
    printed in options' format; bad input is one line on stderr and an error result (exit 2)."""
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..checks.expression import error_result

    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..verdict.result import Report

    output_format, show = options.pop("output_format"), options.pop("show")
    seed = options["seed"]
    try:
        result = check(options)
    except GradcheckError as exc:
        report_error(exc)
        result = error_result(label, exc, seed=seed)
    return finish(Report([result]), output_format, show)


def finish(report, output_format: str, show: bool = False, batch: bool = False, html_file: str | None = None,
           command: str = "eval") -> ExitStatus:
    """Render the report on stdout; its exit code is the command's."""
    if html_file:
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.html import report_page

        if not write_html(html_file, lambda: report_page(report, command, show)):
            return ExitStatus.INPUT_ERROR
    if output_format == "json":
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.json import render_json

        click.echo(render_json(report))
    else:
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.table import console, render_batch, render_report

        (render_batch if batch else render_report)(report, console(), show)
    return report.exit_code
