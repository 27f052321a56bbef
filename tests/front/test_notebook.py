"""examples/gradcheck_tour.ipynb runs from top to bottom and its results draw themselves (issue 14).

The notebook's code cells are run in order in one namespace, as a kernel runs them: a cell whose last
statement is an expression shows that value the way Jupyter does, through its `_repr_html_`, and
printed text is captured. Running them here rather than on an ipykernel keeps Jupyter's ~20 packages
out of the test extras (a third of CI's install time); what is checked is the same: every cell runs,
and the results draw the tables, verdicts and the graph. `jupyter nbconvert --execute` runs it on a
real kernel.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any
from conftest import PACKAGE_ROOT

EXAMPLES = Path(PACKAGE_ROOT) / "examples"
NOTEBOOK = EXAMPLES / "gradcheck_tour.ipynb"


def run_cell(source: str, namespace: dict[str, Any]) -> tuple[str | None, str]:
    """Run one code cell: the HTML of its last expression's value (None if it has none), and what it printed."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tree, "<cell>", "exec"), namespace)  # the project's own notebook, not user input
        shown = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace) if last else None
    html = shown._repr_html_() if shown is not None and hasattr(shown, "_repr_html_") else None
    return html, printed.getvalue()


def test_the_tour_notebook_runs_and_shows_tables_verdicts_and_the_graph(monkeypatch):
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4 and notebook["metadata"]["kernelspec"]["language"] == "python"
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") for c in notebook["cells"] if c["cell_type"] == "code")  # shipped clean
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setitem(os.environ, "COLUMNS", "120")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    ran = [run_cell(source, namespace) for source in cells]
    html = [h for h, _ in ran if h is not None]
    assert len(html) == 5  # the neuron, the wrong claim, the trace, the net and the net without / 8
    neuron, wrong, circuit, net, unscaled = html
    wrong_text, unscaled_text = (" ".join(re.sub(r"<[^>]+>", " ", h).split()) for h in (wrong, unscaled))
    assert "all 5 partial derivatives agree" in neuron and "color: #" in neuron  # the colored table
    assert "claimed disagrees" in wrong  # the verdict
    assert "sigmoid(z)" in wrong_text and "where its local gradient belongs" in wrong_text  # the diagnosis
    assert "<svg" in circuit and "sigmoid(w0*x0 + w1*x1 + w2)" in circuit
    assert "all 2 gradients agree, claims included" in net
    assert "8 times too large" in unscaled_text
    printed = [p for _, p in ran if p]
    assert printed == ["pass mismatch pass\n"]
