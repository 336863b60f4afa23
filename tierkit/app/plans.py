"""Contact plans: for each owner, whom to contact in a month, how often, by when, in what order.

The cadence is the policy's (`service: TIER: {contacts_per_month: [min, max]}`: A 4-6, B 2-4, C
0-2 in pharma-grid), applied to the tier in effect of the published run (overrides win). Every
customer whose cadence allows a contact is planned: `planned_min`, `planned_max`, the due dates
of the minimum (at least one) spread over the month's working days, shifted per customer so
that an owner's days fill evenly, and a priority (tier first, then churn risk, then the longest
since the last contact). A plan is computed by the engine and kept as a file,
`plans/YYYY-MM/RUN.parquet`, immutable: asked again for the same month and run it is read back,
so that coverage (tierkit.app.coverage) is judged against what was planned.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierkit.app.contact_log import contacts
from tierkit.app.owners import owner_table
from tierkit.app.writing import writing
from tierkit.backends import Backend, connect
from tierkit.errors import InputError
from tierkit.policy.labels import tier_labels
from tierkit.policy.model import Policy
from tierkit.runs.card import run_policy
from tierkit.runs.effect import tier_in_effect, with_manual
from tierkit.runs.files import Run, current_run_id, load_run
from tierkit.runs.overrides import manual_tiers
from tierkit.settings import DEFAULT_LANG
from tierkit.workspace import Workspace

UNASSIGNED = "(unassigned)"
WORDS = {  # the plan's reason column, in the workspace's language
    "zh": {
        "cadence": "每月",
        "times": " 次",
        "risk": "; 流失风险 ",
        "never": "; 从未联系",
        "since": "; 上次联系 ",
        "days": " 天前",
    },
    "en": {
        "cadence": "contacts a month",
        "times": "",
        "risk": "; churn risk ",
        "never": "; never contacted",
        "since": "; last contact ",
        "days": " days before",
    },
}
COLUMNS = ["owner", "customer_id", "tier", "planned_min", "planned_max", "due_dates", "last_contacted", "reason"]


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not found or not 1 <= int(found.group(2)) <= 12:
            raise InputError(f"--month '{text}': give a month as YYYY-MM (e.g. 2026-10)")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def after(self) -> dt.date:
        """The first day of the next month."""
        return dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)

    def working_days(self) -> list[dt.date]:
        days = calendar.monthrange(self.year, self.month)[1]
        every = [dt.date(self.year, self.month, d) for d in range(1, days + 1)]
        return [d for d in every if d.weekday() < 5]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def cadence(policy: Policy) -> dict[str, tuple[int, int]]:
    """tier -> (min, max) contacts a month, for the tiers whose service sets one (checked here:
    a cadence with min > max is refused, naming the tier)."""
    found = {}
    for tier, service in policy.service.items():
        if service.contacts_per_month is None:
            continue
        low, high = service.contacts_per_month
        if low < 0 or high < low:
            raise InputError(
                f"service: {tier}: contacts_per_month [{low}, {high}]: give [min, max] with 0 <= min <= max"
            )
        found[tier] = (low, high)
    return found


def plan_run(ws: Workspace, month: Month) -> Run:
    """The published run a month's plan follows: graded in that month or before it."""
    run_id = current_run_id(ws)
    if run_id is None:
        raise InputError(f"{ws.root}: no published run to plan from; grade one first (tierkit grade -w {ws.root})")
    run = load_run(ws, run_id)
    as_of = dt.date.fromisoformat(run.manifest["as_of"])
    if as_of >= month.after:
        raise InputError(
            f"--month {month}: the published run ({run.run_id}) is as of {as_of}, after that month; "
            f"plan {as_of:%Y-%m} or later"
        )
    return run


def _due_dates(month: Month, counts: list[int], spread: int) -> pa.Table:
    """(contacts, shift) -> the due dates, as 'YYYY-MM-DD;...': `contacts` dates at even steps
    over the working days, the whole pattern moved by `shift` days (0 .. spread-1)."""
    days = month.working_days()
    rows: dict[str, list[object]] = {"contacts": [], "shift": [], "due_dates": []}
    for n in sorted(set(counts)):
        step = len(days) / n
        for shift in range(spread):
            picks = [days[min(len(days) - 1, int(i * step + (shift % max(1, int(step)))))] for i in range(n)]
            rows["contacts"].append(n)
            rows["shift"].append(shift)
            rows["due_dates"].append(";".join(d.isoformat() for d in picks))
    return pa.table(
        rows, schema=pa.schema([("contacts", pa.int64()), ("shift", pa.int64()), ("due_dates", pa.string())])
    )


def _churn_metric(policy: Policy) -> str | None:
    for name, spec in policy.metrics.items():
        if spec.plugin is not None and spec.kind == "churn" and getattr(spec.parameters, "churn", None) == "risk":
            return name
    return None


