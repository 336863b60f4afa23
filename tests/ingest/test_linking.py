"""Identity linking on generated people with typos, traditional characters and changed phones."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.demo.people import make_customers
from tierkit.ingest.identity.keys import name_keys

pytest.importorskip("splink")
runner = CliRunner()
TRADITIONAL = str.maketrans("张陈刘杨黄赵吴郑伟丽红华军国强", "張陳劉楊黃趙吳鄭偉麗紅華軍國強")
PEOPLE, TWINS = 600, 120


def people(tmp_path: Path) -> tuple[Path, set[tuple[str, str]]]:
    """600 people; 120 of them again under a new id, with a new phone and one more change each."""
    rng = np.random.default_rng(7)
    base = make_customers(PEOPLE, rng, dt.date(2026, 9, 30), np.full(PEOPLE, dt.date(2025, 1, 1).toordinal()))
    rows = base.select(["customer_id", "name", "phone", "email", "id_number", "birth_date"]).to_pylist()
    truth = set()
    for i, original in enumerate(rows[:TWINS]):
        twin = dict(original, customer_id=f"9{i:07d}", phone=f"139{i:08d}")  # a new number, a new id
        change = i % 4
        if change == 0:
            twin["name"] = original["name"].translate(TRADITIONAL)  # written in traditional characters
        elif change == 1:
            twin["id_number"] = None  # the second system never had it
        elif change == 2:
            twin["email"] = None
            twin["birth_date"] = None
        else:
            twin["name"] = " ".join(
                reversed([str(t).capitalize() for t in name_keys([original["name"]])["name_key"].to_pylist()])
            )
        rows.append(twin)
        truth.add(tuple(sorted((f"customers.csv|{original['customer_id']}", f"customers.csv|{twin['customer_id']}"))))
    path = tmp_path / "customers.csv"
    pacsv.write_csv(pa.Table.from_pylist(rows), path)
    return path, truth  # type: ignore[return-value]


def test_pinyin_keys_join_traditional_simplified_and_latin() -> None:
    keys = name_keys(["张伟", "張偉", "Zhang Wei", "Wei ZHANG", "欧阳娜娜"]).to_pylist()
    assert [k["name_key"] for k in keys] == ["zhangwei", "zhangwei", "zhangwei", "weizhang", "ouyangnana"]
    assert len({k["name_sorted"] for k in keys[:4]}) == 1


def test_surnames_read_as_surnames() -> None:
    """单 is dan in words and Shan as a surname; 曾 ceng and Zeng; compound surnames whole."""
    names = ["单雄信", "單雄信", "Shan Xiongxin", "曾国藩", "Zeng Guofan", "万俟卨", "萬俟卨", "单独", "单", "尉健行"]
    keys = name_keys(names).to_pylist()
    assert [k["name_key"] for k in keys] == [
        "shanxiongxin",
        "shanxiongxin",  # traditional and simplified still meet
        "shanxiongxin",
        "zengguofan",
        "zengguofan",
        "moqixie",
        "moqixie",
        "shandu",  # a name starting with 单 is a 单 surname
        "dan",  # one character is no surname and given name
        "weijianxing",  # 尉 alone is Wei; Yu only in 尉迟
    ]


def test_link_file_mode_finds_the_twins(tmp_path: Path) -> None:
    path, truth = people(tmp_path)
    out = tmp_path / "persons.csv"
    result = runner.invoke(app, ["link", "customers", str(path), "--output", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] == PEOPLE + TWINS
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {"customer_id", "person_id", "match_probability"} <= set(rows[0])
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["person_id"], []).append(f"customers.csv|{row['customer_id']}")
    found = {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(g, 2)}
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, summary)
    twin = next(r for r in rows if r["customer_id"] == "90000000")
    assert twin["person_id"] == "00000001" and float(twin["match_probability"]) >= 0.95
    assert "id_number" in twin["agreed"]


def test_workspace_link_folds_orders_of_both_ids_into_one_person(tmp_path: Path) -> None:
    path, _ = people(tmp_path)
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,amount\n"
        "1,00000001,2025-09-05,100.00\n"
        "2,90000000,2026-03-05,250.00\n"  # the same person after his phone number changed
        "3,00000002,2026-03-05,40.00\n",
        "utf-8",
    )
    for kind, file in (("customers", path), ("orders", orders)):
        done = runner.invoke(app, ["import", kind, str(file), "-w", str(ws), "--today", "2026-11-29"])
        assert done.exit_code == 0, done.output
    linked = runner.invoke(app, ["link", "-w", str(ws), "--json"])
    assert linked.exit_code == 0, linked.output
    assert json.loads(linked.output)["merged_records"] >= 110
    out = tmp_path / "graded.csv"
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2026-06-30", "--json"])
    assert graded.exit_code == 0, graded.output
    exported = runner.invoke(app, ["export", "-w", str(ws), "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8-sig") as handle:  # CSV exports start with a BOM (for Excel)
        graded_rows = {r["customer_id"]: r for r in csv.DictReader(handle)}
    assert "90000000" not in graded_rows  # folded into its person
    assert float(graded_rows["00000001"]["spend_12m"]) == 350.0  # 100 + 250: both ids count for one person


def test_review_decisions_are_kept_and_applied(tmp_path: Path) -> None:
    path, _ = people(tmp_path)
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "source_l,customer_id_l,source_r,customer_id_r,decision\n"
        "customers.csv,00000001,customers.csv,90000000,different\n"
        "customers.csv,00000003,customers.csv,00000004,same\n",
        "utf-8",
    )
    out = tmp_path / "persons.csv"
    args = ["link", "customers", str(path), "--decisions", str(decisions), "--output", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    with out.open(encoding="utf-8") as handle:
        person = {r["customer_id"]: r["person_id"] for r in csv.DictReader(handle)}
    assert person["90000000"] != person["00000001"]  # a person said they differ
    assert person["00000004"] == person["00000003"] == "00000003"  # and that these are one


def test_workspace_review_round_trip_and_complaints_follow_the_person(tmp_path: Path) -> None:
    path, _ = people(tmp_path)
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\n1,00000001,2026-05-05,100.00\n", "utf-8")
    complaints = tmp_path / "interactions.csv"
    complaints.write_text(
        "interaction_id,customer_id,at,kind\n" + "".join(f"{i},90000000,2026-05-0{i},complaint\n" for i in range(1, 4)),
        "utf-8",
    )
    for kind, file in (("customers", path), ("orders", orders), ("interactions", complaints)):
        assert runner.invoke(app, ["import", kind, str(file), "-w", str(ws), "--today", "2026-11-29"]).exit_code == 0
    # a strict match threshold leaves uncertain pairs for a person to decide
    assert runner.invoke(app, ["link", "-w", str(ws), "--match", "0.999999999"]).exit_code == 0
    listing = tmp_path / "review.csv"
    assert runner.invoke(app, ["link", "review", "-w", str(ws), "--output", str(listing)]).exit_code == 0
    with listing.open(encoding="utf-8-sig", newline="") as handle:
        pending = list(csv.DictReader(handle))
    assert pending and all(row["decision"] == "" for row in pending)
    twins = {"00000001", "90000000"}
    for row in pending:  # the phone-change twin is one person; the rest we call different
        row["decision"] = "same" if {row["customer_id_l"], row["customer_id_r"]} == twins else "different"
    with listing.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(pending[0]))
        writer.writeheader()
        writer.writerows(pending)
    assert runner.invoke(app, ["link", "review", "-w", str(ws), "--decisions", str(listing)]).exit_code == 0
    assert (ws / "data" / "identity" / "decisions.csv").exists()
    again = runner.invoke(app, ["link", "-w", str(ws), "--match", "0.999999999", "--json"])
    assert json.loads(again.output)["review_pairs"] == 0  # decided pairs are not asked again
    assert runner.invoke(app, ["link", "-w", str(ws), "--json"]).exit_code == 0  # default thresholds
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2026-06-30", "--json"])
    assert graded.exit_code == 0, graded.output
    card = runner.invoke(app, ["show", "00000001", "-w", str(ws), "--json"])
    assert card.exit_code == 0, card.output
    shown = json.loads(card.output)
    assert '"complaints_90d": 3' in card.output  # the complaints filed under his new id
    assert "serial_complainer" in json.dumps(shown, ensure_ascii=False)


def test_link_without_names_and_on_clean_copies(tmp_path: Path) -> None:
    rows = ["customer_id,phone,email"] + [f"{i},139{i:08d},u{i}@x.com" for i in range(60)]
    rows += [f"C{i},+86 139-{i:04d}-{0:04d},U{i}@X.COM".replace(f"139-{i:04d}-0000", f"139{i:08d}") for i in range(10)]
    path = tmp_path / "c.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    result = runner.invoke(app, ["link", "customers", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["persons"] == 60  # each C-record is a clean copy of one of the 60


def test_ids_from_two_files_never_share_a_person_by_accident(tmp_path: Path) -> None:
    crm, _ = people(tmp_path)
    with crm.open(encoding="utf-8") as handle:
        first = next(r for r in csv.DictReader(handle) if r["customer_id"] == "00000001")
    shop = tmp_path / "shop.csv"
    stranger = {
        "customer_id": "00000005",
        "name": "欧阳娜娜",
        "phone": "13600000000",
        "email": "",
        "id_number": "",
        "birth_date": "",
    }
    twin = dict(first, customer_id="B7", name=first["name"].translate(TRADITIONAL), email="")
    pacsv.write_csv(pa.Table.from_pylist([stranger, twin]), shop)
    out = tmp_path / "p.csv"
    assert runner.invoke(app, ["link", "customers", str(crm), str(shop), "--output", str(out)]).exit_code == 0
    with out.open(encoding="utf-8") as handle:
        person = {(r["source"], r["customer_id"]): r["person_id"] for r in csv.DictReader(handle)}
    assert person[("customers.csv", "00000005")] != person[("shop.csv", "00000005")]  # same id, two people
    assert person[("shop.csv", "B7")] == person[("customers.csv", "00000001")] == "customers.csv:00000001"


def test_a_person_keeps_their_id_when_a_smaller_id_joins(tmp_path: Path) -> None:
    path, _ = people(tmp_path)
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    assert runner.invoke(app, ["import", "customers", str(path), "-w", str(ws), "--today", "2026-11-29"]).exit_code == 0
    assert runner.invoke(app, ["link", "-w", str(ws)]).exit_code == 0
    with path.open(encoding="utf-8") as handle:
        original = next(r for r in csv.DictReader(handle) if r["customer_id"] == "00000001")
    late = tmp_path / "late.csv"
    pacsv.write_csv(pa.Table.from_pylist([dict(original, customer_id="00000000", phone="13700000000")]), late)
    assert runner.invoke(app, ["import", "customers", str(late), "-w", str(ws), "--today", "2026-11-29"]).exit_code == 0
    assert runner.invoke(app, ["link", "-w", str(ws)]).exit_code == 0
    links = pa.parquet.read_table(ws / "data" / "identity" / "links.parquet").to_pylist()  # type: ignore[attr-defined]
    person = {r["customer_id"]: r["person_id"] for r in links}
    assert person["00000000"] == person["00000001"] == person["90000000"] == "00000001"


def test_a_missing_decisions_file_is_an_error(tmp_path: Path) -> None:
    path, _ = people(tmp_path)
    result = runner.invoke(app, ["link", "customers", str(path), "--decisions", str(tmp_path / "none.csv")])
    assert result.exit_code != 0 and "no such file" in str(result.exception or result.output)


def test_no_duplicates_means_no_merges(tmp_path: Path) -> None:
    """With no duplicates to learn from, EM would find a false 'match' class (same day of birth
    and a common name); training skips it and the model merges nobody."""
    path, _ = people(tmp_path)
    with path.open(encoding="utf-8") as handle:
        originals = [r for r in csv.DictReader(handle) if not r["customer_id"].startswith("9")]
    unique = tmp_path / "unique.csv"
    pacsv.write_csv(pa.Table.from_pylist(originals), unique)
    result = runner.invoke(app, ["link", "customers", str(unique), "--json"])
    summary = json.loads(result.output)
    assert (summary["records"], summary["merged_records"]) == (PEOPLE, 0), summary
