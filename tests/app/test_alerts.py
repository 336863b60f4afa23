"""Alerts: the events a published run emits, the inbox, and webhooks against a local receiver.

Six customers, one order on the 15th of a month; the grading at the end of January is published
first, then the one at the end of February. Worked out by hand (spend in the month decides the
tier: vip >= 1000, regular >= 100; risk = recency_days / 100; big_spender: spend_1m >= 1500):

            Jan  Feb    end of Jan              end of Feb
    c1     2000  500    vip                     regular        tier_down
    c2     2000  500    vip                     regular        tier_down
    c3       50  500    potential               regular        tier_up
    c4     2000  500    vip                     regular        tier_down
    c5        -  2000   (not a customer yet)    vip, big_spender  tag_added (a new customer)
    c6     2000    -    vip, 16 days, risk .16  potential, 44 days, risk .44
                        -> tier_down, churn_risk (threshold 0.4), key_customer_lost (30 days)

Owners (the customers file): c1-c3 ann, c4-c6 bob.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli.test_cli import cli
from tests.conftest import monthly_orders, write_rows
from tests.receiver import Behaviour, Receiver
from tierkit.app import webhooks
from tierkit.app.alerts import inbox, mark_read
from tierkit.app.customers import Caller
from tierkit.app.grading import grade_workspace
from tierkit.app.runs import publish
from tierkit.app.serving import ServedWorkspace
from tierkit.cli.app import app
from tierkit.errors import InputError, NotFoundError, PolicyError, TierkitError
from tierkit.policy.loader import parse_policy
from tierkit.runs.files import store_of
from tierkit.store import alerts as stored
from tierkit.workspace import Workspace

AMOUNTS = {
    "c1": [2000, 500],
    "c2": [2000, 500],
    "c3": [50, 500],
    "c4": [2000, 500],
    "c5": [None, 2000],
    "c6": [2000, None],
}
OWNERS = {"c1": "ann", "c2": "ann", "c3": "ann", "c4": "bob", "c5": "bob", "c6": "bob"}
POLICY = """
name: alerting
metrics:
  spend_1m: {sum: amount, window: 1M}
  recency_days: {recency: orders}
  risk: {expr: "recency_days / 100"}
tiers:
  - {name: vip, label: {zh: VIP客户, en: VIP}, when: "spend_1m >= 1000"}
  - {name: regular, label: {zh: 普通客户, en: Regular}, when: "spend_1m >= 100"}
  - {name: potential, label: {zh: 潜在客户, en: Potential}, else: true}
tags:
  - {name: big_spender, label: {zh: 大额客户, en: Big spender}, when: "spend_1m >= 1500"}
alerts:
  churn_risk: {metric: risk, above: 0.4}
  tags: [big_spender]
  key_customer_lost: {tiers: [vip], recency: recency_days, after_days: 30}
"""
EXPECTED = {
    ("tier_down", "c1", "vip", "regular"),
    ("tier_down", "c2", "vip", "regular"),
    ("tier_down", "c4", "vip", "regular"),
    ("tier_down", "c6", "vip", "potential"),
    ("tier_up", "c3", "potential", "regular"),
    ("churn_risk", "c6", "0.16", "0.44"),
    ("tag_added", "c5", None, "big_spender"),
    ("key_customer_lost", "c6", "16", "44"),
}
STAFF = Caller("ana", "analyst")


def _workspace(root: Path) -> Path:
    ws = Workspace.init(root / "ws", "retail")
    (ws.root / "policy.yaml").write_text(POLICY, "utf-8")
    monthly_orders(ws.root / "data" / "orders.csv", AMOUNTS)
    people = [{"customer_id": cid, "name": f"客户{cid}", "owner": owner} for cid, owner in OWNERS.items()]
    write_rows(ws.root / "data" / "customers.csv", people)
    return ws.root


def graded(root: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The workspace graded at the end of January, then of February, each published."""
    ws = _workspace(root)
    return ws, grade_workspace(ws, as_of="2026-01-31"), grade_workspace(ws, as_of="2026-02-28")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root, january, february = graded(tmp_path_factory.mktemp("alerts"))
    return {"root": root, "january": january, "february": february}


def _events(found: dict[str, Any]) -> set[tuple[str, str, str | None, str | None]]:
    return {(a["event"], a["customer_id"], a["old"], a["new"]) for a in found["alerts"]}


