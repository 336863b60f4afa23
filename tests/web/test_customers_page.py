"""/app/customers and the card page over HTTP: filters, search by id, phone, name and pinyin,
exports, and what each role sees; the oracle is the run's result file read with pyarrow."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import pyarrow.parquet as pq
from pypinyin import lazy_pinyin

from tests.web.conftest import Shop, csrf_of, current_result


def _people(shop: Shop) -> list[dict[str, Any]]:
    table = pq.read_table(shop.root / "data" / "customers.parquet", columns=["customer_id", "name", "phone"])
    return [r for r in table.to_pylist() if r["name"] and r["phone"]]


def _count(html: str) -> int:
    found = re.search(r'id="result-count">共 ([\d,]+) 位客户', html)
    assert found, html[:2000]
    return int(found.group(1).replace(",", ""))


def test_a_tier_filter_lists_the_tier_in_effect(shop: Shop, visit: Any) -> None:
    client = visit("analyst")
    tiers = pq.read_table(current_result(shop), columns=["tier"])["tier"].to_pylist()
    for tier in ("vip", "regular", "potential"):
        assert _count(client.get(f"/app/customers?tier={tier}").text) == tiers.count(tier)


def test_a_tag_filter_and_paging(shop: Shop, visit: Any) -> None:
    client = visit("analyst")
    tags = pq.read_table(current_result(shop), columns=["customer_id", "tags"]).to_pylist()
    having = sorted(r["customer_id"] for r in tags if "price_sensitive" in (r["tags"] or "").split(","))
    first = client.get("/app/customers?tag=price_sensitive").text
    assert _count(first) == len(having)
    listed = re.findall(r'<td><a href="/app/customers/(\d+)">', first)
    assert listed == having[:50]
    if len(having) > 50:
        second = client.get("/app/customers?tag=price_sensitive&offset=50").text
        assert re.findall(r'<td><a href="/app/customers/(\d+)">', second) == having[50:100]


def test_an_exact_id_or_full_phone_opens_the_card(shop: Shop, visit: Any) -> None:
    person = _people(shop)[3]
    for role in ("agent", "analyst"):
        client = visit(role)
        for typed in (person["customer_id"], person["phone"]):
            found = client.get(f"/app/customers?q={typed}", follow_redirects=False)
            assert found.status_code == 303 and found.headers["location"] == f"/app/customers/{person['customer_id']}"


def test_staff_find_a_name_and_its_pinyin_and_agents_may_not(shop: Shop, visit: Any) -> None:
    people = _people(shop)
    person = people[5]
    same_name = sorted(p["customer_id"] for p in people if p["name"] == person["name"])
    pinyin = "".join(lazy_pinyin(person["name"]))  # the peer library's reading, typed as a person would
    client = visit("analyst")
    for typed in (person["name"], pinyin, " ".join(lazy_pinyin(person["name"]))):
        found = client.get("/app/customers", params={"q": typed}).text
        assert person["customer_id"] in re.findall(r'<td><a href="/app/customers/(\d+)">', found), typed
    by_name = client.get("/app/customers", params={"q": person["name"]}).text
    assert re.findall(r'<td><a href="/app/customers/(\d+)">', by_name) == same_name
    agent = visit("agent")
    refused = agent.get("/app/customers", params={"q": person["name"]}).text
    assert "agents look a customer up by id or full phone number only" in refused
    assert person["customer_id"] not in re.findall(r'<td><a href="/app/customers/(\d+)">', refused)


def test_the_export_is_the_filter_for_staff_only(shop: Shop, visit: Any) -> None:
    tiers = pq.read_table(current_result(shop), columns=["tier"])["tier"].to_pylist()
    client = visit("analyst")
    got = client.get("/app/customers.csv?tier=regular")
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert len(rows) == tiers.count("regular")
    xlsx = client.get("/app/customers.xlsx?tier=regular")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert visit("agent").get("/app/customers.csv?tier=regular").status_code == 403


def test_the_card_masks_personal_data_for_agents(shop: Shop, visit: Any) -> None:
    person = _people(shop)[7]
    staff = visit("analyst").get(f"/app/customers/{person['customer_id']}").text
    assert person["phone"] in staff and person["name"] in staff
    agent = visit("agent").get(f"/app/customers/{person['customer_id']}").text
    assert person["phone"] not in agent and person["name"] not in agent
    assert f"{person['phone'][:3]}****{person['phone'][-4:]}" in agent
    assert 'id="override-form"' not in agent and 'id="contact-form"' in agent


def test_bad_forms_say_what_is_wrong_and_change_nothing(shop: Shop, visit: Any) -> None:
    person = _people(shop)[9]
    url = f"/app/customers/{person['customer_id']}"
    client = visit("analyst")
    token = csrf_of(client.get(url).text)
    bad_date = client.post(
        f"{url}/override", data={"csrf": token, "tier": "vip", "reason": "ok reason", "expires": "x"}
    )
    assert bad_date.status_code == 422 and "请填写有效的日期" in bad_date.text
    past = client.post(
        f"{url}/override", data={"csrf": token, "tier": "vip", "reason": "ok reason", "expires": "2001-01-01"}
    )
    assert past.status_code == 422 and "expires must be in the future" in past.text
    channel = client.post(f"{url}/contacts", data={"csrf": token, "channel": "telepathy"})
    assert channel.status_code == 422 and "请选择渠道和结果" in channel.text
    agent = visit("agent")
    refused = agent.post(
        f"{url}/override", data={"csrf": csrf_of(agent.get(url).text), "tier": "vip", "reason": "x y z"}
    )
    assert refused.status_code == 403
    assert 'id="override-note"' not in visit("analyst").get(url).text


def test_an_unknown_customer_is_a_page_that_says_so(visit: Any) -> None:
    missing = visit("agent").get("/app/customers/NOPE-1")
    assert missing.status_code == 404 and "customer 'NOPE-1' is not in run" in html.unescape(missing.text)
