"""What a serving process prepares before anyone asks, so that no first view waits for it.

A card needs the published run's sorted lookup file and the previous runs' (its tier history);
the overview and cohorts pages need figures that depend only on the run and the orders. Each is
built on first use anyway; `tierkit serve` calls `warm_up` in a background thread at start, so
that the first person at the counter does not pay for it (measured: benchmarks/workbench.py).
"""

from __future__ import annotations

import logging

from tierkit.app.cohorts import cohorts
from tierkit.app.overview import overview
from tierkit.app.serving import ServedWorkspace

log = logging.getLogger(__name__)


def warm_up(served: ServedWorkspace) -> None:
    """Lookups of the published run and the runs before it, and the pages' figures per run."""
    try:
        current = served.snapshot()
        for run in served.runs()[-3:]:  # a card's tier history reads the latest runs first
            served.snapshot(run.run_id)
        for lang in ("zh", "en"):
            overview(served, lang)
        cohorts(served)
        log.info("warmed up run %s", current.run.run_id)
    except Exception as err:
        log.warning("warm-up stopped: %s", err)
