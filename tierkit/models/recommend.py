"""Business preference and what to offer next: 业务偏好 and 增值业务 of the telecom deck.

`recommend: favourite` is the value of an orders column (category by default) a customer
bought most often in the window (ties: the first in text order). `recommend: next` is what
"customers like them use": among customers with the same favourite, the value bought by the
most of them that this customer has not bought in the window (ties: text order). Computed
in the engine as joins and ranks, so it runs on DuckDB and Spark alike; a customer whose
peers buy nothing they lack gets none.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from tierkit.engine.inputs import Inputs
from tierkit.engine.kinds import KindColumns
from tierkit.engine.windows import Window
from tierkit.models.kinds import RecommendParameters
from tierkit.policy.model import MetricSpec


def _first(table: ir.Table, group: str, order: list[ir.Value]) -> ir.Table:
    """One row per `group`: the first by `order` (a unique order, so every engine picks the same)."""
    ranked = table.mutate(__rank=ibis.row_number().over(group_by=table[group], order_by=order))
    return ranked.filter(ranked["__rank"] == 0).drop("__rank")


def recommendations(orders: ir.Table, column: str, as_of: dt.date, window: str) -> ir.Table:
    """customer_id, favourite, next: from the orders in the window up to the as-of date."""
    start = Window.parse(window).start(as_of)
    time = orders.ordered_at
    scoped = orders.filter(time <= ibis.literal(as_of), orders[column].notnull())
    if start is not None:
        scoped = scoped.filter(time > ibis.literal(start))
    bought = scoped.group_by(["customer_id", column]).aggregate(n=scoped.count())
    favourite = _first(bought, "customer_id", [bought.n.desc(), bought[column]]).select(
        "customer_id", favourite=bought[column]
    )
    with_peers = bought.join(favourite, "customer_id")
    popular = with_peers.group_by(["favourite", column]).aggregate(buyers=with_peers.count())
    candidates = favourite.join(popular, "favourite").select("customer_id", column, "buyers")
    unbought = candidates.anti_join(bought, ["customer_id", column])
    following = _first(unbought, "customer_id", [unbought.buyers.desc(), unbought[column]]).select(
        "customer_id", next=unbought[column]
    )
    joined = favourite.left_join(following, "customer_id").drop("customer_id_right")
    return joined.select("customer_id", "favourite", "next")


class RecommendMetrics:
    """The `recommend:` kind's builder (see tierkit.engine.kinds.TableKind)."""

    def columns(self, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> KindColumns:
        chosen = {
            name: RecommendParameters.model_validate(spec.parameters.model_dump()) for name, spec in specs.items()
        }
        ids = inputs.orders.table.select("customer_id").distinct()
        notes: list[str] = []
        columns: dict[str, ir.Value] = {}
        table = ids
        for (of, window), names in _by_source(chosen).items():
            if of not in inputs.orders.present:
                notes.append(f"{where} ({', '.join(names)}): the orders have no column '{of}'; no recommendation")
                columns |= {name: ibis.null("string") for name in names}
                continue
            found = recommendations(inputs.orders.table, of, as_of, window)
            suffix = f"__{of}_{window}"
            found = found.rename({f"favourite{suffix}": "favourite", f"next{suffix}": "next"})
            table = table.left_join(found, "customer_id").drop("customer_id_right")
            for name in names:
                columns[name] = table[f"{chosen[name].recommend}{suffix}"]
        return KindColumns(table.select("customer_id", **columns), notes)


def _by_source(chosen: dict[str, RecommendParameters]) -> dict[tuple[str, str], list[str]]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for name, spec in chosen.items():
        grouped.setdefault((spec.of, spec.window), []).append(name)
    return grouped


RECOMMEND_METRICS = RecommendMetrics()
