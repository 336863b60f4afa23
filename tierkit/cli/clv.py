"""`tierkit clv fit` and `tierkit clv holdout`: lifetime-value models on an orders file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tierkit.app.maps import parse_maps
from tierkit.cli.options import DateFormatOpt, DelimiterOpt, EngineOpt, JsonOpt, MapOpt, SheetOpt
from tierkit.cli.render import emit

clv_app = typer.Typer(help="Customer lifetime value: BG/NBD (how often) and Gamma-Gamma (how much).")
OrdersOpt = Annotated[Path, typer.Option("--orders", help="Orders file (CSV, XLSX, Parquet).")]
UnitOpt = Annotated[str, typer.Option("--time-unit", help="day, week or month.")]


def _print_fit(result: Any, time_unit: str) -> None:
    print(
        f"BG/NBD      r={result['r']:.4g} alpha={result['alpha']:.4g} a={result['a']:.4g} b={result['b']:.4g}"
        f"  (log-likelihood {result['log_likelihood']:.2f})"
    )
    print(f"Gamma-Gamma p={result['p']:.4g} q={result['q']:.4g} v={result['v']:.4g}")
    print(f"{result['customers']:,} customers, {result['repeat_customers']:,} with a repeat purchase; unit {time_unit}")


@clv_app.command("fit")
def fit(
    orders: OrdersOpt,
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="YYYY-MM-DD: fit on orders up to it.")],
    time_unit: UnitOpt = "week",
    engine: EngineOpt = None,
    json_out: JsonOpt = False,
    map_: MapOpt = None,
    sheet: SheetOpt = None,
    delimiter: DelimiterOpt = None,
    date_format: DateFormatOpt = None,
) -> None:
    """Fit BG/NBD and Gamma-Gamma; print r, alpha, a, b, p, q, v and the log-likelihood."""
    from tierkit.app.models import FileReading, clv_fit

    reading = FileReading(parse_maps(map_, "orders"), sheet, delimiter, date_format)
    found = clv_fit(orders, calibration_end, time_unit, engine, reading)
    emit(found, json_out, lambda result: _print_fit(result, time_unit))


def _print_holdout(result: Any) -> None:
    print(
        f"predicted {result['predicted']:,.1f} repeat purchases, actual {result['actual']:,} "
        f"({result['customers']:,} customers)"
    )


@clv_app.command("holdout")
def holdout_check(
    orders: OrdersOpt,
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="YYYY-MM-DD")],
    holdout_end: Annotated[str, typer.Option("--holdout-end", help="YYYY-MM-DD")],
    time_unit: UnitOpt = "week",
    engine: EngineOpt = None,
    json_out: JsonOpt = False,
    map_: MapOpt = None,
    sheet: SheetOpt = None,
    delimiter: DelimiterOpt = None,
    date_format: DateFormatOpt = None,
) -> None:
    """Predicted vs actual repeat purchases between the calibration end and the holdout end."""
    from tierkit.app.models import FileReading, clv_holdout

    reading = FileReading(parse_maps(map_, "orders"), sheet, delimiter, date_format)
    found = clv_holdout(orders, calibration_end, holdout_end, time_unit, engine, reading)
    emit(found, json_out, _print_holdout)
