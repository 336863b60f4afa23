"""Stable tiers: the previous run's result joined to the new grading, and the tier that applies.

The previous run's result (a Parquet file the grading backend reads, on Spark too) is an input
of the grading expression, joined by customer_id: no loop in Python, the same on every engine.
Tiers are ordered best first (rule tiers in their list order; a primary score's classes).

- graded better than the previous run's tier: the new tier applies at once (an upgrade);
- graded at it: it stays, and a count of runs below it starts again;
- graded worse (below it): the previous tier is kept unless this is the N-th consecutive run
  below it (`downgrade_after_runs`) or the grace period has passed (`grace_days` after the
  as-of date of the first run below it: kept on the last day, moved down the day after);
  then the graded tier applies.

The result keeps `graded_tier` (what the rules gave), `tier` (what applies: every reader uses it
unchanged), `below_runs` (consecutive runs below the kept tier, this one included; 0 when none)
and `kept_since` (the as-of date of the first of them), which the next run reads to go on
counting. A customer the previous run did not grade, a previous tier the policy no longer has,
or no previous run at all: the graded tier applies. A previous run written without these
columns (before the policy had `stability:`) counts as having no run below.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from tierkit.engine import reasons
from tierkit.errors import PolicyError
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.stability import BELOW_RUNS, COLUMNS, GRADED_TIER, KEPT_SINCE, Stability

PREVIOUS_COLUMNS = {"customer_id": "string", "tier": "string", BELOW_RUNS: "int64", KEPT_SINCE: "date"}


def previous_stand_in() -> ir.Table:
    """An empty typed previous result, so that `tierkit check` compiles the join as grading will."""
    return ibis.table(PREVIOUS_COLUMNS, name="previous_run_stand_in")


def _rank(value: ir.StringValue, names: list[str]) -> ir.IntegerValue:
    """A tier's place in the order, best first (0); NULL for a name the policy does not have."""
    return ibis.cases(*[(value == name, index) for index, name in enumerate(names)], else_=ibis.null("int64"))  # type: ignore[no-any-return]


def _previous(table: ir.Table, previous: ir.Table | None) -> ir.Table:
    """The grading with the previous run's tier, count and date as `__prev_*` columns (NULL when
    the customer is not in it); no join at all without a previous run."""
    if previous is None:
        return table.mutate(
            __prev_tier=ibis.null("string"), __prev_below=ibis.null("int64"), __prev_since=ibis.null("date")
        )
    has = set(previous.columns)
    if "customer_id" not in has or "tier" not in has:
        raise PolicyError("stability: the previous run's result has no customer_id and tier columns")
    prev = previous.select(
        __prev_id=previous.customer_id.cast("string"),
        __prev_tier=previous.tier.cast("string"),
        __prev_below=previous[BELOW_RUNS].cast("int64") if BELOW_RUNS in has else ibis.null("int64"),
        __prev_since=previous[KEPT_SINCE].cast("date") if KEPT_SINCE in has else ibis.null("date"),
    )
    joined = table.left_join(prev, table.customer_id == prev.__prev_id)
    return joined.drop("__prev_id")


