"""Compiled plans kept on disk: the SQL an Ibis expression compiles to, found again by the plan.

Why: compiling a grading's expression to SQL (Ibis, then sqlglot) is the same work every
month for the same policy over the same kind of file, about 0.2-0.3 s of CPU of a run (docs/cli.md
and docs/benchmarks.md). The key is the plan itself, not a list of what it is thought to depend on: a
fingerprint of the whole expression graph (every operation, column name and type of each input
table, every literal: the policy's rules, labels and cuts, the as-of date and its window dates,
a fitted model's parameters when they are literals) plus the dialect and the versions of tierkit,
Ibis, sqlglot and DuckDB. Whatever changes the plan changes the key, so a stale entry is never
found; it is only left behind (the oldest are removed past MAX_ENTRIES).

Not cached: plans that read in-memory tables (their data is not part of a printable key), and
everything when the `plan_cache` setting is `off`. The cache is a folder of `<key>.sql` files,
written atomically; removing the folder clears it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tierkit.settings import setting
from tierkit.version import __version__

MAX_ENTRIES = 512
OFF = ("off", "0", "false", "no")


def folder() -> Path | None:
    """Where the compiled plans live (the `plan_cache` setting, else ~/.cache/tierkit/plans), or
    None when the cache is off."""
    chosen = setting("plan_cache")
    if chosen is not None and chosen.strip().lower() in OFF:
        return None
    return Path(chosen).expanduser() if chosen else Path.home() / ".cache" / "tierkit" / "plans"


@functools.cache
def _versions() -> str:
    from importlib.metadata import version  # 13 ms: not on a replayed grading's path (runs/replay.py)

    return "|".join([__version__, *(version(name) for name in ("ibis-framework", "sqlglot", "duckdb"))])


def _canonical(value: Any, seen: dict[int, str]) -> str:
    """A text that names `value` the same in every process: an Ibis node by its type and its
    arguments (each node once, by digest), sets in sorted order (their iteration order changes
    with the string hash seed of each process), everything else by its repr."""
    if hasattr(value, "__argnames__") and hasattr(value, "__args__"):
        known = seen.get(id(value))
        if known is not None:
            return known
        args = ",".join(f"{n}={_canonical(a, seen)}" for n, a in zip(value.__argnames__, value.__args__, strict=True))
        digest = hashlib.sha256(f"{type(value).__module__}.{type(value).__qualname__}({args})".encode()).hexdigest()
        seen[id(value)] = digest
        return digest
    if isinstance(value, frozenset | set):
        return "{" + ",".join(sorted(_canonical(v, seen) for v in value)) + "}"
    if isinstance(value, tuple | list):
        return "[" + ",".join(_canonical(v, seen) for v in value) + "]"
    if isinstance(value, dict) or (hasattr(value, "items") and hasattr(value, "keys")):
        return "{" + ",".join(f"{_canonical(k, seen)}:{_canonical(v, seen)}" for k, v in value.items()) + "}"
    return f"{type(value).__name__}:{value!r}"


def fingerprint(op: Any, dialect: str) -> str:
    """The key of a plan: its graph, the dialect and the versions that compile it."""
    return hashlib.sha256(f"{dialect}|{_versions()}|{_canonical(op, {})}".encode()).hexdigest()


def compiled(op: Any, dialect: str, compile_sql: Callable[[], str], reads_memory: bool) -> str:
    """The SQL of a plan: from the cache when it holds it, else compiled and kept."""
    where = folder()
    if where is None or reads_memory:
        return compile_sql()
    path = where / f"{fingerprint(op, dialect)}.sql"
    try:
        return path.read_text("utf-8")
    except OSError:
        pass
    sql = compile_sql()
    _keep(where, path, sql)
    return sql


def _keep(where: Path, path: Path, sql: str) -> None:
    """Write one entry atomically (a reader never sees half a plan); a cache that cannot be
    written (read-only home, full disk) is no cache, never an error."""
    tmp = None
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".plan-", suffix=".part", dir=where)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(sql)
        os.replace(tmp, path)
        tmp = None
        _prune(where)
    except OSError:
        return
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def keep_text(path: Path, text: str) -> None:
    """Another kind of entry (a replay's record, runs/replay.py), kept the same way."""
    _keep(path.parent, path, text)


def _entries(where: Path) -> list[Path]:
    return [*where.glob("*.sql"), *where.glob("*.replay.json")]


def _prune(where: Path) -> None:
    """Past MAX_ENTRIES, the least recently written entries go."""
    entries = _entries(where)
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - MAX_ENTRIES]:
        old.unlink(missing_ok=True)


def clear() -> int:
    """Remove every entry; the number removed."""
    where = folder()
    if where is None or not where.exists():
        return 0
    removed = 0
    for entry in _entries(where):
        entry.unlink(missing_ok=True)
        removed += 1
    return removed
