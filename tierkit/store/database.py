"""Opening the operational store: SQLite in the workspace by default, PostgreSQL by URL.

`TIERKIT_DATABASE_URL` (e.g. postgresql+psycopg://tierkit@127.0.0.1/tierkit) wins, then the
workspace's `database:` setting in tierkit.yaml; otherwise the store is `tierkit.db` in the
workspace. The schema is brought to the newest migration on
open (alembic), and only when the recorded revision is behind: checking costs one query.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text

from tierkit.errors import DiskFullError, TierkitError, store_error
from tierkit.settings import BY_NAME, setting

HEAD = "0005"  # the newest migration in store/migrations/versions
_lock = threading.Lock()


def database_url(workspace_root: Path, configured: str | None = None) -> str:
    """$TIERKIT_DATABASE_URL, else the workspace's `database:` setting, else tierkit.db in it."""
    return setting("database_url") or configured or f"sqlite:///{(workspace_root / 'tierkit.db').resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets lookups read while a publish writes; a busy wait instead of 'database is locked'."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache(maxsize=8)
def store_engine(url: str) -> Engine:
    """One SQLAlchemy engine (a connection pool) per URL and process, migrated to HEAD."""
    try:
        engine = create_engine(url, pool_pre_ping=url.startswith("postgresql"), future=True)
    except Exception as exc:  # a malformed URL or a missing driver
        raise TierkitError(f"{BY_NAME['database_url'].env}: cannot use '{_safe(url)}': {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", store_error)  # a full disk: one line naming the store (507/503)
    with _lock:
        migrate(engine)
    return engine


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':')[0]}:***@{host}"
    return url


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as con:
        if not inspect(con).has_table("alembic_version"):
            return None
        return con.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to HEAD with alembic, if it is behind."""
    try:
        if current_revision(engine) == HEAD:
            return
    except DiskFullError:
        raise
    except Exception as exc:
        raise TierkitError(f"store {_safe(str(engine.url))}: cannot connect: {exc}") from None
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("tierkit.store").joinpath("migrations")))
    with engine.begin() as con:
        config.attributes["connection"] = con
        command.upgrade(config, "head")
