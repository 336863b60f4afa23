"""A store that went away, as HTTP: 503 with the reason and Retry-After, never a 500 or a hang.

The store (tierkit.store.database) turns a PostgreSQL server that cannot be reached or dropped
its connection into a `StoreUnavailableError`, which the API's TierkitError handler answers
(STATUS, json_error). What reaches the API without passing that hook is caught here: the
pool's own errors (no free connection within its time-out, a failed pre-ping), and the driver's
errors (psycopg's OperationalError, InterfaceError) if anything met them outside SQLAlchemy.
Each is the same 503, `{"detail": "the store is unavailable: ..."}`, `Retry-After: 2`, so a
client has one rule: wait and send the same request again (with its Idempotency-Key, a write is
then done once).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from tierkit.errors import StoreUnavailableError

SQLALCHEMY_LOST: tuple[type[Exception], ...] = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


def _driver_lost() -> tuple[type[Exception], ...]:
    """psycopg's errors of a lost server, when psycopg is installed (only PostgreSQL needs it)."""
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)


def unavailable(err: BaseException) -> StoreUnavailableError:
    """`err` said as the store's own error: its first line, after what it means."""
    if isinstance(err, StoreUnavailableError):
        return err
    cause = getattr(err, "orig", None) or err  # SQLAlchemy keeps the driver's error in .orig
    lines = str(cause).strip().splitlines()
    why = lines[0].strip() if lines else type(cause).__name__
    return StoreUnavailableError(f"the store is unavailable: {why}; try again in a moment")


def answer(err: StoreUnavailableError) -> JSONResponse:
    return JSONResponse(
        {"detail": str(err).encode("utf-8", "backslashreplace").decode("utf-8")},
        status_code=503,
        headers={"Retry-After": str(err.retry_after)},
    )


def install(app: FastAPI) -> None:
    """Answer every error of a lost store with 503 (see the module's text)."""

    async def store_lost(_request: Request, err: Exception) -> Response:
        return answer(unavailable(err))

    for kind in (*SQLALCHEMY_LOST, *_driver_lost()):
        app.add_exception_handler(kind, store_lost)
