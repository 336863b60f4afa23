"""`tierkit forget`: a person's personal data gone from every byte of the workspace and of the
store, the pseudonymous grading history kept cell for cell, a serving process showing it at once,
an old file imported again not bringing them back unsaid; and the audit log's retention."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.app.privacy_shop import CUSTOMER, Shop, files_holding, make_shop, write_crm
from tierkit.app.background import TASKS
from tierkit.app.card import full_card
from tierkit.app.customers import Caller
from tierkit.app.retention import prune_due
from tierkit.app.serving import ServedWorkspace
from tierkit.app.verify import verify
from tierkit.cli.app import app
from tierkit.errors import TierkitError
from tierkit.runs.files import list_runs, store_of
from tierkit.store import schema
from tierkit.workspace import Workspace

runner = CliRunner()
ADMIN = Caller("admin-user", "admin")
PERSONAL = ("name", "birth_date")  # the personal columns a retail run copies from the customers


def results(root: Path) -> dict[str, Any]:
    return {run.run_id: pq.read_table(run.result) for run in list_runs(Workspace.open(root))}


def part_rows(root: Path, customer_id: str) -> list[dict[str, Any]]:
    rows = []
    for part in sorted((root / "data" / "customers").glob("*.parquet")):
        rows += pq.read_table(part, filters=[("customer_id", "=", customer_id)]).to_pylist()
    return rows


def store_rows(root: Path) -> dict[str, list[dict[str, Any]]]:
    con = sqlite3.connect(root / "tierkit.db")
    con.row_factory = sqlite3.Row
    try:
        names = ("contacts", "overrides", "manual_tags", "complaints", "entitlement_uses", "audit")
        return {n: [dict(r) for r in con.execute(f"SELECT * FROM {n} ORDER BY id")] for n in names}
    finally:
        con.close()


@pytest.fixture(scope="module")
def erased(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shop before and after `tierkit forget 00000001`, and a server that was serving it."""
    shop = make_shop(tmp_path_factory.mktemp("forget"))
    pristine = shop.root.parent / "pristine"
    shutil.copytree(shop.root, pristine)
    before = {
        "files": files_holding(shop.root, [shop.phone, shop.id_number]),
        "results": results(shop.root),
        "store": store_rows(shop.root),
        "imports": json.loads((shop.root / "data" / "imports.json").read_text("utf-8")),
    }
    served = ServedWorkspace.open(shop.root)
    before["card"] = full_card(served, CUSTOMER, ADMIN)
    said = runner.invoke(
        app, ["forget", CUSTOMER, "-w", str(shop.root), "--reason", "本人 2026-12-01 来函要求删除", "--json"]
    )
    assert said.exit_code == 0, said.output
    done = json.loads(said.stdout)
    yield {"shop": shop, "before": before, "done": done, "served": served, "pristine": pristine}
    served.close()


def test_the_phone_and_id_number_are_in_no_byte_of_the_workspace_or_the_database(erased: dict[str, Any]) -> None:
    shop: Shop = erased["shop"]
    before = erased["before"]["files"]
    # before: in the imported part, the second system's part, the review list, the exports, the
    # GBK note and the database (a contact's note, a complaint, the masked phone of a search)
    for place in ("tierkit.db", "data/identity/review.csv", "exports/all.csv", "exports/all.jsonl", "notes/回访.txt"):
        assert place in before, (place, before)
    assert set(before["tierkit.db"]) == {shop.phone, shop.id_number}
    assert files_holding(shop.root, [shop.phone, shop.id_number]) == {}
    assert {p.name for p in shop.root.glob("tierkit.db*")} <= {"tierkit.db", "tierkit.db-wal", "tierkit.db-shm"}
    # compressed files hold them without their bytes showing: read
    for row in part_rows(shop.root, CUSTOMER) + part_rows(shop.root, "M" + CUSTOMER):
        assert row["name"] is None and row["phone"] is None and row["birth_date"] is None, row
        assert row.get("id_number") is None
        if row.get("attributes"):
            assert json.loads(row["attributes"]) == {"家庭住址": None, "备注": None, "集团关键人": "否"}
    for suffix in ("parquet", "xlsx"):
        text = json.dumps(_export_rows(shop.root / "exports" / f"all.{suffix}"), ensure_ascii=False, default=str)
        assert shop.phone not in text and str(shop.customer["name"]) not in text
        assert CUSTOMER in text  # the row stays
    assert "erased-ids.json" in {p.name for p in (shop.root / "data").iterdir()}
    assert CUSTOMER not in (shop.root / "data" / "erased-ids.json").read_text("utf-8")  # salted hashes only


