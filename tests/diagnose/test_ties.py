"""A kink from ties says so and offers a check at a point without ties, which --retry-at-random does
(issue 27): max pooling over equal entries passed as a kink, right backward or not."""

from __future__ import annotations

import sys

import numpy as np
from conftest import PACKAGE_ROOT, run_script

import gradcheck

sys.path.insert(0, str(PACKAGE_ROOT) + "/examples")
import cs231n_layers as L  # noqa: E402

PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def tied_pool():
    x = np.random.default_rng(3).standard_normal((1, 1, 2, 2))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x.max() + 1
    return x


def test_a_kink_from_ties_offers_a_retry():
    result = gradcheck.check_layer(L.max_pool_forward_naive, L.max_pool_backward_naive, [tied_pool(), PARAM])
    assert result.status == "kink" and result.exit_code == 0
    assert any("the kinks of x are at ties" in n and "--retry-at-random" in n for n in result.notes), result.notes


def test_the_retry_checks_again_where_nothing_is_tied():
    right = gradcheck.check_layer(L.max_pool_forward_naive, L.max_pool_backward_naive, [tied_pool(), PARAM],
                                  retry_at_random=True)
    assert right.status == "pass" and "checked again at a random point" in right.notes[0]

    def first_of_the_window(dout, cache):  # right only where the maximum is the window's first entry
        x, _ = cache
        dx = np.zeros_like(x)
        dx[:, :, ::2, ::2] = dout
        return dx

    x = tied_pool()
    x[0, 0, 0, 0] = x[0, 0, 0, 1]  # three tied maxima, the first among them
    wrong = gradcheck.check_layer(L.max_pool_forward_naive, first_of_the_window, [x, PARAM], retry_at_random=True)
    assert wrong.status == "mismatch" and wrong.exit_code == 1


def test_a_kink_that_is_not_a_tie_gets_no_such_note():
    x = np.array([[0.0, 1.0], [-1.0, 2.0]])
    relu = gradcheck.check_layer(L.relu_forward, L.relu_backward, [x])
    assert relu.status == "kink" and not any("ties" in n for n in relu.notes)


def test_the_command_line_flag(tmp_path):
    np.save(tmp_path / "x.npy", tied_pool())
    args = ["layer", f"{PACKAGE_ROOT}/examples/cs231n_layers.py:max_pool_forward_naive",
            f"{PACKAGE_ROOT}/examples/cs231n_layers.py:max_pool_backward_naive", "--at", f"x={tmp_path / 'x.npy'}",
            "--at", 'pool_param={"pool_height": 2, "pool_width": 2, "stride": 2}']
    kink = run_script(*args, cwd=tmp_path)
    assert kink.returncode == 0 and "--retry-at-random" in " ".join(kink.stdout.split())
    again = run_script(*args, "--retry-at-random", cwd=tmp_path)
    assert again.returncode == 0 and "checked again at a random point" in " ".join(again.stdout.split()), again.stdout
