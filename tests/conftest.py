"""Shared fixtures: small input files and the engines every engine test runs on."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

WriteCsv = Callable[[str, list[dict[str, object]]], Path]


def write_rows(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    """Rows as a UTF-8 CSV file at `path`, the columns of every row in order of first use."""
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def monthly_orders(path: Path, amounts: Mapping[str, Sequence[int | None]]) -> Path:
    """One order per customer and month of 2026 on the 15th (amounts[customer][month - 1]; None:
    no order that month), as the hand-worked stability and alerts fixtures lay out their shops."""
    rows = [
        {
            "order_id": f"{cid}-{month}",
            "customer_id": cid,
            "ordered_at": f"2026-{month:02d}-15",
            "amount": f"{amount}.00",
        }
        for cid, months in amounts.items()
        for month, amount in enumerate(months, 1)
        if amount is not None
    ]
    return write_rows(path, rows)


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    def write(name: str, rows: list[dict[str, object]]) -> Path:
        return write_rows(tmp_path / name, rows)

    return write


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly how many store tests did not run on PostgreSQL, and why (a plain `make test`
    has no server; .ci/run starts one)."""
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
        reasons.append(reason)
    skipped = sum(1 for reason in reasons if "TIERKIT_TEST_PG_URL" in reason)
    if skipped:
        terminalreporter.write_line(
            f"PostgreSQL store tests: {skipped} skipped: TIERKIT_TEST_PG_URL is not set "
            "(.ci/run starts a server on loopback; or run .ci/postgres.sh and export the URL it prints)",
            yellow=True,
            bold=True,
        )
