"""Entitlements over HTTP and from the command line, on the hand-graded telecom shop of
tests/app/entitlement_shop.py (SQLite and PostgreSQL stores), at the real time of the run.

Oracle: the seed's matrix as the telecom-stars preset file says it (read with a plain YAML
parser): 5 stars get 专区专柜 … 免费补卡 twice a calendar year; 3 stars do not; a 集团关键人 gets the
5-star set. The year of "now" in China time decides when 免费补卡 renews.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.app.entitlement_shop import Shop, make_shop
from tierkit.api.app import create_app
from tierkit.app.serving import Settings
from tierkit.cli.app import app as cli_app

PRESET = yaml.safe_load(resources.files("tierkit.policy.presets").joinpath("telecom-stars.yaml").read_text("utf-8"))
FIVE_STARS = PRESET["service"]["5"]["entitlements"]


def _renews_on() -> str:
    return f"{dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year + 1}-01-01"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return make_shop(tmp_path_factory.mktemp(f"entitlements-api-{request.param}"), request.param)


@pytest.fixture
def client(shop: Shop) -> Iterator[TestClient]:
    with TestClient(create_app(shop.root, Settings(rate_per_second=0, pointer_ttl=0, lang="zh"))) as test_client:
        yield test_client


def test_the_list_says_each_limit_and_what_is_left(client: TestClient, shop: Shop) -> None:
    got = client.get("/customers/s6/entitlements?lang=en", headers=shop.headers("agent"))
    assert got.status_code == 200, got.text
    items = got.json()
    assert [i["code"] for i in items] == PRESET["service"]["6"]["entitlements"]
    sim = next(i for i in items if i["code"] == "free_sim_replacement")
    assert sim == {
        "code": "free_sim_replacement",
        "label": "Free SIM replacement",
        "limit": 2,
        "period": "year",
        "used": 0,
        "remaining": 2,
        "renews_on": _renews_on(),
        "granted_by": [{"kind": "tier", "name": "6", "label": "6 stars"}],
    }
    counter = next(i for i in items if i["code"] == "dedicated_counter")
    assert (counter["label"], counter["limit"], counter["remaining"]) == ("Dedicated counter", None, None)


def test_a_five_star_customer_may_use_the_free_sim_twice_and_the_third_is_409(client: TestClient, shop: Shop) -> None:
    for left in (1, 0):
        done = client.post(
            "/customers/s5/entitlements/free_sim_replacement/use", headers=shop.headers("agent"), json={"note": "补卡"}
        )
        assert done.status_code == 201, done.text
        assert done.json()["entitlement"]["remaining"] == left and done.json()["use"]["by"] == "agent-user"
    refused = client.post("/customers/s5/entitlements/免费补卡/use", headers=shop.headers("agent"))
    assert refused.status_code == 409
    year = int(_renews_on()[:4]) - 1
    assert refused.json()["detail"] == (
        f"客户 s5 的 免费补卡 (free_sim_replacement) 每年 2 次，{year} 已用 2 次，已用完；{_renews_on()} 起可再用"
    )
    listed = client.get("/customers/s5/entitlements", headers=shop.headers("analyst")).json()
    assert next(i for i in listed if i["code"] == "free_sim_replacement")["remaining"] == 0
    audit = client.get("/audit?target=s5", headers=shop.headers("admin")).json()
    uses = [e for e in audit if e["action"] == "use_entitlement"]
    assert len(uses) == 2 and {e["actor"] for e in uses} == {"agent-user"}
    assert [json.loads(e["detail"])["remaining"] for e in uses] == [0, 1]  # newest first


def test_a_three_star_customer_is_refused_the_dedicated_counter(client: TestClient, shop: Shop) -> None:
    listed = client.get("/customers/s3/entitlements", headers=shop.headers("agent")).json()
    assert "dedicated_counter" not in [i["code"] for i in listed]
    refused = client.post("/customers/s3/entitlements/dedicated_counter/use?lang=en", headers=shop.headers("agent"))
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(
        "customer s3 is not entitled to Dedicated counter (dedicated_counter): the tier 3 stars does not include it"
    )


def test_a_key_person_gets_the_five_star_set(client: TestClient, shop: Shop) -> None:
    listed = client.get("/customers/k2/entitlements", headers=shop.headers("agent")).json()
    assert [i["code"] for i in listed] == [*PRESET["service"]["2"]["entitlements"], *FIVE_STARS]
    done = client.post("/customers/k2/entitlements/dedicated_counter/use", headers=shop.headers("agent"))
    assert done.status_code == 201 and done.json()["entitlement"]["granted_by"][0]["name"] == "key_person"


def test_an_override_to_five_stars_grants_them_over_http(client: TestClient, shop: Shop) -> None:
    body = {"tier": "5", "reason": "group chairman", "expires": "2099-01-01T00:00:00Z"}
    assert client.post("/customers/p2/override", headers=shop.headers("analyst"), json=body).status_code == 201
    done = client.post("/customers/p2/entitlements/priority_handling/use", headers=shop.headers("agent"))
    assert done.status_code == 201 and done.json()["use"]["tier"] == "5"


def test_bad_input_is_4xx_with_the_reason_and_writes_nothing(client: TestClient, shop: Shop) -> None:
    before = client.get("/audit?target=s1", headers=shop.headers("admin")).json()
    bad = client.post("/customers/s1/entitlements/vip_lounge/use", headers=shop.headers("agent"))
    assert bad.status_code == 400
    detail = bad.json()["detail"]
    assert detail.startswith("'vip_lounge' is not an entitlement of policy 'telecom-stars'")
    assert all(code in detail for code in PRESET["entitlements"])
    assert client.get("/audit?target=s1", headers=shop.headers("admin")).json() == before
    assert client.get("/customers/nobody/entitlements", headers=shop.headers("agent")).status_code == 404
    nobody = client.post("/customers/nobody/entitlements/dedicated_counter/use", headers=shop.headers("agent"))
    assert nobody.status_code == 404
    long_note = {"note": "x" * 2001}
    too_long = client.post("/customers/s1/entitlements/self_service/use", headers=shop.headers("agent"), json=long_note)
    assert too_long.status_code == 422


def test_check_from_the_command_line_exits_0_1_or_2(shop: Shop) -> None:
    runner = CliRunner()
    root = str(shop.root)
    may = runner.invoke(cli_app, ["entitlements", "check", "s6", "free_sim_replacement", "-w", root, "--json"])
    assert may.exit_code == 0, may.output
    found = json.loads(may.stdout)
    assert (found["allowed"], found["reason"], found["entitlement"]["remaining"]) == (True, None, 2)
    for _ in range(2):
        assert runner.invoke(cli_app, ["entitlements", "use", "s6", "免费补卡", "-w", root]).exit_code == 0
    spent = runner.invoke(cli_app, ["entitlements", "check", "s6", "free_sim_replacement", "-w", root, "--lang", "en"])
    assert spent.exit_code == 1
    assert "has used up Free SIM replacement (free_sim_replacement): 2 a year" in spent.output
    no = runner.invoke(cli_app, ["entitlements", "check", "s3", "dedicated_counter", "-w", root, "--json"])
    assert no.exit_code == 1 and json.loads(no.stdout)["allowed"] is False
    listed = runner.invoke(cli_app, ["entitlements", "list", "s6", "-w", root, "--json"])
    sim = next(i for i in json.loads(listed.stdout) if i["code"] == "free_sim_replacement")
    assert (sim["used"], sim["remaining"]) == (2, 0)


def test_an_unknown_code_on_the_command_line_is_one_line_and_exit_2(shop: Shop) -> None:
    command = ["entitlements", "check", "s5", "vip_lounge", "-w", str(shop.root)]
    run = subprocess.run(
        [sys.executable, "-c", "from tierkit.cli.app import main; main()", *command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 'vip_lounge' is not an entitlement of policy")
    assert "free_sim_replacement" in lines[0] and run.stdout == ""


def test_the_card_shows_what_is_left_in_the_api_and_the_workbench(client: TestClient, shop: Shop) -> None:
    from tests.web.conftest import sign_in
    from tierkit.server import create_app as create_server

    used = client.post("/customers/s5b/entitlements/free_sim_replacement/use", headers=shop.headers("agent"))
    assert used.status_code == 201, used.text
    card = client.get("/customers/s5b", headers=shop.headers("agent")).json()
    assert [i["code"] for i in card["entitlements"]] == FIVE_STARS
    sim = next(i for i in card["entitlements"] if i["code"] == "free_sim_replacement")
    assert (sim["limit"], sim["used"], sim["remaining"]) == (2, 1, 1)
    key_person = client.get("/customers/k2", headers=shop.headers("agent")).json()
    assert "dedicated_counter" in [i["code"] for i in key_person["entitlements"]]  # granted by the tag
    with TestClient(create_server(shop.root, Settings(rate_per_second=0, lang="zh"))) as web:
        assert sign_in(web, shop.keys["agent"]).status_code == 303
        page = web.get("/app/customers/s5b").text
        assert '<span class="chip">免费补卡 · 剩余 1/2 次 (本年)\n' in page  # then its 登记使用 button
        assert '<span class="chip">专区专柜\n' in page
        assert '<span class="chip">专区专柜\n' in web.get("/app/customers/k2").text
