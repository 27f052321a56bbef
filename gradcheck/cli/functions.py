"""`gradcheck functions`: the functions an expression may use."""

from __future__ import annotations

import click

from .common import CONTEXT


@click.command("functions", context_settings=CONTEXT, short_help="List the functions an expression may use.")
def functions_command() -> None:
    """List the functions and operators an expression may use, with their derivatives."""
    # deferred: start-up: `import gradcheck` and `gradcheck --help` load no numpy (tests/test_startup.py)
    from ..render.table import console, render_functions

    render_functions(console())
