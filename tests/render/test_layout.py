"""Every table readable at 60, 80, 100 and 160 columns (issue 14): the output is parsed back and every
name, number and status must appear whole, no line may be wider than the console, and text wraps at
word boundaries. The layouts themselves (wide, folded, blocks) are the renderer's choice; the tests
only demand that what they show is complete and true to the result."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import test_cli as cli
from rich.console import Console
from table_text import (
    ERROR_EST,
    REL,
    longest_line,
    parse_array_gradients,
    parse_batch,
    parse_gradients,
    parse_trace,
)

import gradcheck
from gradcheck.render.graph import render_trace
from gradcheck.render.table import FEW_DIGITS, render_batch, render_case, text_console
from gradcheck.teach.summary import summary
from gradcheck.verdict.result import Report

WIDTHS = [60, 80, 100, 160]
NEURON, NEURON_AT = cli.NEURON, cli.NEURON_AT
NET = "softmax_ce(relu(X @ W1) @ W2, y)"
NET_AT = 'X=randn(8,5),W1=randn(5,4),W2=randn(4,3),y=[0,2,1,1,0,2,2,1]'
NET_CLAIM = "W2=H.T @ (softmax(H @ W2) - onehot(y, 3)) / 8"
STATUS_WORD = {"pass": "✓ pass", "mismatch": "✗ mismatch", "kink": "⚠ kink"}


@pytest.fixture(scope="module")
def results() -> dict:
    return {
        "scalars": gradcheck.check(NEURON, at=NEURON_AT),
        "scalars with a claim": gradcheck.check("sigmoid(z)", let="z=w0*x0 + w1*x1 + w2", at=NEURON_AT,
                                                grad="w0=x0*sigmoid(z)"),
        "arrays": gradcheck.check(NET, at=NET_AT, wrt="W1,W2"),
        "arrays with a claim": gradcheck.check(NET, at=NET_AT, wrt="W1,W2", let="H=relu(X @ W1)",
                                               grad=NET_CLAIM.replace("/ 8", "")),
    }


def rendered(draw, width: int) -> str:
    buffer = io.StringIO()
    draw(text_console(buffer, width))
    return buffer.getvalue()


def joined(text: str) -> str:
    """The output with its line breaks and indentation folded into single spaces (wrapped text reads whole)."""
    return " ".join(text.split())


def assert_fits(text: str, width: int) -> None:
    assert longest_line(text) <= width, "\n" + text


def close(shown: str, value: float) -> bool:
    """A number as shown agrees with the result's to the digits shown (FEW_DIGITS at least)."""
    return abs(float(shown) - value) <= 10.0 ** -(FEW_DIGITS - 1) * max(abs(value), 1e-300)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", ["scalars", "scalars with a claim"])
def test_scalar_tables_show_every_name_number_and_status(results, kind, width):
    case = results[kind]
    text = rendered(lambda out: render_case(case, out), width)
    assert_fits(text, width)
    columns, rows = parse_gradients(text)
    assert list(rows) == list(case.gradients)
    assert columns == [c for c in ("symbolic", "backprop", "numeric", "claimed")
                       if any(c in g.columns for g in case.gradients.values())]
    for variable, g in case.gradients.items():
        row = rows[variable]
        assert row["status"] == STATUS_WORD[g.status]
        for column in columns:
            if column in g.columns:
                assert close(row[column], g.columns[column]), (variable, column, row, text)
            else:
                assert row[column] == "—"
        assert float(row[REL]) == pytest.approx(g.max_rel_error, rel=0.06, abs=1e-300)
        assert row[ERROR_EST].endswith(f"({g.numeric_method})")
    assert case.verdict in joined(text)
    for g in case.gradients.values():
        if g.diagnosis:
            assert joined(g.diagnosis) in joined(text)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", ["arrays", "arrays with a claim"])
def test_array_tables_show_every_name_shape_error_and_status(results, kind, width):
    case = results[kind]
    text = rendered(lambda out: render_case(case, out), width)
    assert_fits(text, width)
    rows = parse_array_gradients(text)
    assert list(rows) == list(case.gradients)
    for variable, g in case.gradients.items():
        row = rows[variable]
        assert row["status"] == STATUS_WORD[g.status]
        assert row["shape"] == "(" + ",".join(map(str, g.shape)) + ")"
        for pair in g.pairs:
            if "backprop" not in (pair.a, pair.b):
                continue
            other = pair.b if pair.a == "backprop" else pair.a
            absolute, relative = row[f"{other} vs backprop"].split(" / ")
            assert float(absolute) == pytest.approx(pair.max_abs_error, rel=0.06, abs=1e-300)
            assert float(relative) == pytest.approx(pair.max_rel_error, rel=0.06, abs=1e-300)
    assert case.verdict in joined(text)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_check_table_shows_every_case_whole(results, width):
    cases = []
    for i, (kind, result) in enumerate(results.items()):
        result.name = f"{kind}: a case name long enough to need a line of its own"
        result.file, result.line = "expressions/some_folder/cases.toml", 10 * i + 3
        cases.append(result)
    report = Report(cases)
    text = rendered(lambda out: render_batch(report, out), width)
    assert_fits(text, width)
    table = parse_batch(text)
    assert list(table) == [c.name for c in cases]
    for case in cases:
        row = table[case.name]
        assert f"{case.file}:{case.line}" in row
        assert ("✓ pass" if case.status == "pass" else "✗ mismatch") in row
        assert f"{case.seconds:.2f} s" in row
    summary_line = [line for line in text.splitlines() if line.startswith(("✓", "✗"))][-1]
    assert re.match(r"[✓✗] 4 cases: 2 passed, 2 failed", summary_line), text


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("expr, at", [(NEURON, NEURON_AT), ("sum(relu(X @ W))", "X=randn(3,2),W=randn(2,4)")])
def test_the_trace_shows_every_node_whole(expr, at, width):
    result = gradcheck.trace(expr, at=at)
    text = rendered(lambda out: render_trace(result, out), width)
    assert_fits(text, width)
    nodes = parse_trace(text)
    assert list(nodes) == [n.key for n in result.nodes]
    for n in result.nodes:
        assert nodes[n.key]["text"] == n.text
        assert nodes[n.key]["value"] == summary(n.value)
        assert nodes[n.key]["gradient"] == summary(n.gradient)


