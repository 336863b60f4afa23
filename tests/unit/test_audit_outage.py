"""The audit writer through a store that cannot be written (issue 15, part 5): it died on the
first failure (a PostgreSQL restart under `tierkit serve`), and every entry after it was lost.

The outage here is a SQLite store without its audit table (every insert fails, as it fails
while a server is down); the table is then made, as a server comes back. The oracle is the rows
in the table, in the order they were recorded.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from tierkit.store.audit import AuditLog
from tierkit.store.schema import audit


def _wait(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_entries_recorded_while_the_store_fails_are_written_once_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    log = AuditLog(engine, interval=0.02)
    try:
        with caplog.at_level(logging.ERROR, logger="tierkit.store.audit"):
            for i in range(3):
                log.record("agent-1", "agent", "view_card", f"0000000{i}")
            assert _wait(lambda: any("not written yet" in r.getMessage() for r in caplog.records))
            log.record("agent-1", "agent", "contact", "00000009", "phone")
            time.sleep(0.1)  # several more failed tries: logged once, not once a try
        failures = [r.getMessage() for r in caplog.records if "not written yet" in r.getMessage()]
        assert len(failures) == 1, failures
        assert "00000009" not in failures[0] and "phone" not in failures[0]  # the log shows no entry's values
        assert log._thread.is_alive()
        with pytest.raises(Exception, match="no such table"):
            log.flush()  # the caller of flush is told; the entries stay queued

        audit.create(engine)  # the store is back
        with engine.connect() as con:
            count = lambda: len(con.execute(select(audit.c.id)).all())  # noqa: E731
            assert _wait(lambda: count() == 4)
            rows = con.execute(select(audit.c.action, audit.c.target).order_by(audit.c.id)).all()
        assert [tuple(r) for r in rows] == [
            ("view_card", "00000000"),
            ("view_card", "00000001"),
            ("view_card", "00000002"),
            ("contact", "00000009"),
        ]
        log.record("agent-1", "agent", "view_card", "00000010")
        log.flush()
        with engine.connect() as con:
            assert len(con.execute(select(audit.c.id)).all()) == 5
    finally:
        log.close()
        engine.dispose()