def test_the_first_run_emits_nothing_and_the_second_what_changed(shop: dict[str, Any]) -> None:
    assert shop["january"]["alerts"] == {}
    assert shop["february"]["alerts"] == {
        "churn_risk": 1,
        "key_customer_lost": 1,
        "tag_added": 1,
        "tier_down": 4,
        "tier_up": 1,
    }
    served = ServedWorkspace.open(shop["root"])
    found = inbox(served, STAFF, run=shop["february"]["run_id"], limit=100)
    assert _events(found) == EXPECTED
    assert {a["customer_id"]: a["owner"] for a in found["alerts"]} == {c: OWNERS[c] for c in AMOUNTS}
    assert all(a["previous_run_id"] == shop["january"]["run_id"] for a in found["alerts"])


def test_reasons_are_words_in_the_workspace_language(shop: dict[str, Any]) -> None:
    served = ServedWorkspace.open(shop["root"])
    found = {(a["event"], a["customer_id"]): a["reasons"] for a in inbox(served, STAFF, limit=100)["alerts"]}
    assert found[("tier_down", "c1")] == ["等级下降: VIP客户 → 普通客户", "定为普通客户: 满足条件 spend_1m >= 100"]
    assert found[("tier_up", "c3")][0] == "等级上升: 潜在客户 → 普通客户"
    assert found[("tag_added", "c5")] == ["新标签 大额客户: spend_1m >= 1500"]
    assert found[("churn_risk", "c6")][0] == "流失风险 0.44 达到阈值 0.4（上次 0.16）"
    assert "44 天没有购买" in found[("key_customer_lost", "c6")][0]


def test_an_agent_sees_only_the_alerts_of_customers_they_own(shop: dict[str, Any]) -> None:
    served = ServedWorkspace.open(shop["root"])
    mine = inbox(served, Caller("ann", "agent"), owner="bob", limit=100)
    assert mine["owner"] == "ann"
    assert {a["customer_id"] for a in mine["alerts"]} == {"c1", "c2", "c3"}
    bobs = inbox(served, STAFF, owner="bob", event="tier_down", limit=100)
    assert {a["customer_id"] for a in bobs["alerts"]} == {"c4", "c6"}
    with pytest.raises(InputError, match=r"unknown event 'tier_dwon'.*tier_down"):
        inbox(served, STAFF, event="tier_dwon")


def test_reading_an_alert_marks_it_for_its_owner_only(tmp_path: Path) -> None:
    root = graded(tmp_path)[0]
    served = ServedWorkspace.open(root)
    bobs = inbox(served, STAFF, owner="bob", limit=1)["alerts"][0]
    with pytest.raises(NotFoundError):
        mark_read(served, Caller("ann", "agent"), bobs["id"])
    done = mark_read(served, Caller("bob", "agent"), bobs["id"])
    assert done["read_by"] == "bob" and done["read_at"] is not None
    assert inbox(served, Caller("bob", "agent"), unread=True)["total"] == 4


def test_publishing_the_same_change_again_adds_no_event(tmp_path: Path) -> None:
    """January back, then February again: the second February publish repeats the first's event ids."""
    root = _workspace(tmp_path)
    january = grade_workspace(root, as_of="2026-01-31")["run_id"]
    february = grade_workspace(root, as_of="2026-02-28")["run_id"]
    publish(root, january)  # a roll back is a change too: February -> January
    publish(root, february)
    engine = store_of(Workspace.open(root))
    assert stored.of_run(engine, february) == {
        "churn_risk": 1,
        "key_customer_lost": 1,
        "tag_added": 1,
        "tier_down": 4,
        "tier_up": 1,
    }
    back = _events(stored.inbox(engine, run_id=january, limit=100))
    assert ("tier_up", "c1", "regular", "vip") in back and ("tier_down", "c3", "regular", "potential") in back


def test_a_rule_on_a_name_the_policy_lacks_is_refused() -> None:
    wrong = POLICY.replace("tags: [big_spender]", "tags: [big_spendr]")
    with pytest.raises(PolicyError, match=r"'big_spendr' is not one of the policy's tags.*big_spender"):
        parse_policy(wrong, "policy.yaml")
    with pytest.raises(PolicyError, match="'riks' is not one of the metrics"):
        parse_policy(POLICY.replace("metric: risk", "metric: riks"), "policy.yaml")
    with pytest.raises(PolicyError, match="'gold' is not a tier"):
        parse_policy(POLICY.replace("tiers: [vip]", "tiers: [gold]"), "policy.yaml")


# --- webhooks ------------------------------------------------------------------------------


@pytest.fixture
def emitted(tmp_path: Path) -> Iterator[Path]:
    """A workspace whose January run is published; the test adds hooks, then publishes February."""
    root = _workspace(tmp_path)
    grade_workspace(root, as_of="2026-01-31")
    yield root