def _export_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return pq.read_table(path, filters=[("customer_id", "=", CUSTOMER)]).to_pylist()
    import openpyxl

    sheet = openpyxl.load_workbook(path)["客户"]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0] == CUSTOMER]


def test_the_grading_history_is_kept_cell_for_cell(erased: dict[str, Any]) -> None:
    shop: Shop = erased["shop"]
    before, after = erased["before"]["results"], results(shop.root)
    assert set(before) == set(after) and len(after) == 2
    for run_id, old in before.items():
        new = after[run_id]
        assert new.schema.equals(old.schema) and new.num_rows == old.num_rows
        ids = old["customer_id"].to_pylist()
        assert new["customer_id"].to_pylist() == ids  # the same rows in the same order
        mine = ids.index(CUSTOMER)
        for name in old.column_names:
            was, now = old[name].to_pylist(), new[name].to_pylist()
            others = [i for i in range(len(ids)) if i != mine]
            assert [was[i] for i in others] == [now[i] for i in others], (run_id, name)
            if name in PERSONAL or name in ("家庭住址", "备注"):
                assert was[mine] is not None and now[mine] is None, (run_id, name)
            else:  # tier, scores, tags, metrics, reasons: as graded
                assert was[mine] == now[mine], (run_id, name, was[mine], now[mine])
        manifest = json.loads((shop.root / "runs" / run_id / "manifest.json").read_text("utf-8"))
        (erasure,) = manifest["erasures"]
        assert erasure["rows"] == 1 and {"name", "birth_date", "家庭住址", "备注"} <= set(erasure["columns"])
        assert not (shop.root / "runs" / run_id / "lookup.arrow").exists()
    imports = json.loads((shop.root / "data" / "imports.json").read_text("utf-8"))
    for kind, entries in imports.items():
        for source, entry in entries.items():
            old = erased["before"]["imports"][kind][source]
            assert entry["imported"] == old["imported"] and entry["sha256"] == old["sha256"]
            if kind == "customers":
                assert entry["erased_at"] and entry["part_sha256"]
            else:
                assert entry == old  # orders hold no personal field: untouched
    assert verify(shop.root)["problems"] == []


