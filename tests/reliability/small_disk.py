"""A small disk that fills up: a tmpfs of a few MiB mounted per case (issue 15, part 2).

`SmallDisk(point)` mounts `tmpfs -o size=...` on `point` (root only; `mount_refusal()` says why
not elsewhere, for a skip), `fill(leave)` writes a filler file sized from `os.statvfs` so that
`leave` bytes stay free, and `free()` removes it. tmpfs counts whole 4 KiB pages and reserves
nothing for root, so the room left is exact and a command fails at the same byte on every run.

`Shop` is the tiny workspace every case starts from: 2,000 orders of 300 customers (250
persons), imported, linked, graded and published (one run), with an admin user. It is built once
on the ordinary disk (about 8 s) and copied onto each small disk (`copy_to`). `State` is what a
failed command must leave as it was: the published run (its id, and every file of its manifest
with the recorded sha256), the imported parts and registry, and the store's rows, table by table.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIERKIT = [str(Path(sys.executable).with_name("tierkit"))]
AS_OF = "2024-12-31"
TIMEOUT = 180.0
LEFTOVER_ENDS = (".partial", ".tmp")


def env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "TIERKIT_LOCK_TIMEOUT": "60", "COLUMNS": "400"}


def tierkit(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A real `tierkit` process (the console script of the venv running the tests)."""
    return subprocess.run(
        [*TIERKIT, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT, env=env(), cwd=cwd
    )


def ok(*args: str | Path) -> str:
    done = tierkit(*args)
    assert done.returncode == 0, f"tierkit {' '.join(map(str, args))}: exit {done.returncode}\n{done.stderr}"
    return done.stdout


def mount_refusal(probe: Path) -> str | None:
    """Why a tmpfs cannot be mounted here (not root, no mount, refused), or None when it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "mounting a small tmpfs needs root (CI runs as root)"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "no mount/umount command"
    probe.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
    if done.returncode != 0:
        return f"mount -t tmpfs refused: {done.stderr.decode(errors='replace').strip()}"
    subprocess.run(["umount", str(probe)], check=True)
    return None


class SmallDisk:
    """A tmpfs of `size` bytes on `point`, mounted on enter and unmounted on exit."""

    def __init__(self, point: Path, size: int = 4 << 20) -> None:
        self.point = point
        self.size = size
        self.filler = point / "filler"

    def __enter__(self) -> SmallDisk:
        self.point.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size // 1024}k", "tmpfs", str(self.point)], check=True
        )
        return self

    def __exit__(self, *_: object) -> None:
        if subprocess.run(["umount", str(self.point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(self.point)], capture_output=True)  # a process still inside

    def room(self) -> int:
        stats = os.statvfs(self.point)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int) -> None:
        """Leave `leave` bytes free (rounded down to whole pages by tmpfs)."""
        self.free()
        with self.filler.open("wb") as out:
            out.write(b"\0" * max(self.room() - leave, 0))
        assert self.room() <= leave, f"filled to {self.room()} bytes free, wanted {leave}"

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Shop:
    """The tiny workspace and its input files, on the ordinary disk."""

    root: Path
    key: str = ""

    @property
    def ws(self) -> Path:
        return self.root / "ws"

    def build(self) -> Shop:
        rng = random.Random(20261204)
        self.root.mkdir(parents=True, exist_ok=True)
        lines = [
            f"O{i},C{rng.randrange(300):04d},2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d},"
            f"{rng.randrange(10, 900)}"
            for i in range(2000)
        ]
        header = "order_id,customer_id,ordered_at,amount\n"
        (self.root / "orders.csv").write_text(header + "\n".join(lines) + "\n", "utf-8")
        # a second orders file (new order ids, one bad date: a rejects file is written too)
        more = [
            f"N{i},C{rng.randrange(300):04d},2024-{1 + rng.randrange(12):02d}-15,{rng.randrange(10, 500)}"
            for i in range(1500)
        ]
        (self.root / "orders-more.csv").write_text(header + "\n".join(more) + "\nNbad,C0001,no-date,5\n", "utf-8")
        people = [f"C{i:04d},Zhang Wei{i % 250},138{i % 250:08d},u{i % 250}@example.cn" for i in range(300)]
        customers = "customer_id,name,phone,email\n" + "\n".join(people) + "\n"
        (self.root / "customers.csv").write_text(customers, "utf-8")
        extra = [f"C{i:04d},Li Na{i},139{i:08d},l{i}@example.cn" for i in range(300, 400)]
        (self.root / "customers-more.csv").write_text(customers + "\n".join(extra) + "\n", "utf-8")
        ok("init", self.ws)
        ok("import", "orders", self.root / "orders.csv", "-w", self.ws)
        ok("import", "customers", self.root / "customers.csv", "-w", self.ws)
        ok("link", "-w", self.ws)
        ok("grade", "-w", self.ws, "--as-of", AS_OF)
        self.key = json.loads(ok("users", "add", "disk", "--role", "admin", "-w", self.ws, "--json"))["key"]
        return self

    def copy_to(self, root: Path) -> Shop:
        """The workspace and its input files under `root` (a small disk)."""
        for name in ("orders.csv", "orders-more.csv", "customers.csv", "customers-more.csv"):
            shutil.copy2(self.root / name, root / name)
        shutil.copytree(self.ws, root / "ws", symlinks=True)
        return Shop(root, self.key)


def store_rows(db: Path) -> dict[str, int]:
    """Rows per table of the SQLite store, and its integrity check ('ok' or the first problem)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        rows = {t: int(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}
        rows["integrity_check: ok"] = int(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    return rows


@dataclass
class State:
    """What a failed command must leave as it was."""

    current: str
    run_files: dict[str, str]
    data_files: dict[str, str]
    registry: Any
    rows: dict[str, int]

    @classmethod
    def of(cls, ws: Path) -> State:
        current = (ws / "runs" / "CURRENT").read_text("utf-8").strip()
        run = ws / "runs" / current
        manifest = json.loads((run / "manifest.json").read_text("utf-8"))
        run_files = {name: sha256(run / name) for name in manifest["files"]}
        assert run_files == manifest["files"], "the published run does not match its manifest"
        data = ws / "data"
        data_files = {
            str(p.relative_to(data)): sha256(p) for p in sorted(data.rglob("*")) if p.is_file() and p.suffix != ".json"
        }
        registry = json.loads((data / "imports.json").read_text("utf-8"))
        return cls(current, run_files, data_files, registry, store_rows(ws / "tierkit.db"))


def leftovers(root: Path) -> list[str]:
    """Half-written files anywhere under `root`: `*.partial`, `*.tmp`, staging folders, temporary
    names (DuckDB's `tmp_*`, ours `.NAME.xxxx`), an import journal, a backup's scratch folder."""
    found = []
    for path in sorted(root.rglob("*")):
        name = path.name
        if name in (".tierkit.lock", "filler") or (name.startswith("tierkit.db") and name.endswith(("-wal", "-shm"))):
            continue
        if name.startswith((".", "tmp_")) or name.endswith(LEFTOVER_ENDS) or name == "imports.journal.json":
            found.append(str(path.relative_to(root)))
    return found


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
