"""diagnose=False (--no-diagnosis): the verdict and exit code of a check without the diagnosis, for runs that
read only the exit code. The verdict must be the same as with the diagnosis; only the sentence goes."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import PACKAGE_ROOT, make_runner, run_script

import gradcheck
from gradcheck.base.errors import SpecError
from gradcheck.cli import main as cli

sys.path.insert(0, str(PACKAGE_ROOT) + "/examples")
from cs231n_models import TwoLayerNet, data  # noqa: E402


def tanh_forward(x):
    return np.tanh(x), x


def tanh_backward_with_the_activation(dout, x):
    return dout * np.tanh(x)  # the activation where 1 - tanh**2 belongs


X = np.random.default_rng(7).standard_normal((3, 4))


def test_without_diagnosis_a_wrong_layer_fails_alike_and_says_nothing_of_how():
    told = gradcheck.check_layer(tanh_forward, tanh_backward_with_the_activation, [X])
    quiet = gradcheck.check_layer(tanh_forward, tanh_backward_with_the_activation, [X], diagnose=False)
    assert told.gradients["x"].cause == "activation for its derivative"  # the diagnosis is there by default
    assert quiet.exit_code == told.exit_code == 1 and quiet.status == told.status == "mismatch"
    assert quiet.gradients["x"].verdict == told.gradients["x"].verdict
    assert quiet.gradients["x"].diagnosis is None and quiet.gradients["x"].cause is None
    assert not any("not diagnosed" in n for n in quiet.notes), quiet.notes


CHECKS = {
    "vjp": lambda **o: gradcheck.check_vjp(np.tanh, lambda dout, x: dout * np.tanh(x), [X], **o),
    "function": lambda **o: gradcheck.check_function(lambda x: np.sum(np.tanh(x)), lambda x: np.tanh(x), [X], **o),
    "model": lambda **o: gradcheck.check_model(TwoLayerNet(reg=0.1, bug="reg x2"), *data(), **o),
}


@pytest.mark.parametrize("check", list(CHECKS))
def test_every_black_box_check_takes_it(check):
    told, quiet = CHECKS[check](), CHECKS[check](diagnose=False)
    assert told.exit_code == quiet.exit_code == 1
    assert any(g.diagnosis for g in told.gradients.values())
    assert all(g.diagnosis is None for g in quiet.gradients.values())


def test_a_right_layer_passes_without_it_too():
    result = gradcheck.check_layer(tanh_forward, lambda dout, x: dout * (1 - np.tanh(x) ** 2), [X], diagnose=False)
    assert result.exit_code == 0


@pytest.mark.parametrize("value", ["no", 0, None])
def test_a_value_that_is_not_true_or_false_is_refused(value):
    with pytest.raises(SpecError, match="diagnose must be True or False"):
        gradcheck.check_layer(tanh_forward, tanh_backward_with_the_activation, [X], diagnose=value)


def test_the_command_line_flag(tmp_path):
    layer = tmp_path / "layer.py"
    layer.write_text("import numpy as np\n\ndef forward(x):\n    return np.tanh(x), x\n\n"
                     "def backward(dout, x):\n    return dout * np.tanh(x)\n")
    args = ["layer", f"{layer}:forward", f"{layer}:backward", "--at", "x=randn(3,4)"]
    told, quiet = run_script(*args, cwd=tmp_path), run_script(*args, "--no-diagnosis", cwd=tmp_path)
    assert told.returncode == quiet.returncode == 1, (told.stderr, quiet.stderr)
    assert "derivative" in told.stdout and "how the claimed" in told.stdout
    assert "how the claimed" not in quiet.stdout and "mismatch" in quiet.stdout
    runner = make_runner().invoke(cli, [*args, "--no-diagnosis"])
    assert runner.exit_code == 1 and "how the claimed" not in runner.output
