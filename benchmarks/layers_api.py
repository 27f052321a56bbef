"""Time of check_layer on CS231n layers: the naive conv layer (x 4×3×5×5, w 2×3×3×3) and a 100k-parameter
affine layer, in full and fast mode.

    python benchmarks/layers_api.py [--skip-full-affine]

Full mode differences every entry (all DOUTS douts share each forward pass); fast mode probes random
directions and entries per input. Wall time of one check each, in this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread: on a shared machine, threaded BLAS made each 10x500 @ 500x200 product 100x slower
# (27 ms instead of 0.3 ms) and the figures measured the contention, not gradcheck.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import cs231n_layers as L  # noqa: E402

import gradcheck  # noqa: E402


def timed(label: str, forward, backward, inputs, mode: str) -> None:
    started = time.perf_counter()
    result = gradcheck.check_layer(forward, backward, inputs, mode=mode)
    seconds = time.perf_counter() - started
    entries = sum(np.size(v) for v in inputs if isinstance(v, np.ndarray))
    print(f"{label:<44} {mode:<5} {entries:>8,} entries  {seconds:8.2f} s  {result.status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-full-affine", action="store_true", help="leave out the slow full-mode affine check")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    conv = [rng.standard_normal((4, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2),
            {"stride": 1, "pad": 1}]
    affine = [rng.standard_normal((10, 500)), 0.05 * rng.standard_normal((500, 200)), rng.standard_normal(200)]
    print(f"gradcheck {gradcheck.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}")
    for mode in ("full", "fast"):
        timed("conv_forward_naive (x 4x3x5x5, w 2x3x3x3)", L.conv_forward_naive, L.conv_backward_naive, conv, mode)
    for mode in ("fast",) if args.skip_full_affine else ("full", "fast"):
        timed("affine_forward (x 10x500, w 500x200: 100k)", L.affine_forward, L.affine_backward, affine, mode)


if __name__ == "__main__":
    main()
