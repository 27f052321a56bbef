"""Expression text -> tree, safely.

A regular-expression tokenizer and a small Pratt parser of our own: no user text ever reaches eval,
exec, sympify or parse_expr, and nothing but numbers, names, the arithmetic operators, parentheses
and calls of registered functions is accepted. Length and nesting are capped before anything
recursive runs, so hostile input ends in a ParseError with a column, never in a RecursionError.

Precedence is Python's, except that `^` is power like `**` (as in the course notes, not xor):
    + -  <  * /  <  unary -  <  ** ^ (right-associative; its right side may start with a unary -)
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from ..base.errors import ParseError, UnknownNameError, suggest
from ..base.limits import MAX_NESTING, MAX_TEXT_LENGTH
from ..base.source import Source, Span
from ..ops.registry import BINARY_OPERATORS, BY_NAME, COMPARE, CONSTANTS, FUNCTIONS, OVERLOADS, PREFIX_OPERATORS, REQUIRED, UNARY
from .tree import Apply, Const, Node, Var

# Words that are constants of a call's arguments (keepdims=True, axis=None), never values.
_WORDS = {"True": True, "False": False, "None": None}


@dataclass(frozen=True)
class _Tuple:
    """(a, b, ...) as written: only an argument (axis=(0, 1), concatenate((a, b))), never a value."""

    items: tuple


@dataclass(frozen=True)
class _Word:
    """True, False or None: only an argument (keepdims=True)."""

    value: object


# Binding power of each infix operator (higher binds tighter), as the registry declares it.
_UNARY = UNARY
_INFIX_POWER = {token: prim.precedence for token, prim in BINARY_OPERATORS.items()}
_POWER = max(_INFIX_POWER.values())
# Postfix: x.T (transpose) and x[i, j] (indexing with integer constants) bind tightest.
_POSTFIX = {".", "["}

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
      | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
      | (?P<op>\*\*|>=|<=|[-+*/^@()\[\],.=<>:])""",
    re.VERBOSE | re.ASCII,
)
# Integer literals up to this many digits stay exact integers in SymPy; longer ones are floats.
_EXACT_INT_DIGITS = 15


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "op" or "end"
    text: str
    start: int
    end: int


@dataclass
class Scope:
    """What names mean while parsing: --let names, the variables met so far, and whether new ones may appear."""

    lets: dict[str, Node] = field(default_factory=dict)
    variables: dict[str, Var] = field(default_factory=dict)
    closed: bool = False  # a claim or a value may only use names that already exist


def parse(text: str, origin: str = "the expression", scope: Scope | None = None) -> Node:
    """Parse `text` into a tree. `origin` names the text in error messages ("--let z")."""
    source = Source(text, origin)
    if len(text) > MAX_TEXT_LENGTH:
        raise ParseError(f"{origin} is {len(text):,} characters long; the limit is {MAX_TEXT_LENGTH:,}")
    return _Parser(source, scope if scope is not None else Scope()).parse()


def tokenize(source: Source) -> list[Token]:
    text, pos = source.text, 0
    tokens: list[Token] = []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            # `lambda x: x` is about the keyword, not the colon: name the keyword if one came first.
            for tok in tokens:
                if tok.kind == "name" and keyword.iskeyword(tok.text):
                    raise ParseError(_keyword_message(tok.text), Span(source, tok.start, tok.end))
            raise ParseError(_bad_character(text[pos]), Span(source, pos, pos + 1))
        if match.lastgroup != "space":
            tokens.append(Token(str(match.lastgroup), match.group(), pos, match.end()))
        pos = match.end()
    tokens.append(Token("end", "", len(text), len(text)))
    return tokens


def _keyword_message(word: str) -> str:
    return f"'{word}' is Python syntax; an expression is arithmetic only"


def _bad_character(char: str) -> str:
    if char in "'\"":
        return "strings are not allowed in an expression"
    if char == "_" or char.isalpha():
        return f"unexpected character {char!r}: names use ASCII letters, digits and _"
    return f"unexpected character {char!r}"


