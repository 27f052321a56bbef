"""gradcheck.torch and gradcheck.jax against the frameworks' own checkers, on custom Functions and layers.

    python benchmarks/frameworks.py [--rounds N] [--quick]

The cases are the examples' Functions (examples/torch_functions.py, examples/jax_functions.py): a
convolution, causal attention and a layer norm, each right and with a classic wrong backward (a
weight gradient divided by the batch, p where pᵀ belongs, the mask dropped in the backward, a
forgotten 1/sigma), and a right float32 layer norm. Each checker runs in a process of its own
(`python -c`), so each time is a whole process, imports included, as a user or a CI job pays it;
within a round every checker runs once on the case, in an order that alternates between rounds, so
that load on a shared machine hits all alike. Printed per case: each checker's median time, its
peak memory (the child's ru_maxrss), whether it caught the bug (or passed the right one), and
gradcheck's median time over each peer's (paired within rounds).

Peers: torch.autograd.gradcheck with fast_mode=False and True, jax.test_util.check_grads (order 1,
reverse mode: a custom_vjp has no forward mode). A framework that is not installed is said so.

Every child runs with one intra-op thread (OMP_NUM_THREADS=1, as gradcheck.torch sets for its own
check): on a loaded machine torch's thread pool makes a small conv2d 2,000 times slower (12.7 ms a
call against 0.005 ms), which would measure the load, not the checkers.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}

# (label, the example's name, input shapes, the bug or None, dtype)
TORCH_CASES = [
    ("conv", "Conv", [(2, 2, 5, 5), (3, 2, 3, 3)], None, "float64"),
    ("conv", "ConvHalfWeight", [(2, 2, 5, 5), (3, 2, 3, 3)], "a factor (1/N)", "float64"),
    ("attention", "Attention", [(4, 3)] * 3, None, "float64"),
    ("attention", "AttentionTransposed", [(4, 3)] * 3, "a transpose", "float64"),
    ("attention", "AttentionNoMask", [(4, 3)] * 3, "a dropped mask", "float64"),
    ("layer norm", "LayerNorm", [(4, 6)], None, "float64"),
    ("layer norm", "LayerNormNoFactor", [(4, 6)], "a factor (1/sigma)", "float64"),
    ("layer norm", "LayerNorm", [(4, 6)], None, "float32"),
]
JAX_CASES = [
    ("conv", "conv", [(2, 2, 5, 5), (3, 2, 3, 3)], None, "float64"),
    ("conv", "conv_half_weight", [(2, 2, 5, 5), (3, 2, 3, 3)], "a factor (1/N)", "float64"),
    ("attention", "attention", [(4, 3)] * 3, None, "float64"),
    ("attention", "attention_transposed", [(4, 3)] * 3, "a transpose", "float64"),
    ("attention", "attention_no_mask", [(4, 3)] * 3, "a dropped mask", "float64"),
    ("layer norm", "layer_norm", [(4, 6)], None, "float64"),
    ("layer norm", "layer_norm_no_factor", [(4, 6)], "a factor (1/sigma)", "float64"),
    ("layer norm", "layer_norm", [(4, 6)], None, "float32"),
]

# Each child prints FAILED (the checker reported the gradient wrong) or PASSED, and nothing else matters.
TORCH_INPUTS = """
import sys, torch
sys.path.insert(0, {examples!r})
import torch_functions as examples
fn = examples.{name}
g = torch.Generator().manual_seed(0)
inputs = [torch.randn(*s, dtype=torch.{dtype}, generator=g, requires_grad=True) for s in {shapes!r}]
"""
CHECKERS_TORCH = {
    "gradcheck.torch": TORCH_INPUTS + """
import gradcheck.torch
print("FAILED" if gradcheck.torch.check(fn, *inputs).status == "mismatch" else "PASSED")
""",
    "torch gradcheck": TORCH_INPUTS + """
print("PASSED" if torch.autograd.gradcheck(fn.apply, inputs, raise_exception=False) else "FAILED")
""",
    "torch gradcheck fast": TORCH_INPUTS + """
