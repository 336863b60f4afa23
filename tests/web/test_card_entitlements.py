"""At the counter, in the workbench: an agent records an entitlement's use from the card, and a
spent limit is refused with the reason, on the hand-graded telecom shop of
tests/app/entitlement_shop.py (s5b: 5 stars, 免费补卡 twice a calendar year)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.app.entitlement_shop import Shop, make_shop
from tests.web.conftest import csrf_of, sign_in
from tierkit.app.serving import Settings
from tierkit.runs.files import store_of
from tierkit.server import create_app
from tierkit.store.audit import entries
from tierkit.workspace import Workspace

USE = "/app/customers/s5b/entitlements/free_sim_replacement/use"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return make_shop(tmp_path_factory.mktemp("card-entitlements"), "sqlite")


def test_an_agent_records_uses_until_the_limit_refuses_one(shop: Shop) -> None:
    with TestClient(create_app(shop.root, Settings(rate_per_second=0, pointer_ttl=0, lang="zh"))) as web:
        assert sign_in(web, shop.keys["agent"]).status_code == 303
        card = web.get("/app/customers/s5b").text
        assert f'action="{USE}"' in card and "剩余 2/2 次 (本年)" in card
        assert web.post(USE, data={}).status_code == 403  # no CSRF token: nothing recorded
        for left in (1, 0):
            done = web.post(USE, data={"csrf": csrf_of(card)}, follow_redirects=False)
            assert done.status_code == 303 and done.headers["location"].endswith("?done=entitlement#entitlement")
            card = web.get(done.headers["location"]).text
            assert f"剩余 {left}/2 次 (本年)" in card and "已登记本次权益使用。" in card
        assert re.search(r"免费补卡 · 剩余 0/2 次 \(本年\)\s*<form[^>]*>\s*<input[^>]*>\s*<button[^>]*disabled", card)
        refused = web.post(USE, data={"csrf": csrf_of(card)})
        assert refused.status_code == 409
        assert 'id="entitlement-refused"' in refused.text and "不能登记" in refused.text
    uses = [e for e in entries(store_of(Workspace.open(shop.root)), "s5b", 20) if e["action"] == "use_entitlement"]
    assert len(uses) == 2 and {e["actor"] for e in uses} == {"agent-user"}
