"""The store's named locks and schedule slots, on SQLite and on PostgreSQL (TIERKIT_TEST_PG_URL):
one winner among racing threads, a lapsed lock taken over, renewal and release by the holder only."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import postgres_database
from tierkit.store import locks
from tierkit.store import schedule_runs as slots
from tierkit.store.database import store_engine

TTL = dt.timedelta(minutes=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "postgresql":
        return store_engine(postgres_database())
    return store_engine(f"sqlite:///{tmp_path / 'tierkit.db'}")


def race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """`work(i)` on `count` threads released at once; their results in thread order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_one_of_many_racing_holders_gets_the_lock(store: Any) -> None:
    won = race(8, lambda i: locks.acquire(store, "grading", f"holder-{i}", TTL))
    assert won.count(True) == 1
    winner = f"holder-{won.index(True)}"
    found = locks.held(store, "grading")
    assert found is not None and found["holder"] == winner and not found["lapsed"]
    assert not locks.acquire(store, "grading", "late", TTL)  # still held
    assert not locks.release(store, "grading", "late")  # only the holder lets it go
    assert locks.release(store, "grading", winner)
    assert locks.held(store, "grading") is None
    assert locks.acquire(store, "grading", "late", TTL)


def test_a_lapsed_lock_is_taken_over_by_one_and_the_old_holder_loses_it(store: Any) -> None:
    long_ago = locks.utc_now() - dt.timedelta(hours=2)
    assert locks.acquire(store, "grading", "crashed", TTL, now=long_ago)
    assert locks.held(store, "grading")["lapsed"]  # type: ignore[index]
    won = race(6, lambda i: locks.acquire(store, "grading", f"new-{i}", TTL))
    assert won.count(True) == 1
    assert not locks.renew(store, "grading", "crashed", TTL)  # the old holder finds it gone
    assert not locks.release(store, "grading", "crashed")  # and cannot free the new holder's lock
    assert locks.held(store, "grading")["holder"] == f"new-{won.index(True)}"  # type: ignore[index]


def test_a_renewed_lock_does_not_lapse(store: Any) -> None:
    start = locks.utc_now() - dt.timedelta(minutes=4)
    assert locks.acquire(store, "grading", "me", TTL, now=start)
    assert locks.renew(store, "grading", "me", TTL)
    later = locks.utc_now() + dt.timedelta(minutes=3)  # past the first expiry, within the renewed one
    assert not locks.acquire(store, "grading", "other", TTL, now=later)
    assert not locks.held(store, "grading", now=later)["lapsed"]  # type: ignore[index]


def test_a_lease_renews_while_held_and_releases_at_the_end(store: Any) -> None:
    ttl = dt.timedelta(seconds=0.6)
    with locks.Lease(store, "grading", ttl) as lease:
        assert lease.taken
        with locks.Lease(store, "grading", ttl) as other:
            assert not other.taken  # held by the first
        time.sleep(1.5)  # longer than the ttl: renewed meanwhile, so nobody may take it
        assert not locks.acquire(store, "grading", "other", ttl)
        assert not lease.lost
    assert locks.held(store, "grading") is None


def test_one_of_many_takes_a_slot_and_finishing_records_it(store: Any) -> None:
    slot = slots.slot_key(dt.datetime(2026, 3, 1, 2, 0, 0, 123, tzinfo=dt.UTC))
    assert slot == "2026-03-01T02:00:00+00:00"
    won = race(8, lambda i: slots.take(store, slot, "0 2 1 * *", f"h{i}"))
    assert won.count(True) == 1
    holder = f"h{won.index(True)}"
    row = slots.get(store, slot)
    assert row is not None and row["state"] == "running" and row["holder"] == holder
    slots.finish(store, slot, "someone-else", "x", None)  # not theirs: nothing changes
    assert slots.get(store, slot)["state"] == "running"  # type: ignore[index]
    slots.finish(store, slot, holder, None, "InputError: no orders")
    row = slots.get(store, slot)
    assert row is not None and row["state"] == "failed" and row["error"] == "InputError: no orders"
    assert row["started_at"] <= row["finished_at"] and row["finished_at"].tzinfo is not None
    assert not slots.retake(store, slot, "h-wrong", "again", None)
    assert slots.retake(store, slot, holder, "again", None)
    row = slots.get(store, slot)
    assert row is not None and (row["state"], row["holder"], row["error"], row["finished_at"]) == (
        "running",
        "again",
        None,
        None,
    )
    earlier = slots.slot_key(dt.datetime(2026, 2, 1, 2, tzinfo=dt.UTC))
    assert slots.take(store, earlier, "0 2 1 * *", "h")
    assert [r["slot"] for r in slots.recent(store)] == [slot, earlier]  # latest first


def test_published_since_counts_only_published_runs(store: Any) -> None:
    from tierkit.store import catalog

    made = dt.datetime(2026, 3, 5, 10, tzinfo=dt.UTC)
    manifest = {
        "run_id": "r1",
        "created_at": made.isoformat(),
        "as_of": "2026-03-04",
        "policy": {"name": "retail", "hash": "h"},
        "rows": 3,
    }
    catalog.record_run(store, manifest)
    assert slots.published_since(store, made - dt.timedelta(days=1)) is None  # kept back, not published
    catalog.publish(store, "r1")
    assert slots.published_since(store, made - dt.timedelta(days=1)) == "r1"
    assert slots.published_since(store, made) == "r1"  # at the slot counts
    assert slots.published_since(store, made + dt.timedelta(seconds=1)) is None
