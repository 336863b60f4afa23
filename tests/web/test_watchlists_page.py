"""/app/watchlists over HTTP: each list's rows are checked against the runs' result files read with
pyarrow and sorted, joined and filtered in plain Python here (not through tierkit's watchlists
code); exports against the page's totals; who may export."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Shop, app_for, current_result, sign_in

PAGE = 50
FLAG_GROUPS = {"complaint", "credit"}


def yuan(value: Any) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'-' if amount < 0 else ''}¥{abs(amount):,.2f}"


def risk_texts(value: float) -> set[str]:
    """The risk as a percent to two places, half-up; on an exact tie of the fourth decimal either
    neighbour (the list carries the risk rounded to four decimals as a float)."""
    scaled = Decimal(str(value)) * 100
    near = {f"{scaled.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"}
    if (scaled * 100) % 1 == Decimal("0.5"):
        near.add(f"{(scaled - Decimal('0.005')).quantize(Decimal('0.01'))}%")
    return near


def run_dirs(root: Path) -> list[tuple[dict[str, Any], Path]]:
    """Each run's manifest and folder, by as-of date."""
    found = [(json.loads(m.read_text("utf-8")), m.parent) for m in (root / "runs").glob("*/manifest.json")]
    return sorted(found, key=lambda x: str(x[0]["as_of"]))


def published(root: Path) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """The published run's manifest, policy and folder."""
    folder = current_result(Shop(root, {})).parent
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    policy = json.loads((folder / "policy.json").read_text("utf-8"))
    return manifest, policy, folder


def rows_of(page: str) -> list[tuple[str, str]]:
    """(customer id, the row's HTML) of the list's table, in order."""
    table = page[page.index('id="watchlist"') : page.index("</table>", page.index('id="watchlist"'))]
    return re.findall(r'<tr data-customer="([^"]+)">(.*?)</tr>', table, re.S)


def total_of(page: str) -> int:
    found = re.search(r'id="list-count" data-total="(\d+)"', page)
    assert found, "no count on the page"
    return int(found.group(1))


def whole_list(client: TestClient, which: str) -> list[tuple[str, str]]:
    first = client.get(f"/app/watchlists?list={which}").text
    rows, total = rows_of(first), total_of(first)
    for offset in range(PAGE, total, PAGE):
        rows += rows_of(client.get(f"/app/watchlists?list={which}&offset={offset}").text)
    assert len(rows) == total
    return rows


def test_the_churn_list_is_the_highest_risk_first(shop: Shop, visit: Any) -> None:
    _, policy, folder = published(shop.root)
    metrics = policy["metrics"]
    risk = next(name for name, spec in metrics.items() if spec.get("churn") == "risk")
    signals = next(name for name, spec in metrics.items() if spec.get("churn") == "signals")
    table = pq.read_table(folder / "result.parquet", columns=["customer_id", risk, signals]).to_pylist()
    known = sorted((r for r in table if r[risk] is not None), key=lambda r: (-r[risk], r["customer_id"]))
    ranked = known + sorted((r for r in table if r[risk] is None), key=lambda r: r["customer_id"])

    client = visit("agent")  # every role sees the lists
    page = client.get("/app/watchlists")
    assert page.status_code == 200 and 'aria-current="page">预警名单' in page.text
    assert 'data-list="churn"' in page.text and total_of(page.text) == len(table)
    for offset in (0, PAGE):
        shown = rows_of(client.get(f"/app/watchlists?list=churn&offset={offset}").text)
        want = ranked[offset : offset + PAGE]
        assert [cid for cid, _ in shown] == [r["customer_id"] for r in want]
        for (cid, row), r in zip(shown, want, strict=True):
            text = re.search(r'data-col="risk"><strong>([^<]+)</strong>', row)
            assert text and text.group(1) in risk_texts(r[risk]), (cid, r[risk], text.group(1) if text else None)
            assert f'href="/app/customers/{cid}"' in row
            said = re.findall(r"<li>([^<]+)</li>", row)
            assert bool(said) == bool(r[signals]), (cid, r[signals])
    top = rows_of(page.text)[0][1]
    assert "近90天" in top or "距上次购买" in top or "近半年" in top  # the signals in words, not names=values
    assert "=" not in "".join(re.findall(r"<li>([^<]+)</li>", top))
    assert 'id="export-csv"' not in page.text  # no export for an agent


