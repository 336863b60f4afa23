"""The run summary counted by DuckDB: classes, exact value sums, floating values, tags."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tierkit.app.grading import grade
from tierkit.policy.loader import parse_policy

FLOAT_VALUE = """
name: float-value
value: avg_order
metrics:
  avg_order: {avg: amount}
  spend: {sum: amount}
tiers:
  - {name: big, when: "spend >= 100"}
  - {name: small, else: true}
tags:
  - {name: single, when: "spend < 100"}
"""


def orders(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n", "utf-8")
    return path


def test_floating_values_add_up_exactly_and_read_as_written(tmp_path: Path) -> None:
    path = orders(tmp_path, ["a,2024-01-01,100.10", "a,2024-01-02,79.88", "b,2024-01-01,0.10", "c,2024-01-01,0.20"])
    result = grade(path, policy=parse_policy(FLOAT_VALUE, "f.yaml"), as_of="2024-06-30")
    summary = result.summary()
    tiers = {row["class"]: row for row in summary["tiers"]}
    assert tiers["big"]["value"] == "89.99" and tiers["big"]["customers"] == 1  # (100.10 + 79.88) / 2
    assert tiers["small"]["value"] == "0.3"  # 0.1 + 0.2, not 0.30000000000000004
    assert summary["tags"] == {"single": 2}
    assert result.write(tmp_path / "graded.parquet") == summary  # the same, counted from the file


def test_floating_values_too_large_for_decimals_are_still_summed(tmp_path: Path) -> None:
    path = orders(tmp_path, ["a,2024-01-01,1000", "b,2024-01-01,5"])
    policy = FLOAT_VALUE.replace("value: avg_order", "value: huge").replace(
        "  spend: {sum: amount}", '  spend: {sum: amount}\n  huge: {expr: "avg_order * 1e30"}'
    )
    summary = grade(path, policy=parse_policy(policy, "f.yaml"), as_of="2024-06-30").summary()
    assert {row["class"]: row["customers"] for row in summary["tiers"]} == {"big": 1, "small": 1}
    big = next(row for row in summary["tiers"] if row["class"] == "big")
    assert abs(Decimal(big["value"]) / Decimal("1e33") - 1) < Decimal("1e-12")  # past DECIMAL(38, 6): a float sum