def _hook(root: Path, receiver: Receiver, **options: Any) -> dict[str, Any]:
    hook = webhooks.add(root, receiver.url, [], "ops", **options)
    receiver.secret = hook["secret"]
    return hook


def test_each_event_arrives_once_signed_with_the_hooks_secret(emitted: Path) -> None:
    receiver = Receiver()
    try:
        _hook(emitted, receiver, batch=1)
        grade_workspace(emitted, as_of="2026-02-28")
        done = webhooks.deliver(emitted)
    finally:
        receiver.close()
    assert done["delivered"] == 8 and done["posts"] == 8 and done["pending"] == 0
    assert all(p.signature_ok for p in receiver.posts)
    assert {(e["event"], e["customer_id"], e["old"], e["new"]) for p in receiver.posts for e in p.events} == EXPECTED
    one = receiver.posts[0]
    assert set(one.payload) >= {"id", "event", "customer_id", "owner", "old", "new", "run_id", "reasons"}
    assert abs(int(one.headers["x-tierkit-timestamp"]) - dt.datetime.now(dt.UTC).timestamp()) < 60
    assert one.headers["x-tierkit-event"] == one.payload["event"]
    assert len(set(receiver.delivered_ids())) == 8
    assert webhooks.deliver(emitted)["posts"] == 0  # nothing is sent twice


def test_a_batch_carries_the_events_in_one_post_and_hooks_get_only_their_events(emitted: Path) -> None:
    batched, downs = Receiver(), Receiver()
    try:
        _hook(emitted, batched, batch=100)
        hook = webhooks.add(emitted, downs.url, ["tier_down"], "ops", batch=1)
        downs.secret = hook["secret"]
        grade_workspace(emitted, as_of="2026-02-28")
        webhooks.deliver(emitted)
    finally:
        batched.close()
        downs.close()
    assert len(batched.posts) == 1 and len(batched.posts[0].payload["events"]) == 8
    assert batched.posts[0].headers["x-tierkit-event"] == "batch"
    assert sorted(e["customer_id"] for p in downs.posts for e in p.events) == ["c1", "c2", "c4", "c6"]
    assert all(p.signature_ok for p in batched.posts + downs.posts)


def test_a_failing_receiver_gets_retries_then_the_dead_letter_list(emitted: Path) -> None:
    receiver = Receiver(behaviour=Behaviour(status=500))
    try:
        _hook(emitted, receiver, batch=100, retries=2, backoff=0.05)
        grade_workspace(emitted, as_of="2026-02-28")
        done = webhooks.deliver(emitted)
        assert done == {"delivered": 0, "retry": 16, "dead": 8, "posts": 3, "pending": 0, "dead_letter": 8}
        assert len(receiver.posts) == 3  # the first POST and two retries
        runner = CliRunner()
        dead = runner.invoke(app, ["alerts", "dead", "-w", str(emitted), "--json"])
        assert dead.exit_code == 0, dead.output
        assert len(json.loads(dead.stdout)) == 8 and "HTTP 500" in json.loads(dead.stdout)[0]["last_error"]
        log = json.loads(runner.invoke(app, ["alerts", "log", "-w", str(emitted), "--json"]).stdout)
        assert [(r["attempt"], r["status"], r["events"]) for r in log] == [(3, 500, 8), (2, 500, 8), (1, 500, 8)]
        receiver.behaviour = Behaviour(status=200)  # the receiver is fixed: send the dead letters again
        again = runner.invoke(app, ["alerts", "retry", "-w", str(emitted), "--json"])
        assert json.loads(again.stdout) == {"pending_again": 8}
        assert webhooks.deliver(emitted)["delivered"] == 8
    finally:
        receiver.close()
    assert len(set(receiver.delivered_ids())) == 8


def test_a_receiver_that_fails_at_first_gets_everything_in_the_end(emitted: Path) -> None:
    receiver = Receiver(behaviour=Behaviour(fail_first=2))
    try:
        _hook(emitted, receiver, batch=3, retries=3, backoff=0.02)
        grade_workspace(emitted, as_of="2026-02-28")
        done = webhooks.deliver(emitted)
    finally:
        receiver.close()
    assert done["delivered"] == 8 and done["dead_letter"] == 0
    assert len(set(receiver.delivered_ids())) == 8  # at least once: ids de-duplicate


