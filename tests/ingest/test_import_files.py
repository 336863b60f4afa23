"""A corpus of nasty files, each made here, each with the exact counts `tierkit import` must give."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierkit.backends import connect
from tierkit.demo.people import GIVEN, SURNAMES
from tierkit.errors import InputError
from tierkit.ingest.imports import ImportResult, import_file
from tierkit.ingest.quarantine import ImportRules

TODAY = dt.date(2026, 11, 29)
COMMON_HANZI = "".join(SURNAMES + GIVEN)
HEADER = "订单号,会员号,下单时间,实付金额,渠道,会员等级"
GOOD = [
    'A1,0012,2024/1/5,"￥1,234.50",门店,金卡',
    "A2,0012,20240106,100元,线上,金卡",
    "A3,00X3,2024年1月7日,-50,线上,",
    "A4,0014,45296,1.2万,=HYPERLINK(1),银卡",
]


def write(path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def run(tmp_path: Path, path: Path, threshold: float = 1.0, **rules: object) -> ImportResult:
    engine = connect("duckdb")
    return import_file(engine, tmp_path / "data", "orders", path, ImportRules(TODAY, threshold=threshold, **rules))  # type: ignore[arg-type]


def imported(result: ImportResult) -> list[dict[str, object]]:
    return duckdb.sql(f"SELECT * FROM '{result.part}' ORDER BY _row").fetch_arrow_table().to_pylist()


def counts(result: ImportResult) -> tuple[int, int, int, int]:
    assert result.read == result.imported + result.rejected + result.duplicates  # nothing is lost
    return result.read, result.imported, result.rejected, result.duplicates


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [
        ("utf-8", "\n"),
        ("utf-8-sig", "\r\n"),
        ("gbk", "\r\n"),
        ("gb18030", "\n"),
        ("utf-16", "\r\n"),
        ("utf-16-le", "\n"),
    ],
)
def test_every_encoding_arrives_byte_exact(tmp_path: Path, encoding: str, newline: str) -> None:
    result = run(tmp_path, write(tmp_path / "o.csv", [HEADER, *GOOD], encoding, newline))
    assert counts(result) == (4, 4, 0, 0) and result.refunds == 1
    rows = imported(result)
    assert [r["customer_id"] for r in rows] == ["0012", "0012", "00X3", "0014"]  # leading zeros, X kept
    assert [str(r["amount"]) for r in rows] == ["1234.50", "100.00", "-50.00", "12000.00"]
    serial = dt.date(2024, 1, 5)  # Excel serial 45296
    assert [r["ordered_at"] for r in rows] == [dt.date(2024, 1, 5), dt.date(2024, 1, 6), dt.date(2024, 1, 7), serial]
    assert rows[3]["channel"] == "=HYPERLINK(1)"  # formula-looking text is data, kept as written
    assert json.loads(str(rows[0]["attributes"])) == {"会员等级": "金卡"}  # unknown columns are kept
    assert result.encoding.replace("-sig", "") in {encoding.replace("-sig", ""), "gb18030", "utf-16", "utf-16-le"}


def test_bad_rows_go_to_the_rejects_file_with_row_column_value_and_reason(tmp_path: Path) -> None:
    lines = [
        HEADER,
        *GOOD,
        "A5,0015,notadate,10,线上,银卡",
        "A6,0016,2030-01-01,10,线上,银卡",
        "A1,0017,2024-01-01,5,线上,银卡",  # repeats A1 with other values
        "A2,0012,20240106,100元,线上,金卡",  # repeats A2 exactly
        "A7,,2024-01-01,5,线上,银卡",
        "A8,0018,2024-01-01,NaN,线上,银卡",
        "A9,0019,2024-01-01,¥,线上,银卡",
    ]
    result = run(tmp_path, write(tmp_path / "o.csv", lines))
    assert counts(result) == (11, 4, 6, 1)
    with open(str(result.rejects_file), encoding="utf-8-sig", newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["row"], r["column"], r["value"], r["reason"]) for r in rejects] == [
        ("5", "下单时间", "notadate", "not a valid date"),
        ("6", "下单时间", "2030-01-01", "in the future (after 2026-11-29)"),
        ("7", "订单号", "A1", "order_id repeats row 1 with other values"),
        ("9", "会员号", "", "empty, and orders need it"),
        ("10", "实付金额", "NaN", "not a valid decimal"),
        ("11", "实付金额", "¥", "not a valid decimal"),
    ]
    assert {r["file"] for r in rejects} == {str(tmp_path / "o.csv")}


def test_above_the_threshold_nothing_is_imported(tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", [HEADER, *GOOD, "A5,0015,notadate,10,线上,银卡"])
    with pytest.raises(InputError, match=r"1 of 5 rows rejected \(20.0%, above the 1.0% limit\); nothing imported"):
        run(tmp_path, path, threshold=0.01)
    assert not (tmp_path / "data" / "orders").exists()
    assert run(tmp_path, path, threshold=0.2).imported == 4  # at the limit is fine


def test_refunds_can_be_rejected(tmp_path: Path) -> None:
    result = run(tmp_path, write(tmp_path / "o.csv", [HEADER, *GOOD]), refunds=False)
    assert counts(result) == (4, 3, 1, 0) and result.refunds == 0


def test_same_file_twice_changes_nothing_and_a_changed_file_replaces_its_part(tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", [HEADER, *GOOD])
    first = run(tmp_path, path)
    stamp = Path(first.part).stat().st_mtime_ns
    again = run(tmp_path, path)
    assert again.status == "unchanged" and Path(first.part).stat().st_mtime_ns == stamp
    copy = write(tmp_path / "copy.csv", [HEADER, *GOOD])
    assert run(tmp_path, copy).status == "unchanged"  # the same bytes under another name
    changed = run(tmp_path, write(tmp_path / "o.csv", [HEADER, *GOOD[:2]]))
    assert changed.status == "replaced" and counts(changed) == (2, 2, 0, 0)
    assert len(imported(changed)) == 2 and len(list((tmp_path / "data" / "orders").glob("*.parquet"))) == 1


def test_ids_already_imported_from_another_file(tmp_path: Path) -> None:
    run(tmp_path, write(tmp_path / "jan.csv", [HEADER, *GOOD]))
    result = run(
        tmp_path,
        write(tmp_path / "feb.csv", [HEADER, GOOD[0], "A2,0099,2024-02-01,1,线上,", "B1,0099,2024-02-01,1,线上,"]),
    )
    assert counts(result) == (3, 1, 1, 1)
    with open(str(result.rejects_file), encoding="utf-8-sig") as handle:
        assert "order_id already imported from jan.csv with other values" in handle.read()


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_sniffed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    lines = [line.replace(",", delimiter) for line in [HEADER, "A1,0012,2024-01-05,1234.50,门店,金卡"]]
    result = run(tmp_path, write(tmp_path / "o.txt", lines))
    assert counts(result) == (1, 1, 0, 0) and str(imported(result)[0]["amount"]) == "1234.50"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (HEADER.encode() + b"\n", "no data rows"),
        (b"order_id,customer_id,customer_id\n1,2,3\n", "column 'customer_id' appears 2 times in the header"),
        (HEADER.encode() + b"\nA1,0012,2024-01-05\n", r"row 1 \(line 2\) has 3 fields, the header has 6"),
        (b"PK\x03\x04rest", "this is an Excel workbook"),
        (b"order_id,customer_id\x01\x02,ordered_at,amount\n", "line 1: control character U\\+0001"),
        (b"\x81\x30\xff\xff,a\n", "not UTF-8, GBK/GB18030 or UTF-16 text"),
        (b"\xef\xbb\xbf", "only a byte-order mark"),
        ("customer_id,name,city\nC1,Müller,Zürich\nC2,Möller,Düsseldorf\n".encode("latin-1"), "Latin-1"),
    ],
)
def test_files_that_must_fail_whole(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        run(tmp_path, path)
    assert not (tmp_path / "data" / "orders").exists()


def test_excel_sheets_by_name_and_index(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "说明"
    sheet.append(["this sheet is notes"])
    data = book.create_sheet("订单")
    data.append(["订单号", "会员号", "下单时间", "实付金额", "手机"])
    data.append(["A1", "0012", dt.datetime(2024, 1, 5), 1234.5, 13800138000])
    data.append(["A2", "0013", 45297, "￥99", None])
    data.append([None, None, None, None, None])  # a blank line inside the used range
    path = tmp_path / "o.xlsx"
    book.save(path)
    engine = connect("duckdb")
    for sheet_ref in ("订单", "1"):
        result = import_file(engine, tmp_path / f"data{sheet_ref}", "orders", path, ImportRules(TODAY), sheet=sheet_ref)
        rows = imported(result)
        assert counts(result) == (2, 2, 0, 0)
        assert [r["ordered_at"] for r in rows] == [dt.date(2024, 1, 5), dt.date(2024, 1, 6)]
        assert [str(r["amount"]) for r in rows] == ["1234.50", "99.00"]
        assert json.loads(str(rows[0]["attributes"])) == {"手机": "13800138000"}  # never 1.38e10
    with pytest.raises(InputError, match="no sheet named 'x' \\(sheets: 说明, 订单\\)"):
        import_file(engine, tmp_path / "data", "orders", path, ImportRules(TODAY), sheet="x")


def test_import_command_json_and_grading_reads_the_parts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tierkit.cli.app import app

    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    gbk = write(tmp_path / "orders-gbk.csv", [HEADER, *GOOD, "A5,0015,notadate,10,线上,银卡"], "gbk", "\r\n")
    args = ["import", "orders", str(gbk), "-w", str(ws), "--today", "2026-11-29", "--threshold", "0.5", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert {k: summary[k] for k in ("read", "imported", "rejected", "duplicates")} == {
        "read": 5,
        "imported": 4,
        "rejected": 1,
        "duplicates": 0,
    }
    rejects = Path(summary["rejects_file"])
    assert rejects.parent == (ws / "data" / "rejects" / "orders").resolve()
    assert rejects.name.startswith("orders-gbk.csv-") and rejects.name.endswith(".rejects.csv")
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--json", "--as-of", "2024-06-30"])
    assert graded.exit_code == 0, graded.output
    assert json.loads(graded.output)["customers"] == 3  # 0012, 00X3, 0014


def test_file_mode_reads_gbk_and_excel_like_import(tmp_path: Path) -> None:
    from tierkit.app.grading import grade

    gbk = write(tmp_path / "o.csv", [HEADER, *GOOD], "gbk", "\r\n")
    result = grade(orders=gbk, policy="abc", as_of="2024-06-30")
    assert sorted(result.table["customer_id"].to_pylist()) == ["0012", "0014", "00X3"]


def test_the_policy_says_how_inputs_are_read(tmp_path: Path) -> None:
    """`inputs:` in the policy: column maps, refunds off, and the time zone, used by import."""
    from typer.testing import CliRunner

    from tierkit.cli.app import app

    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    policy = ws / "policy.yaml"
    policy.write_text(
        policy.read_text("utf-8")
        + "inputs:\n  refunds: false\n  timezone: UTC\n  columns:\n    orders: {卡号: customer_id}\n",
        "utf-8",
    )
    path = write(
        tmp_path / "o.csv",
        ["单号,卡号,下单时间,金额", "A1,001,2024-01-05T23:30:00Z,10", "A2,002,2024-01-05T23:30:00Z,-5"],
    )
    result = runner.invoke(app, ["import", "orders", str(path), "-w", str(ws), "--threshold", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["imported"], summary["rejected"]) == (1, 1)  # the refund is rejected by the policy
    row = imported(ImportResult(**{**summary["files"][0]}))[0]
    assert row["customer_id"] == "001" and row["ordered_at"] == dt.date(2024, 1, 5)  # UTC, not +08:00
    flag = runner.invoke(app, ["import", "orders", str(path), "-w", str(ws), "--refunds", "--json"])
    again = json.loads(flag.output)
    assert (again["files"][0]["status"], again["imported"]) == ("replaced", 2)  # the flag wins over the policy


def test_policy_inputs_are_checked() -> None:
    from tierkit.errors import PolicyError
    from tierkit.policy.loader import load_policy, parse_policy

    with pytest.raises(PolicyError, match="'amout' is not a column of orders \\(did you mean 'amount'\\?\\)"):
        parse_policy(
            "name: x\nprimary: a\nscores: {a: {type: abc, by: m}}\nmetrics: {m: {sum: amount}}\n"
            "inputs: {columns: {orders: {金额: amout}}}\n",
            "p.yaml",
        )
    with pytest.raises(PolicyError, match="not a UTC offset"):
        parse_policy(
            "name: x\nprimary: a\nscores: {a: {type: abc, by: m}}\nmetrics: {m: {sum: amount}}\n"
            "inputs: {timezone: Beijing}\n",
            "p.yaml",
        )
    assert load_policy("retail").policy.inputs.offset == 480


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.text(
            # common Chinese (GB2312, what real exports hold), Latin, punctuation and CSV's own characters
            alphabet=st.sampled_from(list("张偉李娜王芳abcXYZ019 ,;\"'=+-¥元\t" + COMMON_HANZI)),
            min_size=1,
            max_size=12,
        ).filter(lambda t: t.strip() == t and t.strip() and "\r" not in t and "\n" not in t and "\x00" not in t),
        min_size=1,
        max_size=6,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
)
def test_text_survives_any_encoding_byte_exact(tmp_path: Path, cells: list[str], encoding: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example
    lines = ["订单号,会员号,下单时间,实付金额,渠道"]
    for i, cell in enumerate(cells):
        quoted = '"' + cell.replace('"', '""') + '"'
        lines.append(f"A{i},{i:04d},2024-01-05,1,{quoted}")
    result = run(folder, write(folder / "o.csv", lines, encoding, "\r\n"))
    assert counts(result) == (len(cells), len(cells), 0, 0)
    assert [r["channel"] for r in imported(result)] == cells


def test_same_name_in_two_folders_are_two_sources(tmp_path: Path) -> None:
    (tmp_path / "jan").mkdir()
    (tmp_path / "feb").mkdir()
    jan = run(tmp_path, write(tmp_path / "jan" / "orders.csv", [HEADER, *GOOD[:2]]))
    feb = run(tmp_path, write(tmp_path / "feb" / "orders.csv", [HEADER, *GOOD[2:]]))
    assert (jan.status, feb.status) == ("imported", "imported") and jan.part != feb.part
    assert len(list((tmp_path / "data" / "orders").glob("*.parquet"))) == 2


def test_a_deleted_part_or_new_settings_import_again(tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", [HEADER, *GOOD])
    first = run(tmp_path, path)
    Path(first.part).unlink()
    assert run(tmp_path, path).status == "replaced" and Path(first.part).exists()
    assert run(tmp_path, path, refunds=False).status == "replaced"  # other settings, other result


def test_map_beats_the_synonyms(tmp_path: Path) -> None:
    path = write(tmp_path / "o.csv", ["订单号,会员号,下单时间,实付金额,订单金额", "A1,001,2024-01-05,90,100"])
    with pytest.raises(InputError, match="both mean amount"):
        run(tmp_path, path)
    engine = connect("duckdb")
    chosen = import_file(engine, tmp_path / "data", "orders", path, ImportRules(TODAY), maps={"订单金额": "amount"})
    row = imported(chosen)[0]
    assert str(row["amount"]) == "100.00" and json.loads(str(row["attributes"])) == {"实付金额": "90"}


def test_decimal_commas_are_not_thousands(tmp_path: Path) -> None:
    lines = [
        HEADER,
        'A1,001,2024-01-05,"12,50",门店,',
        'A2,002,2024-01-05,"1.234,50",门店,',
        'A3,003,2024-01-05,"12,345.60",门店,',
    ]
    result = run(tmp_path, write(tmp_path / "o.csv", lines))
    assert counts(result) == (3, 1, 2, 0) and str(imported(result)[0]["amount"]) == "12345.60"


def test_excel_zero_padded_ids_and_sheets_named_by_digits(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "2023"
    book.active.append(["nothing"])
    sheet = book.create_sheet("2024")
    sheet.append(["订单号", "会员号", "下单时间", "实付金额"])
    sheet.append(["A1", 12, "2024-01-05", 5])
    sheet["B2"].number_format = "000000"
    path = tmp_path / "o.xlsx"
    book.save(path)
    result = import_file(connect("duckdb"), tmp_path / "data", "orders", path, ImportRules(TODAY), sheet="2024")
    assert imported(result)[0]["customer_id"] == "000012"  # as Excel shows it


def test_rows_set_aside_come_back_when_the_file_that_held_them_lets_them_go(tmp_path: Path) -> None:
    """jan holds A1 and A2; feb repeats A2 (same values: a duplicate) and A1 (other values: a
    reject). A new jan without A1 and A2 makes feb's rows the only copies: they are imported."""
    from typer.testing import CliRunner

    from tierkit.cli.app import app

    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0

    def load(path: Path) -> dict[str, object]:
        args = ["import", "orders", str(path), "-w", str(ws), "--today", "2026-11-29", "--threshold", "0.5", "--json"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)  # type: ignore[no-any-return]

    jan = write(tmp_path / "jan.csv", [HEADER, *GOOD])
    feb = write(tmp_path / "feb.csv", [HEADER, GOOD[1], "A1,0012,2024-02-01,1,线上,", "B1,0099,2024-02-01,1,线上,"])
    load(jan)
    first = load(feb)
    assert (first["imported"], first["rejected"], first["duplicates"]) == (1, 1, 1)

    write(jan, [HEADER, GOOD[2], GOOD[3]])
    again = load(jan)
    assert (again["read"], again["imported"]) == (2, 2)  # totals are the files given
    rechecked = [f for f in again["files"] if f["status"] == "rechecked"]  # type: ignore[union-attr]
    assert [(f["file"], f["imported"], f["rejected"], f["duplicates"]) for f in rechecked] == [
        (str(feb.resolve()), 3, 0, 0)
    ]
    rows = duckdb.sql(
        f"SELECT order_id, count(*), min(_source) FROM '{ws / 'data' / 'orders'}/*.parquet' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("A1", 1, "feb.csv"),
        ("A2", 1, "feb.csv"),
        ("A3", 1, "jan.csv"),
        ("A4", 1, "jan.csv"),
        ("B1", 1, "feb.csv"),
    ]

    feb.unlink()
    write(jan, [HEADER, GOOD[3]])
    gone = load(jan)
    notes = [f for f in gone["files"] if f["status"] == "not rechecked"]  # type: ignore[union-attr]
    assert notes == []  # feb set nothing aside any more: nothing to restore, nothing to warn about
    write(tmp_path / "mar.csv", [HEADER, GOOD[3], "C1,0099,2024-03-01,1,线上,"])
    assert load(tmp_path / "mar.csv")["duplicates"] == 1  # A4 again: a duplicate of jan's
    (tmp_path / "mar.csv").unlink()
    write(jan, [HEADER, "A9,0012,2024-03-01,5,线上,"])
    last = load(jan)
    notes = [f for f in last["files"] if f["status"] == "not rechecked"]  # type: ignore[union-attr]
    assert len(notes) == 1 and "no longer there" in notes[0]["error"]


