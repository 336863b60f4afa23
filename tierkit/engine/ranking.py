"""Rank-based classes (ABC/Pareto by value or head count, pyramid, grid axes by share), exactly defined.

Ranks run over the measure descending with customer_id ascending as the tie-break; a missing
measure counts as 0, and a non-money measure is compared at four decimal places, so every
customer has one rank on every engine. Cuts are compared as exact fractions
(rank * q <= p * n), never as floats, so 1% of 50,000 is 500, not 500.00001.

Every score ranking on the same measure shares one ranking: its rank, running total and total
are computed together, in one window pass over one sort (see `Rankings`).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import ibis
import ibis.expr.types as ir


def fraction(cut: Decimal) -> tuple[int, int]:
    f = Fraction(str(cut))
    return f.numerator, f.denominator


def exact_measure(measure: ir.Value) -> ir.Value:
    """Decimal stays decimal; a float is fixed at four decimals so cumulative sums are exact."""
    if measure.type().is_floating():
        measure = measure.cast("decimal(38, 4)")
    elif measure.type().is_integer():
        measure = measure.cast("decimal(38, 0)")
    return measure.fill_null(ibis.literal(0).cast(measure.type()))


def share_classes(rank: ir.IntegerValue, n: ir.IntegerValue, cuts: list[Decimal], names: list[str]) -> ir.StringValue:
    """Class by rank position: rank <= cut * n for the first cut that holds (pyramid, grid by top
    share, ABC by head count)."""
    cases = []
    for cut, name in zip(cuts, names, strict=False):
        p, q = fraction(cut)
        cases.append((rank * q <= n * p, name))
    return ibis.cases(*cases, else_=names[len(cuts)])  # type: ignore[no-any-return]


def pareto_classes(above: ir.Value, total: ir.Value, cuts: list[Decimal], names: list[str]) -> ir.StringValue:
    """ABC: a customer's class is set by the share held by all customers ranked above it."""
    cases = []
    for cut, name in zip(cuts, names, strict=False):
        p, q = fraction(cut)
        cases.append((above * q < total * p, name))
    return ibis.cases(*cases, else_=names[len(cuts)])  # type: ignore[no-any-return]


class Rankings:
    """Column names of the shared ranking of each measure, and the expressions that fill them."""

    N = "__rank_n"

    @staticmethod
    def rank(measure: str) -> str:
        return f"__rank_{measure}"

    @staticmethod
    def above(measure: str) -> str:
        return f"__above_{measure}"

    @staticmethod
    def total(measure: str) -> str:
        return f"__total_{measure}"

    @classmethod
    def columns(cls, table: ir.Table, measures: list[str]) -> dict[str, ir.Value]:
        columns: dict[str, ir.Value] = {cls.N: table.customer_id.count().over(ibis.window())}
        for measure in dict.fromkeys(measures):
            m = exact_measure(table[measure])
            order = [m.desc(), table.customer_id.asc()]
            columns[cls.rank(measure)] = ibis.row_number().over(order_by=order) + 1
            columns[cls.above(measure)] = m.sum().over(ibis.window(order_by=order, rows=(None, 0))) - m
            columns[cls.total(measure)] = m.sum().over(ibis.window())
        return columns
