"""Progress on long work: a bar over the steps of a command, on stderr, silent when not a TTY.

Grading is one engine query, so there is no row count to follow; the bar moves per step
(read, grade, write) and shows the step and the time spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

_console = Console(stderr=True)


@contextmanager
def steps(total: int, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """Yields `say(text)`: each call starts the next step, named `text`."""
    if quiet or not _console.is_terminal:
        yield lambda text: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_console, transient=True) as progress:
        task = progress.add_task("starting", total=total)
        started = False

        def say(text: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=text)

        yield say
        progress.update(task, completed=total)