ASCII_HEADER = "order_id,customer_id,ordered_at,amount,channel,level"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_chinese_text_first_seen_past_the_first_megabyte(tmp_path: Path, encoding: str) -> None:
    """An export whose first megabyte is ids, dates and amounts only: the encoding is decided where
    the text is, not guessed from the ASCII part."""
    plain = [f"P{i},{i % 97:04d},2024-01-05,12.50,web," for i in range(40_000)]  # about 1.2 MB
    rows = [ASCII_HEADER, *plain, "Z1,0012,2024-01-06,8.00,门店,金卡", "Z2,0013,2024-01-07,9.00,线上,银卡"]
    path = write(tmp_path / f"late-{encoding}.csv", rows, encoding)
    assert path.stat().st_size > (1 << 20)
    result = run(tmp_path, path)
    assert counts(result) == (40_002, 40_002, 0, 0)
    tail = [r for r in imported(result) if str(r["order_id"]).startswith("Z")]
    assert [(r["channel"], json.loads(str(r["attributes"]))["level"]) for r in tail] == [
        ("门店", "金卡"),
        ("线上", "银卡"),
    ]
    assert result.encoding == ("gb18030" if encoding == "gbk" else "utf-8")


def test_latin1_text_past_the_first_megabyte_is_refused(tmp_path: Path) -> None:
    plain = [f"P{i},{i % 97:04d},2024-01-05,12.50,web," for i in range(40_000)]
    path = write(tmp_path / "latin1.csv", [ASCII_HEADER, *plain, "Z1,0012,2024-01-06,8.00,Müller Straße,"], "latin-1")
    with pytest.raises(InputError, match="Western encoding"):
        run(tmp_path, path)


