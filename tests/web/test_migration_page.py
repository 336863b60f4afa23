"""/app/migration over HTTP: the matrix, the KPIs, one cell's customers and the Sankey data are
checked against counts taken straight from the two runs' result files with pyarrow (not through
tierkit's migration code)."""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Shop, app_for, sign_in
from tierkit.app.demo import demo
from tierkit.runs.files import store_of
from tierkit.store.users import add_user
from tierkit.workspace import Workspace

NEW, GONE = "(new)", "(gone)"


def runs_of(root: Path) -> list[dict[str, Any]]:
    """Each run's id, manifest and result rows (customer_id -> (tier, value)), by as-of date."""
    found = []
    for manifest in sorted((root / "runs").glob("*/manifest.json")):
        meta = json.loads(manifest.read_text("utf-8"))
        metric = meta.get("value_metric")
        table = pq.read_table(manifest.parent / "result.parquet", columns=["customer_id", "tier", metric])
        rows = {r["customer_id"]: (r["tier"], r[metric]) for r in table.to_pylist()}
        found.append({"id": meta["run_id"], "as_of": meta["as_of"], "tiers": meta["tiers"], "rows": rows})
    return sorted(found, key=lambda r: r["as_of"])


def oracle(a: dict[str, Any], b: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """(from, to) -> the customers in that cell: the tier in each run joined on customer_id."""
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for cid in a["rows"].keys() | b["rows"].keys():
        before = a["rows"][cid][0] if cid in a["rows"] else NEW
        after = b["rows"][cid][0] if cid in b["rows"] else GONE
        cells[(before, after)].append(cid)
    return cells


def whole_yuan(value: Decimal) -> str:
    return f"¥{value.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"


def matrix_of(page: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every cell of the matrix table: customers shown, and the value line (before → after)."""
    table = page[page.index('id="matrix"') : page.index("</table>", page.index('id="matrix"'))]
    found = {}
    for m in re.finditer(
        r'<td class="num" data-from="([^"]+)" data-to="([^"]+)" data-customers="(\d+)"[^>]*>(.*?)</td>', table, re.S
    ):
        shown = re.sub(r"<[^>]+>", " ", m.group(4))
        numbers = re.findall(r"(?<![¥\d,])(\d[\d,]*)(?![\d,])", shown.split("¥")[0])
        value = re.search(r"(—|¥[\d,]+) → (—|¥[\d,]+)", shown)
        found[(html.unescape(m.group(1)), html.unescape(m.group(2)))] = {
            "attr": int(m.group(3)),
            "text": int(numbers[0].replace(",", "")) if numbers else None,
            "value": value.groups() if value else None,
        }
    return found


def sankey_of(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="data-sankey">(.*?)</script>', page, re.S)
    assert found, "no Sankey data on the page"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def listed_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-customer="([^"]+)">', page)


@pytest.fixture(scope="module")
def pair(shop: Shop) -> tuple[dict[str, Any], dict[str, Any]]:
    found = runs_of(shop.root)
    assert len(found) == 2
    return found[0], found[1]


def test_the_default_pair_is_the_run_before_the_published_one(visit: Any, pair: tuple[Any, Any]) -> None:
    a, b = pair
    page = visit("analyst").get("/app/migration")
    assert page.status_code == 200
    assert re.search(rf'<select id="run-from" name="from">.*?<option value="{a["id"]}" selected>', page.text, re.S)
    assert re.search(rf'<select id="run-to" name="to">.*?<option value="{b["id"]}" selected>', page.text, re.S)
    assert f"截至 {b['as_of']} · 批次 {b['id']} · 已发布" in page.text  # the published one is said
    assert '<label for="run-from">' in page.text and 'aria-current="page">客户迁移' in page.text


def test_the_matrix_counts_and_values_match_the_result_files(visit: Any, pair: tuple[Any, Any]) -> None:
    a, b = pair
    expected = oracle(a, b)
    page = visit("admin").get(f"/app/migration?from={a['id']}&to={b['id']}")
    shown = matrix_of(page.text)
    tiers = b["tiers"]
    assert set(shown) == {(f, t) for f in [*tiers, NEW] for t in [*tiers, GONE]}
    for key, cell in shown.items():
        members = expected.get(key, [])
        assert cell["attr"] == len(members), key
        assert cell["text"] == (len(members) if members else 0), key
        if members:  # the value before → after, summed here from the files
            before = sum((a["rows"][c][1] for c in members if c in a["rows"]), Decimal(0))
            after = sum((b["rows"][c][1] for c in members if c in b["rows"]), Decimal(0))
            shown_before = "—" if key[0] == NEW else whole_yuan(before)  # no value before a customer joined
            shown_after = "—" if key[1] == GONE else whole_yuan(after)
            assert cell["value"] == (shown_before, shown_after), key
    assert set(expected) <= set(shown)  # no cell of the files is missing from the page
    assert sum(c["attr"] for c in shown.values()) == len(a["rows"].keys() | b["rows"].keys())
    # the KPIs: up / down by the manifest's tier order (index 0 best), stayed, new, gone
    rank = {t: i for i, t in enumerate(tiers)}
    both = [(f, t) for (f, t) in expected if f != NEW and t != GONE]
    up = sum(len(expected[k]) for k in both if rank[k[1]] < rank[k[0]])
    down = sum(len(expected[k]) for k in both if rank[k[1]] > rank[k[0]])
    stay = sum(len(expected[k]) for k in both if k[0] == k[1])
    new = sum(len(v) for k, v in expected.items() if k[0] == NEW)
    gone = sum(len(v) for k, v in expected.items() if k[1] == GONE)
    assert up and down and new  # the demo shop has each kind of move
    for move, n in (("up", up), ("down", down), ("stay", stay), ("new", new), ("gone", gone)):
        kpi = re.search(rf'data-move="{move}"><span class="k">[^<]+</span><span class="v">([\d,]+)</span>', page.text)
        assert kpi and int(kpi.group(1).replace(",", "")) == n, move
    assert "升级" in page.text and "降级" in page.text and "新客户" in page.text and "流失" in page.text
    assert "VIP客户" in page.text  # tiers by their labels


def test_a_cell_lists_exactly_its_customers_page_by_page(visit: Any, pair: tuple[Any, Any]) -> None:
    a, b = pair
    expected = oracle(a, b)
    client = visit("analyst")
    big = max(expected, key=lambda k: len(expected[k]))  # the diagonal of the lowest tier: pages of 50
    assert len(expected[big]) > 50
    for key in (big, next(k for k in expected if k[0] == NEW), next(k for k in expected if k[0] != k[1] != GONE)):
        seen: list[str] = []
        offset = 0
        while True:
            page = client.get(
                "/app/migration",
                params={"from": a["id"], "to": b["id"], "cell_from": key[0], "cell_to": key[1], "offset": offset},
            )
            assert page.status_code == 200
            ids = listed_ids(page.text)
            assert len(ids) <= 50
            if not ids:
                break
            seen += ids
            for cid in ids:
                assert f'<a href="/app/customers/{cid}">{cid}</a>' in page.text
            offset += 50
        assert sorted(seen) == sorted(expected[key]), key
        assert len(seen) == len(set(seen))
    # a cell nobody is in says so
    empty = next((f, t) for f in b["tiers"] for t in b["tiers"] if (f, t) not in expected)
    page = client.get(
        "/app/migration", params={"from": a["id"], "to": b["id"], "cell_from": empty[0], "cell_to": empty[1]}
    )
    assert page.status_code == 200 and "这一格没有客户。" in page.text and not listed_ids(page.text)


def test_the_list_shows_each_customers_value_before_and_after(visit: Any, pair: tuple[Any, Any]) -> None:
    a, b = pair
    page = visit("admin").get(
        "/app/migration", params={"from": a["id"], "to": b["id"], "cell_from": "regular", "cell_to": "vip"}
    )
    rows = re.findall(r'<tr data-customer="([^"]+)">(.*?)</tr>', page.text, re.S)
    assert rows
    for cid, row in rows:
        values = re.findall(r'<td class="num">([^<]+)</td>', row)
        before, after = a["rows"][cid][1], b["rows"][cid][1]
        assert values == [
            f"¥{before:,.2f}",
            f"¥{after:,.2f}",
            f"{'-' if after < before else ''}¥{abs(after - before):,.2f}",
        ]


def test_the_sankey_links_add_up_and_lead_to_their_cells(visit: Any, pair: tuple[Any, Any]) -> None:
    a, b = pair
    expected = oracle(a, b)
    client = visit("analyst")
    page = client.get("/app/migration")
    data = sankey_of(page.text)
    names = [n["name"] for n in data["nodes"]]
    assert len(names) == len(set(names))  # ECharts needs unique node names
    sources, targets = {x["source"] for x in data["links"]}, {x["target"] for x in data["links"]}
    assert not sources & targets  # left and right apart: no cycle
    assert (sources | targets) == set(names)
    assert sum(x["value"] for x in data["links"]) == len(a["rows"].keys() | b["rows"].keys())
    assert sorted(x["value"] for x in data["links"]) == sorted(len(v) for v in expected.values())
    assert "VIP客户 (06-30)" in sources and "VIP客户 (09-30)" in targets and "新客户" in sources
    assert 'data-chart="sankey"' in page.text and 'data-click="1"' in page.text
    link = next(x for x in data["links"] if x["source"] == "新客户")
    listed = client.get(link["href"].split("#")[0])
    assert len(listed_ids(listed.text)) == min(link["value"], 50)
    assert f"新客户 → 潜在客户：{link['value']} 位客户" in listed.text


def test_the_page_in_english(visit: Any) -> None:
    page = visit("analyst").get("/app/migration?lang=en")
    assert '<html lang="en">' in page.text
    for words in (
        "Tier migration",
        "Migration matrix",
        "Moved up",
        "Moved down",
        "Stayed",
        "New customers",
        "Gone",
        ">VIP<",
        ">Regular<",
        ">Potential<",
    ):
        assert words in page.text, words
    assert "VIP客户" not in page.text and "新客户" not in page.text and "升级" not in page.text
    data = sankey_of(page.text)
    assert "VIP (09-30)" in {x["target"] for x in data["links"]}


def test_runs_given_later_first_are_read_in_time_order(visit: Any, pair: tuple[Any, Any]) -> None:
    a, b = pair
    page = visit("analyst").get(f"/app/migration?from={b['id']}&to={a['id']}")
    assert page.status_code == 200 and 'id="reordered"' in page.text
    assert f"从 {a['as_of']} (批次 {a['id']}) 到 {b['as_of']} (批次 {b['id']})" in page.text


def test_a_wrong_run_or_cell_is_a_page_in_words(visit: Any, pair: tuple[Any, Any]) -> None:
    a, b = pair
    client = visit("analyst")
    missing = client.get("/app/migration?from=no-such-run")
    assert missing.status_code == 404 and "找不到批次 no-such-run" in missing.text
    assert "<html" in missing.text and "Traceback" not in missing.text
    cell = client.get(
        "/app/migration", params={"from": a["id"], "to": b["id"], "cell_from": "vip", "cell_to": "nowhere"}
    )
    assert cell.status_code == 404 and "迁移矩阵中没有 vip → nowhere 这一格" in cell.text


def test_agents_may_not_see_the_page(visit: Any) -> None:
    refused = visit("agent").get("/app/migration")
    assert refused.status_code == 403 and "不能查看此页面" in refused.text


def test_a_workspace_with_one_run_says_so(tmp_path: Path) -> None:
    root = tmp_path / "one"
    demo(root, 300, 7, None, "zh")  # no history: one run
    key = add_user(store_of(Workspace.open(root)), "admin-user", "admin")
    with TestClient(app_for(root)) as client:
        sign_in(client, key)
        page = client.get("/app/migration")
        assert page.status_code == 200
        assert "此工作区目前只有 1 个分级批次，至少需要两个才能比较客户迁移" in page.text
        assert "data-sankey" not in page.text and 'id="matrix"' not in page.text
        assert 'href="/app/runs"' in page.text
        english = client.get("/app/migration?lang=en")
        assert "This workspace has 1 run(s) so far; comparing migration needs two" in english.text
