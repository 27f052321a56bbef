"""Fast mode's pool: the small variables probed together, so that fast mode costs a bounded number
of derivatives per array, however many scalar variables f has.

In fast mode an array is probed along FAST_PROBES random directions and at FAST_PROBES random
entries; a variable with no more than 2·FAST_PROBES entries is differenced entry by entry instead (it
costs no more). A thousand scalar variables would still cost a thousand derivatives, each a pass over
an f that mentions all of them. So when the small variables have more than POOL_MIN_ENTRIES entries
together, they are probed as one array: the concatenation of their entries (a `Pool`).

Each pooled variable's numeric column is then a PoolShare (columns.py): the pool's probes, with every
other column concatenated over the pool, so that the agreement rule compares the pool as a whole.
Before that, `settle` looks for probes that disagree and traces each to its variable — a sampled entry
names it, a random direction is cut in halves that are differenced in turn (bisection, about
2·log2(variables) derivatives) — and that variable is differenced in full, its own column then, and
its share taken out of the pool's probes. A wrong variable is so reported as itself, and the cost of
a passing check stays that of one more array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..base import randomness
from ..base.columns import Measured, PoolShare, Probes

# A variable with no more entries than this is differenced entry by entry in fast mode; fast mode's
# probes of one array cost that many derivatives (numeric.FAST_PROBES directions and as many entries).
from ..base.limits import FAST_PROBES
from ..oracles import vjp_numeric
from ..oracles.numeric import NumericResult
from ..oracles.vjp_numeric import BlackBox
from .agreement import Allowance, Rule, disagreeing_probes

SMALL_ENTRIES = 2 * FAST_PROBES
# The small variables are pooled when their entries together are more than one array's probes.
POOL_MIN_ENTRIES = 2 * FAST_PROBES
# A pool with more wrong variables than this is reported through its probes after the first few.
MAX_TRACED = 4
# The pool's name in the point handed to the numeric oracle: not an identifier, so no variable has it.
POOL = "⟨pool⟩"

# The derivative of f along a vector over the pool's entries: (value, error), or a Kink/None near a kink.
Along = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Pool:
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    offsets: tuple[int, ...]  # where each member starts in the concatenation, and the total at the end

    @classmethod
    def of(cls, names: Sequence[str], point: Mapping[str, Any], mode: str) -> Pool | None:
        """The pool of a fast-mode check, or None when there is none (full mode, few small variables)."""
        if mode != "fast":
            return None
        small = [n for n in names if np.size(point[n]) <= SMALL_ENTRIES]
        return cls.made(small, [np.shape(point[n]) for n in small])

    @classmethod
    def made(cls, names: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> Pool | None:
        """The pool of these variables, or None if their entries are too few to pool."""
        sizes = [math.prod(shape) for shape in shapes]
        if sum(sizes) <= POOL_MIN_ENTRIES:
            return None
        return cls(tuple(names), tuple(shapes), tuple(np.cumsum([0, *sizes]).tolist()))

    def without(self, names: Sequence[str]) -> Pool | None:
        """The pool less some members, or None if the rest are too few to pool."""
        kept = [(n, shape) for n, shape in zip(self.names, self.shapes) if n not in names]
        return Pool.made([n for n, _ in kept], [shape for _, shape in kept])

    def __contains__(self, name: object) -> bool:
        return name in self.names

    @property
    def size(self) -> int:
        return self.offsets[-1]

    def span(self, name: str) -> slice:
        i = self.names.index(name)
        return slice(self.offsets[i], self.offsets[i + 1])

    def member(self, position: int) -> str:
        return self.names[int(np.searchsorted(self.offsets, position, side="right")) - 1]

    def label(self, position: int) -> str:
        """The entry at a position of the concatenation, as the user names it: `s7` or `b[1,2]`."""
        name = self.member(position)
        i = self.names.index(name)
        shape = self.shapes[i]
        if not shape:
            return name
        idx = np.unravel_index(position - self.offsets[i], shape)
        return f"{name}[{','.join(str(int(j)) for j in idx)}]"

    def pack(self, values: Mapping[str, Any]) -> np.ndarray:
        """The members' values (or one column of their gradients) concatenated."""
        parts = [np.ravel(np.asarray(values[n])) for n in self.names]
        return np.concatenate(parts) if parts else np.zeros(0)

    def unpack(self, flat: np.ndarray) -> dict[str, Any]:
        out = {}
        for name, shape, a, b in zip(self.names, self.shapes, self.offsets, self.offsets[1:]):
            part = flat[a:b].reshape(shape)
            out[name] = part[()] if not shape else part
        return out

    def point(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """The point with the members replaced by the pool's one array."""
        rest = {k: v for k, v in point.items() if k not in self.names}
        return {**rest, POOL: self.pack(point)}

    def wrap(self, f: Callable) -> Callable:
        """f of a point that holds the pool's array in place of its members (keeping f's shaken pass)."""
        def pooled(point: Mapping[str, Any]):
            rest = {k: v for k, v in point.items() if k != POOL}
            return f({**rest, **self.unpack(np.asarray(point[POOL]))})
        if hasattr(f, "shaken"):
            pooled.shaken = self.wrap(f.shaken)  # type: ignore[attr-defined]
        return pooled

    def labelled(self, probes: Probes) -> Probes:
        """The pool's probes with their sampled entries named as the user names them."""
        return replace(probes, labels=tuple(self.label(idx[0]) for idx in probes.entries))

    def note(self, probes: Probes) -> str:
        return (f"fast mode: probed with the other small variables ({len(self.names):,} variables, "
                f"{self.size:,} entries): {len(probes.directions)} random directions over all of them and "
                f"{len(probes.entries)} random entries")


def share(pool: Pool, name: str, probes: Probes, columns: Mapping[str, np.ndarray | None],
          rounding: np.ndarray, own: Mapping[str, np.ndarray] | None = None) -> PoolShare:
    return PoolShare(probes, dict(columns), rounding, pool.span(name), len(pool.names), dict(own or {}))


def settle(pool: Pool, probes: Probes, columns: Mapping[str, np.ndarray | None], allowance: Allowance,
           along: Along, measure: Callable[[str], Measured | None]) -> tuple[Probes, dict[str, Measured]]:
    """Trace every disagreeing probe to its variable and difference that variable in full (module
    docstring). Returns the pool's probes without the traced variables' shares, and their measurements."""
    traced: dict[str, Measured] = {}
    for column, values in columns.items():
        if values is None:
            continue
        while len(traced) < MAX_TRACED:
            bad = disagreeing_probes(column, _without(values, pool, traced), probes, allowance)
            if not bad:
                break
            i = bad[0]
            k = len(probes.directions)
            if i >= k:  # a sampled entry: it names its variable
                name = pool.member(probes.entries[i - k][0])
            else:
                name = _bisect(pool, [n for n in pool.names if n not in traced], probes.directions[i],
                               (column, _without(values, pool, traced)), allowance, along)
            measured = measure(name)
            if measured is None or name in traced:
                break
            traced[name] = measured
            probes = _take_out(pool, probes, name, measured)
    return probes, traced


def _bisect(pool: Pool, names: list[str], direction: np.ndarray, values: tuple[str, np.ndarray],
            allowance: Allowance, along: Along) -> str:
    """The variable a disagreeing direction's disagreement comes from: the direction is cut into two
    halves by variable, each differenced; the half that disagrees more (with `values`, a column's name
    and its values over the pool) is kept."""
    column, over_pool = values
    while len(names) > 1:
        halves = (names[: len(names) // 2], names[len(names) // 2:])
        worst, kept = -1.0, halves[0]
        for half in halves:
            v = np.zeros_like(direction)
            for n in half:
                v[pool.span(n)] = direction[pool.span(n)]
            got = along(v)
            if not isinstance(got, tuple):
                continue  # near a kink: the other half is looked at
            one = Probes(v[None, :], np.array([got[0]]), np.array([got[1]]), (), np.zeros(0), np.zeros(0))
            excess = float(disagreeing_probes(column, over_pool, one, allowance, excess=True)[0])
            if excess > worst:
                worst, kept = excess, half
        names = kept
    return names[0]


def _without(values: np.ndarray, pool: Pool, traced: Mapping[str, Any]) -> np.ndarray:
    """A column over the pool with the traced variables' entries zeroed (their share is out of the probes)."""
    out = np.array(values, dtype=np.float64)
    for name in traced:
        if name in pool:
            out[pool.span(name)] = 0.0
    return out


def _take_out(pool: Pool, probes: Probes, name: str, measured: Measured) -> Probes:
    """The probes without one variable: its measured share subtracted from every direction (with its
    error), the direction zeroed there; its sampled entries dropped. A direction on which the variable
    could not be differenced (a kink) is dropped."""
    span = pool.span(name)
    value = np.ravel(np.asarray(measured.value, dtype=np.float64))
    error = np.ravel(np.asarray(measured.error, dtype=np.float64))
    directions = np.array(probes.directions, dtype=np.float64)
    part = directions[:, span]
    with np.errstate(all="ignore"):
        share_value = part @ np.nan_to_num(value, nan=0.0)
        share_error = np.abs(part) @ np.where(np.isfinite(error), error, 0.0)
    usable = ~np.any((part != 0) & ~np.isfinite(error)[None, :], axis=1)
    directions[:, span] = 0.0
    keep = [j for j, idx in enumerate(probes.entries) if pool.member(idx[0]) != name]
    return replace(probes, directions=directions[usable],
                   directional=(np.asarray(probes.directional) - share_value)[usable],
                   directional_error=(np.asarray(probes.directional_error) + share_error)[usable],
                   entries=tuple(probes.entries[j] for j in keep),
                   entry_values=np.asarray(probes.entry_values)[keep],
                   entry_errors=np.asarray(probes.entry_errors)[keep],
                   labels=None if probes.labels is None else tuple(probes.labels[j] for j in keep))


def around_kinks(pool: Pool, probe: Callable[[Pool], list], along: Callable[[Pool, np.ndarray], list],
                 seed: int) -> tuple[Pool | None, list, list[str]]:
    """The pool's probes (one NumericResult per dout, from probe(pool)), after the variables at a kink are
    found and taken out of the pool. A direction through a kink is left out of fast mode's probes, and
    every pool direction passes through every member, so one scalar at its kink would cost the pool all
    its directions (and hide the kink). Such variables are found by bisection of a direction (a half
    that differences cleanly has none), up to MAX_TRACED of them, and the pool probed again without
    them. Returns the pool left (None if too few are left to pool), its probes, and the variables taken
    out, which the caller differences in full."""
    probed = probe(pool)
    if all(r.probes is not None and len(r.probes.directions) == FAST_PROBES for r in probed):
        return pool, probed, []
    direction = randomness.stream(seed, pool.size, *randomness.POOL_KINKS).standard_normal(pool.size)
    found: list[str] = []

    def search(names: list[str]) -> None:
        if len(found) >= MAX_TRACED:
            return
        v = np.zeros(pool.size)
        for n in names:
            v[pool.span(n)] = direction[pool.span(n)]
        if all(isinstance(got, tuple) for got in along(pool, v)):
            return
        if len(names) == 1:
            found.append(names[0])
            return
        search(names[: len(names) // 2])
        search(names[len(names) // 2:])

    search(list(pool.names))
    if not found:
        return pool, probed, []
    rest = pool.without(found)
    if rest is None:
        return None, [], list(pool.names)
    return rest, probe(rest), found


def _method(methods: Mapping[str, str], names: Sequence[str]) -> str:
    """The pool's difference method: its members' common one, central differences if they differ."""
    chosen = {methods[n] for n in names}
    return chosen.pop() if len(chosen) == 1 else "central"


def _concatenated(pool: Pool, columns: Mapping[str, Mapping[str, Any]], column: str) -> np.ndarray | None:
    """One column over the pool, or None if some member lacks it."""
    values = {n: columns[n].get(column) for n in pool.names}
    if any(v is None for v in values.values()):
        return None
    return pool.pack(values).astype(np.float64)


def pooled_numeric(pool: Pool, f: Callable, point: Mapping[str, Any], columns: Mapping[str, Mapping[str, Any]],
                   allowances: Mapping[str, Allowance], methods: Mapping[str, str], seed: int) -> dict:
    """An expression's pooled variables: each one's NumericResult (oracles/numeric.py), whose probes are
    its PoolShare, or its full measurement if a disagreement was traced to it. `columns` holds every
    member's other columns by name (symbolic, backprop, claimed: values or None), `allowances` what each
    member's comparison grants its columns (agreement.Allowance: one rule, each member's rounding and
    its self-contained columns' own errors)."""
    # deferred: a name of this module's own means something else at module level
    from ..oracles.numeric import NumericResult, Section, along, numeric

    base = f(point)

    def probe(p: Pool) -> list:
        return [numeric(p.wrap(f), p.point(point), [POOL], mode="fast", seed=seed, method=_method(methods, p.names))[POOL]]

    def along_pool(p: Pool, v: np.ndarray) -> list:
        return [along(Section(p.wrap(f), p.point(point), POOL, _method(methods, p.names), base), v)]

    whole = pool
    rest, results, kinked = around_kinks(pool, probe, along_pool, seed)
    full = numeric(f, point, kinked, mode="full", seed=seed, method=methods) if kinked else {}
    if rest is None:
        return full
    pool, probed = rest, results[0]
    if probed.probes is None:  # a step left the domain: the members are differenced one by one
        return {**full, **numeric(f, point, list(pool.names), mode="full", seed=seed, method=methods)}
    method = probed.method
    pooled = Section(pool.wrap(f), pool.point(point), POOL, method, base)

    def measure(name: str) -> Measured | None:
        full[name] = numeric(f, point, [name], mode="full", seed=seed, method=methods)[name]
        return full[name].value

    names = sorted({c for member in columns.values() for c in member})
    flat = {c: _concatenated(pool, columns, c) for c in names}
    allowance = _over_pool(pool, allowances)
    assert isinstance(probed.probes, Probes)
    probes, traced = settle(pool, pool.labelled(probed.probes), flat, allowance,
                            lambda v: along(pooled, v), measure)
    out = {}
    for name in whole.names:
        if name in full:
            out[name] = full[name]
        else:
            shared = share(pool, name, probes, {c: _without(v, pool, traced) if v is not None else None
                                                for c, v in flat.items()}, allowance.rounding, allowance.own)
            out[name] = NumericResult(None, shared, pool.note(probes), method)  # type: ignore[arg-type]
    return out


def _over_pool(pool: Pool, allowances: Mapping[str, Allowance]) -> Allowance:
    """The members' allowances as one over the pool's concatenated entries (they share one rule)."""
    def packed(values: Mapping[str, Any]) -> np.ndarray:
        return pool.pack({n: np.broadcast_to(values[n], pool.shapes[pool.names.index(n)]) for n in pool.names})

    owned = {c for n in pool.names for c in allowances[n].own}
    return Allowance(allowances[pool.names[0]].rule, packed({n: allowances[n].rounding for n in pool.names}),
                     {c: packed({n: allowances[n].own.get(c, 0.0) for n in pool.names}) for c in owned})


def pooled_vjp(pool: Pool, box: BlackBox, claimed: Sequence[Mapping[str, tuple]], rule: Rule) -> dict:
    """check_function's and check_layer's pooled inputs: for each, one NumericResult per dout (as
    oracles/vjp_numeric.measure gives), whose probes are its PoolShare, or its full measurement if a
    disagreement was traced to it. claimed[k][name] is (value, note) for dout k."""
    douts, method = box.douts, box.method

    def pooled(p: Pool) -> BlackBox:
        return box.moved(f=p.wrap(box.f), point=p.point(box.point))

    def probe(p: Pool) -> list:
        return vjp_numeric.measure(pooled(p), [POOL], "fast")[POOL]

    def along_pool(p: Pool, v: np.ndarray) -> list:
        return vjp_numeric.along(pooled(p), POOL, v)

    rest, probed, kinked = around_kinks(pool, probe, along_pool, box.seed)
    # the traced variables' full measurements, every dout: those at a kink first
    measured: dict[str, list] = vjp_numeric.measure(box, kinked, "full")
    if rest is None:
        return measured
    pool = rest
    if any(p.probes is None for p in probed):  # a step left the domain: the members one by one
        return {**measured, **vjp_numeric.measure(box, list(pool.names), "full")}
    pooled_box = pooled(pool)

    def probes_at(k: int) -> Probes:
        """dout k's probes without the variables traced so far (at any dout)."""
        first = probed[k].probes
        assert isinstance(first, Probes)
        probes = pool.labelled(first)
        for name, results in measured.items():
            if name in pool and results[k].value is not None:
                probes = _take_out(pool, probes, name, results[k].value)
        return probes

    flats = [{"claimed": _concatenated(pool, {n: {"claimed": claimed[k][n][0]} for n in pool.names}, "claimed")}
             for k in range(len(douts))]
    for k in range(len(douts)):
        def measure_one(name: str, k: int = k) -> Measured | None:
            if name not in measured:
                measured[name] = vjp_numeric.full(box, name)
            return measured[name][k].value

        def along_k(v: np.ndarray, k: int = k) -> Any:
            return vjp_numeric.along(pooled_box, POOL, v)[k]

        settle(pool, probes_at(k), {c: _without(v, pool, measured) if v is not None else None
                                    for c, v in flats[k].items()}, Allowance(rule, np.zeros(pool.size)), along_k,
               measure_one)
    out: dict[str, list] = dict(measured)
    final = [probes_at(k) for k in range(len(douts))]
    for name in pool.names:
        if name in measured:
            continue
        out[name] = [NumericResult(None, share(pool, name, final[k],  # type: ignore[arg-type]
                                               {c: _without(v, pool, measured) if v is not None else None
                                                for c, v in flats[k].items()}, np.zeros(pool.size)),
                                   pool.note(final[k]), method) for k in range(len(douts))]
    return out