def test_moved_down_is_the_two_runs_joined_by_hand(shop: Shop, visit: Any) -> None:
    manifest, policy, folder = published(shop.root)
    earlier = [(m, f) for m, f in run_dirs(shop.root) if str(m["as_of"]) < str(manifest["as_of"])]
    before_manifest, before_folder = earlier[-1]
    tiers = [str(t) for t in manifest["tiers"]]  # the first is the highest
    labels = {t["name"]: t["label"]["zh"] for t in policy["tiers"]}
    metric, metric_then = manifest["value_metric"], before_manifest["value_metric"]
    now = {r["customer_id"]: r for r in pq.read_table(folder / "result.parquet").to_pylist()}
    then = {r["customer_id"]: r for r in pq.read_table(before_folder / "result.parquet").to_pylist()}
    moved = [
        (cid, then[cid]["tier"], now[cid]["tier"], then[cid][metric_then], now[cid][metric])
        for cid in now.keys() & then.keys()
        if then[cid]["tier"] in tiers
        and now[cid]["tier"] in tiers
        and tiers.index(now[cid]["tier"]) > tiers.index(then[cid]["tier"])
    ]
    moved.sort(key=lambda m: m[0])
    moved.sort(key=lambda m: m[3], reverse=True)  # by the value then, largest first; ties by id
    assert moved, "the demo's two quarters should move someone down"

    client = visit("analyst")
    page = client.get("/app/watchlists?list=moved_down").text
    assert total_of(page) == len(moved)
    assert f"与截至 {before_manifest['as_of']} 的批次 {before_manifest['run_id']} 比较" in page
    shown = whole_list(client, "moved_down")
    assert [cid for cid, _ in shown] == [m[0] for m in moved]
    for (_, row), (_, old, new, value_then, value_now) in zip(shown, moved, strict=True):
        assert f'data-from="{old}" data-to="{new}">{labels[old]} → {labels[new]}</td>' in row
        assert f'data-col="value-before">{yuan(value_then)}</td>' in row
        assert f'data-col="value-now">{yuan(value_now)}</td>' in row


def test_flagged_are_the_customers_with_complaint_or_credit_tags(shop: Shop, visit: Any) -> None:
    manifest, policy, folder = published(shop.root)
    flags = [t["name"] for t in policy["tags"] if t.get("group") in FLAG_GROUPS]
    assert flags
    metric = manifest["value_metric"]
    table = pq.read_table(folder / "result.parquet", columns=["customer_id", "tags", metric]).to_pylist()
    want = {}
    for r in table:
        have = [t for t in (r["tags"] or "").split(",") if t in flags]
        if have:
            want[r["customer_id"]] = (have, r[metric])
    order = sorted(want, key=lambda cid: (-len(want[cid][0]), -(want[cid][1] or 0), cid))
    assert len(want) > PAGE  # two pages

    client = visit("admin")
    shown = whole_list(client, "flagged")
    assert [cid for cid, _ in shown] == order
    for cid, row in shown:
        chips = re.findall(r'<span class="chip warn" data-tag="([^"]+)">', row)
        assert sorted(chips) == sorted(want[cid][0]), cid
    assert 'class="pager"' in client.get("/app/watchlists?list=flagged").text


def test_an_export_has_every_row_of_the_list(shop: Shop, visit: Any) -> None:
    client = visit("analyst")
    for which in ("churn", "moved_down", "flagged"):
        page = client.get(f"/app/watchlists?list={which}").text
        assert f'href="/app/watchlists/{which}.csv"' in page and f'href="/app/watchlists/{which}.xlsx"' in page
        got = client.get(f"/app/watchlists/{which}.csv")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert got.content.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
        rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        assert rows[0][0] == "customer_id" and len(rows) - 1 == total_of(page), which
        assert [r[0] for r in rows[1:6]] == [cid for cid, _ in rows_of(page)[:5]]
    book = client.get("/app/watchlists/flagged.xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    assert "attachment" in book.headers["content-disposition"]


def test_an_agent_may_not_export(shop: Shop, visit: Any) -> None:
    client = visit("agent")
    assert client.get("/app/watchlists?list=flagged").status_code == 200
    for path in ("/app/watchlists/churn.csv", "/app/watchlists/flagged.xlsx"):
        refused = client.get(path)
        assert refused.status_code == 403 and "不能查看此页面" in refused.text


def test_english_and_an_unknown_list(shop: Shop, visit: Any) -> None:
    client = visit("analyst")
    en = client.get("/app/watchlists?list=moved_down&lang=en").text
    assert '<html lang="en">' in en
    for words in ("Watchlists", "Moved down", "Tier then → now", "Regular → Potential", "Export CSV"):
        assert words in en
    churn = client.get("/app/watchlists").text  # English remembered
    assert "What drove it" in churn and "days since the last order" in churn
    missing = client.get("/app/watchlists?list=nobody")
    assert missing.status_code == 404 and "There is no list nobody" in missing.text


@pytest.fixture
def one_run(shop: Shop, tmp_path: Path) -> Path:
    """A copy of the demo shop with the earlier run removed (the shared shop stays as it is)."""
    root = tmp_path / "shop"
    shutil.copytree(shop.root, root)
    for _, folder in run_dirs(root)[:-1]:
        shutil.rmtree(folder)
    return root


def test_a_list_that_cannot_be_made_shows_its_note(shop: Shop, one_run: Path) -> None:
    with TestClient(app_for(one_run)) as client:
        sign_in(client, shop.keys["admin"])
        page = client.get("/app/watchlists?list=moved_down")
        assert page.status_code == 200
        assert 'id="list-note"' in page.text and "没有更早评估日期的评级可比较" in page.text
        assert 'id="watchlist"' not in page.text and 'id="export-csv"' not in page.text
        refused = client.get("/app/watchlists/moved_down.csv")
        assert refused.status_code == 400 and "没有更早评估日期的评级可比较" in refused.text
        assert 'id="watchlist"' in client.get("/app/watchlists?list=churn").text  # the others still are
