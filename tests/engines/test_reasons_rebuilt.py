"""Every preset's whole reasons two ways: written by the engine's SQL (TIERKIT_REASONS=full) and
rebuilt by the reader from the lean JSON, the row and the policy (runs.reasons_full).

The two are separate implementations (Ibis expressions rendered by DuckDB; Python over a row),
so their agreement on every customer of a generated shop is the oracle for both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tierkit.app.grading import grade
from tierkit.demo.shop import DemoFiles, generate
from tierkit.policy.loader import load_policy, preset_names


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate(tmp_path_factory.mktemp("shop"), customers=3_000, seed=7)


def _graded(shop: DemoFiles, preset: str) -> dict[str, dict[str, Any]]:
    result = grade(
        shop.orders,
        policy=preset,
        as_of=shop.as_of,
        customers=shop.customers,
        interactions=shop.interactions,
        contacts=shop.contacts,
    )
    return {row["customer_id"]: row for row in result.table.to_pylist()}


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_rebuilds_the_reasons_the_engine_writes_whole(
    shop: DemoFiles, preset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierkit.runs.reasons_full import full_reasons

    lean = _graded(shop, preset)
    monkeypatch.setenv("TIERKIT_REASONS", "full")
    whole = _graded(shop, preset)
    policy = load_policy(preset).policy
    assert sorted(lean) == sorted(whole) and len(lean) > 1_000
    lean_bytes = sum(len(r["reasons"]) for r in lean.values())
    whole_bytes = sum(len(r["reasons"]) for r in whole.values())
    assert lean_bytes < whole_bytes / 2  # what the lean form is for
    for cid, row in lean.items():
        assert full_reasons(row["reasons"], row, policy) == json.loads(whole[cid]["reasons"]), (preset, cid)


def test_a_whole_reasons_json_is_read_as_it_is() -> None:
    """Runs graded before lean reasons (or with TIERKIT_REASONS=full) keep theirs."""
    from tierkit.runs.reasons_full import full_reasons

    written = {"tier": {"rule": "vip", "when": "spend_12m > 1"}, "tags": {}, "values": {"spend_12m": 2.0}}
    row = {"customer_id": "1", "tier": "regular", "spend_12m": 99.0, "reasons": json.dumps(written)}
    assert full_reasons(row["reasons"], row, load_policy("retail").policy) == written


def test_an_unknown_reasons_setting_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tierkit.errors import TierkitError

    shop = generate(tmp_path, customers=50, seed=1)
    monkeypatch.setenv("TIERKIT_REASONS", "short")
    with pytest.raises(TierkitError, match="TIERKIT_REASONS: 'short' is not one of lean, full"):
        _graded(shop, "rfm")
