"""Progress on long work: a spinner with the current step, on stderr, silent when not a TTY."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

_console = Console(stderr=True)


@contextmanager
def steps(quiet: bool = False) -> Iterator[Callable[[str], None]]:
    if quiet or not _console.is_terminal:
        yield lambda text: None
        return
    with _console.status("starting") as status:
        yield lambda text: status.update(text)
