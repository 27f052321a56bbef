"""Each step's dz of a plain rnn, recovered from the true gradients of its inputs.

An rnn z_t = x_t·Wx + s_t·Wh + b over x (N, T, D), its states the output (N, T, H), s_0 = h0 (or 0) and
s_t = out[:, t − 1], sends every input's gradient through dz_t alone: dx_t = dz_t·Wxᵀ, dh0 = dz_0·Whᵀ,
dWx = Σ_t x_tᵀ·dz_t, dWh = Σ_t s_tᵀ·dz_t, db = Σ_(n,t) dz_t. All are linear in dz: where the map from dz
to every truth has full column rank, dz is their least-squares solution, taken only where it gives back
every truth it was solved from (the caller's `agrees`, with the truth's own tolerance): a layer of another
form, or the roles given to the wrong inputs, leave a residual there. Failing that, x's truth alone, where
Wx has full column rank (D ≥ H): the reading before this one, checked by the caller's use of dz. Plain
numpy; the caller gathers the truths (hypotheses.step_gradients).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

# The map from dz to the truths must be at least this well conditioned for dz to be read from it.
CONDITION_MAX = 1e6
# At most this many unknowns (N·T·H) are solved for: the map is built one column per unknown.
UNKNOWNS_MAX = 1024
# At most this many assignments of the inputs to the roles are tried (Wx and Wh both square: each way, with
# and without h0 and b).
ROLES_MAX = 16


def _predicted(roles: Mapping[str, str | None], leaves: Mapping[str, np.ndarray], out: np.ndarray,
               dz: np.ndarray) -> dict[str, np.ndarray]:
    """Each role's input's true gradient for dz (..., N, T, H): by input name."""
    x, wx, wh, h0, b = (roles[k] for k in ("x", "Wx", "Wh", "h0", "b"))
    assert x is not None and wx is not None
    first = leaves[h0][:, None] if h0 is not None else np.zeros_like(out[:, :1])
    states = np.concatenate([first, out[:, :-1]], axis=1)
    found = {x: dz @ leaves[wx].T, wx: np.einsum("ntd,...nth->...dh", leaves[x], dz)}
    if wh is not None:
        found[wh] = np.einsum("nta,...nth->...ah", states, dz)
        if h0 is not None:
            found[h0] = dz[..., 0, :] @ leaves[wh].T
    if b is not None:
        found[b] = dz.sum(axis=(-3, -2))
    return found


def _assignments(x: str, leaves: Mapping[str, np.ndarray], out: np.ndarray) -> list[dict[str, str | None]]:
    """The inputs that may be Wx (D, H), Wh (H, H), h0 (N, H) and b (H,) beside x, Wh, h0 and b optional."""
    n, _, h = out.shape
    d = leaves[x].shape[2]

    def of(shape: tuple[int, ...]) -> list[str]:
        return [k for k, v in leaves.items() if k != x and v.shape == shape]
    found = []
    for wx, wh, h0, b in itertools.product(of((d, h)), [*of((h, h)), None], [*of((n, h)), None], [*of((h,)), None]):
        named = [k for k in (wx, wh, h0, b) if k is not None]
        if len(set(named)) == len(named):
            found.append({"x": x, "Wx": wx, "Wh": wh, "h0": h0, "b": b})
    return found[:ROLES_MAX]


def step_gradients(x: str, leaves: Mapping[str, np.ndarray], out: np.ndarray,
                   truths: Mapping[str, Sequence[np.ndarray]],
                   agrees: Callable[[str, list[np.ndarray]], bool], douts: Sequence[np.ndarray] = ()
                   ) -> tuple[list[np.ndarray], list[str]] | None:
    """dz (N, T, H) for each dout of `truths` (every input's truth, by name, for the same douts), where the
    truths fix it, or where it is a tanh rnn's carried back from `douts` (the output's, per dout), and it
    gives each of them back (agrees(name, predicted per dout)), and the inputs whose truths it was read
    from; else None."""
    x_value = leaves.get(x)
    if out.ndim != 3 or x_value is None or x_value.ndim != 3 or x_value.shape[:2] != out.shape[:2] \
            or x not in truths or out.size > UNKNOWNS_MAX:
        return None
    count = min(len(t) for t in truths.values())
    basis = np.eye(out.size).reshape((out.size, *out.shape))
    # every truth first (x's alone, with Wx square, fixes some dz for either square input and checks
    # nothing), then x's alone, where another input's truth is no such rnn's
    for every in (True, False):
        for roles in _assignments(x, leaves, out):
            whole = _predicted(roles, leaves, out, basis)
            used = [k for k in whole if k in truths] if every else [x]
            columns = np.concatenate([whole[k].reshape(out.size, -1) for k in used], axis=1).T
            if columns.shape[0] < out.size:
                continue
            spread = np.linalg.svd(columns, compute_uv=False)
            if not spread[-1] > spread[0] / CONDITION_MAX:  # rank below out.size, or ill-conditioned
                continue
            dz = [np.linalg.lstsq(columns, np.concatenate([np.ravel(truths[k][i]) for k in used]), rcond=None)[0]
                  .reshape(out.shape) for i in range(count)]
            back = [_predicted(roles, leaves, out, z) for z in dz]
            if all(agrees(k, [p[k] for p in back]) for k in used):
                return dz, used
    return _carried(x, leaves, out, truths, agrees, douts)


def _carried(x: str, leaves: Mapping[str, np.ndarray], out: np.ndarray, truths: Mapping[str, Sequence[np.ndarray]],
             agrees: Callable[[str, list[np.ndarray]], bool], douts: Sequence[np.ndarray]
             ) -> tuple[list[np.ndarray], list[str]] | None:
    """Where the truths do not fix dz (D < H leaves each step's dz free along Wx's null space): dz carried
    back through a tanh rnn from dout, dz_t = (dout_t + dz_(t+1)·Whᵀ)·(1 − out_t²), taken only where it
    gives back every input's truth (x's, the weights', b's and h0's)."""
    for roles in _assignments(x, leaves, out):
        wh = roles["Wh"]
        if wh is None or not douts or any(np.shape(d) != out.shape for d in douts):
            continue
        dz = []
        for dout in douts:
            z, carry = np.zeros_like(out), np.zeros_like(out[:, 0])
            for t in reversed(range(out.shape[1])):
                z[:, t] = (dout[:, t] + carry) * (1 - out[:, t] ** 2)
                carry = z[:, t] @ leaves[wh].T
            dz.append(z)
        back = [_predicted(roles, leaves, out, z) for z in dz]
        used = [k for k in back[0] if k in truths]
        if len(used) == len(back[0]) and all(agrees(k, [p[k] for p in back]) for k in used):
            return dz, used
    return None
