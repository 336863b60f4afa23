"""An agent never sees a personal field in clear, whatever the policy does with it.

The shop's policy reads the customer's name and birth date: a tier rule names one customer, a
metric copies the name (`display_name: {expr: "name"}`), another is derived from it, a tag reads
the age and puts the copied name in its action. The oracle is the customers file read with
pyarrow: the clear name and birth date must appear nowhere in what an agent gets (API card,
workbench card), and the values shown are the masks of those values; staff see them in clear.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.api.conftest import Served, make_workspace
from tierkit.app.grading import grade_workspace
from tierkit.app.masking import WITHHELD, mask_name
from tierkit.app.serving import Settings
from tierkit.server import create_app


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Served, dict[str, Any]]:
    served = make_workspace(tmp_path_factory.mktemp("privacy") / "ws", "sqlite", customers=150)
    root = served.workspace.root
    people = pq.read_table(root / "data" / "customers.parquet", columns=["customer_id", "name", "birth_date"])
    result = next(root.glob("runs/*/result.parquet"))
    graded = set(pq.read_table(result, columns=["customer_id"])["customer_id"].to_pylist())
    person = next(p for p in people.to_pylist() if p["customer_id"] in graded and p["name"] and p["birth_date"])
    policy = yaml.safe_load((root / "policy.yaml").read_text("utf-8"))
    policy["metrics"] = {
        "display_name": {"expr": "name"},
        "born": {"expr": "birth_date"},
        "greeting": {"expr": "display_name"},  # a copy of a copy of the name: masked as a name
        "birth_year": {"expr": "year(born)"},  # derived from a personal metric: personal too
        **policy["metrics"],
    }
    policy["tiers"].insert(0, {"name": "named", "when": f"name == '{person['name']}' and born < '2200-01-01'"})
    action = {"zh": "问候 {greeting}, 生日 {born}", "en": "greet {greeting}"}
    policy["tags"].insert(0, {"name": "greet", "when": "age >= 0 and display_name is not null", "action": action})
    (root / "policy.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), "utf-8")
    grade_workspace(root, publish=True)
    return served, person


def _app(served: Served) -> TestClient:
    return TestClient(create_app(served.workspace.root, Settings(rate_per_second=0, lang="zh")))


def test_an_agents_card_carries_no_clear_personal_value(shop: tuple[Served, dict[str, Any]]) -> None:
    served, person = shop
    name, born = str(person["name"]), str(person["birth_date"])
    with _app(served) as client:
        agent = client.get(f"/customers/{person['customer_id']}", headers=served.headers("agent"))
        staff = client.get(f"/customers/{person['customer_id']}", headers=served.headers("analyst"))
    assert agent.status_code == 200 and staff.status_code == 200
    card, clear = agent.json(), staff.json()
    # the policy still decides with the clear values: the named customer has the tier that names them
    assert card["tier"] == clear["tier"] == "named"
    assert clear["metrics"]["display_name"] == name and clear["reasons"]["values"]["name"] == name
    assert clear["metrics"]["born"] == born
    # the agent's card, as text: the name and the birth date are nowhere
    text = agent.text
    assert name not in text and json.dumps(name)[1:-1] not in text and born not in text
    assert card["person"]["name"] == mask_name(name)
    assert card["metrics"]["display_name"] == mask_name(name)
    assert card["metrics"]["greeting"] == mask_name(name)
    assert card["metrics"]["born"] == card["metrics"]["birth_year"] == WITHHELD
    assert clear["metrics"]["birth_year"] == int(born[:4])
    assert card["reasons"]["values"]["name"] == mask_name(name)
    assert card["reasons"]["values"]["age"] == WITHHELD
    assert card["reasons"]["tier"]["when"] == "name == '***' and born < '***'"
    assert clear["reasons"]["tier"]["when"] == f"name == '{name}' and born < '2200-01-01'"
    greet = next(t for t in card["tags"] if t["name"] == "greet")
    assert greet["action"] == f"问候 {mask_name(name)}, 生日 {WITHHELD}"
    assert next(t for t in clear["tags"] if t["name"] == "greet")["action"] == f"问候 {name}, 生日 {born}"
    # metrics that read no personal field are as graded
    assert card["metrics"]["spend_12m"] == clear["metrics"]["spend_12m"]


def test_the_workbench_card_of_an_agent_has_no_clear_name(shop: tuple[Served, dict[str, Any]]) -> None:
    import re

    served, person = shop
    name = str(person["name"])
    with _app(served) as client:
        pages = {}
        for role in ("agent", "analyst"):
            client.cookies.clear()
            form = client.get("/app/login").text
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token
            signed = client.post("/app/login", data={"key": served.keys[role], "csrf": token.group(1)})
            assert signed.status_code in (200, 303), signed.text[:300]
            pages[role] = client.get(f"/app/customers/{person['customer_id']}").text
    assert name in pages["analyst"]
    assert name not in pages["agent"] and str(person["birth_date"]) not in pages["agent"]
    assert mask_name(name) in pages["agent"]


def test_what_is_personal_follows_the_policys_expressions(shop: tuple[Served, dict[str, Any]]) -> None:
    from tierkit.app.masking import personal_names
    from tierkit.runs.card import run_policy
    from tierkit.runs.files import load_run

    served, _ = shop
    policy = run_policy(load_run(served.workspace))
    found = personal_names(policy)
    assert {"name", "birth_date", "age", "display_name", "born", "greeting"} <= set(found)
    assert found["display_name"] == "name" and found["greeting"] == "name"  # copies of the name: masked as one
    assert found["born"] is None  # not a name: withheld
    assert found["birth_year"] is None
    assert not {"spend_12m", "orders_12m", "recency_days"} & set(found)
