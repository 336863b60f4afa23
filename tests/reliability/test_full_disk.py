"""A full disk (issue 15, part 2): real `tierkit` processes on a small tmpfs filled to leave a
little room, so that each fails in the middle of its writes.

For every command the disk is filled to leave 0, 4, 8 ... KiB (a sweep, up to the room the
command needs) and the command run at each level. Every run that fails must fail cleanly: exit
2, ONE line on stderr that names what could not be written (no traceback), the published run
and its files as its manifest records them, the imported parts and the registry unchanged, no
`*.partial`, staging folder or temporary file left, and the SQLite store passing
`PRAGMA integrity_check` with the same rows in every table. Then, with the filler removed, the
same command succeeds and `tierkit verify` finds the workspace sound. The sweep also checks
that the failures came from the writers the case is about (the message names them), not only
from opening the store. The small disk is in tests/reliability/small_disk.py; the table of
cases and results is in docs/reliability.md ("A full disk").
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.small_disk import (
    AS_OF,
    Shop,
    SmallDisk,
    State,
    leftovers,
    mount_refusal,
    ok,
    store_rows,
    tierkit,
)

KIB = 1024


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    refusal = mount_refusal(tmp_path_factory.mktemp("probe") / "mnt")
    if refusal is not None:
        pytest.skip(f"a full disk is simulated with a small tmpfs: {refusal}")
    return Shop(tmp_path_factory.mktemp("shop")).build()


@pytest.fixture
def disk(tmp_path: Path, shop: Shop) -> Iterator[SmallDisk]:
    with SmallDisk(tmp_path / "disk") as small:
        yield small


@dataclass
class Sweep:
    """The outcome at each level of room left: (KiB left, exit code, the stderr line)."""

    runs: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [line for _, code, line in self.runs if code != 0]

    def table(self) -> str:
        return "\n".join(f"{left:>4} KiB: exit {code}: {line}" for left, code, line in self.runs)


def failed_cleanly(code: int, stderr: str, before: State, ws: Path, disk: SmallDisk) -> str:
    """The one line of a clean failure; an AssertionError saying what is wrong otherwise."""
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("note:", "  "))]
    assert code == 2, f"exit {code}, not 2:\n{stderr}"
    assert "Traceback" not in stderr and len(lines) == 1, f"not one line:\n{stderr}"
    assert lines[0].startswith("error: could not write ") and "no space left on device" in lines[0], lines[0]
    assert leftovers(disk.point) == [], f"left behind after '{lines[0]}': {leftovers(disk.point)}"
    after = State.of(ws)
    assert after == before, f"changed by a failed command ({lines[0]}):\nbefore {before}\nafter  {after}"
    return lines[0]


def sweep(
    disk: SmallDisk, ws: Path, args: list[str | Path], levels: range, prepare: Callable[[], None] | None = None
) -> Sweep:
    """Run `tierkit ARGS` with each of `levels` KiB left (stopping at the first success); every
    failure checked by failed_cleanly. Then with room: it succeeds."""
    seen = Sweep()
    for left in levels:
        before = State.of(ws)
        disk.fill(left * KIB)
        done = tierkit(*args)
        if done.returncode == 0:
            seen.runs.append((left, 0, "ok"))
            break
        seen.runs.append((left, done.returncode, failed_cleanly(done.returncode, done.stderr, before, ws, disk)))
    disk.free()
    if not seen.runs or seen.runs[-1][1] != 0:
        done = tierkit(*args)
        assert done.returncode == 0, f"with room again: exit {done.returncode}\n{done.stderr}\n{seen.table()}"
    verified = tierkit("verify", "-w", ws)
    assert verified.returncode == 0, f"tierkit verify after the sweep:\n{verified.stdout}{verified.stderr}"
    assert leftovers(disk.point) == []
    print(f"\ntierkit {' '.join(str(a) for a in args[:2])}:\n{seen.table()}")  # the table in docs/reliability.md
    return seen


def test_each_library_says_a_full_disk_its_own_way_and_each_is_recognised(disk: SmallDisk) -> None:
    """The errors themselves, made on the full disk in this process: Python's, pyarrow's,
    DuckDB's and SQLite's (PostgreSQL's below); another error is not taken for a full disk."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tierkit.errors import as_error, named_path, reason

    disk.fill(0)
    met: dict[str, BaseException] = {}
    try:
        (disk.point / "plain.txt").write_bytes(b"x" * 10_000)
    except OSError as exc:
        met["python"] = exc
    try:
        pq.write_table(pa.table({"n": list(range(50_000))}), disk.point / "t.parquet")
    except OSError as exc:
        met["pyarrow"] = exc
    try:
        duckdb.sql(f"COPY (SELECT range AS n FROM range(50000)) TO '{disk.point / 'd.csv'}'")
    except duckdb.Error as exc:
        met["duckdb"] = exc
    try:
        with sqlite3.connect(disk.point / "s.db") as con:
            con.execute("CREATE TABLE t (x)")
    except sqlite3.Error as exc:
        met["sqlite"] = exc
    assert sorted(met) == ["duckdb", "pyarrow", "python", "sqlite"], met
    assert {name: reason(exc) for name, exc in met.items()} == dict.fromkeys(met, "no space left on device")
    assert named_path(met["duckdb"]) == str(disk.point / "d.csv")
    # a write (not an open) that fails names no file, nor does pyarrow: so each writer names its own
    assert named_path(met["python"]) is None and named_path(met["pyarrow"]) is None
    target = disk.point / "t.parquet"
    full = as_error(met["pyarrow"], f"the file {target}")
    said = f"could not write the file {target}: no space left on device; free some space and run it again"
    assert full is not None and str(full) == said
    assert reason(FileNotFoundError(2, "No such file or directory")) is None
    assert reason(sqlite3.OperationalError("database is locked")) is None


def test_a_grading_that_meets_a_full_disk_keeps_the_published_run(shop: Shop, disk: SmallDisk) -> None:
    ws = shop.copy_to(disk.point).ws
    published = State.of(ws).current
    seen = sweep(disk, ws, ["grade", "-w", ws, "--as-of", AS_OF], range(40, 200, 12))
    assert any("the new run in" in line for line in seen.failures), seen.table()  # the run's files
    assert any("the store" in line or "CURRENT" in line for line in seen.failures), seen.table()  # publishing
    assert State.of(ws).current != published  # and with room, the grading published


@pytest.mark.parametrize(("kind", "source"), [("orders", "orders-more.csv"), ("customers", "customers-more.csv")])
def test_an_import_that_meets_a_full_disk_changes_nothing(shop: Shop, disk: SmallDisk, kind: str, source: str) -> None:
    on = shop.copy_to(disk.point)
    seen = sweep(disk, on.ws, ["import", kind, on.root / source, "-w", on.ws], range(0, 200, 12))
    assert any(f"the import of {on.root / source}" in line for line in seen.failures), seen.table()
    registry = json.loads((on.ws / "data" / "imports.json").read_text("utf-8"))
    assert str((on.root / source).resolve()) in registry[kind]  # imported once there was room


@pytest.mark.parametrize(
    ("name", "inside", "levels"),
    [
        ("graded.csv", True, range(48, 1200, 128)),  # 203 KiB, twice over while it is written
        ("graded.xlsx", False, range(40, 400, 16)),
        ("graded.parquet", False, range(0, 400, 12)),
        ("graded.json", False, range(48, 1200, 96)),
    ],
)
def test_an_export_that_meets_a_full_disk_leaves_no_half_file(
    shop: Shop, disk: SmallDisk, name: str, inside: bool, levels: range
) -> None:
    on = shop.copy_to(disk.point)
    target = (on.ws if inside else disk.point) / name
    seen = sweep(disk, on.ws, ["export", "-w", on.ws, "-o", target], levels)
    assert any(f"the export {target}" in line for line in seen.failures), seen.table()
    assert target.stat().st_size > 0


def test_a_link_that_meets_a_full_disk_keeps_the_links(shop: Shop, disk: SmallDisk) -> None:
    on = shop.copy_to(disk.point)
    ok("import", "customers", on.root / "customers-more.csv", "-w", on.ws)  # 100 new people to link
    links = on.ws / "data" / "identity" / "links.parquet"
    seen = sweep(disk, on.ws, ["link", "-w", on.ws], range(4, 64, 4))
    assert any(f"the identity links {links}" in line for line in seen.failures), seen.table()
    import pyarrow.parquet as pq

    assert pq.read_table(links).num_rows == 400  # linked once there was room


def test_a_backup_onto_a_full_disk_leaves_no_half_archive(shop: Shop, disk: SmallDisk) -> None:
    out = disk.point / "backup.tar.gz"
    before = State.of(shop.ws)
    runs: list[str] = []
    for left in range(0, 1000, 96):
        disk.fill(left * KIB)
        done = tierkit("backup", "-w", shop.ws, out)
        if done.returncode == 0:
            break
        runs.append(failed_cleanly(done.returncode, done.stderr, before, shop.ws, disk))
        assert not out.exists()
    disk.free()
    print(f"\ntierkit backup: {len(runs)} clean failures (0 to {96 * (len(runs) - 1)} KiB left), then ok")
    assert runs and all(f"the backup {out}" in line for line in runs), runs
    assert out.exists() or tierkit("backup", "-w", shop.ws, out).returncode == 0


def test_the_service_answers_507_when_the_store_has_no_room(shop: Shop, disk: SmallDisk) -> None:
    from fastapi.testclient import TestClient

    from tierkit.api.app import create_app
    from tierkit.app.serving import Settings

    on = shop.copy_to(disk.point)
    db = on.ws / "tierkit.db"
    headers = {"Authorization": f"Bearer {on.key}"}
    with TestClient(create_app(on.ws, Settings(rate_per_second=0)), raise_server_exceptions=False) as client:
        cid = client.get("/customers?limit=1", headers=headers).json()["items"][0]["customer_id"]
        override = {"tier": "regular", "reason": "kept on a full disk", "expires": "2099-01-01T00:00:00Z"}
        contact = {"channel": "phone", "note": "x" * 2000, "outcome": "reached"}
        for _ in range(40):  # the store's WAL grows with each write: a few pages, then none left
            assert client.post(f"/customers/{cid}/contacts", headers=headers, json=contact).status_code == 201
        client.app.state.service.audit.flush()  # the views' and contacts' audit entries are queued: not later
        rows = store_rows(db)
        disk.fill(0)
        for path, body in ((f"/customers/{cid}/override", override), (f"/customers/{cid}/contacts", contact)):
            answer = client.post(path, headers=headers, json=body)
            assert answer.status_code == 507, answer.text
            detail = answer.json()["detail"]
            assert detail.startswith(f"could not write the store {db}: no space left on device"), detail
        card = client.get(f"/customers/{cid}", headers=headers).json()  # reads go on
        assert card.get("override") is None
        disk.free()
        assert store_rows(db) == rows  # nothing of the refused writes, integrity_check ok
        assert client.post(f"/customers/{cid}/override", headers=headers, json=override).status_code == 201
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_grading_started_over_http_on_a_full_disk_lets_the_next_one_start(shop: Shop, disk: SmallDisk) -> None:
    """POST /runs at 0, 4, 8 ... KiB left: a 507 (its job could not be recorded) or a job that
    fails naming what it could not write; never a 409 from a grading lock a refused start kept
    (it stayed ten minutes, its time-out); with room, a grading publishes."""
    from fastapi.testclient import TestClient

    from tierkit.api.app import create_app
    from tierkit.app.serving import Settings

    on = shop.copy_to(disk.point)
    headers = {"Authorization": f"Bearer {on.key}"}
    seen = []
    with TestClient(create_app(on.ws, Settings(rate_per_second=0)), raise_server_exceptions=False) as client:

        def grade() -> tuple[int, dict[str, Any]]:
            started = client.post("/runs", headers=headers, json={"as_of": AS_OF})
            if started.status_code != 202:
                return started.status_code, started.json()
            for _ in range(600):
                job = client.get(f"/runs/{started.json()['job_id']}", headers=headers).json()
                if job["state"] not in ("queued", "running"):
                    break
                time.sleep(0.1)
            return 202, job

        for left in range(0, 48, 4):
            disk.fill(left * KIB)
            code, answer = grade()
            seen.append((left, code, answer.get("detail") or answer.get("error") or answer.get("state")))
            assert code in (202, 507), seen
            if code == 507:
                assert answer["detail"].startswith("could not write the store"), seen
            else:
                assert answer["state"] == "failed" and answer["error"].startswith("could not write "), seen
        disk.free()
        code, job = grade()
        assert code == 202 and job["state"] == "done" and job["run_id"], (job, seen)
    assert any(code == 507 for _, code, _ in seen), seen
    assert store_rows(on.ws / "tierkit.db")["integrity_check: ok"] == 1
    print("\nPOST /runs:\n" + "\n".join(f"{left:>4} KiB: {code}: {said}" for left, code, said in seen))


def test_postgresql_disk_full_rolls_back_and_is_a_503() -> None:
    """A PostgreSQL server's own disk cannot be filled in CI: its error (SQLSTATE 53100) is
    raised in a transaction that wrote a row, through the store's engine and its hook."""
    url = os.environ.get("TIERKIT_TEST_PG_URL")
    if not url:
        pytest.skip("TIERKIT_TEST_PG_URL is not set (a PostgreSQL server for the store's tests)")
    from sqlalchemy import create_engine, event, text

    from tierkit.api.app import json_error
    from tierkit.errors import StoreFullError, store_error

    engine = create_engine(url)
    event.listen(engine, "handle_error", store_error)
    table = f"full_disk_{os.getpid()}"
    with engine.begin() as con:
        con.execute(text(f"CREATE TABLE {table} (n int)"))
    try:
        with pytest.raises(StoreFullError) as raised, engine.begin() as con:
            con.execute(text(f"INSERT INTO {table} VALUES (1)"))
            con.execute(
                text(
                    "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'disk_full', "
                    "MESSAGE = 'could not extend file \"base/1/2\": No space left on device'; END $$"
                )
            )
        assert str(raised.value).startswith("could not write the store (postgresql://"), raised.value
        assert "the database server's disk is full" in str(raised.value)
        assert json_error(raised.value).status_code == 503
        with engine.connect() as con:
            assert con.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0  # rolled back
    finally:
        with engine.begin() as con:
            con.execute(text(f"DROP TABLE {table}"))
        engine.dispose()
