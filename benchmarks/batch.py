"""Batch throughput of `gradcheck check`: 1,000 scalar cases, in one process and with -j 2.

    python benchmarks/batch.py [--cases 1000]

Whole-process wall time of the console script (start-up included), and cases per second.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATES = [
    ('sigmoid(w0*x0 + w1*x1 + w2)', 'w0 = {a}, w1 = {b}, w2 = {c}, x0 = {d}, x1 = {e}', ''),
    ('(x + y) * z', 'x = {a}, y = {b}, z = {c}', 'grad = {{ x = "z", y = "z", z = "x + y" }}'),
    ('(1 - x)^2 + 100*(y - x^2)^2', 'x = {a}, y = {b}', 'grad = {{ x = "-2*(1 - x) - 400*x*(y - x^2)" }}'),
    ('tanh(a*b) + exp(-c^2)', 'a = {a}, b = {b}, c = {c}', 'grad = {{ c = "-2*c*exp(-c^2)" }}'),
]


def write_cases(path: Path, count: int) -> None:
    lines = []
    for i in range(count):
        expr, at, grad = TEMPLATES[i % len(TEMPLATES)]
        numbers = {k: round(((i * 7 + j * 13) % 19 - 9) / 4 + 0.1, 3) for j, k in enumerate("abcde")}
        lines += ["[[case]]", f'name = "case {i}"', f'expr = "{expr}"', f"at = {{ {at.format(**numbers)} }}"]
        if grad:
            lines.append(grad.format())
        lines.append("")
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    count = parser.parse_args().cases
    script = shutil.which("gradcheck")
    if script is None:
        sys.exit("the gradcheck console script is not on PATH: pip install -e . first")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "cases.toml"
        write_cases(target, count)
        print(f"gradcheck check on {count:,} scalar cases (4 kinds: sigmoid neuron, (x+y)*z, Rosenbrock, tanh/exp)")
        for jobs in (1, 2):
            start = time.perf_counter()
            done = subprocess.run([script, "check", str(target), "-j", str(jobs), "--format", "json"],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
            print(f"  -j {jobs}: {seconds:6.2f} s, {count / seconds:6.1f} cases/s  (exit {done.returncode})")


if __name__ == "__main__":
    main()
