"""A card's tier history as one lookup: the tiers of the recent runs side by side, by customer.

Why: the timeline looked the customer up in each of the last twelve runs, one sorted file each
(the run's snapshot, a search of a million ids, pages of twelve files): with a year of monthly
runs that was most of an agent card's time in a serving process (docs/benchmarks.md, round
three). Here the tiers of those runs are joined once, when the list of runs changes, into one
table sorted by id, each run's tier a small code, and a card finds its customer once.

Kept in memory, never written: erasure and backups have nothing more to know of it. It is built
from the runs' own lookups and checked against them at most every `pointer_ttl` (as the runs
are): a run whose lookup was rebuilt (after `tierkit forget` rewrote its result) gives a new
table. It is built by a background thread; until it is ready, cards read the runs one by one.
A run graded since is merged into the join as soon as it appears (app/tier_merge.py), and its
lookup is read by a background thread too (`TierHistories.run`): no card waits for a new run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from tierkit.policy.labels import tier_labels
from tierkit.runs.lookup import SortedTable

if TYPE_CHECKING:  # the served workspace holds the histories
    from tierkit.app.serving import Snapshot

log = logging.getLogger(__name__)
# a join lacking a run is made again once it lacks this many (a run graded since is merged into
# it with Arrow: 0.14-0.34 CPU s at a million customers, app/tier_merge.py; joined anew in SQL
# it was 0.84 s, and this was 3), or, lacking none, is this many seconds old; a card reads the
# runs it lacks on its own meanwhile
REJOIN_MISSING = 1
REJOIN_AFTER = 30.0


@dataclass
class Joined:
    """The tiers of `runs` by customer: the column `columns[run]` holds the code of the customer's
    tier in that run (0: not in it; k: `tiers[k - 1]`)."""

    runs: tuple[str, ...]
    tiers: tuple[str, ...]
    table: SortedTable
    snapshots: dict[str, Snapshot]  # each run's, whose lookup it was built from (compared by identity)
    seen: float = field(default_factory=time.monotonic)
    made: float = field(default_factory=time.monotonic)
    _labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def labels(self, lang: str) -> dict[str, dict[str, str]]:
        """Each run's tier labels in `lang`, from the policy it was graded with (shared: read only)."""
        found = self._labels.get(lang)
        if found is None:
            found = self._labels[lang] = {r: tier_labels(s.policy, [], lang) for r, s in self.snapshots.items()}
        return found

    def of(self, customer_id: str) -> dict[str, str | None]:
        """run -> the customer's tier there (None: not in that run)."""
        row = self.table.find(customer_id)
        if row is None:
            return dict.fromkeys(self.runs)
        return {run: self.tiers[row[f"t{i}"] - 1] if row[f"t{i}"] else None for i, run in enumerate(self.runs)}


def join(snapshots: Sequence[Snapshot], before: Joined | None = None) -> Joined:
    """The tiers of the runs of `snapshots` joined by customer id, sorted as lookups are. With
    `before` (the join made for the runs before a grading added one), the runs it holds from the
    same lookups are taken from it and only the others are read: a new run costs a join of two
    tables, not of twelve (3.7 -> 0.84 CPU s at a million customers)."""
    from tierkit.app.tier_merge import merge_runs
    from tierkit.backends.tier_join import join_tiers

    sources: list[int | pa.Table] = []
    for snapshot in snapshots:
        run = snapshot.run.run_id
        held = before.snapshots.get(run) if before is not None else None
        if before is not None and held is not None and held.table is snapshot.table:
            sources.append(before.runs.index(run))  # its column in the join before
        else:
            sources.append(snapshot.table.table.select(["customer_id", "tier"]))
    # a run graded since, merged with Arrow (app/tier_merge.py); else joined anew in SQL
    merged = merge_runs(sources, before.table, before.tiers) if before is not None else None
    table, tiers = merged or join_tiers(
        sources, before.table.table if before is not None else None, before.tiers if before else ()
    )
    name = snapshots[-1].table.path.with_name(".history (in memory)")
    return Joined(
        tuple(s.run.run_id for s in snapshots),
        tiers,
        SortedTable(name, "customer_id", table),
        {s.run.run_id: s for s in snapshots},
    )


