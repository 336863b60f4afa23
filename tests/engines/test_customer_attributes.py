"""Any column of a customers file is an attribute policies can read, typed, on every engine.

The seeds' pharma grid is 处方程度 x 医院级别; CRM files carry income_band, hobby, 集团关键人.
Fixtures are written by hand below; the expected tier, band and cell of each customer follow
from reading the rules against the table, not from running the code.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tierkit.backends import Backend
from tierkit.engine.grade import grade_inputs
from tierkit.engine.reading import read_inputs
from tierkit.errors import PolicyError
from tierkit.policy.loader import parse_policy

CUSTOMERS = [
    # id, 医院级别, 处方量, 集团关键人, income_band, hobby, 建档日期, "key account"
    ("h1", "三级", "120", "是", "high", "golf", "2020-03-01", "yes"),
    ("h2", "二级", "45", "否", "mid", "tea", "2021-07-15", "no"),
    ("h3", "一级", "80", "否", "low", "golf", "2019-01-10", "no"),
    ("h4", "三级", "10", "", "", "", "", ""),
    ("h5", "社区", "1,200", "是", "high", "fishing", "2022-12-31", "yes"),
    # an id and a value that begin and end with f and v, padded with a tab: trimmed, never eaten
    ("f6v", "二级", "100", "否", "mid", " fishing ", "2018-05-05", "no"),
]
HEADER = ["customer_id", "医院级别", "处方量", "集团关键人", "income_band", "hobby", "建档日期", "key account"]

POLICY = """
name: hospitals
metrics:
  spend: {sum: amount}
scores:
  grid:
    letter: {by: 医院级别, values: [[三级], [二级]]}
    digit: {by: 处方量, breaks: [100, 40]}
  interest: {type: bands, of: hobby, groups: {outdoor: [golf, fishing]}, other: indoor}
tiers:
  - name: key
    when: "集团关键人 and `key account`"
  - name: big
    when: "处方量 >= 80 and income_band in ('high', 'mid', 'low')"
  - name: early
    when: "建档日期 < '2020-01-01' or 医院级别 == '三级'"
  - {name: rest, else: true}
"""

# worked by hand from the rules above
EXPECTED = {
    #      tier     grid cell  band
    "h1": ("key", "A1", "outdoor"),  # 是 and yes
    "h2": ("rest", "B2", "indoor"),  # 45 < 80; 2021; 二级
    "h3": ("big", "C2", "outdoor"),  # 80 >= 80, low; 一级 is neither 三级 nor 二级 -> C; 80 in [40, 100) -> 2
    "h4": ("early", "A3", None),  # empty flags are unknown; 10 < 80; 三级; hobby empty -> no band
    "h5": ("key", "C1", "outdoor"),  # 1,200 reads as 1200
    "f6v": ("big", "B1", "outdoor"),  # 100 >= 80 and mid; 二级 -> B, 100 >= 100 -> 1; 'fishing' once trimmed
}


def _write(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hospitals")
    orders = _write(
        folder / "orders.csv",
        ["order_id", "customer_id", "ordered_at", "amount"],
        [(f"o{i}", cid, "2026-05-01", "100.00") for i, (cid, *_) in enumerate(CUSTOMERS)],
    )
    return orders, _write(folder / "customers.csv", HEADER, CUSTOMERS)


def _grade(engine: Backend, orders: Path, customers: Path, policy: str = POLICY) -> dict[str, dict[str, Any]]:
    inputs = read_inputs(engine, orders, customers)
    grading = grade_inputs(inputs, parse_policy(policy, "hospitals.yaml"), dt.date(2026, 6, 30), engine)
    return {row["customer_id"]: row for row in grading.table.to_pylist()}


def test_every_customers_column_is_read_typed_by_rules_bands_and_grid(
    engine: Backend, files: tuple[Path, Path]
) -> None:
    rows = _grade(engine, *files)
    got = {cid: (row["tier"], row["grid_cell"], row["interest"]) for cid, row in rows.items()}
    assert got == EXPECTED
    assert rows["h5"]["处方量"] == 1200 and rows["h1"]["集团关键人"] is True and rows["h4"]["集团关键人"] is None
    assert rows["h3"]["建档日期"] == dt.date(2019, 1, 10) and rows["h2"]["income_band"] == "mid"


def test_a_text_attribute_compared_with_a_number_is_a_policy_error(engine: Backend, files: tuple[Path, Path]) -> None:
    bad = POLICY.replace('when: "集团关键人 and `key account`"', 'when: "hobby > 3"')
    with pytest.raises(PolicyError, match=r"hospitals\.yaml.*hobby"):
        _grade(engine, *files, policy=bad)


def test_attributes_survive_import_into_a_workspace(tmp_path: Path, files: tuple[Path, Path]) -> None:
    """`tierkit import` keeps extra columns as JSON text; grading the workspace unpacks them."""
    from tierkit.app.grading import grade_workspace
    from tierkit.app.importing import import_files
    from tierkit.app.workspaces import init
    from tierkit.runs.files import load_run
    from tierkit.workspace import Workspace

    orders, customers = files
    ws = tmp_path / "ws"
    init(ws, "retail")
    (ws / "policy.yaml").write_text(POLICY, "utf-8")
    import_files(ws, "orders", [orders])
    import_files(ws, "customers", [customers])
    grade_workspace(ws, as_of="2026-06-30")
    import pyarrow.parquet as pq

    table = pq.read_table(load_run(Workspace.open(ws), None).result).to_pylist()
    got = {r["customer_id"]: (r["tier"], r["grid_cell"], r["interest"]) for r in table}
    assert got == EXPECTED


def test_check_knows_a_customers_files_columns_when_given_it(tmp_path: Path, files: tuple[Path, Path]) -> None:
    from tierkit.app.policies import check

    policy = tmp_path / "hospitals.yaml"
    policy.write_text(POLICY, "utf-8")
    with pytest.raises(PolicyError, match="unknown name '医院级别'"):
        check(policy)  # no data: the file's own columns are unknown
    assert check(policy, files[1]).policy.name == "hospitals"
    typo = tmp_path / "typo.yaml"
    typo.write_text(POLICY.replace("income_band in", "income_bnad in"), "utf-8")
    with pytest.raises(PolicyError, match=r"income_bnad.*did you mean 'income_band'"):
        check(typo, files[1])
