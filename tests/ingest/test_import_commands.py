"""`tierkit import` with several files: every file is checked before any is imported, `--map`
per file or where the column is, and the text options (`--delimiter`, `--date-format`) that the
commands reading files share; CDNOW as lifetimes ships it, end to end."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.errors import InputError

runner = CliRunner()
TODAY = ["--today", "2026-11-29"]


def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    return ws


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def load(ws: Path, *args: str) -> Any:
    return runner.invoke(app, ["import", "orders", *args, "-w", str(ws), *TODAY, "--json"])


def held(ws: Path) -> list[tuple[str, str, str]]:
    """(order_id, customer_id, ordered_at) of every imported order."""
    parts = f"{ws / 'data' / 'orders'}/*.parquet"
    return duckdb.sql(f"SELECT order_id, customer_id, CAST(ordered_at AS VARCHAR) FROM '{parts}' ORDER BY 1").fetchall()


def test_one_bad_file_means_none_is_imported_and_nothing_is_touched(tmp_path: Path) -> None:
    """The user's half-done import: a.csv has the mapped column, b.csv has no customer column at
    all. Before: a was imported, then b failed. Now neither is, and the workspace is as it was."""
    ws = workspace(tmp_path)
    earlier = write(tmp_path / "earlier.csv", "order_id,customer_id,ordered_at,amount", "E1,0001,2024-01-02,10")
    assert load(ws, str(earlier)).exit_code == 0
    before = snapshot(ws / "data")
    a = write(tmp_path / "a.csv", "order_id,VIP卡,ordered_at,amount", "A1,0012,2024-01-05,100")
    b = write(tmp_path / "b.csv", "order_id,收货人,ordered_at,amount", "B1,张三,2024-01-06,50")
    c = write(tmp_path / "c.csv", "order_id,VIP卡,ordered_at", "C1,0013,2024-01-07")  # no amount either
    result = load(ws, str(a), str(b), str(c), "--map", "VIP卡=customer_id")
    assert result.exit_code != 0 and isinstance(result.exception, InputError)
    assert snapshot(ws / "data") == before  # parts, rejects and imports.json byte for byte
    summary = json.loads(result.stdout)
    by_name = {Path(f["file"]).name: f for f in summary["files"]}
    assert by_name["a.csv"]["status"] == "not imported" and summary["stopped"] is True
    assert (
        by_name["b.csv"]["status"] == "failed" and "missing required column 'customer_id'" in by_name["b.csv"]["error"]
    )
    assert by_name["c.csv"]["status"] == "failed" and "missing required column 'amount'" in by_name["c.csv"]["error"]
    assert summary["imported"] == 0 and summary["failed"] == 2
    assert "b.csv" in str(result.exception) and "nothing imported" in str(result.exception)


def test_a_plain_map_applies_where_the_column_is_and_a_file_map_to_its_file(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    ws = workspace(tmp_path)
    a = write(tmp_path / "a.csv", "order_id,VIP卡,ordered_at,amount", "A1,0012,2024-01-05,100")
    book = openpyxl.Workbook()
    book.active.append(["单据", "收件人账号", "下单时间", "实付金额", "VIP卡"])  # VIP卡 here is something else
    book.active.append(["P1", "0099", dt.datetime(2024, 2, 1), 30, "gold"])
    pos = tmp_path / "pos.xlsx"
    book.save(pos)
    args = [str(a), str(pos), "--map", "VIP卡=customer_id", "--map", "pos.xlsx:收件人账号=customer_id"]
    # a plain map and a file map for the same file: the file's own map wins there
    args += ["--map", "pos.xlsx:单据=order_id", "--map", f"{pos}:VIP卡=channel"]
    result = load(ws, *args)
    assert result.exit_code == 0, result.output
    assert held(ws) == [("A1", "0012", "2024-01-05"), ("P1", "0099", "2024-02-01")]


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (
            ["--map", "VIP卡号=customer_id"],
            "--map 'VIP卡号=customer_id': no file has a column 'VIP卡号' (did you mean 'VIP卡'?)",
        ),
        (["--map", "b.csv:VIP卡=customer_id"], "b.csv: --map names 'VIP卡', which is not a column"),
        (["--map", "x.csv:VIP卡=customer_id"], "--map 'x.csv:VIP卡=customer_id': x.csv is not a file of this command"),
        (["--map", "a.csv:VIP卡=customer"], "'customer' is not a column of orders"),
    ],
)
def test_map_mistakes_are_named_before_anything_is_imported(tmp_path: Path, maps: list[str], message: str) -> None:
    ws = workspace(tmp_path)
    a = write(tmp_path / "a.csv", "order_id,VIP卡,ordered_at,amount", "A1,0012,2024-01-05,100")
    b = write(tmp_path / "b.csv", "order_id,customer_id,ordered_at,amount", "B1,0013,2024-01-06,50")
    result = load(ws, str(a), str(b), *maps)
    assert isinstance(result.exception, InputError) and message in str(result.exception), result.output
    assert not (ws / "data" / "orders").exists()


def test_date_format_and_the_accepted_forms(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    eu = write(
        tmp_path / "eu.csv", "order_id,customer_id,ordered_at,amount", "A1,0012,05/01/2024,100", "A2,0013,31/12/2023,5"
    )
    failed = load(ws, str(eu))
    assert isinstance(failed.exception, InputError)  # exit 2 under `tierkit`
    message = str(failed.exception)
    assert "row 1: ordered_at: '05/01/2024' not a valid date" in message
    assert "2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105" in message and "--date-format" in message
    done = load(ws, str(eu), "--date-format", "%d/%m/%Y")
    assert done.exit_code == 0, done.output
    assert held(ws) == [("A1", "0012", "2024-01-05"), ("A2", "0013", "2023-12-31")]
    bad = load(ws, str(eu), "--date-format", "%d/%m")
    assert "--date-format '%d/%m': " in str(bad.exception) and "year" in str(bad.exception)


def test_delimiter_option_overrides_the_sniffer(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    # a header with more semicolons (inside a name) than commas: the sniffer would pick ';'
    odd = write(tmp_path / "odd.csv", "order_id,customer_id,ordered_at,amount,note;a;b;c;d;e", "A1,0012,2024-01-05,1,x")
    sniffed = load(ws, str(odd))
    assert isinstance(sniffed.exception, InputError)
    done = load(ws, str(odd), "--delimiter", ",")
    assert done.exit_code == 0, done.output and held(ws) == [("A1", "0012", "2024-01-05")]
    wrong = load(ws, str(odd), "--delimiter", "x")
    assert "--delimiter 'x': " in str(wrong.exception) and "whitespace" in str(wrong.exception)


def test_a_whitespace_file_the_sniffer_cannot_settle_is_refused_with_the_hint(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    spaced = write(
        tmp_path / "spaced.txt",
        "order id   customer   date   amount",
        "A1   0012   2024-01-05   100",
        "A2 0013 2024-01-06 5",
    )
    refused = load(ws, str(spaced))
    assert str(refused.exception).endswith("the delimiter was not recognised: whitespace? use --delimiter")
    told = load(ws, str(spaced), "--delimiter", "whitespace")
    assert "(columns found: order, id, customer, ordered_at, amount)" in str(told.exception)  # 'order id' is two


def cdnow() -> Path:
    lifetimes = pytest.importorskip("lifetimes")
    return Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"


CDNOW_MAPS = ["--map", "column1=customer_id", "--map", "column3=ordered_at", "--map", "column5=amount"]


def cdnow_truth(path: Path) -> tuple[int, int, Decimal]:
    """Rows, customers and revenue of the sample, read by hand: ' 00004 0001 19970101  2   29.33'."""
    rows = [line.split() for line in path.read_text("ascii").splitlines() if line.strip()]
    return len(rows), len({row[0] for row in rows}), sum((Decimal(row[4]) for row in rows), Decimal(0))


def test_cdnow_as_lifetimes_ships_it_is_imported_and_graded(tmp_path: Path) -> None:
    """No header, runs of spaces, a leading space, CRLF: recognised, imported with a map of its
    columns (column1 ... column5), then graded."""
    source = cdnow()
    rows, customers, revenue = cdnow_truth(source)
    assert (rows, customers) == (6919, 2357)  # the sample's published size
    ws = workspace(tmp_path)
    bare = load(ws, str(source))
    assert "(columns found: column1, column2, column3, column4, column5); its first line is data" in str(bare.exception)
    auto = load(ws, str(source), *CDNOW_MAPS)
    assert auto.exit_code == 0, auto.output
    assert json.loads(auto.stdout)["imported"] == rows
    told = load(ws, str(source), *CDNOW_MAPS, "--delimiter", "whitespace", "--date-format", "%Y%m%d")
    assert told.exit_code == 0, told.output
    assert [f["status"] for f in json.loads(told.stdout)["files"]] == ["replaced"]  # new settings
    parts = f"{ws / 'data' / 'orders'}/*.parquet"
    first, total = duckdb.sql(f"SELECT min(_row), sum(amount) FROM '{parts}'").fetchone()  # type: ignore[misc]
    assert first == 1 and total == revenue
    got = duckdb.sql(
        f"SELECT customer_id, CAST(ordered_at AS VARCHAR), amount, attributes FROM '{parts}' ORDER BY _row LIMIT 1"
    )
    assert got.fetchone() == ("00004", "1997-01-01", Decimal("29.33"), '{"column2":"0001","column4":"2"}')
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "1998-06-30", "--json"])
    assert graded.exit_code == 0, graded.output
    assert json.loads(graded.stdout)["customers"] == customers


def test_clv_fit_reads_the_raw_sample_with_map(tmp_path: Path) -> None:
    """Fader, Hardie and Lee (2005)'s estimates, from the file as shipped (no CSV made first)."""
    args = ["clv", "fit", "--orders", str(cdnow()), *CDNOW_MAPS, "--calibration-end", "1997-09-30", "--json"]
    fitted = runner.invoke(app, args)
    assert fitted.exit_code == 0, fitted.output
    got = json.loads(fitted.stdout)
    assert got["customers"] == 2357 and round(got["r"], 3) == 0.243 and round(got["alpha"], 3) == 4.414
    dates = ["--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30"]
    held_out = runner.invoke(app, ["clv", "holdout", "--orders", str(cdnow()), *CDNOW_MAPS, *dates, "--json"])
    assert held_out.exit_code == 0, held_out.output
    assert json.loads(held_out.stdout)["customers"] == 2357


