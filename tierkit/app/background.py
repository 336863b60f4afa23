"""The work a serving process does on its own, on a timer: scheduled gradings, and whatever else
registers a task (alert delivery, ...).

`tierkit serve` starts one `ServiceLoop` per worker process. Every `interval` seconds (30 by
default, $TIERKIT_LOOP_INTERVAL) it runs its tasks one after the other, each given the process's
ServedWorkspace. A task that raises is logged and the loop goes on: nothing a task does can stop
the server. The same error again and again is logged once, and once more when the task recovers,
so a bad `schedule:` does not fill the log every 30 seconds. A store that went away (a
PostgreSQL server restarting) is one such error, `StoreUnavailableError`: each task fails fast
on its tick, is logged once as one line, and runs again on the next tick; the loop never stops
for it (tests/reliability/test_pg_restart.py). Tasks that must run once across worker processes
take a store lock themselves (the scheduled grading does).

To add a task, for every server:

    from tierkit.app.background import register_task
    register_task("alerts", deliver_due)        # deliver_due(served: ServedWorkspace) -> None

or for one loop: `ServiceLoop(served, tasks=[("schedule", run_schedule), ...])`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from tierkit.app.serving import ServedWorkspace
from tierkit.errors import TierkitError
from tierkit.settings import setting

log = logging.getLogger(__name__)

Task = Callable[[ServedWorkspace], object]
DEFAULT_INTERVAL = 30.0


def run_schedule(served: ServedWorkspace) -> None:
    """The workspace's scheduled grading, when one is due (tierkit.app.schedule)."""
    from tierkit.app.schedule import run_due

    run_due(served.workspace.root)


def deliver_alerts(served: ServedWorkspace) -> None:
    """Alerts due to webhooks, sent now (tierkit.app.webhooks); retries wait for a later tick.
    Several workers may send at once: each claims its deliveries in the store first."""
    from tierkit.app.webhooks import deliver

    deliver(served.workspace.root, wait=False)


def prune_audit(served: ServedWorkspace) -> None:
    """Audit entries past TIERKIT_AUDIT_RETENTION_DAYS removed, once a day (tierkit.app.retention)."""
    from tierkit.app.retention import prune_due

    prune_due(served)


# what every `tierkit serve` loop runs
TASKS: list[tuple[str, Task]] = [("schedule", run_schedule), ("alerts", deliver_alerts), ("audit", prune_audit)]


def register_task(name: str, task: Task) -> None:
    """Add a task to every loop created from now on (a name already there is replaced)."""
    TASKS[:] = [(n, t) for n, t in TASKS if n != name] + [(name, task)]


def _first_line(err: BaseException) -> str:
    """The driver's first line of a database error (SQLAlchemy's text adds the statement and its
    values, which differ each tick and may be personal), else the error's own first line."""
    cause = getattr(err, "orig", None) or err
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else ""


def loop_interval() -> float:
    """Seconds between ticks: $TIERKIT_LOOP_INTERVAL, else 30; a bad value falls back to 30."""
    raw = setting("loop_interval")
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError:
        log.warning("TIERKIT_LOOP_INTERVAL=%r is not a number of seconds; using %s", raw, DEFAULT_INTERVAL)
        return DEFAULT_INTERVAL
    return value if value > 0 else DEFAULT_INTERVAL


class ServiceLoop:
    """A daemon thread that runs `tasks` at start and then every `interval` seconds until `stop()`."""

    def __init__(
        self,
        served: ServedWorkspace,
        tasks: Sequence[tuple[str, Task]] | None = None,
        interval: float | None = None,
    ) -> None:
        self.served = served
        self.tasks: list[tuple[str, Task]] = list(TASKS if tasks is None else tasks)
        self.interval = interval if interval is not None else loop_interval()
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: dict[str, str] = {}  # task -> the error last logged for it

    def add(self, name: str, task: Task) -> None:
        """Add a task to this loop (it runs from the next tick on)."""
        self.tasks = [(n, t) for n, t in self.tasks if n != name] + [(name, task)]

    def start(self) -> ServiceLoop:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tierkit-service-loop", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the task running now (if any) ends; wait at most `timeout` seconds for it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick()
            self._stop.wait(max(self.interval - (time.monotonic() - started), 0.0))

    def tick(self) -> None:
        """Run every task once, each on its own: one failing does not keep the others from running."""
        for name, task in list(self.tasks):
            if self._stop.is_set():
                return
            try:
                task(self.served)
            except Exception as err:  # a user's error (a bad schedule) is one line; a bug keeps its traceback
                mine = isinstance(err, TierkitError)
                text = str(err) if mine else f"{type(err).__name__}: {_first_line(err)}"
                if self._failing.get(name) != text:
                    log.error("background task %s failed: %s", name, text, exc_info=not mine)
                    self._failing[name] = text
                continue
            if name in self._failing:
                log.warning("background task %s works again", name)
                del self._failing[name]
        self.ticks += 1
