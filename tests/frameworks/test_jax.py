"""gradcheck.jax: jax.custom_vjp and custom_jvp rules (and JAX's own) against the numeric oracle.

Each check runs in a fresh interpreter (jax_cases.py): JAX starts threads when it is imported, and a
pytest worker that had imported it would later fork (the batch tests' -j) with them running."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import SUBPROCESS_TIMEOUT, subprocess_env

pytestmark = pytest.mark.skipif(find_spec("jax") is None, reason="gradcheck.jax needs jax: pip install 'gradcheck[jax]'")

HERE = Path(__file__).resolve().parent
CASES = [
    'a_right_custom_vjp_passes_in_float64_and_leaves_x64_as_it_was',
    'a_wrong_custom_vjp_fails',
    'a_custom_jvp_is_checked_through_its_vjp',
    'float32_and_bfloat16_are_judged_in_their_precision',
    'integer_arrays_are_data_and_errors_are_one_line',
    'the_command_line_in_process',
]


@pytest.mark.parametrize("case", CASES)
def test_jax(case):
    env = subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join((str(HERE), str(HERE.parent), env["PYTHONPATH"]))
    done = subprocess.run([sys.executable, str(HERE / "jax_cases.py"), case], capture_output=True, text=True,
                          env=env, timeout=SUBPROCESS_TIMEOUT, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
