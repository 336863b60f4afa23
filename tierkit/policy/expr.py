"""The rule language: a small, safe expression syntax for `when:` and `where:` clauses.

Policies are data written by analysts, so rules are parsed by our own grammar and never
handed to `eval`. The parser produces a tiny AST that `tierkit.engine.rules` compiles to Ibis;
every error carries the column of the offending token so that the message can point at it.

Grammar (lowest precedence first)::

    expr    := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | compare
    compare := sum (CMP sum | ['not'] 'in' list | ['not'] 'between' sum 'and' sum
                    | 'is' ['not'] 'null')?
    sum     := product (('+' | '-') product)*
    product := unary (('*' | '/' | '%') unary)*
    unary   := '-' unary | atom
    atom    := NUMBER | STRING | 'true' | 'false' | 'null' | NAME | NAME '(' expr (',' expr)* ')'
               | '(' expr ')'
    list    := ('(' | '[') sum (',' sum)* (')' | ']')

A NAME is a word (Chinese too: 医院级别), or any text between backticks (`hospital level`), so
that every column of a customers file can be read as it is named.

Functions (FUNCTIONS): row functions, population statistics over every graded customer and
calendar functions. What needs no data is checked here, so that `tierkit check` points at the
token: a percentile's share is a number from 0 to 1, `date()` takes a text constant, and
population statistics do not nest (engines cannot nest window functions). Division (and %) by
zero gives a missing value on every engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date as _date
from decimal import Decimal

from tierkit.errors import PolicyError

ROW_FUNCTIONS = {"coalesce": (1, 99), "abs": (1, 1), "least": (2, 99), "greatest": (2, 99), "if": (3, 3)}
# one value over every graded customer (tierkit.engine.population)
POPULATION_FUNCTIONS = {"avg": (1, 1), "median": (1, 1), "percentile": (2, 2), "total": (1, 1)}
# the calendar, relative to the as-of date where it says so (tierkit.engine.dates)
CALENDAR_FUNCTIONS = {"year": (1, 1), "month": (1, 1), "day": (1, 1), "date": (1, 1), "days_between": (2, 2)}
CALENDAR_FUNCTIONS |= {"years_between": (2, 2), "birthday_this_month": (1, 1), "days_until_birthday": (1, 1)}
FUNCTIONS = {**ROW_FUNCTIONS, **POPULATION_FUNCTIONS, **CALENDAR_FUNCTIONS}  # name -> (fewest, most) arguments
POPULATION = frozenset(POPULATION_FUNCTIONS)
COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "true", "false"}
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # in no rule: binary data, never text an engine compares
SHOWN = 200  # characters of a rule an error quotes
MAX_DEPTH = 50  # parentheses, not and - inside each other: deeper only a generated rule goes, and the stack ends

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<quoted>`[^`]*`)
      | (?P<op>==|!=|<=|>=|<|>|=|\+|-|\*|/|%|\(|\)|\[|\]|,)
      | (?P<name>[^\W\d]\w*)
    """,
    re.VERBOSE | re.UNICODE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, op, name, keyword, end
    text: str
    pos: int


@dataclass(frozen=True)
class Node:
    """One AST node. `op` names it: lit, name, call, neg, not, and, or, cmp, arith, in, between, isnull."""

    op: str
    args: tuple[object, ...] = ()
    pos: int = 0
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def names(self) -> set[str]:
        """Every metric, score or column name the rule reads."""
        found: set[str] = set()
        if self.op == "name":
            found.add(str(self.args[0]))
        for arg in self.args:
            if isinstance(arg, Node):
                found |= arg.names()
            elif isinstance(arg, tuple):
                for item in arg:
                    if isinstance(item, Node):
                        found |= item.names()
        return found


