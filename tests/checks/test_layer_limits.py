"""Your own layer at its limits: an output over the size limit is refused, and a right layer whose
values overflow float64 says why nothing was compared.
"""

from __future__ import annotations


from hostile_input import LAYERS, MEMORY_LIMIT, assert_exit, run


def test_a_layer_whose_output_is_beyond_the_cap_is_refused(tmp_path):
    (tmp_path / "layers.py").write_text(LAYERS)
    proc = run("layer", "layers.py:huge", "layers.py:backward", "--at", "x=randn(3)", cwd=tmp_path,
               memory=MEMORY_LIMIT)
    assert_exit(proc, 2, "10,000,001 entries", "the limit is 10,000,000")


def test_a_right_layer_at_1e308_says_why_nothing_was_compared_without_warnings(tmp_path):
    (tmp_path / "scaled.py").write_text("def forward(x, p):\n    return x * p, p\n\n\n"
                                        "def backward(dout, p):\n    return dout * p\n")
    proc = run("layer", "scaled.py:forward", "scaled.py:backward", "--at", "x=randn(3)", "--at", "p=1e308",
               cwd=tmp_path)
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "overflows float64" in proc.stdout
