"""check_model: a model written CS231n style, checked without glue.

The model holds its parameters in a dict attribute, `model.params`, and `model.loss(X, y)` returns
`(loss, grads)` with `grads` keyed like `params` (TwoLayerNet, FullyConnectedNet). The loss is f of the
one structured input `params`, so each parameter is a row of the table, `params["W1"]`, and a gradient
under a wrong key is a claim that is missing. The model's own regularisation is part of its loss.

The caller's model is never changed: the check works on a deep copy (a model that cannot be copied is
used itself, and its parameters and attributes are put back afterwards).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, Iterator

from ..base.budget import budget_seconds
from ..base.errors import SpecError
from ..diagnose.model_terms import Strengths, strengths_of
from ..inputs.calling import call
from ..verdict.result import CaseResult
from .layers import check_function
from .sub_batch import read_off_rows

# The check on a few rows is run only with at least this many seconds of the budget left.
ROWS_MIN_SECONDS = 1.0


def check_model(model: Any, X: Any, y: Any, *, wrt: Any = None, name: str | None = None, **given: Any) -> CaseResult:
    """model.params: a dict of arrays; model.loss(X, y) -> (loss, grads), grads keyed like params."""
    params = getattr(model, "params", None)
    if not isinstance(params, Mapping) or not params:
        raise SpecError(f"check_model needs a model with a dict of parameters in model.params (CS231n style); "
                        f"{type(model).__name__} has {'none' if params is None else type(params).__name__}")
    if not callable(getattr(model, "loss", None)):
        raise SpecError(f"check_model needs model.loss(X, y) returning (loss, grads); {type(model).__name__} has no loss")
    label = name or f"{type(model).__name__}.loss"
    with _working(model) as working:

        def evaluated(params: dict, X: Any, y: Any) -> tuple[Any, Any]:
            working.params = params  # a fresh copy at each call: the check's own, never the caller's
            got = call("model.loss", working.loss, X, y)
            if not isinstance(got, tuple) or len(got) != 2:
                kind = f"a tuple of {len(got)}" if isinstance(got, tuple) else type(got).__name__
                raise SpecError(f"model.loss(X, y) must return (loss, grads), got {kind}")
            return got

        evaluated(copy.deepcopy(dict(params)), X, y)  # once, outside the check: a loss that returns no pair is bad input

        def loss(params: dict, X: Any, y: Any, model: Strengths) -> Any:
            return evaluated(params, X, y)[0]

        def grads(params: dict, X: Any, y: Any, model: Strengths) -> Any:
            return evaluated(params, X, y)[1]

        # X and y are inputs named as data (not closed over), so that a diagnosis knows the batch's size; the
        # model's regularisation strengths too (model.reg), which its loss does not take but a term's
        # diagnosis reads (diagnose/model_terms.py)
        def checked(X: Any, y: Any, **options: Any) -> CaseResult:
            result = check_function(loss, grads, [dict(params), X, y, strengths_of(model)], wrt=_within(wrt),
                                    data=["X", "y", "model"], name=label, **options)
            result.expr = f"{label}(params, X, y)"  # as the model's loss is called: the strengths are ours
            return result

        whole = checked(X, y, **given)

        def on_rows(X: Any, y: Any) -> CaseResult | None:
            """The check again, within what is left of the one budget (a --timeout is the whole call's)."""
            total = budget_seconds(given.get("timeout"))
            if total is None:
                return checked(X, y, **given)
            left = total - whole.seconds
            return checked(X, y, **{**given, "timeout": left}) if left > ROWS_MIN_SECONDS else None

        # a wrong parameter whose mistake the batch hides is diagnosed again on a few of its rows (sub_batch.py)
        return read_off_rows(whole, X, y, on_rows)


def _within(wrt: Any) -> Any:
    """wrt as the model's keys (W1, "b1") or as paths into params: both name params["W1"]."""
    if wrt is None:
        return None
    items = wrt.split(",") if isinstance(wrt, str) else list(wrt)
    return [item if item.strip().startswith("params") else f"params[{item.strip()!r}]" for item in items]


@contextmanager
def _working(model: Any) -> Iterator[Any]:
    """A deep copy of the model to call; else the model itself, with its attributes restored afterwards."""
    try:
        working, saved = copy.deepcopy(model), None
    except Exception:  # noqa: BLE001 - a model holding a lock, a file, a generator: any reason not to copy
        working, saved = model, dict(vars(model)) if hasattr(model, "__dict__") else {}
    try:
        yield working
    finally:
        for key, value in (saved or {}).items():
            setattr(model, key, value)
