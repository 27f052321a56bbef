"""Property tests of issue 12's primitives: over random shapes, axes, slices, indices and broadcasts,
the engine's gradient (the registry's VJPs, chained and unbroadcast by backprop) equals central
differences of the forward pass. Deterministic (derandomize) and small, so they stay quick.

Each strategy builds the text of f = sum(op(...) * G), with G a fixed random upstream gradient, and
the point; values come from a seeded generator, so no example depends on hypothesis' floats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck.language.evaluate import forward, value
from gradcheck.language.parser import parse
from gradcheck.language.tree import differentiable_variables
from gradcheck.oracles.backprop import backprop

EXAMPLES = 12  # per property; each runs in milliseconds
STEP = 1e-6  # central differences of O(1) functions: ~1e-10 truncation and rounding
# Random entries closer than this to a kink (a tie in a max) would let a difference cross it.
KINK_GAP = 1e-3

quick = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

shapes = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**16)


def _text(values) -> str:
    return repr(values).replace(" ", "")


def engine_matches_differences(expr: str, point: dict[str, np.ndarray]) -> None:
    """Backprop's gradient of every differentiable variable against central differences."""
    root = parse(expr)
    wrt = differentiable_variables(root)
    values = forward(root, point)
    grads = backprop(root, values, wrt)
    for var in wrt:
        x = np.asarray(point[var.name], dtype=np.float64)
        expected = np.empty(x.shape)
        for idx in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[idx] += STEP
            down[idx] -= STEP
            expected[idx] = (value(root, {**point, var.name: up}) - value(root, {**point, var.name: down})) / (2 * STEP)
        np.testing.assert_allclose(grads[var.name], expected, rtol=1e-6, atol=1e-7, err_msg=f"{expr} by {var.name}")


def _upstream(rng, shape):
    return rng.standard_normal(shape)


@st.composite
def axes_of(draw, ndim: int):
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


def _reduced_shape(shape, axis, keepdims):
    axes = range(len(shape)) if axis is None else [a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))]
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keepdims or i not in axes)


def _no_ties(x, axis) -> bool:
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
    rest = [i for i in range(x.ndim) if i not in axes]
    rows = np.transpose(x, rest + list(axes)).reshape(*[x.shape[i] for i in rest], -1)
    ordered = np.sort(rows, axis=-1)
    return ordered.shape[-1] < 2 or bool(np.min(np.diff(ordered, axis=-1)) > KINK_GAP)


@quick
@given(st.sampled_from(["sum", "mean", "max", "min", "logsumexp"]), shapes, st.data(), st.booleans(), seeds)
def test_reductions_over_axes(op, shape, data, keepdims, seed):
    axis = data.draw(axes_of(len(shape)))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if op in ("max", "min") and not _no_ties(x, axis):
        return
    g = _upstream(rng, _reduced_shape(shape, axis, keepdims))
    engine_matches_differences(f"sum({op}(x, axis={axis!r}, keepdims={keepdims}) * G)", {"x": x, "G": g})


@quick
@given(st.sampled_from(["softmax", "log_softmax"]), shapes, st.data(), seeds)
def test_softmax_over_axes(op, shape, data, seed):
    axis = data.draw(axes_of(len(shape)))
    rng = np.random.default_rng(seed)
    engine_matches_differences(f"sum({op}(x, axis={axis!r}) * G)",
                               {"x": rng.standard_normal(shape), "G": _upstream(rng, shape)})


@st.composite
def broadcast_pair(draw):
    full = draw(shapes)
    def operand():
        kept = full[draw(st.integers(0, len(full) - 1)):]
        return tuple(1 if draw(st.booleans()) else n for n in kept)
    return full, operand(), operand()


@quick
@given(st.sampled_from(["a + b", "a - b", "a * b", "a / (2 + b**2)", "maximum(a, b)", "where(a > b, a, b**2)",
                        "clip(a, b, 1)", "leaky_relu(a, b)"]), broadcast_pair(), seeds)
def test_elementwise_operations_broadcast(expr, pair, seed):
    _, sa, sb = pair
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    if np.min(np.abs(np.subtract(a, b))) < KINK_GAP or np.min(np.abs(a)) < KINK_GAP \
            or np.min(np.abs(np.subtract(a, 1))) < KINK_GAP:
        return
    out = np.broadcast_shapes(sa, sb)
    engine_matches_differences(f"sum(({expr}) * G)", {"a": a, "b": b, "G": _upstream(rng, out)})


@quick
@given(shapes, st.data(), seeds)
def test_reshape_transpose_and_broadcast_to(shape, data, seed):
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    target = data.draw(st.sampled_from([(-1,), (size, 1), (1, -1), (size,)]))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    extra = data.draw(st.integers(1, 3))
    x = rng.standard_normal(shape)
    engine_matches_differences(f"sum(reshape(x, {target!r}) ** 2 * G)",
                               {"x": x, "G": _upstream(rng, np.reshape(x, target).shape)})
    engine_matches_differences(f"sum(transpose(x, {perm!r}) * G)",
                               {"x": x, "G": _upstream(rng, tuple(shape[i] for i in perm))})
    engine_matches_differences(f"sum(broadcast_to(x, {(extra, *shape)!r}) * G)",
                               {"x": x, "G": _upstream(rng, (extra, *shape))})


