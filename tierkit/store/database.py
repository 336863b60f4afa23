"""Opening the operational store: SQLite in the workspace by default, PostgreSQL by URL.

`TIERKIT_DATABASE_URL` (e.g. postgresql+psycopg://tierkit@127.0.0.1/tierkit) wins, then the
workspace's `database:` setting in tierkit.yaml; otherwise the store is `tierkit.db` in the
workspace. The schema is brought to the newest migration on
open (alembic), and only when the recorded revision is behind: checking costs one query.

A PostgreSQL server may go away while the service runs (restarted, failed over, its host
rebooted). Then every statement fails fast instead of hanging: connections are made with a
`connect_timeout` (CONNECT_TIMEOUT seconds unless the URL sets one), and the driver's
"connection refused / closed / the server is shutting down" errors become one
`StoreUnavailableError` (the API's 503 with Retry-After; the CLI's one line, exit 2). The pool
throws its connections away on such an error and tests each one before use (pre-ping), so the
first request after the server is back gets a fresh connection: no restart of tierkit.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import InterfaceError, OperationalError

from tierkit.errors import DiskFullError, StoreUnavailableError, TierkitError, store_error
from tierkit.settings import BY_NAME, setting

HEAD = "0006"  # the newest migration in store/migrations/versions
CONNECT_TIMEOUT = 3  # seconds to reach a PostgreSQL server before its requests answer 503
# SQLSTATEs of a server that is there but will not serve: shutting down (57P01-2), starting up
# or in recovery (57P03), out of connection slots (53300); class 08 is a failed connection.
UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "53300")
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
        postgres = url.startswith("postgresql")
        options: dict[str, Any] = {"pool_pre_ping": True} if postgres else {}
        if postgres and "connect_timeout=" not in url:
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        engine = create_engine(url, future=True, **options)
    except Exception as exc:  # a malformed URL or a missing driver
        raise TierkitError(f"{BY_NAME['database_url'].env}: cannot use '{_safe(url)}': {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", store_error)  # a full disk: one line naming the store (507/503)
    event.listen(engine, "handle_error", store_unavailable)  # the server is gone: 503, the pool renewed
    with _lock:
        migrate(engine)
    return engine


def store_unavailable(context: Any) -> None:
    """SQLAlchemy's handle_error hook: a PostgreSQL server that cannot be reached or dropped the
    connection raises StoreUnavailableError, in one line naming the server. SQLAlchemy still
    invalidates the pool when it saw a disconnect (it does so whatever a hook raises)."""
    engine = context.engine
    if engine is None or engine.dialect.name != "postgresql" or not _unavailable(context):
        return
    url = engine.url
    where = f"postgresql://{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    first = str(context.original_exception).strip().splitlines()
    why = first[0].strip() if first else type(context.original_exception).__name__
    raise StoreUnavailableError(
        f"the store is unavailable ({where}): {why}; try again in a moment"
    ) from context.original_exception


def _unavailable(context: Any) -> bool:
    if context.is_disconnect:
        return True
    if not isinstance(context.sqlalchemy_exception, OperationalError | InterfaceError):
        return False  # the driver's OperationalError and InterfaceError, as SQLAlchemy wraps them
    state = getattr(context.original_exception, "sqlstate", None)
    return state is None or state.startswith("08") or state in UNAVAILABLE_STATES


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
    except (DiskFullError, StoreUnavailableError):
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
