"""Campaigns end to end on a simulated shop with a known truth: the uplift found inside its
interval, nothing said when there is nothing, delivery from the contacts file, old campaigns
still readable, bad input refused in one line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.errors import InputError
from tierkit.runs.files import store_of
from tierkit.store import contacts
from tierkit.workspace import Workspace

runner = CliRunner()
N = 4000
POLICY = """name: two tiers
value: spend_12m
metrics:
  spend_12m: {sum: amount, window: 12M}
tiers:
  - name: vip
    label: {zh: VIP, en: VIP}
    when: "spend_12m >= 300"
  - name: regular
    label: {zh: 普通, en: Regular}
    else: true
"""


def shop(tmp_path: Path) -> Path:
    """N customers with an order before 2026-06-30, each worth 50-449; those at 300 or more are
    VIPs (three in eight). Graded as of 2026-06-30."""
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    (ws / "policy.yaml").write_text(POLICY, "utf-8")
    lines = ["order_id,customer_id,ordered_at,amount"]
    lines += [f"a{i},{i:06d},2026-0{1 + i % 6}-15,{50 + i % 400}.00" for i in range(N)]
    (ws / "data" / "orders.csv").write_text("\n".join(lines) + "\n", "utf-8")
    graded = runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2026-06-30"])
    assert graded.exit_code == 0, graded.output
    return ws


def create(ws: Path, *extra: str) -> dict:
    made = runner.invoke(
        app, ["campaign", "create", "-w", str(ws), "--segment", "spend_12m > 0", "--holdout", "0.5", *extra, "--json"]
    )
    assert made.exit_code == 0, made.output
    return json.loads(made.output)


def groups(ws: Path, campaign: dict) -> dict[str, str]:
    table = pq.read_table(ws / "campaigns" / campaign["campaign_id"] / "assignment.parquet")
    return dict(zip(table["customer_id"].to_pylist(), table["group"].to_pylist(), strict=True))


def after(ws: Path, group_of: dict[str, str], uplift: float, seed: int, reached: float = 1.0) -> None:
    """Control customers come back with probability 0.30, treated ones the campaign reached
    with 0.30 + uplift / reached (so the effect on everyone assigned is `uplift`); each return
    worth 100. With reached < 1, a contacts file records who was reached."""
    rng = np.random.default_rng(seed)
    later, contacts = [], ["contact_id,customer_id,at,kind"]
    for i in range(N):
        cid = f"{i:06d}"
        got = group_of[cid] == "treatment" and rng.random() < reached
        if got and reached < 1.0:
            contacts.append(f"c{i},{cid},2026-07-05,call")
        if rng.random() < 0.30 + (uplift / reached if got else 0.0):
            later.append(f"b{i},{cid},2026-08-01,100.00")
    path = ws / "data" / "orders.csv"
    path.write_text(path.read_text("utf-8") + "\n".join(later) + "\n", "utf-8")
    if reached < 1.0:
        (ws / "data" / "contacts.csv").write_text("\n".join(contacts) + "\n", "utf-8")


def report(ws: Path, campaign: dict, *extra: str) -> dict:
    result = runner.invoke(app, ["campaign", "report", campaign["campaign_id"], "-w", str(ws), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_known_uplift_is_found_inside_its_interval(tmp_path: Path) -> None:
    ws = shop(tmp_path)
    campaign = create(ws, "--seed", "7")
    after(ws, groups(ws, campaign), uplift=0.10, seed=3)
    result = report(ws, campaign)
    overall = result["overall"]
    assert overall["treatment"] == overall["control"] == N / 2  # half of every stratum, exactly
    for key in ("retention", "adjusted", "raw"):
        part = overall[key] if key == "retention" else overall[key]["retention"]
        assert part["ci95"][0] <= 0.10 <= part["ci95"][1] and part["significant"]
    low, high = overall["revenue_per_customer"]["ci95"]
    assert low <= 10.0 <= high  # 0.10 more returns x 100 each
    assert "retention: higher with the campaign" in overall["verdict"]
    assert overall["reached"] is None and overall["delivery"] == "delivery not recorded"
    assert overall["effect_on_reached"] is None
    assert result["strata"]["columns"] == ["tier"] and result["strata"]["assigned_within"]
    assert set(result["by_tier"]) == {"vip", "regular"}


def test_no_uplift_is_said_plainly(tmp_path: Path) -> None:
    ws = shop(tmp_path)
    campaign = create(ws, "--seed", "7")
    after(ws, groups(ws, campaign), uplift=0.0, seed=5)
    overall = report(ws, campaign)["overall"]
    assert not overall["retention"]["significant"]
    assert "not significant" in overall["verdict"] and "cannot be told apart from chance" in overall["verdict"]


def test_the_tier_mix_is_the_same_in_both_groups_and_the_draw_repeats(tmp_path: Path) -> None:
    ws = shop(tmp_path)
    tiers = {f"{i:06d}": ("vip" if 50 + i % 400 >= 300 else "regular") for i in range(N)}  # the policy, by hand
    first, second = create(ws, "--seed", "7", "--holdout", "0.1"), create(ws, "--seed", "7", "--holdout", "0.1")
    drawn = groups(ws, first)
    assert drawn == groups(ws, second)
    for tier in ("vip", "regular"):
        members = [cid for cid, t in tiers.items() if t == tier]
        control = sum(drawn[cid] == "control" for cid in members)
        assert abs(control - 0.1 * len(members)) < 1  # round(holdout x n) of each stratum
    assert first["control"] == 400 and first["strata"] == ["tier"]
    assert first["strata_sizes"]["vip"] == {"treatment": 1350, "control": 150}


def test_delivery_from_the_contacts_file_gives_the_effect_on_the_reached(tmp_path: Path) -> None:
    ws = shop(tmp_path)
    campaign = create(ws, "--seed", "9")
    after(ws, groups(ws, campaign), uplift=0.08, seed=4, reached=0.5)
    overall = report(ws, campaign)["overall"]
    assert abs(overall["reached"] - 0.5) < 0.04 and overall["reached_control"] == 0.0
    low, high = overall["effect_on_reached"]["retention"]["ci95"]
    assert low <= 0.16 <= high  # 0.08 on everyone assigned is 0.16 on the half reached
    itt_low, itt_high = overall["retention"]["ci95"]
    assert itt_low <= 0.08 <= itt_high


def test_delivery_from_the_stores_contact_log(tmp_path: Path) -> None:
    """Contacts logged through the card or the API (stamped now) count when the period reaches
    today; the control group is not contacted."""
    ws = shop(tmp_path)
    campaign = create(ws, "--seed", "7")
    drawn = groups(ws, campaign)
    after(ws, drawn, uplift=0.0, seed=8)
    today = dt.datetime.now(dt.UTC).date()
    path = ws / "data" / "orders.csv"
    path.write_text(path.read_text("utf-8") + f"z,000000,{today},1.00\n", "utf-8")
    engine = store_of(Workspace.open(ws))
    treated = sorted(cid for cid, group in drawn.items() if group == "treatment")[:50]
    for cid in treated:
        contacts.log(engine, cid, "rep1", "phone", None)
    overall = report(ws, campaign)["overall"]
    assert overall["reached"] == 50 / 2000 and overall["reached_control"] == 0.0


def test_a_campaign_drawn_before_strata_is_still_reported(tmp_path: Path) -> None:
    ws = shop(tmp_path)
    campaign = create(ws, "--seed", "7")
    folder = ws / "campaigns" / campaign["campaign_id"]
    table = pq.read_table(folder / "assignment.parquet")
    pq.write_table(pa.table({c: table[c] for c in ("customer_id", "tier", "group")}), folder / "assignment.parquet")
    meta = json.loads((folder / "campaign.json").read_text("utf-8"))
    for key in ("strata", "strata_sizes"):
        del meta[key]
    (folder / "campaign.json").write_text(json.dumps(meta), "utf-8")
    after(ws, groups(ws, campaign), uplift=0.10, seed=3)
    result = report(ws, campaign)
    assert result["strata"] == {**result["strata"], "columns": ["tier"], "assigned_within": False}
    assert result["overall"]["retention"]["significant"]


def test_the_aa_check_runs_from_the_command_line(tmp_path: Path) -> None:
    ws = shop(tmp_path)
    campaign = create(ws, "--seed", "7")
    after(ws, groups(ws, campaign), uplift=0.0, seed=6)
    aa = report(ws, campaign, "--aa", "--rounds", "40")["aa"]
    assert aa["rounds"] == 40 and 0 <= aa["retention"] <= 0.2 and 0 <= aa["revenue_per_customer"] <= 0.2
    text = runner.invoke(app, ["campaign", "report", campaign["campaign_id"], "-w", str(ws), "--aa", "--rounds", "20"])
    assert text.exit_code == 0 and "A/A: of 20 null re-draws" in text.output
    few = runner.invoke(app, ["campaign", "report", campaign["campaign_id"], "-w", str(ws), "--aa", "--rounds", "5"])
    assert isinstance(few.exception, InputError) and "--rounds 5" in str(few.exception)


def test_bad_strata_are_refused_in_one_line(tmp_path: Path) -> None:
    ws = shop(tmp_path)
    for strata, words in (("tier,colour", "no column 'colour'"), ("customer_id", "too small")):
        args = ["campaign", "create", "-w", str(ws), "--segment", "spend_12m > 0", "--strata", strata]
        made = runner.invoke(app, args)
        assert isinstance(made.exception, InputError), made.output  # `tierkit` prints it as "error: ..."
        assert words in str(made.exception) and "\n" not in str(made.exception)
