"""Did the measure work? Campaigns with a stratified control group, and an honest report after.

`create` takes the customers of the published run that match a segment (a rule over the run's
columns: tier, tags, metrics) and holds out a share of each stratum (tier by default) as the
control group the campaign leaves alone (campaign_assignment). `report` then compares the
groups over the period after the run's as-of date (campaign_measures): intent-to-treat on
everyone assigned, adjusted for the pre-period and analysed within strata (campaign_effects),
the raw difference beside it, delivery from the contact log, and the effect on the customers the
campaign reached. It says "higher" or "lower" only when the adjusted interval excludes 0.
`aa` re-draws null assignments over the same customers to show how often chance alone would pass.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from tierkit.backends import connect
from tierkit.engine.rules import RuleCompiler
from tierkit.errors import InputError, WorkspaceError
from tierkit.ops.campaign_assignment import assign, check_strata_sizes, parse_strata, stratum_label
from tierkit.ops.campaign_measures import Measures, Period, measure, period_of
from tierkit.ops.campaign_results import OUTCOMES, compare
from tierkit.runs.files import Run
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

    @property
    def strata(self) -> list[str] | None:
        """The columns the draw was stratified by; None for a campaign drawn before strata."""
        return self.meta.get("strata")


def create(
    ws: Workspace,
    run: Run,
    segment: str,
    holdout: float,
    seed: int,
    name: str | None = None,
    strata: str = "tier",
) -> Campaign:
    if not 0 < holdout < 1:
        raise InputError(f"--holdout {holdout}: give a share between 0 and 1, e.g. 0.1")
    backend = connect("duckdb")
    table = backend.read_parquet(run.result)
    names = {c: table[c] for c in table.columns if c != "reasons"}
    columns = parse_strata(strata, list(table.columns))
    chosen = table.filter(
        RuleCompiler(names, "--segment", dt.date.fromisoformat(str(run.manifest["as_of"]))).compile(segment)
    )
    members = backend.to_pyarrow(
        chosen.select("customer_id", "tier", *[c for c in columns if c not in ("customer_id", "tier")]).order_by(
            "customer_id"
        )
    )
    if members.num_rows == 0:
        raise InputError(f"--segment '{segment}' matches no customer of run {run.run_id}")
    ids = [str(cid) for cid in members["customer_id"].to_pylist()]
    values = [members[c].to_pylist() for c in columns]
    labels = [stratum_label(row) for row in zip(*values, strict=True)]
    check_strata_sizes(labels, holdout, columns)
    groups = assign(ids, labels, holdout, seed)
    campaign_id = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    folder = ws.root / FOLDER / campaign_id
    folder.mkdir(parents=True)
    assignment = pa.table(
        {
            "customer_id": ids,
            "tier": members["tier"],
            "stratum": labels,
            "group": groups,
        }
    )
    pq.write_table(assignment, folder / "assignment.parquet")
    sizes: dict[str, dict[str, int]] = {}
    for label, group in zip(labels, groups, strict=True):
        counts = sizes.setdefault(label, {"treatment": 0, "control": 0})
        counts[group] += 1
    meta = {
        "campaign_id": campaign_id,
        "name": name or segment,
        "segment": segment,
        "holdout": holdout,
        "seed": seed,
        "strata": columns,
        "run_id": run.run_id,
        "starts_after": run.manifest["as_of"],
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "customers": len(ids),
        "treatment": groups.count("treatment"),
        "control": groups.count("control"),
        "strata_sizes": dict(sorted(sizes.items())),
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


def _assignment(campaign: Campaign) -> pa.Table:
    """The groups; a campaign drawn before strata is analysed by tier (post-stratified)."""
    table = pq.read_table(campaign.assignment)
    if "stratum" not in table.column_names:
        table = table.append_column("stratum", pa.array([str(t) for t in table["tier"].to_pylist()]))
    return table


def _measured(ws: Workspace, campaign: Campaign, orders: Path, until: dt.date | None) -> tuple[Measures, Period]:
    period = period_of(ws, orders, dt.date.fromisoformat(campaign.meta["starts_after"]), until)
    return measure(ws, _assignment(campaign), orders, period), period


def _strata(campaign: Campaign, measures: Measures) -> dict[str, Any]:
    groups: dict[str, dict[str, int]] = {}
    for code, label in enumerate(measures.labels):
        inside = measures.strata == code
        groups[label] = {
            "treatment": int((inside & measures.treated).sum()),
            "control": int((inside & ~measures.treated).sum()),
        }
    return {"columns": campaign.strata or ["tier"], "assigned_within": campaign.strata is not None, "groups": groups}


def report(
    ws: Workspace, campaign: Campaign, orders: Path, until: dt.date | None = None, aa_rounds: int | None = None
) -> dict[str, Any]:
    """Intent-to-treat, adjusted and raw, delivery and balance, overall and per tier."""
    if aa_rounds is not None:
        _check_rounds(aa_rounds)  # before the measuring, which takes a while
    measures, period = _measured(ws, campaign, orders, until)
    tiers = sorted(set(measures.tiers.tolist()))
    result: dict[str, Any] = {
        "campaign_id": campaign.campaign_id,
        "segment": campaign.meta["segment"],
        "period": {
            "after": period.start.isoformat(),
            "until": period.end.isoformat(),
            "days": period.days,
            "before": {"after": period.pre_start.isoformat(), "until": period.start.isoformat()},
        },
        "strata": _strata(campaign, measures),
        "overall": compare(measures, measures.tiers == measures.tiers),
        "by_tier": {tier: compare(measures, measures.tiers == tier) for tier in tiers},
    }
    if aa_rounds is not None:
        result["aa"] = aa(measures, float(campaign.meta["holdout"]), int(campaign.meta["seed"]), aa_rounds)
    return result


def _check_rounds(rounds: int) -> None:
    if not 20 <= rounds <= 10_000:
        raise InputError(f"--rounds {rounds}: give between 20 and 10000 re-draws")


def aa(measures: Measures, holdout: float, seed: int, rounds: int) -> dict[str, Any]:
    """Share of null re-draws (seeds after the campaign's, same strata, same customers and
    periods) whose adjusted interval excludes 0: it should be near 5%."""
    _check_rounds(rounds)
    labels = [measures.labels[code] for code in measures.strata.tolist()]
    hits = dict.fromkeys(OUTCOMES, 0)
    for r in range(1, rounds + 1):
        groups = assign(measures.ids, labels, holdout, seed + r)
        null = measures.redrawn([g == "treatment" for g in groups])
        verdicts = compare(null, null.tiers == null.tiers, headline_only=True)
        for key in OUTCOMES:
            hits[key] += bool(verdicts[key]["significant"])
    low, high = (float(v) / rounds for v in stats.binom.interval(0.95, rounds, 0.05))
    return {
        "rounds": rounds,
        "nominal": 0.05,
        "expected_range": [round(low, 4), round(high, 4)],
        **{key: round(hits[key] / rounds, 4) for key in OUTCOMES},
    }
