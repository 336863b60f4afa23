"""A serving process switches to a newly published run once its lookup file is ready: until then
it serves the previous run whole (the build runs in the background), and a card's tier history
marks as current the run the card came from."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.api.conftest import make_workspace
from tierkit.app import history, run_switch
from tierkit.app.serving import ServedWorkspace, Settings
from tierkit.cli.app import app as cli_app
from tierkit.runs.files import current_run_id, list_runs
from tierkit.runs.lookup import RUN_LOOKUP, SortedTable
from tierkit.workspace import Workspace

runner = CliRunner()
BOUND = 60.0  # seconds a background build may take on a busy machine before the test gives up


def _grade_unpublished(root: Path, as_of: str) -> str:
    before = {r.run_id for r in list_runs(Workspace.open(root))}
    graded = runner.invoke(cli_app, ["grade", "-w", str(root), "--as-of", as_of, "--no-publish", "--json"])
    assert graded.exit_code == 0, graded.output
    (new,) = {r.run_id for r in list_runs(Workspace.open(root))} - before
    return new


def _publish(root: Path, run_id: str) -> None:
    done = runner.invoke(cli_app, ["publish", run_id, "-w", str(root)])
    assert done.exit_code == 0, done.output


def _tier(result: Path, customer_id: str) -> str | None:
    rows = pq.read_table(result, columns=["tier"], filters=[("customer_id", "=", customer_id)]).to_pylist()
    return rows[0]["tier"] if rows else None


def _until(served: ServedWorkspace, run_id: str) -> None:
    deadline = time.monotonic() + BOUND
    while served.snapshot().run.run_id != run_id:
        assert time.monotonic() < deadline, f"run {run_id} not served after {BOUND} s"
        time.sleep(0.05)


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, str, str]:
    """A demo shop with its published run and a second run graded at another date, unpublished."""
    root = make_workspace(tmp_path / "ws", "sqlite", customers=150).workspace.root
    first = current_run_id(Workspace.open(root))
    assert first is not None
    return root, first, _grade_unpublished(root, "2026-03-31")


def _held_builds(monkeypatch: pytest.MonkeyPatch, run_id: str, gate: threading.Event, fail: bool = False) -> None:
    """The whole-row lookup file of `run_id` waits for `gate` (or fails); every other build is as it is."""
    build = SortedTable.from_parquet.__func__  # type: ignore[attr-defined]

    def held(cls: type[SortedTable], parquet: Path, key: str, cache: Path, columns: Any = None) -> SortedTable:
        if cache.name == RUN_LOOKUP and cache.parent.name == run_id:
            if fail:
                raise OSError("the disk went away")
            assert gate.wait(BOUND)
        return build(cls, parquet, key, cache, columns)  # type: ignore[no-any-return]

    monkeypatch.setattr(SortedTable, "from_parquet", classmethod(held))


def test_the_previous_run_is_served_whole_until_the_new_one_is_ready(
    shop: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, first, second = shop
    served = ServedWorkspace.open(root, Settings(pointer_ttl=0.0, switch_wait=0.0))
    try:
        assert served.snapshot().run.run_id == first
        gate = threading.Event()
        _held_builds(monkeypatch, second, gate)
        _publish(root, second)
        assert served.current_id() == second
        while_building = served.snapshot()
        assert while_building.run.run_id == first and "reasons" in while_building.table.table.column_names
        customer = str(while_building.table.keys[0].as_py())
        timeline = history.timeline(served, customer, "zh")
        runs = {r.run_id: r for r in list_runs(served.workspace)}
        # the new run's tier is read from its ids and tiers; the card's own run is the current one
        assert {h["run_id"]: h["tier"] for h in timeline} == {k: _tier(r.result, customer) for k, r in runs.items()}
        assert {h["run_id"]: h["current"] for h in timeline} == {first: True, second: False}
        gate.set()
        _until(served, second)
        assert "reasons" in served.snapshot().table.table.column_names
        assert {h["run_id"]: h["current"] for h in history.timeline(served, customer, "zh")} == {
            first: False,
            second: True,
        }
    finally:
        served.close()


def test_a_small_run_is_served_by_the_first_request_after_its_publish(shop: tuple[Path, str, str]) -> None:
    root, first, second = shop
    served = ServedWorkspace.open(root, Settings(pointer_ttl=0.0, switch_wait=BOUND))
    try:
        assert served.snapshot().run.run_id == first
        _publish(root, second)
        assert served.snapshot().run.run_id == second  # the request waited for the build
    finally:
        served.close()


def test_a_build_that_fails_keeps_the_previous_run_and_is_tried_again(
    shop: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, first, second = shop
    monkeypatch.setattr(run_switch, "RETRY_AFTER", 0.0)
    served = ServedWorkspace.open(root, Settings(pointer_ttl=0.0, switch_wait=BOUND))
    try:
        assert served.snapshot().run.run_id == first
        _held_builds(monkeypatch, second, threading.Event(), fail=True)
        _publish(root, second)
        assert served.snapshot().run.run_id == first
        assert not (root / "runs" / second / RUN_LOOKUP).exists()
        monkeypatch.undo()
        monkeypatch.setattr(run_switch, "RETRY_AFTER", 0.0)
        _until(served, second)
    finally:
        served.close()


def test_the_first_run_a_process_serves_is_built_and_waited_for(shop: tuple[Path, str, str]) -> None:
    root, first, _ = shop
    served = ServedWorkspace.open(root, Settings(switch_wait=0.0))
    try:
        assert served.snapshot().run.run_id == first
        assert (root / "runs" / first / RUN_LOOKUP).is_file()
    finally:
        served.close()