print("PASSED" if torch.autograd.gradcheck(fn.apply, inputs, raise_exception=False, fast_mode=True) else "FAILED")
""",
}
JAX_INPUTS = """
import sys, numpy as np
sys.path.insert(0, {examples!r})
import jax_functions as examples
fn = examples.{name}
rng = np.random.default_rng(0)
inputs = [rng.standard_normal(s).astype(np.{dtype}) for s in {shapes!r}]
"""
CHECKERS_JAX = {
    "gradcheck.jax": JAX_INPUTS + """
import gradcheck.jax
print("FAILED" if gradcheck.jax.check(fn, *inputs).status == "mismatch" else "PASSED")
""",
    "jax check_grads": JAX_INPUTS + """
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax.test_util import check_grads
try:
    check_grads(fn, tuple(jnp.asarray(i) for i in inputs), order=1, modes=("rev",))
    print("PASSED")
except AssertionError:
    print("FAILED")
""",
}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def run_alone(code: str) -> tuple[float, float, str]:
    """Wall time, the child's own peak resident memory (MB, from wait4) and what it printed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=errors,
                                 env={**os.environ, **ONE_THREAD})
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        printed = out.read().decode().strip().splitlines()
        if os.waitstatus_to_exitcode(status) != 0 or not printed:
            errors.seek(0)
            raise RuntimeError(f"a checker failed: {errors.read().decode()[-400:]}")
    return seconds, usage.ru_maxrss / 1e3, printed[-1]


def compare(title: str, cases: list, checkers: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """One table: each case with every checker, interleaved; returns gradcheck's paired ratio to each peer, per case."""
    ours, *peers = checkers
    print(f"\n{title} ({rounds} rounds; time is the median whole process, memory the peak)")
    print(f"  {'case':<40}" + "".join(f"{who:>30}" for who in checkers))
    per_case: dict[str, list[float]] = {who: [] for who in peers}
    for label, name, shapes, bug, dtype in cases:
        codes = {who: code.format(examples=str(EXAMPLES), name=name, shapes=shapes, dtype=dtype)
                 for who, code in checkers.items()}
        times: dict[str, list[float]] = {who: [] for who in checkers}
        memory: dict[str, float] = {who: 0.0 for who in checkers}
        said: dict[str, str] = {}
        ratios: dict[str, list[float]] = {who: [] for who in peers}
        for r in range(rounds):
            order = list(checkers) if r % 2 == 0 else list(reversed(checkers))
            for who in order:
                seconds, peak, printed = run_alone(codes[who])
                times[who].append(seconds)
                memory[who] = max(memory[who], peak)
                said[who] = printed
            for who in peers:
                ratios[who].append(times[ours][-1] / times[who][-1])
        for who in peers:
            per_case[who].append(statistics.median(ratios[who]))
        what = f"{label} {dtype}, " + (bug if bug else "right")
        cells = []
        for who in checkers:
            right = (said[who] == "FAILED") == (bug is not None)
            verdict = ("caught" if bug else "passed") if right else ("MISSED" if bug else "FALSE FAIL")
            cells.append(f"{statistics.median(times[who]):5.2f} s {memory[who]:4.0f} MB {verdict:>10}")
        print(f"  {what:<40}" + "".join(f"{c:>30}" for c in cells))
        print(f"  {'':<40}{'gradcheck / peer:':>30}" + "".join(f"{statistics.median(ratios[w]):>29.2f}x" for w in peers))
    return per_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round, the first two cases of each framework")
    options = parser.parse_args()
    rounds = 1 if options.quick else options.rounds
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    summary = []
    for module, title, cases, checkers in (("torch", "PyTorch custom Functions", TORCH_CASES, CHECKERS_TORCH),
                                           ("jax", "JAX custom_vjp functions", JAX_CASES, CHECKERS_JAX)):
        if not available(module):
            print(f"\n{title}: not measured ({module} is not installed: pip install 'gradcheck[{module}]')")
            continue
        ratios = compare(title, cases[:2] if options.quick else cases, checkers, rounds)
        summary.append(f"{module}: gradcheck's time over the peer's, median over the cases: " +
                       ", ".join(f"{statistics.median(r):.2f}x {who}" for who, r in ratios.items()))
    print("\n" + "\n".join(summary))


if __name__ == "__main__":
    main()
