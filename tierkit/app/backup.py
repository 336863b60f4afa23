"""`tierkit backup`: a workspace as one archive, taken while it serves.

The archive (see app.archive) holds every file of the workspace but its caches, lock and
temporary files: tierkit.yaml, the policy, data/ (imported parts, rejects, imports.json,
owners.parquet, identity/), campaigns/, plans/ ..., the runs, and the store. A run published
while the backup is taken is wholly in it or wholly out, and the archive's current run is
complete, because of the order things are taken in:

1. the complete run folders are listed (a run folder is renamed into place whole, and never
   changed after, but for caches that are left out);
2. the store is copied: SQLite through its online backup API (`sqlite3.Connection.backup`, one
   step: a consistent snapshot that includes what a running server has in its WAL). Its catalog
   and current pointer are the archive's: a run is in the catalog only once its folder is
   complete, and current only once it is in the catalog. A run listed in 1 that the copy's
   catalog lacks (published in between, or older than the store) is recorded in the copy;
3. the run folders of 1 and of the copy's catalog are archived, and runs/CURRENT is written from
   the copy's pointer (not copied);
4. the other files are listed, archived (each checked to be the file listed: writers replace
   files by renames) and listed again: anything changed in between (an import committing), and
   the whole backup starts again. Writers never wait for a backup, but for its fifth and last
   try, which holds the workspace's write lock (app.writing).

For PostgreSQL (TIERKIT_DATABASE_URL or `database:`) the store is not in the archive: the
manifest and the terminal give the `pg_dump` command to run (without the password).

`tierkit restore` (app.restore) brings an archive back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sqlite3
import stat
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tierkit.app.archive import Changed, Stamp, Writer, compression
from tierkit.app.progress import Progress, silent
from tierkit.app.writing import writing
from tierkit.errors import InputError, WorkspaceError, room_for
from tierkit.ingest.journal import JOURNAL
from tierkit.runs.files import CURRENT, store_of
from tierkit.runs.files import MANIFEST as RUN_MANIFEST
from tierkit.runs.lookup import RUN_CACHES
from tierkit.store import catalog
from tierkit.store.database import current_revision, database_url
from tierkit.version import __version__
from tierkit.workspace import Workspace

FORMAT = 1
STORE = "tierkit.db"
ATTEMPTS = 5
CACHES = set(RUN_CACHES)  # a run's sorted copies of its result, rebuilt by the server when missing


@dataclass
class StoreCopy:
    """The store as the backup took it: its file (SQLite), catalog, pointer and revision."""

    kind: str
    revision: str | None
    current: str | None
    catalogued: set[str]
    file: Path | None = None
    recorded: list[str] = field(default_factory=list)
    url: str = ""


def _skipped(name: str) -> bool:
    """Locks, caches and files being written: never part of a backup."""
    return name.startswith(".") or name.endswith((".partial", ".tmp"))


def complete_runs(runs_dir: Path) -> set[str]:
    """Run folders renamed into place (their manifest is written before the rename)."""
    if not runs_dir.is_dir():
        return set()
    return {p.name for p in runs_dir.iterdir() if not _skipped(p.name) and (p / RUN_MANIFEST).is_file()}


def _run_manifest(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / RUN_MANIFEST).read_text("utf-8")))


def safe_url(url: str) -> str:
    """A database URL without its password (nor a password= parameter), as libpq reads it."""
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if k.lower() != "password"}
    plain = URL.create(
        parsed.get_backend_name(), parsed.username, None, parsed.host, parsed.port, parsed.database, query
    )
    return plain.render_as_string(hide_password=False)


def _copy_store(engine: Engine, url: str, folder: Path, listed: set[str], runs_dir: Path) -> StoreCopy:
    if engine.dialect.name != "sqlite":  # PostgreSQL: read the pointer first, it names a catalogued run
        current = catalog.current(engine)
        runs = {row["run_id"] for row in catalog.catalog(engine)}
        return StoreCopy("postgresql", current_revision(engine), current, runs, url=safe_url(url))
    source = sqlite3.connect(str(make_url(url).database), timeout=30)
    target = folder / STORE
    try:
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)  # one step: every page as of one moment, the WAL's included
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    snapshot = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        current = catalog.current(snapshot)
        runs = {row["run_id"] for row in catalog.catalog(snapshot)}
        recorded = sorted(listed - runs)
        for run_id in recorded:  # complete before the copy was taken, not in its catalog yet
            catalog.record_run(snapshot, _run_manifest(runs_dir / run_id))
        revision = current_revision(snapshot)
    finally:
        snapshot.dispose()
    return StoreCopy("sqlite", revision, current, runs | set(recorded), target, recorded)


def _listing(root: Path, store_files: set[str]) -> tuple[dict[str, tuple[Path, Stamp]], list[str]]:
    """Every file to archive but the runs and the store: name -> (path, stamp); and the links
    left out."""
    found: dict[str, tuple[Path, Stamp]] = {}
    links: list[str] = []
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        top = here == root
        subfolders[:] = sorted(d for d in subfolders if not _skipped(d) and not (top and d == "runs"))
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if _skipped(name) or relative in store_files:
                continue
            try:
                info = path.lstat()
            except FileNotFoundError:  # removed since the folder was read
                continue
            if stat.S_ISREG(info.st_mode):
                found[relative] = (path, Stamp.of(info))
            elif stat.S_ISLNK(info.st_mode):
                links.append(relative)
        links += [(here / d).relative_to(root).as_posix() for d in subfolders if (here / d).is_symlink()]
    return found, links


def _store_files(root: Path, url: str) -> set[str]:
    """The SQLite store's files, when they are in the workspace (copied through the backup API)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return set()
    db = Path(parsed.database).resolve()
    if not db.is_relative_to(root):
        return set()
    name = db.relative_to(root).as_posix()
    return {name, *(name + suffix for suffix in ("-wal", "-shm", "-journal"))}


