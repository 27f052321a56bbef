"""Start-up is part of the interface: `gradcheck --help` and `import gradcheck` load no numpy, SymPy or rich,
and nothing but `gradcheck torch`/`gradcheck jax` and gradcheck.torch/gradcheck.jax load the optional
frameworks, torch and jax (installed or not)."""

import subprocess
import sys

import pytest

HEAVY = ("numpy", "sympy", "rich")
# The optional extras (pip install gradcheck[torch], gradcheck[jax]) and gradcheck's modules that import them.
FRAMEWORKS = ("torch", "jax", "jaxlib", "gradcheck.checks.torch_autograd", "gradcheck.checks.jax_autodiff")


@pytest.mark.parametrize("module", ["gradcheck", "gradcheck.cli", "gradcheck.torch", "gradcheck.jax"])
def test_importing_loads_no_heavy_dependency(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY + FRAMEWORKS!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_help_loads_no_heavy_dependency():
    code = ("import sys\nfrom gradcheck.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', ','.join(m for m in {HEAVY + FRAMEWORKS!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "LOADED"


def test_a_json_check_loads_only_what_it_uses():
    """`eval --format json` with every value given: no rich (the table's), no numpy.random (nothing is
    drawn), no Hessian, diagnosis or matrix-form modules (no --order 2, no claim, no --formulas)."""
    deferred = ("rich", "numpy.random", "gradcheck.checks.hessian", "gradcheck.diagnose.claims", "gradcheck.teach.matrix_form",
                "gradcheck.render.table", *FRAMEWORKS)
    # stdout swapped for a buffer: the console script's os._exit teardown is then left out (cli._own_process)
    code = ("import io, sys\nfrom gradcheck.cli import main\nsys.stdout = out = io.StringIO()\ntry:\n"
            "    main(['eval', 'sigmoid(w0*x0 + w1*x1 + w2)', '--at', 'w0=2,w1=-3,w2=-3,x0=-1,x1=-2',"
            " '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "sys.__stdout__.write(out.getvalue())\n"
            f"print('LOADED', ','.join(m for m in {deferred!r} if m in sys.modules), file=sys.__stdout__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert '"status": "pass"' in done.stdout, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED"


def test_a_numpy_check_and_a_table_load_no_framework():
    """A layer check through the API, printed as a table: torch and jax stay unloaded even where installed."""
    code = ("import sys, numpy as np, gradcheck\n"
            "r = gradcheck.check_vjp(np.tanh, lambda g, x: g * (1 - np.tanh(x) ** 2), [np.linspace(-1, 1, 4)])\n"
            "str(r)\n"
            f"print('LOADED', ','.join(m for m in {FRAMEWORKS!r} if m in sys.modules), r.status)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "LOADED  pass", done.stdout + done.stderr
