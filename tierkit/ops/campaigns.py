"""Did the measure work? Campaigns with a random control group, and their report after the fact.

`create` takes the customers of the published run that match a segment (a rule over the run's
columns: tier, tags, metrics), and puts a random share of them in a control group that the
campaign leaves alone. The draw is a hash of the seed and the customer id, so it is the same on
every machine and run. `report` then compares treatment and control over the period after the
run's as-of date: retention (share with at least one order) and revenue per customer, with 95%
confidence intervals for the difference (Newcombe's interval for proportions, Welch's for means),
overall and per tier, and says so plainly when a difference cannot be told apart from chance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from tierkit.backends import connect
from tierkit.engine.rules import RuleCompiler
from tierkit.errors import InputError, WorkspaceError
from tierkit.ingest.identity.persons import LINKS, fold_ids
from tierkit.runs.files import Run
from tierkit.tables.readers import read_table
from tierkit.workspace import Workspace

FOLDER = "campaigns"


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    path: Path
    meta: dict[str, Any]

    @property
    def assignment(self) -> Path:
        return self.path / "assignment.parquet"


def in_control(seed: int, customer_id: str, holdout: float) -> bool:
    """A stable draw: sha256(seed, id) as a number in [0, 1), below `holdout` = control."""
    digest = hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < holdout


def create(ws: Workspace, run: Run, segment: str, holdout: float, seed: int, name: str | None = None) -> Campaign:
    if not 0 < holdout < 1:
        raise InputError(f"--holdout {holdout}: give a share between 0 and 1, e.g. 0.1")
    backend = connect("duckdb")
    table = backend.read_parquet(run.result)
    names = {c: table[c] for c in table.columns if c != "reasons"}
    chosen = table.filter(RuleCompiler(names, "--segment").compile(segment)).select("customer_id", "tier")
    members = backend.to_pyarrow(chosen.order_by("customer_id"))
    if members.num_rows == 0:
        raise InputError(f"--segment '{segment}' matches no customer of run {run.run_id}")
    ids = members["customer_id"].to_pylist()
    groups = ["control" if in_control(seed, cid, holdout) else "treatment" for cid in ids]
    campaign_id = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    folder = ws.root / FOLDER / campaign_id
    folder.mkdir(parents=True)
    pq.write_table(members.append_column("group", pa.array(groups)), folder / "assignment.parquet")
    meta = {
        "campaign_id": campaign_id,
        "name": name or segment,
        "segment": segment,
        "holdout": holdout,
        "seed": seed,
        "run_id": run.run_id,
        "starts_after": run.manifest["as_of"],
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "customers": len(ids),
        "treatment": groups.count("treatment"),
        "control": groups.count("control"),
    }
    staging = folder / "campaign.json.partial"
    staging.write_text(json.dumps(meta, ensure_ascii=False, indent=2), "utf-8")
    os.replace(staging, folder / "campaign.json")
    return Campaign(campaign_id, folder, meta)


def load(ws: Workspace, campaign_id: str) -> Campaign:
    folder = ws.root / FOLDER / campaign_id
    if not (folder / "campaign.json").exists():
        known = sorted(p.name for p in (ws.root / FOLDER).glob("*")) if (ws.root / FOLDER).exists() else []
        raise WorkspaceError(f"no campaign '{campaign_id}' (campaigns: {', '.join(known) or 'none'})")
    return Campaign(campaign_id, folder, json.loads((folder / "campaign.json").read_text("utf-8")))


def _proportion_diff(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float, float]:
    """Difference p1 − p2 and Newcombe's 95% interval (Wilson score intervals combined)."""
    z = stats.norm.ppf(0.975)

    def wilson(s: int, n: int) -> tuple[float, float]:
        p = s / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half

    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson(s1, n1)
    l2, u2 = wilson(s2, n2)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, low, high


def _mean_diff(x1: list[float], x2: list[float]) -> tuple[float, float, float]:
    """Difference of means and Welch's 95% interval."""
    n1, n2 = len(x1), len(x2)
    m1, m2 = sum(x1) / n1, sum(x2) / n2
    v1 = sum((v - m1) ** 2 for v in x1) / (n1 - 1) if n1 > 1 else 0.0
    v2 = sum((v - m2) ** 2 for v in x2) / (n2 - 1) if n2 > 1 else 0.0
    se = math.sqrt(v1 / n1 + v2 / n2)
    if se == 0:
        return m1 - m2, m1 - m2, m1 - m2
    df = (v1 / n1 + v2 / n2) ** 2 / (
        ((v1 / n1) ** 2 / (n1 - 1) if n1 > 1 else 0) + ((v2 / n2) ** 2 / (n2 - 1) if n2 > 1 else 0) or 1e-300
    )
    t = stats.t.ppf(0.975, df)
    return m1 - m2, m1 - m2 - t * se, m1 - m2 + t * se


