"""The README's walkthrough as a new user runs it (issue 12): a look back does not replace the
current run unasked, and a migration reads forwards in time."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("first-hour") / "demo-workspace"
    code, _, err = run("demo", "-w", str(ws), "--customers", "400", "--json")
    assert code == 0, err
    return ws


def _current(ws: Path) -> dict[str, object]:
    return next(r for r in json.loads(run("runs", "-w", str(ws), "--json")[1]) if r["current"])


def test_a_look_back_is_written_but_not_published(demo: Path, tmp_path: Path) -> None:
    before = _current(demo)
    code, _, err = run("grade", "-w", str(demo), "--as-of", "2026-06-30")
    assert code == 0, err
    assert "not published" in err and str(before["as_of"]) in err and "--publish" in err
    assert _current(demo)["run_id"] == before["run_id"]
    # diff previous current reads June -> September: nobody in June is gone by September
    migration = json.loads(run("diff", "previous", "current", "-w", str(demo), "--json")[1])
    assert (migration["as_of_a"], migration["as_of_b"]) == ("2026-06-30", before["as_of"])
    runs = {r["as_of"]: r for r in json.loads(run("runs", "-w", str(demo), "--json")[1])}
    assert not [m for m in migration["matrix"] if m["to"] == "(gone)"]
    assert migration["labels"]["potential"] == "潜在客户"
    assert "潜在客户" in run("diff", "previous", "current", "-w", str(demo))[1]  # the table names tiers by label
    joined = sum(m["customers"] for m in migration["matrix"] if m["from"] == "(new)")
    assert joined == runs[before["as_of"]]["customers"] - runs["2026-06-30"]["customers"] > 0
    # the export is still September's list
    out = tmp_path / "vip.csv"
    assert run("export", "-w", str(demo), "--tier", "vip", "-o", str(out))[0] == 0
    september = pq.read_table(demo / "runs" / str(before["run_id"]) / "result.parquet").to_pylist()
    with out.open(encoding="utf-8") as handle:
        exported = sum(1 for _ in handle) - 1
    assert exported == sum(1 for r in september if r["tier"] == "vip")


def test_publish_makes_a_look_back_current_when_asked(demo: Path) -> None:
    demo_as_of = _current(demo)["as_of"]
    code, out, err = run("grade", "-w", str(demo), "--as-of", "2026-06-30", "--publish", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["published"] and _current(demo)["run_id"] == summary["run_id"]
    code, out, err = run("grade", "-w", str(demo), "--json")  # the default as-of: the last order date
    assert json.loads(out)["published"] and _current(demo)["as_of"] == demo_as_of  # the demo's rule too


def test_a_column_the_file_lacks_makes_its_metrics_unknown_and_is_said_once(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Six orders a month apart and no `discount`, `due_at` or `paid_at` column: before, every
    order counted as not discounted (quality_sensitive fired: share 0 <= 0.1, 6 orders, no price
    questions) and late payments as 0. Unknown now: neither fires, and the notes say why."""
    rows = [
        {"order_id": str(i), "customer_id": "c1", "ordered_at": f"2026-0{i}-10", "amount": "100.00"}
        for i in range(1, 7)
    ]
    orders = write_csv("orders.csv", rows)
    out = tmp_path / "graded.json"
    code, _, err = run(
        "grade", "--orders", str(orders), "--policy", "retail", "--as-of", "2026-06-30", "--output", str(out)
    )
    assert code == 0, err
    graded = json.loads(out.read_text("utf-8"))[0]
    assert graded["discounted_orders_12m"] is None and graded["discounted_share_12m"] is None
    assert graded["late_payments_12m"] is None and graded["orders_12m"] == 6
    assert "quality_sensitive" not in graded["tags"] and "late_payer" not in graded["tags"]
    said = " ".join(err.split())  # the console wraps long lines
    notes = ["has no column" + part.split("note:")[0] for part in said.split("has no column")[1:]]
    discount = next(note for note in notes if "'discount'" in note)
    assert "discounted_orders_12m" in discount and "discounted_share_12m" in discount
    assert "quality_sensitive" in discount and "price_sensitive" in discount
    assert sum("'discount'" in note for note in notes) == 1  # once, whatever reads it
    assert any("'paid_at'" in note and "late_payer" in note for note in notes)


def test_hints_point_the_right_way(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tierkit.errors import TierkitError

    def error(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert isinstance(result.exception, TierkitError), result.output
        return str(result.exception)

    said = error("show", "1", "-w", str(demo))  # an export dropped the leading zeros
    assert "did you mean '00000001'" in said
    monkeypatch.chdir(demo.parent)  # beside the workspace, without -w
    said = error("runs")
    assert "-w DIR" in said and demo.name in said
    pos = tmp_path / "pos.csv"
    pos.write_text("会员卡,下单日期,金额\nA1,2024-01-05,10\n", "utf-8")
    assert "--map '会员卡=customer_id'" in error("grade", "--orders", str(pos), "--output", str(tmp_path / "x.csv"))
    empty = tmp_path / "empty"
    assert run("init", str(empty))[0] == 0
    assert "tierkit import orders" in error("grade", "-w", str(empty))


def test_the_export_a_manager_opens(demo: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "all.xlsx"
    assert run("export", "-w", str(demo), "-o", str(out))[0] == 0
    current = _current(demo)
    graded = pq.read_table(demo / "runs" / str(current["run_id"]) / "result.parquet").to_pylist()
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["汇总", "客户"]  # the workspace speaks zh
    summary = {row[0]: row for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    for label in {r["tier_label"] for r in graded}:
        assert summary[label][1] == sum(1 for r in graded if r["tier_label"] == label)
    assert summary["合计"][1] == len(graded)
    sheet = book["客户"]
    heads = [c.value for c in sheet[1]]
    assert heads[:3] == ["客户编号", "姓名", "手机"] and heads[-2:] == ["依据", "依据 (JSON)"]
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref
    last = openpyxl.utils.get_column_letter(len(heads))
    assert sheet.column_dimensions[last].hidden  # the JSON, for programs
    first = [c.value for c in sheet[2]]
    assert first[heads.index("依据")].startswith("定为") and str(first[2]).startswith("1")  # a sentence; a phone
    out_csv = tmp_path / "all.csv"
    assert run("export", "-w", str(demo), "-o", str(out_csv))[0] == 0
    assert out_csv.read_bytes()[:3] == b"\xef\xbb\xbf"  # Excel opens it as UTF-8


def test_file_mode_grade_reads_a_whitespace_file_with_a_date_format(tmp_path: Path) -> None:
    """--delimiter and --date-format on `grade --output`, as on import (issue 12, item 6)."""
    orders = tmp_path / "orders.txt"
    orders.write_text("1  101   05/01/2024   100.00\n2  102   31/12/2023   5.50\n", "utf-8")  # no header
    maps = ["--map", "column1=order_id", "--map", "column2=customer_id", "--map", "column3=ordered_at"]
    maps += ["--map", "column4=amount"]
    out = tmp_path / "graded.json"
    args = ["grade", "--orders", str(orders), *maps, "--delimiter", "whitespace", "--date-format", "%d/%m/%Y"]
    code, _, err = run(*args, "--policy", "abc", "--as-of", "2024-06-30", "--output", str(out))
    assert code == 0, err
    graded = {r["customer_id"]: r for r in json.loads(out.read_text("utf-8"))}
    assert set(graded) == {"101", "102"}  # 05/01/2024 is 5 January, before the as-of date
    assert graded["101"]["spend_12m"] == 100.0 and graded["102"]["spend_12m"] == 5.5
