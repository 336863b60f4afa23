"""A served process's copies of what changes in the store, read again off the request path.

Why: a served process keeps copies of what changes in the store (the published run's pointer,
the overrides in force, the contact log's newest entries, the tags people gave, who complained,
the runs folder) and reads each again at most every `pointer_ttl` seconds, so that a card costs
no query. A card built on the event loop refuses to wait (tierkit.app.waits). Before this, when
a copy fell due every card of the next few milliseconds went to a worker thread to read it
(under 16 connections, 16 at once, each the same query), and those cards were the slowest
hundredth. Now, where waits are refused, a copy past half its time is read again ahead by a
background thread while cards go on with it, so that under load no copy falls due; a copy past
its time (after a quiet spell) is read in place, by a worker thread, as before: no card uses a
copy older than `pointer_ttl`. Where waits are allowed (a worker thread, the command line), a
due copy is read in place.

A change made in this process (an override set, a contact logged, a tag given) calls `forget`:
the next use reads the copy in place, whoever asks, and a background read begun before the
change is not kept (its copy may miss the change).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from tierkit.app.waits import are_refused, blocking

log = logging.getLogger(__name__)

Read = Callable[[Any], Any]  # the copy it has (None: none) -> the copy read now


class Copies:
    """Named copies, each read again at most every `ttl()` seconds (see the module's text)."""

    def __init__(self, ttl: Callable[[], float]) -> None:
        self._ttl = ttl
        self._copies: dict[str, tuple[float, Any]] = {}  # name -> (read at, monotonic; 0: read now), copy
        self._changes: dict[str, int] = {}  # name -> changes made here (`forget`)
        self._asked: set[str] = set()
        self._queue: queue.SimpleQueue[tuple[str, Read, int]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def get(self, name: str, read: Read) -> Any:
        """The copy of `name`, read by `read` when there is none or it is due."""
        checked, copy = self._copies.get(name, (0.0, None))
        age, ttl = time.monotonic() - checked, self._ttl()
        if checked > 0.0 and age <= ttl:
            if age > ttl / 2 and are_refused():  # read ahead, so that under load it never falls due
                self._ask(name, read)
            return copy
        blocking(name)
        return self._read(name, read, self._changes.get(name, 0))

    def forget(self, name: str, keep: bool = False) -> None:
        """A change was made here: the next use reads `name` in place. `keep`: the copy stays as
        the next read's start (the contact log's entries so far, read since its newest)."""
        with self._lock:
            self._changes[name] = self._changes.get(name, 0) + 1
            copy = self._copies.get(name, (0.0, None))[1] if keep else None
            self._copies[name] = (0.0, copy)

    def reading(self) -> int:
        """Reads asked of the background thread and not done yet."""
        return len(self._asked)

    def _read(self, name: str, read: Read, changes: int) -> Any:
        """The copy read now, kept unless a change was made here since `changes` were counted."""
        copy = read(self._copies.get(name, (0.0, None))[1])
        with self._lock:
            if self._changes.get(name, 0) == changes:  # asked after the last change made here
                self._copies[name] = (time.monotonic(), copy)
        return copy

    def _ask(self, name: str, read: Read) -> None:
        with self._lock:
            if name in self._asked:
                return
            self._asked.add(name)
            changes = self._changes.get(name, 0)  # counted when asked: the read may start later
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="catch-up", daemon=True)
                self._thread.start()
        self._queue.put((name, read, changes))

    def _run(self) -> None:
        while True:
            name, read, changes = self._queue.get()
            try:
                self._read(name, read, changes)
            except Exception as err:  # the copy stays; the next card that finds it due asks again
                log.warning("reading %s again failed: %s", name, err)
            finally:
                with self._lock:
                    self._asked.discard(name)
