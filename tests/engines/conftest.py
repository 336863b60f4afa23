"""Every test here runs on DuckDB and on Spark (local mode, one session per test run)."""

from __future__ import annotations

import pytest

from tierkit.backends import Backend, connect


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()) and "[spark" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("spark"))
            item.add_marker(pytest.mark.spark)  # `-m "not spark"` leaves them out


@pytest.fixture(scope="session", params=["duckdb", "spark"])
def engine(request: pytest.FixtureRequest) -> Backend:
    return connect(request.param)
