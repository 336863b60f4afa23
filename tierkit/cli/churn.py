"""`tierkit churn backtest`: does the churn-risk model beat recency and P(alive) on this data, and
would a grading use it (its validation inside its own training period)?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tierkit.app.maps import parse_maps
from tierkit.cli.options import DateFormatOpt, DelimiterOpt, EngineOpt, JsonOpt, MapOpt, SheetOpt
from tierkit.cli.render import emit

churn_app = typer.Typer(help="Churn early warning: a model trained on the customers' own history.")


def _print_backtest(report: Any) -> None:
    print(
        f"test as of {report['test_cutoff']} (trained as of {report['train_cutoff']}), horizon {report['horizon']}, "
        f"{report['test']['customers']:,} customers, {report['test']['churn_rate']:.1%} churned"
    )
    for name in ("model", "recency", "p_alive"):
        print(
            f"  {name:<8} AUC {report[name]['auc']:.3f}   precision in the top decile "
            f"{report[name]['precision_top_decile']:.1%}"
        )
    validation = report["validation"]
    if validation["status"] in ("passed", "failed"):
        found = (
            f"model AUC {validation['model_auc']:.3f}, recency {validation['recency_auc']:.3f} "
            f"(trained as of {validation['trained_as_of']}, validated as of {validation['validated_as_of']}, "
            f"{validation['customers']:,} customers; the model must lead by {validation['margin']})"
        )
    else:
        found = f"not possible: {validation['detail']}"
    verdict = "the model" if report["used"] == "model" else "the recency baseline (days since the last order)"
    print(f"validation: {found}")
    print(f"a grading would use {verdict}")


@churn_app.command("backtest")
def backtest_command(
    orders: Annotated[Path, typer.Option("--orders", help="Orders file.")],
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD: the last day with known outcomes.")],
    horizon: Annotated[str, typer.Option(help="No order within this window after a cut-off = churned.")] = "90D",
    customers: Annotated[Path | None, typer.Option(help="Customers file.")] = None,
    interactions: Annotated[Path | None, typer.Option(help="Interactions file (complaints, inquiries).")] = None,
    contacts: Annotated[Path | None, typer.Option(help="Contacts file.")] = None,
    engine: EngineOpt = None,
    json_out: JsonOpt = False,
    map_: MapOpt = None,
    sheet: SheetOpt = None,
    delimiter: DelimiterOpt = None,
    date_format: DateFormatOpt = None,
) -> None:
    """Train as of as-of − 2·horizon, test as of as-of − horizon; AUC and top-decile precision of the
    model and, in the same run, of recency alone and P(alive) alone; and whether a grading would
    use the model (validated one horizon before its training cut-off) or the recency baseline."""
    from tierkit.app.models import FileReading, churn_backtest

    reading = FileReading(parse_maps(map_), sheet, delimiter, date_format)
    report = churn_backtest(orders, as_of, horizon, customers, interactions, contacts, engine, reading)
    emit(report, json_out, _print_backtest)
