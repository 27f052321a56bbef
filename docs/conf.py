"""Sphinx configuration of gradcheck's documentation (Markdown pages through MyST).

Build: pip install -e '.[docs]' && python -m sphinx -W -n -b html docs docs/_build/html
(tests/test_docs.py builds it the same way, strictly: a broken link or reference fails).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the gradcheck of this checkout, whatever is installed
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

import gradcheck  # noqa: E402

project = "gradcheck"
author = "gradcheck's maintainers"
copyright = "2026, gradcheck's maintainers"
release = version = gradcheck.__version__

extensions = [
    "myst_parser",  # the pages are Markdown, as the README is
    "sphinx.ext.autodoc",  # the API reference, from the docstrings help() shows
    "sphinx.ext.napoleon",  # their Args:/Returns:/Raises: sections
    "gradcheck_docs",  # the CLI reference, from the CLI's own --help (docs/_ext/gradcheck_docs.py)
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3  # links to sections: page.md#a-heading

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # Attributes: as fields of the class, not entries beside its properties
default_role = "code"  # `text` in docstrings is code, as help() readers take it

# Strict builds (-n) resolve every reference; these are types of the standard library and numpy, whose
# inventories are not fetched (the build runs offline), and the API's type aliases.
nitpick_ignore_regex = [
    ("py:class", r"(numpy|np|pathlib|typing|collections\.abc|click)\..*"),
    ("py:class", r"(Path|Any|Callable|Iterable|Mapping|ExitStatus|Values|Variables|Inputs|Chosen|Node|Apply)"),
    ("py:class", r"(CaseResult|Trace|TraceNode|GradientResult|Span|gradcheck\.base\.status\.ExitStatus)"),
    ("py:class", r".*\[.*|None|\.\.\."),
]

html_theme = "alabaster"  # Sphinx's own: no theme package to install
html_static_path: list[str] = []
html_theme_options = {"description": "Is this gradient right?", "page_width": "1280px", "fixed_sidebar": True}
html_show_sourcelink = False
