"""A card's tier history reads other runs from a lookup file of ids and tiers only (a run graded
since, even unpublished, costs a card no rebuild of its whole rows), and gives each run's tier as
its result file holds it."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.serving import LOOKUP, TIERS, ServedWorkspace
from tierkit.cli.app import app as cli_app
from tierkit.runs.files import current_run_id, list_runs


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    served = make_workspace(tmp_path_factory.mktemp("history") / "ws", "sqlite", customers=150)
    graded = CliRunner().invoke(cli_app, ["grade", "-w", str(served.workspace.root), "--no-publish", "--json"])
    assert graded.exit_code == 0, graded.output
    return served


def _tier_in(result: Path, customer_id: str) -> str | None:
    rows = pq.read_table(result, columns=["tier"], filters=[("customer_id", "=", customer_id)]).to_pylist()
    return rows[0]["tier"] if rows else None


def test_the_history_gives_each_runs_tier_from_its_result(shop: Served) -> None:
    runs = list_runs(shop.workspace)
    assert len(runs) == 2
    current = current_run_id(shop.workspace)
    customers = pq.read_table(runs[0].result, columns=["customer_id"])["customer_id"].to_pylist()[:5]
    with TestClient(create_app(shop.workspace.root)) as client:
        # the first card waits for no run's lookup: it lists the runs read, and how many are left
        # out while they are read in the background; a card asked again a moment later has them all
        first = client.get(f"/customers/{customers[0]}", headers=shop.headers("agent")).json()
        assert len(first["tier_history"]) + first["tier_history_pending"] == len(runs)
        until = time.monotonic() + 30
        while first["tier_history_pending"] and time.monotonic() < until:
            time.sleep(0.05)
            first = client.get(f"/customers/{customers[0]}", headers=shop.headers("agent")).json()
        for customer_id in customers:
            answer = client.get(f"/customers/{customer_id}", headers=shop.headers("agent"))
            assert answer.status_code == 200, answer.text
            history = answer.json()["tier_history"]
            assert answer.json()["tier_history_pending"] == 0
            assert [h["run_id"] for h in history] == [r.run_id for r in runs]
            assert [h["tier"] for h in history] == [_tier_in(r.result, customer_id) for r in runs]
            assert [h["current"] for h in history] == [r.run_id == current for r in runs]


def test_a_run_not_current_gets_ids_and_tiers_only(shop: Served) -> None:
    runs = list_runs(shop.workspace)
    served = ServedWorkspace.open(shop.workspace.root)
    try:
        current = served.snapshot()
        other = next(r for r in runs if r.run_id != current.run.run_id)
        past = served.snapshot(other.run_id)
        assert past.table.table.column_names == ["customer_id", "tier"]
        assert past.table.path == other.path / TIERS
        assert current.table.path.name == LOOKUP and "reasons" in current.table.table.column_names
        assert served.snapshot(current.run.run_id) is current  # the current run named is the whole one
    finally:
        served.close()
