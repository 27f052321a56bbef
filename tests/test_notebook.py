"""examples/gradcheck_tour.ipynb runs from top to bottom and its results draw themselves (issue 14).

Executed with nbclient on the ipykernel of this Python (both test extras). Where either is missing,
or no kernel can start, the test is skipped and says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "gradcheck_tour.ipynb"
TIMEOUT = 300  # seconds per cell; the whole notebook takes ~15 s


@pytest.mark.slow
def test_the_tour_notebook_runs_and_shows_tables_verdicts_and_the_graph():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[test]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")
    from jupyter_client.kernelspec import NoSuchKernel

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(EXAMPLES)}})
    try:
        client.execute()
    except NoSuchKernel as exc:
        pytest.skip(f"no python3 Jupyter kernel can be started here: {exc}")
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) == 5  # the neuron, the wrong claim, the trace, the net and the net without / 8
    neuron, wrong, circuit, net, unscaled = html
    wrong_text, unscaled_text = (" ".join(re.sub(r"<[^>]+>", " ", h).split()) for h in (wrong, unscaled))
    assert "all 5 partial derivatives agree" in neuron and "color: #" in neuron  # the colored table
    assert "claimed disagrees with symbolic = backprop = numeric" in wrong
    assert "it uses the value of sigmoid(z) where its local gradient belongs" in wrong_text
    assert "<svg" in circuit and "sigmoid(w0*x0 + w1*x1 + w2)" in circuit
    assert "all 2 gradients agree, claims included" in net
    assert "8 times too large" in unscaled_text
    printed = [o.text for o in outputs if o.output_type == "stream"]
    assert printed == ["pass mismatch pass\n"]
