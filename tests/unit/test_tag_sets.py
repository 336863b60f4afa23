"""Tag sets merge into a policy as if written out; declared attributes are unknown when absent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tierkit.backends import connect
from tierkit.engine.grade import grade_inputs
from tierkit.engine.reading import read_inputs
from tierkit.errors import PolicyError
from tierkit.policy.loader import parse_policy
from tierkit.policy.model import Policy
from tierkit.policy.tag_sets import tag_set_names

OWN = """
name: mine
tag_sets: [identification]
metrics:
  complaints_90d: {count: interactions, where: "kind == 'complaint'", window: 30D}
tiers: [{name: all, else: true}]
tags:
  - {name: serial_complainer, when: "complaints_90d >= 5", label: 老投诉户}
"""


def test_a_tag_set_is_merged_and_the_policys_own_names_win() -> None:
    loaded = parse_policy(OWN, "mine.yaml")
    policy = loaded.policy
    assert policy.metrics["complaints_90d"].window == "30D"  # mine, not the set's 90D
    serial = [t for t in policy.tags if t.name == "serial_complainer"]
    assert len(serial) == 1 and serial[0].when == "complaints_90d >= 5"
    assert {"key_person", "prefers_e_channel", "in_arrears"} <= {t.name for t in policy.tags}
    assert "集团关键人" in policy.attributes and "identity" in policy.tag_groups
    # a run keeps the resolved policy: read back, it is the same policy (nothing merged twice)
    again = Policy.model_validate(json.loads(json.dumps(policy.model_dump(mode="json", by_alias=True))))
    assert [t.name for t in again.tags] == [t.name for t in policy.tags]


def test_an_unknown_tag_set_is_named_with_the_known_ones() -> None:
    assert "identification" in tag_set_names()
    with pytest.raises(PolicyError, match=r"unknown set 'identfication'.*did you mean 'identification'"):
        parse_policy(OWN.replace("[identification]", "[identfication]"), "mine.yaml")


def test_declared_attributes_a_file_lacks_are_unknown_and_said_once(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    orders = write_csv(
        "orders.csv", [{"order_id": "1", "customer_id": "c1", "ordered_at": "2026-05-01", "amount": "10.00"}]
    )
    customers = write_csv("customers.csv", [{"customer_id": "c1", "集团关键人": "是"}])
    engine = connect("duckdb")
    grading = grade_inputs(
        read_inputs(engine, orders, customers), parse_policy(OWN, "mine.yaml"), dt.date(2026, 6, 30), engine
    )
    row = grading.table.to_pylist()[0]
    assert row["集团关键人"] is True and "key_person" in row["tags"]
    assert row["校园客户"] is None and "campus" not in row["tags"]
    notes = [w for w in grading.warnings if "no column 集团联系人" in w]
    assert len(notes) == 1 and "校园客户" in notes[0] and "集团关键人" not in notes[0]
    assert any("no column 'category'" in w for w in grading.warnings)  # no recommendation, said
    typed = write_csv("typed.csv", [{"customer_id": "c1", "集团关键人": "maybe"}])
    with pytest.raises(PolicyError, match="'集团关键人' is declared boolean"):
        grade_inputs(read_inputs(engine, orders, typed), parse_policy(OWN, "mine.yaml"), dt.date(2026, 6, 30), engine)
