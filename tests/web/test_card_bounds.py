"""The card page's forms at their bounds: an expiry no one means is refused in words, not a 500."""

from __future__ import annotations

import html
from typing import Any

import pyarrow.parquet as pq

from tests.web.conftest import Shop, csrf_of, current_result
from tierkit.app.instants import MAX_YEARS_AHEAD


def test_an_override_until_9999_is_refused_on_the_page(shop: Shop, visit: Any) -> None:
    cid = pq.read_table(current_result(shop), columns=["customer_id"])["customer_id"][-7].as_py()
    url = f"/app/customers/{cid}"
    client = visit("analyst")
    token = csrf_of(client.get(url).text)
    for day in ("9999-12-31", "2300-01-01"):
        form = {"csrf": token, "tier": "vip", "reason": "for ever", "expires": day}
        answer = client.post(f"{url}/override", data=form)
        assert answer.status_code == 422, answer.text[:300]
        page = html.unescape(answer.text)
        assert "请填写有效的日期" in page or f"at most {MAX_YEARS_AHEAD} years ahead" in page, day
    assert 'id="override-note"' not in client.get(url).text  # nothing was set


def test_nul_characters_are_no_reason_or_note_on_the_page(shop: Shop, visit: Any) -> None:
    cid = pq.read_table(current_result(shop), columns=["customer_id"])["customer_id"][-8].as_py()
    url = f"/app/customers/{cid}"
    client = visit("analyst")
    token = csrf_of(client.get(url).text)
    form = {"csrf": token, "tier": "vip", "reason": "\x00\x00\x00", "expires": "2099-12-31"}
    refused = client.post(f"{url}/override", data=form)
    assert refused.status_code == 422 and "请写明原因" in refused.text
    note = client.post(f"{url}/contacts", data={"csrf": token, "channel": "phone", "note": "hi\x1b[2J"})
    assert note.status_code == 422 and "请选择渠道和结果" in note.text
    page = client.get(url).text
    assert 'id="override-note"' not in page and "hi\x1b" not in page
