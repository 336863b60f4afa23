"""Errors users can act on.

Every error a user can fix (a bad policy, a bad file, a bad date) is a `TierkitError`: the CLI
prints its one-line message and exits with code 2, and nothing is written. Anything else is a
bug in tierkit and keeps its traceback. A full disk is not a bug either: whichever library
meets it, it becomes one `DiskFullError` naming what could not be written (end of this module).
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class TierkitError(Exception):
    """An error in what the user gave us; the message names the file, row or field."""

    exit_code = 2


class PolicyError(TierkitError):
    """A policy file that does not validate, or a rule that does not parse."""


class InputError(TierkitError):
    """A data file that is missing, empty, or holds a value we cannot read."""


class WorkspaceError(TierkitError):
    """A workspace that does not exist or is missing a piece a command needs."""


class WorkspaceBusyError(WorkspaceError):
    """Another command kept writing the workspace longer than this one would wait (try again
    when it is done; an API may answer 503)."""


class NotFoundError(TierkitError):
    """A customer, run or job that is not there (the API answers 404)."""


class NotAllowedError(TierkitError):
    """What a role may not do, such as an agent searching by personal data (the API answers 403)."""


class RequestError(TierkitError):
    """A request that names something the run cannot answer, such as a filter on a score the
    policy does not have (the API answers 400)."""


class ValueRefusedError(TierkitError):
    """A value that is well-formed but refused, such as an override to a tier that does not exist
    or an expiry in the past (the API answers 422)."""


class ConflictError(TierkitError):
    """A request the current state refuses, such as using an entitlement the customer's tier does
    not grant or whose limit is spent (the API answers 409, with the reason in words; the CLI
    exits 1: the input was good, the answer is no)."""

    exit_code = 1


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class TooManyError(TierkitError):
    """Too many of one kind of request in a short time (an API maps it to 429)."""


class DiskFullError(TierkitError):
    """No room left to write a file or the store: its disk (or quota) is full. The message names
    what could not be written; what was published before stays as it was (the API answers 507).
    Made by `room_for` / `as_error` below, which recognise each library's way of saying it."""

    def __init__(self, message: str, reason: str = "no space left on device") -> None:
        super().__init__(message)
        self.reason = reason


class StoreFullError(DiskFullError):
    """The database server (PostgreSQL) has no room left (SQLSTATE 53100): the transaction was
    rolled back; the service cannot take writes until its server has room (the API answers 503)."""


class StoreUnavailableError(TierkitError):
    """The database server (PostgreSQL) cannot be reached, is starting up or shutting down, or
    dropped the connection: what was asked was not done (a write's transaction never committed,
    or its answer was lost: see Idempotency-Key); the API answers 503 with Retry-After, and the
    same request succeeds once the server is back (tierkit.store.database; docs/reliability.md)."""

    retry_after = 2  # seconds a client should wait before it tries again


# -- a full disk, said in one line whichever library met it (issue 15, part 2) -----------------
#
# Here, in the ground layer, because every layer that writes (store, runs, ingest, app) and both
# front ends (cli, api) need it. Tierkit's files are written by three libraries and its store by
# one of two databases, and each says "the disk is full" its own way:
#
# - Python's own writes (csv, json, tarfile, xlsxwriter, shutil) raise `OSError(ENOSPC)`, or
#   `EDQUOT` over a quota, mostly with the file's name;
# - pyarrow raises `OSError` too, "[Errno 28] Error writing bytes to file", without the name;
# - DuckDB raises `duckdb.IOException`: 'Could not write file "PATH": No space left on device';
# - SQLite (the store, through SQLAlchemy) says 'database or disk is full' (SQLITE_FULL), or
#   'disk I/O error' when it cannot grow its shared-memory file (SQLITE_IOERR_SHMSIZE, which on
#   a full tmpfs or disk is the first thing to fail: opening the store for a read needs 32 KiB);
# - PostgreSQL answers SQLSTATE 53100 `disk_full` on its own server's disk.
#
# Left alone, each was a traceback over 30 lines, exit 1. `reason` reads any of them through the
# chain of causes (SQLAlchemy keeps the driver's error in `.orig`); `room_for` turns one met while
# writing something into a `DiskFullError` that names it; `as_error` does the same, as a last
# resort, for the CLI and the API with the path the error itself names.

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
FULL_TEXTS = ("no space left on device", "disk quota exceeded", "database or disk is full")
SQLITE_FULL = ("SQLITE_FULL", "SQLITE_IOERR_SHMSIZE")
PG_DISK_FULL = "53100"
_NAMED = re.compile(r'(?:Could not write file|Cannot open file|Could not open file) "([^"]+)"')


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error, what it was raised from or during, and a wrapped driver error (`.orig`)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        orig = getattr(item, "orig", None)
        todo += [item.__context__, item.__cause__, orig if isinstance(orig, BaseException) else None]


