"""The command line as a user runs it: file mode, workspace runs, errors, exports, demo."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.errors import TierkitError

runner = CliRunner()

ORDERS = [
    {"order_id": "1", "customer_id": "0001", "ordered_at": "2024-06-01", "amount": "120000.00"},
    {"order_id": "2", "customer_id": "0001", "ordered_at": "2024-05-01", "amount": "1000.00"},
    {"order_id": "3", "customer_id": "0002", "ordered_at": "2024-05-01", "amount": "60000.00"},
    {"order_id": "4", "customer_id": "=cmd", "ordered_at": "2024-04-01", "amount": "10.00"},
]


def invoke(*args: str) -> tuple[int, str]:
    try:
        result = runner.invoke(app, list(args), catch_exceptions=False)
    except TierkitError as err:
        return 2, str(err)
    return result.exit_code, result.output


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from tierkit.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture
def orders(write_csv) -> Path:  # type: ignore[no-untyped-def]
    return write_csv("orders.csv", ORDERS)


def test_file_mode_writes_one_row_per_customer(orders: Path, tmp_path: Path) -> None:
    out = tmp_path / "graded.csv"
    code, output = invoke(
        "grade", "--orders", str(orders), "--policy", "retail", "--as-of", "2024-06-30", "--output", str(out), "--json"
    )
    assert code == 0, output
    summary = json.loads(output)
    assert summary["customers"] == 3 and summary["output"] == str(out)
    with out.open(encoding="utf-8") as handle:
        rows = {r["customer_id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"0001", "0002", "'=cmd"}  # leading zeros kept, formula escaped
    assert rows["0001"]["tier"] == "regular" and rows["0002"]["tier"] == "regular"
    assert {"tier", "tier_label", "abc", "pyramid", "tags", "reasons", "spend_12m"} <= set(rows["0001"])
    ids = [k.removeprefix("'") for k in rows]
    assert ids == sorted(ids)  # rows in customer_id order, the same bytes every run
    assert rows["0001"]["spend_12m"] == "121000.00"
    # the file keeps the reasons lean: what the columns and the policy do not say (0002's spend is
    # 121000 too: with 0001 ahead by customer id, one of three ranks first and nobody is above it)
    assert json.loads(rows["0001"]["reasons"]) == {"abc": {"share_above": 0.0}, "pyramid": {"rank": 1, "of": 3}}


def test_file_mode_rfm_columns(orders: Path, tmp_path: Path) -> None:
    out = tmp_path / "rfm.csv"
    code, output = invoke(
        "grade", "--orders", str(orders), "--policy", "rfm", "--as-of", "2024-06-30", "--output", str(out)
    )
    assert code == 0, output
    with out.open(encoding="utf-8") as handle:
        rows = {r["customer_id"]: r for r in csv.DictReader(handle)}
    assert {"rfm_r", "rfm_f", "rfm_m", "rfm_segment"} <= set(rows["0001"])
    # method value over spends 10, 60000, 121000 with 5 bins: breakpoints x(ceil(k*3/5)) = 10,
    # 60000, 60000, 121000; 121000 is above three of them, so it scores 1 + 3 = 4
    assert rows["0001"]["rfm_m"] == "4" and rows["0001"]["tier"] == rows["0001"]["rfm_segment"]


def test_file_mode_parquet_and_json(orders: Path, tmp_path: Path) -> None:
    for suffix in (".parquet", ".json"):
        out = tmp_path / f"graded{suffix}"
        code, output = invoke(
            "grade",
            "--orders",
            str(orders),
            "--policy",
            "telecom-stars",
            "--as-of",
            "2024-06-30",
            "--output",
            str(out),
            "--lang",
            "en",
        )
        assert code == 0, output
    table = pq.read_table(tmp_path / "graded.parquet")
    assert table.num_rows == 3 and "stars" in table.column_names
    records = json.loads((tmp_path / "graded.json").read_text("utf-8"))
    assert {r["customer_id"]: r["stars"] for r in records}["0001"] == 6
    assert {r["customer_id"]: r["tier_label"] for r in records}["0001"] == "6 stars"


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        (
            [{"customer_id": "1", "ordered_at": "2024-13-45", "amount": "1"}],
            [],
            r"orders.csv: row 1 \(line 2\): ordered_at: '2024-13-45' is not a valid date",
        ),
        (
            [
                {"customer_id": "1", "ordered_at": "2024-01-01", "amount": "1"},
                {"customer_id": "2", "ordered_at": "2024-01-01", "amount": "lots"},
            ],
            [],
            r"row 2 \(line 3\): amount: 'lots' is not a valid decimal",
        ),
        (
            [{"customer": "1", "ordered_at": "2024-01-01", "amount": "1"}],
            [],
            r"missing required column 'customer_id' for orders \(did you mean 'customer'\?\)",
        ),
        (
            [{"customer_id": "1", "ordered_at": "2024-01-01", "amount": "1"}],
            ["--as-of", "2024-02-30"],
            r"--as-of: '2024-02-30' is not a date",
        ),
        (
            [{"customer_id": "1", "ordered_at": "2024-01-01", "amount": "1"}],
            ["--policy", "nope.yaml"],
            r"nope.yaml: no such policy file",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(write_csv, tmp_path: Path, rows, args, message) -> None:  # type: ignore[no-untyped-def]
    path = write_csv("orders.csv", rows)
    out = tmp_path / "out.csv"
    result = cli("grade", "--orders", str(path), "--output", str(out), *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) <= 3
    import re

    assert re.search(message, " ".join(result.stderr.split())), result.stderr
    assert not out.exists()


def test_empty_file_and_unknown_metric_column(tmp_path: Path, write_csv) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.csv"
    empty.write_text("customer_id,ordered_at,amount\n", "utf-8")
    result = cli("grade", "--orders", str(empty), "--output", str(tmp_path / "o.csv"))
    assert result.returncode == 2 and "no data rows" in result.stderr
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\nmetrics:\n  m: {sum: amont}\ntiers:\n  - {name: a, else: true}\n", "utf-8")
    orders = write_csv("o2.csv", ORDERS)
    result = cli("grade", "--orders", str(orders), "--policy", str(policy), "--output", str(tmp_path / "o.csv"))
    assert result.returncode == 2
    assert "p.yaml:3: metrics.m: unknown column 'amont' in orders (did you mean 'amount'?)" in result.stderr


def test_workspace_runs_diff_show_export(orders: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert invoke("init", str(ws))[0] == 0
    assert (ws / "policy.yaml").exists() and (ws / "tierkit.yaml").exists()
    code, out = invoke("grade", "-w", str(ws), "--orders", str(orders), "--as-of", "2024-06-30", "--json")
    assert code == 0, out
    first = json.loads(out)["run_id"]
    code, out = invoke("grade", "-w", str(ws), "--orders", str(orders), "--as-of", "2024-05-15", "--json")
    second = json.loads(out)["run_id"]
    runs = json.loads(invoke("runs", "-w", str(ws), "--json")[1])
    assert [r["run_id"] for r in runs if r["current"]] == [first]  # an earlier as-of is kept, not published
    manifest = json.loads((ws / "runs" / first / "manifest.json").read_text("utf-8"))
    assert manifest["policy"]["name"] == "retail" and manifest["as_of"] == "2024-06-30"
    assert manifest["inputs"]["orders"]["rows"] == 4 and len(manifest["inputs"]["orders"]["sha256"]) == 64
    migration = json.loads(invoke("diff", first, second, "-w", str(ws), "--json")[1])
    cells = {(m["from"], m["to"]): m["customers"] for m in migration["matrix"]}
    # read from the earlier as-of (05-15) to the later (06-30), whatever the order given
    assert migration["reordered"] and (migration["as_of_a"], migration["as_of_b"]) == ("2024-05-15", "2024-06-30")
    assert cells == {("potential", "regular"): 1, ("regular", "regular"): 1, ("potential", "potential"): 1}
    assert [m["customer_id"] for m in migration["movers"]] == ["0001"]
    card = json.loads(invoke("show", "0001", "-w", str(ws), "--run", first, "--json")[1])
    assert card["tier"] == "regular" and card["service"]["response_time"] == "24h"
    assert card["reasons"]["tier"]["rule"] == "regular"
    assert card["service"]["contacts_text"] == "每月至多 1 次"  # retail's regular: [0, 1]
    code, text = invoke("show", "0001", "-w", str(ws), "--run", second)  # potential as of 05-15
    assert code == 0 and "联系频率: 不定期联系（无固定频率）" in text  # potential: [0, 0], never "0-0"
    out_csv = tmp_path / "export.xlsx"
    code, _ = invoke("export", "-w", str(ws), "--run", first, "-o", str(out_csv))
    assert code == 0
    import openpyxl

    book = openpyxl.load_workbook(out_csv)
    assert book.sheetnames == ["汇总", "客户"]  # the summary a manager reads first, then the customers
    ids = [row[0].value for row in book["客户"].iter_rows(min_row=2)]
    assert sorted(ids) == ["'=cmd", "0001", "0002"]


def test_crash_mid_run_keeps_the_current_run(orders: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    invoke("init", str(ws))
    first = json.loads(invoke("grade", "-w", str(ws), "--orders", str(orders), "--json")[1])["run_id"]
    from tierkit.backends.duckdb import DuckDBBackend

    def crash(self: DuckDBBackend, expr: object, path: Path) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(DuckDBBackend, "write_parquet", crash)
    with pytest.raises(OSError):
        runner.invoke(app, ["grade", "-w", str(ws), "--orders", str(orders)], catch_exceptions=False)
    assert (ws / "runs" / "CURRENT").read_text().strip() == first
    assert sorted(p.name for p in (ws / "runs").iterdir()) == sorted([first, "CURRENT"])


def test_demo_grades_a_small_shop(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    code, out = invoke("demo", "-w", str(ws), "--customers", "2000", "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["customers"] == 2000 and summary["policy"] == "retail"
    assert {t["class"] for t in summary["tiers"]} == {"vip", "regular", "potential"}
    shares = [c["value_share"] for c in summary["scores"]["abc"]["classes"]]
    assert shares[0] >= 0.79  # A holds about 80% of the value
    card = json.loads(invoke("show", "00000001", "-w", str(ws), "--json")[1])
    assert card["customer_id"] == "00000001"


def test_check_publish_lang_and_demo_safety(orders: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nmetrics:\n  o: {count: orders}\ntiers:\n  - {name: a, when: 'o = 3'}\n  - {name: b, else: true}\n",
        "utf-8",
    )
    result = cli("check", str(bad))
    assert result.returncode == 2 and "bad.yaml:5: tiers[0].when: use '=='" in result.stderr
    assert cli("grade", "--orders", str(orders), "--output", str(tmp_path / "o.csv"), "--lang", "fr").returncode == 2
    ws = tmp_path / "ws"
    invoke("init", str(ws))
    first = json.loads(invoke("grade", "-w", str(ws), "--orders", str(orders), "--json")[1])["run_id"]
    second = json.loads(invoke("grade", "-w", str(ws), "--orders", str(orders), "--no-publish", "--json")[1])
    assert (ws / "runs" / "CURRENT").read_text().strip() == first
    assert invoke("publish", second["run_id"], "-w", str(ws))[0] == 0
    assert (ws / "runs" / "CURRENT").read_text().strip() == second["run_id"]
    assert oct((ws / "runs" / "CURRENT").stat().st_mode & 0o777) != oct(0o600)
    result = cli("demo", "-w", str(ws), "--customers", "100")
    assert result.returncode == 2 and "not a demo one" in result.stderr
    assert sorted(p.name for p in (ws / "data").iterdir()) == []


def age_band_shop(tmp_path: Path, write_csv, grading: str) -> tuple[Path, Path, Path]:  # type: ignore[no-untyped-def]
    """Orders, a customers file where only 0001 has a birth date, and a policy with an age band."""
    orders = write_csv("o.csv", ORDERS)
    customers = write_csv("c.csv", [{"customer_id": "0001", "birth_date": "1990-05-01"}])
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "name: p\nmetrics:\n  s: {sum: amount}\nscores:\n  age_band: {type: bands, of: age, breaks: [30],"
        " names: [young, older]}\n" + grading,
        "utf-8",
    )
    return orders, customers, policy


def test_summary_counts_customers_without_a_class(tmp_path: Path, write_csv) -> None:  # type: ignore[no-untyped-def]
    orders, customers, policy = age_band_shop(tmp_path, write_csv, "tiers:\n  - {name: a, else: true}\n")
    code, out = invoke(
        "grade",
        "--orders",
        str(orders),
        "--customers",
        str(customers),
        "--policy",
        str(policy),
        "--as-of",
        "2024-06-30",
        "--output",
        str(tmp_path / "g.json"),
        "--json",
    )
    assert code == 0, out
    rows = {r["class"]: r for r in json.loads(out)["scores"]["age_band"]["classes"]}
    assert rows["older"]["customers"] == 1 and rows[None]["customers"] == 2
    assert rows[None]["customer_share"] == pytest.approx(0.6667)


def test_orders_without_customer_id_are_an_error(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [*ORDERS[:2], {"order_id": "9", "customer_id": " ", "ordered_at": "2024-05-01", "amount": "5.00"}]
    path = write_csv("orders.csv", rows)
    out = tmp_path / "out.parquet"
    result = cli("grade", "--orders", str(path), "--as-of", "2024-06-30", "--output", str(out))
    assert result.returncode == 2
    assert "orders.csv: row 3 (line 4): customer_id: empty (1 such rows)" in " ".join(result.stderr.split())
    assert not out.exists() and not list(tmp_path.glob(".*parquet*"))


def test_diff_tells_missing_class_from_missing_customer(tmp_path: Path, write_csv) -> None:  # type: ignore[no-untyped-def]
    orders, customers, policy = age_band_shop(tmp_path, write_csv, "primary: age_band\n")
    ws = tmp_path / "ws"
    invoke("init", str(ws))
    args = ["-w", str(ws), "--orders", str(orders), "--customers", str(customers), "--policy", str(policy), "--json"]
    first = json.loads(invoke("grade", *args, "--as-of", "2024-06-30")[1])["run_id"]
    second = json.loads(invoke("grade", *args, "--as-of", "2024-04-30")[1])["run_id"]
    migration = json.loads(invoke("diff", first, second, "-w", str(ws), "--json")[1])
    cells = {(m["from"], m["to"]): m["customers"] for m in migration["matrix"]}
    # read from 04-30 to 06-30: '=cmd' has no age (class missing) in both runs; 0001 and 0002
    # bought only after 2024-04-30, so they are new in the later run
    assert cells == {("(none)", "(none)"): 1, ("(new)", "(none)"): 1, ("(new)", "older"): 1}


def test_paths_with_quotes_and_edge_errors(orders: Path, tmp_path: Path) -> None:
    ws = tmp_path / "bob's workspace"
    invoke("init", str(ws))
    first = json.loads(invoke("grade", "-w", str(ws), "--orders", str(orders), "--as-of", "2024-06-30", "--json")[1])
    json.loads(invoke("grade", "-w", str(ws), "--orders", str(orders), "--as-of", "2024-05-31", "--json")[1])
    assert json.loads(invoke("show", "0001", "-w", str(ws), "--run", first["run_id"], "--json")[1])["tier"] == "regular"
    assert json.loads(invoke("diff", "previous", "current", "-w", str(ws), "--json")[1])["movers_total"] >= 1
    result = cli("export", "-w", str(ws), "--tier", "VIP", "-o", str(tmp_path / "x.csv"))
    assert (
        result.returncode == 2
        and "no customer has tier 'VIP'" in result.stderr
        and "tiers: potential, regular" in result.stderr
    )
    assert not (tmp_path / "x.csv").exists()
    result = cli("grade", "-w", str(ws), "--orders", str(orders), "--as-of", "2016-09-30")
    assert result.returncode == 2 and "no order on or before the as-of date 2016-09-30" in result.stderr
    listed = json.loads(invoke("runs", "-w", str(ws), "--json")[1])
    assert [r["run_id"] for r in listed if r["current"]] == [first["run_id"]]  # CURRENT unchanged
    assert len(json.loads(invoke("runs", "-w", str(ws), "--json")[1])) == 2
    result = cli("grade", "--orders", str(orders), "--output", str(tmp_path))
    assert result.returncode == 2 and "is a folder" in result.stderr
    result = cli("grade", "--orders", str(orders), "--output", str(tmp_path / "nowhere" / "o.csv"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_text_summary_shows_labels(orders: Path, tmp_path: Path) -> None:
    code, output = invoke(
        "grade", "--orders", str(orders), "--as-of", "2024-06-30", "--output", str(tmp_path / "g.csv"), "--lang", "en"
    )
    assert code == 0, output
    assert "Regular (regular)" in output and "A - key accounts (A)" in output
    assert "Serial complainer (serial_complainer)" in output
