"""Population statistics in rules: a customer's value against all customers ("高于平均值").

`avg(x)`, `median(x)`, `percentile(x, q)` and `total(x)` are one value over every row of the
table the rule runs on: every graded customer as of the as-of date, for tiers, tags and `expr`
metrics. They are window aggregates over the whole table (`AVG(x) OVER ()`), so a rule stays one
expression over one table and needs no join. Missing values are ignored, as SQL aggregates do;
`avg(if(spend_12m > 0, spend_12m, null))` is the average over buyers only.

Exact on every engine, by construction rather than by luck:

- `avg` and `total` sum exactly (decimal; a double is fixed at six decimal places first, since
  a sum of doubles depends on the order rows arrive in), and `avg` divides the exact sum by the
  count as doubles: the same IEEE operation on DuckDB and Spark.
- `median` and `percentile` are the exact linear-interpolation quantile (Excel's PERCENTILE.INC,
  numpy's default): sorted non-missing values v[0..n-1], h = (n - 1) * q, the value
  v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)]). DuckDB's `quantile_cont` and
  Spark's `percentile` both compute it exactly (never the engines' approximate quantiles). Where
  h is whole the result is a value of the data itself; otherwise it lies strictly between two
  neighbouring values, so `x >= percentile(x, q)` selects the same customers on both engines.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tierkit.errors import PolicyError


def _exact(value: ir.Value) -> ir.Value:
    """A number whose sum does not depend on row order: decimal as it is, integers as decimal,
    doubles at six decimal places."""
    kind = value.type()
    if kind.is_decimal():
        return value
    if kind.is_integer():
        return value.cast("decimal(38, 0)")
    return value.cast("decimal(38, 6)")


def statistic(fn: str, value: ir.Value, share: float | None, where: str) -> ir.Value:
    """The population statistic `fn` (one of expr.POPULATION) of `value` as a window over the whole
    table; `share` is a percentile's q (the parser checked it is a constant from 0 to 1)."""
    if not value.type().is_numeric():
        raise PolicyError(f"{where}: needs a number, and its argument is {value.type()}")
    everyone = ibis.window()
    if fn == "total":
        return _exact(value).sum().over(everyone)
    if fn == "avg":
        total = _exact(value).sum().over(everyone).cast("float64")
        return total / value.count().over(everyone).cast("float64").nullif(0)
    return value.cast("float64").quantile(0.5 if share is None else share).over(everyone)