class RuleSyntaxError(PolicyError):
    """A rule that does not parse; `pos` is the 0-based column of the offending token."""

    def __init__(self, source: str, pos: int, message: str) -> None:
        self.source, self.pos, self.reason = source, pos, message
        shown = source
        if len(source) > SHOWN:  # a generated rule of 6,000 characters: the part around the column
            start = max(0, pos - SHOWN // 2)
            end = start + SHOWN
            shown = ("…" if start else "") + source[start:end] + ("…" if end < len(source) else "")
        shown = CONTROL.sub(lambda m: repr(m.group())[1:-1], shown)  # a NUL shown as \x00, in one line
        super().__init__(f"{message} at column {pos + 1} in '{shown}'")


def tokenize(source: str) -> list[Token]:
    control = CONTROL.search(source)
    if control:  # a NUL in a text constant passed `check` and stopped the engine (issue 15)
        raise RuleSyntaxError(source, control.start(), f"control character U+{ord(control.group()):04X}")
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match:
            raise RuleSyntaxError(source, pos, f"unexpected character '{source[pos]}'")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text.lower() in KEYWORDS:
            tokens.append(Token("keyword", text.lower(), pos))
        elif kind == "quoted":  # a name that is no plain word: `hospital level`, `处方量(月)`
            if not text[1:-1].strip():
                raise RuleSyntaxError(source, pos, "empty name between backticks")
            tokens.append(Token("name", text[1:-1], pos))
        elif kind == "op" and text == "=":
            raise RuleSyntaxError(source, pos, "use '==' to compare, not '='")
        elif kind != "ws":
            tokens.append(Token(kind, text, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0  # how deep inside parentheses, not and - the parser is (see nested)

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, message: str, tok: Token | None = None) -> RuleSyntaxError:
        tok = tok or self.tok
        what = "end of rule" if tok.kind == "end" else f"'{tok.text}'"
        return RuleSyntaxError(self.source, tok.pos, f"{message}, found {what}")

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def nested(self, tok: Token, parse: Callable[[], Node]) -> Node:
        """`parse` one level deeper; past MAX_DEPTH an error at `tok` (3,000 parentheses ran out
        of stack: a RecursionError over 3,000 lines, issue 15)."""
        if self.depth >= MAX_DEPTH:
            raise RuleSyntaxError(self.source, tok.pos, f"parentheses, 'not' and '-' nested more than {MAX_DEPTH} deep")
        self.depth += 1
        try:
            return parse()
        finally:
            self.depth -= 1

    def expect(self, kind: str, text: str) -> Token:
        tok = self.accept(kind, text)
        if tok is None:
            raise self.fail(f"expected '{text}'")
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail("empty rule")
        node = self.or_()
        if self.tok.kind != "end":
            raise self.fail("unexpected token")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while tok := self.accept("keyword", "or"):
            node = Node("or", (node, self.and_()), tok.pos)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while tok := self.accept("keyword", "and"):
            node = Node("and", (node, self.not_()), tok.pos)
        return node

    def not_(self) -> Node:
        if tok := self.accept("keyword", "not"):
            return Node("not", (self.nested(tok, self.not_),), tok.pos)
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        tok = self.tok
        if tok.kind == "op" and tok.text in COMPARISONS:
            self.i += 1
            return Node("cmp", (tok.text, left, self.sum_()), tok.pos)
        negate = False
        if tok.kind == "keyword" and tok.text == "not":
            nxt = self.tokens[self.i + 1]
            if nxt.kind == "keyword" and nxt.text in {"in", "between"}:
                self.i += 1
                negate = True
        if self.accept("keyword", "in"):
            node = Node("in", (left, tuple(self.items())), tok.pos)
            return Node("not", (node,), tok.pos) if negate else node
        if self.accept("keyword", "between"):
            low = self.sum_()
            self.expect("keyword", "and")
            node = Node("between", (left, low, self.sum_()), tok.pos)
            return Node("not", (node,), tok.pos) if negate else node
        if self.accept("keyword", "is"):
            is_not = self.accept("keyword", "not") is not None
            self.expect("keyword", "null")
            node = Node("isnull", (left,), tok.pos)
            return Node("not", (node,), tok.pos) if is_not else node
        return left

    def items(self) -> list[Node]:
        opener = self.accept("op", "(") or self.accept("op", "[")
        if opener is None:
            raise self.fail("expected a list like ('a', 'b') after 'in'")
        closer = ")" if opener.text == "(" else "]"
        items = [self.sum_()]
        while self.accept("op", ","):
            items.append(self.sum_())
        self.expect("op", closer)
        return items

    def sum_(self) -> Node:
        node = self.product()
        while self.tok.kind == "op" and self.tok.text in {"+", "-"}:
            tok = self.tok
            self.i += 1
            node = Node("arith", (tok.text, node, self.product()), tok.pos)
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in {"*", "/", "%"}:
            tok = self.tok
            self.i += 1
            node = Node("arith", (tok.text, node, self.unary()), tok.pos)
        return node

    def unary(self) -> Node:
        if tok := self.accept("op", "-"):
            return Node("neg", (self.nested(tok, self.unary),), tok.pos)
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if self.accept("number"):
            value: object = Decimal(tok.text) if ("." in tok.text or "e" in tok.text.lower()) else int(tok.text)
            return Node("lit", (value,), tok.pos)
        if self.accept("string"):
            body = tok.text[1:-1]
            return Node("lit", (re.sub(r"\\(.)", r"\1", body),), tok.pos)
        if tok.kind == "keyword" and tok.text in {"true", "false", "null"}:
            self.i += 1
            return Node("lit", ({"true": True, "false": False, "null": None}[tok.text],), tok.pos)
        if self.accept("name"):
            if self.accept("op", "("):
                return self.nested(tok, lambda: self.call(tok))
            return Node("name", (tok.text,), tok.pos)
        if self.accept("op", "("):
            node = self.nested(tok, self.or_)
            self.expect("op", ")")
            return node
        raise self.fail("expected a value, a name or '('")

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            raise RuleSyntaxError(
                self.source,
                name.pos,
                f"unknown function '{name.text}' (known: {', '.join(sorted(FUNCTIONS))})",
            )
        args = [self.or_()]
        while self.accept("op", ","):
            args.append(self.or_())
        self.expect("op", ")")
        low, high = FUNCTIONS[name.text]
        if not low <= len(args) <= high:
            count = f"{low}" if low == high else f"{low} to {high}"
            raise RuleSyntaxError(self.source, name.pos, f"{name.text}() takes {count} argument{'s' * (high > 1)}")
        self.check_call(name, args)
        return Node("call", (name.text, tuple(args)), name.pos)

    def check_call(self, name: Token, args: list[Node]) -> None:
        """What a call needs of its arguments that no data can change."""
        if name.text in POPULATION:
            inner = next((n for n in _calls(args[0]) if n.args[0] in POPULATION), None)
            if inner is not None:
                raise RuleSyntaxError(
                    self.source, inner.pos, f"{inner.args[0]}() inside {name.text}(): population statistics do not nest"
                )
        if name.text == "percentile":
            share = args[1]
            value = share.args[0] if share.op == "lit" else None
            if isinstance(value, bool) or not isinstance(value, int | Decimal) or not 0 <= value <= 1:
                raise RuleSyntaxError(
                    self.source, share.pos, "percentile(x, q) needs q a number from 0 to 1, such as 0.8"
                )
        if name.text == "date":
            text = args[0].args[0] if args[0].op == "lit" else None
            if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise RuleSyntaxError(self.source, args[0].pos, "date() takes a text like '2024-06-30'")
            try:
                _date.fromisoformat(text)
            except ValueError:
                raise RuleSyntaxError(self.source, args[0].pos, f"'{text}' is not a date") from None


def _calls(node: Node) -> list[Node]:
    """Every call node in a tree, the root first."""
    found = [node] if node.op == "call" else []
    for arg in node.args:
        for item in arg if isinstance(arg, tuple) else (arg,):
            if isinstance(item, Node):
                found += _calls(item)
    return found


def parse_rule(source: str) -> Node:
    """Parse one rule; raises `RuleSyntaxError` pointing at the offending token."""
    return _Parser(str(source)).parse()
