"""Progress as a callback: the use cases say what they are doing; the caller decides how to show it.

The CLI draws a bar (cli/progress.py), the API records each step on its job, the web workbench
(and tests) can collect them. The application layer knows no terminal and no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def silent(text: str) -> None:
    """The progress of a caller that shows none."""
    del text
