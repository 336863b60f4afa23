"""Free text people type (a reason, a note, a channel): what is kept, and what is refused.

Why: a reason of three NUL characters passed "at least 3 characters", and a control character
in a note ends up in the audit log, exports and terminals, where it can hide or rewrite what is
around it. So text is stripped of surrounding blanks before its length is counted, and control
characters (Unicode category Cc: NUL, escape, backspace, NEL ...) are refused; text of several
lines (`lines=True`) may hold tabs and line breaks. Lone surrogates never get this far: the
JSON reader refuses them.
"""

from __future__ import annotations

import unicodedata

LINE_BREAKS = frozenset("\t\n\r")


def clean_text(value: str, lines: bool = False) -> str:
    """`value` without surrounding blanks; a ValueError naming the first control character."""
    allowed = LINE_BREAKS if lines else frozenset()
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in allowed:
            raise ValueError(f"control character U+{ord(char):04X} in the text: type plain text")
    return value.strip()
