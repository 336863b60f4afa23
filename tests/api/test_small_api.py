"""GET /small over HTTP, held to an oracle of its own: DuckDB SQL over the published run's result
file, written from the rules as docs/operations.md states them (not from tierkit's code).

Small: the bottom half of the run by the value measure (ranked by value, highest first, ties by
customer id; rank * 2 > customers). Weed-out signals: late_payments_12m >= 2, unpaid_orders_12m
>= 1, complaints_90d >= 3, margin - cost to serve < 0; upgrade signals: order_trend_6m >= 1.2,
categories_12m >= 3. A key person (the tag, or the 集团关键人 attribute, or the tag given by hand)
is on neither list; weed-out signals decide over growth. Weed-out in working order: most signals
first, then the largest loss, then the larger value; upgrade: most signals, then the larger value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.serving import Settings

WORDS = {  # a signal as the reasons say it, per language (docs/operations.md)
    "zh": {
        "growth": "增长",
        "breadth": "品类广",
        "late": "延期付款",
        "unpaid": "拖欠不付款",
        "complaints": "投诉多",
        "loss": "扣除服务成本后亏损",
    },
    "en": {
        "growth": "growing",
        "breadth": "buys across categories",
        "late": "pays late",
        "unpaid": "does not pay",
        "complaints": "complains a lot",
        "loss": "loses money after the cost to serve",
    },
}
ORACLE = """
with ranked as (
    select *, row_number() over (order by coalesce(spend_12m, 0) desc, customer_id) as rk,
           count(*) over () as n
    from read_parquet(?)
), judged as (
    select customer_id, rk, margin_12m - coalesce(service_cost_12m, 0) as profit,
        coalesce(tag_key_person, false) or coalesce("集团关键人", false) or customer_id in ({given}) as protected,
        coalesce(late_payments_12m >= 2, false) as late,
        coalesce(unpaid_orders_12m >= 1, false) as unpaid,
        coalesce(complaints_90d >= 3, false) as complaints,
        coalesce(margin_12m - coalesce(service_cost_12m, 0) < 0, false) as loss,
        coalesce(order_trend_6m >= 1.2, false) as growth,
        coalesce(categories_12m >= 3, false) as breadth
    from ranked where rk * 2 > n
)
select *, late::int + unpaid::int + complaints::int + loss::int as outs, growth::int + breadth::int as ups
from judged
"""


@dataclass
class Oracle:
    small: int
    protected: int
    upgrade: list[str]  # in working order
    weed_out: list[str]
    signals: dict[str, set[str]]  # customer -> the signals the reasons must name


def oracle(result: Path, given: tuple[str, ...] = ()) -> Oracle:
    """The lists by DuckDB SQL over the result file; `given`: customers with 集团关键人 given by hand."""
    sql = ORACLE.format(given=", ".join(f"'{g}'" for g in given) or "NULL")
    rows = duckdb.connect().execute(sql, [str(result)]).fetch_arrow_table().to_pylist()
    weed = [r for r in rows if not r["protected"] and r["outs"] >= 1]
    grow = [r for r in rows if not r["protected"] and r["outs"] == 0 and r["ups"] >= 1]
    weed.sort(key=lambda r: (-r["outs"], r["profit"], r["rk"], r["customer_id"]))
    grow.sort(key=lambda r: (-r["ups"], r["rk"], r["customer_id"]))
    names = ("late", "unpaid", "complaints", "loss", "growth", "breadth")
    return Oracle(
        small=len(rows),
        protected=sum(1 for r in rows if r["protected"]),
        upgrade=[r["customer_id"] for r in grow],
        weed_out=[r["customer_id"] for r in weed],
        signals={r["customer_id"]: {s for s in names if r[s]} for r in weed + grow},
    )


def current_result(root: Path) -> Path:
    run_id = (root / "runs" / "CURRENT").read_text("utf-8").strip()
    return root / "runs" / run_id / "result.parquet"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """A demo shop of its own (nothing else tags or reassigns its customers), SQLite store."""
    return make_workspace(tmp_path_factory.mktemp("small") / "ws", "sqlite", customers=500)


@pytest.fixture
def api(own: Served) -> Iterator[TestClient]:
    with TestClient(create_app(own.workspace.root, Settings(rate_per_second=0, lang="zh"))) as test_client:
        yield test_client


def _whole(api: TestClient, own: Served, listed: str, lang: str = "zh", page: int = 500) -> list[dict[str, Any]]:
    """Every row of a list, page by page."""
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        got = api.get(f"/small?list={listed}&limit={page}&offset={offset}&lang={lang}", headers=own.headers("analyst"))
        assert got.status_code == 200, got.text
        found = got.json()
        rows += found["items"]
        offset += page
        if offset >= found["total"]:
            return rows


def test_the_lists_are_the_oracles(api: TestClient, own: Served) -> None:
    expected = oracle(current_result(own.workspace.root))
    assert expected.upgrade and expected.weed_out  # the demo shop has both kinds
    first = api.get("/small?limit=5", headers=own.headers("admin")).json()
    assert (first["small_customers"], first["protected"], first["customers"]) == (
        expected.small,
        expected.protected,
        500,
    )
    assert first["counts"]["upgrade"] == len(expected.upgrade) and first["counts"]["weed_out"] == len(expected.weed_out)
    assert sum(first["counts"]["by_action"].values()) == len(expected.weed_out)
    assert first["list"] == "upgrade" and first["total"] == len(expected.upgrade) and first["notes"] == []
    assert [i["customer_id"] for i in first["items"]] == expected.upgrade[:5]
    assert [i["customer_id"] for i in _whole(api, own, "upgrade")] == expected.upgrade
    assert [i["customer_id"] for i in _whole(api, own, "weed_out")] == expected.weed_out


def test_pages_add_up_to_the_whole_list(api: TestClient, own: Served) -> None:
    whole = _whole(api, own, "weed_out")
    assert _whole(api, own, "weed_out", page=7) == whole
    past = api.get(f"/small?list=weed_out&offset={len(whole) + 10}", headers=own.headers("analyst")).json()
    assert past["items"] == [] and past["total"] == len(whole) and past["offset"] == len(whole) + 10


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_candidate_says_why_in_the_asked_language(api: TestClient, own: Served, lang: str) -> None:
    expected = oracle(current_result(own.workspace.root))
    words = WORDS[lang]
    for listed in ("upgrade", "weed_out"):
        for item in _whole(api, own, listed, lang):
            cid = item["customer_id"]
            assert set(item["signals"]) == expected.signals[cid], cid
            for signal in expected.signals[cid]:
                assert words[signal] in item["why"], (cid, signal, item["why"])
            assert item["action_label"] and item["action"]
            if listed == "upgrade":
                assert item["action"] == "offer_higher_margin" and item["plan"] and item["target_date"]
            else:
                assert item["plan"] is None
                if "loss" in item["signals"]:
                    assert item["profit"].startswith("-")


def test_a_key_person_given_by_hand_leaves_the_lists(api: TestClient, own: Served) -> None:
    first = oracle(current_result(own.workspace.root)).weed_out[0]
    given = api.post(
        f"/customers/{first}/tags",
        headers=own.headers("analyst"),
        json={"tag": "集团关键人", "reason": "集团采购负责人"},
    )
    assert given.status_code == 201, given.text
    try:
        expected = oracle(current_result(own.workspace.root), (first,))
        found = api.get("/small?list=weed_out&limit=500", headers=own.headers("analyst")).json()
        assert [i["customer_id"] for i in found["items"]] == expected.weed_out and first not in expected.weed_out
        assert found["protected"] == expected.protected
    finally:
        assert api.delete(f"/customers/{first}/tags/集团关键人", headers=own.headers("analyst")).status_code == 204


def test_staff_only_and_bad_parameters(api: TestClient, own: Served) -> None:
    refused = api.get("/small", headers=own.headers("agent"))
    assert refused.status_code == 403 and refused.json() == {"detail": "the agent role may not do this"}
    assert api.get("/small", headers={"Authorization": "Bearer tk_wrong"}).status_code == 401
    for bad in ("list=all", "limit=0", "limit=501", "offset=-1", "lang=fr"):
        assert api.get(f"/small?{bad}", headers=own.headers("analyst")).status_code == 422, bad