def pg_note(store: StoreCopy, out: Path) -> dict[str, str]:
    base = out.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        base = base.removesuffix(suffix)
    dump = out.with_name(base + ".pgdump")
    command = f"pg_dump --format=custom --no-owner --file={shlex.quote(str(dump))} {shlex.quote(store.url)}"
    note = (
        f"the store is PostgreSQL ({store.url}) and is not in the archive: dump it now with `{command}` "
        "(the password from PGPASSWORD or ~/.pgpass); restore that with `pg_restore --no-owner --dbname URL "
        f"{shlex.quote(str(dump))}`. The archive holds the runs the store listed when the backup began."
    )
    return {"note": note, "pg_dump": command}


def backup(workspace: Path | None, out: Path, progress: Progress = silent) -> dict[str, Any]:
    """Write the workspace's archive to `out` (.tar.gz or .tar, a new file); returns a summary."""
    opened_ws = Workspace.open(workspace)
    root = opened_ws.root.resolve()
    ws = Workspace(root, opened_ws.config)  # every path below absolute, whatever -w was
    mode = compression(out)
    target = out.resolve()
    if target.exists():
        raise InputError(f"{out}: exists already; give the backup a new name")
    if target.is_relative_to(root):
        raise InputError(f"{out}: inside the workspace; write the backup somewhere else")
    if not target.parent.is_dir():
        raise InputError(f"{out.parent}: no such folder")
    configured = ws.config.get("database")
    url = database_url(root, str(configured) if configured else None)
    engine = store_of(ws)  # migrated, as every command finds it
    last = ""
    for attempt in range(ATTEMPTS):
        try:  # a full disk: one line naming the archive; its scratch folder goes with the attempt
            if attempt < ATTEMPTS - 1:
                with room_for(f"the backup {out}"):
                    return _attempt(ws, root, engine, url, target, mode, progress)
            progress("the last try holds the workspace's write lock: writers wait for it")
            with writing(ws, "backup"), room_for(f"the backup {out}"):
                return _attempt(ws, root, engine, url, target, mode, progress)
        except Changed as changed:
            last = str(changed)
            progress(f"{last} changed while it was copied; starting again")
            time.sleep(0.2 * (attempt + 1))
    raise WorkspaceError(
        f"{root}: the workspace kept changing while it was copied ({ATTEMPTS} tries, the last under its write "
        f"lock; last change: {last}): is something other than tierkit writing into it?"
    )


