"""How results present themselves — print(result), Jupyter's HTML — without importing the renderers.

The renderers (render/) read results, so they sit above them and a result cannot import them. The
package's front (gradcheck/__init__.py), which is above both, hands them in here when it is imported,
as functions that import rich only when a result is first shown. Every use of a result imports the
package first, so the views are always installed.
"""

from __future__ import annotations

from typing import Any, Callable

_views: dict[str, Callable[..., str]] = {}


def install(**views: Callable[..., str]) -> None:
    """Give each kind of view ("case_text", "trace_svg", ...) the function that draws it."""
    _views.update(views)


def view(kind: str, *args: Any, **kwargs: Any) -> str:
    """The view of this kind, drawn by the function installed for it."""
    return _views[kind](*args, **kwargs)
