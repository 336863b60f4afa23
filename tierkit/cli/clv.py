"""`tierkit clv fit` and `tierkit clv holdout`: lifetime-value models on an orders file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tierkit.cli.options import EngineOpt, JsonOpt
from tierkit.cli.render import print_json

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tierkit.engine.backend import Engine

clv_app = typer.Typer(help="Customer lifetime value: BG/NBD (how often) and Gamma-Gamma (how much).")
OrdersOpt = Annotated[Path, typer.Option("--orders", help="Orders file (CSV, XLSX, Parquet).")]
UnitOpt = Annotated[str, typer.Option("--time-unit", help="day, week or month.")]


def _orders(path: Path, engine: str | None, unit: str) -> tuple[Engine, ir.Table]:
    """The engine and the orders, after checking the time unit (a typo fails before any reading)."""
    from tierkit.engine.backend import connect
    from tierkit.models.purchases import unit_days

    unit_days(unit)
    from tierkit.tables.readers import read_table

    on = connect(engine or "duckdb")
    return on, read_table(on, "orders", path).table


def _date(text: str, option: str) -> dt.date:
    from tierkit.engine.grade import parse_as_of
    from tierkit.errors import InputError

    try:
        return parse_as_of(text)
    except InputError:
        raise InputError(f"{option}: '{text}' is not a date like 1997-09-30") from None


@clv_app.command("fit")
def fit(
    orders: OrdersOpt,
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="YYYY-MM-DD: fit on orders up to it.")],
    time_unit: UnitOpt = "week",
    engine: EngineOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma; print r, alpha, a, b, p, q, v and the log-likelihood."""
    from tierkit.models.clv import fit_clv

    on, table = _orders(orders, engine, time_unit)
    result = fit_clv(on, table, _date(calibration_end, "--calibration-end"), time_unit)
    if json_out:
        print_json(result)
        return
    print(
        f"BG/NBD      r={result['r']:.4g} alpha={result['alpha']:.4g} a={result['a']:.4g} b={result['b']:.4g}"
        f"  (log-likelihood {result['log_likelihood']:.2f})"
    )
    print(f"Gamma-Gamma p={result['p']:.4g} q={result['q']:.4g} v={result['v']:.4g}")
    print(f"{result['customers']:,} customers, {result['repeat_customers']:,} with a repeat purchase; unit {time_unit}")


@clv_app.command("holdout")
def holdout_check(
    orders: OrdersOpt,
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="YYYY-MM-DD")],
    holdout_end: Annotated[str, typer.Option("--holdout-end", help="YYYY-MM-DD")],
    time_unit: UnitOpt = "week",
    engine: EngineOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Predicted vs actual repeat purchases between the calibration end and the holdout end."""
    from tierkit.models.clv import holdout

    on, table = _orders(orders, engine, time_unit)
    result = holdout(
        on,
        table,
        _date(calibration_end, "--calibration-end"),
        _date(holdout_end, "--holdout-end"),
        time_unit,
    )
    if json_out:
        print_json(result)
        return
    print(
        f"predicted {result['predicted']:,.1f} repeat purchases, actual {result['actual']:,} "
        f"({result['customers']:,} customers)"
    )
