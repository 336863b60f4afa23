"""The identification tags (客户身份 ... 欠费/信用) on every engine: what similar customers buy,
each tag class firing on the demo shop, and the same tags on DuckDB and Spark."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tierkit.backends import Backend
from tierkit.engine.grade import grade_inputs
from tierkit.engine.reading import read_inputs
from tierkit.policy.loader import parse_policy, preset_text

# Orders in the 12 months to 2026-06-30 (and one older, outside the window):
#   a: 服装 x3, 美妆 x1        -> favourite 服装
#   b: 服装 x2, 食品 x1        -> favourite 服装
#   c: 服装 x1, 美妆 x1, 家电 x1 -> ties at 1: favourite 家电 (text order: 家电 < 服装 < 美妆)
#   d: 数码 x2 (+ 服装 in 2024, outside the window) -> favourite 数码
# Peers by favourite: 服装 = {a, b}: buyers of 服装 2, 美妆 1 (a), 食品 1 (b).
#   a has 服装, 美妆 -> next is 食品 (1 buyer; the only one left)
#   b has 服装, 食品 -> next is 美妆
# 家电 = {c}: c bought everything c's peers (c alone) bought -> no next
# 数码 = {d}: d alone -> no next (the 2024 服装 is outside the window and not a peer's buy)
ORDERS = [
    ("a", "2026-01-10", "服装"),
    ("a", "2026-02-10", "服装"),
    ("a", "2026-03-10", "服装"),
    ("a", "2026-04-10", "美妆"),
    ("b", "2026-01-15", "服装"),
    ("b", "2026-02-15", "服装"),
    ("b", "2026-03-15", "食品"),
    ("c", "2026-01-20", "服装"),
    ("c", "2026-02-20", "美妆"),
    ("c", "2026-03-20", "家电"),
    ("d", "2026-05-01", "数码"),
    ("d", "2026-05-02", "数码"),
    ("d", "2024-05-02", "服装"),
]
EXPECTED = {"a": ("服装", "食品"), "b": ("服装", "美妆"), "c": ("家电", None), "d": ("数码", None)}
POLICY = """
name: offers
metrics:
  favourite: {recommend: favourite}
  next_buy: {recommend: next}
tiers: [{name: all, else: true}]
"""


def _orders(folder: Path) -> Path:
    path = folder / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "customer_id", "ordered_at", "amount", "category"])
        writer.writerows((f"o{i}", cid, day, "10.00", cat) for i, (cid, day, cat) in enumerate(ORDERS))
    return path


def test_favourite_and_what_similar_customers_buy(engine: Backend, tmp_path: Path) -> None:
    inputs = read_inputs(engine, _orders(tmp_path))
    grading = grade_inputs(inputs, parse_policy(POLICY, "offers.yaml"), dt.date(2026, 6, 30), engine)
    got = {r["customer_id"]: (r["favourite"], r["next_buy"]) for r in grading.table.to_pylist()}
    assert got == EXPECTED


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tierkit.demo.shop import generate

    return generate(tmp_path_factory.mktemp("demo-tags"), customers=1500, seed=11)


@pytest.fixture(scope="module")
def demo_tags(demo_files: Any) -> dict[str, dict[str, set[str]]]:
    return {}


def _demo_policy() -> Any:
    """The demo's policy: the retail preset with the identification tag set, as `tierkit demo` writes it."""
    text = preset_text("retail").replace("\nmetrics:\n", "\ntag_sets: [identification]\nmetrics:\n", 1)
    return parse_policy(text, "demo-policy.yaml")


def _tags(engine: Backend, files: Any) -> dict[str, set[str]]:
    inputs = read_inputs(engine, files.orders, files.customers, files.interactions)
    grading = grade_inputs(inputs, _demo_policy(), files.as_of, engine)
    return {r["customer_id"]: set(filter(None, str(r["tags"] or "").split(","))) for r in grading.table.to_pylist()}


def test_every_identification_class_fires_on_the_demo_and_engines_agree(
    engine: Backend, demo_files: Any, demo_tags: dict[str, dict[str, set[str]]]
) -> None:
    found = _tags(engine, demo_files)
    demo_tags[engine.name] = found
    policy = _demo_policy().policy
    groups = {t.name: t.group for t in policy.tags}
    fired = {groups[tag] for tags in found.values() for tag in tags}
    assert set(policy.tag_groups) <= fired
    if len(demo_tags) == 2:  # the second engine: the same tags for every customer
        assert demo_tags["duckdb"] == demo_tags["spark"]