class TierHistories:
    """The joined tiers of the recent runs, one table at a time, built in the background."""

    def __init__(self, ttl: Callable[[], float]) -> None:
        self._ttl = ttl
        self.on = False  # joins are made for a serving process only (`start`)
        self._joined: Joined | None = None
        self._building: tuple[str, ...] | None = None
        self._reading: set[str] = set()  # runs whose lookups background threads are building
        self._lock = threading.Lock()

    def get(
        self,
        runs: tuple[str, ...],
        snapshots: Callable[[], list[Snapshot]],
        ready: Callable[[str], Snapshot | None],
    ) -> Joined | None:
        """The joined tiers holding at least one of `runs`, still those of their lookups, else
        None; a join of exactly `runs` is asked of a background thread when this is not one (a
        grading added a run: the cards read that run on its own meanwhile), once it lacks
        REJOIN_MISSING runs or is REJOIN_AFTER seconds old. `snapshots`: the runs' snapshots, for
        the thread to join; `ready`: a run's snapshot if its lookup is there, else None (never a
        build), asked at most every `ttl` seconds to check the join against the lookups."""
        joined = self._joined
        if not self.on:
            return None
        if joined is None or not set(runs) & set(joined.runs):
            self._ask(runs, snapshots)
            return None
        now = time.monotonic()
        if now - joined.seen > self._ttl():
            held = [run for run in runs if run in joined.snapshots]
            if any((found := ready(run)) is None or found.table is not joined.snapshots[run].table for run in held):
                self._joined = None  # a run's lookup was dropped or rebuilt (erasure): join again
                self._ask(runs, snapshots)
                return None
            joined.seen = now
        missing = len(set(runs) - set(joined.runs))
        if joined.runs != runs and (missing >= REJOIN_MISSING or now - joined.made >= REJOIN_AFTER):
            self._ask(runs, snapshots)
        return joined

    def run(self, run_id: str, ready: Callable[[], Snapshot | None], build: Callable[[], Snapshot]) -> Snapshot | None:
        """A run of the history with its lookup: the one `ready`, else one `build` makes. In a
        serving process a background thread builds it and this answers None meanwhile: the cards
        leave the run out of the history (and say so) for the second or so it takes, where every
        card waited for it before (a grading just done stalled the agents: docs/benchmarks.md).
        A one-shot process (`tierkit show`) builds it at once."""
        found = ready()
        if found is not None or not self.on:
            return found or build()
        with self._lock:
            if run_id in self._reading:
                return None
            self._reading.add(run_id)
        threading.Thread(target=self._read, args=(run_id, build), name="tier-history-run", daemon=True).start()
        return None

    def _read(self, run_id: str, build: Callable[[], Snapshot]) -> None:
        try:
            build()
        except Exception as err:  # the run stays out of the history; the next card asks again
            log.warning("reading run %s for the tier history failed: %s", run_id, err)
        finally:
            with self._lock:
                self._reading.discard(run_id)

    def start(self) -> None:
        """Join from now on. A serving process asks it: a card in a one-shot process (`tierkit
        show`) reads the runs one by one, and does not leave a join's thread running at its exit."""
        self.on = True

    def stop(self) -> None:
        """No more joins; the one being made is waited for (a thread stopped inside DuckDB at a
        process's exit aborts the process)."""
        self.on = False
        self.wait()

    def _ask(self, runs: tuple[str, ...], snapshots: Callable[[], list[Snapshot]]) -> None:
        with self._lock:
            if self._building is not None:
                return
            self._building = runs
        threading.Thread(target=self._build, args=(runs, snapshots), name="tier-history", daemon=True).start()

    def _build(self, runs: tuple[str, ...], snapshots: Callable[[], list[Snapshot]]) -> None:
        try:
            self._joined = join(snapshots(), self._joined)
        except Exception as err:  # the cards go on reading run by run; the next card asks again
            log.warning("joining the tier history of %d runs failed: %s", len(runs), err)
        finally:
            with self._lock:
                self._building = None

    def wait(self, timeout: float = 30.0) -> None:
        """Until no join and no run's lookup is being built (tests, and a process's exit)."""
        until = time.monotonic() + timeout
        while (self._building is not None or self._reading) and time.monotonic() < until:
            time.sleep(0.01)