def book(tmp_path: Path) -> Path:
    """Orders on a sheet called 订单, the customer column called 收件人账号 (no synonym)."""
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["notes"])
    sheet = workbook.create_sheet("订单")
    sheet.append(["单据", "收件人账号", "下单时间", "实付金额"])
    for i in range(40):
        for month in range(1, 13 if i % 3 else 4):
            sheet.append([f"A{i}-{month}", f"{i:04d}", dt.datetime(2024, month, 1 + i % 27), 10 + i])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    return path


def test_churn_backtest_takes_map_and_sheet(tmp_path: Path) -> None:
    path = book(tmp_path)
    base = ["churn", "backtest", "--orders", str(path), "--as-of", "2024-12-31", "--horizon", "60D", "--json"]
    without = runner.invoke(app, [*base, "--sheet", "订单"])
    assert "missing required column 'customer_id'" in str(without.exception)
    done = runner.invoke(app, [*base, "--sheet", "订单", "--map", "收件人账号=customer_id"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["test"]["customers"] == 40


def test_clv_and_campaign_report_take_map_and_sheet(tmp_path: Path) -> None:
    path = book(tmp_path)
    args = ["clv", "fit", "--orders", str(path), "--sheet", "订单", "--map", "收件人账号=customer_id"]
    fitted = runner.invoke(app, [*args, "--calibration-end", "2024-09-30", "--json"])
    assert fitted.exit_code == 0, fitted.output
    assert json.loads(fitted.stdout)["customers"] == 40
    ws = workspace(tmp_path)
    mapped = ["--sheet", "订单", "--map", "收件人账号=customer_id"]
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--orders", str(path), *mapped, "--as-of", "2024-06-30"])
    assert graded.exit_code == 0, graded.output
    made = runner.invoke(app, ["campaign", "create", "-w", str(ws), "--segment", "spend_12m > 0", "--json"])
    assert made.exit_code == 0, made.output
    campaign = json.loads(made.stdout)["campaign_id"]
    base = ["campaign", "report", campaign, "-w", str(ws), "--orders", str(path), "--until", "2024-12-31"]
    without = runner.invoke(app, [*base, "--sheet", "订单"])
    assert "missing required column 'customer_id'" in str(without.exception)
    report = runner.invoke(app, [*base, "--sheet", "订单", "--map", "收件人账号=customer_id", "--json"])
    assert report.exit_code == 0, report.output
    overall = json.loads(report.stdout)["overall"]
    assert overall["treatment"] + overall["control"] == 40


def test_an_import_repeated_by_force_keeps_its_text_options(tmp_path: Path) -> None:
    """`recheck` imports a file again with the settings it was imported with: --date-format too."""
    from tierkit.backends import connect
    from tierkit.ingest.imports import import_file
    from tierkit.ingest.quarantine import ImportRules
    from tierkit.tables.sources import TextOptions

    eu = write(tmp_path / "eu.csv", "order_id,customer_id,ordered_at,amount", "A1,0012,05/01/2024,100")
    rules, data = ImportRules(dt.date(2026, 11, 29), threshold=0.0), tmp_path / "data"
    first = import_file(connect("duckdb"), data, "orders", eu, rules, text=TextOptions.given(date_format="%d/%m/%Y"))
    again = import_file(connect("duckdb"), data, "orders", eu, rules, force=True)
    assert (first.imported, again.imported, again.rejected) == (1, 1, 0)
    with pytest.raises(InputError, match="not a valid date"):  # not forced: the options given now (none)
        import_file(connect("duckdb"), data, "orders", eu, rules)
