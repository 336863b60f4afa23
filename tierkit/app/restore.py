"""`tierkit restore`: a backup (app.backup) brought back into a new or empty folder.

Nothing is in place until every file has been checked: the archive's members are looked at
before any is extracted (app.archive refuses tar-slip), the files are extracted into a hidden
staging folder beside the new workspace, each one's size and sha256 compared with the manifest
(a file missing, added or different refuses the restore), the paths imports.json records moved
to the new folder, and only then is the staging folder renamed to the workspace, in one step:
onto a missing or empty folder only, so that a folder something wrote into meanwhile is never
overwritten. The workspace lock is not needed: the new folder is no workspace (no tierkit.yaml)
until that rename, so no tierkit command can write into it before.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from tierkit.app.archive import extract, opened, read_manifest
from tierkit.app.backup import FORMAT
from tierkit.app.progress import Progress, silent
from tierkit.errors import InputError, WorkspaceError
from tierkit.ingest.registry import REGISTRY
from tierkit.store.database import HEAD
from tierkit.workspace import default_dir


def restore(archive: Path, workspace: Path | None, progress: Progress = silent) -> dict[str, Any]:
    """Bring an archive back into a new (missing or empty) folder; nothing is in place until every
    checksum has been checked."""
    given = default_dir(workspace)
    if given.exists() and (not given.is_dir() or any(given.iterdir())):
        raise WorkspaceError(f"{given}: not empty; restore into a new or empty folder")
    target = given.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        with opened(archive) as (tar, members):
            manifest = read_manifest(archive, tar, members)
            _check_format(archive, manifest)
            progress(f"extracting {len(manifest['files'])} files")
            written = extract(archive, tar, members, staging)
        progress("checking every file against the manifest")
        _check_files(archive, manifest, written)
        for sub in ("data", "runs"):
            (staging / sub).mkdir(exist_ok=True)
        _relocate_registry(staging / "data" / REGISTRY, str(manifest.get("workspace") or ""), target)
        try:
            os.rename(staging, target)  # replaces an empty folder; never a non-empty one
        except OSError as exc:
            raise WorkspaceError(f"{given}: cannot restore into it ({exc.strerror}); it must be new or empty") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    store = manifest.get("store") or {}
    note = None
    if store.get("kind") == "postgresql":
        note = (
            f"the store was PostgreSQL ({store.get('url')}), not in the archive: restore its dump with "
            "`pg_restore --no-owner --dbname URL FILE` and point tierkit.yaml's database: (or "
            f"TIERKIT_DATABASE_URL) at it; it was dumped with `{store.get('pg_dump')}`"
        )
    return {
        "workspace": str(given),
        "files": len(written),
        "runs": len(manifest.get("runs") or []),
        "current_run": manifest.get("current_run"),
        "created_at": manifest.get("created_at"),
        "store": store.get("kind"),
        "note": note,
    }


def _check_format(archive: Path, manifest: dict[str, Any]) -> None:
    if manifest.get("format") != FORMAT:
        raise InputError(f"{archive}: backup format {manifest.get('format')!r}, this tierkit reads {FORMAT}")
    revision = str((manifest.get("store") or {}).get("revision") or "")
    if revision.isdigit() and HEAD.isdigit() and int(revision) > int(HEAD):
        raise InputError(
            f"{archive}: its store is at revision {revision}, newer than this tierkit's {HEAD} "
            f"(made by tierkit {manifest.get('tierkit')}): restore it with that version or later"
        )


def _check_files(archive: Path, manifest: dict[str, Any], written: dict[str, dict[str, Any]]) -> None:
    listed = {str(f.get("path")): f for f in manifest["files"] if isinstance(f, dict)}
    for name, expected in listed.items():
        got = written.get(name)
        if got is None:
            raise InputError(f"{archive}: {name} is in the manifest but not in the archive; nothing was restored")
        if got["size"] != expected.get("size") or got["sha256"] != expected.get("sha256"):
            raise InputError(f"{archive}: {name}: its checksum differs from the manifest's; nothing was restored")
    extra = sorted(set(written) - set(listed))
    if extra:
        raise InputError(f"{archive}: {extra[0]} is in the archive but not in its manifest; nothing was restored")


def _relocate_registry(registry: Path, old_root: str, new_root: Path) -> None:
    """imports.json names parts by absolute path: the restored parts are in the new folder."""
    if not registry.is_file() or not old_root:
        return
    entries = json.loads(registry.read_text("utf-8"))
    prefix = old_root.rstrip("/") + "/"
    for files in entries.values():
        for entry in files.values():
            for key in ("part", "rejects_file"):
                value = entry.get(key)
                if isinstance(value, str) and value.startswith(prefix):
                    entry[key] = f"{new_root}/{value[len(prefix) :]}"
    moved = registry.with_name(registry.name + ".partial")
    moved.write_text(json.dumps(entries, ensure_ascii=False, indent=2, sort_keys=True), "utf-8")
    os.replace(moved, registry)
