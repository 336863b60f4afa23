"""`tierkit campaign create` and `tierkit campaign report`: did the measure work?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tierkit.cli.options import JsonOpt, WorkspaceOpt
from tierkit.cli.render import emit, err_console

campaign_app = typer.Typer(help="Campaigns with a random control group, measured after the fact.")


def _print_campaign(campaign: Any) -> None:
    meta = campaign.meta
    print(campaign.campaign_id)
    err_console.print(
        f"campaign {campaign.campaign_id}: {meta['customers']:,} customers, {meta['treatment']:,} to treat, "
        f"{meta['control']:,} held out as control (seed {meta['seed']}); groups in {campaign.assignment}",
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
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Draw the segment's customers into treatment and a random control group; record it."""
    from tierkit.app.campaigns import create_campaign

    campaign = create_campaign(workspace, segment, holdout, seed, name, run)
    emit(campaign.meta, json_out, lambda _: _print_campaign(campaign))


def _print_report(result: Any) -> None:
    overall = result["overall"]
    print(
        f"campaign {result['campaign_id']} ({result['segment']}), orders after {result['period']['after']} "
        f"until {result['period']['until']}: {overall['treatment']:,} treated, {overall['control']:,} control"
    )
    for key, label in (("retention", "retention"), ("revenue_per_customer", "revenue per customer")):
        if key in overall:
            part = overall[key]
            print(
                f"  {label:<21} treatment {part['treatment']}  control {part['control']}  "
                f"difference {part['difference']} (95% CI {part['ci95'][0]} to {part['ci95'][1]})"
            )
    print(overall["verdict"])
    for tier, part in result["by_tier"].items():
        print(f"  [{tier}] {part['verdict']}")


@campaign_app.command("report")
def report_command(
    campaign_id: str,
    until: Annotated[str | None, typer.Option(help="Measure up to this day (default: the last order).")] = None,
    orders: Annotated[Path | None, typer.Option(help="Orders file (default: the workspace's).")] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Retention and revenue per customer, treatment vs control, with 95% intervals, per tier."""
    from tierkit.app.campaigns import campaign_report

    emit(campaign_report(workspace, campaign_id, until, orders), json_out, _print_report)
