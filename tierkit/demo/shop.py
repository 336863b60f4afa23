"""A seeded synthetic shop: customers, ~20 orders each over three years, interactions, visits.

Spend is Pareto-skewed (a lognormal purchase rate, order value growing with it), a third of
customers leave during the period and buy less often before they go, some pay late, a few
complain a lot. The same seed gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierkit.demo.people import make_customers

END = dt.date(2026, 9, 30)
YEARS = 3
CATEGORIES = ["服装", "美妆", "食品", "家电", "母婴", "数码", "家居", "运动"]
MARGINS = np.array([0.35, 0.45, 0.15, 0.12, 0.25, 0.10, 0.30, 0.28])
CHANNELS = ["门店", "天猫", "京东", "小程序", "电话订购"]
TOPICS = ["价格", "质量", "物流", "售后", "功能", "发票"]
MONEY = pa.decimal128(18, 2)


@dataclass(frozen=True)
class DemoFiles:
    orders: Path
    customers: Path
    interactions: Path
    contacts: Path
    as_of: dt.date


def _dates(days: np.ndarray) -> pa.Array:
    epoch = dt.date(1970, 1, 1).toordinal()
    return pa.array((days - epoch).astype("int32"), pa.date32())


def _money(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.round(values, 2)), MONEY)


def generate(folder: Path, customers: int = 50_000, seed: int = 20261129) -> DemoFiles:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n = customers
    end = END.toordinal()
    begin = end - 365 * YEARS
    rate = np.exp(rng.normal(-0.45, 1.15, size=n))  # orders a month; heavy tail
    start = begin + (rng.random(n) ** 1.4 * (end - begin - 30)).astype(int)
    leaves = rng.random(n) < 0.33
    stop = np.where(leaves, start + ((end - start) * rng.uniform(0.2, 0.95, size=n)).astype(int), end)
    span_months = np.maximum(stop - start, 1) / 30.44
    counts = np.maximum(rng.poisson(rate * span_months), 1)
    owner = np.repeat(np.arange(n), counts)
    u = rng.random(owner.size)
    u = np.where(leaves[owner], u**1.7, u)  # leavers buy less and less before they go
    days = start[owner] + np.minimum((u * (stop - start + 1)[owner]).astype(int), (stop - start)[owner])
    order = np.lexsort((days, owner))
    owner, days = owner[order], days[order]
    ticket = np.exp(rng.normal(np.log(380), 0.7, size=n)) * (1 + rate) ** 0.8
    amount = np.maximum(ticket[owner] * np.exp(rng.normal(0, 0.45, size=owner.size)), 5.0)
    favourite = rng.integers(0, len(CATEGORIES), size=n)
    category = np.where(
        rng.random(owner.size) < 0.6, favourite[owner], rng.integers(0, len(CATEGORIES), size=owner.size)
    )
    price_sensitive = rng.random(n) < 0.3
    discount = np.where(
        rng.random(owner.size) < np.where(price_sensitive[owner], 0.6, 0.15),
        rng.choice([0.05, 0.1, 0.15, 0.2, 0.3], size=owner.size),
        0.0,
    )
    on_credit = rng.random(owner.size) < 0.2
    late_payer = rng.random(n) < 0.06
    delay = np.where(late_payer[owner], rng.integers(3, 60, size=owner.size), rng.integers(-20, 2, size=owner.size))
    due = days + 30
    m = owner.size
    orders = pa.table(
        {
            "order_id": [f"SO{i:09d}" for i in range(1, m + 1)],
            "customer_id": pc.cast(pa.array(owner + 1), pa.string()),
            "ordered_at": _dates(days),
            "amount": _money(amount),
            "profit": _money(amount * MARGINS[category]),
            "category": pa.array(np.array(CATEGORIES)[category]),
            "channel": pa.array(np.array(CHANNELS)[rng.choice(len(CHANNELS), size=m, p=[0.3, 0.25, 0.2, 0.2, 0.05])]),
            "discount": pc.cast(pa.array(discount), pa.decimal128(18, 4)),
            "due_at": pa.array(
                np.where(on_credit, due - dt.date(1970, 1, 1).toordinal(), 0).astype("int32"),
                pa.date32(),
                mask=~on_credit,
            ),
            "paid_at": pa.array(
                np.where(on_credit, due + delay - dt.date(1970, 1, 1).toordinal(), 0).astype("int32"),
                pa.date32(),
                mask=~on_credit,
            ),
        }
    )
    ids = pa.array([f"{i + 1:08d}" for i in range(n)])
    orders = orders.set_column(1, "customer_id", pc.take(ids, pa.array(owner)))
    first = np.full(n, end)
    np.minimum.at(first, owner, days)
    files = DemoFiles(
        folder / "orders.parquet",
        folder / "customers.parquet",
        folder / "interactions.parquet",
        folder / "contacts.parquet",
        END,
    )
    pq.write_table(orders, files.orders)
    pq.write_table(make_customers(n, rng, END, first), files.customers)
    interactions = _interactions(rng, n, ids, start, stop, leaves, counts)
    pq.write_table(with_service_cost(interactions, seed), files.interactions)
    pq.write_table(_contacts(rng, n, ids, rate, start, stop), files.contacts)
    return files


def _interactions(
    rng: np.random.Generator,
    n: int,
    ids: pa.Array,
    start: np.ndarray,
    stop: np.ndarray,
    leaves: np.ndarray,
    counts: np.ndarray,
) -> pa.Table:
    complainer = rng.random(n) < 0.02
    per_customer = rng.poisson(0.15 * counts + np.where(complainer, 12, 0) + np.where(leaves, 2, 0))
    who = np.repeat(np.arange(n), per_customer)
    span = np.maximum(stop - start, 1)
    u = np.where(leaves[who], rng.random(who.size) ** 0.5, rng.random(who.size))  # unhappy before leaving
    at = start[who] + (u * span[who]).astype(int)
    p_complaint = np.where(complainer[who], 0.7, np.where(leaves[who], 0.3, 0.08))
    roll = rng.random(who.size)
    kind = np.where(
        roll < p_complaint,
        "complaint",
        np.where(roll < p_complaint + 0.45, "inquiry", np.where(roll < p_complaint + 0.7, "after_sales", "survey")),
    )
    satisfaction = np.clip(np.round(rng.normal(np.where(leaves[who], 2.6, 4.1), 0.9)), 1, 5)
    return pa.table(
        {
            "interaction_id": [f"IX{i:09d}" for i in range(1, who.size + 1)],
            "customer_id": pc.take(ids, pa.array(who)),
            "at": _dates(at),
            "kind": pa.array(kind),
            "channel": pa.array(np.array(["电话", "在线客服", "门店", "邮件"])[rng.integers(0, 4, size=who.size)]),
            "topic": pa.array(np.array(TOPICS)[rng.integers(0, len(TOPICS), size=who.size)]),
            "satisfaction": pc.cast(pa.array(satisfaction), pa.decimal128(18, 4)),
            "resolved": pa.array(rng.random(who.size) < 0.85),
        }
    )


SERVICE_COST = {"电话": 25.0, "在线客服": 8.0, "门店": 40.0, "邮件": 5.0}  # yuan per contact, by channel
KIND_COST = {"complaint": 5.0, "after_sales": 3.0, "inquiry": 1.0, "survey": 0.4}  # times the channel's cost


def with_service_cost(interactions: pa.Table, seed: int) -> pa.Table:
    """What each interaction cost to serve (服务成本): the channel's cost, times more for a
    complaint or an after-sales case, give or take a fifth. Drawn from a generator of its own,
    so that everything else in the shop stays as it was for a seed."""
    rng = np.random.default_rng([seed, 14])
    channel = np.array([SERVICE_COST[c] for c in interactions["channel"].to_pylist()])
    kind = np.array([KIND_COST[k] for k in interactions["kind"].to_pylist()])
    cost = channel * kind * rng.uniform(0.8, 1.2, size=interactions.num_rows)
    return interactions.append_column("cost", _money(cost))


def _contacts(
    rng: np.random.Generator, n: int, ids: pa.Array, rate: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> pa.Table:
    served = rate > np.quantile(rate, 0.8)
    per_customer = np.where(served, rng.poisson(np.minimum(rate, 6) * (stop - start) / 30.44 * 0.3), 0)
    who = np.repeat(np.arange(n), per_customer)
    at = start[who] + (rng.random(who.size) * np.maximum(stop - start, 1)[who]).astype(int)
    reps = np.array([f"R{r:03d}" for r in range(1, 41)])
    return pa.table(
        {
            "contact_id": [f"CT{i:08d}" for i in range(1, who.size + 1)],
            "customer_id": pc.take(ids, pa.array(who)),
            "rep_id": pa.array(reps[who % reps.size]),
            "at": _dates(at),
            "kind": pa.array(np.array(["visit", "call", "message"])[rng.choice(3, size=who.size, p=[0.3, 0.5, 0.2])]),
        }
    )