class _Parser:
    def __init__(self, source: Source, scope: Scope):
        self.source = source
        self.scope = scope
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0

    # ----- driver ----------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ParseError(f"{self.source.origin} is empty", self.span(0, len(self.source.text)))
        parsed = self.expression(0)
        self.expect_end_of(None)
        return self.value(parsed)

    def value(self, parsed: tuple) -> Node:
        """An operand that must be a value: a tuple or True/False/None is refused where it stands."""
        node, start, end = parsed
        if isinstance(node, _Tuple):
            raise ParseError("a tuple (a, b) is only allowed as an argument, like axis=(0, 1) or "
                             "concatenate((a, b))", self.span(start, end))
        if isinstance(node, _Word):
            raise ParseError(f"{self.source.text[start:end]} is only allowed as an argument, like keepdims=True",
                             self.span(start, end))
        return node

    def expression(self, right_power: int) -> tuple[Node, int, int]:
        """Parse while operators bind tighter than right_power. Returns (node, start, end)."""
        left = self.prefix(self.advance())
        while right_power < self.infix_power(self.peek()):
            left = self.infix(self.advance(), left)
        return left

    def nested(self, right_power: int, opener: Token) -> tuple[Node, int, int]:
        """A sub-expression one level deeper: inside parentheses or a call, after a unary minus,
        right of a power. Only these count towards MAX_NESTING; operands of + - * / do not."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ParseError(f"expression nested more than {MAX_NESTING} levels deep",
                             self.span(opener.start, opener.end))
        try:
            return self.expression(right_power)
        finally:
            self.depth -= 1

    # ----- token helpers ---------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "end":
            self.pos += 1
        return tok

    def span(self, start: int, end: int) -> Span:
        return Span(self.source, start, end)

    def infix_power(self, tok: Token) -> int:
        if tok.kind != "op":
            return 0
        if tok.text in _POSTFIX:
            return _POWER + 1
        return _INFIX_POWER.get(tok.text, 0)

    def expect_end_of(self, opener: Token | None) -> None:
        """After a complete operand: the closing ')' of `opener`, or the end of the text."""
        tok = self.peek()
        want = ")" if opener else ""
        if tok.text == want and tok.kind == ("op" if opener else "end"):
            self.advance()
            return
        if tok.kind == "name" and keyword.iskeyword(tok.text):
            raise ParseError(_keyword_message(tok.text), self.span(tok.start, tok.end))
        if tok.kind in ("num", "name") or tok.text == "(":
            hint = " (a product is written with *: 2*x, x*(y + 1))" if tok.kind != "num" else ""
            raise ParseError(f"missing operator before {tok.text!r}{hint}", self.span(tok.start, tok.end))
        if opener is not None and tok.kind == "end":
            raise ParseError("'(' is never closed", self.span(opener.start, opener.end))
        raise self.unexpected(tok)

    def unexpected(self, tok: Token) -> ParseError:
        if tok.kind == "end":
            return ParseError("expression ends too early", self.span(tok.start, tok.start + 1))
        if tok.text == "=":
            return ParseError("unexpected '=': an expression is not an assignment "
                              "(name intermediates with --let NAME=EXPR)", self.span(tok.start, tok.end))
        return ParseError(f"unexpected {tok.text!r}", self.span(tok.start, tok.end))

    # ----- operands ----------------------------------------------------------------------------
    def prefix(self, tok: Token) -> tuple[Any, int, int]:  # a Node, or a _Tuple/_Word argument
        if tok.kind == "num":
            return self.number(tok), tok.start, tok.end
        if tok.kind == "name":
            if tok.text in _WORDS:
                return _Word(_WORDS[tok.text]), tok.start, tok.end
            if self.peek().text == "(":
                return self.call(tok)
            return self.name(tok), tok.start, tok.end
        if tok.text == "(":
            return self.parenthesized(tok)
        if tok.text in PREFIX_OPERATORS:
            prim = PREFIX_OPERATORS[tok.text]
            parsed = self.nested(prim.precedence, tok)
            operand, end = self.value(parsed), parsed[2]
            return Apply(prim, (operand,), self.span(tok.start, end)), tok.start, end
        if tok.text == "+":  # unary plus changes nothing
            parsed = self.nested(_UNARY, tok)
            return self.value(parsed), tok.start, parsed[2]
        if tok.text == "[":
            raise ParseError("lists are not allowed inside an expression", self.span(tok.start, tok.end))
        raise self.unexpected(tok)

    def parenthesized(self, opener: Token) -> tuple:
        """(expr), or a tuple: (), (a,), (a, b, ...)."""
        if self.peek().text == ")":
            return _Tuple(()), opener.start, self.advance().end
        first = self.nested(0, opener)
        if self.peek().text != ",":
            self.expect_end_of(opener)
            return first[0], opener.start, self.tokens[self.pos - 1].end
        items = [first]
        while self.peek().text == ",":
            self.advance()
            if self.peek().text == ")":
                break
            items.append(self.nested(0, opener))
        self.expect_end_of(opener)
        return _Tuple(tuple(items)), opener.start, self.tokens[self.pos - 1].end

    def number(self, tok: Token) -> Const:
        value = float(tok.text)  # the regex admits only plain decimal literals: float() is exact parsing
        if value == float("inf"):
            raise ParseError(f"number too large: {tok.text[:20]}{'…' if len(tok.text) > 20 else ''}",
                             self.span(tok.start, tok.end))
        exact = int(tok.text) if tok.text.isdigit() and len(tok.text) <= _EXACT_INT_DIGITS else None
        return Const(value, self.span(tok.start, tok.end), exact=exact)

    def name(self, tok: Token) -> Node:
        name, span = tok.text, self.span(tok.start, tok.end)
        self.refuse_keyword(tok)
        if name in self.scope.lets:
            return self.scope.lets[name]
        if name in CONSTANTS:
            return Const(CONSTANTS[name][0], span, name=name)
        if name in FUNCTIONS:
            raise ParseError(f"'{name}' is a function: call it as {name}(...)", span)
        if name in self.scope.variables:
            return self.scope.variables[name]
        if self.scope.closed:
            known = sorted(self.scope.variables) + sorted(self.scope.lets)
            raise UnknownNameError(f"unknown variable '{name}'{suggest(name, known)}"
                             + (f"; f's variables are {', '.join(sorted(self.scope.variables))}"
                                if self.scope.variables else ""), span)
        var = Var(name, span)
        self.scope.variables[name] = var
        return var

    def refuse_keyword(self, tok: Token) -> None:
        if keyword.iskeyword(tok.text):
            raise ParseError(_keyword_message(tok.text), self.span(tok.start, tok.end))

    def call(self, name_tok: Token) -> tuple[Node, int, int]:
        self.refuse_keyword(name_tok)
        name, name_span = name_tok.text, self.span(name_tok.start, name_tok.end)
        prim = FUNCTIONS.get(name)
        if prim is None:
            if name in self.scope.lets or name in self.scope.variables or name in CONSTANTS:
                raise ParseError(f"'{name}' is not a function (missing '*' before '('?)", name_span)
            raise UnknownNameError(f"unknown function '{name}'{suggest(name, FUNCTIONS)}", name_span)
        opener = self.advance()
        positional: list[tuple[Node, int, int]] = []
        keywords: dict[str, tuple[Node, int, int, Token]] = {}
        if self.peek().text == ")":
            self.advance()
        else:
            while True:
                tok = self.peek()
                if tok.kind == "name" and self.tokens[self.pos + 1].text == "=":
                    if tok.text in keywords:
                        raise ParseError(f"{name} got '{tok.text}' twice", self.span(tok.start, tok.end))
                    self.advance()
                    self.advance()
                    keywords[tok.text] = (*self.nested(0, opener), tok)
                elif keywords:
                    raise ParseError("a positional argument cannot follow a keyword argument",
                                     self.span(tok.start, tok.end))
                else:
                    positional.append(self.nested(0, opener))
                if self.peek().text == ",":
                    self.advance()
                    continue
                self.expect_end_of(opener)
                break
        end = self.tokens[self.pos - 1].end
        call_span = self.span(name_tok.start, end)
        candidates = OVERLOADS.get(name, (prim,))  # max(a, b) is elementwise; max(x), max(x, axis=1) reduce
        fits = [p for p in candidates if p.arity <= len(positional) <= p.arity + len(p.static)]
        prim = next((p for p in fits if p.arity == len(positional)), fits[0] if fits else prim)
        arity = 1 if prim.variadic else prim.arity
        static_names = [n for n, _ in prim.static]
        if not arity <= len(positional) <= arity + len(static_names):
            described = " or ".join(_describe_arguments(p) for p in sorted(candidates, key=lambda p: p.arity))
            raise ParseError(f"{name} takes {described}, got {len(positional)}", call_span)
        static = dict(zip(static_names, positional[arity:]))
        for key, (node, start, stop, tok) in keywords.items():
            if key not in static_names:
                raise ParseError(f"{name} has no argument '{key}'{suggest(key, static_names)}",
                                 self.span(tok.start, tok.end))
            if key in static:
                raise ParseError(f"{name} got '{key}' twice", self.span(tok.start, tok.end))
            static[key] = (node, start, stop)
        values = []
        for key, default in prim.static:
            if key in static:
                values.append((key, self.constant(static[key], f"{name}'s {key}")))
            elif default is REQUIRED:
                raise ParseError(f"{name} needs its argument '{key}'", call_span)
            elif default is not None:
                values.append((key, default))
        if prim.variadic:
            return self.folded(prim, positional[0], call_span, tuple(values)), name_tok.start, end
        args = tuple(self.value(parsed) for parsed in positional[:prim.arity])
        return Apply(prim, args, call_span, static=tuple(values)), name_tok.start, end

    def folded(self, prim, parsed: tuple, span: Span, static: tuple) -> Node:
        """concatenate((a, b, c)) as concatenate(concatenate(a, b), c); stack gives a its new axis first."""
        items, start, end = parsed
        if not isinstance(items, _Tuple) or not items.items:
            raise ParseError(f"{prim.name} takes a tuple of arrays first: {prim.syntax}", self.span(start, end))
        nodes = [self.value(item) for item in items.items]
        if prim.variadic == "stack":
            axis = dict(static).get("axis", 0)
            acc: Node = Apply(BY_NAME["expand_dims"], (nodes[0],), span, static=(("axis", axis),))
        elif len(nodes) < 2:
            return nodes[0]
        else:
            acc = nodes[0]
        for node in nodes[1:]:
            acc = Apply(prim, (acc, node), span, static=static)
        return acc

    def constant(self, parsed: tuple, what: str):
        """A constant argument as written: a number, a tuple of them, True, False or None."""
        node, start, end = parsed
        if isinstance(node, _Word):
            return node.value
        if isinstance(node, _Tuple):
            return tuple(self.constant(item, what) for item in node.items)
        sign = 1
        if isinstance(node, Apply) and node.prim.name == "neg":
            sign, node = -1, node.args[0]
        if isinstance(node, Const) and node.name is None:
            return sign * (node.exact if node.exact is not None else node.value)
        raise ParseError(f"{what} must be a constant: a number, a tuple like (0, 1), True, False or None",
                         self.span(start, end))

    def integer_constant(self, parsed: tuple, what: str) -> int:
        """A whole number written in the text (an index, a slice bound), possibly negative."""
        try:
            value = self.constant(parsed, what)
        except ParseError:
            value = None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParseError(f"{what} must be a whole number written as a constant", self.span(parsed[1], parsed[2]))

    def index(self, node: Node, start: int, opener: Token) -> tuple[Node, int, int]:
        """x[1, -1], x[1:-1, ::2], x[:, None]: constants, known before anything runs. An item that is
        an array (W[idx], S[arange(N), y]) gathers, numpy's integer-array indexing."""
        items: list = []
        arrays: list[Node] = []
        while True:
            items.append(self.index_item(opener, arrays))
            closer = self.advance()
            if closer.text == "]":
                break
            if closer.text != ",":
                if closer.kind == "end":
                    raise ParseError("'[' is never closed", self.span(opener.start, opener.end))
                raise ParseError(f"unexpected {closer.text!r} in an index", self.span(closer.start, closer.end))
        span = self.span(start, closer.end)
        if not arrays:
            return Apply(BY_NAME["index"], (node,), span, static=(("index", tuple(items)),)), start, closer.end
        if len(arrays) > 2:
            raise ParseError("at most two integer arrays in one index", span)
        prim = BY_NAME["gather" if len(arrays) == 1 else "gather2"]
        return Apply(prim, (node, *arrays), span, static=(("template", tuple(items)),)), start, closer.end

    def index_item(self, opener: Token, arrays: list) -> object:
        parts: list = []
        while True:
            if self.peek().text in (":", ",", "]"):
                parts.append(None)
            else:
                parts.append(self.nested(0, opener))
            if self.peek().text != ":" or len(parts) == 3:
                break
            self.advance()
        if len(parts) == 1:
            parsed = parts[0]
            if parsed is None:
                tok = self.peek()
                raise ParseError("an index is missing", self.span(tok.start, tok.end))
            if isinstance(parsed[0], _Word) and parsed[0].value is None:
                return None  # a new axis, as numpy's x[:, None]
            if isinstance(parsed[0], Const) or (isinstance(parsed[0], Apply) and parsed[0].prim.name == "neg"
                                                and isinstance(parsed[0].args[0], Const)):
                return self.integer_constant(parsed, "an index")
            arrays.append(self.value(parsed))
            return "*"
        bounds = [None if p is None else self.integer_constant(p, "a slice bound") for p in parts]
        return slice(*bounds)

    # ----- operators ---------------------------------------------------------------------------
    def infix(self, tok: Token, left: tuple[Node, int, int]) -> tuple[Node, int, int]:
        node, start, _ = left
        node = self.value(left)
        if tok.text == ".":
            after = self.peek()
            if after.kind == "name" and after.text == "T":
                self.advance()
                return Apply(BY_NAME["transpose"], (node,), self.span(start, after.end)), start, after.end
            what = f"'.{after.text}'" if after.kind == "name" else "'.'"
            if after.kind == "name" and after.text in FUNCTIONS:  # methods stay out: one way to write each call
                raise ParseError(f"methods are not supported: write {after.text}(x, ...) instead of "
                                 f"x.{after.text}(...); only .T (transpose) is written after a value",
                                 self.span(tok.start, after.end))
            raise ParseError(f"attribute access ({what}) is not allowed; only .T (transpose) is",
                             self.span(tok.start, after.end))
        if tok.text == "[":
            return self.index(node, start, tok)
        prim = BINARY_OPERATORS[tok.text]
        if prim.precedence == COMPARE and isinstance(node, Apply) and node.prim.precedence == COMPARE \
                and node.prim.operator and node.span.start == start:
            raise ParseError("comparisons cannot be chained (a < b < c); write them separately",
                             self.span(tok.start, tok.end))
        # ** is right-associative and its right operand may carry a unary minus (2**-x), as in Python;
        # a tower of powers nests, a chain of + - * / does not.
        if prim.right_associative:
            parsed = self.nested(_UNARY, tok)
        else:
            parsed = self.expression(prim.precedence)
        right, end = self.value(parsed), parsed[2]
        return Apply(prim, (node, right), self.span(start, end)), start, end


def _describe_arguments(prim) -> str:
    params = ["(a, b, ...)"] if prim.variadic else list(prim.params)
    required = [*params, *(n for n, d in prim.static if d is REQUIRED)]
    optional = [n for n, d in prim.static if d is not REQUIRED]
    text = f"{len(required)} argument{'s' if len(required) != 1 else ''} ({', '.join(required)})"
    return text + (f" and optionally {', '.join(optional)}" if optional else "")
