"""A route's work done on the event loop when it waits on nothing, else in a worker thread.

Why: FastAPI runs a plain `def` route in its thread pool, and the hand-off to a thread and
back costs about as much as an agent's card itself (docs/benchmarks.md, "API card lookups").
A card is mostly Python over tables already in memory; when it is not (a store query, a lookup
file being built: tierkit.app.waits), the first wait raises `WouldWait` before anything is
kept, and the whole work is done again in a thread, as a `def` route's would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from tierkit.app.waits import WouldWait, refused

Answer = TypeVar("Answer")


async def answered(work: Callable[[], Answer]) -> Answer:
    """`work()`, on the event loop if it never waits, else in the thread pool."""
    try:
        with refused():
            return work()
    except WouldWait:
        return await run_in_threadpool(work)