def test_pipes_honour_columns_and_default_to_100():
    def run(**env):
        return cli.run_piped([cli.console_script(), *cli.WRONG_CLAIM_ARGS], cli.subprocess_env(**env), cli.Path.cwd())

    default, narrow, wide = run(), run(COLUMNS="60"), run(COLUMNS="160")
    for proc, width in ((default, 100), (narrow, 60), (wide, 160)):
        assert proc.returncode == 1, proc.stderr
        assert_fits(proc.stdout, width)
        columns, rows = parse_gradients(proc.stdout)
        assert columns == ["symbolic", "backprop", "numeric", "claimed"] and rows["w0"]["status"] == "✗ mismatch"
    assert longest_line(narrow.stdout) < longest_line(default.stdout) < longest_line(wide.stdout)
    # the diagnosis wraps at word boundaries: every wrapped line ends with a whole word of the sentence
    diagnosis = gradcheck.check("sigmoid(z)", let="z=w0*x0 + w1*x1 + w2", at=NEURON_AT,
                                grad="w0=x0*sigmoid(z)").gradients["w0"].diagnosis
    words = set(diagnosis.split()) | set(f"∂f/∂w0 is wrong: {diagnosis}".split())
    lines = [line for line in narrow.stdout.splitlines() if "how the claimed" in line]
    assert lines
    start = narrow.stdout.splitlines().index(lines[0])
    for line in narrow.stdout.splitlines()[start:start + 4]:
        if line.startswith("  the right one"):
            break
        assert line.split()[-1] in words, line


def test_labels_print_as_integers():
    case = gradcheck.check("softmax_ce(X @ W, y)", at="X=randn(3,2),W=randn(2,3),y=[0,2,1]")
    text = rendered(lambda out: render_case(case, out), 100)
    assert "y = [0 2 1]" in text


def test_fast_mode_names_its_worst_direction_in_english():
    case = gradcheck.check("sum(W*W)", at="W=randn(40,40)", grad="W=3*W", mode="fast")
    verdict = case.gradients["W"].verdict
    assert "worst along random direction" in verdict or "worst at W[" in verdict, verdict
    assert "at along" not in verdict
    text = rendered(lambda out: render_case(case, out, show=True), 100)
    assert "at along" not in text


def test_a_terminal_narrower_than_the_table_gets_another_layout_not_an_ellipsis():
    proc = cli.run_in_pty([cli.console_script(), *cli.WRONG_CLAIM_ARGS], cli.subprocess_env(TERM="dumb"),
                          cli.Path.cwd())
    assert "…" not in cli.plain(proc.stdout)
    buffer = io.StringIO()
    render_case(gradcheck.check(NEURON, at=NEURON_AT), Console(file=buffer, width=60, force_terminal=True))
    text = cli.plain(buffer.getvalue())
    assert "…" not in text and np.all([len(line) <= 60 for line in text.splitlines()])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_functions_listing_shows_every_signature_and_derivative_whole(width):
    from gradcheck.ops.registry import PRIMITIVES
    from gradcheck.render.table import render_functions

    text = rendered(render_functions, width)
    assert_fits(text, width)
    lines = [line.strip() for line in text.splitlines()]
    for prim in PRIMITIVES:
        assert any(line.startswith(prim.signature()) for line in lines), (prim.signature(), text)
        for param, derivative in zip(prim.params, prim.derivatives):
            # a derivative longer than the width wraps at its spaces: joined back, it reads whole
            assert f"∂/∂{param} = {derivative}" in " ".join(lines), (derivative, text)


@pytest.mark.parametrize("kind", ["arrays", "arrays with a claim"])
def test_array_blocks_fit_the_narrowest_layout(results, kind):
    """At 40 columns (render/table.MIN_WIDTH) a variable's block drops its indent rather than run one
    column past the edge ('  numeric's error est.  1.6e-15 (complex)' is 41), and still reads whole."""
    case = results[kind]
    text = rendered(lambda out: render_case(case, out), 40)
    blocks = [line for line in text.splitlines() if " vs " in line or "error est." in line]
    assert blocks and max(len(line) for line in blocks) <= 40, "\n" + text
    rows = parse_array_gradients(text)
    assert list(rows) == list(case.gradients)
    assert all("numeric's error est." in row for row in rows.values())
