"""A small shop with ties, missing values and rows on window boundaries (as-of 2024-06-30)."""

from __future__ import annotations

AS_OF = "2024-06-30"

ORDERS = [
    # A: buys every month, large amounts -> top of every ranking
    *[
        {
            "order_id": f"A{m}",
            "customer_id": "001",
            "ordered_at": f"2024-{m:02d}-15",
            "amount": "30000.00",
            "category": "家电",
            "paid_at": "",
            "due_at": "",
        }
        for m in range(1, 7)
    ],
    *[
        {
            "order_id": f"A1{m}",
            "customer_id": "001",
            "ordered_at": f"2023-{m:02d}-15",
            "amount": "30000.00",
            "category": "家电",
            "paid_at": "",
            "due_at": "",
        }
        for m in range(7, 13)
    ],
    # A also has a free order (a sample): it counts as an order, adds nothing to sums
    {"order_id": "A0", "customer_id": "001", "ordered_at": "2024-01-20", "amount": "0", "category": "家电"},
    # B and C tie on every measure: customer_id breaks the tie
    {"order_id": "B1", "customer_id": "002", "ordered_at": "2024-06-30", "amount": "500.00", "category": "食品"},
    {"order_id": "C1", "customer_id": "003", "ordered_at": "2024-06-30", "amount": "500.00", "category": "食品"},
    # D: one order exactly 12 months before as-of (outside 12M), one the day after (inside)
    {"order_id": "D1", "customer_id": "004", "ordered_at": "2023-06-30", "amount": "1000.00", "category": "服装"},
    {"order_id": "D2", "customer_id": "004", "ordered_at": "2023-07-01", "amount": "250.50", "category": "美妆"},
    # E: two equal purchases on one day are two orders; a duplicate order_id is one
    {"order_id": "E1", "customer_id": "0050", "ordered_at": "2024-03-01", "amount": "99.99", "category": "服装"},
    {"order_id": "E2", "customer_id": "0050", "ordered_at": "2024-03-01", "amount": "99.99", "category": "服装"},
    {"order_id": "E2", "customer_id": "0050", "ordered_at": "2024-03-01", "amount": "99.99", "category": "服装"},
    # F: pays late twice; G: only orders after as-of (not in the result)
    {
        "order_id": "F1",
        "customer_id": "06X",
        "ordered_at": "2024-05-01",
        "amount": "10.00",
        "due_at": "2024-05-31",
        "paid_at": "2024-06-20",
    },
    {
        "order_id": "F2",
        "customer_id": "06X",
        "ordered_at": "2024-05-02",
        "amount": "10.00",
        "due_at": "2024-06-01",
        "paid_at": "2024-06-10",
    },
    {"order_id": "G1", "customer_id": "007", "ordered_at": "2024-07-01", "amount": "5.00"},
    # H: bought long ago only: zero in every window
    {"order_id": "H1", "customer_id": "008", "ordered_at": "2021-01-01", "amount": "70.00", "category": ""},
]

# Birthdays on either side of the as-of date's month and day; one customer without a birth date.
CUSTOMERS = [
    {"customer_id": "001", "birth_date": "1990-06-30", "region": "广东", "gender": "女"},  # 34 today
    {"customer_id": "002", "birth_date": "1990-07-01", "region": "北京", "gender": "男"},  # 33: tomorrow
    {"customer_id": "003", "birth_date": "2000-02-29", "region": "西藏", "gender": "男"},  # 24
    {"customer_id": "004", "birth_date": "", "region": "", "gender": ""},
]

INTERACTIONS = [
    {"customer_id": "002", "at": "2024-06-01", "kind": "complaint"},
    {"customer_id": "002", "at": "2024-05-01", "kind": "complaint"},
    {"customer_id": "002", "at": "2024-04-02", "kind": "complaint"},
    {"customer_id": "002", "at": "2024-04-01", "kind": "complaint"},  # 90 days before: outside 90D
    {"customer_id": "003", "at": "2024-06-01", "kind": "inquiry"},
]

POLICY = """
name: fixture
value: spend_12m
metrics:
  spend_12m: {sum: amount, window: 12M}
  orders_12m: {count: orders, window: 12M}
  orders_per_month: {count: orders, window: 12M, per: month}
  avg_order: {avg: amount}
  recency_days: {recency: orders}
  tenure_days: {tenure: orders}
  orders_all: {count: orders}
  spend_all: {sum: amount}
  categories_12m: {distinct: category, window: 12M}
  active_months: {distinct: month}
  loyal_years: {consecutive_years: amount, threshold: 100000}
  order_trend_6m: {trend: {count: orders}, window: 6M}
  late_payments: {count: orders, where: "paid_at > due_at"}
  complaints_90d: {count: interactions, where: "kind == 'complaint'", window: 90D}
  spend_per_order: {expr: "spend_all / orders_all"}
  avg_90d: {avg: amount, window: 90D}
scores:
  rfm: {bins: 3, recency: recency_days, frequency: orders_all, monetary: spend_all,
        segments: [{name: best, r: [3, 3]}, {name: rest}]}
  # a metric missing for most customers: they all score 1, the others share the bins
  rfm_n: {type: rfm, bins: 3, recency: recency_days, frequency: avg_90d, monetary: spend_all,
          segments: [{name: any}]}
  rfm_v: {type: rfm, bins: 3, method: value, recency: recency_days, frequency: orders_all,
          monetary: spend_all, segments: [{name: any}]}
  abc: {by: spend_12m, cuts: [0.80, 0.95]}
  pyramid: {by: spend_12m, cuts: [0.20, 0.40, 0.60]}
  age_band: {type: bands, of: age, breaks: [25, 34], names: [young, middle, senior]}
  area: {type: bands, of: region, groups: {south: [广东, 福建], north: [北京, 天津]}}
tiers:
  - {name: vip, when: "spend_12m > 100000 and (orders_per_month > 5 or loyal_years >= 1)"}
  - {name: regular, when: "spend_12m between 250 and 100000 or abc == 'B'"}
  - {name: potential, else: true}
tags:
  - {name: complainer, when: "complaints_90d >= 3", action: senior agent}
  - {name: late, when: "late_payments >= 2"}
"""
