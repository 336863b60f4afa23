"""Entitlements at the counter, on the hand-graded telecom shop of entitlement_shop.py, on SQLite
and PostgreSQL, with the clock frozen by passing `now`.

The oracle is the seed's matrix (S5, 004: "对五星以上客户、各类客户中有集团关键人标签的客户 实行专区
专柜服务，业务优先办理 … 国际漫游快速开通 … 夜间不停机服务、延迟停机服务、SIM卡免费补卡" and 积分有礼
from its 5-star row) and the preset file read with a plain YAML parser, not what the code computes:
免费补卡 twice a calendar year in China time, so the third in 2026 is refused and a use after
midnight of 2027-01-01 +08:00 (16:00 UTC on 2026-12-31) counts again.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

from tests.app.entitlement_shop import KEY_PEOPLE, STARS, Shop, make_shop
from tierkit.app import entitlements as ent
from tierkit.app import tags as tag_uses
from tierkit.app.customers import Caller, override
from tierkit.app.serving import ServedWorkspace, Settings
from tierkit.errors import ConflictError, RequestError
from tierkit.runs.files import load_run
from tierkit.store.audit import entries
from tierkit.workspace import Workspace

PRESET = yaml.safe_load(resources.files("tierkit.policy.presets").joinpath("telecom-stars.yaml").read_text("utf-8"))
TWO_STARS, FIVE_STARS = PRESET["service"]["2"]["entitlements"], PRESET["service"]["5"]["entitlements"]
CHINA = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 7, 1, 10, 0, tzinfo=CHINA)
AGENT, ANALYST = Caller("agnes", "agent"), Caller("ana", "analyst")
LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
# the seed's words for 5 stars and up (and for key people), in the order the issue names them
SEED_FIVE_STARS = ["专区专柜", "优先办理", "国际漫游快速开通", "夜间不停机", "延迟停机", "免费补卡", "积分有礼"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shop, Any]]:
    made = make_shop(tmp_path_factory.mktemp(f"entitlements-{request.param}"), request.param)
    served = ServedWorkspace.open(made.root, Settings(pointer_ttl=0, lang="zh"))
    yield made, served
    served.close()


def _uses(served: ServedWorkspace, customer_id: str) -> list[tuple[str, str | None]]:
    """(code, tier) of every use the store holds for a customer, read with plain SQL."""
    with served.store.connect() as con:
        rows = con.execute(
            sa.text("SELECT code, tier FROM entitlement_uses WHERE customer_id = :c ORDER BY id"), {"c": customer_id}
        )
        return [(str(code), tier) for code, tier in rows]


def _item(items: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(i for i in items if i["code"] == code)


def _labels(codes: list[str]) -> list[str]:
    return [PRESET["entitlements"][c]["label"]["zh"] for c in codes]


def test_the_fixture_grades_as_worked_out_by_hand(shop: tuple[Shop, Any]) -> None:
    made, _served = shop
    result = load_run(Workspace.open(made.root), made.run_id).result
    table = pq.read_table(result, columns=["customer_id", "tier", "tags"])
    rows = table.to_pylist()
    assert {r["customer_id"]: r["tier"] for r in rows} == STARS
    assert {r["customer_id"] for r in rows if "key_person" in str(r["tags"]).split(",")} == KEY_PEOPLE


def test_the_preset_follows_the_seed_matrix() -> None:
    for stars in ("5", "6"):
        assert set(SEED_FIVE_STARS) <= set(_labels(PRESET["service"][stars]["entitlements"])), stars
    for stars in ("1", "2", "3", "4"):
        assert "专区专柜" not in _labels(PRESET["service"][stars]["entitlements"]), stars
    sim = PRESET["entitlements"]["free_sim_replacement"]
    assert (sim["limit"], sim["per"]) == (2, "year")
    assert PRESET["tag_entitlements"] == {"key_person": {"same_as": "5"}}


def test_a_five_star_customer_replaces_the_sim_twice_a_year_and_the_third_is_refused(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    before = _item(ent.entitlements(served, "s5", now=NOW), "free_sim_replacement")
    assert before == {
        "code": "free_sim_replacement",
        "label": "免费补卡",
        "limit": 2,
        "period": "year",
        "used": 0,
        "remaining": 2,
        "renews_on": "2027-01-01",
        "granted_by": [{"kind": "tier", "name": "5", "label": "五星级客户"}],
    }
    first = ent.use(served, "s5", "免费补卡", AGENT, "lost the SIM", now=NOW)  # by its label, as the counter says it
    assert (first["entitlement"]["used"], first["entitlement"]["remaining"]) == (1, 1)
    assert first["use"]["by"] == "agnes" and first["use"]["tier"] == "5" and first["use"]["note"] == "lost the SIM"
    second = ent.use(served, "s5", "free_sim_replacement", AGENT, now=NOW + dt.timedelta(days=30))
    assert (second["entitlement"]["used"], second["entitlement"]["remaining"]) == (2, 0)
    new_year_eve = dt.datetime(2026, 12, 31, 23, 30, tzinfo=CHINA)  # still 2026 in China, already 15:30 UTC
    with pytest.raises(ConflictError) as refused:
        ent.use(served, "s5", "free_sim_replacement", AGENT, now=new_year_eve)
    reason = str(refused.value)
    assert reason == "客户 s5 的 免费补卡 (free_sim_replacement) 每年 2 次，2026 已用 2 次，已用完；2027-01-01 起可再用"
    assert _uses(served, "s5") == [("free_sim_replacement", "5")] * 2  # the refusal wrote nothing
    checked = ent.check(served, "s5", "free_sim_replacement", lang="en", now=new_year_eve)
    assert checked["allowed"] is False
    assert "2 a year, 2 used in 2026; available again from 2027-01-01" in checked["reason"]
    # the period rolls over at midnight in China: 2026-12-31 16:10 UTC is 2027-01-01 00:10 +08:00
    new_year = dt.datetime(2026, 12, 31, 16, 10, tzinfo=dt.UTC)
    assert ent.check(served, "s5", "free_sim_replacement", now=new_year)["allowed"] is True
    renewed = _item(ent.entitlements(served, "s5", now=new_year), "free_sim_replacement")
    assert (renewed["used"], renewed["remaining"], renewed["renews_on"]) == (0, 2, "2028-01-01")
    third = ent.use(served, "s5", "free_sim_replacement", AGENT, now=new_year)
    assert (third["entitlement"]["used"], third["entitlement"]["remaining"]) == (1, 1)
    assert len(_uses(served, "s5")) == 3


def test_unlimited_entitlements_say_null(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    counter = _item(ent.entitlements(served, "s6", now=NOW), "dedicated_counter")
    assert (counter["limit"], counter["remaining"], counter["period"], counter["used"]) == (None, None, None, None)
    for _ in range(3):  # no limit: every use is recorded
        assert ent.use(served, "s6", "dedicated_counter", AGENT, now=NOW)["entitlement"]["remaining"] is None
    assert _uses(served, "s6") == [("dedicated_counter", "6")] * 3


def test_a_three_star_customer_is_refused_the_dedicated_counter(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    listed = ent.entitlements(served, "s3", now=NOW)
    assert [i["code"] for i in listed] == PRESET["service"]["3"]["entitlements"]  # standard service only
    checked = ent.check(served, "s3", "dedicated_counter", now=NOW)
    assert checked["allowed"] is False and checked["entitlement"] is None
    assert checked["reason"] == (
        "客户 s3 不享有 专区专柜 (dedicated_counter)：当前等级 三星级客户 不含此权益；"
        "享有此权益的：六星级客户、五星级客户、标签 集团关键人"
    )
    with pytest.raises(ConflictError, match="不享有 专区专柜"):
        ent.use(served, "s3", "专区专柜", AGENT, now=NOW)
    assert _uses(served, "s3") == []


def test_a_key_person_tagged_two_star_customer_gets_the_five_star_set(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    listed = ent.entitlements(served, "k2", now=NOW)
    assert [i["code"] for i in listed] == TWO_STARS + FIVE_STARS
    assert set(SEED_FIVE_STARS) <= {i["label"] for i in listed}
    key_person = [{"kind": "tag", "name": "key_person", "label": "集团关键人"}]
    assert _item(listed, "dedicated_counter")["granted_by"] == key_person
    assert _item(listed, "free_sim_replacement")["limit"] == 2  # with the 5-star limits
    assert ent.use(served, "k2", "dedicated_counter", AGENT, now=NOW)["use"]["tier"] == "2"


def test_a_key_person_tag_given_by_hand_grants_the_set_until_removed(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    assert "dedicated_counter" not in [i["code"] for i in ent.entitlements(served, "m2", now=NOW)]
    tag_uses.give(served, "m2", "集团关键人", "on the group client's list", None, ANALYST)
    listed = ent.entitlements(served, "m2", now=NOW)
    assert [i["code"] for i in listed] == TWO_STARS + FIVE_STARS
    assert ent.check(served, "m2", "国际漫游快速开通", now=NOW)["allowed"] is True
    tag_uses.remove(served, "m2", "集团关键人", ANALYST)
    assert ent.check(served, "m2", "dedicated_counter", now=NOW)["allowed"] is False


def test_an_override_to_five_stars_grants_them(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    assert ent.check(served, "p2", "dedicated_counter", now=NOW)["allowed"] is False
    override(served, "p2", "5", "chairman of a group client", LATER, ANALYST)
    listed = ent.entitlements(served, "p2", now=NOW)
    assert [i["code"] for i in listed] == PRESET["service"]["5"]["entitlements"]
    assert {g["name"] for i in listed for g in i["granted_by"]} == {"5"}
    done = ent.use(served, "p2", "free_sim_replacement", AGENT, now=NOW)
    assert done["use"]["tier"] == "5" and done["entitlement"]["remaining"] == 1
    assert _uses(served, "p2") == [("free_sim_replacement", "5")]


def test_an_unknown_code_is_bad_input_naming_the_known_codes(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    before = entries(served.store, "s1", 100)
    for call in (
        lambda: ent.use(served, "s1", "free_sim_replacment", AGENT, now=NOW),
        lambda: ent.check(served, "s1", "free_sim_replacment", now=NOW),
    ):
        with pytest.raises(RequestError) as bad:
            call()
        message = str(bad.value)
        assert message.startswith("'free_sim_replacment' is not an entitlement of policy 'telecom-stars'")
        assert "(did you mean 'free_sim_replacement'?)" in message and "\n" not in message
        assert all(code in message for code in PRESET["entitlements"])
    assert _uses(served, "s1") == [] and entries(served.store, "s1", 100) == before


def test_uses_are_audited(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    done = ent.use(served, "s6", "积分有礼", AGENT, "兑换话费 50 元", now=NOW)
    audited = [e for e in entries(served.store, "s6", 100) if e["action"] == "use_entitlement"]
    newest = audited[0]
    assert (newest["actor"], newest["role"]) == ("agnes", "agent")
    detail = json.loads(newest["detail"])
    assert detail == {
        "code": "points_rewards",
        "run": done["use"]["run_id"],
        "tier": "6",
        "use": done["use"]["id"],
        "remaining": None,
        "note": "兑换话费 50 元",
    }


def test_two_counters_at_once_never_exceed_the_limit(shop: tuple[Shop, Any]) -> None:
    _made, served = shop
    results: list[str] = []

    def one() -> None:
        try:
            ent.use(served, "s5b", "free_sim_replacement", AGENT, now=NOW)
            results.append("used")
        except ConflictError as err:
            results.append(str(err))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("used") == 2 and len(results) == 8
    assert _uses(served, "s5b") == [("free_sim_replacement", "5")] * 2


def test_the_command_line_wrappers_open_the_workspace(shop: tuple[Shop, Any], tmp_path: Path) -> None:
    made, _served = shop
    listed = ent.list_in(made.root, "s1", "en")
    assert [(i["code"], i["label"]) for i in listed] == [("self_service", "Self-service")]
    assert ent.check_in(made.root, "s1", "self_service")["allowed"] is True
