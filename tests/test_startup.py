"""Start-up is part of the interface: `gradcheck --help` and `import gradcheck` load no numpy, SymPy or rich."""

import subprocess
import sys

import pytest

HEAVY = ("numpy", "sympy", "rich")


@pytest.mark.parametrize("module", ["gradcheck", "gradcheck.cli"])
def test_importing_loads_no_heavy_dependency(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_help_loads_no_heavy_dependency():
    code = ("import sys\nfrom gradcheck.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "LOADED"
