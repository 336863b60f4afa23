"""Campaign maths against a known simulated uplift, and the plain word when there is none."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.ops.campaigns import _mean_diff, _proportion_diff, in_control

runner = CliRunner()
N = 4000


def workspace(tmp_path: Path, uplift: float, seed: int) -> tuple[Path, str]:
    """N customers with an order before 2026-06-30; after it, control customers come back with
    probability 0.30 and treated ones with 0.30 + `uplift`, each return worth 100."""
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    lines = ["order_id,customer_id,ordered_at,amount"]
    for i in range(N):
        lines.append(f"a{i},{i:06d},2026-0{1 + i % 6}-15,{50 + i % 400}.00")
    path = ws / "data" / "orders.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    assert runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2026-06-30"]).exit_code == 0
    made = runner.invoke(
        app,
        [
            "campaign",
            "create",
            "-w",
            str(ws),
            "--segment",
            "spend_12m > 0",
            "--holdout",
            "0.5",
            "--seed",
            "7",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    campaign = json.loads(made.output)
    rng = np.random.default_rng(seed)
    later = []
    for i in range(N):
        cid = f"{i:06d}"
        rate = 0.30 if in_control(7, cid, 0.5) else 0.30 + uplift
        if rng.random() < rate:
            later.append(f"b{i},{cid},2026-08-01,100.00")
    path.write_text(path.read_text("utf-8") + "\n".join(later) + "\n", "utf-8")
    return ws, campaign["campaign_id"]


def test_a_known_uplift_is_found_inside_its_interval(tmp_path: Path) -> None:
    ws, campaign = workspace(tmp_path, uplift=0.10, seed=3)
    result = runner.invoke(app, ["campaign", "report", campaign, "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    overall = json.loads(result.output)["overall"]
    assert abs(overall["treatment"] - N / 2) < 150  # a fair 50/50 draw
    low, high = overall["retention"]["ci95"]
    assert low <= 0.10 <= high and overall["retention"]["significant"]
    low, high = overall["revenue_per_customer"]["ci95"]
    assert low <= 10.0 <= high  # 0.10 more returns x 100 each
    assert "higher with the campaign" in overall["verdict"]


def test_no_uplift_is_said_plainly(tmp_path: Path) -> None:
    ws, campaign = workspace(tmp_path, uplift=0.0, seed=5)
    overall = json.loads(runner.invoke(app, ["campaign", "report", campaign, "-w", str(ws), "--json"]).output)[
        "overall"
    ]
    assert not overall["retention"]["significant"]
    assert "not significant" in overall["verdict"] and "cannot be told apart from chance" in overall["verdict"]


def test_intervals_have_their_nominal_coverage() -> None:
    """Over 400 simulated experiments with a true difference, the 95% intervals hold it ~95% of the time."""
    rng = np.random.default_rng(11)
    hits_p = hits_m = 0
    for _ in range(400):
        a, b = rng.random(500) < 0.35, rng.random(500) < 0.30
        _, low, high = _proportion_diff(int(a.sum()), 500, int(b.sum()), 500)
        hits_p += low <= 0.05 <= high
        x, y = rng.gamma(2.0, 60.0, 300), rng.gamma(2.0, 50.0, 300)
        _, low, high = _mean_diff(list(x), list(y))
        hits_m += low <= 20.0 <= high
    assert 0.92 <= hits_p / 400 <= 0.98 and 0.92 <= hits_m / 400 <= 0.98


def test_the_draw_is_stable_and_near_its_share() -> None:
    ids = [f"{i:06d}" for i in range(20000)]
    share = sum(in_control(42, cid, 0.1) for cid in ids) / len(ids)
    assert share == pytest.approx(0.1, abs=0.01)
    assert [in_control(42, cid, 0.1) for cid in ids[:50]] == [in_control(42, cid, 0.1) for cid in ids[:50]]
