"""The public API with odd arguments (None, huge numbers, nan, objects, paths, functions ... in every
parameter of check, check_function and trace): a result or a GradcheckError, never a bare TypeError,
ValueError or OverflowError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import gradcheck


ODD = [None, True, 0, -1, 5, 10**400, -10**400, 1e308, float("nan"), float("inf"), "", "x", "5", [], [1], ["x"],
       {}, {"x": 1}, {1: 2}, object(), b"x", 1j, np.float64("nan"), np.array([1, 2]), Path("/nonexistent"),
       (lambda: 0), 2**63, 1e-320]


CHECK_PARAMETERS = ["expr", "at", "grad", "let", "wrt", "seed", "rtol", "atol", "mode", "method", "dtype", "order",
                    "strict", "timeout", "formulas", "name", "base", "npy_root"]


FUNCTION_PARAMETERS = ["inputs", "wrt", "seed", "rtol", "atol", "mode", "method", "strict", "timeout", "name",
                       "nondeterminism"]


def _only_gradcheck_errors(call) -> None:
    try:
        call()
    except gradcheck.GradcheckError:
        pass


def test_the_api_raises_only_gradcheck_errors_for_odd_arguments():
    """check(base=5), check(npy_root=5), rtol=10**400, name=an array ...: a GradcheckError or a result, never
    a bare TypeError, ValueError or OverflowError (63 of 1,881 odd calls were)."""
    def loss(x):
        return float(np.sum(x * x))

    def grad(x):
        return 2 * x

    for value in ODD:
        for parameter in CHECK_PARAMETERS:
            given = {"at": "x=1,y=2"}
            if parameter == "expr":
                _only_gradcheck_errors(lambda: gradcheck.check(value, **given))  # noqa: B023
                continue
            given[parameter] = value
            _only_gradcheck_errors(lambda: gradcheck.check("x*y", **given))  # noqa: B023
        for parameter in FUNCTION_PARAMETERS:
            if parameter == "inputs":
                _only_gradcheck_errors(lambda: gradcheck.check_function(loss, grad, value))  # noqa: B023
            else:
                _only_gradcheck_errors(lambda: gradcheck.check_function(  # noqa: B023
                    loss, grad, [np.array([1.0, 2.0])], **{parameter: value}))  # noqa: B023
        for parameter in ("at", "let", "wrt", "seed"):
            _only_gradcheck_errors(lambda: gradcheck.trace("x*y", **{parameter: value}))  # noqa: B023
