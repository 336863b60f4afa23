"""/app/cohorts over HTTP: the retention triangle, the new / repeating / lapsed counts per month and
the days between purchases are checked against the demo shop's orders file read with pyarrow and
counted in plain Python here (not through tierkit's cohort query), formatted by hand."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
import shutil
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Shop, app_for, sign_in

BUCKETS = ((1, 7), (8, 14), (15, 30), (31, 60), (61, 90), (91, 180), (181, 365), (366, None))


def grouped(n: int) -> str:
    return f"{n:,}"


def pct(numerator: int, denominator: int) -> str:
    share = Decimal(numerator) * 100 / Decimal(denominator)
    return f"{share.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def month_of(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


@dataclass
class Expected:
    as_of: dt.date
    cohorts: dict[str, tuple[int, list[int]]]  # cohort -> (size, active per month after)
    activity: dict[str, dict[str, int]]  # month -> new, repeating, lapsed
    buckets: list[int]
    median: float | None
    mean: float | None
    repeaters: int


def as_of_of(root: Path) -> dt.date:
    run_id = (root / "runs" / "CURRENT").read_text("utf-8").strip()
    manifest = json.loads((root / "runs" / run_id / "manifest.json").read_text("utf-8"))
    return dt.date.fromisoformat(str(manifest["as_of"])[:10])


def expected(root: Path, months: int = 12, lapse_days: int = 180) -> Expected:
    """The page's figures counted from the orders file, one customer at a time."""
    as_of = as_of_of(root)
    orders = pq.read_table(root / "data" / "orders.parquet", columns=["customer_id", "ordered_at"]).to_pylist()
    days: dict[str, set[dt.date]] = defaultdict(set)
    for o in orders:
        if o["customer_id"] is not None and o["ordered_at"] is not None and o["ordered_at"] <= as_of:
            days[str(o["customer_id"])].add(o["ordered_at"])
    last = month_of(as_of)
    first = last - months + 1
    cohorts: dict[str, tuple[int, list[int]]] = {}
    activity = {label(m): {"new": 0, "repeating": 0, "lapsed": 0} for m in range(first, last + 1)}
    gaps: list[int] = []
    repeaters: set[str] = set()
    members: dict[int, list[set[int]]] = defaultdict(list)
    window_start = dt.date(first // 12, first % 12 + 1, 1)
    for customer, found in days.items():
        ordered = sorted(found)
        start = month_of(ordered[0])
        seen = {month_of(d) for d in ordered}
        members[start].append(seen)
        for m in seen:
            if first <= m <= last:
                activity[label(m)]["new" if m == start else "repeating"] += 1
        for d, after in zip(ordered, [*ordered[1:], None], strict=True):
            until = after if after is not None else as_of
            if (until - d).days > lapse_days:
                m = month_of(d + dt.timedelta(days=lapse_days))
                if first <= m <= last:
                    activity[label(m)]["lapsed"] += 1
        for before, later in itertools.pairwise(ordered):
            if later >= window_start:
                gaps.append((later - before).days)
                repeaters.add(customer)
    for cohort in range(first, last + 1):
        group = members.get(cohort, [])
        cohorts[label(cohort)] = (len(group), [sum(m in s for s in group) for m in range(cohort, last + 1)])
    buckets = [sum(low <= g and (high is None or g <= high) for g in gaps) for low, high in BUCKETS]
    median = float(statistics.median(gaps)) if gaps else None
    mean = round(statistics.fmean(gaps), 1) if gaps else None
    return Expected(as_of, cohorts, activity, buckets, median, mean, len(repeaters))


def retention_of(page: str) -> dict[str, dict[str, Any]]:
    """cohort -> the size shown, and each cell's (customers, percent text)."""
    table = page[page.index('id="retention"') : page.index("</table>", page.index('id="retention"'))]
    found = {}
    for row in re.finditer(r'<tr data-cohort="([^"]+)" data-customers="(\d+)">(.*?)</tr>', table, re.S):
        shown_size = re.search(r'<th scope="row"[^>]*>[^<]*</th>\s*<td class="num">([^<]+)</td>', row.group(3))
        assert shown_size
        cells = re.findall(r'<td class="num" data-k="(\d+)" data-active="(\d+)"[^>]*>([^<]+)</td>', row.group(3))
        found[row.group(1)] = {
            "size": int(row.group(2)),
            "size_text": shown_size.group(1),
            "cells": [(int(k), int(n), text) for k, n, text in cells],
        }
    return found


def activity_of(page: str) -> dict[str, dict[str, str]]:
    table = page[page.index('id="activity-table"') : page.index("</table>", page.index('id="activity-table"'))]
    found = {}
    for row in re.finditer(r'<tr data-month="([^"]+)">(.*?)</tr>', table, re.S):
        found[row.group(1)] = dict(re.findall(r'<td class="num" data-col="(\w+)">([^<]+)</td>', row.group(2)))
    return found


def buckets_of(page: str) -> list[str]:
    table = page[page.index('id="gap-table"') : page.index("</table>", page.index('id="gap-table"'))]
    return re.findall(r'<tr data-bucket="[^"]+"><th scope="row">[^<]+</th><td class="num">([^<]+)</td>', table)


def days_text(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def test_the_retention_triangle_is_the_orders_counted_by_hand(shop: Shop, visit: Any) -> None:
    want = expected(shop.root)
    page = visit("analyst").get("/app/cohorts")
    assert page.status_code == 200
    assert 'aria-current="page">客户群组' in page.text
    shown = retention_of(page.text)
    assert list(shown) == list(want.cohorts)  # the twelve months up to the as-of's, oldest first
    latest = label(month_of(want.as_of))
    size, active = want.cohorts[latest]
    assert size > 0 and shown[latest]["size"] == size and shown[latest]["size_text"] == grouped(size)
    assert shown[latest]["cells"] == [(0, size, "100.0%")]  # month 0 is the cohort itself
    for cohort, (size, active) in want.cohorts.items():
        assert shown[cohort]["size"] == size
        expected_cells = [(k, n, pct(n, size) if size else "—") for k, n in enumerate(active)]
        assert shown[cohort]["cells"] == expected_cells, cohort
    # shaded by value: a larger share is never lighter (less red in the blue scale)
    oldest = re.search(r'data-cohort="[^"]+".*?</tr>', page.text, re.S)
    assert oldest
    shades = re.findall(r'data-active="(\d+)" style="background: rgb\((\d+), \d+, \d+\)"', oldest.group(0))
    assert len(shades) == 12
    by_share = sorted((int(n), int(red)) for n, red in shades)
    assert [red for _, red in by_share] == sorted((red for _, red in by_share), reverse=True)


def test_new_repeating_and_lapsed_per_month_are_the_orders_counted_by_hand(shop: Shop, visit: Any) -> None:
    want = expected(shop.root)
    page = visit("admin").get("/app/cohorts").text
    shown = activity_of(page)
    assert list(shown) == list(want.activity)
    for month, counts in want.activity.items():
        new, repeating, lapsed = counts["new"], counts["repeating"], counts["lapsed"]
        assert shown[month] == {
            "new": grouped(new),
            "repeating": grouped(repeating),
            "active": grouped(new + repeating),
            "lapsed": grouped(lapsed),
        }, month
    latest = label(month_of(want.as_of))
    assert want.activity[latest]["new"] > 0 and want.activity[latest]["lapsed"] > 0
    kpi = re.search(r'id="kpi-active">.*?<span class="v">([^<]+)</span>', page, re.S)
    assert kpi and kpi.group(1) == grouped(want.activity[latest]["new"] + want.activity[latest]["repeating"])
    total_new = sum(c["new"] for c in want.activity.values())
    assert re.search(rf'id="kpi-new">.*?<span class="v">{total_new:,}</span>', page, re.S)
    # the stacked bars draw new on repeating; lapsed is its own series
    data = json.loads(html.unescape(re.search(r'id="data-active">(.*?)</script>', page, re.S).group(1)))  # type: ignore[union-attr]
    assert data["stack"] is True and [s["name"] for s in data["series"]] == ["新客", "回头客"]
    assert data["series"][0]["values"] == [c["new"] for c in want.activity.values()]
    lapsed = json.loads(re.search(r'id="data-lapsed">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert lapsed["series"][0]["values"] == [c["lapsed"] for c in want.activity.values()]
    # what "lapsed" means, in words, with the chosen number of days
    meaning = re.search(r'<li id="lapsed-meaning">(.*?)</li>', page, re.S)
    assert meaning and "购买后 180 天内没有再购买" in meaning.group(1) and "再计一次" in meaning.group(1)


def test_days_between_purchases_are_the_orders_counted_by_hand(shop: Shop, visit: Any) -> None:
    want = expected(shop.root)
    page = visit("analyst").get("/app/cohorts").text
    assert buckets_of(page) == [grouped(n) for n in want.buckets]
    assert want.buckets[0] > 0
    assert want.median is not None and want.mean is not None
    words = re.search(r'<p id="gap-words">(.*?)</p>', page, re.S)
    assert words
    said = words.group(1)
    assert f"中位数 {days_text(want.median)} 天" in said
    assert f"平均 {want.mean:,.1f} 天" in said
    assert f"共 {want.repeaters:,} 位客户有重复购买" in said
    data = json.loads(re.search(r'id="data-gaps">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert data["values"] == want.buckets and data["names"][0] == "1-7 天"


def test_the_months_and_the_lapse_days_are_chosen_in_the_form(shop: Shop, visit: Any) -> None:
    want = expected(shop.root, months=6, lapse_days=90)
    page = visit("analyst").get("/app/cohorts?months=6&lapse_days=90").text
    assert re.search(r'<input id="months" name="months" [^>]*value="6"', page)
    assert list(retention_of(page)) == list(want.cohorts) and len(want.cohorts) == 6
    shown = activity_of(page)
    assert {m: v["lapsed"] for m, v in shown.items()} == {m: grouped(c["lapsed"]) for m, c in want.activity.items()}
    assert buckets_of(page) == [grouped(n) for n in want.buckets]
    assert "购买后 90 天内没有再购买" in page
    assert 'id="moved"' not in page
    # out of range: the nearest allowed value, said in words (not an error page)
    clamped = visit("analyst").get("/app/cohorts?months=99&lapse_days=5")
    assert clamped.status_code == 200
    assert 'value="36"' in clamped.text and 'value="30"' in clamped.text
    assert "现按 36 个月、30 天显示" in clamped.text
    assert len(retention_of(clamped.text)) == 36


def test_english_and_an_agent_is_refused(shop: Shop, visit: Any) -> None:
    en = visit("analyst").get("/app/cohorts?lang=en").text
    assert '<html lang="en">' in en
    for words in ("Retention by month of first order", "Days between purchases", "Lapsed: when 180 days pass"):
        assert words in en
    assert "天" not in en.split('id="main"')[1].split("</main>")[0]  # no Chinese day units left
    refused = visit("agent").get("/app/cohorts")
    assert refused.status_code == 403 and "不能查看此页面" in refused.text


@pytest.fixture
def no_orders(shop: Shop, tmp_path: Path) -> Path:
    """A copy of the demo shop without its orders file (the shared shop stays as it is)."""
    root = tmp_path / "shop"
    shutil.copytree(shop.root, root)
    (root / "data" / "orders.parquet").unlink()
    return root


def test_a_workspace_without_orders_says_so(shop: Shop, no_orders: Path) -> None:
    with TestClient(app_for(no_orders)) as client:
        sign_in(client, shop.keys["analyst"])
        page = client.get("/app/cohorts")
        assert page.status_code == 200
        assert 'id="no-orders"' in page.text and "此工作区没有订单数据" in page.text
        assert 'id="retention"' not in page.text and "data-chart" not in page.text
        en = client.get("/app/cohorts?lang=en").text
        assert "This workspace has no orders" in en