def _attempt(
    ws: Workspace, root: Path, engine: Engine, url: str, out: Path, mode: Literal["w:gz", "w"], say: Progress
) -> dict[str, Any]:
    store_files = _store_files(root, url)
    with tempfile.TemporaryDirectory(prefix=".tierkit-backup-", dir=out.parent) as scratch:
        folder = Path(scratch)
        say("copying the store")
        listed = complete_runs(ws.runs_dir)
        store = _copy_store(engine, url, folder, listed, ws.runs_dir)
        on_disk = complete_runs(ws.runs_dir)
        runs = sorted((store.catalogued | listed) & on_disk)
        missing = sorted(store.catalogued - on_disk)
        files, links = _listing(root, store_files)
        if f"data/{JOURNAL}" in files:
            raise Changed(f"data/{JOURNAL} (an import committing)")
        partial = folder / "archive"
        with tarfile.open(partial, mode) as tar:
            writer = Writer(tar)
            say(f"archiving {len(files)} files")
            for name, (path, stamp) in files.items():
                writer.add_file(path, name, stamp)
            say(f"archiving {len(runs)} runs")
            for run_id in runs:
                for path in sorted((ws.runs_dir / run_id).rglob("*")):
                    if path.is_file() and not path.is_symlink() and not _skipped(path.name) and path.name not in CACHES:
                        writer.add_file(path, path.relative_to(root).as_posix())
            if store.current is not None:
                writer.add_bytes(f"runs/{CURRENT}", f"{store.current}\n".encode())
            elif (ws.runs_dir / CURRENT).is_file():  # a workspace from before the store
                writer.add_file(ws.runs_dir / CURRENT, f"runs/{CURRENT}")
            if store.file is not None:
                writer.add_file(store.file, STORE)
            again, _ = _listing(root, store_files)
            if again != files:
                changed = sorted(set(again.items()) ^ set(files.items()))
                raise Changed(changed[0][0] if changed else "a file")
            described: dict[str, Any] = {"kind": store.kind, "revision": store.revision}
            if store.file is not None:
                described["file"] = STORE
            else:
                described |= {"url": store.url, **pg_note(store, out)}
            now = dt.datetime.now(dt.UTC)
            manifest = {
                "format": FORMAT,
                "tierkit": __version__,
                "created_at": now.isoformat(timespec="seconds"),
                "created_unix": int(now.timestamp()),
                "workspace": str(root),
                "store": described,
                "current_run": store.current,
                "runs": runs,
                "recorded_runs": store.recorded,
                "missing_runs": missing,
                "links_left_out": links,
                "files": writer.files,
            }
            writer.add_manifest(manifest)
        _place(partial, out)
    warnings = [f"run {r} is in the store's catalog but its folder is missing" for r in missing]
    warnings += [f"{name}: a link, left out" for name in links]
    return {
        "archive": str(out),
        "bytes": out.stat().st_size,
        "files": len(writer.files),
        "runs": len(runs),
        "current_run": store.current,
        "store": store.kind,
        "revision": store.revision,
        "note": described.get("note"),
        "warnings": warnings,
    }


def _place(partial: Path, out: Path) -> None:
    """The finished archive at `out`, whole, and never over a file that appeared meanwhile."""
    try:
        os.link(partial, out)
    except FileExistsError:
        raise InputError(f"{out}: exists already; give the backup a new name") from None
    except OSError:  # a file system without hard links
        if out.exists():
            raise InputError(f"{out}: exists already; give the backup a new name") from None
        os.replace(partial, out)
