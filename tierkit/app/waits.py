"""What makes a request wait, so that a card can be built on the event loop when nothing does.

Why: an agent's card is about a tenth of a millisecond of Python over tables already in memory,
and handing it to a worker thread and back costs most of that again (docs/benchmarks.md, "API
card lookups"). But a card sometimes waits: on the store (a limited entitlement's uses, the
contacts of a customer who has some, a cache read again every half second), or on a file being
built (a newly published run's lookup). Waiting on the event loop would stall every request
the process serves, so a front end first builds the card with waits refused (`refused()`):
the first thing that would wait calls `blocking()`, which raises `WouldWait`; what was done so
far is dropped (nothing is kept before a wait: caches are filled after their load, the audit
entry is the card's last step) and the front end builds the whole card again in a thread,
where waiting is fine.

Every place that waits calls `blocking()` first: the store (`ServedWorkspace.store`), reading
the published run's pointer, building or loading a lookup, reading the runs folder, a run
switch that waits for its build, a linked id looked up in the links file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_refused: ContextVar[bool] = ContextVar("tierkit_waits_refused", default=False)


class WouldWait(Exception):
    """Raised by `blocking()` where waits are refused; says on what the work would have waited."""


def blocking(what: str) -> None:
    """Call before anything that may wait (a query, a file read or built, a thread joined)."""
    if _refused.get():
        raise WouldWait(what)


def are_refused() -> bool:
    """Whether waits are refused here (a card built on the event loop)."""
    return _refused.get()


@contextmanager
def refused() -> Iterator[None]:
    """Within: `blocking()` raises `WouldWait` (in this thread or task only)."""
    token = _refused.set(True)
    try:
        yield
    finally:
        _refused.reset(token)
