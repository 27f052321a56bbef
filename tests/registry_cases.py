"""The registry's primitives with sample inputs, shared by the tests that walk the registry
(tests/ops) and those that run the oracles over it (tests/oracles)."""

from __future__ import annotations

import numpy as np

from gradcheck.ops.registry import BY_NAME, PRIMITIVES

# Points per primitive; each is drawn until it is in the domain and away from kinks.
POINTS = 6
# Keep samples this far from 0 and from ties, where relu/abs/step/max/min have kinks.
KINK_MARGIN = 0.1
H = 1e-6


def sample_points(prim, rng, i=0):
    points = []
    while len(points) < POINTS:
        inputs = [np.float64(v) for v in rng.uniform(-3, 3, size=prim.arity)]
        for k in prim.labels:  # a condition is data: 0 or 1
            inputs[k] = np.float64(rng.integers(0, 2))
        if prim.name == "pow":
            # ∂(a**b)/∂b = log(a)·a**b needs a > 0; ∂/∂a is also checked at a negative base, whole exponent.
            if i == 1:
                inputs[0] = abs(inputs[0])
            elif inputs[0] < 0:
                inputs[1] = np.float64(rng.integers(-3, 4))
        if prim.domain is not None and not prim.domain(*inputs):
            continue
        if any(abs(v) < KINK_MARGIN for k, v in enumerate(inputs) if k not in prim.labels) \
                or (prim.arity == 2 and abs(inputs[0] - inputs[1]) < KINK_MARGIN):
            continue
        if prim.kink is not None and abs(prim.kink(*inputs)) < KINK_MARGIN:
            continue
        points.append(inputs)
    return points


ELEMENTWISE = [p for p in PRIMITIVES if p.elementwise]
CASES = [(prim, i) for prim in ELEMENTWISE for i in range(prim.arity) if i not in prim.labels]
IDS = [f"{prim.name}-d{prim.params[i]}" for prim, i in CASES]


# name -> examples: (input shapes, static arguments). Label inputs get valid class numbers.
ARRAY_EXAMPLES = {
    "matmul": [([(3, 4), (4, 2)], {}), ([(4,), (4, 2)], {}), ([(3, 4), (4,)], {}), ([(4,), (4,)], {}),
               ([(2, 3, 4), (4, 2)], {}), ([(2, 1, 3, 4), (3, 4, 2)], {}), ([(4,), (2, 4, 3)], {}),
               ([(2, 3, 4), (4,)], {})],
    "transpose": [([(3, 4)], {}), ([(5,)], {}), ([(2, 3, 4)], {"axes": (0, 2, 1)}), ([(2, 3, 4)], {"axes": (-1, 0, 1)})],
    "index": [([(3, 4)], {"index": (1, 2)}), ([(3, 4)], {"index": (2,)}), ([(5,)], {"index": (-1,)}),
              ([(4, 5)], {"index": (slice(1, -1), slice(None, None, 2))}), ([(3, 4)], {"index": (slice(None), None)}),
              ([(5,)], {"index": (slice(None, None, -2),)})],
    "gather": [([(5, 3), (4,)], {"template": ("*",)}), ([(3, 4), (3,)], {"template": (slice(None), "*")})],
    "gather2": [([(3, 4), (3,), (3,)], {"template": ("*", "*")})],
    "reshape": [([(2, 3)], {"shape": (3, 2)}), ([(2, 3, 2)], {"shape": (2, -1)}), ([(4,)], {"shape": (2, 1, 2)})],
    "broadcast_to": [([(3,)], {"shape": (2, 3)}), ([(2, 1)], {"shape": (2, 3)})],
    "concatenate": [([(2, 3), (2, 2)], {"axis": 1}), ([(1, 3), (2, 3)], {"axis": 0})],
    "stack": [([(2, 2, 3), (2, 3)], {"axis": 1}), ([(1, 3), (3,)], {})],
    "expand_dims": [([(2, 3)], {"axis": 1}), ([(3,)], {"axis": -1})],
    "pad": [([(2, 3)], {"widths": ((0, 0), (1, 2))}), ([(2, 2)], {"widths": 1})],
    "sum": [([(3, 4)], {}), ([(3, 4)], {"axis": 0}), ([(3, 4)], {"axis": -1}), ([(5,)], {}),
            ([(2, 3, 2)], {"axis": (0, 2)}), ([(2, 3)], {"axis": 1, "keepdims": True})],
    "mean": [([(3, 4)], {}), ([(3, 4)], {"axis": 1}), ([(2, 3, 2)], {"axis": 1}),
             ([(2, 3, 2)], {"axis": (0, -1), "keepdims": True})],
    "amax": [([(3, 4)], {}), ([(3, 4)], {"axis": 1}), ([(2, 3, 2)], {"axis": (0, 2), "keepdims": True})],
    "amin": [([(3, 4)], {"axis": 0}), ([(2, 3, 2)], {"axis": (1, 2)})],
    "softmax": [([(3, 4)], {}), ([(5,)], {}), ([(2, 3)], {"axis": 0}), ([(2, 2, 3)], {"axis": (1, 2)})],
    "log_softmax": [([(3, 4)], {}), ([(5,)], {}), ([(2, 3)], {"axis": 0})],
    "logsumexp": [([(3, 4)], {}), ([(5,)], {}), ([(2, 3)], {"axis": None}),
                  ([(2, 3, 2)], {"axis": (0, 2), "keepdims": True})],
    "conv2d": [([(1, 2, 5, 5), (2, 2, 3, 3), (2,)], {"stride": 2, "pad": 1}), ([(1, 1, 4, 4), (1, 1, 2, 2), (1,)], {})],
    "max_pool2d": [([(1, 2, 4, 4)], {"size": 2, "stride": 2}), ([(1, 1, 3, 3)], {"size": 2, "stride": 1})],
    "avg_pool2d": [([(1, 2, 4, 4)], {"size": 2}), ([(1, 1, 3, 3)], {"size": 2, "stride": 1})],
    "zeros": [([], {"shape": (2, 3)})],
    "ones": [([], {"shape": (3,)})],
    "full": [([], {"shape": (2, 2), "value": 0.5})],
    "eye": [([], {"n": 3})],
    "arange": [([], {"n": 4})],
    "softmax_ce": [([(4, 3), (4,)], {}), ([(3,), ()], {})],
    "onehot": [([(4,)], {"k": 3})],
}
ARRAY_CASES = [(BY_NAME[name], shapes, static) for name, examples in ARRAY_EXAMPLES.items()
               for shapes, static in examples]
ARRAY_IDS = [f"{p.name}-{'x'.join(map(str, shapes))}-{static}" for p, shapes, static in ARRAY_CASES]


def array_inputs(prim, shapes, static, rng):
    inputs = []
    for i, shape in enumerate(shapes):
        if i in prim.labels:
            classes = static.get("k") or min(shapes[0])  # class numbers, or indices into every axis
            inputs.append(rng.integers(0, classes, size=shape).astype(np.float64))
        else:
            inputs.append(rng.standard_normal(shape))
    return inputs


