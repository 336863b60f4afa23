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

Functions (FUNCTIONS) and what a call needs of its arguments: `tierkit.policy.expr_calls`.
Tokens, the tree and the error: `tierkit.policy.expr_tokens`. Division (and %) by zero gives a
missing value on every engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from tierkit.policy.expr_calls import FUNCTIONS, POPULATION, check_call, check_known
from tierkit.policy.expr_tokens import SHOWN, Node, RuleSyntaxError, Token, tokenize

__all__ = ["FUNCTIONS", "POPULATION", "SHOWN", "Node", "RuleSyntaxError", "Token", "parse_rule", "tokenize"]
COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
MAX_DEPTH = 50  # parentheses, not and - inside each other: deeper only a generated rule goes, and the stack ends
# levels of the tree: a compiler and Ibis recurse over them (a 400-term sum ran out of stack);
# half of what compiled on DuckDB from a shallow stack, far above what a policy writes by hand
MAX_HEIGHT = 100


INT64_MAX = 2**63 - 1  # a whole-number literal past it fails at its column, not in the engine


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
        deep = too_tall(node)
        if deep is not None:  # 400 terms in a row compiled into a RecursionError (issue 15, fuzzed)
            raise RuleSyntaxError(
                self.source,
                deep.pos,
                f"operators inside operators more than {MAX_HEIGHT} deep (a long sum or chain of calls); "
                "split the rule into metrics (expr:)",
            )
        return node

    def or_(self) -> Node:
        return self.chain("or", self.and_)

    def and_(self) -> Node:
        return self.chain("and", self.not_)

    def chain(self, word: str, operand: Callable[[], Node]) -> Node:
        """`a or b or c ...`: a balanced tree, as deep as the log of its length (SQL's and and or
        are associative, missing values too): a generated rule of 3,000 conditions compiles."""
        items, words = [operand()], []
        while tok := self.accept("keyword", word):
            words.append(tok)
            items.append(operand())
        return _balanced(word, items, words)

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
            if isinstance(value, int) and value > INT64_MAX:  # both engines count in 64-bit integers
                raise RuleSyntaxError(
                    self.source,
                    tok.pos,
                    f"{tok.text} is past the largest whole number (64-bit); write it as 1e{len(tok.text) - 1}",
                )
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
        check_known(self.source, name)
        args = [self.or_()]
        while self.accept("op", ","):
            args.append(self.or_())
        self.expect("op", ")")
        check_call(self.source, name, args)
        return Node("call", (name.text, tuple(args)), name.pos)


def _balanced(word: str, items: list[Node], words: list[Token]) -> Node:
    """`items` joined by `words` (one fewer), halved at the middle word."""
    if len(items) == 1:
        return items[0]
    half = (len(items) + 1) // 2  # 3 items: (a or b) or c, as a left-to-right parse gives
    left, right = _balanced(word, items[:half], words[: half - 1]), _balanced(word, items[half:], words[half:])
    return Node(word, (left, right), words[half - 1].pos)


def too_tall(root: Node) -> Node | None:
    """The lowest node with more than MAX_HEIGHT levels below and including it (walked without
    recursion: a sum of 5,000 terms is a tree 5,000 deep), or None."""
    heights: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, seen = stack.pop()
        below = [n for arg in node.args for n in (arg if isinstance(arg, tuple) else (arg,)) if isinstance(n, Node)]
        if not seen:
            stack.append((node, True))
            stack.extend((n, False) for n in below)
            continue
        heights[id(node)] = 1 + max((heights[id(n)] for n in below), default=0)
        if heights[id(node)] > MAX_HEIGHT:
            return node
    return None


def parse_rule(source: str) -> Node:
    """Parse one rule; raises `RuleSyntaxError` pointing at the offending token."""
    return _Parser(str(source)).parse()
