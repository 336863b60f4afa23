"""A full disk, said in one line whichever library met it.

Tierkit's files are written by three libraries and its store by one of two databases, and each
says "the disk is full" its own way (issue 15, part 2):

- Python's own writes (csv, json, tarfile, xlsxwriter, shutil) raise `OSError(ENOSPC)`, or
  `EDQUOT` over a quota, mostly with the file's name;
- pyarrow raises `OSError` too, "[Errno 28] Error writing bytes to file", without the name;
- DuckDB raises `duckdb.IOException`: 'Could not write file "PATH": No space left on device';
- SQLite (the store, through SQLAlchemy) says 'database or disk is full' (SQLITE_FULL), or
  'disk I/O error' when it cannot grow its shared-memory file (SQLITE_IOERR_SHMSIZE, which on
  a full tmpfs or disk is the first thing to fail: opening the store for a read needs 32 KiB);
- PostgreSQL answers SQLSTATE 53100 `disk_full` on its own server's disk.

Left alone, each was a traceback over 30 lines, exit 1. `reason` reads any of them through the
chain of causes (SQLAlchemy keeps the driver's error in `.orig`); `room_for` turns one met while
writing something into a `DiskFullError` that names it; `as_error` does the same, as a last
resort, for the CLI and the API with the path the error itself names.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tierkit.errors import DiskFullError, StoreFullError

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
            return "no space left on device (the store could not grow)"
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


def free_on(path: Path) -> str:
    """'12 KiB free on /mnt/data', from the nearest folder that exists ('' when none can be read)."""
    here = path
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        stats = os.statvfs(here)
    except OSError:
        return ""
    free = stats.f_bavail * stats.f_frsize
    if free < 1024:
        return f"{free} bytes free in {here}"
    scaled, unit = float(free) / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if scaled < 1024:
            break
        scaled, unit = scaled / 1024, bigger
    return f"{scaled:,.1f} {unit} free in {here}"


def full_error(what: str, why: str, where: Path | None = None) -> DiskFullError:
    """The one-line error: what could not be written, why, and how much room is left."""
    room = free_on(where) if where is not None else ""
    return DiskFullError(
        f"could not write {what}: {why}" + (f" ({room})" if room else "") + "; free some space and run it again",
        why,
    )


def as_error(exc: BaseException, what: str | None = None, where: Path | None = None) -> DiskFullError | None:
    """`exc` as a DiskFullError when it is a full disk (naming `what`, else the path the error
    names, else 'a file'); None for any other error."""
    if isinstance(exc, DiskFullError):
        return exc
    why = reason(exc)
    if why is None:
        return None
    named = named_path(exc)
    if where is None and named:
        where = Path(named).parent
    return full_error(what or named or "a file", why, where)


@contextmanager
def room_for(what: str, where: Path | None = None) -> Iterator[None]:
    """Write `what` (words and a path, e.g. "the export /x/y.csv") inside this block: a full disk
    met by any library becomes one DiskFullError naming it. Clean-up is the writer's own (its
    `finally` runs before this)."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        error = as_error(exc, what, where)
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
        raise full_error(f"the store {db}", why, db.parent) from context.original_exception
    where = f"{url.get_backend_name()}://{url.host or 'localhost'}/{url.database or ''}" if url is not None else "?"
    raise StoreFullError(
        f"could not write the store ({where}): {why}; nothing of this change was kept "
        "(its transaction was rolled back): give the database server room and try again",
        why,
    ) from context.original_exception
