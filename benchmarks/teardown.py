"""What the interpreter's teardown costs once gradcheck's imports are loaded, and what os._exit saves.

    python benchmarks/teardown.py [--runs N]

Each run prints the wall-clock time as its last act; the time from that line to the end of the
process is its teardown. Runs alternate between a normal exit and os._exit (after flushing), so that
load on a shared machine hits both alike. cli.py ends the console script with os._exit on these figures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

WORK = ("import sympy, numpy, gradcheck.checks.expression, time, sys, os; x = sympy.Symbol('x'); "
        "sympy.diff(sympy.exp(x), x); print(time.time(), flush=True)")
ENDINGS = {"normal exit": "", "os._exit after flushing": "; sys.stderr.flush(); os._exit(0)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    runs = parser.parse_args().runs
    teardown: dict[str, list[float]] = {name: [] for name in ENDINGS}
    for r in range(runs):
        for name in (list(ENDINGS) if r % 2 == 0 else list(reversed(ENDINGS))):
            done = subprocess.run([sys.executable, "-c", WORK + ENDINGS[name]], capture_output=True, text=True)
            teardown[name].append(time.time() - float(done.stdout.split()[0]))
    for name, seconds in teardown.items():
        print(f"{name:<26} teardown median {statistics.median(seconds) * 1000:.0f} ms over {runs} runs")


if __name__ == "__main__":
    main()
