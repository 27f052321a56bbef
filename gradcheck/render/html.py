"""HTML: the same colored tables as the terminal, for notebooks (`_repr_html_`) and for `--html FILE`,
a self-contained report a CI job can upload (inline CSS and SVG, no script, nothing fetched).

The tables are the terminal renderer's own output, recorded by rich and exported with inline
styles, so a notebook and a report show exactly what `gradcheck eval` prints. rich escapes the text
it exports; every other piece of user text goes through `html.escape` here.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from ..base.status import Status
from .escape import visible

if TYPE_CHECKING:  # annotations only: the result classes import this module to show themselves
    from ..teach.trace import Trace
    from ..verdict.result import CaseResult, Report

# The width the tables are laid out for in HTML: the sigmoid neuron's table with a claim on one line
# per variable (120 columns), about 940 px of 13 px monospace, inside the report's 72em page and a
# notebook's output area; anything wider scrolls inside its box.
HTML_WIDTH = 120

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.gradcheck-output pre, pre.gradcheck { font-family: Menlo, "DejaVu Sans Mono", Consolas, monospace; font-size: 13px;
       line-height: 1.35; background: #fafafa; border: 1px solid #e5e5e5; border-radius: 4px; padding: .8em;
       overflow-x: auto; }
.summary { font-size: 1.1em; font-weight: bold; padding: .6em .8em; border-radius: 4px; }
.ok { background: #e8f5e9; color: #1b5e20; } .bad { background: #ffebee; color: #b71c1c; }
.where { color: #666; font-weight: normal; font-size: .9em; }
.graph { overflow-x: auto; margin: 1em 0; }
table.cases { border-collapse: collapse; font-size: .95em; }
table.cases th, table.cases td { text-align: left; padding: .25em .8em; border-bottom: 1px solid #eee; }
table.cases td.num { text-align: right; font-family: Menlo, "DejaVu Sans Mono", Consolas, monospace; }
table.cases td.ok { color: #1b5e20; } table.cases td.bad { color: #b71c1c; font-weight: bold; }
"""


def terminal_html(draw: Callable[[Console], None], width: int = HTML_WIDTH) -> str:
    """What draw prints on a color terminal of this width, as a <pre> with inline styles."""
    out = Console(record=True, file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor",
                  no_color=False, highlight=False, soft_wrap=False, force_jupyter=False)
    draw(out)
    return out.export_html(inline_styles=True, code_format='<pre class="gradcheck">{code}</pre>')


def case_html(case: CaseResult, show: bool = False) -> str:
    # deferred: numpy on first use only (start-up)
    from .table import render_case

    if case.status == Status.ERROR:
        return f'<pre class="gradcheck">{escape(visible(f"error: {case.verdict}", multiline=True))}</pre>'
    return terminal_html(lambda out: render_case(case, out, show))


def report_sections(report: Report, show: bool = False) -> str:
    """The `check` table, then one section per case, failures first."""
    # deferred: numpy on first use only (start-up)
    from .table import case_status, failures_first, summary_ok, summary_text, where_text, worst_error

    ok = summary_ok(report)
    parts = [f'<p class="summary {"ok" if ok else "bad"}">{escape(summary_text(report))}</p>']
    ordered = failures_first(report.cases)
    anchors = {id(case): f"case-{i + 1}" for i, case in enumerate(ordered)}
    rows = []
    for case in report.cases:
        status = case_status(case)
        rows.append(f'<tr><td><a href="#{anchors[id(case)]}">{escape(visible(case.name))}</a></td>'
                    f'<td class="where">{escape(visible(where_text(case)))}</td>'
                    f'<td class="{"ok" if case.as_expected else "bad"}">{escape(status.plain)}</td>'
                    f'<td class="num">{escape(worst_error(case))}</td><td class="num">{case.seconds:.2f} s</td></tr>')
    parts.append('<table class="cases"><thead><tr><th>case</th><th>where</th><th>status</th>'
                 '<th>worst rel. error</th><th>time</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    for case in ordered:
        parts.append(f'<section id="{anchors[id(case)]}"><h2>{escape(visible(case.name))} '
                     f'<span class="where">{escape(visible(where_text(case)))}</span></h2>')
        if case.expect == Status.MISMATCH and case.status == Status.PASS:
            parts.append('<p class="bad">expected a mismatch: the wrong derivation this case documents was not '
                         "caught</p>")
        parts.append(case_html(case, show) + "</section>")
    return "\n".join(parts)


def trace_html(result: Trace, show: bool = False) -> str:
    # deferred: numpy on first use only (start-up)
    from .graph import render_trace

    table = terminal_html(lambda out: render_trace(result, out, show))
    return f'{table}\n<div class="graph">{result.svg(inline=True)}</div>'


NOTEBOOK_STYLE = ".gradcheck-output pre.gradcheck { font-family: Menlo, 'DejaVu Sans Mono', Consolas, monospace; " \
                 "font-size: 13px; line-height: 1.35; background: transparent; }"


def fragment(body: str) -> str:
    """For a notebook cell: a style scoped by the wrapper's class, then the body."""
    return f'<div class="gradcheck-output"><style>{NOTEBOOK_STYLE}</style>{body}</div>'


def markdown(text: str) -> str:
    """Plain text as a fenced code block (a fence longer than any run of backticks in the text)."""
    longest = 0
    run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{visible(text, multiline=True)}\n{fence}"


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(visible(title))}</title><style>{STYLE}</style></head>\n"
            f"<body><h1>{escape(visible(title))}</h1>\n{body}\n</body></html>\n")


def report_page(report: Report, command: str, show: bool = False) -> str:
    if len(report.cases) == 1 and report.cases[0].file is None:  # gradcheck eval
        case = report.cases[0]
        return page(f"gradcheck {command}: {case.expr}", case_html(case, show))
    return page(f"gradcheck {command}", report_sections(report, show))


def trace_page(result: Trace, show: bool = False) -> str:
    return page(f"gradcheck trace: {result.expr}", trace_html(result, show))


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Write text to path through a temporary file in the same folder and a rename, so that a reader
    (or a run that is interrupted) never sees half a report."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's file is private; a report is as any file written
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
