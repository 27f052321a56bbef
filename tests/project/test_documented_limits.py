"""The limits the documentation states are the code's."""

from __future__ import annotations

from pathlib import Path


import gradcheck


def test_the_documented_limit_of_finite_differences_is_the_codes():
    import re

    from gradcheck.language.cost import MAX_NUMERIC_OPERATIONS

    root = Path(gradcheck.__file__).resolve().parents[1]
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    superscript = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
    found = [int(m.group(1).translate(superscript)) for path in texts if path.exists()
             for m in re.finditer(r"finite differences at 10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", path.read_text(encoding="utf-8"))]
    assert all(10 ** power == MAX_NUMERIC_OPERATIONS for power in found), found