def _compare(rows: list[dict[str, Any]]) -> dict[str, Any]:
    treated = [r for r in rows if r["group"] == "treatment"]
    control = [r for r in rows if r["group"] == "control"]
    out: dict[str, Any] = {"treatment": len(treated), "control": len(control)}
    if len(treated) < 2 or len(control) < 2:
        out["verdict"] = "too few customers in a group to compare"
        return out
    kept_t, kept_c = sum(r["retained"] for r in treated), sum(r["retained"] for r in control)
    diff, low, high = _proportion_diff(kept_t, len(treated), kept_c, len(control))
    out["retention"] = {
        "treatment": round(kept_t / len(treated), 4),
        "control": round(kept_c / len(control), 4),
        "difference": round(diff, 4),
        "ci95": [round(float(low), 4), round(float(high), 4)],
        "significant": bool(low > 0 or high < 0),
    }
    revenue_t = [float(r["revenue"]) for r in treated]
    revenue_c = [float(r["revenue"]) for r in control]
    diff, low, high = _mean_diff(revenue_t, revenue_c)
    out["revenue_per_customer"] = {
        "treatment": round(sum(revenue_t) / len(revenue_t), 2),
        "control": round(sum(revenue_c) / len(revenue_c), 2),
        "difference": round(diff, 2),
        "ci95": [round(float(low), 2), round(float(high), 2)],
        "significant": bool(low > 0 or high < 0),
    }
    said = []
    for label, key in (("retention", "retention"), ("revenue per customer", "revenue_per_customer")):
        result = out[key]
        if result["significant"]:
            direction = "higher" if result["difference"] > 0 else "lower"
            said.append(f"{label}: {direction} with the campaign (95% CI {result['ci95'][0]} to {result['ci95'][1]})")
        else:
            said.append(
                f"{label}: not significant, the 95% CI ({result['ci95'][0]} to {result['ci95'][1]}) "
                f"includes 0, so the difference cannot be told apart from chance"
            )
    out["verdict"] = "; ".join(said)
    return out


def report(ws: Workspace, campaign: Campaign, orders: Path, until: dt.date | None = None) -> dict[str, Any]:
    """Retention and revenue per customer after the campaign started, treatment vs control."""
    start = dt.date.fromisoformat(campaign.meta["starts_after"])
    engine = connect("duckdb")
    source = read_table(engine, "orders", orders).table
    links = ws.data_dir / LINKS
    if links.exists():  # the run graded persons: count each person's orders under all their ids
        source = fold_ids(engine, source, links)
    if until is not None and until <= start:
        raise InputError(f"--until {until} must come after the campaign's start ({start})")
    last = engine.execute_scalar(source.ordered_at.max())
    if last is None or last <= start:
        raise InputError(f"no orders after the campaign's start ({start}) yet: nothing to measure")
    end = until or last
    window = source.filter((source.ordered_at > ibis.date(start)) & (source.ordered_at <= ibis.date(end)))
    if not engine.execute_scalar(window.count()):
        raise InputError(f"no orders between the campaign's start ({start}) and {end}: nothing to measure")
    after = window.group_by("customer_id").aggregate(orders=window.count(), revenue=window.amount.sum())
    assignment = ibis.memtable(pq.read_table(campaign.assignment))
    joined = assignment.left_join(after, "customer_id")
    measured = joined.select(
        "customer_id",
        "tier",
        "group",
        retained=joined.orders.coalesce(0) > 0,
        revenue=joined.revenue.coalesce(ibis.literal(0).cast(joined.revenue.type())),
    )
    rows = engine.to_pyarrow(measured.order_by("customer_id")).to_pylist()
    tiers = sorted({str(r["tier"]) for r in rows})
    return {
        "campaign_id": campaign.campaign_id,
        "segment": campaign.meta["segment"],
        "period": {"after": start.isoformat(), "until": end.isoformat()},
        "overall": _compare(rows),
        "by_tier": {tier: _compare([r for r in rows if str(r["tier"]) == tier]) for tier in tiers},
    }