def test_a_receiver_that_times_out_is_retried_and_a_slow_one_is_waited_for(emitted: Path) -> None:
    stuck, slow = Receiver(behaviour=Behaviour(delay=1.0)), Receiver(behaviour=Behaviour(delay=0.3))
    try:
        _hook(emitted, stuck, batch=100, timeout=0.2, retries=1, backoff=0.01)
        _hook(emitted, slow, batch=100, timeout=5.0)
        grade_workspace(emitted, as_of="2026-02-28")
        done = webhooks.deliver(emitted)
    finally:
        stuck.close()
        slow.close()
    assert done["delivered"] == 8 and done["dead"] == 8
    assert len(set(slow.delivered_ids())) == 8
    log = webhooks.hooks_store.log(store_of(Workspace.open(emitted)))
    assert any(r["error"] == "no answer within 0.2 s" and r["status"] is None for r in log)


def test_bad_webhooks_are_refused_and_nothing_is_written(emitted: Path) -> None:
    runner = CliRunner()
    for args, said in (
        (["ftp://example.com/x"], "give an http:// or https:// URL"),
        (["not a url"], "give an http:// or https:// URL"),
        (["http://127.0.0.1:9/x", "--events", "tier_up,tier_dwn"], "unknown event 'tier_dwn'"),
        (["http://127.0.0.1:9/x", "--batch", "0"], "--batch 0"),
    ):
        done = runner.invoke(app, ["webhooks", "add", *args, "-w", str(emitted)])
        assert isinstance(done.exception, TierkitError) and done.exception.exit_code == 2, done.output
        assert said in str(done.exception)
    listed = runner.invoke(app, ["webhooks", "list", "-w", str(emitted), "--json"])
    assert json.loads(listed.stdout) == []
    gone = runner.invoke(app, ["webhooks", "remove", "wh_nope", "-w", str(emitted)])
    assert "no active webhook 'wh_nope'" in str(gone.exception)
    whole = cli("webhooks", "add", "ftp://example.com/x", "-w", str(emitted))  # as a user sees it
    assert whole.returncode == 2 and whole.stderr.strip().count("\n") == 0, whole.stderr


def test_the_cli_prints_the_secret_once_and_lists_without_it(emitted: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app, ["webhooks", "add", "https://hooks.example.com/t", "--events", "tier_down", "-w", str(emitted), "--json"]
    )
    assert added.exit_code == 0, added.output
    made = json.loads(added.stdout)
    assert made["id"].startswith("wh_") and made["secret"].startswith("whsec_")
    listed = runner.invoke(app, ["webhooks", "list", "-w", str(emitted), "--json"])
    assert made["secret"] not in listed.stdout
    assert json.loads(listed.stdout)[0]["events"] == ["tier_down"]


def test_a_running_server_delivers_what_a_publish_emitted(emitted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tierkit serve`'s service loop sends pending alerts on its own (no `alerts deliver`)."""
    import time

    from fastapi.testclient import TestClient

    from tierkit.app.serving import Settings
    from tierkit.server import create_app

    receiver = Receiver()
    try:
        _hook(emitted, receiver, batch=5)
        grade_workspace(emitted, as_of="2026-02-28")
        monkeypatch.setenv("TIERKIT_LOOP_INTERVAL", "0.1")
        served = create_app(emitted, Settings(rate_per_second=0), warm=True)
        with TestClient(served):
            deadline = time.monotonic() + 30
            while len(set(receiver.delivered_ids())) < 8 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        receiver.close()
    assert len(set(receiver.delivered_ids())) == 8 and all(p.signature_ok for p in receiver.posts)
    assert [len(p.events) for p in receiver.posts] == [5, 3]


def test_a_rule_that_reads_a_name_is_quoted_without_it(tmp_path: Path) -> None:
    """The inbox is an agent's: a tag given by a rule on the customer's name says the rule with
    its literal withheld, as the agent's card does (tierkit.app.masking)."""
    root = _workspace(tmp_path)
    policy = root / "policy.yaml"
    named = "  - {name: named, label: {zh: 点名客户, en: Named}, when: \"name == '客户c5'\"}\n"
    text = policy.read_text("utf-8").replace("tags:\n", "tags:\n" + named, 1)
    policy.write_text(text.replace("tags: [big_spender]", "tags: [big_spender, named]"), "utf-8")
    grade_workspace(root, as_of="2026-01-31")
    grade_workspace(root, as_of="2026-02-28")
    found = inbox(ServedWorkspace.open(root), Caller("bob", "agent"), event="tag_added")["alerts"]
    named_alert = next(a for a in found if a["new"] == "named")
    assert named_alert["customer_id"] == "c5" and named_alert["reasons"] == ["新标签 点名客户: name == '***'"]
    assert "客户c5" not in json.dumps(found, ensure_ascii=False)
