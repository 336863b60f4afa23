"""`tierkit campaign create` and `tierkit campaign report`: did the measure work?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tierkit.app.maps import parse_maps
from tierkit.cli.options import JsonOpt, MapOpt, SheetOpt, WorkspaceOpt
from tierkit.cli.render import emit, err_console

campaign_app = typer.Typer(help="Campaigns with a random control group, measured after the fact.")


def _print_campaign(campaign: Any) -> None:
    meta = campaign.meta
    print(campaign.campaign_id)
    err_console.print(
        f"campaign {campaign.campaign_id}: {meta['customers']:,} customers, {meta['treatment']:,} to treat, "
        f"{meta['control']:,} held out as control within {len(meta['strata_sizes']):,} strata of "
        f"{','.join(meta['strata'])} (seed {meta['seed']}); groups in {campaign.assignment}",
        highlight=False,
    )


@campaign_app.command("create")
def create_command(
    segment: Annotated[
        str, typer.Option(help="Rule over the run's columns, e.g. \"tier == 'vip' and churn_risk > 0.5\".")
    ],
    holdout: Annotated[float, typer.Option(help="Share kept out as the control group.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the random draw (same seed, same groups).")] = 1,
    name: Annotated[str | None, typer.Option(help="A name for the campaign.")] = None,
    run: Annotated[str | None, typer.Option(help="Run to draw from (default: current).")] = None,
    strata: Annotated[
        str, typer.Option(help="Columns of the run to hold out the same share of, e.g. tier,region.")
    ] = "tier",
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Draw the segment's customers into treatment and a control group, stratum by stratum; record it."""
    from tierkit.app.campaigns import create_campaign

    campaign = create_campaign(workspace, segment, holdout, seed, name, run, strata)
    emit(campaign.meta, json_out, lambda _: _print_campaign(campaign))


def _fixed(key: str, value: float) -> str:
    """Shares to 4 places, money to 2, as the JSON rounds them."""
    return f"{value:.4f}" if key == "retention" else f"{value:,.2f}"


def _ci(key: str, part: dict[str, Any]) -> str:
    return (
        f"difference {_fixed(key, part['difference'])} "
        f"(95% CI {_fixed(key, part['ci95'][0])} to {_fixed(key, part['ci95'][1])})"
    )


def _print_group(part: dict[str, Any]) -> None:
    for key, label in (("retention", "retention"), ("revenue_per_customer", "revenue per customer")):
        adjusted, raw = part["adjusted"][key], part["raw"][key]
        means = part[key]
        print(f"  {label:<21} treatment {_fixed(key, means['treatment'])}  control {_fixed(key, means['control'])}")
        print(f"    adjusted            {_ci(key, adjusted)}, theta {adjusted['theta']}")
        print(f"    raw                 {_ci(key, raw)}")
    print(f"  delivery: {part['delivery']}")
    for key, effect in (part["effect_on_reached"] or {}).items():
        print(f"  on the reached: {key.replace('_', ' ')} {_ci(key, effect)}")
    for warning in part["warnings"]:
        print(f"  warning: {warning}")


def _print_report(result: Any) -> None:
    overall, period = result["overall"], result["period"]
    strata = result["strata"]
    how = "drawn within" if strata["assigned_within"] else "analysed within (drawn without strata)"
    print(
        f"campaign {result['campaign_id']} ({result['segment']}), orders after {period['after']} "
        f"until {period['until']} ({period['days']} days; before: after {period['before']['after']} "
        f"until {period['before']['until']}): {overall['treatment']:,} treated, {overall['control']:,} control, "
        f"{how} {len(strata['groups']):,} strata of {','.join(strata['columns'])}"
    )
    if "adjusted" in overall:
        _print_group(overall)
    print(overall["verdict"])
    for tier, part in result["by_tier"].items():
        print(f"  [{tier}] {part['verdict']}")
    if "aa" in result:
        aa = result["aa"]
        low, high = aa["expected_range"]
        print(
            f"A/A: of {aa['rounds']} null re-draws, declared significant: retention {aa['retention']:.1%}, "
            f"revenue per customer {aa['revenue_per_customer']:.1%} (nominal 5%; {low:.1%} to {high:.1%} "
            f"expected by chance)"
        )


@campaign_app.command("report")
def report_command(
    campaign_id: str,
    until: Annotated[str | None, typer.Option(help="Measure up to this day (default: the last order).")] = None,
    orders: Annotated[Path | None, typer.Option(help="Orders file (default: the workspace's).")] = None,
    aa: Annotated[bool, typer.Option("--aa", help="Also re-draw null assignments: how often chance passes.")] = False,
    rounds: Annotated[int, typer.Option(help="Null re-draws of --aa.")] = 200,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
    map_: MapOpt = None,
    sheet: SheetOpt = None,
) -> None:
    """Intent-to-treat, adjusted for the period before and within strata, with the raw difference,
    delivery and the effect on the reached; overall and per tier. --map and --sheet read --orders."""
    from tierkit.app.campaigns import campaign_report

    maps = parse_maps(map_, "orders")
    found = campaign_report(workspace, campaign_id, until, orders, rounds if aa else None, maps, sheet)
    emit(found, json_out, _print_report)
