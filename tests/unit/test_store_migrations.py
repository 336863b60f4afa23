"""A store made by an older tierkit opens in this one with its data kept, and the migrated
schema is the one the code declares (tierkit/store/schema.py)."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from tierkit.store.database import HEAD, current_revision, store_engine
from tierkit.store.schema import metadata


def _upgrade(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("tierkit.store").joinpath("migrations")))
    engine = sa.create_engine(url)
    with engine.begin() as con:
        config.attributes["connection"] = con
        command.upgrade(config, revision)
    engine.dispose()


def test_a_first_version_store_is_migrated_with_its_contacts_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _upgrade(url, "0001")
    old = sa.create_engine(url)
    with old.begin() as con:
        con.execute(
            sa.text(
                "INSERT INTO contacts (customer_id, at, by, channel, note) VALUES ('c1', :at, 'ann', 'phone', 'hi')"
            ),
            {"at": dt.datetime(2026, 11, 1, 8, 0)},
        )
    old.dispose()
    engine = store_engine(url)
    assert current_revision(engine) == HEAD
    with engine.connect() as con:
        row = con.execute(sa.text("SELECT customer_id, note, outcome FROM contacts")).one()
        assert tuple(row) == ("c1", "hi", None)
        assert con.execute(sa.text("SELECT count(*) FROM manual_tags")).scalar() == 0
        assert con.execute(sa.text("SELECT count(*) FROM complaints")).scalar() == 0
        assert con.execute(sa.text("SELECT count(*) FROM web_sessions")).scalar() == 0
        assert con.execute(sa.text("SELECT count(*) FROM entitlement_uses")).scalar() == 0
        for table in ("alerts", "webhooks", "deliveries", "delivery_log", "locks", "schedule_runs"):
            assert con.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0
        diff = compare_metadata(MigrationContext.configure(con), metadata)
    assert [d for d in diff if d[0] != "remove_table" or d[1].name != "alembic_version"] == []
