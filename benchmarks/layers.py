"""Whole-process time of checking CS231n's layers with gradcheck, the conv layer at the assignment's
sizes first (x 4×3×5×5, w 2×3×3×3, stride 2, pad 1: issue 12 asks for under 10 s, symbolic
column included).

    python benchmarks/layers.py [--runs N]

Prints, per layer, the median and the fastest of N runs (the machine is shared; the fastest is the
least disturbed), the CPU time of the fastest run, and whether the symbolic column ran or why not.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time

CONV = ["sum(conv2d(x, w, b, stride=2, pad=1) * dout)",
        "x=randn(4,3,5,5),w=randn(2,3,3,3),b=randn(2),dout=randn(4,2,3,3)", "x,w,b"]
LAYERS = {
    "conv, CS231n sizes (x 4x3x5x5, w 2x3x3x3)": CONV,
    "max pool 2x2 on 4x3x8x8": ["sum(max_pool2d(x, 2, 2) * dout)", "x=randn(4,3,8,8),dout=randn(4,3,4,4)", "x"],
    "spatial batchnorm on 4x3x4x4": [
        ("sum((x - mean(x, axis=(0,2,3), keepdims=True)) / sqrt(mean((x - mean(x, axis=(0,2,3), keepdims=True))**2,"
         " axis=(0,2,3), keepdims=True) + 1e-5) * dout)"), "x=randn(4,3,4,4),dout=randn(4,3,4,4)", "x"],
    "LSTM step, N=3 D=4 H=2": [
        ("sum(sigmoid((x @ Wx + h @ Wh)[:, 4:6]) * tanh(sigmoid((x @ Wx + h @ Wh)[:, 2:4]) * c"
         " + sigmoid((x @ Wx + h @ Wh)[:, :2]) * tanh((x @ Wx + h @ Wh)[:, 6:])))"),
        "x=randn(3,4),h=randn(3,2),c=randn(3,2),Wx=randn(4,8),Wh=randn(2,8)", "x,h,c,Wx,Wh"],
}


def run(script: str, expr: str, at: str, wrt: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, what the symbolic column did)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([script, "eval", expr, "--at", at, "--wrt", wrt, "--format", "json"],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        return wall, cpu, "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    gradients = json.loads(done.stdout)["cases"][0]["gradients"].values()
    notes = {g.get("notes", {}).get("symbolic") or "ran" for g in gradients}
    return wall, cpu, ", ".join(sorted(notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    script = shutil.which("gradcheck") or sys.exit("the gradcheck console script is not on PATH")
    print(f"{'layer':45} {'median s':>9} {'fastest s':>10} {'cpu s':>7}  symbolic column")
    for name, (expr, at, wrt) in LAYERS.items():
        results = [run(script, expr, at, wrt) for _ in range(runs)]
        walls = [r[0] for r in results]
        fastest = min(results)
        print(f"{name:45} {statistics.median(walls):9.2f} {fastest[0]:10.2f} {fastest[1]:7.2f}  {fastest[2]}")


if __name__ == "__main__":
    main()
