"""The words of the rule language: its tokens, the tree the parser builds, and its one error.

Kept apart from the grammar (`tierkit.policy.expr`) so that the checks of function calls
(`tierkit.policy.expr_calls`) and the compiler can raise the same error, pointing at the same
column, without importing the parser. A rule is text written by an analyst, or generated: an
error quotes at most SHOWN characters of it around the column, in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tierkit.errors import PolicyError

KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "true", "false"}
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # in no rule: binary data, never text an engine compares
SHOWN = 200  # characters of a rule an error quotes
LINE_BREAKS = str.maketrans("\n\r\t\x0b\x0c\x85\u2028\u2029", " " * 8)  # what str.splitlines splits on, and tabs

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


def quoted(source: str, pos: int) -> str:
    """The rule as an error quotes it: whole when short; else SHOWN characters around `pos` (a
    generated rule of 6,000 characters), a line break or tab as a space and a control character
    written as \\x00: in one line, each character where the column says (issue 15, fuzzed)."""
    shown = source
    if len(source) > SHOWN:
        start = max(0, pos - SHOWN // 2)
        end = start + SHOWN
        shown = ("…" if start else "") + source[start:end] + ("…" if end < len(source) else "")
    shown = shown.translate(LINE_BREAKS)  # a rule of several YAML lines (when: |) quoted in one
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], shown)


class RuleSyntaxError(PolicyError):
    """A rule that does not parse; `pos` is the 0-based column of the offending token."""

    def __init__(self, source: str, pos: int, message: str) -> None:
        self.source, self.pos, self.reason = source, pos, message
        super().__init__(f"{message} at column {pos + 1} in '{quoted(source, pos)}'")


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