def reason(exc: BaseException) -> str | None:
    """'no space left on device', 'disk quota exceeded' or 'the database server's disk is full'
    when `exc` (or what caused it) says so; None for any other error."""
    for item in _chain(exc):
        if isinstance(item, DiskFullError):
            return item.reason
        if getattr(item, "sqlstate", None) == PG_DISK_FULL or getattr(item, "pgcode", None) == PG_DISK_FULL:
            return "the database server's disk is full"
        if isinstance(item, OSError) and item.errno in FULL_ERRNOS:
            return os.strerror(item.errno).lower()
        if getattr(item, "sqlite_errorname", None) in SQLITE_FULL:
            return "no space left on device"
        text = str(item).lower()
        for full in FULL_TEXTS:
            if full in text:
                return "disk quota exceeded" if "quota" in full else "no space left on device"
    return None


def named_path(exc: BaseException) -> str | None:
    """The file the error names, if any: OSError's filename or DuckDB's quoted path."""
    for item in _chain(exc):
        if isinstance(item, OSError) and item.filename:
            return str(item.filename)
        found = _NAMED.search(str(item))
        if found:
            return found.group(1)
    return None


def full_error(what: str, why: str) -> DiskFullError:
    """The one-line error: what could not be written and why. (How much room is left is not
    said: measured at the failure it is always about nothing, and the writer then frees what it
    had written.)"""
    return DiskFullError(f"could not write {what}: {why}; free some space and run it again", why)


def as_error(exc: BaseException, what: str | None = None) -> DiskFullError | None:
    """`exc` as a DiskFullError when it is a full disk (naming `what`, else the path the error
    names, else 'a file'); None for any other error."""
    if isinstance(exc, DiskFullError):
        return exc
    why = reason(exc)
    if why is None:
        return None
    return full_error(what or named_path(exc) or "a file", why)


@contextmanager
def room_for(what: str) -> Iterator[None]:
    """Write `what` (words and a path, e.g. "the export /x/y.csv") inside this block: a full disk
    met by any library becomes one DiskFullError naming it. Clean-up is the writer's own (its
    `finally` runs before this)."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        error = as_error(exc, what)
        if error is None:
            raise
        raise error from exc


def store_error(context: Any) -> None:
    """SQLAlchemy's handle_error hook for the store: a full disk under SQLite, or PostgreSQL's
    disk_full, raised as DiskFullError / StoreFullError naming the store; the transaction is
    rolled back by SQLAlchemy as for any failed statement. Other errors pass through."""
    why = reason(context.original_exception)
    if why is None:
        return
    engine = context.engine
    url = engine.url if engine is not None else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database:
        db = Path(url.database)
        raise full_error(f"the store {db}", why) from context.original_exception
    where = f"{url.get_backend_name()}://{url.host or 'localhost'}/{url.database or ''}" if url is not None else "?"
    raise StoreFullError(
        f"could not write the store ({where}): {why}; nothing of this change was kept "
        "(its transaction was rolled back): give the database server room and try again",
        why,
    ) from context.original_exception
