"""A shop holding one person's data in every place tierkit keeps it, for the erasure and access
tests: customers imported from a GBK CSV with Chinese headers and free-text columns, a second
system's file joined by `tierkit link`, orders, two runs, the store's free text, exports in four
formats, a GBK note and a review list naming them, and a search audited with the masked phone."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierkit.app import workspaces
from tierkit.app.grading import export, grade_workspace
from tierkit.app.importing import import_files
from tierkit.app.linking import link_workspace
from tierkit.demo.shop import generate
from tierkit.runs.files import store_of
from tierkit.store import complaints, contacts, entitlements, manual_tags, overrides
from tierkit.store.audit import AuditLog
from tierkit.workspace import Workspace

HEADERS = {
    "customer_id": "客户编号",
    "name": "姓名",
    "phone": "手机号码",
    "id_number": "身份证号",
    "birth_date": "出生日期",
    "email": "电子邮箱",
    "gender": "性别",
    "region": "地区",
    "signup_date": "注册日期",
}
CUSTOMER = "00000001"
LATER = dt.datetime(2027, 6, 30, tzinfo=dt.UTC)


@dataclass
class Shop:
    root: Path  # the workspace
    sources: Path  # the files it was imported from
    customer: dict[str, object]  # the person's row as generated

    @property
    def phone(self) -> str:
        return str(self.customer["phone"])

    @property
    def id_number(self) -> str:
        return str(self.customer["id_number"])


def write_crm(rows: list[dict[str, object]], path: Path) -> None:
    """The customers as a CRM exports them: GBK, Chinese headers, an address and a remark."""
    with path.open("w", encoding="gbk", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*HEADERS.values(), "家庭住址", "备注", "集团关键人"])
        for r in rows:
            cells = ["" if r[k] is None else str(r[k]) for k in HEADERS]
            home = f"湖北省武汉市洪山区珞喻路{str(r['customer_id'])[-3:]}号"
            writer.writerow([*cells, home, f"老客户 {r['name']}", "是" if r["集团关键人"] else "否"])


def make_shop(base: Path) -> Shop:
    sources = base / "sources"
    generate(sources, customers=300, seed=7)
    people = pq.read_table(sources / "customers.parquet").to_pylist()
    person = next(r for r in people if r["customer_id"] == CUSTOMER)
    write_crm(people, sources / "crm.csv")
    pacsv.write_csv(pq.read_table(sources / "orders.parquet"), sources / "orders.csv")
    with (sources / "members.csv").open("w", encoding="utf-8", newline="") as out:  # a second system
        writer = csv.writer(out)
        writer.writerow(["会员号", "姓名", "手机", "生日"])
        for r in people[:40]:
            writer.writerow(["M" + str(r["customer_id"]), r["name"], r["phone"], r["birth_date"]])
    root = base / "shop"
    workspaces.init(root)
    import_files(root, "customers", [sources / "crm.csv"])
    import_files(root, "customers", [sources / "members.csv"])
    import_files(root, "orders", [sources / "orders.csv"])
    link_workspace(root)
    grade_workspace(root, as_of="2026-06-30", publish=False)
    grade_workspace(root)
    shop = Shop(root, sources, person)
    fill_store(shop)
    (root / "exports").mkdir()
    for suffix in ("csv", "xlsx", "jsonl", "parquet"):
        export(root, None, root / "exports" / f"all.{suffix}")
    (root / "notes").mkdir()
    note = f"回访名单: {CUSTOMER} {person['name']} 手机 {shop.phone} 身份证 {shop.id_number}\n"
    (root / "notes" / "回访.txt").write_bytes(note.encode("gbk"))
    (root / "data" / "identity" / "review.csv").write_text(  # a pair left to decide, as `link` writes it
        "source_l,customer_id_l,source_r,customer_id_r,match_probability,phone_l,phone_r\n"
        f"crm.csv,{CUSTOMER},members.csv,M00000077,0.71,{shop.phone},13900001111\n",
        "utf-8",
    )
    return shop


def fill_store(shop: Shop) -> None:
    """Free text about the person in every table that takes it, and a search by their phone."""
    store = store_of(Workspace.open(shop.root))
    phone, number = shop.phone, shop.id_number
    contacts.log(store, CUSTOMER, "王芳", "phone", f"客户换了新号码 {phone}，已回电", "reached")
    contacts.log(store, "00000002", "王芳", "phone", f"推荐人是 {CUSTOMER} (手机 {phone})", "reached")
    overrides.set_override(store, CUSTOMER, "vip", f"行长特批，身份证 {number}", LATER, "analyst")
    manual_tags.give(store, CUSTOMER, "集团关键人", "王总的夫人，电话见备注", None, "analyst")
    taken = complaints.take(store, CUSTOMER, "账单有误", "counter", f"客户说身份证号 {number} 被冒用", "agent")
    complaints.resolve(store, taken.id, f"已致电 {phone} 说明")
    entitlements.record(
        store, CUSTOMER, "free_sim", dt.datetime.now(dt.UTC), "agent", None, "vip", f"补卡到 {phone}", None
    )
    log = AuditLog(store)
    masked = phone[:3] + "****" + phone[-4:]
    log.record("agent-user", "agent", "search", "customers", json.dumps({"phone": masked}), now=True)
    detail = {"tier": "vip", "reason": f"行长特批，身份证 {number}", "expires": LATER.isoformat()}
    log.record("analyst", "analyst", "override", CUSTOMER, json.dumps(detail, ensure_ascii=False), now=True)
    log.record("agent-user", "agent", "view_card", CUSTOMER, "a-run-id", now=True)
    log.close()


def checkpoint(root: Path) -> None:
    """SQLite's write-ahead log written back into the database, as any reader may do."""
    con = sqlite3.connect(root / "tierkit.db")
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def forms(value: str) -> list[bytes]:
    """A value and its masked form (138****5678), in UTF-8, GBK and UTF-16."""
    masked = value[:3] + "*" * (len(value) - 7) + value[-4:]
    return [text.encode(enc) for text in (value, masked) for enc in ("utf-8", "gbk", "utf-16-le")]


def files_holding(root: Path, values: list[str]) -> dict[str, list[str]]:
    """Every file of the workspace (the database's too) whose bytes hold one of `values`, in any form."""
    checkpoint(root)
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [v for v in values if any(f in data for f in forms(v))]
        if hits:
            found[path.relative_to(root).as_posix()] = hits
    return found
