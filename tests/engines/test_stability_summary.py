"""The summary says how many customers kept their tier by stability, per tier, on every engine.

The shop of tests/engines/test_stability.py (one order a month; `spend_1m` decides the tier),
graded month after month with `{downgrade_after_runs: 2, grace_days: 45}`. Worked out by hand
from its table of expected tiers:

    January   no run before: nobody kept              vip 3 (kept 0), potential 1
    February  c1, c2, c4 graded regular, kept vip     vip 4 (kept 3), regular 1 (c3)
    March     c5 graded regular, kept vip             vip 3 (kept 1), regular 1 (c1), potential 1 (c4)
    April     c2 graded regular, kept vip             vip 3 (kept 1), regular 1, potential 1

A policy without `stability:` has no `kept` figure at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import monthly_orders
from tests.engines.test_stability import AMOUNTS, BOTH, MONTH_ENDS, PLAIN, grade
from tierkit.backends import Backend
from tierkit.runs.summary import summarize, summarize_file

EXPECTED = [
    {"vip": (3, 0), "potential": (1, 0)},
    {"vip": (4, 3), "regular": (1, 0)},
    {"vip": (3, 1), "regular": (1, 0), "potential": (1, 0)},
    {"vip": (3, 1), "regular": (1, 0), "potential": (1, 0)},
]


def _kept(summary: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {row["class"]: (row["customers"], row["kept"]) for row in summary["tiers"]}


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return monthly_orders(tmp_path_factory.mktemp("kept-orders") / "orders.csv", AMOUNTS)


@pytest.fixture(scope="module")
def months(
    engine: Backend, orders: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each month's summary of the written result (as a run keeps it) and of the Arrow table (the
    Python API's), each grading reading the result before it."""
    folder = tmp_path_factory.mktemp("kept")
    found, previous = [], None
    for index, as_of in enumerate(MONTH_ENDS):
        grading = grade(engine, orders, BOTH, as_of, previous)
        previous = folder / f"{engine.name}-{index}.parquet"
        engine.write_parquet(grading.expr, previous)
        found.append((summarize_file(grading, previous), summarize(grading, grading.table)))
    return found


@pytest.mark.parametrize("month", range(4))
def test_each_tier_says_how_many_kept_it_by_stability(
    months: list[tuple[dict[str, Any], dict[str, Any]]], month: int
) -> None:
    from_file, from_table = months[month]
    assert _kept(from_file) == EXPECTED[month]
    assert _kept(from_table) == EXPECTED[month]


def test_no_stability_no_kept_figure(engine: Backend, orders: Path) -> None:
    grading = grade(engine, orders, PLAIN, "2026-02-28", None)
    assert all("kept" not in row for row in summarize(grading, grading.table)["tiers"])