def stabilize(
    table: ir.Table, loaded: LoadedPolicy, names: list[str], as_of: dt.date, previous: ir.Table | None
) -> tuple[ir.Table, reasons.Fragment]:
    """`tier` as it applies after stability, `graded_tier`, `below_runs`, `kept_since`, and the
    reasons' `stability` entry (JSON text; `null` where stability changed nothing)."""
    stability = loaded.policy.stability
    assert stability is not None
    clash = [name for name in COLUMNS if name in loaded.policy.metrics]
    if clash:
        raise PolicyError(
            f"{loaded.where('metrics', clash[0])}: '{clash[0]}' is a column that stability: adds to the result; "
            "rename the metric"
        )
    table = _previous(table, previous)
    graded = table.tier.cast("string")
    before, before_runs, before_since = table.__prev_tier, table.__prev_below.fill_null(0), table.__prev_since
    rank, rank_before = _rank(graded, names), _rank(before, names)
    below = (rank > rank_before).fill_null(False)
    runs = before_runs + 1
    first_day = ibis.literal(as_of)
    since = ibis.ifelse(before_runs > 0, before_since.fill_null(first_day), first_day)
    by_runs, by_grace = _limits(stability, runs, since, as_of)
    keep = below & ~by_runs & ~by_grace
    applied = ibis.ifelse(keep, before, graded)
    days = stability.grace_days
    # date + interval is a timestamp on DuckDB (and a date on Spark) though Ibis types it a date:
    # through a timestamp and back, both give the date
    until = (since.cast("timestamp") + ibis.interval(days=days)).date() if days is not None else None
    entry = _entry(stability, keep, below, rank, rank_before, before, graded, runs, before_runs, since, until)
    entry = entry.fill_null("null")
    table = table.mutate(
        **{
            GRADED_TIER: graded,
            "tier": applied,
            BELOW_RUNS: ibis.ifelse(keep, runs, 0).cast("int64"),
            KEPT_SINCE: ibis.ifelse(keep, since, ibis.null("date")),
        }
    )
    return table, entry


def _limits(
    stability: Stability, runs: ir.IntegerValue, since: ir.DateValue, as_of: dt.date
) -> tuple[ir.BooleanValue, ir.BooleanValue]:
    """Whether the count of runs below, and whether the grace period, lets a downgrade through.
    The grace period holds while as-of - since <= grace_days: since < as-of - grace_days is past
    it (a date literal computed here, so engines compare plain dates)."""
    never = ibis.literal(False)
    after = stability.downgrade_after_runs
    by_runs = runs >= after if after is not None else never
    days = stability.grace_days
    by_grace = since < ibis.literal(as_of - dt.timedelta(days=days)) if days is not None else never
    return by_runs, by_grace  # type: ignore[return-value]


def _entry(
    stability: Stability,
    keep: ir.BooleanValue,
    below: ir.BooleanValue,
    rank: ir.IntegerValue,
    rank_before: ir.IntegerValue,
    before: ir.StringValue,
    graded: ir.StringValue,
    runs: ir.IntegerValue,
    before_runs: ir.IntegerValue,
    since: ir.DateValue,
    until: ir.DateValue | None,
) -> reasons.Fragment:
    """The reasons' `stability` entry: `kept` (the previous tier still applies), `down` (the
    downgrade went through: `by` says which limit), `up` (an upgrade, at once) or `back` (graded
    at the kept tier again: the count starts over); NULL otherwise."""
    limits: dict[str, ir.Value | str] = {}
    if stability.downgrade_after_runs is not None:
        limits["after_runs"] = ibis.literal(stability.downgrade_after_runs).cast("int64")
    if stability.grace_days is not None:
        limits["grace_days"] = ibis.literal(stability.grace_days).cast("int64")
    counted: dict[str, ir.Value | str] = {"below_runs": runs, "since": since}
    if until is not None:
        counted["until"] = until
    if stability.downgrade_after_runs is None:
        by: ir.Value | str = "grace"
    elif stability.grace_days is None:
        by = "runs"
    else:
        by = ibis.ifelse(runs >= stability.downgrade_after_runs, "runs", "grace")

    def entry(outcome: str, tier: ir.StringValue, more: dict[str, ir.Value | str]) -> reasons.Fragment:
        return reasons.obj({"outcome": outcome, "previous": before, "graded": graded, "tier": tier, **more})

    kept = entry("kept", before, {**counted, **limits})
    down = entry("down", graded, {**counted, **limits, "by": by})
    up = entry("up", graded, {})
    back = entry("back", graded, {"reset": before_runs})
    return ibis.cases(  # type: ignore[no-any-return]
        (keep, kept),
        (below, down),
        ((rank < rank_before).fill_null(False), up),
        ((rank == rank_before).fill_null(False) & (before_runs > 0), back),
        else_=ibis.null("string"),
    )
