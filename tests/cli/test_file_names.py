"""Names DuckDB would read as patterns (* ? [): every file is read as that very file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from tierkit.app.grading import grade
from tierkit.cli.app import app


def test_grade_reads_and_writes_files_named_like_patterns(tmp_path: Path) -> None:
    folder = tmp_path / "q[1]"
    folder.mkdir()
    real, decoy = folder / "orders[1].parquet", folder / "orders1.parquet"
    duckdb.sql(f"COPY (SELECT 'a' AS customer_id, DATE '2024-01-01' AS ordered_at, 10.5 AS amount) TO '{real}'")
    duckdb.sql(f"COPY (SELECT 'decoy' AS customer_id, DATE '2024-01-01' AS ordered_at, 1.0 AS amount) TO '{decoy}'")
    assert grade(real, policy="abc", as_of="2024-06-30").table["customer_id"].to_pylist() == ["a"]
    csv_file = folder / "orders*.csv"
    csv_file.write_text("customer_id,ordered_at,amount\nb,2024-01-02,3\n", "utf-8")
    out = folder / "graded[?].csv"
    args = ["grade", "--orders", str(csv_file), "--policy", "abc", "--as-of", "2024-06-30", "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["customers"] == 1
    assert out.read_text("utf-8").splitlines()[1].startswith("b,")


def test_a_workspace_in_a_folder_named_like_a_pattern(tmp_path: Path) -> None:
    runner = CliRunner()
    ws = tmp_path / "shop[2024]"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    orders = tmp_path / "o.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\n1,a,2024-01-01,5\n2,b,2024-01-02,6\n", "utf-8")
    imported = runner.invoke(app, ["import", "orders", str(orders), "-w", str(ws), "--today", "2026-11-29", "--json"])
    assert imported.exit_code == 0, imported.output
    orders.write_text("order_id,customer_id,ordered_at,amount\n1,a,2024-01-01,5\n", "utf-8")  # lets order 2 go
    again = runner.invoke(app, ["import", "orders", str(orders), "-w", str(ws), "--today", "2026-11-29", "--json"])
    assert json.loads(again.output)["files"][0]["released"] == 1
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2024-06-30", "--json"])
    assert graded.exit_code == 0, graded.output
    assert json.loads(graded.output)["customers"] == 1
