"""gradcheck against its peers, whole process, interleaved, as paired ratios (issue 15's table).

    python benchmarks/peers.py [--rounds N] [--quick]

Each round runs gradcheck and then every peer on the same case (the order alternating from round
to round), so that load on this shared machine hits both sides of a pair alike; a ratio is
gradcheck's time over the peer's within one round, and the median ratio is printed with the
medians of both. Peers run where installed (the `bench` extra brings scipy and numdifftools;
torch and jax are used when importable) and say so where not.

Cases:
- the CS231n sigmoid neuron, whole process (start-up included), with the symbolic store off (SymPy
  imported and differentiating in every process) and warm (SymPy's derivatives read from disk);
- the two-layer relu net with 112 parameters (X 16x10, W1 10x8, W2 8x4), whole process, gradcheck's
  symbolic column included, against scipy's check_grad on the flattened parameters;
- batch throughput: 300 and 1,000 scalar cases with `check -j 1` and `-j 2` (the symbolic store warmed first);
- a 1,000,000-parameter two-layer net in the default mode, with the table and with --format json:
  whole-process time and the process's own peak memory against the size of its arrays.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

NEURON_ARGS = ["eval", "sigmoid(w0*x0 + w1*x1 + w2)", "--at", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2"]
NET_EXPR = "softmax_ce(relu(X @ W1) @ W2, y)"


def net_args(m: int, n: int, d: int, k: int) -> list[str]:
    labels = ",".join(str(i % k) for i in range(m))
    return ["eval", NET_EXPR, "--at", f"X=randn({m},{n}),W1=randn({n},{d}),W2=randn({d},{k}),y=[{labels}]",
            "--wrt", "W1,W2"]


# The peers: each a self-contained script run as `python -c`, checking the same gradient.
NEURON_PEERS = {
    "scipy check_grad": ("scipy", """
