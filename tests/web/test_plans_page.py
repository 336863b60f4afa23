"""/app/plans over HTTP: no plan yet says so and offers to make it (with CSRF); the report shows
the coverage the application layer counts; downloads; staff only."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Shop, app_for, csrf_of, make_shop, sign_in
from tierkit.app.coverage import report


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return make_shop(tmp_path_factory.mktemp("plans") / "shop", None, 300)


def _client(shop: Shop, role: str) -> Any:
    client = TestClient(app_for(shop.root))
    sign_in(client, shop.keys[role])
    return client


def test_a_month_without_a_plan_offers_one_and_makes_it(own: Shop) -> None:
    client = _client(own, "analyst")
    first = client.get("/app/plans?month=2026-10")
    assert 'id="plan-missing"' in first.text and "2026-10 尚未生成联系计划" in first.text
    assert client.post("/app/plans", data={"month": "2026-10"}).status_code == 403  # no CSRF token
    made = client.post("/app/plans", data={"month": "2026-10", "csrf": csrf_of(first.text)}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/app/plans?month=2026-10"
    shown = client.get("/app/plans?month=2026-10").text
    found = report(own.root, "2026-10")
    cover = re.search(r'id="priority-coverage">([^<]+)<', shown)
    assert cover and cover.group(1) == f"{found['priority_coverage'] * 100:.1f}%"
    planned = sum(o["customers"] for o in found["by_owner"])
    assert f"{planned:,}" in shown
    plans = sorted((own.root / "plans" / "2026-10").glob("*.parquet"))
    assert len(plans) == 1 and pq.read_table(plans[0]).num_rows == planned
    got = client.get("/app/plans/2026-10.csv")
    assert got.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))) == planned


def test_plans_are_for_staff(own: Shop) -> None:
    assert _client(own, "agent").get("/app/plans").status_code == 403


def test_a_month_before_the_run_is_refused_in_words(own: Shop, tmp_path: Path) -> None:
    shown = _client(own, "analyst").get("/app/plans?month=2026-01").text
    assert "after that month" in shown
