"""The computational graph as SVG, laid out by gradcheck itself, so `trace` draws without Graphviz.

A layered drawing of the DAG, left to right as the DOT output is: inputs and constants in layer 0,
every other node one layer right of its furthest input; within a layer, nodes are ordered by where
their inputs sit (the barycenter heuristic of Sugiyama et al. 1981, one sweep), which keeps edges
from crossing on expression trees. Edges are straight lines carrying the gradient sent back.
Forward values are green, gradients red, as in the course diagrams. No rich, no numpy: text only.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from ..teach.summary import GRADIENT_COLOR, VALUE_COLOR, summary
from .escape import visible

if TYPE_CHECKING:
    from ..teach.trace import Trace

FONT = 12  # px
CHAR = 7.4  # px per character of a 12 px sans-serif, on average (so boxes fit their widest line)
LINE = 16  # px between lines in a box
PAD = 8  # px inside a box
LAYER_GAP = 70  # px between the columns of boxes (room for an edge's gradient label)
ROW_GAP = 18  # px between boxes in a column
MARGIN = 12  # px around the drawing
LONGEST = 40  # characters of a node's text shown; longer text is replaced by its operator, as in the DOT


def _label(node) -> list[tuple[str, str, str]]:
    """(text, color, weight) lines of a node's box."""
    title = node.text if len(node.text) <= LONGEST else node.op
    if node.op not in ("input", "constant") and title != node.op:
        title += f"  ({node.op})"
    lines = [(visible(title), "#000", "bold"), (summary(node.value), VALUE_COLOR, "normal")]
    if node.gradient is not None:
        lines.append((f"∂f = {summary(node.gradient)}", GRADIENT_COLOR, "normal"))
    return lines


def layers(result: Trace) -> list[list[str]]:
    """Node keys by layer, each layer ordered to keep edges from crossing."""
    depth: dict[str, int] = {}
    for node in result.nodes:  # evaluation order: inputs come before the nodes using them
        depth[node.key] = 1 + max((depth[k] for k in node.inputs), default=-1)
    for node in reversed(result.nodes):  # a leaf sits just left of its first user, as Graphviz places it
        if not node.inputs:
            used = [depth[n.key] for n in result.nodes if node.key in n.inputs]
            depth[node.key] = max(min(used) - 1, 0) if used else 0
    columns: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    # evaluation order within a layer to start with
    for node in result.nodes:
        columns[depth[node.key]].append(node.key)
    # order the right-hand layers by their inputs' positions, then the inputs by their users' positions
    users: dict[str, list[str]] = {}
    inputs = {n.key: n.inputs for n in result.nodes}
    for node in result.nodes:
        for source in node.inputs:
            users.setdefault(source, []).append(node.key)
    position = {key: i for column in columns for i, key in enumerate(column)}
    for column in columns[1:]:
        column.sort(key=lambda k: sum(position[s] for s in inputs[k]) / max(len(inputs[k]), 1))
        position.update({key: i for i, key in enumerate(column)})
    for column in reversed(columns[:-1]):
        column.sort(key=lambda k: (sum(position[u] for u in users.get(k, [])) / len(users[k]) if users.get(k)
                                   else position[k]))
        position.update({key: i for i, key in enumerate(column)})
    return columns


def to_svg(result: Trace) -> str:
    """A standalone SVG document (also valid inline in HTML)."""
    nodes = {n.key: n for n in result.nodes}
    labels = {key: _label(n) for key, n in nodes.items()}
    size = {key: (2 * PAD + CHAR * max(len(t) for t, _, _ in lines), 2 * PAD + LINE * len(lines))
            for key, lines in labels.items()}
    columns = layers(result)
    widths = [max(size[k][0] for k in column) for column in columns]
    heights = [sum(size[k][1] for k in column) + ROW_GAP * (len(column) - 1) for column in columns]
    total_height = max(heights) + 2 * MARGIN
    box: dict[str, tuple[float, float, float, float]] = {}
    x = float(MARGIN)
    for column, width, height in zip(columns, widths, heights):
        y = MARGIN + (total_height - 2 * MARGIN - height) / 2
        for key in column:
            w, h = size[key]
            box[key] = (x + (width - w) / 2, y, w, h)
            y += h + ROW_GAP
        x += width + LAYER_GAP
    total_width = x - LAYER_GAP + MARGIN
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width:.0f}" height="{total_height:.0f}" '
            f'viewBox="0 0 {total_width:.0f} {total_height:.0f}" font-family="Helvetica, Arial, sans-serif" '
            f'font-size="{FONT}" role="img">'),
           f'<title>{escape(visible(result.expr))}: values in green, gradients in red</title>',
           ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>')]
    for node in result.nodes:
        for source, sent in zip(node.inputs, node.sent):
            sx, sy, sw, sh = box[source]
            tx, ty, _, th = box[node.key]
            x1, y1, x2, y2 = sx + sw, sy + sh / 2, tx, ty + th / 2
            out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555" '
                       f'stroke-width="1.2" marker-end="url(#arrow)"/>')
            if sent is not None:
                mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 4
                out.append(f'<text x="{mx:.1f}" y="{my:.1f}" text-anchor="middle" fill="{GRADIENT_COLOR}" '
                           f'font-size="{FONT - 1}" stroke="#fff" stroke-width="3" paint-order="stroke">'
                           f'{escape(summary(sent))}</text>')
    for key, (bx, by, bw, bh) in box.items():
        out.append(f'<g class="node" id="{key}"><rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
                   'rx="6" fill="#fff" stroke="#333"/>')
        for i, (text, color, weight) in enumerate(labels[key]):
            ty = by + PAD + LINE * i + FONT
            out.append(f'<text x="{bx + bw / 2:.1f}" y="{ty:.1f}" text-anchor="middle" fill="{color}" '
                       f'font-weight="{weight}">{escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