@quick
@given(shapes, st.data(), seeds)
def test_concatenate_stack_and_pad(shape, data, seed):
    rng = np.random.default_rng(seed)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    widths = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    joined = np.concatenate([a, b, a], axis=axis)
    engine_matches_differences(f"sum(concatenate((a, b, a), axis={axis}) * G)", {"a": a, "b": b, "G": _upstream(rng, joined.shape)})
    stacked = np.stack([a, b], axis=axis)
    engine_matches_differences(f"sum(stack((a, b), axis={axis}) * G)", {"a": a, "b": b, "G": _upstream(rng, stacked.shape)})
    engine_matches_differences(f"sum(pad(a, {widths!r}) * G)", {"a": a, "G": _upstream(rng, np.pad(a, widths).shape)})


@st.composite
def slices(draw, n: int):
    start = draw(st.one_of(st.none(), st.integers(-n, n)))
    stop = draw(st.one_of(st.none(), st.integers(-n, n)))
    step = draw(st.one_of(st.none(), st.sampled_from([-2, -1, 1, 2])))
    return slice(start, stop, step)


def _written(item) -> str:
    if isinstance(item, slice):
        return ":".join("" if v is None else str(v) for v in (item.start, item.stop, item.step))
    return str(item)


@quick
@given(shapes, st.data(), seeds)
def test_slices_with_negatives_and_steps(shape, data, seed):
    index = tuple(data.draw(slices(n)) for n in shape)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    picked = x[index]
    if picked.size == 0:
        return
    text = ", ".join(_written(i) for i in index)
    engine_matches_differences(f"sum(x[{text}] * G)", {"x": x, "G": _upstream(rng, picked.shape)})


@quick
@given(shapes, st.integers(1, 5), st.data(), seeds)
def test_gathers_accumulate_repeated_indices(shape, count, data, seed):
    rng = np.random.default_rng(seed)
    idx = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=count, max_size=count)), float)
    x = rng.standard_normal(shape)
    engine_matches_differences("sum(x[idx] * G)", {"x": x, "idx": idx, "G": _upstream(rng, x[idx.astype(int)].shape)})
    if len(shape) >= 2:
        rows = rng.integers(0, shape[0], count).astype(float)
        cols = rng.integers(0, shape[1], count).astype(float)
        engine_matches_differences("sum(x[i, j] * G)", {"x": x, "i": rows, "j": cols,
                                                        "G": _upstream(rng, x[rows.astype(int), cols.astype(int)].shape)})


@quick
@given(st.lists(st.integers(1, 2), max_size=2).map(tuple), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from(["both", "left", "right", "vector-left", "vector-right"]), seeds)
def test_matmul_batches_broadcast(batch, n, k, m, how, seed):
    rng = np.random.default_rng(seed)
    left = {"both": (*batch, n, k), "left": (*batch, n, k), "right": (n, k),
            "vector-left": (k,), "vector-right": (*batch, n, k)}[how]
    right = {"both": (*(1 for _ in batch), k, m), "left": (k, m), "right": (*batch, k, m),
             "vector-left": (*batch, k, m), "vector-right": (k,)}[how]
    a, b = rng.standard_normal(left), rng.standard_normal(right)
    engine_matches_differences("sum((a @ b) * G)", {"a": a, "b": b, "G": _upstream(rng, np.matmul(a, b).shape)})


@quick
@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 1), st.integers(1, 3), seeds)
def test_conv_and_pools(n, c, f, k, stride, pad, reps, seed):
    size = k + stride * reps - 2 * pad if k + stride * reps - 2 * pad >= 1 else k + stride * reps
    pad = pad if size + 2 * pad >= k else 0
    if (size + 2 * pad - k) % stride:
        return
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, c, size, size)), rng.standard_normal((f, c, k, k)), rng.standard_normal(f)
    out = 1 + (size + 2 * pad - k) // stride
    engine_matches_differences(f"sum(conv2d(x, w, b, stride={stride}, pad={pad}) * G)",
                               {"x": x, "w": w, "b": b, "G": _upstream(rng, (n, f, out, out))})
    if (size - k) % stride == 0 and size >= k:
        pooled = 1 + (size - k) // stride
        engine_matches_differences(f"sum(avg_pool2d(x, {k}, {stride}) * G)",
                                   {"x": x, "G": _upstream(rng, (n, c, pooled, pooled))})
        windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
        flat = np.sort(windows.reshape(*windows.shape[:4], -1), axis=-1)
        if k == 1 or np.min(flat[..., -1] - flat[..., -2]) > KINK_GAP:
            engine_matches_differences(f"sum(max_pool2d(x, {k}, {stride}) * G)",
                                       {"x": x, "G": _upstream(rng, (n, c, pooled, pooled))})


@pytest.mark.parametrize("name", ["amax", "amin", "max_pool2d"])
def test_the_kink_quantity_is_positive_only_at_the_maximum(name):
    from gradcheck.ops.registry import BY_NAME

    x = np.array([[[[3.0, 1.0], [2.0, 0.5]]]])
    kink = BY_NAME[name].kink
    signs = np.sign(kink(x, 2) if name == "max_pool2d" else kink(x, axis=(2, 3)))
    target = 0.5 if name == "amin" else 3.0
    assert np.sum(signs > 0) == 1 and signs.ravel()[list(x.ravel()).index(target)] == 1
    tied = np.array([[[[3.0, 3.0], [2.0, 0.5]]]])
    assert np.any(np.sign(kink(tied, 2) if name == "max_pool2d" else kink(-tied if name == "amin" else tied,
                                                                             axis=(2, 3))) == 0)
