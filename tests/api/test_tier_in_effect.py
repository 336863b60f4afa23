"""The tier in effect decides service and list membership everywhere, and the card speaks the
workspace's language.

The oracle is the preset file itself, read here with a plain YAML parser: what the `retail`
preset says a VIP is entitled to, and its zh and en words, not what the card code computes.
"""

from __future__ import annotations

import csv
import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.serving import Settings
from tierkit.cli.app import app as cli_app

PRESET = yaml.safe_load(resources.files("tierkit.policy.presets").joinpath("retail.yaml").read_text("utf-8"))


def _words(value: Any, lang: str) -> str:
    return str(value[lang] if isinstance(value, dict) else value)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("in-effect") / "ws", "sqlite", customers=300)


@pytest.fixture
def client(shop: Served) -> TestClient:
    return TestClient(create_app(shop.workspace.root, Settings(rate_per_second=0, pointer_ttl=0, lang="zh")))


_MOVED: dict[str, str] = {}


def _moved_to_vip(client: TestClient, shop: Served) -> str:
    """A potential customer an analyst has moved to vip: one for the whole module."""
    if str(shop.workspace.root) in _MOVED:
        return _MOVED[str(shop.workspace.root)]
    first = client.get("/customers?tier=potential&limit=1", headers=shop.headers("admin")).json()["items"][0]
    cid = str(first["customer_id"])
    body = {"tier": "vip", "reason": "chairman's friend", "expires": "2099-01-01T00:00:00Z"}
    done = client.post(f"/customers/{cid}/override", headers=shop.headers("analyst"), json=body)
    assert done.status_code == 201, done.text
    _MOVED[str(shop.workspace.root)] = cid
    return cid


def test_the_card_serves_the_overridden_tier(client: TestClient, shop: Served) -> None:
    cid = _moved_to_vip(client, shop)
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    vip = PRESET["service"]["vip"]
    assert (card["tier"], card["automatic_tier"], card["manual"]) == ("vip", "potential", True)
    assert card["tier_label"] == PRESET["tiers"][0]["label"]["zh"]
    assert [e["name"] for e in card["service"]["entitlements"]] == vip["entitlements"]
    assert [e["label"] for e in card["service"]["entitlements"]] == [
        PRESET["entitlements"][name]["label"]["zh"] for name in vip["entitlements"]
    ]
    assert card["service"]["response_time"] == vip["response_time"]
    assert card["service"]["contacts_per_month"] == vip["contacts_per_month"]
    assert card["service"]["actions"] == [a["zh"] for a in vip["actions"]]


def test_lists_and_exports_follow_the_tier_in_effect(client: TestClient, shop: Served) -> None:
    cid = _moved_to_vip(client, shop)
    listed = client.get("/customers?tier=vip&limit=500", headers=shop.headers("analyst")).json()["items"]
    assert any(i["customer_id"] == cid and i["manual"] for i in listed)
    potential = client.get("/customers?tier=potential&limit=500", headers=shop.headers("analyst")).json()["items"]
    assert cid not in {i["customer_id"] for i in potential}
    got = client.get("/customers/export/csv?tier=vip", headers=shop.headers("analyst"))
    rows = {r["customer_id"]: r for r in csv.DictReader(io.StringIO(got.content.decode("utf-8-sig")))}
    assert rows[cid]["tier"] == "vip" and rows[cid]["automatic_tier"] == "potential"
    assert rows[cid]["manual"].lower() == "true"


def test_show_and_export_on_the_command_line_follow_the_override(
    client: TestClient, shop: Served, tmp_path: Path
) -> None:
    cid = _moved_to_vip(client, shop)
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["show", cid, "-w", str(shop.workspace.root), "--json"], catch_exceptions=False)
    card = json.loads(shown.output)
    assert (card["tier"], card["automatic_tier"], card["manual"]) == ("vip", "potential", True)
    assert [e["name"] for e in card["service"]["entitlements"]] == PRESET["service"]["vip"]["entitlements"]
    text = runner.invoke(cli_app, ["show", cid, "-w", str(shop.workspace.root), "--lang", "zh"]).output
    assert "人工调整" in text and PRESET["entitlements"]["account_manager"]["label"]["zh"] in text
    out = tmp_path / "vip.csv"
    done = runner.invoke(cli_app, ["export", "-w", str(shop.workspace.root), "--tier", "vip", "-o", str(out)])
    assert done.exit_code == 0, done.output
    with out.open(encoding="utf-8-sig") as handle:  # an export starts with a BOM, for Excel
        rows = {r["customer_id"]: r for r in csv.DictReader(handle)}
    assert rows[cid]["tier"] == "vip" and rows[cid]["automatic_tier"] == "potential"
    assert rows[cid]["tier_label"] == PRESET["tiers"][0]["label"]["zh"]


def test_the_card_speaks_the_workspace_language_or_the_one_asked_for(client: TestClient, shop: Served) -> None:
    tagged = client.get("/customers?tag=slowing_down&limit=1", headers=shop.headers("admin")).json()["items"]
    assert tagged, "the demo should have customers who are buying less often"
    cid = tagged[0]["customer_id"]
    rule = next(t for t in PRESET["tags"] if t["name"] == "slowing_down")
    for lang in ("zh", "en"):
        query = "" if lang == "zh" else "?lang=en"  # zh is the workspace's language
        card = client.get(f"/customers/{cid}{query}", headers=shop.headers("agent")).json()
        tag = next(t for t in card["tags"] if t["name"] == "slowing_down")
        assert card["lang"] == lang
        assert (tag["label"], tag["action"]) == (_words(rule["label"], lang), _words(rule["action"], lang))
        tier = next(t for t in PRESET["tiers"] if t["name"] == card["tier"])
        assert card["tier_label"] == _words(tier["label"], lang)


def test_the_published_run_counts_tiers_in_effect(client: TestClient, shop: Served) -> None:
    cid = _moved_to_vip(client, shop)
    manifest = client.get("/runs/current", headers=shop.headers("analyst")).json()
    counts = {t["tier"]: t for t in manifest["in_effect"]["tiers"]}
    vip = client.get("/customers?tier=vip&limit=1", headers=shop.headers("analyst")).json()["total"]
    graded = {r["class"]: r["customers"] for r in manifest["summary"]["tiers"]}
    assert counts["vip"]["in_effect"] == vip == graded["vip"] + 1  # one potential customer moved up
    assert counts["potential"]["in_effect"] == graded["potential"] - 1
    assert sum(t["in_effect"] for t in counts.values()) == sum(graded.values())
    assert manifest["in_effect"]["moved"] >= 1 and cid


def test_the_card_says_its_reasons_and_score_classes_in_words(client: TestClient, shop: Served) -> None:
    vip = client.get("/customers?tier=vip&limit=50", headers=shop.headers("analyst")).json()["items"]
    cid = next(i["customer_id"] for i in vip if not i["manual"])
    rule = PRESET["tiers"][0]
    abc = PRESET["scores"]["abc"]["labels"]
    for lang in ("zh", "en"):
        card = client.get(f"/customers/{cid}?lang={lang}", headers=shop.headers("agent")).json()
        assert rule["label"][lang] in card["why"][0] and rule["when"] in card["why"][0]
        assert card["score_labels"]["abc"] == abc[card["scores"]["abc"]][lang]
        assert any(abc[card["scores"]["abc"]][lang] in sentence for sentence in card["why"][1:])
