"""The service loop through a store outage (issue 15, part 5): a task whose database error
differs on every tick only in its statement's values (SQLAlchemy's text carries them) is
logged once, without those values, and once more when it works again; the loop goes on.
The oracle is the log records, counted."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tierkit.app.background import ServiceLoop
from tierkit.errors import StoreUnavailableError


def test_an_outage_is_logged_once_per_cause_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    ticks = {"n": 0}

    def deliver(_: Any) -> None:
        ticks["n"] += 1
        if ticks["n"] <= 3:  # the statement's values change each tick; the driver's line does not
            raise OperationalError("INSERT INTO audit VALUES (?)", [f"13800138{ticks['n']:03d}"], Exception("gone"))
        if ticks["n"] <= 6:
            raise StoreUnavailableError("the store is unavailable (postgresql://db:5432/t): refused; try again")

    loop = ServiceLoop(None, tasks=[("alerts", deliver)], interval=60)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="tierkit.app.background"):
        for _ in range(8):
            loop.tick()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "background task alerts failed: OperationalError: gone",
        "background task alerts failed: the store is unavailable (postgresql://db:5432/t): refused; try again",
        "background task alerts works again",
    ]
    assert loop.ticks == 8
    assert not any("13800138" in m for m in messages)
