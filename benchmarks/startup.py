"""Whole-process time of the README's first command, start-up included, against its baselines.

    python benchmarks/startup.py [--runs N]

Prints the median and the fastest of N runs (the machine is shared; the fastest is the least
disturbed). Peers are timed only where installed; otherwise their line says so.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

NEURON = ["eval", "sigmoid(w0*x0 + w1*x1 + w2)", "--at", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"]

PEERS = {
    "python -c pass (interpreter start-up)": "pass",
    "python -c 'import sympy'": "import sympy",
    "scipy.optimize.check_grad, same neuron": (
        "import numpy as np; from scipy.optimize import check_grad\n"
        "x=np.array([-1.,-2.]); f=lambda w: 1/(1+np.exp(-(w[0]*x[0]+w[1]*x[1]+w[2])))\n"
        "def g(w):\n s=f(w); return s*(1-s)*np.array([x[0],x[1],1.])\n"
        "print(check_grad(f, g, np.array([2.,-3.,-3.])))"),
}


def timed(argv: list[str], runs: int) -> list[float] | str:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            return (done.stderr.strip().splitlines() or ["failed"])[-1]
    return times


def line(label: str, result: list[float] | str) -> str:
    if isinstance(result, str):
        return f"{label:<48} not measured: {result}"
    return f"{label:<48} median {statistics.median(result):.3f} s   fastest {min(result):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    script = shutil.which("gradcheck")
    print(f"whole-process wall time over {runs} runs (python {sys.version.split()[0]})")
    if script is None:
        sys.exit("the gradcheck console script is not on PATH: pip install -e . first")
    print(line("gradcheck eval <sigmoid neuron> (table)", timed([script, *NEURON], runs)))
    print(line("gradcheck eval <sigmoid neuron> --format json", timed([script, *NEURON, "--format", "json"], runs)))
    print(line("gradcheck --help", timed([script, "--help"], runs)))
    for label, code in PEERS.items():
        print(line(label, timed([sys.executable, "-c", code], runs)))


if __name__ == "__main__":
    main()
