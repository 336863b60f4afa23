"""The backup archive as a file: writing members with their checksums, and reading one safely.

A backup is a tar file (`.tar.gz`, `.tgz` or `.tar`): `tierkit-backup.json` (the manifest) and
the workspace's files under `workspace/`. Reading one never trusts it: before anything is
extracted every member is looked at, and an archive holding an absolute path, a `..`, a link
(symbolic or hard), a device, a FIFO or anything else than plain files and folders is refused
whole (tar-slip). Files are extracted one by one by this module, never by `extractall`, into a
staging folder, each hashed on the way; the caller compares with the manifest before anything is
renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

from tierkit.errors import InputError

MANIFEST = "tierkit-backup.json"
PREFIX = "workspace/"
BLOCK = 1 << 20
MODES: dict[str, Literal["w:gz", "w"]] = {".tar.gz": "w:gz", ".tgz": "w:gz", ".tar": "w"}


class Changed(Exception):
    """A file changed while it was being copied: the caller starts again."""


def compression(out: Path) -> Literal["w:gz", "w"]:
    """The mode to write the archive in, from its name; any other name is refused."""
    name = out.name.lower()
    for suffix, mode in MODES.items():
        if name.endswith(suffix):
            return mode
    raise InputError(f"{out}: name the archive OUT.tar.gz (compressed) or OUT.tar")


@dataclass(frozen=True)
class Stamp:
    """What says a file is the same file: replaced by a rename, it has another inode."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> Stamp:
        return cls(stat.st_ino, stat.st_size, stat.st_mtime_ns)


class _Hashing:
    """A reader that hashes what it reads and stops at `size` bytes."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self.handle, self.left, self.digest = handle, size, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.handle.read(n)
        self.left -= len(data)
        self.digest.update(data)
        return data


class Writer:
    """Members added one by one, each with its size and sha256 kept for the manifest."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.files: list[dict[str, Any]] = []

    def add_file(self, source: Path, name: str, stamp: Stamp | None = None) -> None:
        """`source` as `workspace/name`; with `stamp`, Changed unless it is still that file."""
        with source.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            if stamp is not None and Stamp.of(stat) != stamp:
                raise Changed(name)
            self._add(name, handle, stat.st_size, int(stat.st_mtime))

    def add_bytes(self, name: str, data: bytes) -> None:
        import io
        import time

        self._add(name, io.BytesIO(data), len(data), int(time.time()))

    def _add(self, name: str, handle: IO[bytes], size: int, mtime: int) -> None:
        info = tarfile.TarInfo(PREFIX + name)
        info.size, info.mtime, info.mode = size, mtime, 0o644
        reader = _Hashing(handle, size)
        try:
            self.tar.addfile(info, reader)  # type: ignore[arg-type]  # read() is all tarfile needs
        except OSError as exc:  # the file shrank while it was read
            raise Changed(name) from exc
        self.files.append({"path": name, "size": size, "sha256": reader.digest.hexdigest()})

    def add_manifest(self, manifest: dict[str, Any]) -> None:
        import io

        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), int(manifest.get("created_unix", 0)), 0o644
        self.tar.addfile(info, io.BytesIO(data))


def _refusal(member: tarfile.TarInfo) -> str | None:
    """Why a member may not be extracted, or None."""
    name = member.name
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if "\\" in name:
        return "a path with a backslash"
    if ".." in PurePosixPath(name).parts:
        return "a path with '..'"
    if member.issym() or member.islnk():
        return f"a link (to '{member.linkname}')"
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a FIFO"
    if member.issparse() or not (member.isreg() or member.isdir()):
        return "not a plain file or folder"
    if name != MANIFEST and not name.startswith(PREFIX):
        return f"outside {PREFIX} (not a tierkit backup member)"
    return None


@contextmanager
def opened(archive: Path) -> Iterator[tuple[tarfile.TarFile, list[tarfile.TarInfo]]]:
    """The archive and its members, every one looked at first: one bad member refuses it all."""
    if not archive.is_file():
        raise InputError(f"{archive}: no such archive")
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115  (closed by the `with` below)
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{archive}: not a tar archive ({exc})") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InputError(f"{archive}: the archive is damaged ({exc})") from None
        seen: set[str] = set()
        for member in members:
            why = _refusal(member)
            if why is None and member.name in seen:
                why = "a second member of the same name"
            if why is not None:
                raise InputError(f"{archive}: refused: member '{member.name}' is {why}; nothing was extracted")
            seen.add(member.name)
        yield tar, members


def read_manifest(archive: Path, tar: tarfile.TarFile, members: list[tarfile.TarInfo]) -> dict[str, Any]:
    found = [m for m in members if m.name == MANIFEST]
    if not found:
        raise InputError(f"{archive}: not a tierkit backup (no {MANIFEST})")
    handle = tar.extractfile(found[0])
    try:
        manifest = json.loads(handle.read().decode("utf-8")) if handle else None
    except (ValueError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise InputError(f"{archive}: {MANIFEST} is not a backup manifest")
    return manifest


def extract(archive: Path, tar: tarfile.TarFile, members: list[tarfile.TarInfo], staging: Path) -> dict[str, Any]:
    """Every file under workspace/ written below `staging`; returns name -> {size, sha256}."""
    written: dict[str, dict[str, Any]] = {}
    for member in members:
        if not member.isreg() or member.name == MANIFEST:
            continue
        name = member.name[len(PREFIX) :]
        target = staging.joinpath(*PurePosixPath(name).parts)
        source = tar.extractfile(member)
        if source is None or target == staging:
            raise InputError(f"{archive}: member '{member.name}' cannot be read")
        digest, size = hashlib.sha256(), 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("xb") as out:
                for block in iter(lambda: source.read(BLOCK), b""):  # noqa: B023  (read at once)
                    digest.update(block)
                    size += len(block)
                    out.write(block)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InputError(f"{archive}: member '{member.name}' cannot be read ({exc})") from None
        written[name] = {"size": size, "sha256": digest.hexdigest()}
    return written
