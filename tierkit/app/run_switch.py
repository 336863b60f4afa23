"""A publish switches a serving process over to the new run once that run is ready to serve.

A card is served from the run's sorted lookup file, built on first use. At a million customers
that build takes ~10 s (more while the grading that published the run still holds the cores),
and every request waited for it: after each publish the counter froze (measured by
benchmarks/load.py: p99 7.1 s at a rate whose p99 is 7 ms otherwise). Now the first request that
sees a new pointer starts the build in a background thread; the requests of the build's first
`wait` seconds wait for it (a small run is ready by then, so a small shop switches at once), the
later ones get the previous run, whole, until the new one is ready. (When every request waited
its own `wait`, the thread pool was soon all waiting: a 2.4 s stall in the same benchmark.)
No request mixes two runs: each takes one snapshot. The first run a process serves has nothing
to fall back on: it is built and waited for, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tierkit.app.waits import blocking

if TYPE_CHECKING:
    from tierkit.app.serving import Snapshot

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds before a failed build is tried again (the previous run served meanwhile)


@dataclass
class RunSwitch:
    """The snapshot a process serves as current, and the builds of newly published runs."""

    served: Snapshot | None = None
    _builds: dict[str, threading.Thread] = field(default_factory=dict)
    _failed: dict[str, float] = field(default_factory=dict)
    _started: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def building(self, run_id: str) -> bool:
        """Whether the run's whole lookup is being built in the background right now."""
        thread = self._builds.get(run_id)
        return thread is not None and thread.is_alive()

    def serve(
        self, run_id: str, build: Callable[[], Snapshot], built: Callable[[], Snapshot | None], wait: float
    ) -> Snapshot | None:
        """The run's snapshot when it is (or becomes within `wait` seconds) ready; else the one
        served so far. None when no other run was served (or its files are gone): the caller builds."""
        found = built()
        if found is not None:
            self.served = found
            return found
        blocking(f"the lookup of run {run_id}")
        previous = self.served
        if previous is None or previous.run.run_id == run_id or not previous.table.path.exists():
            return None
        thread = self._start(run_id, build)
        if thread is not None:  # the requests of the build's first `wait` seconds wait, the later ones not
            thread.join(max(0.0, wait - (time.monotonic() - self._started.get(run_id, 0.0))))
        found = built()
        if found is not None:
            self.served = found
            log.info("serving run %s (was %s)", run_id, previous.run.run_id)
            return found
        return previous

    def _start(self, run_id: str, build: Callable[[], Snapshot]) -> threading.Thread | None:
        with self._lock:
            thread = self._builds.get(run_id)
            if thread is not None and (thread.is_alive() or run_id not in self._failed):
                return thread
            if time.monotonic() - self._failed.get(run_id, -RETRY_AFTER) < RETRY_AFTER:
                return None
            self._failed.pop(run_id, None)

            def run() -> None:
                yield_the_cores()
                try:
                    build()
                except Exception as err:  # the next requests keep the previous run and try again later
                    log.warning("run %s cannot be served yet: %s", run_id, err)
                    self._failed[run_id] = time.monotonic()

            thread = threading.Thread(target=run, name=f"lookup-{run_id}", daemon=True)
            self._started[run_id] = time.monotonic()
            self._builds = {**{k: t for k, t in self._builds.items() if t.is_alive()}, run_id: thread}
            thread.start()
            return thread


def yield_the_cores() -> None:
    """The building thread at the lowest CPU priority, and so the DuckDB threads it starts (Linux
    threads inherit their creator's niceness): the requests served meanwhile come first. Linux
    only, where a thread id names one thread to `setpriority`."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
