"""The workers of one server build a run's lookup once: a worker that finds another building it
waits, then maps the file that one wrote (tierkit.runs.lookup, `_building_in`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierkit.backends import connect
from tierkit.runs import lookup
from tierkit.runs.lookup import SortedTable


def test_a_worker_waits_for_the_build_another_started_and_builds_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parquet = tmp_path / "result.parquet"
    pq.write_table(pa.table({"customer_id": ["c", "a", "b"], "tier": ["vip", "regular", "potential"]}), parquet)
    cache = tmp_path / ".tiers.arrow"
    built: list[Path] = []
    real = lookup.build_sorted

    def counted(backend: Any, rows: Any, key: str, target: Path) -> None:
        built.append(target)
        real(backend, rows, key, target)

    monkeypatch.setattr(lookup, "build_sorted", counted)
    found: dict[str, SortedTable] = {}
    waiter = threading.Thread(target=lambda: found.update(t=SortedTable.from_parquet(parquet, "customer_id", cache)))
    with lookup._building_in(tmp_path):  # another worker's build of the run's lookup, under way
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and not cache.exists()  # it waits for the other, and builds nothing meanwhile
        backend = connect("duckdb")
        real(backend, backend.read_parquet(parquet), "customer_id", cache)  # the other's file
    waiter.join(timeout=30)
    assert built == []  # it mapped the file the other wrote
    assert [found["t"].find(c)["tier"] for c in ("a", "b", "c")] == ["regular", "potential", "vip"]


def test_a_stale_lookup_is_built_again_under_the_lock(tmp_path: Path) -> None:
    """A result rewritten since (tierkit forget) is newer than its lookup: the lookup is rebuilt."""
    parquet = tmp_path / "result.parquet"
    cache = tmp_path / ".tiers.arrow"
    pq.write_table(pa.table({"customer_id": ["a"], "tier": ["vip"]}), parquet)
    assert SortedTable.from_parquet(parquet, "customer_id", cache).find("a")["tier"] == "vip"
    time.sleep(0.01)
    pq.write_table(pa.table({"customer_id": ["a"], "tier": ["regular"]}), parquet)
    assert SortedTable.from_parquet(parquet, "customer_id", cache).find("a")["tier"] == "regular"
