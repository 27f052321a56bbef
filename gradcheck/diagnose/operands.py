"""An expression (an input's name, or a quantity the forward computes, as products.py's `X @ W1 + b1`)
placed in a formula's text, such as a local gradient's `1 − {y}**2`: parenthesised wherever the formula's
operators would bind into it. An atom (a name, with any subscripts, attributes or calls after it, or a
number) binds tighter than every operator and stands as it is; so does anything alone inside a call's
or a group's parentheses, `tanh({x})`. Every other expression is grouped: `1 − (X @ W1 + b1)**2`, not
`1 − X @ W1 + b1**2`.
"""

from __future__ import annotations

import re

# A name followed by subscripts, attributes or calls (one level of brackets each), or a number.
ATOM = re.compile(r"(?:[A-Za-z_]\w*(?:\[[^\[\]]*\]|\.\w+|\([^()]*\))*|\d+(?:\.\d*)?)\Z")


def operand(expr: str) -> str:
    """The expression as an operand of any operator: grouped unless it is an atom."""
    return expr if ATOM.match(expr) else f"({expr})"


def placed(template: str, **names: str) -> str:
    """The template with each {name} replaced by its expression, grouped where the template's operators
    would bind into it (not where the placeholder alone fills parentheses)."""
    for key, expr in names.items():
        template = template.replace(f"({{{key}}})", f"({expr})").replace(f"{{{key}}}", operand(expr))
    return template
