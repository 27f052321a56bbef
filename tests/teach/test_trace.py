"""`gradcheck trace`: the CS231n circuit's numbers, DOT output parsed, rendering where Graphviz is installed."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import console_script, joined
from table_text import parse_trace

import gradcheck
from gradcheck.teach.summary import summary

NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
AT = "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"
SIGMA = 1 / (1 + math.exp(-1))
DSIGMA = SIGMA * (1 - SIGMA)


def script() -> str:
    return console_script()


def by_text(result):
    return {n.text: n for n in result.nodes}


def test_the_cs231n_circuit_values_and_gradients():
    result = gradcheck.trace(NEURON, at=AT)
    nodes = by_text(result)
    out = nodes[NEURON]
    assert out.value == pytest.approx(SIGMA) and round(float(out.value), 2) == 0.73 and out.gradient == 1
    total = nodes["w0*x0 + w1*x1 + w2"]  # the sum flowing into the sigmoid
    assert total.value == pytest.approx(1.0) and total.gradient == pytest.approx(DSIGMA)
    assert round(float(total.gradient), 1) == 0.2
    assert out.local == [pytest.approx(DSIGMA)]  # the sigmoid gate's local gradient (1 - σ)σ
    assert total.local == [1.0, 1.0]  # an add gate passes its upstream gradient on unchanged
    product = nodes["w0*x0"]
    assert product.local == [-1.0, 2.0]  # a multiply gate's local gradient is the other input
    assert product.sent == [pytest.approx(-DSIGMA), pytest.approx(2 * DSIGMA)]
    expected = {"w0": -DSIGMA, "x0": 2 * DSIGMA, "w1": -2 * DSIGMA, "x1": -3 * DSIGMA, "w2": DSIGMA}
    for name, gradient in expected.items():
        assert nodes[name].gradient == pytest.approx(gradient, rel=1e-13)
    assert [n.key for n in result.nodes] == [f"n{i}" for i in range(1, len(result.nodes) + 1)]


def test_let_names_label_the_nodes_and_a_shared_node_adds_what_it_receives():
    result = gradcheck.trace("z * z", at="x=1.5,y=0.25", let={"z": "x + y"})
    z = by_text(result)["z"]
    assert z.gradient == pytest.approx(2 * 1.75)
    square = by_text(result)["z * z"]
    assert square.sent == [pytest.approx(1.75), pytest.approx(1.75)]  # two contributions, summed into z


def test_the_console_script_shows_the_circuit():
    done = subprocess.run([script(), "trace", NEURON, "--at", AT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    output = parse_trace(done.stdout)["n10"]  # the table or one block per node, as the width allows
    assert output == {"text": "sigmoid(w0*x0 + w1*x1 + w2)", "value": "0.7311", "gradient": "1"}
    assert "∂/∂w2 = 1 → 0.1966" in done.stdout and "∂/∂w0 = -1 → -0.1966" in done.stdout
    as_json = subprocess.run([script(), "trace", NEURON, "--at", AT, "--format", "json"], capture_output=True,
                             text=True, timeout=120)
    nodes = {n["text"]: n for n in json.loads(as_json.stdout)["nodes"]}
    assert nodes["w2"]["gradient"] == pytest.approx(DSIGMA)


def test_dot_output_parses(tmp_path):
    target = tmp_path / "neuron.dot"
    done = subprocess.run([script(), "trace", NEURON, "--at", AT, "--dot", str(target)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    dot = target.read_text()
    assert dot.startswith("digraph gradcheck {") and dot.rstrip().endswith("}")
    nodes = dict(re.findall(r"^  (n\d+) \[label=<(.*)>\];$", dot, re.M))
    edges = re.findall(r"^  (n\d+) -> (n\d+)", dot, re.M)
    assert len(nodes) == 10 and len(edges) == 9  # 5 inputs, 5 gates; each gate has 1 or 2 inputs
    assert all(a in nodes and b in nodes for a, b in edges)
    for label in nodes.values():
        ET.fromstring(f"<label>{label}</label>")  # the HTML-like labels are well-formed
    output = next(label for label in nodes.values() if "sigmoid" in label)
    assert summary(SIGMA) in output and 'color="darkgreen"' in output and 'color="firebrick"' in output


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed, so nothing renders")
def test_svg_and_png_render_with_graphviz(tmp_path):
    done = subprocess.run([script(), "trace", NEURON, "--at", AT, "--svg", str(tmp_path / "g.svg"),
                           "--png", str(tmp_path / "g.png")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    svg = ET.parse(tmp_path / "g.svg").getroot()
    assert svg.tag.endswith("svg") and "0.7311" in (tmp_path / "g.svg").read_text()
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert gradcheck.trace(NEURON, at=AT)._repr_svg_().lstrip().startswith("<?xml")


def test_without_graphviz_svg_is_drawn_by_gradcheck_and_png_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(script()))  # a PATH on which no dot can be found
    if shutil.which("dot"):
        pytest.fail("dot sits next to the gradcheck script; this test cannot hide it")
    done = subprocess.run([script(), "trace", NEURON, "--at", AT, "--png", str(tmp_path / "g.png")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Graphviz's dot" in joined(done.stderr) and "apt-get install graphviz" in joined(done.stderr)
    assert not (tmp_path / "g.png").exists()
    done = subprocess.run([script(), "trace", NEURON, "--at", AT, "--svg", str(tmp_path / "g.svg")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    svg = ET.parse(tmp_path / "g.svg").getroot()
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert summary(SIGMA) in texts and "sigmoid(w0*x0 + w1*x1 + w2)  (sigmoid)" in texts


def test_arrays_are_summarised_and_shown_in_full_on_request():
    result = gradcheck.trace("sum(relu(X @ W))", at={"X": "randn(3,2)", "W": "randn(2,4)"})
    product = by_text(result)["X @ W"]
    assert summary(product.value).startswith("3×4 [") and product.local == [None, None]
    assert [getattr(s, "shape", None) for s in product.sent] == [(3, 2), (2, 4)]
    done = subprocess.run([script(), "trace", "sum(relu(X @ W))", "--at", "X=randn(3,2),W=randn(2,4)", "--show"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "∂f/∂node:" in done.stdout and "3×4" in done.stdout


def test_bad_input_is_exit_2():
    done = subprocess.run([script(), "trace", "sigmoi(x)"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "did you mean 'sigmoid'" in joined(done.stderr) and "Traceback" not in done.stderr