def plan_table(backend: Backend, ws: Workspace, run: Run, month: Month, lang: str = DEFAULT_LANG) -> ir.Table:
    """The month's plan as an expression over the run's result, owners and contacts."""
    policy = run_policy(run)
    rates = cadence(policy)
    if not rates:
        raise InputError(f"policy {policy.name}: no tier has service: contacts_per_month, so there is nothing to plan")
    tiers = [str(t) for t in run.manifest.get("tiers") or []]
    result = with_manual(backend.read_parquet(run.result), manual_tiers(ws, run))
    churn = _churn_metric(policy)
    rows = result.select(
        customer_id=result.customer_id.cast("string"),
        tier=tier_in_effect(result),
        risk=result[churn].cast("float64") if churn and churn in result.columns else ibis.null("float64"),
    )
    labels = tier_labels(policy, tiers, lang)
    table = ibis.memtable(
        pa.table(
            {
                "tier": list(rates),
                "label": [labels.get(t, t) for t in rates],
                "planned_min": [low for low, _ in rates.values()],
                "planned_max": [high for _, high in rates.values()],
                "rank": [tiers.index(t) if t in tiers else len(tiers) for t in rates],
            }
        )
    )
    planned = rows.join(table, "tier").filter(ibis._.planned_max > 0)
    owners = owner_table(backend, ws)
    if owners is not None:
        planned = planned.left_join(owners, "customer_id").drop("customer_id_right")
        planned = planned.mutate(owner=planned.owner.fill_null(UNASSIGNED))
    else:
        planned = planned.mutate(owner=ibis.literal(UNASSIGNED))
    seen = contacts(backend, ws, None, month.first)
    last = seen.group_by("customer_id").aggregate(last_contacted=seen["at"].max())
    planned = planned.left_join(last, "customer_id").drop("customer_id_right")
    days_since = (ibis.literal(month.first) - planned.last_contacted).cast("int64")
    order = [planned["rank"], planned.risk.desc(), planned.last_contacted.asc(nulls_first=True), planned.customer_id]
    planned = planned.mutate(priority=ibis.row_number().over(order_by=order) + 1, days_since=days_since)
    spread = max(1, len(month.working_days()) // max(1, min(high for _, high in rates.values() if high > 0)))
    planned = planned.mutate(
        contacts=ibis.greatest(planned.planned_min, 1).cast("int64"),
        shift=(planned.priority % spread).cast("int64"),
    )
    due = ibis.memtable(_due_dates(month, [max(low, 1) for low, high in rates.values() if high > 0], spread))
    planned = planned.join(due, ["contacts", "shift"])
    words = WORDS[lang if lang in WORDS else "zh"]
    risk = ibis.ifelse(
        planned.risk.isnull(), "", words["risk"] + (planned.risk * 100).round(0).cast("int64").cast("string") + "%"
    )
    since = ibis.ifelse(
        planned.days_since.isnull(),
        words["never"],
        words["since"].replace("{n}", "") + planned.days_since.cast("string") + words["days"],
    )
    cadence_text = planned.planned_min.cast("string") + "-" + planned.planned_max.cast("string")
    reason = planned.label + ": " + words["cadence"] + " " + cadence_text + words["times"] + risk + since
    return planned.select(
        "owner",
        "customer_id",
        "tier",
        planned_min=planned.planned_min.cast("int64"),
        planned_max=planned.planned_max.cast("int64"),
        due_dates=planned.due_dates,
        last_contacted=planned.last_contacted,
        reason=reason,
        priority=planned.priority.cast("int64"),
    ).order_by(["owner", "priority"])


def plan_file(ws: Workspace, month: Month, run: Run) -> Path:
    return ws.root / "plans" / str(month) / f"{run.run_id}.parquet"


def make_plan(workspace: Path | None, month_text: str) -> tuple[Path, int, Run, bool]:
    """The plan of a month (made now, or the one made before for this month and run): its file,
    rows, the run, and whether it was made now."""
    ws = Workspace.open(workspace)
    month = Month.parse(month_text)
    with writing(ws, "plan"):  # two at once would both find no plan and both write one
        return _make_plan(ws, month)


def _make_plan(ws: Workspace, month: Month) -> tuple[Path, int, Run, bool]:
    run = plan_run(ws, month)
    target = plan_file(ws, month, run)
    backend = connect("duckdb")
    if target.exists():  # immutable: coverage is judged against this very plan
        return target, int(backend.execute_scalar(backend.read_parquet(target).count()) or 0), run, False
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(".tmp.parquet")
    backend.write_parquet(plan_table(backend, ws, run, month, ws.setting("lang", DEFAULT_LANG)), scratch)
    scratch.replace(target)
    return target, int(backend.execute_scalar(backend.read_parquet(target).count()) or 0), run, True