def test_grade_file_mode_takes_map_and_sheet_like_import(tmp_path: Path) -> None:
    """`tierkit grade --orders book.xlsx --sheet 订单 --map 付款账号=customer_id`: the same reading as
    `tierkit import`, with no workspace."""
    from typer.testing import CliRunner

    from tierkit.cli.app import app

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["notes"])
    data = book.create_sheet("订单")
    data.append(["单据", "付款账号", "下单时间", "实付金额"])  # 付款账号 is no synonym of customer_id
    data.append(["A1", "0012", dt.datetime(2024, 1, 5), 100])
    data.append(["A2", "0013", dt.datetime(2024, 2, 5), 50])
    path = tmp_path / "book.xlsx"
    book.save(path)
    out = tmp_path / "graded.csv"
    runner = CliRunner()
    base = ["grade", "--orders", str(path), "--policy", "abc", "--as-of", "2024-06-30", "--output", str(out), "--json"]

    done = runner.invoke(app, [*base, "--sheet", "订单", "--map", "付款账号=customer_id"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["customers"] == 2
    with out.open(encoding="utf-8") as handle:
        assert sorted(row["customer_id"] for row in csv.DictReader(handle)) == ["0012", "0013"]

    cases = {
        ("--sheet", "订单"): "missing required column 'customer_id'",  # without the map
        ("--sheet", "订单", "--map", "卖家=customer_id"): "'卖家', which no input file has (columns: 单据, 付款账号,",
        ("--sheet", "订单", "--map", "付款账号=customer"): "'customer' is not a column of any table (did you mean",
        ("--sheet", "x", "--map", "付款账号=customer_id"): "no sheet named 'x'",
    }
    for extra, message in cases.items():
        failed = runner.invoke(app, [*base, *extra])
        assert isinstance(failed.exception, InputError) and message in str(failed.exception), (extra, failed.output)
    assert not list(tmp_path.glob(".graded.csv*")) and not list(tmp_path.glob(".tierkit-*"))  # no half files
    csv_orders = write(tmp_path / "o.csv", [HEADER, *GOOD])
    failed = runner.invoke(app, [*base[:2], str(csv_orders), *base[3:], "--sheet", "订单"])
    assert isinstance(failed.exception, InputError) and "no input file is an Excel workbook" in str(failed.exception)
    phones = write(tmp_path / "p.csv", ["单据,付款账号,下单时间,实付金额,手机", "A1,0012,2024-01-05,100,13800138000"])
    failed = runner.invoke(
        app, [*base[:2], str(phones), *base[3:], "--map", "付款账号=customer_id", "--map", "手机=phone"]
    )
    assert "phone is a column of customers, and no customers file given has a column '手机'" in str(failed.exception)
    macro = path.with_suffix(".xlsm")
    macro.write_bytes(path.read_bytes())
    done = runner.invoke(app, [*base[:2], str(macro), *base[3:], "--sheet", "订单", "--map", "付款账号=customer_id"])
    assert done.exit_code == 0, done.output


def test_a_character_across_the_first_megabyte_and_late_bad_bytes(tmp_path: Path) -> None:
    """GBK 中 (d6 d0) straddling the first megabyte is still GBK; bytes that are neither UTF-8 nor
    GBK past it are named by their line."""
    line = b"P1,0001,2024-01-05,12.50,web,\n"
    rows = b"".join(b"P%d,0001,2024-01-05,12.50,web,\n" % i for i in range(((1 << 20) - 200) // len(line)))
    body = ASCII_HEADER.encode() + b"\n" + rows[: (1 << 20) - 300]
    body = body[: body.rindex(b"\n") + 1]
    start = b"Z0,0002,2024-01-06,8.00,"
    body += start + b"x" * ((1 << 20) - 1 - len(body) - len(start))  # 中 then starts at the sample's last byte
    straddle = tmp_path / "straddle.csv"
    straddle.write_bytes(body + "中,\n".encode("gbk"))
    assert (straddle.read_bytes().index("中".encode("gbk"))) == (1 << 20) - 1
    result = run(tmp_path, straddle)
    assert result.encoding == "gb18030" and result.imported == result.read

    bad = tmp_path / "bad.csv"
    plain = ASCII_HEADER.encode() + b"\n" + line * 40_000
    bad.write_bytes(
        plain + "Z1,0012,2024-01-06,8.00,门店,\n".encode("gbk") + b"Z2,0012,2024-01-06,8.00,\x81\x30\xff\xff,\n"
    )
    with pytest.raises(
        InputError, match=r"line 40003: bytes that are not UTF-8, GBK/GB18030 or UTF-16 text \(81 30 ff ff\)"
    ):
        run(tmp_path, bad)


class Shop:
    """A workspace and `tierkit import orders` over CLI arguments, for the recheck cases."""

    def __init__(self, root: Path) -> None:
        from typer.testing import CliRunner

        from tierkit.cli.app import app

        self.root, self.app, self.runner = root, app, CliRunner()
        self.ws = root / "ws"
        assert self.runner.invoke(app, ["init", str(self.ws)]).exit_code == 0

    def file(self, name: str, *rows: str) -> Path:
        return write(self.root / name, ["order_id,customer_id,ordered_at,amount", *rows])

    def load(self, *paths: Path) -> dict[str, Any]:
        args = ["import", "orders", *map(str, paths), "-w", str(self.ws), "--today", "2026-11-29"]
        result = self.runner.invoke(self.app, [*args, "--threshold", "1", "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)  # type: ignore[no-any-return]

    def held(self) -> list[tuple[str, str, str]]:
        """(order_id, amount, file) of every imported row."""
        parts = f"{self.ws / 'data' / 'orders'}/*.parquet"
        rows = duckdb.sql(f"SELECT order_id, CAST(amount AS VARCHAR), _source FROM '{parts}' ORDER BY 1, 3")
        return rows.fetchall()  # type: ignore[return-value]


def statuses(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [(Path(f["file"]).name, f["status"]) for f in summary["files"]]


def test_recheck_two_files_replaced_in_one_command(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    a, b = shop.file("A.csv", "X1,c1,2024-01-01,10", "X2,c1,2024-01-02,20"), shop.file("B.csv", "X2,c1,2024-01-02,20")
    shop.load(a, b)
    shop.file("A.csv", "X1,c1,2024-01-01,10")
    shop.file("B.csv", "X2,c1,2024-01-02,20", "B3,c2,2024-01-03,30")
    summary = shop.load(b, a)  # B is judged against the old A, then A lets X2 go
    assert statuses(summary) == [("B.csv", "rechecked"), ("A.csv", "replaced")]
    assert summary["files"][0]["imported"] == 2 and summary["imported"] == 3  # totals: the final state
    assert shop.held() == [("B3", "30.00", "B.csv"), ("X1", "10.00", "A.csv"), ("X2", "20.00", "B.csv")]


def test_recheck_goes_in_import_order_and_only_after_ids_are_let_go(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    a = shop.file("A.csv", "X1,c1,2024-01-01,10", "X2,c1,2024-01-02,20")
    c = shop.file("C.csv", "X2,c1,2024-01-02,20", "C1,c3,2024-01-04,5")  # imported second: a duplicate
    b = shop.file("B.csv", "X2,c1,2024-01-02,77", "B1,c2,2024-01-03,1")  # third: other values, a reject
    for path in (a, c, b):
        shop.load(path)
    shop.file("A.csv", "X1,c1,2024-01-01,11", "X2,c1,2024-01-02,20")  # the same ids: nothing to look at again
    assert statuses(shop.load(a)) == [("A.csv", "replaced")]
    shop.file("A.csv", "X3,c1,2024-01-05,1")  # lets X1 and X2 go: C, imported before B, gets X2
    summary = shop.load(a)
    assert statuses(summary) == [("A.csv", "replaced"), ("C.csv", "rechecked"), ("B.csv", "rechecked")]
    assert [f["rejected"] for f in summary["files"][1:]] == [0, 1]
    assert ("X2", "20.00", "C.csv") in shop.held() and ("X2", "77.00", "B.csv") not in shop.held()


def test_a_file_older_tierkit_recorded_is_imported_again_when_given(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    a, b = shop.file("A.csv", "X1,c1,2024-01-01,10", "X2,c1,2024-01-02,20"), shop.file("B.csv", "X2,c1,2024-01-02,20")
    shop.load(a)
    shop.load(b)
    registry = shop.ws / "data" / "imports.json"
    entries = json.loads(registry.read_text("utf-8"))
    for entry in entries["orders"].values():
        entry.pop("settings"), entry.pop("seq")  # as the previous version wrote it
    registry.write_text(json.dumps(entries), "utf-8")
    shop.file("A.csv", "X1,c1,2024-01-01,10")
    summary = shop.load(a)
    assert statuses(summary) == [("A.csv", "replaced"), ("B.csv", "not rechecked")]
    assert "older tierkit" in summary["files"][1]["error"]
    again = shop.load(b)  # the same bytes and settings, but what it set aside may be free now
    assert statuses(again) == [("B.csv", "replaced")] and again["imported"] == 1
    assert ("X2", "20.00", "B.csv") in shop.held()
    assert statuses(shop.load(b)) == [("B.csv", "unchanged")]  # and now it stands


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_holding_mostly_chinese(tmp_path: Path, encoding: str) -> None:
    """Few ASCII characters means few NUL bytes; they are still all on one side, and the text
    reads as clean UTF-16 (一 = U+4E00 puts a NUL on the other side now and then)."""
    remark = "顾客来电询问一号店的会员积分兑换规则并要求下次到店时由店长亲自接待" * 2
    rows = ["订单号,会员号,下单时间,实付金额,渠道,备注", f"甲一,一〇一,2024年1月5日,一百元,门店,{remark}"]
    rows += [f"乙{i},张三丰,2024年1月6日,{i}元,线上,{remark}" for i in range(1, 4)]
    path = write(tmp_path / f"{encoding}.csv", rows, encoding, "\r\n")
    data = path.read_bytes()
    assert data[:2] not in (b"\xff\xfe", b"\xfe\xff") and data.count(0) < len(data) // 4  # few NULs
    result = run(tmp_path, path)
    assert result.encoding == encoding
    assert counts(result) == (4, 3, 1, 0)  # 一百元 is not an amount: rejected, with its row
    assert [r["channel"] for r in imported(result)] == ["线上"] * 3


@pytest.mark.parametrize(
    "content",
    [
        b"customer_id,ordered_at,amount\na,2024-01-01,1\x00\nb,2024-01-02,2\n",
        "客户,日期,金额\n张\x00三,2024-01-01,3\n".encode(),
    ],
)
def test_a_stray_nul_is_not_taken_for_utf16(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="line 2: control character U\\+0000"):
        run(tmp_path, path)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_whose_characters_bring_nuls_of_their_own(tmp_path: Path, encoding: str) -> None:
    """一 (U+4E00), 开, 最, the ideographic space and emoji put NULs on the other side of the
    character, sometimes more than the ASCII characters do; the text still reads as UTF-16."""
    from tierkit.tables.encodings import detect

    rows = ["会员号,备注"] + [
        "张伟,第一次到店开卡",
        "王芳,最近一个月没来",
        "李一,一一一开开开最最\u3000",
        "赵六,😀😀😀一次",
    ] * 2
    path = write(tmp_path / "remarks.csv", rows, encoding, "\r\n")
    assert detect(path) == encoding


def test_recheck_happens_before_files_given_after_the_release(tmp_path: Path) -> None:
    """`import A' D`: A' lets X go; B, imported before C and D, gets it, not D given later."""
    shop = Shop(tmp_path)
    a = shop.file("A.csv", "X,c1,2024-01-01,1", "K,c1,2024-01-02,2")
    b, c = shop.file("B.csv", "X,c2,2024-01-01,2", "B1,c2,2024-01-03,3"), shop.file("C.csv", "X,c3,2024-01-01,3")
    for path in (a, b, c):
        shop.load(path)
    shop.file("A.csv", "K,c1,2024-01-02,2")
    d = shop.file("D.csv", "X,c4,2024-01-01,4", "D1,c4,2024-01-03,5")
    summary = shop.load(a, d)
    assert statuses(summary) == [
        ("A.csv", "replaced"),
        ("D.csv", "imported"),
        ("B.csv", "rechecked"),
        ("C.csv", "rechecked"),
    ]
    assert ("X", "2.00", "B.csv") in shop.held()
    assert [f["rejected"] for f in summary["files"]] == [0, 1, 0, 1]
    assert statuses(shop.load(b)) == [("B.csv", "unchanged")]  # rechecked, it stands as it is
    twice = shop.load(d, d)
    assert statuses(twice) == [("D.csv", "unchanged")] and twice["read"] == 2


def test_a_file_that_fails_now_is_not_rechecked_with_its_old_settings(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    shop = Shop(tmp_path)
    a = shop.file("A.csv", "X,c1,2024-01-01,1", "K,c1,2024-01-02,2")
    b = shop.file("B.csv", "X,c2,2024-01-01,2", "B1,c2,2024-01-03,3", "B2,c2,notadate,3")
    shop.load(a)
    shop.load(b)  # threshold 1: X and B2 rejected
    shop.file("A.csv", "K,c1,2024-01-02,2")
    args = ["import", "orders", str(b), str(a), "-w", str(shop.ws), "--today", "2026-11-29", "--threshold", "0"]
    result = CliRunner().invoke(shop.app, [*args, "--json"])
    summary = json.loads(result.output)
    assert statuses(summary) == [("B.csv", "failed"), ("A.csv", "replaced")] and summary["failed"] == 1
    assert ("X", "2.00", "B.csv") not in shop.held()  # B still stands as imported with threshold 1


def test_entries_written_before_seq_are_rechecked_in_the_order_they_were_imported(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    h = shop.file("H.csv", "X,c1,2024-01-01,1", "K,c1,2024-01-02,2")
    z, a = shop.file("zB.csv", "X,cz,2024-01-01,9"), shop.file("aC.csv", "X,ca,2024-01-01,8")
    for path in (h, z, a):  # zB before aC: the path order says otherwise
        shop.load(path)
    registry = shop.ws / "data" / "imports.json"
    entries = json.loads(registry.read_text("utf-8"))
    for entry in entries["orders"].values():
        entry["imported_at"] = f"2026-01-0{entry.pop('seq')}T00:00:00+00:00"  # as an older version wrote it
    registry.write_text(json.dumps(entries), "utf-8")
    shop.file("H.csv", "K,c1,2024-01-02,2")
    assert statuses(shop.load(h)) == [("H.csv", "replaced"), ("zB.csv", "rechecked"), ("aC.csv", "rechecked")]
    assert ("X", "9.00", "zB.csv") in shop.held()


def test_a_rechecked_file_keeps_its_place_when_imported_again_unchanged(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    a = shop.file("a.csv", "W,c1,2024-01-01,1", "V,c1,2024-01-02,2")
    b = shop.file("b.csv", "W,c1,2024-01-01,1", "V,c1,2024-01-02,2", "B,c2,2024-01-03,3")
    c = shop.file("c.csv", "W,c1,2024-01-01,1", "C,c3,2024-01-03,3")
    for path in (a, b, c):
        shop.load(path)
    shop.file("a.csv", "W,c1,2024-01-01,1")
    shop.load(a)  # lets V go: b gets it
    assert statuses(shop.load(b)) == [("b.csv", "unchanged")]
    shop.file("a.csv", "A,c1,2024-01-04,4")
    shop.load(a)  # lets W go: b, imported before c, gets it
    assert ("W", "1.00", "b.csv") in shop.held() and ("W", "1.00", "c.csv") not in shop.held()


def test_a_release_is_not_forgotten_for_a_file_that_could_not_be_looked_at(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    shop = Shop(tmp_path)
    a = shop.file("a.csv", "X,c1,2024-01-01,1", "Y,c1,2024-01-02,2")
    b = shop.file("b.csv", "X,c1,2024-01-01,1", "Z,c2,2030-01-01,3")  # Z: a future date, rejected
    shop.load(a, b)
    shop.file("a.csv", "Y,c1,2024-01-02,2")
    args = ["import", "orders", str(b), str(a), "-w", str(shop.ws), "--today", "2026-11-29", "--threshold", "0"]
    CliRunner().invoke(shop.app, [*args, "--json"])  # b fails now; a lets X go
    shop.file("a.csv", "Y,c1,2024-01-02,2", "Q,c1,2024-01-03,5")
    shop.load(a)  # a again, letting nothing go
    assert statuses(shop.load(b)) == [("b.csv", "replaced")]  # not "unchanged": X was let go since
    assert ("X", "1.00", "b.csv") in shop.held()
