"""gradcheck's own drawing of the graph (render/svg.py), used where Graphviz is not installed: a
well-formed SVG whose boxes never overlap, whose edges all run left to right from an input to the
node using it, with every node's text, value and gradient."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import gradcheck
from gradcheck.render.svg import to_svg
from gradcheck.teach.summary import summary

SVG = "{http://www.w3.org/2000/svg}"
GRAPHS = [
    ("sigmoid(w0*x0 + w1*x1 + w2)", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"),
    ("softmax_ce(relu(X @ W1) @ W2, y)", "X=randn(8,5),W1=randn(5,4),W2=randn(4,3),y=[0,2,1,1,0,2,2,1]"),
    ("(x + y)*z + x*x", "x=-2,y=5,z=-4"),
]


@pytest.mark.parametrize("expr, at", GRAPHS)
def test_the_own_layout_is_a_layered_drawing_without_overlaps(expr, at):
    result = gradcheck.trace(expr, at=at)
    root = ET.fromstring(to_svg(result))
    boxes = {}
    for group in root.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect")
        x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
        boxes[group.get("id")] = (x, y, w, h, [t.text for t in group.iter(f"{SVG}text")])
    assert set(boxes) == {n.key for n in result.nodes}
    keys = list(boxes)
    for i, a in enumerate(keys):
        ax, ay, aw, ah, _ = boxes[a]
        for b in keys[i + 1:]:
            bx, by, bw, bh, _ = boxes[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)
    for n in result.nodes:
        texts = boxes[n.key][4]
        assert summary(n.value) in texts
        if n.gradient is not None:
            assert f"∂f = {summary(n.gradient)}" in texts
    lines = list(root.iter(f"{SVG}line"))
    assert len(lines) == sum(len(n.inputs) for n in result.nodes)
    for line in lines:
        assert float(line.get("x1")) < float(line.get("x2"))  # inputs left of the nodes that use them


def test_user_text_in_the_drawing_is_escaped():
    result = gradcheck.trace("x*y", at="x=1,y=2")
    result.expr = "<script>alert(1)</script> \u001b[2J"
    svg = to_svg(result)
    ET.fromstring(svg)
    assert "<script>" not in svg and "\x1b" not in svg and re.search(r"&lt;script&gt;", svg)
