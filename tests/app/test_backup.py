"""Backup, restore and verify (issue 15, part 3), on a small real workspace: imported parts, a
graded and published run, owners, and a store holding users, an override, a contact, a
complaint and a tag.

What is proven: a restored workspace serves the same cards (use case and HTTP, byte for byte)
and grades to the same bytes; a backup taken while gradings publish restores to a workspace
whose current run is complete and that `verify` finds clean, a run published during the backup
being wholly in it or wholly out; archives that would write outside their folder (tar-slip) or
whose bytes differ from their manifest are refused with nothing in place; `verify` finds a byte
flipped in an imported part or a run's result; a PostgreSQL store is described, not copied.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import json
import random
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import postgres_database
from tests.cli.test_cli import cli
from tests.conftest import write_rows
from tierkit.api.app import create_app
from tierkit.app import backup as backup_uses
from tierkit.app.archive import MANIFEST, Changed
from tierkit.app.backup import backup
from tierkit.app.card import full_card
from tierkit.app.complaints import take
from tierkit.app.customers import Caller, log_contact, override
from tierkit.app.grading import grade_workspace
from tierkit.app.importing import import_files
from tierkit.app.owners import assign
from tierkit.app.restore import restore
from tierkit.app.serving import ServedWorkspace, Settings
from tierkit.app.verify import verify
from tierkit.cli.app import app
from tierkit.errors import InputError, WorkspaceError
from tierkit.runs.files import store_of
from tierkit.store.users import add_user
from tierkit.workspace import Workspace

AS_OF = "2026-11-30"
SOME = ["c0001", "c0007", "c0042", "c0113", "c0199"]
ANALYST = Caller("ana", "analyst")
runner = CliRunner()


def make_shop(root: Path, sources: Path, database: str | None = None) -> dict[str, Any]:
    """A workspace with two imported tables, one published run and what people added."""
    Workspace.init(root, "retail")
    if database:
        config = yaml.safe_load((root / "tierkit.yaml").read_text("utf-8"))
        config["database"] = database
        (root / "tierkit.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    rnd = random.Random(15)
    sources.mkdir(parents=True, exist_ok=True)
    orders = [
        {
            "order_id": f"o{i}",
            "customer_id": f"c{rnd.randrange(200):04d}",
            "ordered_at": f"2026-{rnd.randrange(1, 12):02d}-{rnd.randrange(1, 29):02d}",
            "amount": f"{rnd.randrange(10, 40_000)}.50",
        }
        for i in range(3000)
    ]
    people = [
        {"customer_id": f"c{i:04d}", "name": f"客户{i}", "phone": f"138{i:08d}", "region": rnd.choice("东西南北")}
        for i in range(200)
    ]
    contacts = [  # complaints taken at the counter are added to these when grading
        {
            "interaction_id": f"i{i}",
            "customer_id": f"c{rnd.randrange(200):04d}",
            "at": f"2026-{rnd.randrange(6, 12):02d}-{rnd.randrange(1, 29):02d}",
            "kind": rnd.choice(["inquiry", "complaint", "after_sales"]),
        }
        for i in range(300)
    ]
    import_files(root, "orders", [write_rows(sources / "orders.csv", orders)])
    import_files(root, "interactions", [write_rows(sources / "interactions.csv", contacts)])
    import_files(root, "customers", [write_rows(sources / "customers.csv", people)])
    assign(root, "round-robin", ["王芳", "李雷"], "admin")
    run = grade_workspace(root, as_of=AS_OF)["run_id"]
    served = ServedWorkspace.open(root)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    override(served, "c0007", "vip", "key account, signed in November", until, ANALYST)
    log_contact(served, "c0042", "phone", "asked about the new card", ANALYST, "interested")
    take(served, "c0113", "late delivery", "phone", "twice in a month", ANALYST)
    keys = {role: add_user(store_of(Workspace.open(root)), f"{role}-user", role) for role in ("admin", "agent")}
    return {"root": root, "run": run, "keys": keys}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("backup")
    return make_shop(base / "shop", base / "sources")


def problems(root: Path) -> list[str]:
    return [p["line"] for p in verify(root)["problems"]]


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}  # type: ignore[union-attr]


def cards(root: Path, role: str) -> list[str]:
    served = ServedWorkspace.open(root)
    caller = Caller(f"{role}-user", role)
    return [json.dumps(full_card(served, c, caller), ensure_ascii=False, default=str) for c in SOME]


def http_cards(root: Path, key: str) -> list[bytes]:
    with TestClient(create_app(root, Settings(rate_per_second=0, lang="zh"))) as client:
        answers = [client.get(f"/customers/{c}", headers={"Authorization": f"Bearer {key}"}) for c in SOME]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [a.content for a in answers]


def test_a_restored_workspace_serves_the_same_cards_and_grades_to_the_same_bytes(
    shop: dict[str, Any], tmp_path: Path
) -> None:
    root = shop["root"]
    archive = tmp_path / "shop.tar.gz"
    made = backup(root, archive)
    assert made["current_run"] == shop["run"] and made["store"] == "sqlite" and made["warnings"] == []
    names = set(members(archive))
    assert {"workspace/tierkit.db", "workspace/data/imports.json", "workspace/data/owners.parquet"} <= names
    assert f"workspace/runs/{shop['run']}/result.parquet" in names and MANIFEST in names
    assert not [n for n in names if "/." in n or n.endswith((".partial", "-wal", "-shm", ".lock"))]

    copy = tmp_path / "restored"
    done = restore(archive, copy)
    assert done["current_run"] == shop["run"] and done["files"] == len(names) - 1
    assert problems(root) == [] and problems(copy) == []
    registry = (copy / "data" / "imports.json").read_text("utf-8")
    assert str(copy.resolve()) in registry and str(root.resolve()) not in registry  # parts where they are now

    for role in ("agent", "analyst"):  # the override, contact and complaint come from the restored store
        assert cards(copy, role) == cards(root, role)
    for role in ("agent", "admin"):  # the keys too: users are in the store
        assert http_cards(copy, shop["keys"][role]) == http_cards(root, shop["keys"][role])
    first = json.loads(cards(copy, "analyst")[1])
    assert first["tier"] == "vip" and first["override"]["reason"] == "key account, signed in November"

    again = [grade_workspace(w, as_of=AS_OF, publish=False)["run_id"] for w in (root, copy)]
    results = [(w / "runs" / r / "result.parquet").read_bytes() for w, r in zip((root, copy), again, strict=True)]
    assert results[0] == results[1]


def test_a_backup_taken_while_gradings_publish_restores_a_complete_current_run(
    shop: dict[str, Any], tmp_path: Path
) -> None:
    root = shop["root"]
    archives = [backup(root, tmp_path / "before.tar")]
    failed: list[BaseException] = []

    def grade_and_publish() -> None:
        try:
            for day in ("2026-11-29", AS_OF):
                grade_workspace(root, as_of=day, publish=True)
        except BaseException as exc:  # reported by the test
            failed.append(exc)

    grading = threading.Thread(target=grade_and_publish)
    grading.start()
    while grading.is_alive() and len(archives) < 12:
        archives.append(backup(root, tmp_path / f"during-{len(archives)}.tar"))
        time.sleep(0.15)
    grading.join()
    archives.append(backup(root, tmp_path / "after.tar"))
    assert not failed
    assert len({a["current_run"] for a in archives}) >= 2  # the pointer moved while backups were taken
    for number, made in enumerate(archives):
        copy = tmp_path / f"restored-{number}"
        restore(Path(made["archive"]), copy)
        assert problems(copy) == [], made
        current = copy / "runs" / str(made["current_run"])
        assert (copy / "runs" / "CURRENT").read_text("utf-8").strip() == made["current_run"]
        manifest = json.loads((current / "manifest.json").read_text("utf-8"))
        assert set(manifest.get("files", {"result.parquet": ""})) <= {p.name for p in current.iterdir()}


@pytest.mark.parametrize("when", ["before the store is copied", "after the store is copied"])
def test_a_run_published_during_the_backup_is_wholly_in_or_wholly_out(
    shop: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    root = shop["root"]
    copy_store = backup_uses._copy_store
    published: list[str] = []

    def publishing(*args: Any) -> Any:
        if when.startswith("before"):
            published.append(grade_workspace(root, as_of=AS_OF, publish=True)["run_id"])
            return copy_store(*args)
        taken = copy_store(*args)
        published.append(grade_workspace(root, as_of=AS_OF, publish=True)["run_id"])
        return taken

    monkeypatch.setattr(backup_uses, "_copy_store", publishing)
    before = backup(root, tmp_path / "b.tar")  # the current run as the store had it at the copy
    monkeypatch.undo()
    new = published[0]
    names = members(tmp_path / "b.tar")
    inside = {n for n in names if n.startswith(f"workspace/runs/{new}/")}
    if when.startswith("before"):
        assert before["current_run"] == new and len(inside) == 4  # result, both policies, manifest
    else:
        assert before["current_run"] != new and inside == set()
    restore(tmp_path / "b.tar", tmp_path / "restored")
    assert problems(tmp_path / "restored") == []


def test_an_import_committing_during_the_copy_starts_the_backup_again(
    shop: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shop["root"]
    listing = backup_uses._listing
    more = write_rows(tmp_path / "more.csv", [{"customer_id": "c0001", "at": "2026-11-02", "kind": "inquiry"}])
    told: list[str] = []
    imported: list[dict[str, Any]] = []

    def importing(*args: Any) -> Any:
        found = listing(*args)
        if not imported:  # once, between the listing and the copy of the first try
            imported.append(import_files(root, "interactions", [more]))
        return found

    monkeypatch.setattr(backup_uses, "_listing", importing)
    backup(root, tmp_path / "b.tar", progress=told.append)
    monkeypatch.undo()
    assert any("changed while it was copied; starting again" in line for line in told), told
    registry = json.loads(members(tmp_path / "b.tar")["workspace/data/imports.json"])
    assert str(more.resolve()) in registry["interactions"]  # the new part and its entry, together
    restore(tmp_path / "b.tar", tmp_path / "restored")
    assert problems(tmp_path / "restored") == []


def _lock_held(root: Path) -> bool:
    with (root / ".tierkit.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_the_last_try_holds_the_write_lock_and_a_workspace_that_keeps_changing_is_one_error(
    shop: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = backup_uses._attempt
    held: list[bool] = []

    def changing(ws: Workspace, *args: Any) -> Any:
        held.append(_lock_held(ws.root))
        if len(held) < backup_uses.ATTEMPTS:
            raise Changed("data/orders/orders.csv-0.parquet")
        return real(ws, *args)

    monkeypatch.setattr(backup_uses.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(backup_uses, "_attempt", changing)
    assert backup(shop["root"], tmp_path / "b.tar")["current_run"]
    assert held == [False] * (backup_uses.ATTEMPTS - 1) + [True] and not _lock_held(shop["root"])

    def always(*args: Any) -> Any:
        raise Changed("data/orders/orders.csv-0.parquet")

    monkeypatch.setattr(backup_uses, "_attempt", always)
    with pytest.raises(WorkspaceError, match=r"kept changing .* last change: data/orders/orders\.csv-0\.parquet"):
        backup(shop["root"], tmp_path / "c.tar")
    assert not (tmp_path / "c.tar").exists()


def _archive(path: Path, evil: tarfile.TarInfo, data: bytes = b"") -> Path:
    """A backup archive with a real manifest and one member that must never be extracted."""
    with tarfile.open(path, "w") as tar:
        body = json.dumps({"format": 1, "files": [], "store": {"kind": "sqlite"}}).encode()
        manifest = tarfile.TarInfo(MANIFEST)
        manifest.size = len(body)
        tar.addfile(manifest, io.BytesIO(body))
        evil.size = len(data) if evil.isreg() else 0
        tar.addfile(evil, io.BytesIO(data) if evil.isreg() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(
    "evil",
    [
        _member("workspace/../../escaped.txt"),
        _member("../escaped.txt"),
        _member("/tmp/tierkit-escaped.txt"),
        _member("workspace/data/link", tarfile.SYMTYPE, "/etc/passwd"),
        _member("workspace/data/hard", tarfile.LNKTYPE, "/etc/passwd"),
        _member("workspace/data/tty", tarfile.CHRTYPE),
        _member("workspace/data/disk", tarfile.BLKTYPE),
        _member("workspace/data/pipe", tarfile.FIFOTYPE),
        _member("elsewhere.txt"),
    ],
    ids=["dotdot-inside", "dotdot", "absolute", "symlink", "hardlink", "char-device", "block-device", "fifo", "stray"],
)
def test_tar_slip_archives_are_refused_with_nothing_written(tmp_path: Path, evil: tarfile.TarInfo) -> None:
    archive = _archive(tmp_path / "evil.tar", evil, b"owned\n")
    target = tmp_path / "deep" / "new"
    with pytest.raises(InputError, match=r"refused: member .* nothing was extracted"):
        restore(archive, target)
    assert not target.exists() and list((tmp_path / "deep").iterdir()) == []
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/tierkit-escaped.txt").exists()


def test_an_archive_whose_bytes_differ_from_its_manifest_is_refused(shop: dict[str, Any], tmp_path: Path) -> None:
    good = tmp_path / "good.tar"
    backup(shop["root"], good)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(good) as source, tarfile.open(tampered, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "workspace/policy.yaml":
                data = data.replace(b"100000", b"900000")  # same size, other bytes
            out.addfile(member, io.BytesIO(data))
    with pytest.raises(InputError, match=r"policy\.yaml: its checksum differs .* nothing was restored"):
        restore(tampered, tmp_path / "new")
    assert not (tmp_path / "new").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "good.tar",
        "tampered.tar",
    ]


def test_restore_takes_only_a_new_or_empty_folder(
    shop: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "shop.tar.gz"
    backup(shop["root"], archive)
    with pytest.raises(WorkspaceError, match="not empty"):
        restore(archive, shop["root"])
    (tmp_path / "empty").mkdir()
    assert restore(archive, tmp_path / "empty")["current_run"] and problems(tmp_path / "empty") == []
    with pytest.raises(InputError, match="exists already"):
        backup(shop["root"], archive)
    with pytest.raises(InputError, match=r"OUT\.tar\.gz"):
        backup(shop["root"], tmp_path / "shop.zip")
    done = cli("restore", str(archive), "-w", str(tmp_path / "empty"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not empty" in done.stderr
    # relative paths, as typed in a shell
    monkeypatch.chdir(shop["root"].parent)
    made = runner.invoke(app, ["backup", str(tmp_path / "rel.tar"), "-w", shop["root"].name])
    assert made.exit_code == 0 and "wrote" in made.stderr, made.stderr
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["restore", "rel.tar", "-w", "rel"]).exit_code == 0
    assert runner.invoke(app, ["verify", "-w", "rel"]).exit_code == 0


def _flip(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0x01]))


def test_verify_finds_a_flipped_byte_in_a_part_and_in_a_run(shop: dict[str, Any], tmp_path: Path) -> None:
    archive = tmp_path / "shop.tar"
    backup(shop["root"], archive)
    copy = tmp_path / "copy"
    restore(archive, copy)
    grade_workspace(copy, as_of=AS_OF)  # a run that graded the parts as they are now
    clean = runner.invoke(app, ["verify", "-w", str(copy)])
    assert clean.exit_code == 0 and clean.stdout == "" and "ok:" in clean.stderr

    _flip(next((copy / "data" / "orders").glob("*.parquet")))
    current = (copy / "runs" / "CURRENT").read_text("utf-8").strip()
    _flip(copy / "runs" / current / "result.parquet")
    found = problems(copy)
    assert any(line.startswith("data/orders: its parts are not the bytes run") for line in found), found
    assert f"runs/{current}/result.parquet: its sha256 differs from the manifest's (changed or corrupted)" in found

    (copy / "runs" / "CURRENT").write_text("nonsense\n", "utf-8")
    done = runner.invoke(app, ["verify", "-w", str(copy), "--json"])
    assert done.exit_code == 1
    listed = json.loads(done.stdout)
    assert {p["where"] for p in listed} >= {"data/orders", f"runs/{current}/result.parquet", "runs/CURRENT"}


def test_a_postgresql_store_is_described_with_its_pg_dump_command(tmp_path: Path) -> None:
    url = postgres_database()  # skips without TIERKIT_TEST_PG_URL
    with_password = url.replace("://postgres@", "://postgres:s3cret-pw@")  # the test server trusts loopback
    shop = make_shop(tmp_path / "shop", tmp_path / "sources", database=with_password)
    archive = tmp_path / "shop.tar.gz"
    done = cli("backup", str(archive), "-w", str(shop["root"]))
    assert done.returncode == 0, done.stderr
    assert "pg_dump --format=custom" in done.stderr and "s3cret" not in done.stderr + done.stdout
    names = members(archive)
    manifest = json.loads(names[MANIFEST])
    assert manifest["store"]["kind"] == "postgresql" and "pg_dump" in manifest["store"]["pg_dump"]
    assert "s3cret" not in names[MANIFEST].decode() and "workspace/tierkit.db" not in names
    assert f"workspace/runs/{shop['run']}/result.parquet" in names and manifest["current_run"] == shop["run"]
    restored = restore(archive, tmp_path / "restored")
    assert restored["note"] and "pg_restore" in restored["note"] and "s3cret" not in restored["note"]
