"""The numpy function --emit numpy writes: right whatever the variables are called (even names the
emitted code uses itself), and refusing shapes it was not derived at.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_script
from hostile_input import TIMEOUT, assert_exit, run

import gradcheck


@pytest.mark.parametrize("names", [("f", "W"), ("np", "W"), ("_gc_value", "_gc_shape"), ("_gc_name", "ValueError"),
                                   ("f_and_gradient", "_gc_shapes")])
def test_emitted_code_is_right_whatever_the_variables_are_called(tmp_path, names):
    a, b = names
    expr = f"sum(tanh({a} @ {b}) * {a}[0, 0]) + mean({b})"
    at = {a: "[[0.5, -1.0], [2.0, 0.25]]", b: "[[0.3, -0.7], [1.1, 0.2]]"}
    args = [x for name, value in at.items() for x in ("--at", f"{name}={value}")]
    done = run("eval", expr, *args, "--let", "f_=tanh(" + a + " @ " + b + ")", "--emit", "numpy")
    if done.returncode == 2 and "no matrix form" in done.stderr:  # x[0, 0] has none: without it
        expr = f"sum(tanh({a} @ {b}) * {a}) + mean({b})"
        done = run("eval", expr, *args, "--emit", "numpy")
    assert_exit(done, 0)
    (tmp_path / "emitted.py").write_text(done.stdout, encoding="utf-8")
    result = gradcheck.check(expr, at=at)
    driver = ("import json, sys, numpy as np\nsys.path.insert(0, sys.argv[1])\nimport emitted\n"
              "values = {k: np.array(v) for k, v in json.loads(sys.argv[2]).items()}\n"
              "f, grads = emitted.f_and_gradient(**values)\n"
              "print(json.dumps({'f': float(f), 'grads': {k: np.asarray(v).tolist() for k, v in grads.items()}}))\n")
    point = {k: np.asarray(v).tolist() for k, v in result.point.items()}
    ran = subprocess.run([sys.executable, "-c", driver, str(tmp_path), json.dumps(point)], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["f"] == pytest.approx(result.value, rel=1e-12)
    for name, g in result.gradients.items():
        np.testing.assert_allclose(out["grads"][name], g.columns["backprop"], rtol=1e-12, atol=1e-15)


def test_the_emitted_function_refuses_shapes_it_was_not_derived_at(tmp_path):
    """Its formulas hold the batch size as a number ('/ 4'): called at a batch of 8 it returned a
    gradient twice too large, silently."""
    done = run_script("eval", "softmax_ce(relu(X @ value) @ W2, y)", "--wrt", "value,W2", "--emit", "numpy",
                      "--at", "X=randn(4,3),value=randn(3,2),W2=randn(2,3),y=[0,1,2,0]")
    assert done.returncode == 0, done.stderr
    namespace: dict = {}
    exec(compile(done.stdout, "emitted.py", "exec"), namespace)  # noqa: S102 - our own output, in a test
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
    f, grads = namespace["f_and_gradient"](rng.standard_normal((4, 3)), W1, W2, np.array([0, 1, 2, 0]))
    assert np.shape(grads["value"]) == (3, 2) and np.isfinite(f)  # a variable called value is not rebound
    with pytest.raises(ValueError, match=r"derived for X of shape \(4, 3\), got \(8, 3\)"):
        namespace["f_and_gradient"](rng.standard_normal((8, 3)), W1, W2, np.zeros(8, dtype=int))
    scalar = run_script("eval", "sin(x)*y", "--at", "x=1,y=2", "--emit", "numpy")
    assert scalar.returncode == 0 and "derived and checked at these shapes" not in scalar.stdout
