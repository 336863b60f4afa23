"""/app/small over HTTP, held to the oracle of tests/api/test_small_api.py (DuckDB SQL over the
published run's result file, from the rules as docs/operations.md states them): the counts, each
list in working order page by page, the reasons in the page's language, a link to each card,
both lists whole as a download; staff only."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

import tierkit.web.routes.small as small_route
from tests.api.test_small_api import WORDS, oracle
from tests.web.conftest import Shop, app_for, current_result, make_shop, sign_in
from tierkit.runs.files import store_of
from tierkit.store.audit import entries
from tierkit.workspace import Workspace

ROW = re.compile(r'<tr data-customer="([^"]+)" data-signals="([^"]*)">(.*?)</tr>', re.S)


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return make_shop(tmp_path_factory.mktemp("small") / "shop", None, 400)


def _client(shop: Shop, role: str) -> Any:
    client = TestClient(app_for(shop.root))
    sign_in(client, shop.keys[role])
    return client


def _figure(html: str, id_: str) -> int:
    found = re.search(rf'id="{id_}">([^<]+)<', html)
    assert found, id_
    return int(found.group(1).replace(",", ""))


def _walk(client: TestClient, url: str) -> list[tuple[str, str, str]]:
    """(customer, signals, row html) of every page, following the pager's next link."""
    rows: list[tuple[str, str, str]] = []
    while url:
        got = client.get(url)
        assert got.status_code == 200, got.text[:500]
        rows += ROW.findall(got.text)
        following = re.search(r'<a href="([^"]+)" rel="next">', got.text)
        url = following.group(1).replace("&amp;", "&") if following else ""
    return rows


def test_the_counts_and_the_lists_are_the_oracles(own: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = oracle(current_result(own))
    assert expected.upgrade and expected.weed_out
    client = _client(own, "analyst")
    shown = client.get("/app/small").text
    assert _figure(shown, "small-count") == expected.small and _figure(shown, "protected-count") == expected.protected
    assert _figure(shown, "upgrade-count") == len(expected.upgrade)
    assert _figure(shown, "weed-out-count") == len(expected.weed_out)
    assert 'aria-current="page" class="button" data-list="upgrade"' in shown
    monkeypatch.setattr(small_route, "PAGE", 7)  # several pages of each list
    for listed, ids in (("upgrade", expected.upgrade), ("weed_out", expected.weed_out)):
        rows = _walk(client, f"/app/small?list={listed}")
        assert [cid for cid, _, _ in rows] == ids, listed
        for cid, signals, html in rows:
            assert set(signals.split(",")) == expected.signals[cid], cid
            assert f'<a href="/app/customers/{cid}">{cid}</a>' in html  # each row opens the card
            for signal in expected.signals[cid]:
                assert WORDS["zh"][signal] in html, (cid, signal)
            if listed == "upgrade":
                assert "升级计划:" in html and 'data-action="offer_higher_margin"' in html


def test_the_page_in_english(own: Shop) -> None:
    expected = oracle(current_result(own))
    shown = _client(own, "admin").get("/app/small?list=weed_out&lang=en").text
    assert '<html lang="en">' in shown and "Weed-out candidates" in shown
    rows = ROW.findall(shown)
    assert [cid for cid, _, _ in rows] == expected.weed_out[: small_route.PAGE]
    for cid, _, html in rows:
        assert all(WORDS["en"][s] in html for s in expected.signals[cid]), cid


def test_both_lists_whole_as_a_download_audited(own: Shop) -> None:
    expected = oracle(current_result(own))
    client = _client(own, "analyst")
    got = client.get("/app/small.csv")
    assert got.status_code == 200
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert [r["customer_id"] for r in rows] == expected.upgrade + expected.weed_out
    xlsx = client.get("/app/small.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    audited = entries(store_of(Workspace.open(own.root)), target="small.csv")
    assert audited and audited[0]["action"] == "export" and audited[0]["actor"] == "analyst-user"


def test_staff_only_and_in_the_staffs_nav(own: Shop) -> None:
    agent = _client(own, "agent")
    assert agent.get("/app/small").status_code == 403
    assert agent.get("/app/small.csv").status_code == 403
    assert 'href="/app/small"' not in agent.get("/app/customers").text
    staff = _client(own, "analyst").get("/app/small?list=weed_out").text
    assert '<a href="/app/small" aria-current="page">小客户</a>' in staff
    assert _client(own, "analyst").get("/app/small?list=all").status_code == 422
