"""--latex: the checked gradient formulas as LaTeX (amsmath), one equation each.

The formula text is parsed back by gradcheck's parser and printed from the tree: @ as
juxtaposition, * between arrays as ∘ (\\odot), .T as ^\\top, a number divisor as a fraction.
User names are escaped for TeX; nothing is passed through unescaped.
"""

from __future__ import annotations

import re
from typing import Mapping

from ..ops.terms import Term
from ..teach.matrix_print import level, show

_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "&": r"\&",
                "%": r"\%", "$": r"\$", "#": r"\#", "~": r"\~{}"}


def name(text: str) -> str:
    """W1 -> W_{1}, x_0 -> x_{0}, softmax-like names as \\mathrm."""
    match = re.fullmatch(r"([A-Za-z]+)_?([0-9]+)", text)
    if match:
        return f"{match.group(1)}_{{{match.group(2)}}}"
    if len(text) == 1:
        return text
    return r"\mathrm{" + escape(text) + "}"


def escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(c, c) for c in text)


def tex(t: Term) -> str:
    if t.kind == "leaf":
        return name(t.text) if t.atomic and t.text.isidentifier() else r"\texttt{" + escape(t.text) + "}"
    if t.kind == "num":
        return t.text
    if t.kind == "neg":
        return "-" + _paren(t.args[0], level(t.args[0]) < level(t))
    if t.kind == "T":
        return _paren(t.args[0], level(t.args[0]) < 100) + r"^\top"
    if t.kind == "call":
        args = ", ".join(tex(a) for a in t.args)
        extra = "".join(f", {escape(str(v))}" if k in ("k", "shape") else f", {escape(k)}={escape(str(v))}"
                        for k, v in t.kwargs if not (k == "axis" and v == -1))
        return rf"\operatorname{{{escape(t.text)}}}\left({args}{extra}\right)"
    a, b = t.args
    if t.text == "/" and b.kind == "num":
        return rf"\frac{{1}}{{{b.text}}}\, {_paren(a, level(a) < level(t))}"
    if t.text == "/":
        return rf"\frac{{{tex(a)}}}{{{tex(b)}}}"
    if t.text == "**":
        return _paren(a, level(a) <= level(t)) + "^{" + tex(b) + "}"
    operator = {"+": " + ", "-": " - ", "@": r" \, ",
                "*": r" \odot " if a.shape and b.shape else r" \cdot "}[t.text]
    left = level(a) < level(t) or (level(a) == level(t) and a.kind == "op" and a.text != t.text)
    right = level(b) < level(t) or (level(b) == level(t) and b.kind == "op" and (b.text != t.text or t.text == "-"))
    return _paren(a, left) + operator + _paren(b, right)


def _paren(t: Term, needed: bool) -> str:
    return rf"\left({tex(t)}\right)" if needed else tex(t)


def equations(terms: Mapping[str, Term], withheld: Mapping[str, str] | None = None) -> str:
    """One equation per variable, as a LaTeX fragment; a variable without a checked formula is a LaTeX
    comment saying why (an empty align* said nothing)."""
    lines = [f"% no formula for ∂f/∂{variable}: {' '.join(why.split())}" for variable, why in (withheld or {}).items()]
    if not terms:
        return "\n".join(lines) + "\n"
    lines.append(r"\begin{align*}")
    for variable, term in terms.items():
        lines.append(rf"  \frac{{\partial f}}{{\partial {name(variable)}}} &= {tex(term)} \\")
    lines.append(r"\end{align*}")
    return "\n".join(lines) + "\n"


def document(terms: Mapping[str, Term]) -> str:
    return ("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
            + equations(terms) + "\\end{document}\n")


__all__ = ["equations", "document", "tex", "show"]