def test_the_store_keeps_its_rows_with_the_free_text_erased(erased: dict[str, Any]) -> None:
    shop: Shop = erased["shop"]
    before, after = erased["before"]["store"], store_rows(shop.root)
    for table in ("contacts", "overrides", "manual_tags", "complaints", "entitlement_uses"):
        assert len(after[table]) == len(before[table]), table
    mine = [c for c in after["contacts"] if c["customer_id"] == CUSTOMER]
    assert [(c["channel"], c["outcome"], c["note"]) for c in mine] == [("phone", "reached", None)]
    other = next(c for c in after["contacts"] if c["customer_id"] == "00000002")
    assert other["note"] == "推荐人是 00000001 (手机 [erased])"  # someone else's note naming the phone
    assert [(o["tier"], o["reason"]) for o in after["overrides"]] == [("vip", "[erased]")]
    assert [(t["tag"], t["reason"]) for t in after["manual_tags"]] == [("集团关键人", "[erased]")]
    assert [(c["topic"], c["status"], c["detail"], c["resolution"]) for c in after["complaints"]] == [
        ("账单有误", "resolved", None, None)
    ]
    assert [u["note"] for u in after["entitlement_uses"]] == [None]
    audit = {a["id"]: a for a in after["audit"]}
    for old in before["audit"]:
        new = audit[old["id"]]
        assert (new["at"], new["actor"], new["action"], new["target"]) == (
            old["at"],
            old["actor"],
            old["action"],
            old["target"],
        )
    by_action = {a["action"]: a for a in after["audit"]}
    assert json.loads(by_action["search"]["detail"]) == {"phone": "[erased]"}
    assert json.loads(by_action["override"]["detail"])["reason"] == "[erased]"
    assert json.loads(by_action["override"]["detail"])["tier"] == "vip"
    (viewed,) = [audit[a["id"]] for a in before["audit"] if a["detail"] == "a-run-id"]
    assert viewed["detail"] == "a-run-id"  # a run id is no personal data
    forget = by_action["forget"]
    assert forget["target"] == CUSTOMER and forget["role"] == "cli"
    said = json.loads(forget["detail"])
    assert said["reason"] == "本人 2026-12-01 来函要求删除" and said["records"] == 2
    assert {"imported_parts", "runs", "other_files", "store_rows", "identity_review_cells"} <= set(said["places"])
    assert said["counts"]["runs"] == 2 and said["counts"]["imported_parts"] == 2
    assert str(shop.customer["name"]) not in forget["detail"]
    done = erased["done"]
    assert done["records"] == [CUSTOMER, "M" + CUSTOMER]  # the record `tierkit link` joined
    assert set(done["places"]["other_files"]) == {
        "exports/all.csv",
        "exports/all.jsonl",
        "exports/all.parquet",
        "exports/all.xlsx",
        "notes/回访.txt",
    }


def test_a_serving_process_shows_the_erasure_without_a_restart(erased: dict[str, Any]) -> None:
    shop: Shop = erased["shop"]
    served: ServedWorkspace = erased["served"]
    assert erased["before"]["card"]["person"]["name"] == shop.customer["name"]
    # the run: once its lookup file is looked for again, at most `pointer_ttl` after the erasure
    time.sleep(served.settings.pointer_ttl + 0.05)
    row = served.snapshot().table.find(CUSTOMER)
    assert row is not None and row["name"] is None and row["birth_date"] is None
    deadline = time.monotonic() + 10  # the customers' lookup copy: looked at again every 5 s
    card = full_card(served, CUSTOMER, ADMIN)
    while card["person"] and card["person"].get("phone") and time.monotonic() < deadline:
        time.sleep(0.5)
        card = full_card(served, CUSTOMER, ADMIN)
    assert not card["person"] or card["person"].get("phone") is None, card["person"]
    assert card["tier"] == erased["before"]["card"]["tier"]


def test_an_old_file_imported_again_does_not_bring_the_person_back_unsaid(
    erased: dict[str, Any], tmp_path: Path
) -> None:
    shop: Shop = erased["shop"]
    root = tmp_path / "shop"
    shutil.copytree(shop.root, root)
    crm = shop.sources / "crm.csv"
    again = runner.invoke(app, ["import", "customers", str(crm), "-w", str(root)])
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output  # the same bytes: the (erased) part stands
    people = pq.read_table(shop.sources / "customers.parquet").to_pylist()
    # an old export in another file: the person's row clashes with the erased record
    write_crm(people[:200], tmp_path / "crm-2025.csv")
    said = runner.invoke(app, ["import", "customers", str(tmp_path / "crm-2025.csv"), "-w", str(root), "--json"])
    assert said.exit_code == 0, said.output
    summary = json.loads(said.stdout)
    assert summary["erased"] == {"customers": 1, "rows": 0, "set_aside": 1}
    assert summary["notes"] == [
        "1 customer erased before (tierkit forget) is in the customers imported: 1 row set aside in the rejects "
        "file (they clash with the erased record)"
    ]
    # the file imported before, exported again (other bytes, same path): its part is replaced
    shutil.copy(crm, tmp_path / "crm-kept.csv")
    write_crm([*people, {**people[1], "customer_id": "00000301"}], crm)
    try:
        said = runner.invoke(app, ["import", "customers", str(crm), "-w", str(root)])
    finally:
        shutil.copy(tmp_path / "crm-kept.csv", crm)
    assert said.exit_code == 0, said.output
    flat = " ".join(said.output.split())
    assert "replaced" in flat
    assert (
        "note: 1 customer erased before (tierkit forget) is in the customers imported: 1 row kept with their "
        "personal fields blank again" in flat
    )
    rows = [r for r in part_rows(root, CUSTOMER) if r["_source"] == "crm.csv"]
    assert len(rows) == 1 and rows[0]["phone"] is None and rows[0]["name"] is None
    assert json.loads(rows[0]["attributes"]) == {"家庭住址": None, "备注": None, "集团关键人": "否"}
    neighbour = [r for r in part_rows(root, "00000002") if r["_source"] == "crm.csv"]
    assert neighbour[0]["phone"] == people[1]["phone"]  # everybody else imported as given
    assert files_holding(root, [shop.phone, shop.id_number]) == {}
    assert verify(root)["problems"] == []


