"""Evaluate SymPy expressions at one point, to EVAL_DIGITS digits, sharing subexpressions.

The partial derivatives of one f share most of their subexpressions (every ∂f/∂W[i,j] of a
softmax loss contains the same exp(...) terms). SymPy expressions are hash-consed, so a memo keyed
by expression evaluates each distinct subexpression once across every expression handed to the
same Evaluator: no lambdify, no code generation. Arithmetic is mpmath's (SymPy's own numeric
library) at EVAL_DIGITS digits, so this column is the reference the float64 oracles are measured
against.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeGuard

import mpmath

from ..ops.registry import MPMATH_RULES

# Well past float64's 16 digits, so rounding in this column is negligible next to the others. Where f
# cancels so much that 30 digits are not enough (the pipeline measures that from backprop's rounding),
# the column is evaluated again with more (evaluated_to).
EVAL_DIGITS = 30
# Every value computed here lies within 2**±MAX_MAGNITUDE_BITS; beyond it a value has no finite real
# value (too large) or is 0 (too small). float64 spans 2**±1075, and SymPy's forms of a float64 f
# square such values at most (sigmoid's derivative at -700 holds exp(700)**2, 2**2020), so this bound
# changes no column of a check; it keeps mpmath from working on numbers whose exponent alone has
# thousands of digits (sin of 2**(2**20) reduces its argument to a million bits), which only a
# tampered store could ask for.
MAX_MAGNITUDE_BITS = 8192
# A number read from the store has at most this many bits of mantissa: SymPy's numbers here are
# float64 constants (53 bits) and constants evaluated to EVAL_DIGITS + 5 digits (about 117 bits; a
# column evaluated again with more digits, evaluated_to, stays far below it).
MAX_STORED_MANTISSA_BITS = 1024
_digits: ContextVar[int] = ContextVar("gradcheck_eval_digits", default=EVAL_DIGITS)


def working_digits() -> int:
    """The digits the symbolic column evaluates to now: EVAL_DIGITS, or more inside evaluated_to."""
    return _digits.get()


@contextmanager
def evaluated_to(digits: int) -> Iterator[None]:
    """Evaluate the symbolic column (and exact claims) to `digits` digits inside."""
    token = _digits.set(digits)
    try:
        yield
    finally:
        _digits.reset(token)


class Evaluator:
    """Values of SymPy expressions at one point; `define` gives a symbol its value."""

    def __init__(self, values: Mapping[Any, float] | None = None):
        self.memo: dict[Any, Any] = {}
        for symbol, number in dict(values or {}).items():
            self.define(symbol, number)

    def define(self, symbol: Any, number: Any) -> None:
        with mpmath.workdps(working_digits()):
            self.memo[symbol] = number if isinstance(number, mpmath.mpf) else mpmath.mpf(float(number))

    def __call__(self, expr: Any) -> Any:
        """The value as an mpf, or None where expr has no finite real value."""
        with mpmath.workdps(working_digits()):
            number = _evaluate(expr, self.memo)
        return number if number is not None and mpmath.isfinite(number) else None


_CONSTANT = object()  # marks a Program step that is a number


class Program:
    """One SymPy expression compiled to a list of mpmath steps, to be run at many points: the
    symbolic column differentiates a primitive's form once and evaluates the derivative at every
    entry. Call it inside `mpmath.workdps(EVAL_DIGITS)`."""

    def __init__(self, expr: Any, symbols: list[Any]):
        register = {s: i for i, s in enumerate(symbols)}  # inputs first, then each step's result
        # A step is (a number's value, _CONSTANT, ()), or (expr, mpmath rule or None, argument registers).
        self.steps: list[tuple[Any, Any, tuple[int, ...]]] = []
        self.inputs = len(symbols)
        stack = [expr]
        with mpmath.workdps(EVAL_DIGITS):
            while stack:  # post-order without recursion, as in _evaluate
                node = stack[-1]
                if node in register:
                    stack.pop()
                    continue
                pending = [] if node.is_Atom else [a for a in node.args if a not in register]
                if pending:
                    stack.extend(pending)
                    continue
                stack.pop()
                if node.is_Atom:
                    self.steps.append((_node(node, []), _CONSTANT, ()))
                else:
                    self.steps.append((node, RULES.get(type(node).__name__),
                                       tuple(register[a] for a in node.args)))
                register[node] = len(register)
        self.result = register[expr]

    def __call__(self, values: list[Any]) -> Any:
        """The value at these values of the symbols (mpf), or None where it has no finite real value."""
        registers = list(values)
        for node, rule, slots in self.steps:
            if rule is _CONSTANT:
                registers.append(node)
                continue
            args = [registers[i] for i in slots]
            if any(a is None for a in args):
                registers.append(None)
            elif rule is None:
                registers.append(_by_sympy(node, args))
            else:
                registers.append(_apply_rule(rule, args))
        number = registers[self.result]
        return number if number is not None and mpmath.isfinite(number) else None

    def dump(self) -> dict[str, Any] | None:
        """The program as plain data for the store (sym_store.py): a step is ["n", number] or
        [the mpmath rule's name, argument registers...]. None when a step needs SymPy itself."""
        steps: list[list[Any]] = []
        for node, rule, slots in self.steps:
            if rule is _CONSTANT:
                if node is not None and not mpmath.isfinite(node):
                    return None
                steps.append(["n", _dump_number(node)])
            elif rule is None:
                return None
            else:
                steps.append([node if isinstance(node, str) else type(node).__name__, *slots])
        return {"inputs": self.inputs, "steps": steps, "result": self.result}

    @classmethod
    def load(cls, data: Any) -> Program:
        """A dumped program, checked step by step: only numbers and the registry's rule names, each
        reading registers already written. ValueError for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise ValueError("not a program")
        inputs, result = data.get("inputs"), data.get("result")
        if not whole_number(inputs) or inputs < 0:
            raise ValueError("inputs")
        program = cls.__new__(cls)
        program.inputs, program.steps = inputs, []
        for step in data["steps"]:
            written = program.inputs + len(program.steps)
            if not isinstance(step, list) or not step or not isinstance(step[0], str):
                raise ValueError("step")
            if step[0] == "n" and len(step) == 2:
                program.steps.append((_load_number(step[1]), _CONSTANT, ()))
            elif step[0] in MPMATH_RULES and all(whole_number(i) and 0 <= i < written for i in step[1:]):
                program.steps.append((step[0], RULES[step[0]], tuple(step[1:])))
            else:
                raise ValueError("step")
        if not whole_number(result) or not 0 <= result < program.inputs + len(program.steps):
            raise ValueError("result")
        program.result = result
        return program


def whole_number(x: Any) -> TypeGuard[int]:
    """An int that is not a bool: a register, a count or an exponent read from the store."""
    return isinstance(x, int) and not isinstance(x, bool)


def _dump_number(number: Any) -> list[int] | None:
    """A finite mpf exactly, as [sign, mantissa, exponent]; None stays None (no value)."""
    if number is None:
        return None
    sign, mantissa, exponent, _ = number._mpf_
    return [sign, int(mantissa), exponent]


def _load_number(data: Any) -> Any:
    if data is None:
        return None
    if (not isinstance(data, list) or len(data) != 3 or data[0] not in (0, 1)
            or not all(whole_number(x) for x in data[1:]) or data[1] < 0):
        raise ValueError("number")
    sign, mantissa, exponent = data
    bits = mantissa.bit_length()
    if bits > MAX_STORED_MANTISSA_BITS or mantissa and abs(exponent + bits) > MAX_MAGNITUDE_BITS:
        raise ValueError("number")  # not a number SymPy gave for a float64 f: a tampered entry
    with mpmath.workprec(max(mantissa.bit_length(), 1)):  # every bit, whatever precision is in use
        return mpmath.mpf((-mantissa if sign else mantissa, exponent))


def as_float(number: Any) -> float | None:
    return None if number is None else float(number)


def _evaluate(root, memo: dict) -> Any:
    """Post-order over the expression DAG without recursion (deep expressions are common)."""
    stack = [root]
    while stack:
        expr = stack[-1]
        if expr in memo:
            stack.pop()
            continue
        pending = [a for a in expr.args if a not in memo] if not expr.is_Atom else []
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[expr] = _node(expr, [memo[a] for a in expr.args] if not expr.is_Atom else [])
    return memo[root]


def _node(expr, args: list) -> Any:
    if expr.is_Atom:
        if expr.is_Integer:
            return mpmath.mpf(int(expr))
        if expr.is_Rational:
            return mpmath.mpf(int(expr.p)) / int(expr.q)
        if expr.is_Float:
            return mpmath.mpf(expr._mpf_)
        if expr.is_NumberSymbol:
            return mpmath.mpf(str(expr.evalf(EVAL_DIGITS + 5)))
        return None  # a symbol without a value, zoo, nan: nothing to evaluate
    if any(a is None for a in args):
        return None
    rule = RULES.get(type(expr).__name__)  # the registry says how mpmath evaluates each function
    if rule is None:
        return _by_sympy(expr, args)
    return _apply_rule(rule, args)


def _apply_rule(rule, args: list) -> Any:
    try:
        result = rule(mpmath, *args)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    if isinstance(result, mpmath.mpc):
        result = result.real if result.imag == 0 else None
    return bounded(result)


def bounded(number: Any) -> Any:
    """The number if it lies within 2**±MAX_MAGNITUDE_BITS; None beyond (no finite real value), 0 below."""
    if number is None or not number or not mpmath.isfinite(number):
        return number
    size = mpmath.mag(number)
    if size > MAX_MAGNITUDE_BITS:
        return None
    return mpmath.mpf(0) if size < -MAX_MAGNITUDE_BITS else number


def _growth_bits(name: str, args: list) -> Any:
    """log2 of the size of the result of exp, sinh, cosh or a power, worked out at 53 bits before the
    rule runs (a power of a number near 1 by 2**8000 would take mpmath seconds); None for other rules."""
    with mpmath.workprec(53):
        if name in ("exp", "sinh", "cosh"):
            x = args[0] if name == "exp" else abs(args[0])
            return x / mpmath.ln2
        if name == "Pow":
            base, exponent = args
            if not base or not exponent:
                return None
            return exponent * mpmath.log(abs(base), 2)
    return None


def _guarded(name: str, rule: Any) -> Any:
    """The rule, refusing a result beyond 2**±MAX_MAGNITUDE_BITS before computing it."""
    if name not in ("exp", "sinh", "cosh", "Pow"):
        return rule

    def guarded(mp, *args):
        size = _growth_bits(name, list(args))
        if size is not None and size > MAX_MAGNITUDE_BITS:
            raise OverflowError(name)
        if size is not None and size < -MAX_MAGNITUDE_BITS:
            return mp.mpf(0)
        return rule(mp, *args)
    return guarded


# The registry's rules, each refusing a result too large to compute (_guarded).
RULES: dict[str, Any] = {name: _guarded(name, rule) for name, rule in MPMATH_RULES.items()}


def _by_sympy(expr, args: list) -> Any:
    """A function without a rule here (arg, re, Derivative, ...): SymPy evaluates it at the arguments'
    values; anything it cannot make a finite real number of has no value."""
    try:
        from sympy import Float

        number = expr.func(*(Float(str(a), EVAL_DIGITS) for a in args)).evalf(EVAL_DIGITS)
        if number.is_real and number.is_finite:
            return mpmath.mpf(str(number))
    except Exception:  # noqa: BLE001 - SymPy objects that are not functions of numbers (Tuple, ...)
        pass
    return None
