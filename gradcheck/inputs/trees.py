"""Structured inputs and gradients, as JAX calls them pytrees: dicts, lists and tuples, nested, whose
leaves are arrays, numbers or anything else. A leaf is named by its path as Python reaches it,
`params["W1"]`, `layers[0]["w"]`, so that the table, `wrt=` and `data=` all use one spelling.

A list or tuple of plain Python numbers is one leaf (a value such as [0, 2, 1]), not a tree of numbers.
Objects of other libraries that have `.numpy()` (needle's and PyTorch's tensors) are leaves converted
to numpy arrays on the way in (`from_framework`), and gradients and outputs on the way out.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Iterator

import numpy as np

from ..base.errors import SpecError
from ..base.limits import MAX_TREE_DEPTH, MAX_TREE_LEAVES

Keys = tuple[Any, ...]  # dict keys and sequence indices, from an input down to one leaf

# A selector as wrt= and data= take it: a name, then ["key"], ['key'], [key], [0] or .key, any number of them.
NAME = re.compile(r"\s*([A-Za-z_]\w*)")
STEP = re.compile(r"""\s*(?:\[\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+|[A-Za-z_]\w*)\s*\]|\.([A-Za-z_]\w*))""")


def is_tree(value: Any) -> bool:
    """A dict, list or tuple to look into; a list or tuple of plain numbers (or strings) is one value."""
    if isinstance(value, dict):
        return True
    if isinstance(value, (list, tuple)):
        return not all(isinstance(v, (int, float, complex, str, bytes)) or v is None for v in value)
    return False


def leaves(value: Any, name: str) -> list[tuple[Keys, Any]]:
    """Every leaf of one input with its keys, in the order the input holds them (a dict's insertion order)."""
    found: list[tuple[Keys, Any]] = []
    stack: list[tuple[Keys, Any]] = [((), value)]
    while stack:  # iterative, in written order: a deep or cyclic input cannot exhaust Python's stack
        keys, v = stack.pop()
        if not is_tree(v):
            found.append((keys, v))
            if len(found) > MAX_TREE_LEAVES:
                raise SpecError(f"input {name} holds more than {MAX_TREE_LEAVES:,} values; pass large data as arrays")
            continue
        if len(keys) >= MAX_TREE_DEPTH:
            raise SpecError(f"input {name} is nested more than {MAX_TREE_DEPTH} deep (does it contain itself?)")
        stack.extend(reversed([(keys + (k,), item) for k, item in _items(v)]))
    return found


def _items(value: Any) -> Iterator[tuple[Any, Any]]:
    return iter(value.items()) if isinstance(value, dict) else enumerate(value)


def path(name: str, keys: Keys) -> str:
    """The leaf's name as Python reaches it: params["W1"], layers[0], x."""
    return name + "".join(f"[{json.dumps(k, ensure_ascii=False)}]" if isinstance(k, str) else f"[{k!r}]" for k in keys)


def get(value: Any, keys: Keys) -> Any:
    for k in keys:
        value = value[k]
    return value


def rebuilt(value: Any, moved: Mapping[Keys, Any], copy_leaf: Callable[[Any], Any], at: Keys = ()) -> Any:
    """A fresh copy of `value` with the leaves at `moved`'s keys replaced (each leaf through copy_leaf)."""
    if at in moved:
        return copy_leaf(moved[at])
    if not is_tree(value) or not any(k[:len(at)] == at for k in moved):
        return copy_leaf(value)
    if isinstance(value, dict):
        out = copy.copy(value)  # keeps a dict's own class (OrderedDict, defaultdict)
        for k, item in value.items():
            out[k] = rebuilt(item, moved, copy_leaf, at + (k,))
        return out
    items = [rebuilt(item, moved, copy_leaf, at + (i,)) for i, item in enumerate(value)]
    if isinstance(value, list):
        return items
    return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)  # a namedtuple, or a tuple


def selector(text: str, what: str) -> tuple[str, Keys]:
    """`params["W1"]` (or params['W1'], params[W1], params.W1, layers[0]) as (name, keys)."""
    match = NAME.match(text)
    if not match:
        raise SpecError(f"{what} takes input names such as x or params[\"W1\"], got {text!r}")
    name, keys, at = match.group(1), [], match.end()
    while at < len(text.rstrip()):
        step = STEP.match(text, at)
        if not step:
            raise SpecError(f"{what}: cannot read {text!r} at column {at + 1}; write a path as params[\"W1\"] or layers[0]")
        inner, attribute = step.groups()
        if attribute is not None:
            keys.append(attribute)
        elif inner[0] in "'\"":
            keys.append(ast.literal_eval(inner))  # a quoted string literal, already matched as one
        else:
            keys.append(int(inner) if inner.lstrip("-").isdigit() else inner)
        at = step.end()
    return name, tuple(keys)


def under(keys: Keys, prefix: Keys) -> bool:
    """keys starts with prefix; a key written [0] or [W1] matches the dict key "0" or 0, "W1"."""
    return len(keys) >= len(prefix) and all(k == p or str(k) == str(p) for k, p in zip(keys, prefix))


def from_framework(value: Any) -> Any:
    """A tensor of another library (anything with .numpy(): needle, PyTorch) as a numpy array; else itself."""
    if isinstance(value, (np.ndarray, np.generic)) or not callable(getattr(value, "numpy", None)):
        return value
    for step in ("detach", "cpu"):  # PyTorch: a tensor that requires grad, or lives on a GPU
        if callable(getattr(value, step, None)):
            value = getattr(value, step)()
    return np.asarray(value.numpy())


def converted(value: Any) -> Any:
    """A whole input or answer with every framework tensor in it made a numpy array (from_framework)."""
    if is_tree(value):
        found = [(keys, v, from_framework(v)) for keys, v in leaves(value, "the value")]
        moved = {keys: new for keys, old, new in found if new is not old}
        return rebuilt(value, moved, lambda v: v) if moved else value
    return from_framework(value)
