"""Output on a narrow terminal: the point line and its notes fit, a small array too wide is shown by
its shape, and the trace's note fits its block layout.
"""

from __future__ import annotations


import pytest
from conftest import run_script


@pytest.mark.parametrize("columns", [60, 80])
def test_the_point_line_and_its_notes_fit_a_narrow_terminal(columns):
    """'[random values drawn with --seed 0]' was glued to the last value, 91 columns on a 60-column terminal."""
    done = run_script("eval", "sin(a_long_variable_name_one)*another_long_variable_name", "--dtype", "float32",
                      COLUMNS=str(columns))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("at "))
    end = next(i for i, line in enumerate(lines) if line.startswith("∂f/∂"))
    point = lines[start:end]
    assert all(len(line) <= columns for line in point), point
    text = " ".join(point)
    assert "[random values drawn with --seed 0]" in text and "[evaluated in float32]" in text
    assert "a_long_variable_name_one = " in text and "another_long_variable_name = " in text


def test_a_small_array_too_wide_for_the_terminal_is_shown_by_its_shape():
    """'w = [[ 0.3111 0.8951] [-0.5823 -2.2261] [ 1.7466 1.7233]],' ran 62 columns on a 60-column terminal."""
    done = run_script("eval", "sum(x @ w @ b)", "--at", "x=randn(2,3),w=randn(3,2),b=randn(2)", COLUMNS="60")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    point = lines[1:next(i for i, line in enumerate(lines) if line.startswith("∂f/∂"))]
    assert all(len(line) <= 60 for line in point), point
    assert "w (3,2)" in " ".join(point) and "b = [" in " ".join(point)
    wide = run_script("eval", "sum(x @ w @ b)", "--at", "x=randn(2,3),w=randn(3,2),b=randn(2)", COLUMNS="100")
    assert "w = [[" in wide.stdout


def test_the_trace_note_fits_the_block_layout_too():
    """At 60 columns each node is a block with '→' lines; the note spoke of 'The last column'."""
    done = run_script("trace", "sigmoid(w0*x0 + w1*x1 + w2)", "--at", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2", COLUMNS="60")
    assert done.returncode == 0 and "local ∂node/∂input → sent" not in done.stdout  # the block layout
    note = " ".join(done.stdout.split())
    assert "For each input" in note and "or the → lines" in note, note