def test_forget_again_changes_nothing_and_an_unknown_id_is_one_line(erased: dict[str, Any], tmp_path: Path) -> None:
    shop: Shop = erased["shop"]
    root = tmp_path / "shop"
    shutil.copytree(shop.root, root)
    said = runner.invoke(app, ["forget", CUSTOMER, "-w", str(root), "--reason", "again", "--json"])
    assert said.exit_code == 0, said.output
    counts = json.loads(said.stdout)["counts"]
    assert counts == {k: 0 for k in counts}
    unknown = runner.invoke(app, ["forget", "99999999", "-w", str(root), "--reason", "a request"])
    assert isinstance(unknown.exception, TierkitError) and unknown.exception.exit_code == 2
    assert "'99999999' is in no data file, run or store table" in str(unknown.exception)
    blank = runner.invoke(app, ["forget", "00000002", "-w", str(root), "--reason", "  "])
    assert isinstance(blank.exception, TierkitError) and "--reason" in str(blank.exception)
    missing = runner.invoke(app, ["forget", "00000002", "-w", str(root)])
    assert missing.exit_code == 2  # a usage error: --reason is required


# --- the audit log's retention ------------------------------------------------------------------


def _aged_entries(root: Path) -> None:
    store = store_of(Workspace.open(root))
    old = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with store.begin() as con:
        rows = [
            {"at": old, "actor": "a", "role": "agent", "action": "view_card", "target": "00000005", "detail": "r"},
            {"at": old, "actor": "a", "role": "agent", "action": "search", "target": "customers", "detail": "{}"},
            {"at": old, "actor": "root", "role": "cli", "action": "forget", "target": "00000009", "detail": "{}"},
        ]
        con.execute(schema.audit.insert(), rows)


def _actions(root: Path) -> list[str]:
    return [a["action"] for a in store_rows(root)["audit"]]


