"""--at values for `gradcheck layer` as a user writes them: a malformed list names its column, whole
numbers say how to write floats, and huge or out-of-range random draws are exit 2.
"""

from __future__ import annotations


import pytest
from conftest import joined, run_script
from hostile_input import LAYERS, assert_exit, run


def test_a_malformed_list_for_a_layer_names_its_column(tmp_path):
    """eval showed the column and a caret; layer said only that '[1,2' was not a list."""
    (tmp_path / "relu.py").write_text("import numpy as np\ndef f(x):\n    return np.maximum(x, 0), x\n"
                                      "def b(dout, x):\n    return dout * (x > 0)\n")
    done = run_script("layer", "relu.py:f", "relu.py:b", "--at", "x=[1,2", cwd=tmp_path)
    assert done.returncode == 2 and "--at x, column 5" in done.stderr and "expected ',' or ']'" in done.stderr
    assert "\n  [1,2\n" in done.stderr  # the excerpt, with its caret below


def test_a_list_of_whole_numbers_says_how_to_write_floats(tmp_path):
    """[0,2,1] is integer data; the message said 'name the inputs with wrt=', which cannot differentiate it."""
    (tmp_path / "relu.py").write_text("import numpy as np\ndef f(x):\n    return np.maximum(x, 0), x\n"
                                      "def b(dout, x):\n    return dout * (x > 0)\n")
    done = run_script("layer", "relu.py:f", "relu.py:b", "--at", "x=[0,2,1]", cwd=tmp_path)
    assert done.returncode == 2 and "as floats" in joined(done.stderr) and "[1.0, 2, 3]" in joined(done.stderr)
    floats = run_script("layer", "relu.py:f", "relu.py:b", "--at", "x=[0.5,2,-1]", cwd=tmp_path)
    assert floats.returncode == 0, floats.stdout + floats.stderr


@pytest.mark.parametrize("value, words", [
    ("randint(0,99999999999999999999999,(3,))", ["randint", "64-bit"]),
    ("randint(0,10,(" + "9" * 5000 + ",))", ["too large"]),
    ("randn(" + "9" * 5000 + ")", ["too large"]),
])
def test_odd_layer_values_are_exit_2(tmp_path, value, words):
    (tmp_path / "layers.py").write_text(LAYERS)
    proc = run("layer", "layers.py:forward", "layers.py:backward", "--at", "x=randn(3)", "--at", f"y={value}",
               cwd=tmp_path)
    assert_exit(proc, 2, *words)
