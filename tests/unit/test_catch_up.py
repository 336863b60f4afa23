"""`Copies`: a copy is never used past its time; on the event loop it is read ahead in the
background; a change made here is read in place and never lost to a read begun before it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tierkit.app import catch_up
from tierkit.app.catch_up import Copies
from tierkit.app.waits import WouldWait, refused

TTL = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(catch_up.time, "monotonic", found)
    return found


class Store:
    """What the copies read: a value and how often it was read, in which thread."""

    def __init__(self) -> None:
        self.value = "v1"
        self.reads: list[str] = []
        self.gate: threading.Event | None = None

    def read(self, _before: Any) -> str:
        if self.gate is not None and threading.current_thread().name == "catch-up":
            self.gate.wait(5)
        self.reads.append(threading.current_thread().name)
        return self.value


def wait_for(copies: Copies) -> None:
    for _ in range(500):
        if not copies.reading():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the background read did not finish")


def test_a_copy_within_its_time_is_not_read_again(clock: Clock) -> None:
    store, copies = Store(), Copies(lambda: TTL)
    assert copies.get("x", store.read) == "v1"
    store.value = "v2"
    clock.now += TTL  # at its time, not past it
    assert copies.get("x", store.read) == "v1"
    assert len(store.reads) == 1
    clock.now += 0.1  # past it: read in place
    assert copies.get("x", store.read) == "v2"
    assert len(store.reads) == 2


def test_on_the_event_loop_a_copy_past_half_its_time_is_read_ahead_in_the_background(clock: Clock) -> None:
    store, copies = Store(), Copies(lambda: TTL)
    copies.get("x", store.read)
    store.value = "v2"
    clock.now += TTL * 0.6
    with refused():
        assert copies.get("x", store.read) == "v1"  # the card goes on with the copy it has
    wait_for(copies)
    assert store.reads[-1] == "catch-up"
    with refused():
        assert copies.get("x", store.read) == "v2"


def test_on_the_event_loop_a_copy_past_its_time_is_not_used(clock: Clock) -> None:
    store, copies = Store(), Copies(lambda: TTL)
    copies.get("x", store.read)
    clock.now += TTL + 1
    with refused(), pytest.raises(WouldWait):
        copies.get("x", store.read)
    with refused(), pytest.raises(WouldWait):
        Copies(lambda: TTL).get("never read", store.read)  # no copy at all: read in place


def test_a_change_made_here_is_read_in_place_and_not_lost_to_an_older_read(clock: Clock) -> None:
    store, copies = Store(), Copies(lambda: TTL)
    copies.get("x", store.read)
    clock.now += TTL * 0.6
    store.gate = threading.Event()  # the background read waits inside the store
    with refused():
        copies.get("x", store.read)
    store.value = "v2"  # the change, made here while that read is under way ...
    copies.forget("x")
    store.value = "v3"
    assert copies.get("x", store.read) == "v3"  # ... is read in place at once
    store.value = "stale"
    store.gate.set()
    wait_for(copies)
    assert copies.get("x", store.read) == "v3"  # the read begun before the change was not kept


def test_a_background_read_that_fails_keeps_the_copy(clock: Clock) -> None:
    store, copies = Store(), Copies(lambda: TTL)
    copies.get("x", store.read)
    clock.now += TTL * 0.6

    def broken(_before: Any) -> str:
        raise RuntimeError("the store went away")

    with refused():
        assert copies.get("x", broken) == "v1"
    wait_for(copies)
    with refused():
        assert copies.get("x", store.read) == "v1"  # still the copy; asked again
    wait_for(copies)
    assert copies.get("x", store.read) == "v1"
