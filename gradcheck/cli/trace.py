"""`gradcheck trace`: the computational graph, node by node."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..base.errors import GradcheckError
from ..base.status import ExitStatus
from .common import (
    CONTEXT,
    ExpressionCommand,
    at_option,
    format_option,
    html_option,
    let_option,
    report_error,
    report_line,
    seed_option,
    write_html,
    wrt_option,
)


@click.command("trace", cls=ExpressionCommand, short_help="Show the computational graph, node by node.",
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
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..render.dot import render
    from ..teach.trace import trace  # deferred: start-up, as above

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
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.html import trace_page

        if not write_html(html_file, lambda: trace_page(result, show)):
            return ExitStatus.INPUT_ERROR
    if output_format == "json":
        import json

        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.graph import render_trace

        # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
        from ..render.table import console

        render_trace(result, console(), show)
    return ExitStatus.OK
