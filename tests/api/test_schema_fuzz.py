"""schemathesis against the OpenAPI schema, as an admin: whatever it sends, no 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.serving import Settings


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Served]]:
    served = make_workspace(tmp_path_factory.mktemp("fuzz") / "ws", "sqlite", customers=200)
    app = create_app(served.workspace.root, Settings(rate_per_second=0))
    with TestClient(app):  # runs the lifespan
        yield schemathesis.openapi.from_asgi("/openapi.json", app), served


def test_no_server_errors(fuzzed: tuple[object, Served]) -> None:
    """Every operation, 15 generated requests each (schemathesis strategies driven by hypothesis;
    its pytest plugin is not used, it does not load under this pytest)."""
    schema, served = fuzzed
    headers = {"Authorization": f"Bearer {served.keys['admin']}"}
    checked = 0
    calls: list[int] = []
    for result in schema.get_all_operations():  # type: ignore[attr-defined]
        operation = result.ok()
        if operation.method.upper() == "POST" and operation.path == "/runs":
            continue  # background grading is tested in test_routes; here it would pile up jobs

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            calls.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])

        check()
        checked += 1
    assert checked >= 10 and len(calls) >= 10 * checked  # the requests were really sent
