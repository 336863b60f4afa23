"""The lines of a text file, checked before an engine reads it: none too long, not all blank;
and, when an engine has refused the file, the first line whose end differs from the others'.

Why before: DuckDB reads lines of at most 2,000,000 bytes (its max_line_size) and what it does
past that depends on where the line is. A 50 MB quoted cell was an "unterminated quote"; a
200 MB line at the end of a file was no line at all, so the file was reported as "no data rows
(an empty orders file)" (issue 15). One pass over the bytes, in blocks, names the line; it costs
a read of the file (the import reads it anyway for its sha256) and is made once per file and
process. A file of blank lines has no header: saying so beats DuckDB's `syntax error at or near
"}"` over an empty column list.

Mixed line ends (CRLF rows with one LF, or the other way) stop DuckDB's CSV state machine with
no line number; `mixed_line_end` finds the line, outside quoted cells (Excel puts LF inside
cells of a CRLF file, which is fine). It runs only on the way to an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from tierkit.errors import InputError

MAX_LINE_BYTES = 2_000_000  # DuckDB's max_line_size; the line end not counted
BLOCK = 1 << 20  # smaller than MAX_LINE_BYTES: a line over the limit always spans blocks
_checked: dict[tuple[str, int, int], None] = {}
_ENDS = re.compile(rb'"|\r\n|\n|\r')
SHOWN = {b"\n": "LF (\\n)", b"\r\n": "CRLF (\\r\\n)", b"\r": "CR (\\r)"}


def check_lines(path: Path, label: Path, offset: int = 0) -> None:
    """Refuse a file with a line over MAX_LINE_BYTES (naming the first) or with nothing but
    blank lines. `label` is the user's file, whose line numbers are those of `path` plus
    `offset` (-1 for a copy with a header added)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _checked:
        return
    line, run, blank = 1, 0, True  # run: bytes of line `line` read so far
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            blank = blank and block.isspace()
            end = block.find(b"\n")
            if end < 0:
                run += len(block)
                continue
            # lines that start and end inside this block are shorter than BLOCK: only the one
            # running in from the blocks before can be too long
            _too_long(label, line + offset, run + end - (block[end - 1 : end] == b"\r"))
            line += block.count(b"\n")
            run = len(block) - block.rfind(b"\n") - 1
    _too_long(label, line + offset, run)
    if blank:
        raise InputError(f"{label}: the file holds only empty lines ({line - 1}), no header and no data")
    _checked[key] = None


def _too_long(label: Path, line: int, length: int) -> None:
    if length > MAX_LINE_BYTES:
        raise InputError(
            f"{label}: line {line} is {length:,} bytes long; a line holds at most {MAX_LINE_BYTES:,} bytes "
            "(a whole document pasted into a cell, or not a CSV file?)"
        )


def mixed_line_end(path: Path, offset: int = 0) -> str | None:
    """'line N ends with LF (\\n), the lines before it with CRLF (\\r\\n): ...' for the first line
    (outside quoted cells) whose end differs from the first line's, else None."""
    first: bytes | None = None
    quoted, line, carry = False, 1, b""
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            data = carry + block
            carry = b"\r" if data.endswith(b"\r") else b""  # maybe half of a CRLF
            for found in _ENDS.finditer(data[: len(data) - len(carry)]):
                token = found.group()
                if token == b'"':
                    quoted = not quoted  # a doubled quote toggles twice: RFC 4180 holds
                    continue
                if not quoted:
                    if first is None:
                        first = token
                    elif token != first:
                        return (
                            f"line {line + offset} ends with {SHOWN[token]}, the lines before it with {SHOWN[first]}: "
                            "save the file with one kind of line end"
                        )
                line += 1
    return None
