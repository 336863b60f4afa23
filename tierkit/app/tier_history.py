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


@dataclass
class Joined:
    """The tiers of `runs` by customer: column `t{i}` holds the code of the tier in run i (0: not
    in that run; k: `tiers[k - 1]`)."""

    runs: tuple[str, ...]
    tables: tuple[SortedTable, ...]  # the runs' lookups it was built from (kept: compared by identity)
    tiers: tuple[str, ...]
    table: SortedTable
    snapshots: tuple[Snapshot, ...]
    seen: float = field(default_factory=time.monotonic)
    _labels: dict[str, tuple[dict[str, str], ...]] = field(default_factory=dict)

    def labels(self, lang: str) -> tuple[dict[str, str], ...]:
        """Each run's tier labels in `lang`, from the policy it was graded with (shared: read only)."""
        found = self._labels.get(lang)
        if found is None:
            found = self._labels[lang] = tuple(tier_labels(s.policy, [], lang) for s in self.snapshots)
        return found

    def of(self, customer_id: str) -> list[str | None]:
        """The customer's tier in each run, oldest first (None: not in that run)."""
        row = self.table.find(customer_id)
        if row is None:
            return [None] * len(self.runs)
        return [self.tiers[row[f"t{i}"] - 1] if row[f"t{i}"] else None for i in range(len(self.runs))]


def join(snapshots: Sequence[Snapshot]) -> Joined:
    """The tiers of the runs of `snapshots` joined by customer id, sorted as lookups are."""
    import duckdb

    con = duckdb.connect()
    try:
        for i, snapshot in enumerate(snapshots):
            con.register(f"r{i}", snapshot.table.table.select(["customer_id", "tier"]))
        every = " UNION ALL ".join(
            f"SELECT customer_id, CAST(tier AS VARCHAR) AS tier, {i} AS run FROM r{i}" for i in range(len(snapshots))
        )
        named = con.sql(f"SELECT DISTINCT tier FROM ({every}) WHERE tier IS NOT NULL ORDER BY 1").fetchall()
        tiers = tuple(str(r[0]) for r in named)
        if len(tiers) > 255:
            raise ValueError(f"{len(tiers)} tiers: more than a code of one byte holds")
        codes = ", ".join(
            f"CAST(coalesce(max(list_position($tiers, tier)) FILTER (WHERE run = {i}), 0) AS UTINYINT) AS t{i}"
            for i in range(len(snapshots))
        )
        joined = con.execute(
            f"SELECT customer_id, {codes} FROM ({every}) WHERE customer_id IS NOT NULL "
            "GROUP BY customer_id ORDER BY customer_id",
            {"tiers": list(tiers)},
        ).fetch_arrow_table()
    finally:
        con.close()
    table = pa.Table.from_batches(joined.combine_chunks().to_batches(max_chunksize=max(joined.num_rows, 1)))
    name = snapshots[-1].table.path.with_name(".history (in memory)")
    return Joined(
        tuple(s.run.run_id for s in snapshots),
        tuple(s.table for s in snapshots),
        tiers,
        SortedTable(name, "customer_id", table),
        tuple(snapshots),
    )


class TierHistories:
    """The joined tiers of the recent runs, one table at a time, built in the background."""

    def __init__(self, ttl: Callable[[], float]) -> None:
        self._ttl = ttl
        self._joined: Joined | None = None
        self._building: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def get(self, runs: tuple[str, ...], snapshots: Callable[[], list[Snapshot]]) -> Joined | None:
        """The joined tiers of `runs` when ready and still those of their lookups, else None (and
        a build asked of a background thread). `snapshots`: the runs' snapshots, asked for at
        most every `ttl` seconds to check the table against them."""
        joined = self._joined
        if joined is not None and joined.runs == runs:
            now = time.monotonic()
            if now - joined.seen <= self._ttl():
                return joined
            if all(s.table is t for s, t in zip(snapshots(), joined.tables, strict=True)):
                joined.seen = now
                return joined
        self._ask(runs, snapshots)
        return None

    def _ask(self, runs: tuple[str, ...], snapshots: Callable[[], list[Snapshot]]) -> None:
        with self._lock:
            if self._building is not None:
                return
            self._building = runs
        threading.Thread(target=self._build, args=(runs, snapshots), name="tier-history", daemon=True).start()

    def _build(self, runs: tuple[str, ...], snapshots: Callable[[], list[Snapshot]]) -> None:
        try:
            self._joined = join(snapshots())
        except Exception as err:  # the cards go on reading run by run; the next card asks again
            log.warning("joining the tier history of %d runs failed: %s", len(runs), err)
        finally:
            with self._lock:
                self._building = None

    def wait(self, timeout: float = 30.0) -> None:
        """Until no build runs (tests)."""
        until = time.monotonic() + timeout
        while self._building is not None and time.monotonic() < until:
            time.sleep(0.01)