import numpy as np
from scipy.optimize import check_grad
x = np.array([-1.0, -2.0])
f = lambda w: 1 / (1 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
def g(w):
    s = f(w)
    return s * (1 - s) * np.array([x[0], x[1], 1.0])
print(check_grad(f, g, np.array([2.0, -3.0, -3.0])))
"""),
    "numdifftools Gradient": ("numdifftools", """
import numpy as np, numdifftools as nd
x = np.array([-1.0, -2.0])
f = lambda w: 1 / (1 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
print(nd.Gradient(f)(np.array([2.0, -3.0, -3.0])))
"""),
    "torch gradcheck": ("torch", """
import torch
x = torch.tensor([-1.0, -2.0], dtype=torch.float64)
f = lambda w: torch.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
print(torch.autograd.gradcheck(f, (torch.tensor([2.0, -3.0, -3.0], dtype=torch.float64, requires_grad=True),)))
"""),
    "jax check_grads": ("jax", """
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
from jax.test_util import check_grads
x = jnp.array([-1.0, -2.0])
f = lambda w: jax.nn.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
check_grads(f, (jnp.array([2.0, -3.0, -3.0]),), order=1)
print("ok")
"""),
}

NET_PEERS = {
    "scipy check_grad (full)": ("scipy", """
import numpy as np
from scipy.optimize import check_grad
rng = np.random.default_rng(0)
m, n, d, k = 16, 10, 8, 4
X = rng.standard_normal((m, n)); y = np.arange(m) % k
shapes = [(n, d), (d, k)]
def unpack(p):
    W1 = p[: n * d].reshape(n, d); W2 = p[n * d:].reshape(d, k); return W1, W2
def loss(p):
    W1, W2 = unpack(p); Z = np.maximum(X @ W1, 0) @ W2
    Z = Z - Z.max(1, keepdims=True); return np.mean(np.log(np.exp(Z).sum(1)) - Z[np.arange(m), y])
def grad(p):
    W1, W2 = unpack(p); H = np.maximum(X @ W1, 0); Z = H @ W2
    S = np.exp(Z - Z.max(1, keepdims=True)); S /= S.sum(1, keepdims=True); S[np.arange(m), y] -= 1; S /= m
    return np.concatenate([(X.T @ ((S @ W2.T) * (X @ W1 > 0))).ravel(), (H.T @ S).ravel()])
print(check_grad(loss, grad, rng.standard_normal(n * d + d * k)))
"""),
}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def run(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv[:3])}... failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return seconds


def run_alone(argv: list[str]) -> tuple[float, int]:
    """Wall time and this child's own peak resident memory (KB, from wait4), stdout discarded."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in (0, 1):
            errors.seek(0)
            raise RuntimeError(f"{' '.join(argv[:3])}... failed: {errors.read().decode()[-300:]}")
    return seconds, usage.ru_maxrss


def paired(label: str, ours: list[str], peers: dict[str, tuple[str, str]], rounds: int) -> None:
    present = {name: code for name, (module, code) in peers.items() if available(module)}
    for name, (module, _) in peers.items():
        if name not in present:
            print(f"  {label} vs {name}: not measured ({module} is not installed)")
    times: dict[str, list[float]] = {"gradcheck": [], **{name: [] for name in present}}
    ratios: dict[str, list[float]] = {name: [] for name in present}
    for r in range(rounds):
        order = ["gradcheck", *present] if r % 2 == 0 else [*present, "gradcheck"]
        got = {}
        for who in order:
            got[who] = run(ours if who == "gradcheck" else [sys.executable, "-c", textwrap.dedent(present[who])])
            times[who].append(got[who])
        for name in present:
            ratios[name].append(got["gradcheck"] / got[name])
    print(f"  {label}: gradcheck median {statistics.median(times['gradcheck']):.2f} s")
    for name in present:
        print(f"    vs {name:<26} median {statistics.median(times[name]):.2f} s   "
              f"paired ratio gradcheck/peer {statistics.median(ratios[name]):.2f}x")


def batch(script: str, cases: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.toml"
        path.write_text("".join(f'[[case]]\nname = "c{i}"\nexpr = "sin(x*{i % 7 + 1}) * exp(y) + x*y"\n'
                                f'at = {{ x = {0.1 + i % 13 / 10}, y = {0.2 - i % 5 / 10} }}\n' for i in range(cases)))
        single = Path(folder) / "one.toml"
        single.write_text("[[case]]" + path.read_text().split("[[case]]")[1])  # the first case alone
        run([script, "check", str(path), "--format", "json"])  # untimed: the symbolic store warm for these kinds
        per_job: dict[int, list[float]] = {1: [], 2: []}
        fixed: list[float] = []
        for r in range(rounds):
            for jobs in ((1, 2) if r % 2 == 0 else (2, 1)):
                per_job[jobs].append(cases / run([script, "check", str(path), "-j", str(jobs), "--format", "json"]))
            fixed.append(run([script, "check", str(single), "--format", "json"]))
        one, two = (statistics.median(per_job[j]) for j in (1, 2))
        # Amdahl: what a process of one case costs (interpreter, imports, reading, rendering) cannot be
        # split across workers; with S that and P the rest of -j 1's time, -j 2 takes at least S + P/2.
        serial = statistics.median(fixed)
        work = cases / one - serial
        print(f"  {cases} scalar cases: -j 1 {one:.0f} cases/s, -j 2 {two:.0f} cases/s ({two / one:.2f}x); "
              f"a one-case process takes {serial:.2f} s, so -j 2 can reach at most "
              f"{(serial + work) / (serial + work / 2):.2f}x")


def million(script: str, rounds: int) -> None:
    m, n, d, k = 256, 1000, 990, 10  # W1 990,000 + W2 9,900 = 999,900 parameters
    args = net_args(m, n, d, k)
    arrays_mb = 8 * (m * n + n * d + d * k) / 1e6
    # The process's own memory before any array: the same command on a 4-entry net (interpreter,
    # numpy and gradcheck loaded), so that what the 1M net adds can be set against its arrays.
    # The default output (the table) and --format json, which writes the point and the backprop column
    # (schema 3: packed as base64, docs/reference/json.md; 25 MB of text).
    for label, extra in (("table (default)", []), ("--format json", ["--format", "json"])):
        tiny = [script, *net_args(2, 2, 2, 2), *extra]
        run_alone(tiny)  # untimed: the symbolic store warm for it, as for the 1M net (whose column is skipped)
        idle_mb = run_alone(tiny)[1] / 1e3
        times, peaks = [], []
        for _ in range(rounds):
            seconds, peak_kb = run_alone([script, *args, *extra])
            times.append(seconds)
            peaks.append(peak_kb / 1e3)
        added = max(peaks) - idle_mb
        print(f"  999,900-parameter net, default mode, {label}: median {statistics.median(times):.2f} s whole "
              f"process; peak memory {max(peaks):.0f} MB, {added:.0f} MB above a 4-entry net's {idle_mb:.0f} MB, "
              f"for {arrays_mb:.0f} MB of arrays ({added / arrays_mb:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the batch and the 1M-parameter net")
    options = parser.parse_args()
    script = shutil.which("gradcheck", path=os.path.dirname(sys.executable)) or shutil.which("gradcheck")
    if script is None:
        sys.exit("the gradcheck console script is not on PATH: pip install -e . first")
    print(f"whole-process wall time, {options.rounds} interleaved rounds (python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as store:
        # The symbolic store (gradcheck/oracles/sym_store.py), in a folder of this run's own: first
        # turned off, so every gradcheck process imports SymPy and differentiates; then warmed by one
        # untimed run of the case, as it is from the second check of the same kinds of call on.
        for state in ("off", "warm"):
            os.environ["GRADCHECK_CACHE_DIR"] = "" if state == "off" else store
            for label, args, peers in (("sigmoid neuron", NEURON_ARGS, NEURON_PEERS),
                                       ("two-layer relu net, 112 parameters", net_args(16, 10, 8, 4), NET_PEERS)):
                if state == "warm":
                    run([script, *args])
                paired(f"{label}, symbolic store {state}", [script, *args], peers, options.rounds)
        if not options.quick:
            for cases in (300, 1000):
                batch(script, cases, max(2, options.rounds // 2))
            million(script, max(1, options.rounds // 2))


if __name__ == "__main__":
    main()
