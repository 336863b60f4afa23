"""Rank-based classes (ABC/Pareto, customer pyramid, grid axes by share), exactly defined.

Ranks run over the measure descending with customer_id ascending as the tie-break, and a
missing measure counts as 0, so every customer has one rank on every engine. Cuts are compared
as exact fractions (rank * q <= p * n), never as floats, so 1% of 50,000 is 500, not 500.00001.
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


def order_desc(measure: ir.Value, customer_id: ir.Value) -> list[ir.Value]:
    return [measure.desc(), customer_id.asc()]


def rank_desc(measure: ir.Value, customer_id: ir.Value) -> ir.IntegerValue:
    """1 for the largest measure; ties broken by customer_id ascending."""
    return ibis.row_number().over(order_by=order_desc(measure, customer_id)) + 1  # type: ignore[no-any-return]


def share_classes(rank: ir.IntegerValue, n: ir.IntegerValue, cuts: list[Decimal], names: list[str]) -> ir.StringValue:
    """Class by rank position: rank <= cut * n for the first cut that holds."""
    cases = []
    for cut, name in zip(cuts, names, strict=False):
        p, q = fraction(cut)
        cases.append((rank * q <= n * p, name))
    return ibis.cases(*cases, else_=names[len(cuts)])  # type: ignore[no-any-return]


def population(customer_id: ir.Value) -> ir.IntegerValue:
    """n, the number of customers graded, on every row."""
    return customer_id.count().over(ibis.window())  # type: ignore[no-any-return]


def cumulative_above(table: ir.Table, measure: ir.Value) -> tuple[ir.Value, ir.Value]:
    """The measure held by all customers ranked above each one, and the total."""
    m = exact_measure(measure)
    window = ibis.window(order_by=order_desc(m, table.customer_id), rows=(None, 0))
    return m.sum().over(window) - m, m.sum().over(ibis.window())


def pareto_classes(above: ir.Value, total: ir.Value, cuts: list[Decimal], names: list[str]) -> ir.StringValue:
    """ABC: a customer's class is set by the share held by all customers ranked above it."""
    cases = []
    for cut, name in zip(cuts, names, strict=False):
        p, q = fraction(cut)
        cases.append((above * q < total * p, name))
    return ibis.cases(*cases, else_=names[len(cuts)])  # type: ignore[no-any-return]