def test_audit_prune_removes_expired_entries_and_keeps_erasures(
    erased: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(erased["pristine"], root)
    _aged_entries(root)
    before = _actions(root)
    nothing = runner.invoke(app, ["audit", "prune", "-w", str(root)])
    assert isinstance(nothing.exception, TierkitError) and "TIERKIT_AUDIT_RETENTION_DAYS" in str(nothing.exception)
    said = runner.invoke(app, ["audit", "prune", "-w", str(root), "--before", "2025-01-01"])
    assert said.exit_code == 0, said.output
    assert "removed 2 audit entries from before 2025-01-01T00:00:00+00:00" in " ".join(said.output.split())
    after = _actions(root)
    assert len(after) == len(before) - 2 and after.count("forget") == 1  # the old erasure's record stays
    monkeypatch.setenv("TIERKIT_AUDIT_RETENTION_DAYS", "soon")
    bad = runner.invoke(app, ["audit", "prune", "-w", str(root)])
    assert isinstance(bad.exception, TierkitError) and "'soon' is not a whole number of days" in str(bad.exception)
    monkeypatch.setenv("TIERKIT_AUDIT_RETENTION_DAYS", "1")  # today's entries are younger than a day
    kept = runner.invoke(app, ["audit", "prune", "-w", str(root), "--json"])
    assert kept.exit_code == 0 and json.loads(kept.stdout)["removed"] == 0


def test_the_server_prunes_once_a_day(erased: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "shop"
    shutil.copytree(erased["pristine"], root)
    _aged_entries(root)
    assert "audit" in [name for name, _ in TASKS]
    served = ServedWorkspace.open(root)
    try:
        assert prune_due(served) is None  # unset: kept forever
        monkeypatch.setenv("TIERKIT_AUDIT_RETENTION_DAYS", "365")
        assert prune_due(served) == 2
        _aged_entries(root)
        assert prune_due(served) is None  # not again the same day
    finally:
        served.close()


def test_a_demo_shop_loses_the_copies_its_policy_makes(tmp_path: Path) -> None:
    """The demo's flat data files and identification attributes, and a policy that copies the
    name into a metric and reads it in a tag: the copy and its value in `reasons` go, a number
    derived from the birth date (age) and a yes/no flag stay."""
    from tierkit.app.demo import demo
    from tierkit.app.grading import grade_workspace

    root = tmp_path / "demo"
    demo(root, 300, 7, None, "zh")
    policy = root / "policy.yaml"
    text = policy.read_text("utf-8")
    text = text.replace("\nmetrics:\n", '\nmetrics:\n  display_name: {expr: "name"}\n', 1)
    tag = '  - name: named\n    when: "display_name is not null"\n    action: {zh: 称呼姓名, en: Greet by name}\n'
    policy.write_text(text.replace("\ntags:\n", "\ntags:\n" + tag, 1), "utf-8")
    grade_workspace(root)
    person = pq.read_table(root / "data" / "customers.parquet", filters=[("customer_id", "=", CUSTOMER)]).to_pylist()[0]
    before = {r.run_id: pq.read_table(r.result) for r in list_runs(Workspace.open(root))}
    assert files_holding(root, [person["phone"], person["id_number"]])
    assert sum("display_name" in t.column_names for t in before.values()) == 1  # the run graded after the edit
    said = runner.invoke(app, ["forget", CUSTOMER, "-w", str(root), "--reason", "本人要求", "--json"])
    assert said.exit_code == 0, said.output
    assert json.loads(said.stdout)["places"]["data_files"] == {"data/customers.parquet": 1}
    assert files_holding(root, [person["phone"], person["id_number"]]) == {}
    (row,) = pq.read_table(root / "data" / "customers.parquet", filters=[("customer_id", "=", CUSTOMER)]).to_pylist()
    assert [row[k] for k in ("name", "phone", "id_number", "birth_date")] == [None] * 4
    assert row["已参加活动"] is None and row["集团关键人"] == person["集团关键人"]  # text erased, a flag kept
    assert row["gender"] == person["gender"] and row["signup_date"] == person["signup_date"]
    for run_id, old in before.items():
        new = pq.read_table(root / "runs" / run_id / "result.parquet")
        mine = old["customer_id"].to_pylist().index(CUSTOMER)
        was, now = old.slice(mine, 1).to_pylist()[0], new.slice(mine, 1).to_pylist()[0]
        gone = {"name", "birth_date", "已参加活动", "可参加活动", "家庭角色", "display_name", "reasons"}
        assert {k for k in was if was[k] != now[k]} <= gone
        assert now["name"] is None and now["age"] == was["age"] and now["tier"] == was["tier"]
        # lean reasons hold no copy of the person's values (a card rebuilds them from the row)
        assert "values" not in json.loads(now["reasons"]) and now["reasons"] == was["reasons"]
        if "display_name" in was:
            assert was["display_name"] == person["name"] and now["display_name"] is None
        assert new.slice(0, mine).equals(old.slice(0, mine))
    assert verify(root)["problems"] == []


def test_on_postgresql_the_store_keeps_its_rows_with_the_free_text_erased(tmp_path: Path) -> None:
    from sqlalchemy import String, Text, select

    from tests.api.conftest import postgres_database
    from tests.app.privacy_shop import fill_store
    from tierkit.app import workspaces

    url = postgres_database()  # skips without TIERKIT_TEST_PG_URL
    root = tmp_path / "pg"
    workspaces.init(root)
    with (root / "tierkit.yaml").open("a", encoding="utf-8") as config:
        config.write(f"database: {url}\n")
    person = {"customer_id": CUSTOMER, "name": "张三", "phone": "13812345678", "id_number": "110105194912310021"}
    (root / "data" / "customers.csv").write_text(
        "customer_id,name,phone,id_number\n00000001,张三,13812345678,110105194912310021\n00000002,李四,13900001111,\n",
        "utf-8",
    )
    shop = Shop(root, tmp_path, person)
    fill_store(shop)
    said = runner.invoke(app, ["forget", CUSTOMER, "-w", str(root), "--reason", "本人要求", "--json"])
    assert said.exit_code == 0, said.output
    assert json.loads(said.stdout)["places"]["store"] == {
        "contacts": 2,
        "entitlement_uses": 1,
        "complaints": 1,
        "overrides": 1,
        "manual_tags": 1,
        "audit": 2,
    }
    store = store_of(Workspace.open(root))
    texts = []
    with store.connect() as con:
        for table in schema.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if columns:
                texts += [str(v) for row in con.execute(select(*columns)) for v in row if v is not None]
        counts = {t: con.execute(select(schema.metadata.tables[t])).all() for t in ("contacts", "overrides")}
    assert not [t for t in texts if "13812345678" in t or "138****5678" in t or "110105194912310021" in t]
    assert len(counts["contacts"]) == 2 and [o.reason for o in counts["overrides"]] == ["[erased]"]
    assert (root / "data" / "customers.csv").read_text("utf-8").splitlines()[1:] == [
        "00000001,,,",
        "00000002,李四,13900001111,",
    ]


def test_files_by_format_lose_the_person_and_keep_everything_else(tmp_path: Path) -> None:
    """Exports and notes as users keep them: a UTF-16 note, a GBK CSV whose row naming the person
    also holds short numbers, a JSON list; only the person's telling values go."""
    from tierkit.app.erasure_files import Person
    from tierkit.app.erasure_text import scrub_file

    person = Person.of(
        "C1",
        ["C1"],
        {"name": {"张三"}, "phone": {"13812345678"}, "birth_date": {dt.date(1990, 1, 5)}, "attributes": {"3"}},
    )
    note = tmp_path / "note.txt"
    note.write_bytes("回电 13812345678 或 138****5678\n".encode("utf-16"))
    table = tmp_path / "list.csv"
    table.write_bytes(
        "客户编号,姓名,生日,订单数,备注\r\nC1,张三,1990/1/5,3,张三\r\nC2,张三,1990/1/5,3,x\r\n".encode("gbk")
    )
    listed = tmp_path / "list.json"
    listed.write_text(
        json.dumps([{"id": "C1", "name": "张三", "n": 3}, {"id": "C2", "name": "张三"}], ensure_ascii=False)
    )
    for path in (note, table, listed):
        done = scrub_file(path, person)
        assert done is not None and done.changed, path
    assert note.read_bytes().decode("utf-16") == "回电 [erased] 或 [erased]\n"
    assert table.read_bytes().decode("gbk").splitlines() == [
        "客户编号,姓名,生日,订单数,备注",
        "C1,,,3,",  # the person's name, birth date and remark; their 3 orders stay
        "C2,张三,1990/1/5,3,x",  # a namesake is someone else
    ]
    assert json.loads(listed.read_text()) == [{"id": "C1", "name": None, "n": 3}, {"id": "C2", "name": "张三"}]
